"""Callback questionnaires and reason suggestions from answers (R4).

A questionnaire is a list of questions; the options of choice questions map to reason codes,
free-text answers get *suggested* reasons by keyword matching (jieba tokens for Chinese, lightly
stemmed words for English). Suggestions are ranked with scores; the agent confirms the reason,
the system never records a suggestion on its own.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Any

import jieba

from winback.programme.defaults.questionnaires import QUESTIONNAIRES
from winback.programme.rule_errors import Problem, RuleError, problem, raise_if
from winback.programme.taxonomy import CODE_PATTERN, Taxonomy

QUESTION_KINDS = ("single", "multi", "text", "scale")
# Kinds whose options map to reasons; a scale question takes a rating from SCALE.
CHOICE_KINDS = ("single", "multi")
SCALE = ("1", "2", "3", "4", "5")
# Free text is weaker evidence than a chosen option.
TEXT_WEIGHT = 0.5

_CJK = re.compile(r"[\u3400-\u9fff]")
_EN_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# Degree adverbs and particles that wrap a keyword without changing it: 太贵了 -> 贵.
_ZH_PREFIXES = (
    "越来越",
    "特别",
    "非常",
    "有点",
    "有些",
    "比较",
    "实在",
    "太",
    "很",
    "挺",
    "好",
    "真",
    "超",
    "巨",
    "蛮",
)
_ZH_SUFFIXES = ("了", "啊", "呀", "吧", "死", "的", "哦", "啦")


@dataclass(frozen=True)
class Option:
    code: str
    zh: str
    en: str
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class Question:
    code: str
    kind: str  # single | multi | text | scale (a rating 1-5)
    zh: str
    en: str
    options: tuple[Option, ...] = ()
    active: bool = True  # an inactive question is kept but not asked

    def text(self, lang: str) -> str:
        return self.zh if lang.startswith("zh") else self.en


@dataclass(frozen=True)
class Questionnaire:
    code: str
    zh: str
    en: str
    questions: tuple[Question, ...]

    @property
    def asked(self) -> tuple[Question, ...]:
        """The questions the call page asks (the active ones, in order)."""
        return tuple(q for q in self.questions if q.active)

    def question(self, code: str) -> Question:
        for q in self.questions:
            if q.code == code:
                return q
        raise KeyError(f"questionnaire {self.code!r} has no question {code!r}")

    def validate(self, taxonomy: Taxonomy) -> None:
        """Raise :class:`RuleError` with every problem (unknown reasons, duplicate codes ...)."""
        raise_if("questionnaire", self.problems(taxonomy))

    def problems(self, taxonomy: Taxonomy) -> list[Problem]:
        """Every problem of this questionnaire against ``taxonomy``, coded; empty when valid."""
        errors: list[Problem] = []
        codes = set(taxonomy.codes)
        where = self.code
        if not CODE_PATTERN.match(self.code):
            errors.append(problem("questionnaire_code", where=where, code=self.code))
        if not self.zh.strip() or not self.en.strip():
            errors.append(problem("questionnaire_labels", where=where))
        if not self.questions:
            errors.append(problem("questionnaire_empty", where=where))
        q_codes = [q.code for q in self.questions]
        if len(set(q_codes)) != len(q_codes):
            errors.append(problem("duplicate_questions", where=where))
        for q in self.questions:
            at = f"{self.code}.{q.code}"
            if not CODE_PATTERN.match(q.code):
                errors.append(problem("questionnaire_code", where=at, code=q.code))
            if not q.zh.strip() or not q.en.strip():
                errors.append(problem("questionnaire_labels", where=at))
            if q.kind not in QUESTION_KINDS:
                errors.append(problem("question_kind", where=at, kinds=QUESTION_KINDS))
            if q.kind == "text" and q.options:
                errors.append(problem("question_text_options", where=at))
            if q.kind == "scale" and q.options:
                errors.append(problem("question_scale_options", where=at))
            if q.kind in CHOICE_KINDS and not q.options:
                errors.append(problem("question_needs_options", where=at))
            o_codes = [o.code for o in q.options]
            if len(set(o_codes)) != len(o_codes):
                errors.append(problem("duplicate_options", where=at))
            for o in q.options:
                at_o = f"{at}.{o.code}"
                if not CODE_PATTERN.match(o.code):
                    errors.append(problem("questionnaire_code", where=at_o, code=o.code))
                if not o.zh.strip() or not o.en.strip():
                    errors.append(problem("questionnaire_labels", where=at_o))
                bad = [r for r in o.reasons if r not in codes]
                if bad:
                    errors.append(problem("option_reasons", where=at_o, reasons=bad))
        return errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "zh": self.zh,
            "en": self.en,
            "questions": [
                {
                    "code": q.code,
                    "kind": q.kind,
                    "zh": q.zh,
                    "en": q.en,
                    "options": [
                        {"code": o.code, "zh": o.zh, "en": o.en, "reasons": list(o.reasons)}
                        for o in q.options
                    ],
                    "active": q.active,
                }
                for q in self.questions
            ],
        }

    @classmethod
    def from_dict(cls, data: Any) -> Questionnaire:
        """Read one questionnaire; :class:`RuleError` when the data has not its shape."""
        item = _mapping(data, "questionnaire")
        return cls(
            code=_str(item, "code"),
            zh=_str(item, "zh"),
            en=_str(item, "en"),
            questions=tuple(
                _question(_mapping(q, "question")) for q in _list(item, "questions", required=True)
            ),
        )


def _question(q: Mapping[str, Any]) -> Question:
    return Question(
        code=_str(q, "code"),
        kind=_str(q, "kind"),
        zh=_str(q, "zh"),
        en=_str(q, "en"),
        options=tuple(
            Option(
                code=_str(o, "code"),
                zh=_str(o, "zh"),
                en=_str(o, "en"),
                reasons=tuple(str(r) for r in _list(o, "reasons")),
            )
            for o in (_mapping(x, "option") for x in _list(q, "options"))
        ),
        active=q.get("active", True) is not False,
    )


def _shape(what: str, expected: str) -> RuleError:
    shape = problem("questionnaire_shape", what=what, expected=expected)
    return RuleError("questionnaire", [shape])


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _shape(what, "an object")
    return value


def _str(data: Mapping[str, Any], key: str) -> str:
    if key not in data:
        raise RuleError("questionnaire", [problem("questionnaire_missing", field=repr(key))])
    value = data[key]
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise _shape(key, "a text")
    return str(value)


def _list(data: Mapping[str, Any], key: str, *, required: bool = False) -> list[Any]:
    if key not in data:
        if required:
            raise RuleError("questionnaire", [problem("questionnaire_missing", field=repr(key))])
        return []
    value = data[key]
    if not isinstance(value, list | tuple):
        raise _shape(key, "a list")
    return list(value)


def default_questionnaires(taxonomy: Taxonomy | None = None) -> dict[str, Questionnaire]:
    """The shipped templates, validated against ``taxonomy`` (the default one if omitted)."""
    return load_questionnaires(QUESTIONNAIRES, taxonomy or Taxonomy.default())


def load_questionnaires(
    data: Sequence[Mapping[str, Any]] | str, taxonomy: Taxonomy
) -> dict[str, Questionnaire]:
    """Parse a list of questionnaire dicts (or its JSON text) and validate each one."""
    items = json.loads(data) if isinstance(data, str) else data
    if not isinstance(items, list | tuple):
        raise _shape("questionnaires", "a list")
    out: dict[str, Questionnaire] = {}
    for item in items:
        q = Questionnaire.from_dict(item)
        q.validate(taxonomy)
        if q.code in out:
            raise RuleError("questionnaire", [problem("duplicate_questionnaires", code=q.code)])
        out[q.code] = q
    return out


# --- suggestions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    """A suggested reason: ``score`` is its share of the evidence (scores sum to 1)."""

    code: str
    score: float
    weight: float  # raw evidence: options chosen count 1, matched keywords TEXT_WEIGHT each
    matched: tuple[str, ...]  # the keywords or option codes behind it


def suggest_reasons(text: str, taxonomy: Taxonomy, *, limit: int = 3) -> tuple[Suggestion, ...]:
    """Rank reasons whose keywords occur in a free-text answer (Chinese, English or mixed).

    Each distinct keyword found adds 1 to its reason; scores are shares of the total, ties are
    broken by the taxonomy's order. Empty when nothing matches (the agent picks by hand).
    """
    evidence: dict[str, list[str]] = {}
    if _CJK.search(text):
        _add(evidence, _match_zh(text, taxonomy))
    _add(evidence, _match_en(text, taxonomy))
    weights = {code: float(len(words)) for code, words in evidence.items()}
    return _rank(weights, evidence, taxonomy, limit)


def reasons_from_answers(
    questionnaire: Questionnaire,
    answers: Mapping[str, str | Sequence[str]],
    taxonomy: Taxonomy,
    *,
    limit: int = 3,
) -> tuple[Suggestion, ...]:
    """Combine chosen options (weight 1 each) and free-text suggestions into a ranked list.

    ``answers`` maps question codes to an option code (single), a list of option codes (multi)
    or the answer text (text questions and the "other" option's description).
    """
    weights: dict[str, float] = {}
    evidence: dict[str, list[str]] = {}
    for q_code, answer in answers.items():
        question = questionnaire.question(q_code)
        if question.kind == "scale":
            # a rating: no evidence of a reason, only checked
            if answer not in SCALE:
                raise ValueError(f"question {q_code!r} takes a rating from 1 to 5")
            continue
        if question.kind == "text":
            if not isinstance(answer, str):
                raise ValueError(f"question {q_code!r} takes text")
            for s in suggest_reasons(answer, taxonomy, limit=len(taxonomy.codes)):
                weights[s.code] = weights.get(s.code, 0.0) + TEXT_WEIGHT * s.weight
                evidence.setdefault(s.code, []).extend(s.matched)
            continue
        chosen = [answer] if isinstance(answer, str) else list(answer)
        if question.kind == "single" and len(chosen) > 1:
            raise ValueError(f"question {q_code!r} takes one option")
        options = {o.code: o for o in question.options}
        for o_code in chosen:
            if o_code not in options:
                raise ValueError(f"question {q_code!r} has no option {o_code!r}")
            for reason in options[o_code].reasons:
                weights[reason] = weights.get(reason, 0.0) + 1.0
                evidence.setdefault(reason, []).append(f"{q_code}:{o_code}")
    return _rank(weights, evidence, taxonomy, limit)


def _add(evidence: dict[str, list[str]], found: Mapping[str, list[str]]) -> None:
    for code, words in found.items():
        bucket = evidence.setdefault(code, [])
        bucket.extend(w for w in words if w not in bucket)


def _rank(
    weights: Mapping[str, float],
    evidence: Mapping[str, list[str]],
    taxonomy: Taxonomy,
    limit: int,
) -> tuple[Suggestion, ...]:
    total = sum(weights.values())
    if total <= 0:
        return ()
    order = {code: i for i, code in enumerate(taxonomy.codes)}
    ranked = sorted(
        (c for c in weights if weights[c] > 0), key=lambda c: (-weights[c], order.get(c, 1 << 30))
    )
    return tuple(
        Suggestion(c, weights[c] / total, weights[c], tuple(evidence.get(c, ())))
        for c in ranked[:limit]
    )


def _match_zh(text: str, taxonomy: Taxonomy) -> dict[str, list[str]]:
    keywords = _keyword_items(taxonomy.keywords_zh)
    raw = [t.strip() for t in _tokenizer(keywords).lcut(text) if t.strip()]
    tokens = [_strip_zh(t) for t in raw]
    # Adjacent pairs catch keywords split by an adverb: 服务太差 -> 服务 + 差 -> 服务差.
    pairs = {a + b for a, b in pairwise(tokens)}
    token_set = set(tokens) | set(raw)
    found: dict[str, list[str]] = {}
    for code, word in keywords:
        if len(word) == 1:
            hit = word in token_set
        else:
            hit = word in pairs or any(word in t for t in token_set)
        if hit:
            found.setdefault(code, []).append(word)
    return found


def _strip_zh(token: str) -> str:
    token = token.strip()
    for prefix in _ZH_PREFIXES:
        if token.startswith(prefix) and len(token) > len(prefix):
            token = token[len(prefix) :]
            break
    while len(token) > 1 and token.endswith(_ZH_SUFFIXES):
        token = token[:-1]
    return token


def _match_en(text: str, taxonomy: Taxonomy) -> dict[str, list[str]]:
    words = [_stem(w) for w in _EN_WORD.findall(text.lower().replace("’", "'"))]
    if not words:
        return {}
    padded = " " + " ".join(words) + " "
    found: dict[str, list[str]] = {}
    for code, keyword in _keyword_items(taxonomy.keywords_en):
        stemmed = " ".join(_stem(w) for w in _EN_WORD.findall(keyword.lower()))
        if stemmed and f" {stemmed} " in padded:
            found.setdefault(code, []).append(keyword)
    return found


def _stem(word: str) -> str:
    """A deliberately small suffix stripper, applied alike to text and keywords, so that
    moved, moving and move all become ``mov`` and prices becomes ``pric``."""
    if word.endswith("n't"):
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("ing") and len(word) > 5:
        word = word[:-3]
    elif word.endswith("ed") and len(word) > 4:
        word = word[:-2]
    elif word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        word = word[:-1]
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


def _keyword_items(keywords: Mapping[str, tuple[str, ...]]) -> tuple[tuple[str, str], ...]:
    return tuple((code, w) for code, words in keywords.items() for w in words)


@lru_cache(maxsize=4)
def _tokenizer(keywords: tuple[tuple[str, str], ...]) -> jieba.Tokenizer:
    """A jieba tokenizer that knows every keyword as a word (built once per keyword set)."""
    jieba.setLogLevel(logging.WARNING)
    tok = jieba.Tokenizer()
    for _, word in keywords:
        if len(word) > 1:
            tok.add_word(word, freq=200_000)
    return tok

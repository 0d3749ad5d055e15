"""The configurable leave-reason taxonomy (R4): groups of reasons, labels and keywords.

The shipped default merges the source texts (see :mod:`winback.programme.reasons`); a business
may relabel reasons, add its own, hide ones that do not apply and edit the free-text keywords,
by merging a JSON-shaped dict onto the default::

    taxonomy = Taxonomy.default().merge({
        "reasons": [{"code": "parking", "group": "our_fault", "zh": "停车难", "en": "Parking",
                     "keywords_zh": ["停车"], "keywords_en": ["parking"]}],
        "hidden": ["restructured"],
    })

Codes are stable identifiers (contacts, ground truth and reports store them); hidden reasons stay
valid codes for history but are no longer offered to agents.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import polars as pl

from winback.programme.defaults.keywords import KEYWORDS_EN, KEYWORDS_ZH, REASON_SYNONYMS
from winback.programme.reasons import DEFAULT_REASONS, FALLBACK_CODE, GROUPS, Reason
from winback.programme.rule_errors import Problem, RuleError, problem, raise_if

CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


@dataclass(frozen=True)
class ReasonGroup:
    code: str
    zh: str
    en: str


@dataclass(frozen=True)
class Taxonomy:
    """Groups -> reasons, with labels (zh/en), sensitivity and free-text keywords per reason."""

    groups: tuple[ReasonGroup, ...]
    reasons: tuple[Reason, ...]
    keywords_zh: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    keywords_en: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    hidden: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        raise_if("taxonomy", _validate(self))

    # --- lookups ------------------------------------------------------------------------------
    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.reasons)

    @property
    def group_codes(self) -> tuple[str, ...]:
        return tuple(g.code for g in self.groups)

    @property
    def sensitive_codes(self) -> frozenset[str]:
        return frozenset(r.code for r in self.reasons if r.sensitive)

    def reason(self, code: str) -> Reason:
        for r in self.reasons:
            if r.code == code:
                return r
        raise KeyError(f"unknown reason code {code!r}")

    def group_of(self, code: str) -> str:
        return self.reason(code).group

    def reasons_in(self, group: str) -> tuple[Reason, ...]:
        return tuple(r for r in self.reasons if r.group == group)

    def visible(self) -> tuple[Reason, ...]:
        """The reasons agents may pick from (hidden ones stay valid for history)."""
        return tuple(r for r in self.reasons if r.code not in self.hidden)

    def label(self, code: str, lang: str) -> str:
        try:
            r = self.reason(code)
        except KeyError:
            return code
        return r.zh if lang.startswith("zh") else r.en

    def group_label(self, code: str, lang: str) -> str:
        for g in self.groups:
            if g.code == code:
                return g.zh if lang.startswith("zh") else g.en
        return code

    def spellings(self) -> dict[str, str]:
        """Every way a file may write a reason: its code, its zh and en labels and the
        default synonyms (:data:`REASON_SYNONYMS`) -> code. Free text beyond these is matched
        through :meth:`keywords`."""
        out: dict[str, str] = {}
        codes = set(self.codes)
        for r in self.reasons:
            for spelling in (r.code, r.zh, r.en):
                out.setdefault(spelling, r.code)
        for spelling, code in REASON_SYNONYMS.items():
            if code in codes:
                out.setdefault(spelling, code)
        return out

    def keywords(self, lang: str) -> Mapping[str, tuple[str, ...]]:
        return self.keywords_zh if lang.startswith("zh") else self.keywords_en

    def frame(self) -> pl.DataFrame:
        """One row per reason: ``reason_code``, ``group``, ``sensitive``, ``hidden``, order."""
        return pl.DataFrame(
            {
                "reason_code": [r.code for r in self.reasons],
                "group": [r.group for r in self.reasons],
                "sensitive": [r.sensitive for r in self.reasons],
                "hidden": [r.code in self.hidden for r in self.reasons],
                "order": list(range(len(self.reasons))),
            },
            schema={
                "reason_code": pl.String(),
                "group": pl.String(),
                "sensitive": pl.Boolean(),
                "hidden": pl.Boolean(),
                "order": pl.Int64(),
            },
        )

    # --- configuration ------------------------------------------------------------------------
    @classmethod
    def default(cls) -> Taxonomy:
        return cls(
            groups=tuple(ReasonGroup(code, zh, en) for code, (zh, en) in GROUPS.items()),
            reasons=DEFAULT_REASONS,
            keywords_zh={k: tuple(v) for k, v in KEYWORDS_ZH.items()},
            keywords_en={k: tuple(v) for k, v in KEYWORDS_EN.items()},
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "groups": [{"code": g.code, "zh": g.zh, "en": g.en} for g in self.groups],
            "reasons": [
                {
                    "code": r.code,
                    "group": r.group,
                    "zh": r.zh,
                    "en": r.en,
                    "sensitive": r.sensitive,
                    "keywords_zh": list(self.keywords_zh.get(r.code, ())),
                    "keywords_en": list(self.keywords_en.get(r.code, ())),
                }
                for r in self.reasons
            ],
            "hidden": sorted(self.hidden),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Taxonomy:
        """Build a complete taxonomy from the shape :meth:`to_dict` writes."""
        return _merged({}, {}, {}, {}, frozenset(), data)

    @classmethod
    def from_json(cls, text: str) -> Taxonomy:
        return cls.from_dict(json.loads(text))

    def merge(self, overrides: Mapping[str, Any]) -> Taxonomy:
        """Return a new taxonomy with groups/reasons added or changed and ``hidden`` replaced.

        Entries are matched by ``code``; given fields replace the current ones (keyword lists
        are replaced, not appended). A new reason must give ``group``, ``zh`` and ``en``.
        """
        return _merged(
            {g.code: g for g in self.groups},
            {r.code: r for r in self.reasons},
            dict(self.keywords_zh),
            dict(self.keywords_en),
            self.hidden,
            overrides,
        )


def _merged(
    groups: dict[str, ReasonGroup],
    reasons: dict[str, Reason],
    kw_zh: dict[str, tuple[str, ...]],
    kw_en: dict[str, tuple[str, ...]],
    hidden: frozenset[str],
    overrides: Mapping[str, Any],
) -> Taxonomy:
    unknown = set(overrides) - {"groups", "reasons", "hidden"}
    if unknown:
        raise RuleError("taxonomy", [problem("taxonomy_keys", keys=sorted(unknown))])
    for entry in _entries(overrides.get("groups", ()), "group"):
        code = str(entry["code"])
        base = groups.get(code, ReasonGroup(code, "", ""))
        groups[code] = replace(
            base, zh=str(entry.get("zh", base.zh)), en=str(entry.get("en", base.en))
        )
    for entry in _entries(overrides.get("reasons", ()), "reason"):
        code = str(entry["code"])
        if code not in reasons:
            missing = [k for k in ("group", "zh", "en") if k not in entry]
            if missing:
                lacks = problem("new_reason_lacks", reason=code, fields=missing)
                raise RuleError("taxonomy", [lacks])
        base_r = reasons.get(code, Reason(code, "", "", ""))
        reasons[code] = replace(
            base_r,
            group=str(entry.get("group", base_r.group)),
            zh=str(entry.get("zh", base_r.zh)),
            en=str(entry.get("en", base_r.en)),
            sensitive=bool(entry.get("sensitive", base_r.sensitive)),
        )
        for key, target in (("keywords_zh", kw_zh), ("keywords_en", kw_en)):
            if key in entry:
                words = _keyword_tuple(entry[key], code)
                if words:
                    target[code] = words
                else:
                    target.pop(code, None)
    return Taxonomy(
        groups=tuple(groups.values()),
        reasons=tuple(reasons.values()),
        keywords_zh=kw_zh,
        keywords_en=kw_en,
        hidden=frozenset(str(c) for c in overrides.get("hidden", hidden)),
    )


def _entries(value: Any, what: str) -> list[Mapping[str, Any]]:
    if not isinstance(value, list | tuple):
        raise RuleError("taxonomy", [problem("entries_not_list", what=what)])
    out: list[Mapping[str, Any]] = []
    for entry in value:
        if not isinstance(entry, Mapping) or "code" not in entry:
            raise RuleError("taxonomy", [problem("entry_needs_code", what=what, entry=entry)])
        out.append(entry)
    return out


def _keyword_tuple(value: Any, code: str) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(k, str) for k in value):
        raise RuleError("taxonomy", [problem("keywords_not_strings", reason=code)])
    return tuple(k.strip() for k in value)


def _validate(t: Taxonomy) -> list[Problem]:
    errors: list[Problem] = []
    errors += _duplicates((g.code for g in t.groups), "duplicate_groups")
    errors += _duplicates((r.code for r in t.reasons), "duplicate_reasons")
    group_codes = {g.code for g in t.groups}
    reason_codes = {r.code for r in t.reasons}
    for code in [*group_codes, *reason_codes]:
        if not CODE_PATTERN.match(code):
            errors.append(problem("bad_code", code=code))
    for g in t.groups:
        if not g.zh or not g.en:
            errors.append(problem("group_labels", group=g.code))
    for r in t.reasons:
        if r.group not in group_codes:
            errors.append(problem("reason_group", reason=r.code, group=r.group))
        if not r.zh or not r.en:
            errors.append(problem("reason_labels", reason=r.code))
    for lang, kws in (("zh", t.keywords_zh), ("en", t.keywords_en)):
        for code, words in kws.items():
            if code not in reason_codes:
                errors.append(problem("keywords_reason", lang=lang, reason=code))
            if any(not w for w in words):
                errors.append(problem("keywords_empty", lang=lang, reason=code))
    if FALLBACK_CODE not in reason_codes:
        errors.append(problem("fallback_missing", reason=FALLBACK_CODE))
    if FALLBACK_CODE in t.hidden:
        errors.append(problem("fallback_hidden", reason=FALLBACK_CODE))
    unknown_hidden = t.hidden - reason_codes
    if unknown_hidden:
        errors.append(problem("hidden_unknown", reasons=sorted(unknown_hidden)))
    return errors


def _duplicates(codes: Iterable[str], code: str) -> list[Problem]:
    seen: set[str] = set()
    dup: set[str] = set()
    for c in codes:
        (dup if c in seen else seen).add(c)
    return [problem(code, codes=sorted(dup))] if dup else []

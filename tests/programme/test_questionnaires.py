"""Questionnaires and reason suggestions from answers (R4)."""

from __future__ import annotations

import pytest

from winback.programme.questionnaires import (
    Questionnaire,
    default_questionnaires,
    load_questionnaires,
    reasons_from_answers,
    suggest_reasons,
)
from winback.programme.taxonomy import Taxonomy

T = Taxonomy.default()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("价格太贵了", "price"),
        ("搬家了太远", "moved_away"),
        ("staff were rude", "attitude"),
        ("服务态度太差了", "attitude"),
        ("服务太差", "attitude"),
        ("等了好久才上菜", "speed"),
        ("做了三次都没效果", "poor_results"),
        ("你们电话太多了，烦死了", "too_many_calls"),
        ("I moved to another city, it's too far now", "moved_away"),
        ("The prices keep going up, too expensive", "price"),
        ("We waited forty minutes, service was so slow", "speed"),
        ("最近太忙，忘了", "habit_lapsed"),
    ],
)
def test_free_text_suggests_the_expected_reason_first(text: str, code: str) -> None:
    suggestions = suggest_reasons(text, T)
    assert suggestions, text
    assert suggestions[0].code == code
    assert sum(s.score for s in suggest_reasons(text, T, limit=50)) == pytest.approx(1.0)


@pytest.mark.parametrize("text", ["永远支持你们", "贵宾卡很好用", "thanks, all good", ""])
def test_unrelated_text_suggests_nothing(text: str) -> None:
    # 远 in 永远 (forever) and 贵 in 贵宾 (VIP) are not distance or price.
    assert suggest_reasons(text, T) == ()


def test_mixed_evidence_is_ranked_by_weight() -> None:
    s = suggest_reasons("太贵了，而且价格不透明，服务态度也不好", T, limit=5)
    assert s[0].code == "price"
    assert {x.code for x in s} >= {"price", "attitude", "transparency"}


def test_keywords_follow_the_configuration() -> None:
    t = T.merge(
        {
            "reasons": [
                {
                    "code": "parking",
                    "group": "our_fault",
                    "zh": "停车难",
                    "en": "Parking",
                    "keywords_zh": ["停车"],
                    "keywords_en": ["parking"],
                }
            ]
        }
    )
    assert suggest_reasons("停车太难了", t)[0].code == "parking"
    assert suggest_reasons("no parking anywhere", t)[0].code == "parking"


def test_answers_combine_options_and_free_text() -> None:
    q = default_questionnaires()["callback_first"]
    s = reasons_from_answers(q, {"why_stopped": ["price", "moved"], "comments": "主要是太贵了"}, T)
    assert [x.code for x in s] == ["price", "moved_away"]
    assert s[0].weight == pytest.approx(1.5)  # one option + one keyword at half weight
    assert "why_stopped:price" in s[0].matched
    with pytest.raises(ValueError, match="no option"):
        reasons_from_answers(q, {"why_stopped": ["teleported"]}, T)
    with pytest.raises(ValueError, match="one option"):
        reasons_from_answers(q, {"what_to_improve": ["prices", "faster"]}, T)


def test_default_templates_are_bilingual_and_map_to_known_reasons() -> None:
    qs = default_questionnaires()
    assert set(qs) == {"callback_first", "account_review"}
    for q in qs.values():
        for question in q.questions:
            assert question.zh
            assert question.en
            for option in question.options:
                assert option.zh
                assert option.en
                assert set(option.reasons) <= set(T.codes)


def test_template_validation() -> None:
    bad = default_questionnaires()["callback_first"].to_dict()
    bad["questions"][0]["options"][0]["reasons"] = ["ghost"]
    with pytest.raises(ValueError, match="unknown reasons"):
        load_questionnaires([bad], T)
    with pytest.raises(ValueError, match="missing"):
        Questionnaire.from_dict({"code": "x"})
    text_with_options = {
        "code": "q",
        "zh": "问卷",
        "en": "Q",
        "questions": [
            {
                "code": "t",
                "kind": "text",
                "zh": "说说",
                "en": "Tell",
                "options": [{"code": "a", "zh": "甲", "en": "A"}],
            }
        ],
    }
    with pytest.raises(ValueError, match="text question has no options"):
        load_questionnaires([text_with_options], T)

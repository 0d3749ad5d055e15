"""The core's rule checks answer with coded problems (code + parameters), not sentences; the
English text stays for logs and the command line."""

from __future__ import annotations

from typing import Any

import pytest

from winback.programme.offers import OfferCatalogue
from winback.programme.playbooks import Playbooks
from winback.programme.questionnaires import (
    Questionnaire,
    default_questionnaires,
    load_questionnaires,
    reasons_from_answers,
)
from winback.programme.rule_errors import Problem, RuleError
from winback.programme.taxonomy import Taxonomy

T = Taxonomy.default()


def codes(exc: pytest.ExceptionInfo[RuleError]) -> list[str]:
    return [p.code for p in exc.value.problems]


def test_taxonomy_problems_are_coded_with_their_parameters() -> None:
    with pytest.raises(RuleError) as exc:
        T.merge({"reasons": [{"code": "x", "group": "nowhere", "zh": "x", "en": "x"}]})
    assert exc.value.subject == "taxonomy"
    assert exc.value.problems == (Problem("reason_group", {"reason": "x", "group": "nowhere"}),)
    assert "reason 'x' is in unknown group 'nowhere'" in str(exc.value)
    with pytest.raises(RuleError) as exc:
        T.merge({"hidden": ["not_found", "ghost"]})
    assert codes(exc) == ["fallback_hidden", "hidden_unknown"]
    with pytest.raises(RuleError) as exc:
        T.merge({"colours": []})
    assert codes(exc) == ["taxonomy_keys"]


def test_playbook_problems_are_coded() -> None:
    pb = Playbooks.default()
    with pytest.raises(RuleError) as exc:
        pb.merge({"playbooks": [{"reason": "price", "department": "nowhere", "seniority": 7}]})
    assert exc.value.subject == "playbooks"
    assert codes(exc) == ["playbook_department", "playbook_seniority"]
    assert exc.value.problems[0].params == {"reason": "price", "department": "nowhere"}
    ghost = {**pb.to_dict()["playbooks"][0], "reason": "ghost"}
    with pytest.raises(RuleError) as exc:
        pb.merge({"playbooks": [ghost]}).check(T)
    assert exc.value.problems == (Problem("playbook_reasons", {"reasons": ["ghost"]}),)


def test_offer_problems_are_coded() -> None:
    catalogue = OfferCatalogue.default()
    code = catalogue.offers[0].code
    with pytest.raises(RuleError) as exc:
        catalogue.merge({"offers": [{"code": code, "depth_share": 2.0, "visits": 0}]})
    assert exc.value.subject == "offers"
    assert codes(exc) == ["offer_depth", "offer_visits"]
    assert exc.value.problems[0].params == {"offer": code}
    with pytest.raises(RuleError) as exc:
        catalogue.merge({"depth_cap_by_tier": {"1": 1.5}})
    assert codes(exc) == ["depth_cap"]


def _questionnaire(**changes: Any) -> dict[str, Any]:
    data = default_questionnaires()["callback_first"].to_dict()
    data.update(changes)
    return data


def test_questionnaire_problems_name_the_question_or_option_they_concern() -> None:
    data = _questionnaire()
    data["questions"][0]["options"][0]["reasons"] = ["ghost"]
    data["questions"][1]["kind"] = "poll"
    with pytest.raises(RuleError) as exc:
        load_questionnaires([data], T)
    assert exc.value.subject == "questionnaire"
    first, second = data["questions"][0], data["questions"][1]
    option = first["options"][0]["code"]
    assert (
        Problem(
            "option_reasons",
            {"where": f"callback_first.{first['code']}.{option}", "reasons": ["ghost"]},
        )
        in exc.value.problems
    )
    assert "question_kind" in codes(exc)
    kind = next(p for p in exc.value.problems if p.code == "question_kind")
    assert kind.params["where"] == f"callback_first.{second['code']}"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ("not a questionnaire", "questionnaire_shape"),
        ({"code": "a", "zh": "甲", "en": "A"}, "questionnaire_missing"),
        ({"code": "a", "zh": "甲", "en": "A", "questions": "why"}, "questionnaire_shape"),
        ({"code": "a", "zh": "甲", "en": "A", "questions": [7]}, "questionnaire_shape"),
        ({"code": "a", "zh": ["x"], "en": "A", "questions": []}, "questionnaire_shape"),
        ({"code": "a", "zh": "甲", "en": "A", "questions": []}, "questionnaire_empty"),
        ({"code": "Bad Code", "zh": "甲", "en": "A", "questions": []}, "questionnaire_code"),
    ],
)
def test_malformed_questionnaire_data_is_refused_with_a_code_not_a_crash(
    data: Any, code: str
) -> None:
    with pytest.raises(RuleError) as exc:
        load_questionnaires([data], T)
    assert code in codes(exc)


def test_a_list_is_required_and_codes_are_unique() -> None:
    with pytest.raises(RuleError) as exc:
        load_questionnaires({"questionnaires": []}, T)  # type: ignore[arg-type]
    assert codes(exc) == ["questionnaire_shape"]
    twice = _questionnaire()
    with pytest.raises(RuleError) as exc:
        load_questionnaires([twice, twice], T)
    assert codes(exc) == ["duplicate_questionnaires"]


def test_a_scale_question_takes_a_rating_and_gives_no_reason() -> None:
    data = _questionnaire()
    data["questions"].append({"code": "mood", "kind": "scale", "zh": "满意度", "en": "Mood"})
    q = load_questionnaires([data], T)["callback_first"]
    assert q.question("mood").kind == "scale"
    assert reasons_from_answers(q, {"mood": "4"}, T) == ()
    with pytest.raises(ValueError, match="rating"):
        reasons_from_answers(q, {"mood": "9"}, T)
    data["questions"][-1]["options"] = [{"code": "x", "zh": "x", "en": "x"}]
    with pytest.raises(RuleError) as exc:
        load_questionnaires([data], T)
    assert codes(exc) == ["question_scale_options"]


def test_a_paused_question_is_kept_but_not_asked() -> None:
    data = _questionnaire()
    data["questions"][0]["active"] = False
    q = Questionnaire.from_dict(data)
    assert q.questions[0].active is False
    assert q.questions[0] not in q.asked
    assert len(q.asked) == len(q.questions) - 1
    assert Questionnaire.from_dict(q.to_dict()) == q

"""The team's questionnaires: stored whole, checked by the core against the taxonomy, audited;
refusals worded in the user's language; stored data that cannot be used gives way to the
shipped questionnaires instead of breaking a call or an analysis."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import translation

from tests.factories.workbench import user
from winback.app.settings import service as svc
from winback.app.settings.rule_messages import MESSAGES, SUBJECTS, RulesRejected, describe
from winback.app.settings.rules import current_rules, questionnaires_in_force
from winback.programme.questionnaires import default_questionnaires
from winback.programme.rule_errors import ENGLISH, Problem
from winback.store.accounts.models import AuditLog, Role
from winback.store.programme.models import ProgrammeSettings

pytestmark = pytest.mark.django_db


def _edited(**changes: Any) -> dict[str, Any]:
    data = default_questionnaires()["callback_first"].to_dict()
    data.update(changes)
    return data


def test_every_coded_problem_has_words_in_the_app_layer() -> None:
    assert set(MESSAGES) == set(ENGLISH)
    assert set(SUBJECTS) == {"taxonomy", "playbooks", "offers", "questionnaire"}


def test_a_problem_is_worded_in_the_active_language() -> None:
    p = Problem("option_reasons", {"where": "q.a.b", "reasons": ["ghost", "spook"]})
    with translation.override("zh-hans"):
        zh = describe(p)
    with translation.override("en"):
        en = describe(p)
    assert zh == "q.a.b：这些原因不在流失原因分类中：ghost、spook。"
    assert en == "q.a.b: these reasons are not in the taxonomy: ghost, spook."


def test_a_saved_questionnaire_is_in_force_and_audited() -> None:
    admin = user("boss", Role.ADMIN)
    data = _edited(zh="我们的回访问卷", en="Our callback questionnaire")
    data["questions"] = data["questions"][:1]
    svc.save_questionnaire(admin, data, code="callback_first")
    in_force = questionnaires_in_force(current_rules())
    assert in_force.own
    assert in_force.problem is None
    first = in_force.first
    assert first is not None
    assert (first.code, first.zh, len(first.questions)) == ("callback_first", "我们的回访问卷", 1)
    # the other shipped questionnaire stays, after it
    assert [q.code for q in in_force.items][1:] == list(default_questionnaires())[1:]
    entry = AuditLog.objects.get(object_type="programme_questionnaires")
    assert entry.detail["before"] == {}
    assert entry.detail["after"]["questionnaires"][0]["zh"] == "我们的回访问卷"


def test_a_refused_questionnaire_is_not_stored_and_the_refusal_is_in_the_users_language() -> None:
    admin = user("boss", Role.ADMIN)
    data = _edited()
    data["questions"][0]["options"][0]["reasons"] = ["ghost"]
    for lang, expected in (
        ("zh-hans", "这些原因不在流失原因分类中：ghost"),
        ("en", "these reasons are not in the taxonomy: ghost"),
    ):
        with translation.override(lang), pytest.raises(RulesRejected) as exc:
            svc.save_questionnaire(admin, data)
        with translation.override(lang):
            assert expected in str(exc.value)
    assert not ProgrammeSettings.objects.exclude(questionnaires={}).exists()
    assert not AuditLog.objects.exists()


def test_only_an_admin_saves_a_questionnaire() -> None:
    with pytest.raises(PermissionDenied):
        svc.save_questionnaire(user("sup", Role.SUPERVISOR), _edited())
    assert not ProgrammeSettings.objects.exists()


HOSTILE: list[Any] = [
    {"questionnaires": "not a list"},
    {"questionnaires": [{"code": "x"}]},
    {"questionnaires": [None]},
    {"questionnaires": []},
    {"something": "else"},
    {"questionnaires": [{"code": "a", "zh": "甲", "en": "A", "questions": [{"code": 3}]}]},
]


@pytest.mark.parametrize("stored", HOSTILE)
def test_malformed_stored_questionnaires_give_way_to_the_shipped_ones(stored: Any) -> None:
    ProgrammeSettings.objects.create(questionnaires=stored)
    rules = current_rules()  # reading the rules never fails on them
    in_force = questionnaires_in_force(rules)
    assert not in_force.own
    assert in_force.problem is not None
    assert [q.code for q in in_force.items] == list(default_questionnaires(rules.taxonomy))


def test_a_stored_questionnaire_naming_a_reason_no_longer_in_the_taxonomy_gives_way() -> None:
    data = _edited()
    data["questions"][0]["options"][0]["reasons"] = ["left_the_taxonomy"]
    ProgrammeSettings.objects.create(questionnaires={"questionnaires": [data]})
    in_force = questionnaires_in_force(current_rules())
    assert not in_force.own
    assert in_force.problem is not None
    assert [p.code for p in in_force.problem.problems] == ["option_reasons"]


@pytest.mark.slow  # one analysis of a small store
@pytest.mark.django_db(transaction=True)
def test_the_analysis_and_the_months_figures_run_with_hostile_stored_questionnaires() -> None:
    from tests.app.settings.test_settings_take_effect import AS_OF, build
    from winback.app.analysis.service import analyze
    from winback.app.reports.service import gather
    from winback.store.analysis.models import CustomerSnapshot

    build()
    data = _edited()
    data["questions"][0]["options"][0]["reasons"] = ["reason_since_removed"]
    ProgrammeSettings.objects.create(questionnaires={"questionnaires": [data, {"code": None}]})
    run = analyze(AS_OF)
    assert run.as_of == AS_OF
    assert CustomerSnapshot.objects.filter(as_of=AS_OF).count() == 200
    figures = gather(AS_OF, n_boot=20)  # the monthly report's inputs read the rules in force
    assert figures.current_as_of == AS_OF

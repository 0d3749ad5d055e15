"""Settings, questionnaires: the per-field editor stores what the call page then asks; each
invalid input is refused in the user's language (zh and en) and nothing is stored; stored
data that cannot be used never breaks the call page, and admins are told. The rule checks of
the taxonomy, playbooks and offers speak the user's language too."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext

from tests.factories.workbench import World, build_world, user
from winback.programme.questionnaires import default_questionnaires
from winback.store.accounts.models import AuditLog, Role, User
from winback.store.programme.models import ProgrammeSettings

pytestmark = pytest.mark.django_db

ZH, EN = "zh-hans", "en"
EDIT = "settings_questionnaire_edit"


@pytest.fixture
def world() -> World:
    return build_world()


@pytest.fixture
def admin() -> User:
    return user("boss", Role.ADMIN)


def client_for(u: User, lang: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=lang)
    client.force_login(u)
    return client


def words(lang: str, msgid: str, **params: Any) -> str:
    """``msgid`` as a page in ``lang`` says it (HTML-escaped like the templates do)."""
    with translation.override(lang):
        text = gettext(msgid)
    return escape(text % params if params else text)


def form_data(q: dict[str, Any]) -> dict[str, Any]:
    """The editor's POST for a questionnaire given as ``Questionnaire.to_dict`` gives it (the
    rows it had when the page was opened, as the initial ones)."""
    data: dict[str, Any] = {"head-code": q["code"], "head-zh": q["zh"], "head-en": q["en"]}
    options = [(question["code"], o) for question in q["questions"] for o in question["options"]]
    data |= {
        "q-TOTAL_FORMS": len(q["questions"]),
        "q-INITIAL_FORMS": len(q["questions"]),
        "o-TOTAL_FORMS": len(options),
        "o-INITIAL_FORMS": len(options),
    }
    for i, question in enumerate(q["questions"]):
        data |= {
            f"q-{i}-code": question["code"],
            f"q-{i}-zh": question["zh"],
            f"q-{i}-en": question["en"],
            f"q-{i}-kind": question["kind"],
            f"q-{i}-order": (i + 1) * 10,
        }
        if not question.get("active", True):
            data[f"q-{i}-paused"] = "on"
    for j, (question_code, o) in enumerate(options):
        data |= {
            f"o-{j}-question": question_code,
            f"o-{j}-code": o["code"],
            f"o-{j}-zh": o["zh"],
            f"o-{j}-en": o["en"],
            f"o-{j}-reasons": list(o["reasons"]),
            f"o-{j}-order": (j + 1) * 10,
        }
    return data


def shipped() -> dict[str, Any]:
    return default_questionnaires()["callback_first"].to_dict()


def save(client: Client, data: dict[str, Any], code: str = "callback_first") -> Any:
    return client.post(reverse(EDIT) + f"?code={code}", data)


def test_the_editor_shows_the_questionnaire_in_force_as_fields(world: World) -> None:
    page = client_for(world.admin, ZH).get(reverse(EDIT) + "?code=callback_first")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'value="回访问卷（首次联系）"' in html
    assert 'name="q-0-code"' in html
    assert 'value="why_stopped"' in html
    assert 'name="o-0-reasons"' in html
    assert client_for(world.admin, ZH).get(reverse(EDIT) + "?code=nope").status_code == 404
    assert client_for(world.agent1, ZH).get(reverse(EDIT)).status_code in (302, 403)


def test_a_valid_save_changes_what_the_call_page_asks(world: World) -> None:
    admin = client_for(world.admin, ZH)
    q = shipped()
    q["zh"] = "店铺回访"
    q["questions"][0]["zh"] = "您最近为什么来得少了？"
    q["questions"][0]["options"] = [
        {"code": "too_dear", "zh": "太贵了", "en": "Too dear", "reasons": ["price"]},
        {"code": "far", "zh": "太远了", "en": "Too far", "reasons": ["moved_away"]},
    ]
    q["questions"][1]["active"] = False  # paused: kept, not asked
    q["questions"].append({"code": "mood", "kind": "scale", "zh": "满意度", "en": "Mood"})
    q["questions"][-1]["options"] = []
    response = save(admin, form_data(q))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert AuditLog.objects.filter(object_type="programme_questionnaires").count() == 1

    call = client_for(world.agent1, ZH).get(reverse("call", args=[world.task_mine.pk]))
    html = call.content.decode()
    assert "店铺回访" in html
    assert "您最近为什么来得少了？" in html
    assert 'value="too_dear"' in html
    assert "太远了" in html
    assert "对服务态度不满意" not in html  # the shipped options are gone
    assert f'name="q_{shipped()["questions"][1]["code"]}"' not in html  # paused
    assert 'name="q_mood"' in html
    # the agent's answer through the stored questionnaire gives the reason
    from winback.store.programme.models import ContactAttempt

    client = client_for(world.agent1, ZH)
    posted = client.post(
        reverse("call", args=[world.task_mine.pk]),
        {
            "outcome": "reached",
            "expected_version": world.task_mine.version,
            "q_why_stopped": ["far"],
            "q_mood": "4",
        },
    )
    assert posted.status_code == 302, posted.content.decode()[:3000]
    attempt = ContactAttempt.objects.get()
    assert attempt.reason_code == "moved_away"
    assert attempt.answers["answers"] == {"why_stopped": ["far"], "mood": "4"}


def _no_option_question(q: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    q["questions"][0]["options"] = []
    return "%(where)s: a choice question needs at least one option.", {
        "where": "callback_first.why_stopped"
    }


def _text_with_options(q: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    q["questions"][1]["kind"] = "text"
    return "%(where)s: a free-text question has no options.", {
        "where": f"callback_first.{q['questions'][1]['code']}"
    }


def _twice_the_same_option(q: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    options = q["questions"][0]["options"]
    options[1]["code"] = options[0]["code"]
    return "%(where)s: option codes used twice.", {"where": "callback_first.why_stopped"}


def _option_of_no_question(q: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    q["questions"][0]["options"][0]["reasons"] = ["price"]
    data = form_data(q)
    data["o-0-question"] = "nowhere"
    q["__data__"] = data
    return "No question of this questionnaire has this code.", {}


def _bad_code(q: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    q["questions"][0]["code"] = "Why Stopped"
    return "Enter a valid value.", {}


def _no_title(q: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    q["zh"] = ""
    return "This field is required.", {}


def _unknown_reason(q: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    q["questions"][0]["options"][0]["reasons"] = ["ghost"]
    return "Select a valid choice. %(value)s is not one of the available choices.", {
        "value": "ghost"
    }


@pytest.mark.parametrize(
    "spoil",
    [
        _no_option_question,
        _text_with_options,
        _twice_the_same_option,
        _option_of_no_question,
        _bad_code,
        _no_title,
        _unknown_reason,
    ],
)
def test_each_invalid_input_is_refused_in_the_users_language_and_nothing_is_saved(
    admin: User, spoil: Any
) -> None:
    pages: dict[str, str] = {}
    for lang in (ZH, EN):
        q = shipped()
        msgid, params = spoil(q)
        data = q.pop("__data__", None) or form_data(q)
        response = save(client_for(admin, lang), data)
        assert response.status_code == 422
        pages[lang] = response.content.decode()
    zh, en = words(ZH, msgid, **params), words(EN, msgid, **params)
    assert zh != en  # a Chinese admin reads Chinese
    assert zh in pages[ZH]
    assert en in pages[EN]
    assert not ProgrammeSettings.objects.exclude(questionnaires={}).exists()
    assert not AuditLog.objects.exists()


def test_a_new_question_and_option_are_added_in_blank_rows_and_one_is_removed(
    admin: User,
) -> None:
    q = shipped()
    data = form_data(q)
    n, m = data["q-TOTAL_FORMS"], data["o-TOTAL_FORMS"]
    data |= {
        "q-TOTAL_FORMS": n + 1,
        f"q-{n}-code": "visit_again",
        f"q-{n}-zh": "还会再来吗？",
        f"q-{n}-en": "Will you come again?",
        f"q-{n}-kind": "single",
        f"q-{n}-order": 1,
        "o-TOTAL_FORMS": m + 1,
        f"o-{m}-question": "visit_again",
        f"o-{m}-code": "yes",
        f"o-{m}-zh": "会",
        f"o-{m}-en": "Yes",
        "o-0-DELETE": "on",
    }
    assert save(client_for(admin, EN), data).status_code == 302
    stored = ProgrammeSettings.objects.get().questionnaires["questionnaires"][0]
    assert stored["questions"][0]["code"] == "visit_again"  # order 1 puts it first
    assert stored["questions"][0]["options"][0]["code"] == "yes"
    first_option = q["questions"][0]["options"][0]["code"]
    why = next(x for x in stored["questions"] if x["code"] == "why_stopped")
    assert first_option not in [o["code"] for o in why["options"]]


def _hostile() -> None:
    q = shipped()
    q["questions"][0]["options"][0]["reasons"] = ["reason_since_removed"]
    ProgrammeSettings.objects.create(questionnaires={"questionnaires": [q, {"code": 1}]})


def test_hostile_stored_questionnaires_do_not_break_the_call_page(world: World) -> None:
    _hostile()
    agent = client_for(world.agent1, ZH).get(reverse("call", args=[world.task_mine.pk]))
    assert agent.status_code == 200
    html = agent.content.decode()
    assert "回访问卷（首次联系）" in html  # the shipped questionnaire
    assert 'id="questionnaire-warning"' not in html  # agents are not told
    admin = client_for(world.admin, ZH).get(reverse("call", args=[world.task_mine.pk]))
    assert admin.status_code == 200
    from winback.app.customers.pages import questionnaire_warning
    from winback.app.settings.rules import current_rules, questionnaires_in_force

    in_force = questionnaires_in_force(current_rules())
    with translation.override(ZH):
        warning = escape(questionnaire_warning(in_force))
    with translation.override(EN):
        assert warning != escape(questionnaire_warning(in_force))
    assert "reason_since_removed" in warning
    assert f'<p class="notice warning" role="alert" id="questionnaire-warning">{warning}</p>' in (
        admin.content.decode()
    )
    listing = client_for(world.admin, EN).get(reverse("settings_questionnaires"))
    assert listing.status_code == 200
    assert "The stored questionnaires cannot be used" in listing.content.decode()
    assert "reason_since_removed" in listing.content.decode()


# --- the rule checks of taxonomy, playbooks and offers, in the user's language -------------


def _reason_entry(code: str, **change: str) -> dict[str, Any]:
    from winback.app.settings.service import rule_entry

    entry = rule_entry("taxonomy", code)
    assert entry is not None
    data: dict[str, Any] = {"form": "entry"}
    for k, v in entry.items():
        if isinstance(v, bool):
            if v:
                data[k] = "on"
        elif isinstance(v, list):
            data[k] = "\n".join(v)
        else:
            data[k] = v
    return data | change


def _overrides(data: dict[str, Any]) -> dict[str, Any]:
    import json

    return {"form": "json", "overrides": json.dumps(data)}


def _first_offer() -> str:
    from winback.app.settings.rules import current_rules

    return current_rules().catalogue.offers[0].code


@pytest.mark.parametrize(
    ("section", "post", "msgid", "params"),
    [
        (
            "taxonomy",
            lambda: _reason_entry("not_found", hidden="on"),
            "The fallback reason %(reason)s cannot be hidden.",
            lambda: {"reason": "not_found"},
        ),
        (
            "playbooks",
            lambda: _overrides({"playbooks": [{"reason": "price", "seniority": 7}]}),
            "Playbook %(reason)s: seniority must be 1, 2 or 3.",
            lambda: {"reason": "price"},
        ),
        (
            "offers",
            lambda: _overrides({"offers": [{"code": _first_offer(), "visits": 0}]}),
            "Offer %(offer)s: at least 1 visit.",
            lambda: {"offer": _first_offer()},
        ),
    ],
)
def test_rule_check_errors_are_in_the_users_language(
    admin: User, section: str, post: Any, msgid: str, params: Any
) -> None:
    pages = {}
    for lang in (ZH, EN):
        response = client_for(admin, lang).post(reverse("settings_rules", args=[section]), post())
        assert response.status_code == 422, (lang, response.status_code)
        pages[lang] = response.content.decode()
    zh, en = words(ZH, msgid, **params()), words(EN, msgid, **params())
    assert zh != en
    assert zh in pages[ZH]
    assert en in pages[EN]
    assert not ProgrammeSettings.objects.exists()
    assert not AuditLog.objects.exists()

"""The settings forms: each refuses bad input with a message in the user's language (zh and en)
and stores nothing; good input is stored and audited."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from tests.factories.workbench import user
from winback.app.settings.profile import current_profile
from winback.app.settings.rules import current_rules
from winback.config import MAX_HOLDOUT_SHARE, BusinessProfile, ProgrammeRules, preset
from winback.programme.rounds import RoundConfig
from winback.store.accounts.models import AuditLog, Role, User
from winback.store.programme.models import ProgrammeSettings

pytestmark = pytest.mark.django_db

ZH, EN = "zh-hans", "en"


@pytest.fixture
def admin() -> User:
    return user("boss", Role.ADMIN)


def client_for(u: User, lang: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=lang)
    client.force_login(u)
    return client


def in_lang(lang: str, msgid: str, **params: Any) -> str:
    """``msgid`` as the page in ``lang`` says it (HTML-escaped like the template does)."""
    from django.utils.html import escape

    with translation.override(lang):
        text = gettext(msgid)
    return escape(text % params if params else text)


def _profile_post(**changes: object) -> dict[str, object]:
    from winback.app.settings.service import profile_leaves

    data: dict[str, object] = {"action": "profile"}
    for path, value in profile_leaves(current_profile()).items():
        data[path.replace(".", "__")] = "" if value is None else value
    data.update(changes)
    return {k: v for k, v in data.items() if v is not False}


def _nothing_stored(before: BusinessProfile) -> None:
    assert current_profile() == before
    assert not AuditLog.objects.filter(action="settings_change").exists()


# --- defect 10: gross margin and control share ----------------------------------------------


@pytest.mark.parametrize(
    ("lang", "expected"),
    [(ZH, "确保该值小于或等于1。"), (EN, "Ensure this value is less than or equal to 1.")],
)
def test_a_gross_margin_above_1_is_refused_in_the_users_language(
    admin: User, lang: str, expected: str
) -> None:
    before = current_profile()
    response = client_for(admin, lang).post(
        reverse("settings_profile"), _profile_post(gross_margin=1.5)
    )
    assert response.status_code == 422
    assert expected in response.content.decode()
    _nothing_stored(before)


@pytest.mark.parametrize("lang", [ZH, EN])
def test_a_gross_margin_of_0_is_refused(admin: User, lang: str) -> None:
    before = current_profile()
    response = client_for(admin, lang).post(
        reverse("settings_profile"), _profile_post(gross_margin=0)
    )
    assert response.status_code == 422
    assert in_lang(lang, "Enter a number above %(limit)s.", limit="0") in response.content.decode()
    _nothing_stored(before)


@pytest.mark.parametrize(
    ("lang", "expected"),
    [(ZH, "确保该值小于或等于0.5。"), (EN, "Ensure this value is less than or equal to 0.5.")],
)
def test_a_control_share_above_the_wizards_cap_is_refused(
    admin: User, lang: str, expected: str
) -> None:
    before = current_profile()
    response = client_for(admin, lang).post(
        reverse("settings_profile"), _profile_post(programme__holdout_share=0.9)
    )
    assert response.status_code == 422
    assert expected in response.content.decode()
    _nothing_stored(before)


def test_one_control_share_cap_for_wizard_settings_profile_and_rounds() -> None:
    from winback.web.workbench.views_rounds import HoldoutForm

    assert MAX_HOLDOUT_SHARE == 0.5
    assert HoldoutForm().fields["holdout"].max_value == MAX_HOLDOUT_SHARE  # type: ignore[attr-defined]
    ProgrammeRules(holdout_share=MAX_HOLDOUT_SHARE)
    with pytest.raises(ValueError, match="holdout_share"):
        ProgrammeRules(holdout_share=0.9)
    with pytest.raises(ValueError, match="holdout_share"):  # the CLI and the planner
        RoundConfig(
            round_start=__import__("datetime").date(2026, 11, 1),
            round_end=__import__("datetime").date(2026, 11, 30),
            holdout_share=0.6,
        )


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"gross_margin": 1.5}, "gross_margin"),
        ({"gross_margin": 0.0}, "gross_margin"),
        ({"annual_discount_rate": 3.0}, "annual_discount_rate"),
        ({"expected_return_days": 0.0}, "expected_return_days"),
        ({"lateness_at_risk": 4.0, "lateness_lost": 3.0}, "lateness"),
        ({"value_weights": {"forum_post": -1.0}}, "forum_post"),
        ({"programme": {"holdout_share": 0.9}}, "holdout_share"),
        ({"programme": {"call_minutes": 0.0}}, "call_minutes"),
        ({"programme": {"contacts_per_round": 0}}, "contacts_per_round"),
        ({"lifecycle": {"silent_from": 10, "sleeping_from": 20, "lost_from": 99999}}, "lost_from"),
        ({"indicator_weights": {"long_silence": -1.0}}, "indicator weight"),
    ],
)
def test_the_profile_refuses_values_outside_their_bounds(
    overrides: dict[str, Any], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        preset("retail", overrides)


def test_every_preset_is_within_the_bounds() -> None:
    from winback.config import INDUSTRIES

    for industry in INDUSTRIES:
        preset(industry)


# --- apply preset: diff and confirmation -----------------------------------------------------


@pytest.mark.parametrize("lang", [ZH, EN])
def test_applying_a_preset_shows_the_diff_and_changes_nothing_until_confirmed(
    admin: User, lang: str
) -> None:
    client = client_for(admin, lang)
    before = current_profile()
    response = client.post(reverse("settings_profile"), {"action": "preset", "industry": "dental"})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="preset-diff"' in page
    assert 'data-path="lifecycle.lost_from"' in page
    assert ">120<" in page
    assert ">400<" in page
    assert 'name="confirm" value="1"' in page
    _nothing_stored(before)
    response = client.post(
        reverse("settings_profile"), {"action": "preset", "industry": "dental", "confirm": "1"}
    )
    assert response.status_code == 302
    assert current_profile().lifecycle.lost_from == 400
    assert AuditLog.objects.filter(action="settings_change").count() == 1


# --- indicator weights and early warning -----------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "expected"),
    [(ZH, "确保该值大于或等于0。"), (EN, "Ensure this value is greater than or equal to 0.")],
)
def test_a_negative_indicator_weight_is_refused(admin: User, lang: str, expected: str) -> None:
    before = current_profile()
    response = client_for(admin, lang).post(
        reverse("settings_indicators"), {"action": "weights", "long_silence": "-1"}
    )
    assert response.status_code == 422
    assert expected in response.content.decode()
    _nothing_stored(before)


def test_indicator_weights_are_stored_cleared_and_audited(admin: User) -> None:
    client = client_for(admin, EN)
    response = client.post(
        reverse("settings_indicators"), {"action": "weights", "long_silence": "2.5"}
    )
    assert response.status_code == 302
    assert dict(current_profile().indicator_weights) == {"long_silence": 2.5}
    entry = AuditLog.objects.get(action="settings_change", object_type="indicator_weights")
    assert entry.detail["changes"] == {"long_silence": [None, 2.5]}
    page = client.get(reverse("settings_indicators")).content.decode()
    assert 'name="long_silence"' in page
    assert 'value="2.5"' in page
    response = client.post(reverse("settings_indicators"), {"action": "weights"})
    assert response.status_code == 302
    assert dict(current_profile().indicator_weights) == {}


@pytest.mark.parametrize("lang", [ZH, EN])
def test_an_early_warning_share_of_0_is_refused(admin: User, lang: str) -> None:
    before = current_profile()
    response = client_for(admin, lang).post(
        reverse("settings_indicators"),
        {"action": "early_warning", "early_warning_share": "0"},
    )
    assert response.status_code == 422
    assert in_lang(lang, "Enter a number above %(limit)s.", limit="0") in response.content.decode()
    _nothing_stored(before)
    response = client_for(admin, lang).post(
        reverse("settings_indicators"),
        {"action": "early_warning", "early_warning_share": "0.2", "early_warning_capacity": ""},
    )
    assert response.status_code == 302
    assert current_profile().early_warning_share == 0.2


# --- taxonomy, playbooks, offers -------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "expected"),
    [(ZH, "这个字段是必填项。"), (EN, "This field is required.")],
)
def test_a_reason_without_labels_is_refused(admin: User, lang: str, expected: str) -> None:
    url = reverse("settings_rules", args=["taxonomy"])
    response = client_for(admin, lang).post(
        url, {"form": "entry", "code": "parking", "group": "our_fault"}
    )
    assert response.status_code == 422
    assert expected in response.content.decode()
    assert not ProgrammeSettings.objects.exists()


@pytest.mark.parametrize("lang", [ZH, EN])
def test_a_reason_with_a_bad_code_is_refused(admin: User, lang: str) -> None:
    url = reverse("settings_rules", args=["taxonomy"])
    data = {"form": "entry", "code": "Bad Code!", "group": "our_fault", "zh": "停车", "en": "P"}
    response = client_for(admin, lang).post(url, data)
    assert response.status_code == 422
    with translation.override(lang):
        expected = gettext("Enter a valid value.")
    assert expected in response.content.decode()
    assert not ProgrammeSettings.objects.exists()


def test_a_reason_with_synonyms_is_added_hidden_and_audited(admin: User) -> None:
    url = reverse("settings_rules", args=["taxonomy"])
    data = {
        "form": "entry",
        "code": "parking",
        "group": "our_fault",
        "zh": "停车难",
        "en": "Parking",
        "keywords_zh": "停车\n车位，停车场",
        "keywords_en": "parking, car park",
        "hidden": "on",
    }
    response = client_for(admin, ZH).post(url, data)
    assert response.status_code == 302
    taxonomy = current_rules().taxonomy
    assert taxonomy.label("parking", "zh") == "停车难"
    assert tuple(taxonomy.keywords_zh["parking"]) == ("停车", "车位", "停车场")
    assert tuple(taxonomy.keywords_en["parking"]) == ("parking", "car park")
    assert "parking" in taxonomy.hidden
    assert AuditLog.objects.filter(object_type="programme_taxonomy").count() == 1
    # The edit form opens with the entry in force.
    page = client_for(admin, ZH).get(url, {"code": "parking"}).content.decode()
    assert "停车场" in page
    assert 'value="停车难"' in page


def test_a_playbook_script_is_changed_field_by_field(admin: User) -> None:
    url = reverse("settings_rules", args=["playbooks"])
    reason = current_rules().playbooks.playbooks[0].reason
    client = client_for(admin, EN)
    page = client.get(url, {"code": reason})
    assert page.status_code == 200
    initial = page.context["entry_form"].initial
    data = {
        **{k: v for k, v in initial.items() if not isinstance(v, list)},
        "form": "entry",
        "talking_points_zh": "您好\n最近还好吗",
        "talking_points_en": "Hello, it is Anna\nHow have you been",
        "seniority": "9",
    }
    response = client.post(url, {**data, "seniority": "2", "talking_points_zh": "您好"})
    assert response.status_code == 422  # one talking point is too few
    assert "2 to 4 talking points" in response.content.decode()
    response = client.post(url, data)
    assert response.status_code == 422  # seniority 9 is not a choice
    assert "Select a valid choice" in response.content.decode()
    assert not ProgrammeSettings.objects.exists()
    data["seniority"] = "2"
    response = client.post(url, data)
    assert response.status_code == 302
    playbook = next(p for p in current_rules().playbooks.playbooks if p.reason == reason)
    assert playbook.talking_points_zh == ("您好", "最近还好吗")
    assert playbook.talking_points_en == ("Hello, it is Anna", "How have you been")
    assert playbook.seniority == 2
    assert playbook.action == initial["action"]


@pytest.mark.parametrize(
    ("lang", "expected"),
    [(ZH, "确保该值小于或等于1。"), (EN, "Ensure this value is less than or equal to 1.")],
)
def test_an_offer_costing_more_than_the_spend_is_refused(
    admin: User, lang: str, expected: str
) -> None:
    url = reverse("settings_rules", args=["offers"])
    data = {
        "form": "entry",
        "code": "big_discount",
        "kind": "percent_off",
        "zh": "大折扣",
        "en": "Big discount",
        "depth_share": "1.5",
        "depth_abs": "0",
        "visits": "1",
        "min_spend": "0",
    }
    response = client_for(admin, lang).post(url, data)
    assert response.status_code == 422
    assert expected in response.content.decode()
    assert not ProgrammeSettings.objects.exists()
    data["depth_share"] = "0.3"
    data["tiers"] = ["1", "2"]
    response = client_for(admin, lang).post(url, data)
    assert response.status_code == 302
    offer = next(o for o in current_rules().catalogue.offers if o.code == "big_discount")
    assert (offer.depth_share, offer.tiers, offer.zh) == (0.3, (1, 2), "大折扣")
    response = client_for(admin, lang).post(url, {**data, "remove": "on"})
    assert response.status_code == 302
    assert "big_discount" not in {o.code for o in current_rules().catalogue.offers}


@pytest.mark.parametrize("lang", [ZH, EN])
def test_offer_caps_per_tier_are_bounded(admin: User, lang: str) -> None:
    url = reverse("settings_rules", args=["offers"])
    response = client_for(admin, lang).post(url, {"form": "caps", "tier_1": "2"})
    assert response.status_code == 422
    assert not ProgrammeSettings.objects.exists()
    response = client_for(admin, lang).post(url, {"form": "caps", "tier_1": "0.25"})
    assert response.status_code == 302
    assert current_rules().catalogue.depth_cap_by_tier[1] == 0.25


# --- users -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "expected"),
    [(ZH, "确保该值小于或等于500。"), (EN, "Ensure this value is less than or equal to 500.")],
)
def test_a_user_edit_with_bad_capacity_is_refused(admin: User, lang: str, expected: str) -> None:
    agent = user("a1", Role.AGENT)
    url = reverse("settings_user_edit", args=[agent.pk])
    data = {"first_name": "王芳", "role": "agent", "language": "", "seniority": "1"}
    response = client_for(admin, lang).post(url, {**data, "daily_capacity": "9999"})
    assert response.status_code == 422
    assert expected in response.content.decode()
    agent.refresh_from_db()
    assert agent.first_name == ""
    assert agent.daily_capacity == 40


def test_a_user_is_edited_deactivated_and_reactivated_with_audit(admin: User) -> None:
    agent = user("a1", Role.AGENT)
    client = client_for(admin, ZH)
    url = reverse("settings_user_edit", args=[agent.pk])
    assert client.get(url).status_code == 200
    data = {
        "first_name": "王芳",
        "role": "supervisor",
        "language": "en",
        "seniority": "2",
        "daily_capacity": "30",
    }
    assert client.post(url, data).status_code == 302
    agent.refresh_from_db()
    assert (agent.first_name, agent.role, agent.language) == ("王芳", "supervisor", "en")
    assert (agent.seniority, agent.daily_capacity) == (2, 30)
    entry = AuditLog.objects.get(action="user_change")
    assert entry.detail["changes"]["role"] == ["agent", "supervisor"]
    assert "王芳" in client.get(reverse("settings_users")).content.decode()
    active = reverse("settings_user_active", args=[agent.pk])
    client.post(active, {"active": "0"})
    agent.refresh_from_db()
    assert not agent.is_active
    client.post(active, {"active": "1"})
    agent.refresh_from_db()
    assert agent.is_active


def test_an_admin_cannot_take_their_own_admin_role_away(admin: User) -> None:
    url = reverse("settings_user_edit", args=[admin.pk])
    data = {"first_name": "", "role": "agent", "language": "", "seniority": "1"}
    response = client_for(admin, EN).post(url, {**data, "daily_capacity": "40"})
    assert response.status_code == 422
    admin.refresh_from_db()
    assert admin.role == Role.ADMIN

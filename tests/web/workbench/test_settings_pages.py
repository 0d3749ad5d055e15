"""Settings pages through the Django test client: admins only, changes persist and are audited."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories.workbench import PASSWORD, user
from winback.app.settings.profile import current_profile
from winback.app.settings.rules import current_rules
from winback.store.accounts.models import AuditLog, Role, User
from winback.store.analysis.models import AnalysisRun
from winback.store.programme.models import ProgrammeSettings

pytestmark = pytest.mark.django_db

PAGES = (
    ("settings", ()),
    ("settings_profile", ()),
    ("settings_indicators", ()),
    ("settings_questionnaires", ()),
    ("settings_questionnaire_edit", ()),
    ("settings_users", ()),
    ("settings_rules", ("taxonomy",)),
    ("settings_rules", ("playbooks",)),
    ("settings_rules", ("offers",)),
)


def signed_in(u: User) -> Client:
    client = Client()
    client.force_login(u)
    return client


@pytest.fixture
def admin() -> User:
    return user("boss", Role.ADMIN)


def _profile_post(**changes: object) -> dict[str, object]:
    """The profile form as the page fills it in, with some values changed."""
    from winback.app.settings.service import profile_leaves

    data: dict[str, object] = {"action": "profile"}
    for path, value in profile_leaves(current_profile()).items():
        data[path.replace(".", "__")] = "" if value is None else value
    data.update(changes)
    return {k: v for k, v in data.items() if v is not False}


def test_every_settings_page_is_for_admins_only(admin: User) -> None:
    agent, supervisor = user("a1", Role.AGENT), user("s1", Role.SUPERVISOR)
    for name, args in PAGES:
        url = reverse(name, args=args)
        assert signed_in(agent).get(url).status_code == 403, url
        assert signed_in(supervisor).get(url).status_code == 403, url
        assert signed_in(admin).get(url).status_code == 200, url
    assert signed_in(supervisor).post(reverse("settings_profile"), {}).status_code == 403
    assert signed_in(admin).get(reverse("settings_rules", args=["nope"])).status_code == 404


def test_profile_changes_persist_and_are_audited(admin: User) -> None:
    client = signed_in(admin)
    response = client.post(
        reverse("settings_profile"),
        _profile_post(
            **{
                "name": "Shop 1",
                "lifecycle__lost_from": 200,
                "tiers": 4,
                "value_weights__forum_post": 25.5,
                "programme__holdout_share": 0.2,
            }
        ),
    )
    assert response.status_code == 302
    profile = current_profile()
    assert (profile.name, profile.lifecycle.lost_from, profile.tiers) == ("Shop 1", 200, 4)
    assert profile.value_weights.forum_post == 25.5
    assert profile.programme.holdout_share == 0.2
    entry = AuditLog.objects.get(action="settings_change")
    assert entry.user == admin
    assert entry.object_type == "business_profile"
    assert entry.detail["changes"]["lifecycle.lost_from"] == [120, 200]
    assert entry.detail["changes"]["tiers"] == [5, 4]
    # submitting the same values again changes nothing and writes no audit entry
    client.post(reverse("settings_profile"), _profile_post())
    assert AuditLog.objects.filter(action="settings_change").count() == 1


def test_an_invalid_profile_is_refused_and_nothing_is_stored(admin: User) -> None:
    client = signed_in(admin)
    before = current_profile()
    response = client.post(
        reverse("settings_profile"),
        _profile_post(lifecycle__silent_from=500),  # thresholds must increase
    )
    assert response.status_code == 422
    from django.utils import translation
    from django.utils.translation import gettext

    rule = "The thresholds must increase: silent < sleeping < lost."
    with translation.override("zh-hans"):
        words = {rule, gettext(rule)}
    assert words & set(response.context["form"].errors.get("lifecycle__sleeping_from", []))
    response = client.post(reverse("settings_profile"), _profile_post(tiers=9))
    assert response.status_code == 422
    response = client.post(reverse("settings_profile"), _profile_post(time_zone="Mars/Base"))
    assert response.status_code == 422
    assert "Mars/Base" in response.content.decode()
    assert current_profile() == before
    assert not AuditLog.objects.exists()


def test_applying_a_preset_resets_the_profile_and_is_audited(admin: User) -> None:
    client = signed_in(admin)
    data = {"action": "preset", "industry": "dental"}
    response = client.post(reverse("settings_profile"), data)
    assert response.status_code == 200  # the diff, asking to confirm; nothing changed yet
    assert current_profile().industry == "retail"
    response = client.post(reverse("settings_profile"), {**data, "confirm": "1"})
    assert response.status_code == 302
    profile = current_profile()
    assert (profile.industry, profile.lifecycle.lost_from) == ("dental", 400)
    entry = AuditLog.objects.get(action="settings_change")
    assert entry.detail["industry"] == ["retail", "dental"]
    page = client.get(reverse("settings_profile")).content.decode()
    assert 'value="400"' in page


def test_rule_overrides_are_checked_stored_and_audited(admin: User) -> None:
    client = signed_in(admin)
    url = reverse("settings_rules", args=["taxonomy"])
    overrides = {
        "reasons": [{"code": "parking", "group": "our_fault", "zh": "停车难", "en": "Parking"}]
    }
    response = client.post(url, {"overrides": json.dumps(overrides, ensure_ascii=False)})
    assert response.status_code == 302
    assert ProgrammeSettings.objects.get().taxonomy == overrides
    assert current_rules().taxonomy.label("parking", "zh") == "停车难"
    assert "停车难" in client.get(url).content.decode()
    entry = AuditLog.objects.get(action="settings_change")
    assert (entry.object_type, entry.detail["after"]) == ("programme_taxonomy", overrides)

    # an offer naming a reason the taxonomy does not know is refused; nothing is stored
    offers_url = reverse("settings_rules", args=["offers"])
    bad = {"offers": [{"code": "voucher_20", "reasons": ["no_such_reason"]}]}
    response = client.post(offers_url, {"overrides": json.dumps(bad)})
    assert response.status_code == 422
    assert "no_such_reason" in response.content.decode()
    assert ProgrammeSettings.objects.get().offers == {}
    response = client.post(offers_url, {"overrides": "{not json"})
    assert response.status_code == 422
    assert AuditLog.objects.filter(action="settings_change").count() == 1


def test_indicator_weights_are_shown_with_the_audit_of_the_latest_analysis(admin: User) -> None:
    page = signed_in(admin).get(reverse("settings_indicators")).content.decode()
    assert 'id="indicator-audit"' not in page  # no analysis yet
    AnalysisRun.objects.create(
        as_of=date(2026, 10, 31),
        weights={"long_silence": 1.25, "spend_drop": 0.0},
        audit={
            "indicators": [
                {
                    "code": "long_silence",
                    "direction": 1,
                    "auc": 0.81,
                    "weight": 1.25,
                    "used": True,
                    "recommendation": "keep",
                    "reasons": [],
                    "en": "Long silence",
                    "zh": "长时间未消费",
                },
                {
                    "code": "spend_drop",
                    "direction": 1,
                    "auc": 0.52,
                    "weight": 0.0,
                    "used": True,
                    "recommendation": "drop",
                    "reasons": ["weak", "redundant_with:long_silence"],
                    "en": "Spend drop",
                    "zh": "消费下降",
                },
            ],
            "redundant_pairs": [{"a": "long_silence", "b": "spend_drop", "rho": 0.86}],
        },
    )
    page = signed_in(admin).get(reverse("settings_indicators")).content.decode()
    assert 'id="indicator-audit"' in page
    assert "长时间未消费" in page
    assert "0.81" in page
    assert "1.250" in page
    assert "0.86" in page


def test_users_are_created_and_deactivated_with_audit(admin: User) -> None:
    client = signed_in(admin)
    response = client.post(
        reverse("settings_users"),
        {
            "username": "agent7",
            "password": PASSWORD,
            "role": "agent",
            "seniority": "2",
            "daily_capacity": "35",
        },
    )
    assert response.status_code == 302
    created = User.objects.get(username="agent7")
    assert (created.role, created.seniority, created.daily_capacity) == ("agent", 2, 35)
    assert created.check_password(PASSWORD)
    assert Client().login(username="agent7", password=PASSWORD)
    entry = AuditLog.objects.get(action="user_create")
    assert entry.object_id == str(created.pk)
    assert "password" not in json.dumps(entry.detail)

    duplicate = client.post(
        reverse("settings_users"),
        {
            "username": "AGENT7",
            "password": PASSWORD,
            "role": "agent",
            "seniority": "1",
            "daily_capacity": "1",
        },
    )
    assert duplicate.status_code == 422
    weak = client.post(
        reverse("settings_users"),
        {
            "username": "x",
            "password": "password",
            "role": "agent",
            "seniority": "1",
            "daily_capacity": "1",
        },
    )
    assert weak.status_code == 422
    assert User.objects.filter(username__in=["AGENT7", "x"]).count() == 0

    client.post(reverse("settings_user_active", args=[created.pk]), {"active": "0"})
    created.refresh_from_db()
    assert not created.is_active
    assert not Client().login(username="agent7", password=PASSWORD)
    assert AuditLog.objects.filter(action="user_deactivate", object_id=str(created.pk)).exists()
    client.post(reverse("settings_user_active", args=[created.pk]), {"active": "1"})
    created.refresh_from_db()
    assert created.is_active

    # an admin cannot lock themself out
    client.post(reverse("settings_user_active", args=[admin.pk]), {"active": "0"})
    admin.refresh_from_db()
    assert admin.is_active


def test_questionnaires_in_force_are_listed_with_their_editor(admin: User) -> None:
    page = signed_in(admin).get(reverse("settings_questionnaires")).content.decode()
    assert "回访问卷（首次联系）" in page
    assert "<form" not in page.split("<main")[1]  # the list itself submits nothing
    assert reverse("settings_questionnaire_edit") + "?code=callback_first" in page


def test_the_early_warning_rate_is_set_on_the_profile_page(admin: User) -> None:
    client = signed_in(admin)
    en = client.get(reverse("settings_profile"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Customers to flag early (empty: use the share)" in en
    zh = client.get(reverse("settings_profile"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "每次预警的客户数（留空：按比例）" in zh
    response = client.post(
        reverse("settings_profile"),
        _profile_post(early_warning_share=0.2, early_warning_capacity=120),
    )
    assert response.status_code == 302
    profile = current_profile()
    assert (profile.early_warning_share, profile.early_warning_capacity) == (0.2, 120)
    before = current_profile()
    for bad in ({"early_warning_share": 1.5}, {"early_warning_share": 0}):
        response = client.post(reverse("settings_profile"), _profile_post(**bad))
        assert response.status_code == 422
    response = client.post(reverse("settings_profile"), _profile_post(early_warning_capacity=0))
    assert response.status_code == 422  # the form's own minimum refuses it
    assert current_profile() == before


def test_the_random_share_is_set_with_the_programme_rules(admin: User) -> None:
    client = signed_in(admin)
    page = client.get(reverse("settings_profile"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Share of each round chosen at random (0-0.5)" in page
    assert 'name="programme__random_share"' in page
    response = client.post(reverse("settings_profile"), _profile_post(programme__random_share=0.3))
    assert response.status_code == 302
    assert current_profile().programme.random_share == 0.3
    entry = AuditLog.objects.get(action="settings_change")
    assert entry.detail["changes"]["programme.random_share"] == [0.2, 0.3]
    before = current_profile()
    response = client.post(reverse("settings_profile"), _profile_post(programme__random_share=0.7))
    assert response.status_code == 422
    assert current_profile() == before

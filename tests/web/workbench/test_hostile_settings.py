"""Stored settings written around the forms (a script, a bad restore, an old version): saved
segments, the quality scorecard and the care settings with malformed, unknown or out-of-range
JSON. The pages still open and the planners still plan, on the defaults; admins are told."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories.workbench import user
from winback.store.accounts.models import Role, User

pytestmark = pytest.mark.django_db


def signed_in(u: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(u)
    client.cookies["django_language"] = "en"
    return client


BAD_CADENCES: list[Any] = [
    {"A": 30},  # an object, not a list
    "every month",
    [1, 2, 3],
    [{"abc_class": "Z", "visit_days": 30}],  # an unknown class
    [{"abc_class": "A", "visit_days": 10**12}],  # out of range: no date that far ahead
    [{"abc_class": "A", "call_days": -4}],
    [{"abc_class": "A", "call_days": "soon"}],
    [{"visit_days": 30}],  # no class
]
BAD_HOLIDAYS: list[Any] = [
    {"spring": 1},
    [{"code": "x"}],  # no names, no date
    [{"code": "x", "zh": "甲", "en": "X", "month_day": [2, 30]}],  # no such day
    [{"code": "x", "zh": "甲", "en": "X", "month_day": "02-01"}],
    ["new year"],
]


@pytest.mark.parametrize("cadences", BAD_CADENCES)
def test_unreadable_care_cadences_fall_back_and_admins_are_told(cadences: Any) -> None:
    from winback.app.care.rules import care_rules
    from winback.programme.care import default_cadences
    from winback.store.programme.models import CareSettings

    CareSettings.objects.create(cadences=cadences, holidays=[])
    rules = care_rules()
    assert rules.cadences == default_cadences()
    assert rules.unreadable == ("cadences",)
    admin, supervisor = user("admin", Role.ADMIN), user("sup", Role.SUPERVISOR)
    page = signed_in(admin).get(reverse("settings_care"))
    assert page.status_code == 200
    assert "The stored care cadences could not be read" in page.content.decode()
    # the care plan is made on the default cadences
    today = timezone.localdate()
    planned = signed_in(supervisor).post(reverse("care_plan"), {"start": today, "end": today})
    assert planned.status_code == 302
    assert signed_in(supervisor).get(reverse("care_plan")).status_code == 200


@pytest.mark.parametrize("holidays", BAD_HOLIDAYS)
def test_unreadable_holidays_fall_back_and_saving_the_settings_repairs_them(
    holidays: Any,
) -> None:
    from winback.app.care.rules import care_rules
    from winback.app.care.service import care_plan
    from winback.programme.care import HolidayCalendar
    from winback.store.programme.models import CareSettings

    CareSettings.objects.create(cadences=[], holidays=holidays)
    assert care_rules().calendar == HolidayCalendar.default()
    assert care_rules().unreadable == ("holidays",)
    today = timezone.localdate()
    assert care_plan(today, days=7).as_of == today  # the planner runs on the default holidays
    admin = user("admin", Role.ADMIN)
    client = signed_in(admin)
    page = client.get(reverse("settings_care")).content.decode()
    assert "The stored holidays could not be read" in page
    # saving the form (the defaults it shows) replaces the unreadable value
    from tests.web.workbench.test_care_pages import _settings_post

    assert client.post(reverse("settings_care"), _settings_post()).status_code == 302
    assert care_rules().unreadable == ()
    assert "could not be read" not in client.get(reverse("settings_care")).content.decode()


BAD_SCORECARDS: list[Any] = [
    {"criteria": "all of them"},
    ["greeting"],
    "a scorecard",
    {"criteria": [{"code": "Not A Code", "label_zh": "甲", "label_en": "A", "weight": 1}]},
    {"criteria": [{"code": "ok", "label_zh": "甲", "label_en": "A", "weight": 1e9}]},
    {"criteria": [{"code": "ok", "label_zh": "甲", "label_en": "A", "weight": "heavy"}]},
    {"criteria": [{"code": "ok", "label_zh": "甲", "label_en": "A", "weight": [1]}]},
    {"criteria": [5]},
]


@pytest.mark.parametrize("stored", BAD_SCORECARDS)
def test_an_unreadable_scorecard_falls_back_to_the_default_and_admins_are_told(
    stored: Any,
) -> None:
    from winback.app.contacts.quality import scorecard, scorecard_state
    from winback.programme.scorecard import Scorecard
    from winback.store.programme.models import ProgrammeSettings

    ProgrammeSettings.objects.create(quality_scorecard=stored)
    card, problem = scorecard_state()
    assert card == Scorecard.default() == scorecard()
    assert problem
    admin, supervisor = user("admin", Role.ADMIN), user("sup", Role.SUPERVISOR)
    page = signed_in(admin).get(reverse("quality"))
    assert page.status_code == 200
    assert "The stored quality scorecard could not be read" in page.content.decode()
    shown = signed_in(supervisor).get(reverse("quality"))
    assert shown.status_code == 200
    assert "could not be read" not in shown.content.decode()  # a warning for admins


BAD_QUERIES: list[Any] = [
    ["stage", "lost"],
    "stage=lost",
    {"stage": {"$ne": "lost"}},
    {"stage": ["lost", "silent"]},
    {"q": "x" * 10_000},
    {f"k{i}": "v" for i in range(500)},
]


@pytest.mark.parametrize("query", BAD_QUERIES)
@pytest.mark.parametrize("page", ["customers", "warnings"])
def test_a_saved_segment_with_unreadable_filters_opens_the_list_unfiltered(
    query: Any, page: str
) -> None:
    from winback.store.customers.models import SavedSegment

    admin = user("admin", Role.ADMIN)
    SavedSegment.objects.create(owner=admin, page=page, name="broken", query=query, shared=True)
    SavedSegment.objects.create(
        owner=admin, page=page, name="fine", query={"stage": "lost", "tier": 2}
    )
    shown = signed_in(admin).get(reverse(page))
    assert shown.status_code == 200
    html = shown.content.decode()
    assert html.count("its stored filters could not be read") == 1
    assert 'href="?stage=lost&amp;tier=2" class="segment-apply">fine<' in html
    assert 'href="?" class="segment-apply">broken<' in html


def test_the_care_planner_survives_every_bad_cadence_at_once() -> None:
    """The planner itself (not only the page): a week's plan on the default cadences."""
    from winback.app.care.service import care_plan
    from winback.store.programme.models import CareSettings

    for cadences in BAD_CADENCES:
        CareSettings.objects.all().delete()
        CareSettings.objects.create(cadences=cadences, holidays={"bad": True})
        today = timezone.localdate()
        plan = care_plan(today + timedelta(days=1), days=7)
        assert plan.as_of == today + timedelta(days=1)

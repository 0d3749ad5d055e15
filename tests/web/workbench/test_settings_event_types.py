"""The event types settings page: admins only; add, edit, deactivate, delete through the
forms, refusals in the user's language; hostile stored codes shown as they are."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext

from tests.factories.workbench import build_world, user
from winback.store.accounts.models import AuditLog, Role, User
from winback.store.customers.models import Customer, EngagementEvent, EventTypeDefinition

pytestmark = pytest.mark.django_db
ZH, EN = "zh-hans", "en"
NEW = {
    "code": "brand_defence",
    "label_zh": "维护品牌",
    "label_en": "Defended the brand",
    "role": "referral",
}


@pytest.fixture
def admin() -> User:
    return user("boss", Role.ADMIN)


def client_for(u: User, lang: str = EN) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=lang)
    client.force_login(u)
    return client


def in_lang(lang: str, msgid: str, **params: Any) -> str:
    with translation.override(lang):
        text = gettext(msgid)
    return escape(text % params if params else text)


def _event(customer: Customer, code: str, key: str) -> None:
    EngagementEvent.objects.create(
        source_key=key,
        customer=customer,
        event_type=code,
        occurred_at=datetime(2026, 9, 1, 2, tzinfo=UTC),
        occurred_date=date(2026, 9, 1),
    )


def test_the_page_is_for_admins_only_and_linked_from_the_settings_index(admin: User) -> None:
    url = reverse("settings_event_types")
    for role in (Role.AGENT, Role.SUPERVISOR):
        who = client_for(user(f"u-{role}", role))
        assert who.get(url).status_code == 403
        assert who.post(url, NEW).status_code == 403
        assert (
            who.post(reverse("settings_event_type_active", args=["complaint"])).status_code == 403
        )
    assert not EventTypeDefinition.objects.filter(code="brand_defence").exists()
    assert url in client_for(admin).get(reverse("settings")).content.decode()
    page = client_for(admin).get(url).content.decode()
    assert 'data-code="complaint"' in page
    assert "Friend referral" in page


def test_an_admin_adds_edits_deactivates_and_deletes_a_type(admin: User) -> None:
    client = client_for(admin)
    response = client.post(reverse("settings_event_types"), NEW)
    assert response.status_code == 302
    row = EventTypeDefinition.objects.get(code="brand_defence")
    assert (row.role, row.active, row.built_in) == ("referral", True, False)

    edit = reverse("settings_event_type_edit", args=["brand_defence"])
    assert client.get(edit).status_code == 200
    changed = {**NEW, "label_en": "Stood up for the brand", "role": "forum_post"}
    assert client.post(edit, changed).status_code == 302
    row.refresh_from_db()
    assert (row.label_en, row.role) == ("Stood up for the brand", "forum_post")

    active = reverse("settings_event_type_active", args=["brand_defence"])
    assert client.post(active, {"active": "0"}).status_code == 302
    assert not EventTypeDefinition.objects.get(code="brand_defence").active

    delete = reverse("settings_event_type_delete", args=["brand_defence"])
    assert client.post(delete).status_code == 302
    assert not EventTypeDefinition.objects.filter(code="brand_defence").exists()
    actions = AuditLog.objects.filter(object_type="event_type").count()
    assert actions == 4  # added, edited, deactivated, deleted


def test_a_built_in_types_role_cannot_be_changed_through_the_form(admin: User) -> None:
    edit = reverse("settings_event_type_edit", args=["complaint"])
    post = {"label_zh": "客户投诉", "label_en": "Complaint", "role": "referral"}
    assert client_for(admin).post(edit, post).status_code == 302
    row = EventTypeDefinition.objects.get(code="complaint")
    assert (row.label_zh, row.role) == ("客户投诉", "complaint")  # the role field is disabled


@pytest.mark.parametrize("lang", [ZH, EN])
def test_a_refused_type_says_why_in_the_users_language(admin: User, lang: str) -> None:
    response = client_for(admin, lang).post(
        reverse("settings_event_types"), {**NEW, "label_zh": "投诉"}
    )
    assert response.status_code == 422
    message = in_lang(
        lang,
        "“%(value)s” is already a code, name or spelling of the type %(code)s.",
        value="投诉",
        code="complaint",
    )
    assert message in response.content.decode()
    assert not EventTypeDefinition.objects.filter(code="brand_defence").exists()


@pytest.mark.parametrize("lang", [ZH, EN])
def test_a_used_or_built_in_type_is_not_deleted_and_the_page_says_why(
    admin: User, lang: str
) -> None:
    # the seeded row (a test that commits may have emptied the table: then put it back)
    EventTypeDefinition.objects.get_or_create(
        code="referral",
        defaults={
            "label_zh": "推荐好友",
            "label_en": "Friend referral",
            "role": "referral",
            "built_in": True,
        },
    )
    client = client_for(admin, lang)
    response = client.post(reverse("settings_event_type_delete", args=["referral"]), follow=True)
    assert in_lang(lang, "A built-in type can be deactivated but not deleted.") in (
        response.content.decode()
    )
    assert EventTypeDefinition.objects.filter(code="referral").exists()


def test_unknown_codes_answer_404(admin: User) -> None:
    client = client_for(admin)
    assert client.get(reverse("settings_event_type_edit", args=["nope"])).status_code == 404
    assert client.post(reverse("settings_event_type_delete", args=["nope"])).status_code == 404


def test_the_customer_sheet_shows_undefined_and_inactive_types_by_their_code(
    admin: User,
) -> None:
    world = build_world()
    EventTypeDefinition.objects.create(
        code="brand_defence", label_zh="维护品牌", label_en="Defended the brand", role="referral"
    )
    EventTypeDefinition.objects.update_or_create(
        code="forum_post",
        defaults={
            "label_zh": "论坛发帖",
            "label_en": "Forum post",
            "role": "forum_post",
            "active": False,
            "built_in": True,
        },
    )
    _event(world.mine, "brand_defence", "E-1")
    _event(world.mine, "hand_edited", "E-2")
    _event(world.mine, "forum_post", "E-3")
    _event(world.mine, "referral", "E-4")
    page = client_for(admin).get(reverse("customer", args=[world.mine.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    for shown in ("Defended the brand", "hand_edited", "forum_post", "Friend referral"):
        assert shown in text
    assert "Forum post" not in text
    listing = client_for(admin).get(reverse("settings_event_types")).content.decode()
    assert "<code>hand_edited</code> (1)" in listing

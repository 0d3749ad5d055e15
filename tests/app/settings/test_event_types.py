"""Event types as settings: what is in force, and each change's checks and audit row."""

from __future__ import annotations

import importlib
from datetime import UTC, date, datetime

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.utils import translation

from winback.app.actors import Actor
from winback.app.settings import event_types as svc
from winback.schema import EVENT_TYPES
from winback.store.accounts.models import AuditLog, Role, User
from winback.store.customers.models import (
    BUILT_IN_EVENT_NAMES,
    Customer,
    EngagementEvent,
    EventTypeDefinition,
)
from winback.vocabulary import EVENT_ROLES

pytestmark = pytest.mark.django_db
ADMIN = Actor.system("cli")


def _add_brand_defence() -> svc.EventTypeInForce:
    return svc.add_event_type(
        ADMIN,
        code="brand_defence",
        label_zh="维护品牌",
        label_en="Defended the brand",
        role="referral",
    )


def _event(code: str, key: str = "E1") -> EngagementEvent:
    customer, _ = Customer.objects.get_or_create(external_id="C1")
    return EngagementEvent.objects.create(
        source_key=key,
        customer=customer,
        event_type=code,
        occurred_at=datetime(2024, 3, 1, 2, tzinfo=UTC),
        occurred_date=date(2024, 3, 1),
    )


def test_the_data_migration_seeds_the_eight_built_in_types_in_their_own_role() -> None:
    migration = importlib.import_module(
        "winback.store.customers.migrations.0004_event_type_definitions"
    )
    EventTypeDefinition.objects.all().delete()
    migration.seed_built_in(apps, None)
    rows = {r.code: r for r in EventTypeDefinition.objects.all()}
    assert list(rows) == [code for code, _ in EVENT_TYPES]
    assert all(r.role == r.code and r.active and r.built_in for r in rows.values())
    assert {c: (r.label_zh, r.label_en) for c, r in rows.items()} == BUILT_IN_EVENT_NAMES
    assert set(rows) == set(EVENT_ROLES)


def test_a_built_in_type_without_a_stored_row_is_still_in_force() -> None:
    EventTypeDefinition.objects.all().delete()
    codes = [t.code for t in svc.event_types_in_force()]
    assert codes == list(BUILT_IN_EVENT_NAMES)
    assert dict(svc.import_choices())["referral"][:2] == ("推荐好友", "Friend referral")


def test_a_new_type_is_accepted_by_code_and_both_names_and_audited() -> None:
    made = _add_brand_defence()
    assert (made.role, made.active, made.built_in) == ("referral", True, False)
    assert dict(svc.import_choices())["brand_defence"][:2] == ("维护品牌", "Defended the brand")
    row = AuditLog.objects.get(object_type="event_type", object_id="brand_defence")
    assert row.action == "settings_change"
    assert row.detail["before"] is None
    assert row.detail["after"]["role"] == "referral"


@pytest.mark.parametrize(
    ("changes", "field", "english"),
    [
        ({"code": "Brand Defence"}, "code", "The code is 2 to 24 characters"),
        ({"code": "referral"}, "code", "The event type referral already exists."),
        ({"label_zh": " "}, "label_zh", "Give the type a Chinese name."),
        ({"role": "gossip"}, "role", "Choose what events of this type count as."),
        ({"label_zh": "投诉"}, "label_zh", "is already a code, name or spelling of the type"),
        ({"label_en": "Forum Post"}, "label_en", "of the type forum_post"),
    ],
)
def test_a_refused_new_type_says_why_in_the_users_language(
    changes: dict[str, str], field: str, english: str
) -> None:
    values = {
        "code": "brand_defence",
        "label_zh": "维护品牌",
        "label_en": "Defended the brand",
        "role": "referral",
        **changes,
    }
    with translation.override("en"):
        with pytest.raises(svc.EventTypeError) as refused:
            svc.add_event_type(ADMIN, **values)
        message = str(refused.value)  # worded in the language active when shown
    assert english in message
    assert refused.value.field == field
    assert not EventTypeDefinition.objects.filter(code="brand_defence").exists()
    assert not AuditLog.objects.filter(object_type="event_type").exists()


def test_the_refusal_is_in_chinese_for_a_chinese_user() -> None:
    english = "A built-in type can be deactivated but not deleted."
    with translation.override("zh-hans"):
        with pytest.raises(svc.EventTypeError) as refused:
            svc.delete_event_type(ADMIN, "complaint")
        message, chinese = str(refused.value), translation.gettext(english)
    assert message == chinese
    assert message != english


def test_names_and_role_change_but_a_built_in_type_keeps_its_role() -> None:
    _add_brand_defence()
    assert svc.update_event_type(
        ADMIN,
        "brand_defence",
        label_zh="危机护品牌",
        label_en="Defended the brand",
        role="forum_post",
    )
    assert svc.event_type("brand_defence") == svc.EventTypeInForce(
        "brand_defence", "危机护品牌", "Defended the brand", "forum_post", True, False
    )
    assert not svc.update_event_type(
        ADMIN,
        "brand_defence",
        label_zh="危机护品牌",
        label_en="Defended the brand",
        role="forum_post",
    )
    with pytest.raises(svc.EventTypeError) as refused:
        svc.update_event_type(
            ADMIN, "complaint", label_zh="投诉", label_en="Complaint", role="referral"
        )
    assert refused.value.field == "role"
    assert svc.update_event_type(
        ADMIN, "complaint", label_zh="客户投诉", label_en="Complaint", role="complaint"
    )
    assert EventTypeDefinition.objects.get(code="complaint").label_zh == "客户投诉"


def test_deactivating_takes_the_type_out_of_imports_and_reactivating_brings_it_back() -> None:
    assert svc.set_event_type_active(ADMIN, "forum_reply", active=False)
    assert "forum_reply" not in dict(svc.import_choices())
    assert not svc.set_event_type_active(ADMIN, "forum_reply", active=False)
    assert svc.set_event_type_active(ADMIN, "forum_reply", active=True)
    assert "forum_reply" in dict(svc.import_choices())
    details = [
        (r.detail["before"]["active"], r.detail["after"]["active"])
        for r in AuditLog.objects.filter(object_id="forum_reply").order_by("pk")
    ]
    assert details == [(True, False), (False, True)]


def test_a_deactivated_built_in_type_without_a_stored_row_is_stored_inactive() -> None:
    EventTypeDefinition.objects.filter(code="qa_answer").delete()
    assert svc.set_event_type_active(ADMIN, "qa_answer", active=False)
    row = EventTypeDefinition.objects.get(code="qa_answer")
    assert (row.active, row.built_in, row.role) == (False, True, "qa_answer")


def test_only_an_unused_type_of_ones_own_can_be_deleted() -> None:
    _add_brand_defence()
    _event("brand_defence")
    with (
        translation.override("en"),
        pytest.raises(svc.EventTypeError, match=r"brand_defence.*\(1\)"),
    ):
        svc.delete_event_type(ADMIN, "brand_defence")
    with pytest.raises(svc.EventTypeError):
        svc.delete_event_type(ADMIN, "referral")
    with pytest.raises(svc.EventTypeError):
        svc.delete_event_type(ADMIN, "nothing_here")
    EngagementEvent.objects.all().delete()
    svc.delete_event_type(ADMIN, "brand_defence")
    assert svc.event_type("brand_defence") is None
    last = AuditLog.objects.filter(object_id="brand_defence").order_by("pk").last()
    assert last is not None
    assert last.detail["after"] is None


def test_codes_of_stored_events_that_no_type_defines_are_listed() -> None:
    _event("hand_edited", "E1")
    _event("referral", "E2")
    assert svc.undefined_event_codes() == {"hand_edited": 1}


def test_agents_and_supervisors_may_not_change_event_types() -> None:
    for role in (Role.AGENT, Role.SUPERVISOR):
        user = User.objects.create_user(username=f"u-{role}", password="x", role=role)
        with pytest.raises(PermissionDenied):
            svc.set_event_type_active(Actor.of(user), "complaint", active=False)
    assert svc.event_type("complaint").active  # type: ignore[union-attr]


def test_the_contact_gate_sees_a_complaint_of_a_type_of_ones_own_in_the_complaint_role() -> None:
    from winback.app.contacts import gate

    svc.add_event_type(
        ADMIN,
        code="after_sales_grievance",
        label_zh="售后不满",
        label_en="After-sales grievance",
        role="complaint",
    )
    people = [
        Customer.objects.create(external_id=f"G{i}", consent_marketing=True) for i in range(3)
    ]
    for person, code in zip(
        people, ("after_sales_grievance", "complaint", "forum_post"), strict=True
    ):
        EngagementEvent.objects.create(
            source_key=f"G-{person.external_id}",
            customer=person,
            event_type=code,
            occurred_at=datetime(2024, 3, 1, 2, tzinfo=UTC),
            occurred_date=date(2024, 3, 1),
        )
    ids = [p.pk for p in people]

    def reasons() -> list[str | None]:
        judged = dict(
            gate.verdicts(ids, on=date(2024, 3, 5)).select("customer_pk", "reason").iter_rows()
        )
        return [judged[i] for i in ids]

    assert reasons() == ["open_complaint", "open_complaint", None]
    # A retired type of one's own no longer counts; the built-in complaint always does.
    svc.set_event_type_active(ADMIN, "after_sales_grievance", active=False)
    svc.set_event_type_active(ADMIN, "complaint", active=False)
    assert reasons() == [None, "open_complaint", None]

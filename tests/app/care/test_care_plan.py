"""Care plans read from the store: who is due a call, a visit or a greeting, and who never is."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2024, 6, 10)
pytestmark = pytest.mark.django_db


def _customer(ext: str, *, status: str, abc: str, birthday: date | None = None, **flags: bool):  # type: ignore[no-untyped-def]
    from winback.store.analysis.models import CustomerSnapshot
    from winback.store.customers.models import Customer

    c = Customer.objects.create(external_id=ext, birthday=birthday, **flags)
    CustomerSnapshot.objects.create(
        customer=c,
        as_of=date(2024, 5, 31),
        stage="lost" if status == "lost" else "active",
        customer_type="evergreen",
        status=status,
        churn_score=10.0,
        abc_class=abc,
        tier=1,
        clv_365=100.0,
    )
    return c


def _called(customer, on: date) -> None:  # type: ignore[no-untyped-def]
    from winback.store.customers.models import ContactLog

    ContactLog.objects.create(
        source_key=f"call-{customer.pk}-{on}",
        customer=customer,
        channel="phone",
        outcome="reached",
        occurred_at=datetime.combine(on, time(10), tzinfo=TZ),
        occurred_date=on,
    )


def test_care_plan_lists_due_calls_and_birthdays_but_never_lost_or_protected_customers() -> None:
    from winback.app.care.service import care_plan
    from winback.programme.care import default_cadences
    from winback.store.analysis.models import AnalysisRun

    AnalysisRun.objects.create(as_of=date(2024, 5, 31), customers=5)
    call_days = {c.abc_class: c.call_days for c in default_cadences()}
    assert call_days["A"] is not None
    recent = _customer("RECENT", status="active", abc="A")
    _called(recent, DAY)  # called today: nothing due
    _customer("NEVER", status="active", abc="A", birthday=date(1990, 6, 12))
    _customer("GONE", status="lost", abc="A", birthday=date(1990, 6, 12))
    _customer("DNC", status="active", abc="A", birthday=date(1990, 6, 12), do_not_contact=True)
    _customer("NOCONSENT", status="at_risk", abc="A", consent_marketing=False)

    plan = care_plan(DAY, days=7, capacity=40)

    assert plan.snapshot_as_of == date(2024, 5, 31)
    calls = plan.contacts_due.filter(plan.contacts_due["task"] == "call")
    assert set(calls["external_id"].to_list()) == {"NEVER"}  # RECENT was called today
    due = set(plan.contacts_due["external_id"].to_list())
    assert due.isdisjoint({"GONE", "DNC", "NOCONSENT"})
    birthdays = plan.greetings.filter(plan.greetings["occasion"] == "birthday")
    assert birthdays["external_id"].to_list() == ["NEVER"]
    assert birthdays["due_date"].to_list() == [date(2024, 6, 12)]
    listed = set(plan.day_list.filter(plan.day_list["on_list"])["external_id"].to_list())
    assert "NEVER" in listed
    assert listed.isdisjoint({"GONE", "DNC", "NOCONSENT"})

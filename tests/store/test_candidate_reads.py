"""The store's reads of the round planner's candidate frames give the columns and types
:mod:`winback.candidate_frames` declares, with the rows the planner's rules expect."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from tests.factories.business import TZ

pytestmark = pytest.mark.django_db

UNTIL = date(2024, 6, 1)


def _customers() -> tuple[int, int]:
    from winback.store.customers.models import Customer

    a, b = (
        Customer.objects.create(external_id=f"C{i}", name=f"c{i}", phone=f"1370000000{i}")
        for i in range(2)
    )
    return a.pk, b.pk


def test_contact_history_has_the_declared_columns() -> None:
    from winback import candidate_frames
    from winback.store.customers.models import ContactLog
    from winback.store.queries.rounds import contact_history, customers_cohort

    a, b = _customers()
    rows = (
        (a, date(2024, 5, 20), "reached", ""),  # recent
        (a, date(2023, 1, 5), "reached", "price"),  # old, with a leave reason
        (b, date(2023, 1, 5), "no_answer", ""),  # old, without one: left out
        (b, date(2024, 6, 2), "reached", ""),  # after the cut-off: left out
    )
    ContactLog.objects.bulk_create(
        ContactLog(
            source_key=f"k{i}",
            customer_id=pk,
            channel="phone",
            outcome=outcome,
            reason_code=reason,
            occurred_at=datetime.combine(day, time(11), tzinfo=TZ),
            occurred_date=day,
        )
        for i, (pk, day, outcome, reason) in enumerate(rows)
    )
    frame = contact_history(
        cohort=customers_cohort(customer_ids=[a, b]), until=UNTIL, recent_from=date(2024, 3, 1)
    )
    assert frame.schema == dict(candidate_frames.CONTACT_HISTORY)
    assert sorted(frame.rows()) == [
        (a, date(2023, 1, 5), "phone", "reached", "outbound", "price"),
        (a, date(2024, 5, 20), "phone", "reached", "outbound", ""),
    ]


def test_complaints_have_the_declared_columns_and_the_local_day_of_resolution() -> None:
    from winback import candidate_frames
    from winback.store.customers.models import EngagementEvent
    from winback.store.queries.rounds import complaints, customers_cohort

    a, b = _customers()
    day = date(2024, 5, 10)
    EngagementEvent.objects.bulk_create(
        EngagementEvent(
            source_key=f"e{pk}",
            customer_id=pk,
            event_type="complaint",
            occurred_at=datetime.combine(day, time(9), tzinfo=TZ),
            occurred_date=day,
            resolved=resolved_at is not None,
            resolved_at=resolved_at,
        )
        # 00:30 local on the 20th is the 19th in UTC: the local day is the one read
        for pk, resolved_at in (
            (a, datetime.combine(date(2024, 5, 20), time(0, 30), TZ)),
            (b, None),
        )
    )
    frame = complaints(cohort=customers_cohort(customer_ids=[a, b]), until=UNTIL, time_zone=str(TZ))
    assert frame.schema == dict(candidate_frames.COMPLAINTS)
    assert sorted(frame.rows()) == [(a, day, True, date(2024, 5, 20)), (b, day, False, None)]


def test_category_spend_has_the_declared_columns() -> None:
    from winback import candidate_frames
    from winback.store.customers.models import Category, Order, OrderLine
    from winback.store.queries.rounds import category_spend, customers_cohort

    a, _b = _customers()
    food = Category.objects.create(code="food", replenishment_days=30)
    toys = Category.objects.create(code="toys")
    order = Order.objects.create(
        order_key="o1",
        customer_id=a,
        ordered_at=datetime.combine(date(2024, 5, 1), time(12), tzinfo=TZ),
        order_date=date(2024, 5, 1),
        amount_cents=3_500,
    )
    for line_no, (category, cents) in enumerate(((food, 1_000), (food, 2_000), (toys, 500))):
        OrderLine.objects.create(
            order=order, line_no=line_no + 1, category=category, amount_cents=cents
        )
    frame = category_spend(
        cohort=customers_cohort(customer_ids=[a]), after=date(2023, 6, 1), until=UNTIL
    )
    assert frame.schema == dict(candidate_frames.CATEGORY_SPEND)
    assert sorted(frame.rows()) == [(a, "food", 3_000.0, 30), (a, "toys", 500.0, None)]

"""The pre-period covariates of a round's members, read in one statement."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from tests.factories.business import TZ

pytestmark = pytest.mark.django_db


def test_pre_period_spend_and_visits_per_member() -> None:
    from winback.store.customers.models import Customer, Order
    from winback.store.programme.models import Round, RoundMember
    from winback.store.queries.rounds import pre_period, round_cohort

    a, b, c, outsider = (
        Customer.objects.create(external_id=f"C{i}", name=f"c{i}", phone=f"1380000000{i}")
        for i in range(4)
    )
    rnd = Round.objects.create(
        month=date(2024, 6, 1),
        seed=1,
        holdout_share=0.5,
        as_of=date(2024, 6, 1),
        round_start=date(2024, 6, 1),
        round_end=date(2024, 6, 30),
    )
    for rank, (customer, arm) in enumerate(((a, "treated"), (b, "control"), (c, "treated"))):
        RoundMember.objects.create(
            round=rnd, customer=customer, arm=arm, stage="lost", priority_rank=rank + 1
        )

    def order(customer: Customer, day: date, cents: int, key: str) -> None:
        Order.objects.create(
            order_key=key,
            customer=customer,
            ordered_at=datetime.combine(day, time(12), tzinfo=TZ),
            order_date=day,
            amount_cents=cents,
        )

    order(a, date(2024, 3, 3), 10_000, "a1")  # in the window
    order(a, date(2024, 3, 3), 5_000, "a2")  # same day: one visit
    order(a, date(2024, 5, 31), 2_500, "a3")  # the last day of the window
    order(a, date(2024, 6, 1), 99_900, "a4")  # the round's first day: outcome, not pre-period
    order(b, date(2024, 3, 2), 7_000, "b1")  # the day before the window
    order(b, date(2024, 4, 1), -1_000, "b2")  # a refund: lowers spend, not a visit
    order(outsider, date(2024, 4, 1), 50_000, "o1")  # not a member
    frame = pre_period(
        cohort=round_cohort(round_id=rnd.pk), start=date(2024, 3, 3), end=date(2024, 5, 31)
    ).sort("customer_pk")
    assert frame.rows() == [(a.pk, 175.0, 2.0), (b.pk, -10.0, 0.0), (c.pk, 0.0, 0.0)]


def test_stored_pre_period_reads_the_members_and_computes_only_the_unfilled() -> None:
    from winback.store.customers.models import Customer, Order
    from winback.store.programme.models import Round, RoundMember
    from winback.store.queries.rounds import fill_pre_period, stored_pre_period

    a, b = (
        Customer.objects.create(external_id=f"C{i}", name=f"c{i}", phone=f"1390000000{i}")
        for i in range(2)
    )
    rnd = Round.objects.create(
        month=date(2024, 6, 1),
        seed=1,
        holdout_share=0.5,
        as_of=date(2024, 6, 1),
        round_start=date(2024, 6, 1),
        round_end=date(2024, 6, 30),
    )
    RoundMember.objects.create(round=rnd, customer=a, arm="treated", stage="lost", priority_rank=1)
    for key, customer, cents in (("a1", a, 4_000), ("b1", b, 3_000)):
        Order.objects.create(
            order_key=key,
            customer=customer,
            ordered_at=datetime.combine(date(2024, 4, 1), time(12), tzinfo=TZ),
            order_date=date(2024, 4, 1),
            amount_cents=cents,
        )
    window = {"start": date(2024, 3, 3), "end": date(2024, 5, 31)}
    assert fill_pre_period(round_id=rnd.pk, **window) == 1
    assert fill_pre_period(round_id=rnd.pk, **window) == 0  # filled once
    # What is stored is read as stored: a later change of the orders does not move it.
    RoundMember.objects.filter(customer=a).update(pre_spend_cents=12_345, pre_visits=7)
    # A member added without figures is computed from the orders, and nothing is written.
    RoundMember.objects.create(round=rnd, customer=b, arm="control", stage="lost", priority_rank=2)
    frame = stored_pre_period(round_id=rnd.pk, **window).sort("customer_pk")
    assert frame.rows() == [(a.pk, 123.45, 7.0), (b.pk, 30.0, 1.0)]
    assert RoundMember.objects.get(customer=b).pre_spend_cents is None

"""Orders imported after a round was planned, dated inside its pre-period, update the members'
stored pre-period figures (the CUPED covariates the board and the reports read)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from winback.app.imports.service import import_file

pytestmark = pytest.mark.django_db


def _round(start: date, customers: list[object]) -> object:
    from winback.store.programme.models import Round, RoundMember

    rnd = Round.objects.create(
        month=start,
        seed=1,
        holdout_share=0.5,
        as_of=start,
        round_start=start,
        round_end=start.replace(day=28),
    )
    for rank, customer in enumerate(customers):
        RoundMember.objects.create(
            round=rnd,
            customer=customer,
            arm="treated" if rank % 2 else "control",
            stage="lost",
            priority_rank=rank + 1,
            pre_spend_cents=0,
            pre_visits=0,
        )
    return rnd


def test_a_late_import_refreshes_the_pre_period_of_the_rounds_it_touches(tmp_path: Path) -> None:
    from winback.store.customers.models import Customer
    from winback.store.programme.models import RoundMember

    a, b = (
        Customer.objects.create(external_id=f"C{i}", name=f"c{i}", phone=f"1370000000{i}")
        for i in range(2)
    )
    june = _round(date(2024, 6, 1), [a, b])
    december = _round(date(2024, 12, 1), [a, b])  # its pre-period starts in September
    RoundMember.objects.filter(round=december).update(pre_spend_cents=777, pre_visits=7)
    path = tmp_path / "orders.csv"
    path.write_text(
        "order no,customer,date,amount,channel\n"
        "O1,C0,2024-04-02 10:00,100.00,门店\n"
        "O2,C0,2024-04-02 15:00,20.00,门店\n"  # the same day: one visit
        "O3,C0,2024-05-31 10:00,5.00,门店\n"
        "O4,C1,2024-03-02 10:00,900.00,门店\n",  # the day before June's pre-period
        encoding="utf-8",
    )
    summary = import_file("orders", path)
    assert summary.inserted == 4
    stored = dict(
        (customer, (spend, visits))
        for customer, spend, visits in RoundMember.objects.filter(round=june).values_list(
            "customer_id", "pre_spend_cents", "pre_visits"
        )
    )
    assert stored == {a.pk: (12_500, 2), b.pk: (0, 0)}
    untouched = set(
        RoundMember.objects.filter(round=december).values_list("pre_spend_cents", "pre_visits")
    )
    assert untouched == {(777, 7)}

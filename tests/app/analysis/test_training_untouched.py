"""End to end on a small store: the analysis learns its churn weights without the customers a
win-back round treated in the training period, and says so in the run's model notes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

AS_OF = date(2024, 6, 30)
N = 240


def build() -> dict[str, set[int]]:
    """Customers buying every 20-120 days since 2022; half of them stop at a random date. A
    February round treats 40 of them and holds 12 back; a round of March 2023 (long before the
    training period) treated 15 others; a July round starts after the as-of date."""
    from winback.app.settings.profile import set_profile
    from winback.store.customers.models import Customer, Order
    from winback.store.programme.models import Arm, Round, RoundMember

    set_profile("aesthetics")  # horizon 180 days: training_as_of 2024-01-02
    rng = np.random.default_rng(3)
    customers = Customer.objects.bulk_create([Customer(external_id=f"T-{i:04d}") for i in range(N)])
    if customers[0].pk is None:
        customers = list(Customer.objects.order_by("external_id"))
    ids = [c.pk for c in customers]
    orders = []
    first = date(2022, 1, 1)
    for i, pk in enumerate(ids):
        stop = first + timedelta(days=int(rng.integers(200, 1000)))
        day = first + timedelta(days=int(rng.integers(0, 120)))
        k = 0
        while day <= AS_OF and (i % 2 == 0 or day <= stop):
            orders.append(
                Order(
                    order_key=f"O-{pk}-{k}",
                    customer_id=pk,
                    ordered_at=datetime.combine(day, datetime.min.time(), tzinfo=UTC),
                    order_date=day,
                    amount_cents=int(rng.integers(2000, 20000)),
                )
            )
            day += timedelta(days=int(rng.integers(20, 120)))
            k += 1
    Order.objects.bulk_create(orders)

    def round_of(start: date, end: date) -> Round:
        return Round.objects.create(
            month=start, seed=1, holdout_share=0.2, as_of=start, round_start=start, round_end=end
        )

    def members(rnd: Round, keys: list[int], arm: str) -> None:
        RoundMember.objects.bulk_create(
            [
                RoundMember(round=rnd, customer_id=pk, arm=arm, stage="lost", priority_rank=r)
                for r, pk in enumerate(keys, start=1)
            ]
        )

    february = round_of(date(2024, 2, 1), date(2024, 2, 29))
    members(february, ids[:40], Arm.TREATED)
    members(february, ids[40:52], Arm.CONTROL)
    old = round_of(date(2023, 3, 1), date(2023, 3, 31))
    members(old, ids[60:75], Arm.TREATED)
    july = round_of(date(2024, 7, 1), date(2024, 7, 31))
    members(july, ids[80:100], Arm.TREATED)
    return {"treated": set(ids[:40]), "control": set(ids[40:52])}


@pytest.mark.slow  # one analysis of a small store, with the BG/NBD fits
@pytest.mark.django_db(transaction=True)
def test_the_analysis_learns_without_the_customers_treated_in_the_training_period() -> None:
    from winback.app.analysis.service import analyze
    from winback.store.customers.models import Order

    groups = build()
    run = analyze(AS_OF)
    model = run.params["model"]
    start = date.fromisoformat(model["training_as_of"])
    assert start == AS_OF - timedelta(days=180)
    # Training buyers: customers with a purchase on or before training_as_of.
    bought = set(
        Order.objects.filter(order_date__lte=start, amount_cents__gt=0).values_list(
            "customer_id", flat=True
        )
    )
    assert model["weights_source"] == "learned"
    assert model["training_rule"] == "exclude_treated"
    assert model["training_excluded_treated"] == len(groups["treated"] & bought) > 0
    assert model["training_control_kept"] == len(groups["control"] & bought) > 0
    assert model["training_origin_customers"] == len(bought) - len(groups["treated"] & bought)
    assert run.params["rows"]["treatments"] == 40 + 12 + 15  # July's round is not known yet
    assert run.backtest["customers"] < model["training_customers"]

"""Simulated agents: the pure behaviour, and a round worked through the services."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tests.factories.business import MONTH, build_world, team
from winback.app.actors import Actor

REASONS = ["price", "moved_away", "attitude", "habit_lapsed"]


def _truth(external_ids: list[str], *, reach: float, respond: float) -> pl.DataFrame:
    n = len(external_ids)
    return pl.DataFrame(
        {
            "external_id": external_ids,
            "leave_reason": [REASONS[i % len(REASONS)] for i in range(n)],
            "reachability": [reach] * n,
            "offer_responsiveness": [respond] * n,
            "preferred_category": ["C1"] * n,
            "latent_value": [1.0] * n,
        }
    )


def _tasks(n: int, start: date) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "task_id": list(range(1, n + 1)),
            "customer_pk": list(range(101, n + 101)),
            "external_id": [f"E{i}" for i in range(n)],
            "arm": ["treated" if i % 5 else "control" for i in range(n)],
            "planned_date": [start + timedelta(days=i % 20) for i in range(n)],
            "offer_code": ["V20"] * n,
            "avg_ticket": [80.0] * n,
            # at the planning snapshot: two and a half intervals late, as moveable as it gets
            "days_since_last": [75] * n,
            "expected_interval_days": [30.0] * n,
            "p_alive": [0.6] * n,
        }
    )


def test_simulated_contacts_follow_the_truth_and_the_cap() -> None:
    from winback.simulate.agents import return_orders, simulate_contacts

    start = date(2024, 6, 3)
    tasks = _tasks(4000, start)
    truth = _truth(tasks["external_id"].to_list(), reach=0.7, respond=0.5)
    contacts = simulate_contacts(tasks, truth, seed=1)
    assert contacts["simulated"].all()
    control = set(tasks.filter(arm="control")["task_id"].to_list())
    assert not control & set(contacts["task_id"].to_list())
    assert contacts.group_by("task_id").len()["len"].max() <= 3
    treated = tasks.height - len(control)
    first_reached = contacts.filter(attempt=1, outcome="reached").height
    # reach 0.7 less wrong numbers (2%) and do-not-contact answers (3%)
    assert first_reached / treated == pytest.approx(0.7 * 0.98 * 0.97, abs=0.03)
    diagnosed = contacts.filter(pl.col("attempt") <= 2, outcome="reached").join(
        tasks.select("task_id", "external_id").join(truth, on="external_id"), on="task_id"
    )
    accuracy = (diagnosed["reason_code"] == diagnosed["leave_reason"]).mean()
    assert accuracy == pytest.approx(0.7, abs=0.04)
    won = contacts.filter("won_back")
    assert won["offer_code"].eq("V20").all()
    assert won["promised_return_date"].is_not_null().all()
    orders = return_orders(contacts, tasks, truth, round_start=start, seed=2)
    assert orders["simulated"].all()
    assert set(orders["task_id"].to_list()) <= set(won["task_id"].to_list())
    assert orders["order_date"].max() <= start + timedelta(days=89)
    firsts = orders.filter(seq=1)
    assert firsts["coupon_code"].eq("V20").all()
    assert np.median(firsts["amount_cents"].to_numpy()) == pytest.approx(8000, rel=0.1)


def test_unresponsive_customers_are_not_won_back() -> None:
    from winback.simulate.agents import simulate_contacts

    tasks = _tasks(500, date(2024, 6, 3))
    contacts = simulate_contacts(
        tasks, _truth(tasks["external_id"].to_list(), reach=1.0, respond=0.0), seed=3
    )
    assert not contacts["won_back"].any()
    assert (
        contacts.filter(attempt=1)["outcome"]
        .is_in(["reached", "wrong_number", "do_not_contact"])
        .all()
    )


@pytest.mark.slow
@pytest.mark.django_db
def test_a_simulated_round_goes_through_the_contact_rules(tmp_path: Path) -> None:
    from winback.app.rounds.service import plan_round, simulate_round_contacts
    from winback.app.rounds.simulation import round_tasks
    from winback.app.settings.profile import current_profile
    from winback.store.analysis.models import CustomerSnapshot
    from winback.store.customers.models import ContactLog, Customer, Order
    from winback.store.programme.models import CallTask, ContactAttempt, RoundMember

    world = build_world()
    rnd = plan_round(Actor.system(), month=MONTH, seed=4, agents=team()).round
    ext = list(
        Customer.objects.filter(pk__in=world.customer_ids).values_list("external_id", flat=True)
    )
    path = tmp_path / "ground_truth.parquet"
    _truth(ext, reach=0.8, respond=0.6).write_parquet(path)
    tasks = round_tasks(rnd)
    # what the true response reads comes from the round's planning snapshot
    snap = pl.DataFrame(
        list(
            CustomerSnapshot.objects.filter(as_of=rnd.snapshot_as_of).values_list(
                "customer_id", "days_since_last", "expected_interval_days", "p_alive"
            )
        ),
        schema=["customer_pk", "days", "interval", "alive"],
        orient="row",
    )
    joined = tasks.join(snap, on="customer_pk", how="left")
    assert tasks["days_since_last"].is_not_null().any()
    assert joined["days_since_last"].eq_missing(joined["days"]).all()
    assert joined["p_alive"].eq_missing(joined["alive"]).all()
    assert joined["expected_interval_days"].eq_missing(joined["interval"]).all()
    offered = tasks.filter(pl.col("offer_code").is_not_null())
    assert offered.height > 0
    assert offered["is_price"].is_not_null().all()
    result = simulate_round_contacts(rnd, path, seed=5)
    assert result["response"] == "realistic"

    attempts = ContactAttempt.objects.filter(task__round=rnd)
    assert result["contacts"] == attempts.count() > 0
    assert attempts.filter(simulated=False).count() == 0
    assert ContactLog.objects.filter(simulated=True).count() == attempts.count()
    cap = current_profile().programme.contacts_per_round
    assert max(CallTask.objects.filter(round=rnd).values_list("attempts", flat=True)) <= cap
    control = RoundMember.objects.filter(round=rnd, arm="control").values("customer_id")
    assert not ContactLog.objects.filter(customer_id__in=control, simulated=True).exists()
    sim_orders = Order.objects.filter(order_key__startswith=f"SIM-{rnd.pk}-")
    assert result["won_back"] > 0
    assert sim_orders.count() == result["return_orders"]
    assert not sim_orders.filter(customer_id__in=control).exists()
    window = (rnd.round_start, rnd.round_start + timedelta(days=89))
    assert not sim_orders.exclude(order_date__range=window).exists()
    dnc = set(Customer.objects.filter(do_not_contact=True).values_list("pk", flat=True))
    assert not CallTask.objects.filter(round=rnd, customer_id__in=dnc, status="open").exists()

"""Simulated agents win customers back by the true individual effect of a call.

Many simulated tasks per group, so each won-back share is close to its probability; the
groups differ in one input at a time (lateness, trait, offer against the reason)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from winback.simulate.agents import simulate_contacts, truth_response
from winback.simulate.response import PEAK_LATENESS, call_lift

START = date(2024, 6, 3)
INTERVAL = 30.0


def _world(
    groups: dict[str, dict[str, object]], n: int, *, respond: float = 0.8, reason: str = "price"
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``n`` treated tasks per group; a group's dict overrides the task and truth columns.
    Always reached: every difference in the won share comes from the call's effect."""
    rows = []
    for name, spec in groups.items():
        for _ in range(n):
            rows.append(
                {
                    "group": name,
                    "lateness": PEAK_LATENESS,
                    "p_alive": 0.6,
                    "offer_code": "member_day_10",
                    "is_price": True,
                    "respond": respond,
                    "reason": reason,
                    **spec,
                }
            )
    frame = pl.DataFrame(rows).with_row_index("i", offset=1)
    tasks = frame.select(
        "group",
        task_id=pl.col("i").cast(pl.Int64),
        customer_pk=pl.col("i").cast(pl.Int64) + 1000,
        external_id=pl.format("E{}", "i"),
        arm=pl.lit("treated"),
        planned_date=pl.lit(START),
        offer_code="offer_code",
        is_price="is_price",
        days_since_last=(pl.col("lateness") * INTERVAL).round().cast(pl.Int64),
        expected_interval_days=pl.lit(INTERVAL),
        p_alive="p_alive",
    )
    truth = frame.select(
        external_id=pl.format("E{}", "i"),
        leave_reason="reason",
        reachability=pl.lit(1.0),
        offer_responsiveness="respond",
        preferred_category=pl.lit("C1"),
        latent_value=pl.lit(1.0),
    )
    return tasks, truth


def _won_share(tasks: pl.DataFrame, contacts: pl.DataFrame) -> dict[str, float]:
    won = contacts.group_by("task_id").agg(pl.col("won_back").any())
    shares = (
        tasks.select("task_id", "group")
        .join(won, on="task_id", how="left")
        .group_by("group")
        .agg(pl.col("won_back").fill_null(False).mean())
    )
    return dict(zip(shares["group"], shares["won_back"], strict=True))


def test_customers_near_the_peak_lateness_are_won_back_most() -> None:
    groups = {"recent": {"lateness": 0.4}, "peak": {}, "gone": {"lateness": 12.0}}
    tasks, truth = _world(groups, 4000)
    share = _won_share(tasks, simulate_contacts(tasks, truth, seed=1))
    assert share["peak"] > 2 * share["recent"]
    assert share["peak"] > 2 * share["gone"]
    # The truth: the call's lift x the offer (an average member-day offer, 1.0, suiting a price
    # reason, x 1.3), less 2% wrong numbers and 3% do-not-contact answers, with the wrong
    # reason (30% of diagnoses miss, rarely by chance naming the true one) halving the chance.
    lift = float(call_lift(0.8, PEAK_LATENESS, 0.6)[()])
    right = 0.7 + 0.3 * 0.4 / 22
    expected = min(1.0, lift * 1.3) * 0.98 * 0.97 * (right + (1 - right) * 0.5)
    assert share["peak"] == pytest.approx(expected, abs=0.03)


def test_p_alive_helps_and_a_zero_trait_is_never_won_back() -> None:
    tasks, truth = _world({"alive": {"p_alive": 0.95}, "gone": {"p_alive": 0.05}}, 4000)
    share = _won_share(tasks, simulate_contacts(tasks, truth, seed=2))
    assert share["alive"] > 1.5 * share["gone"]
    tasks, truth = _world({"peak": {}}, 3000, respond=0.0)
    contacts = simulate_contacts(tasks, truth, seed=3, response="large")
    assert contacts.filter(attempt=1)["outcome"].eq("reached").any()  # reached, not won
    assert not contacts["won_back"].any()


def test_an_offer_that_suits_the_true_reason_beats_one_that_does_not() -> None:
    groups = {
        "price-price": {"reason": "price", "offer_code": "member_day_10", "is_price": True},
        "price-perk": {"reason": "price", "offer_code": "priority_service", "is_price": False},
        "perk-perk": {"reason": "attitude", "offer_code": "priority_service", "is_price": False},
        "perk-price": {"reason": "attitude", "offer_code": "member_day_10", "is_price": True},
    }
    tasks, truth = _world(groups, 5000)
    share = _won_share(tasks, simulate_contacts(tasks, truth, seed=4))
    assert share["price-price"] > 1.5 * share["price-perk"]
    assert share["perk-perk"] > 1.5 * share["perk-price"]


def test_without_a_snapshot_the_call_moves_nobody() -> None:
    tasks, truth = _world({"unknown": {}}, 2000)
    blank = tasks.with_columns(days_since_last=pl.lit(None, dtype=pl.Int64))
    assert not simulate_contacts(blank, truth, seed=5, response="large")["won_back"].any()
    bare = tasks.drop("days_since_last", "expected_interval_days", "p_alive")
    assert not simulate_contacts(bare, truth, seed=5, response="large")["won_back"].any()


def test_realistic_is_a_fraction_of_large_and_the_world_sets_the_level() -> None:
    tasks, truth = _world({"peak": {}}, 6000)
    realistic = _won_share(tasks, simulate_contacts(tasks, truth, seed=6))["peak"]
    large = _won_share(tasks, simulate_contacts(tasks, truth, seed=6, response="large"))["peak"]
    assert 0.01 < realistic < large / 2
    recorded = truth.with_columns(response=pl.lit("large"))
    from_world = _won_share(tasks, simulate_contacts(tasks, recorded, seed=6))["peak"]
    assert from_world == large
    assert truth_response(recorded) == "large"
    assert truth_response(recorded, "realistic") == "realistic"
    assert truth_response(truth) == "realistic"
    with pytest.raises(ValueError, match="response"):
        simulate_contacts(tasks, truth, seed=6, response="huge")


def test_the_same_seed_plays_the_same_calls() -> None:
    tasks, truth = _world({"peak": {}, "late": {"lateness": 6.0}}, 1500)
    first = simulate_contacts(tasks, truth, seed=7, response="large")
    assert first.equals(simulate_contacts(tasks, truth, seed=7, response="large"))
    other = simulate_contacts(tasks, truth, seed=8, response="large")
    assert not first["won_back"].equals(other["won_back"])


def test_customers_who_come_back_anyway_get_no_added_purchase() -> None:
    from winback.simulate.agents import return_orders

    tasks, truth = _world({"peak": {}}, 3000, respond=1.0)
    anyway = (tasks["task_id"] % 2 == 0).alias("returns_anyway")
    tasks = tasks.with_columns(anyway)
    contacts = simulate_contacts(tasks, truth, seed=9, response="large")
    won = set(contacts.filter("won_back")["task_id"].to_list())
    orders = return_orders(contacts, tasks, truth, round_start=START, seed=10)
    bought = set(orders["task_id"].to_list())
    returning = set(tasks.filter("returns_anyway")["task_id"].to_list())
    assert won & returning, "customers who return anyway can still say yes on the call"
    assert not bought & returning
    assert bought <= won - returning
    assert len(bought) > 0.9 * len(won - returning)  # some first purchases fall past 90 days
    assert orders["order_date"].max() <= START + timedelta(days=89)
    assert np.all(orders["simulated"].to_numpy())


def test_offer_multiplier_reads_menus_without_any_offer() -> None:
    """A round whose budget funded no priced offer presents none: every multiplier is 1."""
    import numpy as np

    from winback.simulate.response import offer_multiplier

    none = np.array([None, None, None], dtype=object)
    assert offer_multiplier(none, [True, False, True], ["price", "perk", None]).tolist() == [
        1.0,
        1.0,
        1.0,
    ]

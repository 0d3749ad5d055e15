"""The report's arithmetic on small hand-made frames, with results worked out by hand."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from winback.reporting import metrics

from . import rounds_world

FLOW_SCHEMA = {"from": pl.String(), "to": pl.String(), "customers": pl.Int64()}


def flow(rows: list[tuple[str, str, int]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=FLOW_SCHEMA, orient="row")


def test_month_window_and_month_arithmetic() -> None:
    w = metrics.month_window(date(2024, 2, 17))
    assert (w.start, w.end) == (date(2024, 2, 1), date(2024, 2, 29))
    assert w.previous_start == date(2024, 1, 1)
    assert w.next_end == date(2024, 3, 31)
    assert w.label == "2024-02"
    assert metrics.month_window(date(2023, 12, 31)).next_end == date(2024, 1, 31)


def test_an_analysis_on_the_first_closes_the_previous_month() -> None:
    days = [date(2024, 5, 1), date(2024, 5, 20), date(2024, 6, 1), date(2024, 6, 30)]
    # 05-01 closes April; 05-20 and 06-01 both fall in May (the later wins); 06-30 is June.
    assert metrics.month_end_runs(days) == [date(2024, 5, 1), date(2024, 6, 1), date(2024, 6, 30)]


def test_flow_counts_newly_lost_and_won_back() -> None:
    table = flow(
        [
            ("active", "lost", 2),
            ("silent", "lost", 3),
            ("lost", "lost", 50),
            ("new", "lost", 1),
            ("sleeping", "active", 4),
            ("lost", "active", 6),
            ("silent", "active", 9),  # silent -> active is not a win-back of a lapsed customer
        ]
    )
    assert metrics.flow_counts(table) == {"newly_lost": 6, "won_back": 10, "net": 4}


def test_kpi_table_changes() -> None:
    now = {"stage": {"active": 10, "lost": 5}, "status": {"active": 9, "lost": 6}}
    before = {"stage": {"active": 8, "lost": 4}, "status": {"active": 7, "lost": 5}}
    table = metrics.kpi_table(now, before, None)
    row = table.filter(pl.col("kpi") == "customers").row(0, named=True)
    assert (row["value"], row["previous"], row["change_previous"]) == (15, 12, 3)
    assert row["change_year"] is None
    lost = table.filter(pl.col("kpi") == "lost").row(0, named=True)
    assert lost["change_previous"] == 1


def test_pareto_shares() -> None:
    # Ten buyers: one spends 60, nine spend 5 each (total 105); top 10% = 1 buyer = 60/105.
    revenue = pl.DataFrame(
        {"customer_pk": list(range(11)), "amount_cents": [6000] + [500] * 9 + [0]}
    )
    result = metrics.pareto(revenue)
    assert result["buyers"] == 10
    top = dict(zip(*result["table"].select("top_share", "revenue_share"), strict=True))
    assert top[0.1] == pytest.approx(60 / 105)
    assert top[0.2] == pytest.approx(65 / 105)
    # 80% of 105 = 84: 60 + 5 * 5 = 85 needs six buyers.
    assert result["customers_for_80"] == 6


def test_early_warning_precision_against_base_rate() -> None:
    frame = pl.DataFrame(
        {
            "flagged": [True, True, False, False],
            "lapsed": [True, False, True, False],
            "customers": [12, 28, 8, 152],
        }
    )
    e = metrics.early_warning_precision(frame)
    assert e["precision"] == pytest.approx(12 / 40)
    assert e["base_rate"] == pytest.approx(20 / 200)
    assert e["lift"] == pytest.approx(3.0)
    assert e["recall"] == pytest.approx(12 / 20)


def test_tier_movements_count_up_and_down() -> None:
    table = flow([("2", "1", 3), ("1", "3", 4), ("3", "3", 10), ("new", "2", 5), ("none", "4", 1)])
    t = metrics.tier_movements(table)
    assert (t["up"], t["down"], t["same"]) == (3, 4, 10)


def test_verdict_reads_matured_rounds_only_each_at_its_pre_registered_horizon() -> None:
    statuses = [
        rounds_world.status(1, "2024-01", uplift=0.15, cost=500.0, seed=1),
        # Not matured: a huge effect so far must not enter the verdict.
        rounds_world.status(2, "2024-02", uplift=0.6, matured=False, seed=2),
    ]
    table = metrics.estimate_table(statuses)
    v = metrics.verdict(table)
    assert (v["rounds"], v["rounds_total"]) == (1, 2)
    assert v["n_control"] == statuses[0]["estimate"]["n_control"]
    assert v["net"] == pytest.approx(statuses[0]["estimate"]["net"], rel=1e-9)
    assert v["decision"] in ("continue", "stop", "not_yet_known")
    assert v["horizons"] == [90]


def test_verdict_is_continue_stop_or_not_yet_known_with_what_is_needed() -> None:
    def decide(*statuses: dict[str, object], pace: float | None = None) -> dict[str, object]:
        return metrics.verdict(metrics.estimate_table(list(statuses)), controls_per_month=pace)

    big = [rounds_world.status(k, f"2024-0{k}", uplift=0.2, cost=100.0, seed=k) for k in (1, 2)]
    assert decide(*big)["decision"] == "continue"
    costly = [rounds_world.status(k, f"2024-0{k}", cost=1e6, seed=k) for k in (1, 2)]
    assert decide(*costly)["decision"] == "stop"
    none = decide()
    assert (none["decision"], none["reason"], none["net"]) == (
        "not_yet_known",
        "no_matured_rounds",
        None,
    )
    # A real but small effect on few customers: not yet known, with customers and months needed.
    small = rounds_world.status(1, "2024-01", uplift=0.1, n_treated=270, n_control=30, seed=4)
    v = decide(small, pace=30.0)
    assert v["decision"] == "not_yet_known"
    assert v["net_low"] < 0 < v["net"]
    assert v["needed_controls"] > 0
    assert v["months_needed"] == -(-v["needed_controls"] // 30)


def test_latest_matured_is_the_pre_registered_look() -> None:
    status = rounds_world.status(1, "2024-01", seed=3)
    early = {**status["horizons"][0], "horizon": 30}
    looks = metrics.round_table([{**status, "horizons": [early, *status["horizons"]]}])
    assert looks.filter(pl.col("primary"))["horizon"].to_list() == [90]
    assert metrics.latest_matured(looks)["horizon"].to_list() == [90]


def test_controls_per_month_is_the_pace_since_the_first_round() -> None:
    table = metrics.estimate_table(
        [rounds_world.status(k, f"2024-0{k}", n_control=60, seed=k) for k in (1, 2)]
    )
    # 120 control customers from January to April: 30 a month.
    assert metrics.controls_per_month(table, metrics.month_window(date(2024, 4, 30))) == 30.0


def test_agent_effort_reach_rate() -> None:
    frame = pl.DataFrame(
        {
            "agent": ["a", "a", "b", "b"],
            "outcome": ["reached", "not_reached", "refused", "wrong_number"],
            "simulated": [True, True, False, False],
            "attempts": [6, 4, 3, 1],
            "tasks": [5, 4, 3, 1],
            "tasks_returned": [2, 0, 0, 0],
        }
    )
    a = metrics.agent_effort(frame)
    assert a["contacts"] == 14
    assert a["reach_rate"] == pytest.approx(9 / 14)
    rates = dict(zip(*a["table"].select("agent", "reach_rate"), strict=True))
    assert rates == {"a": pytest.approx(0.6), "b": pytest.approx(0.75)}
    assert a["simulated"] == 10


def test_data_quality_counts_each_batch_once() -> None:
    imports = pl.DataFrame(
        {
            "batch_id": [1, 1, 2],
            "kind": ["orders", "orders", "events"],
            "read": [100, 100, 50],
            "rejected": [5, 5, 0],
            "cause": ["bad_date", "bad_amount", ""],
            "rows": [2, 3, 0],
        }
    )
    q = metrics.data_quality(imports)
    assert (q["read"], q["rejected"], q["batches"]) == (150, 5, 2)
    assert dict(zip(*q["by_cause"].select("cause", "rows"), strict=True)) == {
        "bad_amount": 3,
        "bad_date": 2,
    }


def test_the_hoped_for_effect_sizes_what_is_needed_when_the_estimate_is_near_zero() -> None:
    """No true effect: the estimate sits near zero, so only the hoped-for effect (as net margin
    per treated customer) can say how many more customers a decision needs."""
    statuses = [
        rounds_world.status(k, f"2024-0{k}", n_treated=270, n_control=30, cost=27.0, seed=k + 2)
        for k in (1, 2)
    ]
    looks, table = metrics.round_table(statuses), metrics.estimate_table(statuses)
    primary = [h for s in statuses for h in s["horizons"] if h["horizon"] == 90]
    returners = sum(h["returned_control"] for h in primary)
    spent = sum(h["spend_control"] * h["n_control"] for h in primary)
    expected = 0.04 * (spent / returners) * 0.35 - 54.0 / 540
    hoped = metrics.hoped_net_per_treated(looks, table, 0.04, 0.35)
    assert hoped == pytest.approx(expected, rel=1e-9)

    without = metrics.verdict(table, controls_per_month=30.0)
    with_hope = metrics.verdict(table, controls_per_month=30.0, hoped_effect=hoped)
    assert without["decision"] == with_hope["decision"] == "not_yet_known"
    assert without["needed_controls"] is None  # the estimate is within one s.e. of zero
    assert with_hope["needed_controls"] > 0
    assert with_hope["months_needed"] == -(-with_hope["needed_controls"] // 30)
    # An effect that cannot pay for the contacts sizes nothing.
    assert metrics.hoped_net_per_treated(looks, table, 1e-6, 0.35) is None
    assert metrics.hoped_net_per_treated(looks, table.head(0), 0.04, 0.35) is None

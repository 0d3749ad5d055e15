"""The report's arithmetic on small hand-made frames, with results worked out by hand."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from winback.reporting import metrics

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


def round_status(round_id: int, month: str, rows: list[dict[str, object]]) -> dict[str, object]:
    return {"round_id": round_id, "month": month, "horizons": rows, "simulated": False}


def horizon(
    h: int, matured: bool, n: tuple[int, int], x: tuple[int, int], margin: float, cost: float
) -> dict[str, object]:
    return {
        "horizon": h,
        "matured": matured,
        "n_treated": n[0],
        "n_control": n[1],
        "returned_treated": x[0],
        "returned_control": x[1],
        "incremental_margin": margin,
        "cost": cost,
    }


def test_verdict_uses_each_rounds_latest_matured_horizon() -> None:
    rounds = metrics.round_table(
        [
            round_status(
                1,
                "2024-01",
                [
                    horizon(30, True, (400, 400), (40, 20), 500.0, 100.0),
                    horizon(90, True, (400, 400), (120, 60), 3000.0, 200.0),
                ],
            ),
            round_status(2, "2024-02", [horizon(30, False, (100, 100), (90, 0), 9e9, 1.0)]),
        ]
    )
    v = metrics.verdict(rounds)
    assert v["rounds_matured"] == 1
    assert (v["p_treated"], v["p_control"]) == (0.3, 0.15)
    assert v["net"] == pytest.approx(2800.0)
    assert v["uplift_low"] > 0
    assert v["decision"] == "continue"


def test_verdict_asks_for_more_customers_when_the_interval_holds_zero() -> None:
    rounds = metrics.round_table(
        [round_status(1, "2024-01", [horizon(90, True, (50, 10), (10, 1), 900.0, 100.0)])]
    )
    v = metrics.verdict(rounds)
    assert v["uplift_low"] < 0 < v["uplift"]
    assert v["decision"] == "promising"
    # 0.2 vs 0.1: (1.96 + 0.84)^2 * (0.16 + 0.09) / 0.01 = 196.2 -> 197 per group.
    assert v["needed_per_arm"] == 197


def test_verdict_stop_when_it_costs_more_and_does_nothing() -> None:
    rounds = metrics.round_table(
        [round_status(1, "2024-01", [horizon(90, True, (2000, 2000), (100, 300), -50.0, 900.0)])]
    )
    assert metrics.verdict(rounds)["decision"] == "stop"


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

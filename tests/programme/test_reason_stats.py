"""Monthly reason statistics and the department action list (R4, R6)."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from winback.programme.playbooks import Playbooks
from winback.programme.reason_stats import (
    department_actions,
    monthly_reason_stats,
    unmapped_reason_codes,
)
from winback.programme.taxonomy import Taxonomy

T = Taxonomy.default()


def _records() -> pl.DataFrame:
    rows = [
        # May 2024: 10 observations - poor_results 5, budget_cut 2, life_change 1, price 2
        *[(i, date(2024, 5, 3), "poor_results") for i in range(1, 6)],
        (1, date(2024, 5, 20), "poor_results"),  # same customer, same reason: counted once
        (6, date(2024, 5, 4), "budget_cut"),
        (7, date(2024, 5, 5), "budget_cut"),
        (8, date(2024, 5, 31), "life_change"),
        (9, date(2024, 5, 6), "price"),
        (1, date(2024, 5, 6), "price"),
        # April 2024: 4 observations - poor_results 1, price 3
        (20, date(2024, 4, 1), "poor_results"),
        *[(i, date(2024, 4, 30), "price") for i in (21, 22, 23)],
        # March and June are ignored
        (30, date(2024, 3, 31), "attitude"),
        (31, date(2024, 6, 1), "attitude"),
    ]
    return pl.DataFrame(
        rows,
        schema={"customer_pk": pl.Int64(), "recorded_date": pl.Date(), "reason_code": pl.String()},
        orient="row",
    )


def test_shares_and_change_against_the_previous_month() -> None:
    stats = monthly_reason_stats(_records(), date(2024, 5, 17), T)
    reasons = {
        r["code"]: r for r in stats.filter(pl.col("level") == "reason").iter_rows(named=True)
    }
    assert len(reasons) == len(T.codes)  # zeros included
    assert reasons["poor_results"]["count"] == 5
    assert reasons["poor_results"]["share"] == pytest.approx(0.5)
    assert reasons["poor_results"]["prev_share"] == pytest.approx(0.25)
    assert reasons["poor_results"]["change"] == pytest.approx(0.25)
    assert reasons["price"]["change"] == pytest.approx(0.2 - 0.75)
    assert reasons["attitude"]["count"] == 0
    assert reasons["attitude"]["prev_count"] == 0
    groups = {r["code"]: r for r in stats.filter(pl.col("level") == "group").iter_rows(named=True)}
    assert groups["our_fault"]["share"] == pytest.approx(0.7)
    assert groups["outside"]["share"] == pytest.approx(0.2)
    assert groups["need_gone"]["share"] == pytest.approx(0.1)
    assert sum(g["share"] for g in groups.values()) == pytest.approx(1.0)


def test_unknown_stored_codes_are_left_out_and_listed_for_review() -> None:
    ghost = pl.DataFrame(
        {
            "customer_pk": [1, 2],
            "recorded_date": [date(2024, 5, 1)] * 2,
            "reason_code": ["ghost"] * 2,
        },
        schema={"customer_pk": pl.Int64(), "recorded_date": pl.Date(), "reason_code": pl.String()},
    )
    with_ghost = monthly_reason_stats(pl.concat([_records(), ghost]), date(2024, 5, 1), T)
    assert with_ghost.equals(monthly_reason_stats(_records(), date(2024, 5, 1), T))
    assert "ghost" not in with_ghost["code"].to_list()
    review = unmapped_reason_codes(pl.concat([_records(), ghost]), T)
    assert review.rows() == [("ghost", 2)]


def test_department_action_list_follows_the_playbooks() -> None:
    stats = monthly_reason_stats(_records(), date(2024, 5, 1), T)
    actions = department_actions(stats, Playbooks.default(), T)
    first = actions.row(0, named=True)
    assert (first["department"], first["reason_code"], first["action"]) == (
        "product",
        "poor_results",
        "results_review",
    )
    pricing = actions.filter(pl.col("department") == "pricing_merchandising")
    # price (2) and budget_cut (2) are both owned by pricing and merchandising.
    assert set(pricing["reason_code"].to_list()) == {"price", "budget_cut"}
    assert pricing["department_count"][0] == 4
    assert pricing["department_rank"][0] == 2  # after product (5 observations)
    assert actions["department"].to_list()[-1] == "crm"  # life_change, 1 observation
    # Moving price to marketing moves the action.
    moved = Playbooks.default().merge(
        {"playbooks": [{"reason": "price", "department": "marketing"}]}
    )
    again = department_actions(stats, moved, T)
    assert again.filter(pl.col("reason_code") == "price")["department"][0] == "marketing"

"""Monitoring maths: intervals, outcomes, effects, cost, retirement (R7)."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from winback.programme.attribution import (
    CostRates,
    bootstrap_mean_diff,
    effects_by_segment,
    newcombe_interval,
    retirement,
    round_effects,
    round_outcomes,
    wilson_interval,
)

# Newcombe (1998) Stat Med 17:873-890, Table II, method 10 (hybrid score, no continuity
# correction): (x1, n1, x2, n2) -> (lower, upper).
NEWCOMBE_TABLE_II = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((6, 7, 2, 7), (0.0582, 0.8062)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
    ((10, 10, 0, 10), (0.6075, 1.0000)),
]


@pytest.mark.parametrize(("counts", "expected"), NEWCOMBE_TABLE_II)
def test_newcombe_interval_matches_the_published_examples(
    counts: tuple[int, int, int, int], expected: tuple[float, float]
) -> None:
    d, lo, hi = newcombe_interval(*counts)
    assert float(d) == pytest.approx(counts[0] / counts[1] - counts[2] / counts[3])
    assert float(lo) == pytest.approx(expected[0], abs=5e-5)
    assert float(hi) == pytest.approx(expected[1], abs=5e-5)


def test_wilson_interval_matches_published_values() -> None:
    # Newcombe (1998) Stat Med 17:857-872, Table I, method 3 (score, no correction).
    lo, hi = wilson_interval([81, 0, 1], [263, 20, 29])
    assert lo == pytest.approx([0.2553, 0.0, 0.0061], abs=5e-5)
    assert hi == pytest.approx([0.3662, 0.1611, 0.1718], abs=5e-5)


def test_newcombe_interval_covers_the_true_difference_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(2024)
    sims, n_t, n_c, p_t, p_c = 20_000, 900, 100, 0.12, 0.08
    x_t = rng.binomial(n_t, p_t, sims)
    x_c = rng.binomial(n_c, p_c, sims)
    _, lo, hi = newcombe_interval(x_t, n_t, x_c, n_c)
    coverage = np.mean((lo <= p_t - p_c) & (p_t - p_c <= hi))
    assert 0.935 <= coverage <= 0.965  # nominal 0.95; Monte Carlo sd ~ 0.0015


def test_bootstrap_interval_is_seeded_and_agrees_with_normal_theory_on_large_samples() -> None:
    rng = np.random.default_rng(1)
    t = rng.exponential(100.0, 4000)
    c = rng.exponential(90.0, 3000)
    a = bootstrap_mean_diff(t, c, seed=5, n_boot=1500)
    assert a == bootstrap_mean_diff(t, c, seed=5, n_boot=1500)
    assert a != bootstrap_mean_diff(t, c, seed=6, n_boot=1500)
    se = np.sqrt(t.var(ddof=1) / t.size + c.var(ddof=1) / c.size)
    diff = t.mean() - c.mean()
    assert a[0] == pytest.approx(diff)
    assert a[1] == pytest.approx(diff - 1.96 * se, abs=0.15 * 1.96 * se)
    assert a[2] == pytest.approx(diff + 1.96 * se, abs=0.15 * 1.96 * se)


def _d(month: int, day: int) -> date:
    return date(2024, month, day)


START = _d(6, 1)


def _arms() -> pl.DataFrame:
    return pl.DataFrame(
        {"customer_pk": [1, 2, 3, 4, 5, 6], "arm": ["treated"] * 4 + ["control"] * 2}
    )


def _orders() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_pk": [1, 1, 2, 3, 5, 6],
            "order_date": [_d(6, 10), _d(7, 20), _d(8, 25), _d(5, 30), _d(6, 30), _d(7, 1)],
            "amount_cents": [10000, 5000, 20000, 9900, 3000, -1000],
            "coupon_code": ["WB10", None, None, None, None, None],
        }
    )


def test_outcomes_per_customer_and_horizon() -> None:
    lines = pl.DataFrame(
        {
            "customer_pk": [1, 2],
            "order_date": [_d(6, 10), _d(8, 25)],
            "category_code": ["skin", "hair"],
        }
    )
    events = pl.DataFrame(
        {
            "customer_pk": [4, 3],
            "occurred_date": [_d(6, 15), _d(6, 2)],
            "event_type": ["forum_post", "complaint"],
        }
    )
    offers = pl.DataFrame(
        {
            "customer_pk": [1, 2],
            "offer_code": ["WB10", "X"],
            "category_code": ["skin", "skin"],
            "offer_cost": [10.0, 20.0],
        }
    )
    out = round_outcomes(
        _arms(),
        round_start=START,
        orders=_orders(),
        lines=lines,
        events=events,
        offers_made=offers,
    )
    h30 = {r["customer_pk"]: r for r in out.filter(pl.col("horizon") == 30).iter_rows(named=True)}
    h90 = {r["customer_pk"]: r for r in out.filter(pl.col("horizon") == 90).iter_rows(named=True)}
    # Customer 1 bought on day 9 with the offer's coupon, in the promised category.
    assert h30[1]["came_back"]
    assert h30[1]["offer_redeemed"]
    assert h30[1]["category_matched"]
    assert h30[1]["spend"] == 100.0
    assert h90[1]["spend"] == 150.0
    # Customer 2 came back on day 85, outside the promised category, without the coupon.
    assert not h30[2]["came_back"]
    assert h90[2]["came_back"]
    assert h90[2]["offer_redeemed"] is False
    assert h90[2]["category_matched"] is False
    # Customer 3 bought before the round (ignored); a complaint is not re-engagement.
    assert not h90[3]["came_back"]
    assert not h90[3]["re_engaged"]
    assert h30[3]["offer_redeemed"] is None  # nothing was offered
    # Customer 4 engaged without buying.
    assert h30[4]["re_engaged"]
    assert not h30[4]["came_back"]
    # Day 29 is inside +30; a refund alone is not a return but counts in spend.
    assert h30[5]["came_back"]
    assert not h30[6]["came_back"]
    assert h90[6]["spend"] == -10.0


def test_outcomes_mark_unfinished_horizons() -> None:
    out = round_outcomes(_arms(), round_start=START, orders=_orders(), as_of=_d(7, 15))
    matured = dict(out.group_by("horizon").agg(pl.col("matured").all()).iter_rows())
    assert matured == {30: True, 60: False, 90: False}
    h60 = out.filter((pl.col("horizon") == 60) & (pl.col("customer_pk") == 1)).row(0, named=True)
    assert h60["spend"] == 100.0  # the order of 20 July is after as_of


def test_round_effects_by_hand() -> None:
    offers = pl.DataFrame(
        {"customer_pk": [1, 2], "offer_code": ["WB10", "X"], "offer_cost": [10.0, 20.0]}
    )
    outcomes = round_outcomes(_arms(), round_start=START, orders=_orders(), offers_made=offers)
    contacts = pl.DataFrame(
        {
            "customer_pk": [1, 1, 2, 5],
            "occurred_date": [_d(6, 3)] * 4,
            "minutes": [4.0, None, 10.0, 99.0],
        }
    )
    rates = CostRates(call_minutes=6.0, minute_cost=2.0, gross_margin=0.5)
    eff = round_effects(
        outcomes, seed=1, rates=rates, contacts=contacts, offers_made=offers, n_boot=200
    )
    row = eff.filter(pl.col("horizon") == 90).row(0, named=True)
    # Treated 1, 2, 3, 4: customers 1 and 2 came back; control 5 and 6: customer 5.
    assert (row["n_treated"], row["returned_treated"]) == (4, 2)
    assert (row["n_control"], row["returned_control"]) == (2, 1)
    assert row["uplift"] == pytest.approx(0.0)
    # Spend per customer: treated (150 + 200 + 0 + 0) / 4, control (30 - 10) / 2.
    assert row["revenue_uplift"] == pytest.approx(87.5 - 10.0)
    # Agent time: treated contacts only, 4 + 6 (default) + 10 minutes at 2 per minute.
    assert row["agent_cost"] == pytest.approx(40.0)
    assert row["offer_cost"] == pytest.approx(10.0)  # only customer 1 redeemed
    margin = 77.5 * 4 * 0.5
    assert row["incremental_margin"] == pytest.approx(margin)
    assert row["roi"] == pytest.approx((margin - 50.0) / 50.0)
    assert row["offer_redemption_rate"] == pytest.approx(0.5)


def test_effects_by_segment_equal_the_interval_per_segment() -> None:
    outcomes = round_outcomes(_arms(), round_start=START, orders=_orders())
    segments = pl.DataFrame(
        {
            "customer_pk": [1, 2, 3, 4, 5, 6],
            "stage": ["lost", "lost", "silent", "silent", "lost", "silent"],
        }
    )
    out = effects_by_segment(outcomes, segments, "stage", horizon=90)
    lost = out.filter(pl.col("stage") == "lost").row(0, named=True)
    _, lo, hi = newcombe_interval(2, 2, 1, 1)
    assert (lost["returned_treated"], lost["n_treated"]) == (2, 2)
    assert lost["uplift_low"] == pytest.approx(float(lo))
    assert lost["uplift_high"] == pytest.approx(float(hi))


def test_retirement_counts_worked_rounds_since_the_last_return() -> None:
    def m(pk: int, month: int, arm: str, returned: bool | None) -> dict[str, object]:
        return {
            "customer_pk": pk,
            "round_id": f"2024-{month:02d}",
            "starts": _d(month, 1),
            "ends": _d(month, 28),
            "arm": arm,
            "returned": returned,
        }

    memberships = pl.DataFrame(
        [
            m(1, 1, "treated", False),
            m(1, 2, "treated", False),
            m(1, 3, "treated", False),
            m(2, 1, "treated", False),
            m(2, 2, "treated", True),
            m(2, 3, "treated", False),
            m(2, 4, "treated", False),
            m(3, 1, "control", False),
            m(3, 2, "treated", False),
            m(3, 3, "treated", None),
            m(4, 1, "treated", False),
            m(4, 2, "treated", False),
            m(4, 6, "treated", False),
        ]
    )
    out = retirement(memberships, retire_after=3, as_of=_d(5, 31))
    assert out.rows() == [(1, 3, True), (2, 2, False), (3, 1, False), (4, 2, False)]


def test_bootstrap_of_mostly_zero_spend_matches_the_plain_resampling() -> None:
    """The bootstrap draws only the non-zero values (Binomial count, then uniform picks): its
    resample means have the plain bootstrap's distribution (mean, spread and tails of a
    92%-zero spend), and all-zero arms give a zero-width interval at zero."""
    from winback.programme.attribution import _boot_means

    rng = np.random.default_rng(3)
    spend = np.where(rng.random(3000) < 0.08, rng.lognormal(5.0, 0.8, 3000), 0.0)
    fast = _boot_means(spend, 2000, np.random.default_rng(1), 4_000_000)
    draws = np.random.default_rng(2).integers(0, spend.size, size=(2000, spend.size))
    plain = spend[draws].mean(axis=1)
    se = spend.std(ddof=0) / np.sqrt(spend.size)
    assert fast.mean() == pytest.approx(spend.mean(), abs=0.1 * se)
    assert fast.std() == pytest.approx(se, rel=0.06)
    for q in (0.025, 0.5, 0.975):
        assert np.quantile(fast, q) == pytest.approx(np.quantile(plain, q), abs=0.25 * se)
    # a small chunk gives the same kind of draws (the chunks are only a memory bound)
    small = _boot_means(spend, 2000, np.random.default_rng(1), 1000)
    assert small.std() == pytest.approx(se, rel=0.06)
    zeros = np.zeros(300)
    assert bootstrap_mean_diff(zeros, zeros, seed=1, n_boot=200) == (0.0, 0.0, 0.0)


def test_one_resampling_serves_every_horizon() -> None:
    """The looks' spend intervals come from one resampling of the customers for all horizons:
    each column's interval is the one a resampling of that column alone gives (within Monte
    Carlo error), and a column equal to another gets the very same interval."""
    from winback.programme.attribution import bootstrap_mean_diffs

    rng = np.random.default_rng(4)
    base_t = np.where(rng.random(4000) < 0.1, rng.lognormal(5.0, 0.7, 4000), 0.0)
    base_c = np.where(rng.random(600) < 0.07, rng.lognormal(5.0, 0.7, 600), 0.0)
    # spend grows with the horizon: +30 days is part of +60, +60 of +90
    t = np.column_stack([base_t * 0.4, base_t * 0.7, base_t])
    c = np.column_stack([base_c * 0.4, base_c * 0.7, base_c])
    est, lo, hi = bootstrap_mean_diffs(t, c, seed=3, n_boot=1500)
    assert est == pytest.approx(t.mean(axis=0) - c.mean(axis=0))
    for j in range(3):
        alone = bootstrap_mean_diff(t[:, j], c[:, j], seed=11, n_boot=1500)
        width = alone[2] - alone[1]
        assert lo[j] == pytest.approx(alone[1], abs=0.1 * width)
        assert hi[j] == pytest.approx(alone[2], abs=0.1 * width)
    # proportional columns, one resampling: the intervals scale exactly
    assert lo[0] == pytest.approx(0.4 * lo[2])
    assert hi[1] == pytest.approx(0.7 * hi[2])
    twice = np.column_stack([base_t, base_t]), np.column_stack([base_c, base_c])
    same = bootstrap_mean_diffs(*twice, seed=3, n_boot=200)
    assert same[1][0] == pytest.approx(same[1][1])

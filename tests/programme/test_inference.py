"""Decision-grade measurement: intervals, CUPED, round estimates, pooling, the verdict."""

from __future__ import annotations

import json
import math

import numpy as np
import polars as pl
import pytest
import scipy.stats as st
from hypothesis import given, settings
from hypothesis import strategies as hs

from winback.programme.attribution import newcombe_interval
from winback.programme.inference import (
    DECISIONS,
    INTERVAL_METHODS,
    cuped,
    mean_diff_interval,
    mean_diff_summary,
    mixture_halfwidth,
    net_margin_sequence,
    pool_rounds,
    programme_verdict,
    round_cost,
    round_estimate,
    tuned_tau2,
    verdict_inputs,
    welch_from_moments,
)

GM = 0.35


def spend_arm(rng: np.random.Generator, n: int, rate: float, sigma: float = 1.5) -> np.ndarray:
    """Zero unless the customer came back, then log-normal with mean 300."""
    came = rng.random(n) < rate
    return np.where(came, rng.lognormal(np.log(300) - sigma**2 / 2, sigma, n), 0.0)


def round_frame(
    rng: np.random.Generator, n_control: int, uplift: float, *, pre: bool = True
) -> pl.DataFrame:
    n = 10 * n_control
    treated = np.arange(n) >= n_control
    p = rng.beta(1.0, 9.0, n)
    level = rng.lognormal(np.log(300) - 0.5, 1.0, n)
    came = rng.random(n) < p + uplift * treated
    visits = rng.poisson(6 * p)
    data = {
        "arm": np.where(treated, "treated", "control"),
        "came_back": came,
        "spend": np.where(came, level * rng.gamma(4, 0.25, n), 0.0),
    }
    if pre:
        data["pre_spend"] = visits * level
        data["pre_visits"] = visits.astype(float)
    return pl.DataFrame(data)


# --- difference of means ----------------------------------------------------------------------


def test_welch_matches_scipy() -> None:
    rng = np.random.default_rng(7)
    t, c = rng.lognormal(0, 1, 80), rng.lognormal(0.2, 1.3, 25)
    est, lo, hi = mean_diff_interval(t, c, seed=0, method="welch")
    ref = st.ttest_ind(t, c, equal_var=False).confidence_interval(0.95)
    assert est == pytest.approx(t.mean() - c.mean())
    assert (lo, hi) == pytest.approx((ref.low, ref.high), rel=1e-9)


def test_bca_agrees_with_scipy_bootstrap() -> None:
    rng = np.random.default_rng(11)
    t, c = rng.lognormal(0, 1, 120), rng.lognormal(0, 1, 40)
    _, lo, hi = mean_diff_interval(t, c, seed=3, n_boot=20_000, method="bca")
    ref = st.bootstrap(
        (t, c),
        lambda x, y, axis=-1: x.mean(axis=axis) - y.mean(axis=axis),
        method="BCa",
        n_resamples=20_000,
        random_state=5,
        vectorized=True,
    ).confidence_interval
    width = ref.high - ref.low
    assert lo == pytest.approx(ref.low, abs=0.05 * width)
    assert hi == pytest.approx(ref.high, abs=0.05 * width)


def test_floored_welch_keeps_coverage_with_30_skewed_controls() -> None:
    # Zero-inflated log-normal spend (10% return, sigma 1.5), 30 controls and 270 treated,
    # no effect: plain Welch undercovers, the floored variance keeps >= 93%.
    rng = np.random.default_rng(2026)
    sims, n_c = 4000, 30
    t = spend_arm(rng, sims * 9 * n_c, 0.10).reshape(sims, 9 * n_c)
    c = spend_arm(rng, sims * n_c, 0.10).reshape(sims, n_c)
    args = (9 * n_c, t.mean(1), t.var(1, ddof=1), n_c, c.mean(1), c.var(1, ddof=1))
    cover = {}
    for floor in (False, True):
        lo, hi, _ = welch_from_moments(*args, floor=floor)
        cover[floor] = float(np.mean((lo <= 0) & (hi >= 0)))
    assert cover[True] >= 0.93
    assert cover[False] < 0.93


def test_bootstrap_is_memory_bounded_and_seeded() -> None:
    rng = np.random.default_rng(1)
    t, c = spend_arm(rng, 5000, 0.2), spend_arm(rng, 500, 0.1)
    small = mean_diff_interval(t, c, seed=9, n_boot=300, method="percentile", chunk_elements=7000)
    large = mean_diff_interval(t, c, seed=9, n_boot=300, method="percentile")
    assert small[0] == large[0]
    assert small == mean_diff_interval(
        t, c, seed=9, n_boot=300, method="percentile", chunk_elements=7000
    )


def test_empty_arm_gives_nan_and_unknown_method_is_refused() -> None:
    assert all(math.isnan(v) for v in mean_diff_interval([], [1.0, 2.0], seed=0))
    with pytest.raises(ValueError, match="unknown interval"):
        mean_diff_interval([1.0], [1.0], seed=0, method="magic")  # type: ignore[arg-type]


arms = hs.lists(hs.one_of(hs.just(0.0), hs.floats(0.01, 5000.0)), min_size=3, max_size=60).filter(
    lambda xs: len(set(xs)) > 1
)


@settings(max_examples=30, deadline=None)
@given(t=arms, c=arms, method=hs.sampled_from(INTERVAL_METHODS))
def test_intervals_contain_the_estimate_and_widen_with_the_level(
    t: list[float], c: list[float], method: str
) -> None:
    narrow = mean_diff_interval(t, c, seed=1, level=0.80, n_boot=400, method=method)  # type: ignore[arg-type]
    wide = mean_diff_interval(t, c, seed=1, level=0.99, n_boot=400, method=method)  # type: ignore[arg-type]
    tol = 1e-9 * (1 + abs(narrow[0]))
    if method in ("welch", "welch_floor", "studentized"):
        assert narrow[1] - tol <= narrow[0] <= narrow[2] + tol
    assert wide[1] <= narrow[1] + tol
    assert wide[2] >= narrow[2] - tol


@settings(max_examples=30, deadline=None)
@given(t=arms, c=arms, data=hs.data())
def test_floored_welch_ignores_the_order_of_customers(
    t: list[float], c: list[float], data: hs.DataObject
) -> None:
    t2 = data.draw(hs.permutations(t))
    c2 = data.draw(hs.permutations(c))
    a = mean_diff_interval(t, c, seed=0)
    b = mean_diff_interval(t2, c2, seed=0)
    assert a == pytest.approx(b, rel=1e-9, abs=1e-9)


# --- CUPED ------------------------------------------------------------------------------------


@pytest.mark.parametrize("rho", [0.3, 0.6, 0.9])
def test_cuped_variance_reduction_is_one_minus_rho_squared(rho: float) -> None:
    rng = np.random.default_rng(int(rho * 10))
    n = 200_000
    x = rng.gamma(2.0, 50.0, n)
    z = (x - x.mean()) / x.std()
    y = 100 + 40 * (rho * z + math.sqrt(1 - rho**2) * rng.standard_normal(n))
    theta, adjusted = cuped(y, x)
    assert np.var(adjusted) / np.var(y) == pytest.approx(1 - rho**2, abs=0.01)
    assert theta[0] == pytest.approx(40 * rho / x.std(), rel=0.02)
    assert adjusted.mean() == pytest.approx(y.mean())


def test_cuped_with_two_covariates_is_the_regression_version() -> None:
    rng = np.random.default_rng(5)
    n = 100_000
    x = rng.standard_normal((n, 2)) @ np.array([[1.0, 0.5], [0.0, 1.0]])
    y = 3.0 * x[:, 0] - 2.0 * x[:, 1] + rng.standard_normal(n)
    theta, adjusted = cuped(y, x)
    assert theta == pytest.approx([3.0, -2.0], abs=0.02)
    assert np.var(adjusted) == pytest.approx(1.0, abs=0.02)  # the noise variance


def test_cuped_without_usable_covariates_makes_no_adjustment() -> None:
    y = np.array([0.0, 10.0, 0.0, 250.0, 3.0])
    theta, adjusted = cuped(y, np.column_stack([np.full(5, 7.0), np.full(5, np.nan)]))
    assert list(theta) == [0.0, 0.0]
    assert list(adjusted) == list(y)
    theta, adjusted = cuped(y, np.array([1.0, np.nan, 3.0, 8.0, np.nan]))
    assert np.all(np.isfinite(adjusted))
    assert np.isfinite(theta[0])


# --- one round --------------------------------------------------------------------------------


def test_round_cost_counts_a_discount_once() -> None:
    # A customer buys goods listed at 100 with a 20 discount: pays 80, the goods cost the
    # business 100 x (1 - GM). The margin the spend shows minus the cost must equal that.
    list_price, discount, agent = 100.0, 20.0, 5.0
    paid = list_price - discount
    true_margin = paid - list_price * (1 - GM) - agent
    offers = pl.DataFrame({"kind": ["percent_off"], "offer_cost": [discount]})
    cost = round_cost(agent_cost=agent, redeemed_offers=offers, gross_margin=GM)
    assert GM * paid - cost == pytest.approx(true_margin)
    gift = pl.DataFrame({"kind": ["free_service"], "offer_cost": [12.0]})
    assert round_cost(agent_cost=agent, redeemed_offers=gift, gross_margin=GM) == 17.0
    assert round_cost(agent_cost=agent, gross_margin=GM) == agent


def test_round_estimate_net_and_roi_are_transforms_of_the_revenue_interval() -> None:
    frame = round_frame(np.random.default_rng(3), 200, 0.05)
    est = round_estimate(frame, cost=900.0, gross_margin=GM, seed=1)
    t = frame.filter(pl.col("arm") == "treated")
    c = frame.filter(pl.col("arm") == "control")
    assert (est.n_treated, est.n_control) == (t.height, c.height)
    d, lo, hi = newcombe_interval(
        int(t["came_back"].sum()), t.height, int(c["came_back"].sum()), c.height
    )
    assert (est.return_diff, est.return_low, est.return_high) == pytest.approx((d, lo, hi))
    raw = mean_diff_interval(t["spend"].to_numpy(), c["spend"].to_numpy(), seed=1)
    assert (
        est.revenue_diff_unadjusted,
        est.revenue_low_unadjusted,
        est.revenue_high_unadjusted,
    ) == pytest.approx(raw)
    k = t.height * GM
    assert est.net_low == pytest.approx(k * est.revenue_low - 900.0)
    assert est.net_high == pytest.approx(k * est.revenue_high - 900.0)
    assert est.roi_low == pytest.approx(est.net_low / 900.0)
    assert est.roi_high == pytest.approx(est.net_high / 900.0)
    assert est.cuped
    json.dumps(est.to_dict())


def test_cuped_narrows_the_round_interval_on_average() -> None:
    rng = np.random.default_rng(8)
    ests = [
        round_estimate(round_frame(rng, 100, 0.03), cost=0.0, gross_margin=GM, seed=s)
        for s in range(20)
    ]
    raw = np.mean([e.revenue_width_unadjusted for e in ests])
    adj = np.mean([e.revenue_width for e in ests])
    assert adj < raw


def test_round_without_covariates_or_cost() -> None:
    frame = round_frame(np.random.default_rng(4), 50, 0.0, pre=False)
    est = round_estimate(frame, cost=0.0, gross_margin=GM, seed=1)
    assert not est.cuped
    assert est.revenue_diff == est.revenue_diff_unadjusted
    assert est.roi is None
    assert est.roi_low is None


def test_round_estimate_ignores_the_order_of_customers() -> None:
    frame = round_frame(np.random.default_rng(12), 60, 0.04)
    a = round_estimate(frame, cost=10.0, gross_margin=GM, seed=1)
    b = round_estimate(
        frame.sample(fraction=1.0, shuffle=True, seed=3), cost=10.0, gross_margin=GM, seed=1
    )
    assert a.net_low == pytest.approx(b.net_low)
    assert a.revenue_width == pytest.approx(b.revenue_width)


# --- pooling ----------------------------------------------------------------------------------


def test_pooling_is_stratified_not_a_sum_of_counts() -> None:
    # Two rounds without any effect but with different base rates and control shares: each
    # round's difference is zero, so the stratified pool is zero; summing counts is not.
    rows = []
    for n_t, n_c, rate in ((900, 100, 0.20), (500, 500, 0.05)):
        x_t, x_c = round(n_t * rate), round(n_c * rate)
        d, _, _ = newcombe_interval(x_t, n_t, x_c, n_c)
        rows.append(
            dict(
                n_treated=n_t,
                n_control=n_c,
                returned_treated=x_t,
                returned_control=x_c,
                return_diff=float(d),
                return_var=1e-4,
                revenue_diff=0.0,
                revenue_var=1.0,
                cost=0.0,
                gross_margin=GM,
            )
        )
    frame = pl.DataFrame(rows)
    pooled = pool_rounds(frame)
    assert pooled.return_diff == pytest.approx(0.0, abs=1e-12)
    summed = (
        frame["returned_treated"].sum() / frame["n_treated"].sum()
        - frame["returned_control"].sum() / frame["n_control"].sum()
    )
    assert abs(summed) > 0.05


def test_pooled_net_margin_is_the_sum_of_round_margins_minus_costs() -> None:
    rng = np.random.default_rng(21)
    ests = [
        round_estimate(
            round_frame(rng, 40 * (i + 1), 0.05), cost=100.0 * i, gross_margin=GM, seed=i
        )
        for i in range(3)
    ]
    pooled = pool_rounds(ests)
    assert pooled.net == pytest.approx(sum(e.net for e in ests))
    assert pooled.net_var == pytest.approx(
        sum((e.n_treated * GM) ** 2 * e.revenue_var for e in ests)
    )
    weights = np.array([e.n_treated for e in ests], dtype=float)
    assert pooled.revenue_diff == pytest.approx(
        float(np.average([e.revenue_diff for e in ests], weights=weights))
    )


# --- always-valid looks -----------------------------------------------------------------------


def test_confidence_sequence_keeps_the_error_over_12_looks() -> None:
    # Null: per-round estimates N(0, v_r); at each look the pooled mean and its variance. The
    # always-valid interval excludes zero at any of 12 looks in <= alpha of the sequences; the
    # fixed-sample 95% interval read 12 times does far more often.
    rng = np.random.default_rng(99)
    sims, looks = 20_000, 12
    v = rng.uniform(0.5, 2.0, (1, looks)) * np.ones((sims, 1))
    w = rng.integers(200, 2000, looks).astype(float)
    d = rng.standard_normal((sims, looks)) * np.sqrt(v)
    cw = np.cumsum(w)
    est = np.cumsum(w * d, axis=1) / cw
    var = np.cumsum(w**2 * v, axis=1) / cw**2
    tau2 = tuned_tau2(float(var[0, 0]))
    half = mixture_halfwidth(var, tau2)
    crossed = np.mean(np.any(np.abs(est) > half, axis=1))
    naive = np.mean(np.any(np.abs(est) > 1.96 * np.sqrt(var), axis=1))
    mc = 3 * math.sqrt(0.05 * 0.95 / sims)
    assert crossed <= 0.05 + mc
    assert naive > 0.10


@pytest.mark.slow
def test_null_programmes_rarely_continue_through_the_real_path() -> None:
    rng = np.random.default_rng(5)
    sims, looks, went = 150, 12, 0
    for s in range(sims):
        ests = []
        for m in range(looks):
            ests.append(
                round_estimate(
                    round_frame(rng, 60, 0.0), cost=0.0, gross_margin=GM, seed=s * 100 + m
                )
            )
            if programme_verdict(ests).decision == "continue":
                went += 1
                break
    assert went / sims <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / sims)


def test_net_margin_sequence_contains_the_pooled_estimate() -> None:
    rng = np.random.default_rng(31)
    ests = [
        round_estimate(round_frame(rng, 100, 0.04), cost=50.0, gross_margin=GM, seed=i)
        for i in range(4)
    ]
    est, lo, hi, name = net_margin_sequence(ests)
    assert est == pytest.approx(pool_rounds(ests).net)
    assert lo < est < hi
    assert "mSPRT" in name
    # Always-valid is wider than the fixed-sample interval at the same variance.
    fixed = 1.96 * math.sqrt(pool_rounds(ests).net_var)
    assert hi - est > fixed


# --- the verdict ------------------------------------------------------------------------------


def _rounds(rng: np.random.Generator, k: int, n_c: int, uplift: float, cost_pt: float):
    out = []
    for i in range(k):
        f = round_frame(rng, n_c, uplift)
        n_t = int((f["arm"] == "treated").sum())
        out.append(round_estimate(f, cost=cost_pt * n_t, gross_margin=GM, seed=i))
    return out


def test_no_rounds_and_tiny_samples_are_not_yet_known() -> None:
    none = programme_verdict([])
    assert (none.decision, none.reason) == ("not_yet_known", "no_matured_rounds")
    rng = np.random.default_rng(1)
    tiny = programme_verdict(_rounds(rng, 2, 10, 0.30, 0.0))
    assert tiny.decision == "not_yet_known"
    assert tiny.n_control < 30


def test_null_effect_is_not_yet_known() -> None:
    v = programme_verdict(
        _rounds(np.random.default_rng(2), 3, 40, 0.0, 0.0), hoped_effect=3.0, controls_per_month=40
    )
    assert v.decision == "not_yet_known"
    assert v.needed_controls is not None
    assert v.needed_controls > 0
    assert v.months_needed == math.ceil(v.needed_controls / 40)


def test_large_clear_effect_continues_and_harm_stops() -> None:
    good = programme_verdict(_rounds(np.random.default_rng(3), 6, 1000, 0.25, 1.0))
    assert good.decision == "continue"
    assert good.net_low is not None
    assert good.net_low > 0
    assert good.needed_controls is None
    bad = programme_verdict(_rounds(np.random.default_rng(4), 6, 1000, 0.0, 20.0))
    assert bad.decision == "stop"
    assert bad.net_high is not None
    assert bad.net_high < 0
    harmful = programme_verdict(_rounds(np.random.default_rng(5), 6, 1000, -0.08, 0.0))
    assert harmful.decision == "stop"
    assert harmful.return_high is not None
    assert harmful.return_high < 0
    payload = good.to_dict()
    json.dumps(payload)
    assert payload["decision"] in DECISIONS
    assert {"interval_method", "pooling", "sequential_method"} <= payload.keys()


def test_needed_controls_would_settle_the_question_at_the_same_estimate() -> None:
    # One round whose revenue variance is sigma2 (1/n_t + 1/n_c); add the advised customers at
    # the same split and the same estimate: the verdict becomes continue, and not before.
    sigma2, n_t, n_c, rev = 40_000.0, 900.0, 100.0, 30.0

    def frame(nt: float, nc: float) -> pl.DataFrame:
        return pl.DataFrame(
            dict(
                n_treated=[nt],
                n_control=[nc],
                returned_treated=[0.0],
                returned_control=[0.0],
                return_diff=[0.0],
                return_var=[1e-4],
                revenue_diff=[rev],
                revenue_var=[sigma2 * (1 / nt + 1 / nc)],
                cost=[0.0],
                gross_margin=[GM],
            )
        )

    first = programme_verdict(frame(n_t, n_c), controls_per_month=50)
    assert first.decision == "not_yet_known"
    assert first.needed_controls is not None
    assert first.needed_treated is not None
    tau2 = first.tau2
    more = frame(n_t + first.needed_treated, n_c + first.needed_controls)
    assert programme_verdict(more, tau2=tau2).decision == "continue"
    fewer = frame(n_t + 0.9 * first.needed_treated, n_c + 0.9 * first.needed_controls)
    assert programme_verdict(fewer, tau2=tau2).decision == "not_yet_known"


def test_summary_variance_matches_the_interval_method() -> None:
    rng = np.random.default_rng(17)
    t, c = spend_arm(rng, 900, 0.15), spend_arm(rng, 100, 0.10)
    _, lo, hi, var = mean_diff_summary(t, c, seed=0, method="welch")
    assert var == pytest.approx(t.var(ddof=1) / 900 + c.var(ddof=1) / 100)
    _, _, _, boot_var = mean_diff_summary(t, c, seed=0, method="percentile", n_boot=4000)
    assert boot_var == pytest.approx(var, rel=0.15)
    assert hi > lo


def test_the_per_round_table_feeds_the_verdict_like_the_estimates() -> None:
    rng = np.random.default_rng(41)
    ests = _rounds(rng, 3, 200, 0.06, 1.0)
    table = verdict_inputs({f"2026-0{i + 1}": e for i, e in enumerate(ests)})
    assert table["round"].to_list() == ["2026-01", "2026-02", "2026-03"]
    assert table.height == len(ests)
    from_table = programme_verdict(table).to_dict()
    from_estimates = programme_verdict(ests).to_dict()
    assert from_table == pytest.approx(from_estimates)

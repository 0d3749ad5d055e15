"""Measured uplift per segment, shrunk toward the programme average (empirical Bayes)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from winback.programme.uplift_feedback import eb_normal, shrunk_uplift


def _counts(
    rng: np.random.Generator, p_c: list[float], lift: list[float], n: list[int]
) -> pl.DataFrame:
    k = len(p_c)
    n_c = np.array(n) // 10 + 1
    n_t = np.array(n)
    return pl.DataFrame(
        {
            "segment": [f"s{i}" for i in range(k)],
            "n_treated": n_t,
            "returned_treated": rng.binomial(n_t, np.array(p_c) + np.array(lift)),
            "n_control": n_c,
            "returned_control": rng.binomial(n_c, np.array(p_c)),
        }
    )


def test_the_shrinkage_follows_the_formula() -> None:
    d = np.array([0.10, 0.02, -0.01, 0.05, 0.20])
    v = np.array([0.001, 0.0004, 0.002, 0.0009, 0.01])
    theta, mu, tau2, b = eb_normal(d, v)
    w = 1 / v
    d_w = (w * d).sum() / w.sum()
    q = (w * (d - d_w) ** 2).sum()
    expected_tau2 = max(0.0, (q - 4) / (w.sum() - (w**2).sum() / w.sum()))
    assert tau2 == pytest.approx(expected_tau2)
    assert tau2 > 0
    ws = 1 / (v + expected_tau2)
    assert mu == pytest.approx((ws * d).sum() / ws.sum())
    expected_b = v / (v + expected_tau2)
    assert np.allclose(b, expected_b)
    assert np.allclose(theta, expected_b * mu + (1 - expected_b) * d)
    # each estimate lies between its own measurement and the average
    assert np.all((theta - d) * (theta - mu) <= 1e-12)


def test_without_real_differences_the_estimates_shrink_to_the_average() -> None:
    rng = np.random.default_rng(3)
    spread_raw, spread_shrunk = [], []
    for _ in range(200):
        counts = _counts(rng, [0.1] * 8, [0.03] * 8, [400] * 8)
        out = shrunk_uplift(counts, "segment")
        spread_raw.append(float(out["measured"].std()))
        spread_shrunk.append(float(out["uplift"].std()))
    # the same true uplift everywhere: the shrunk estimates vary far less than the measured
    assert np.median(spread_shrunk) < 0.25 * np.median(spread_raw)


def test_real_differences_survive_the_shrinkage() -> None:
    rng = np.random.default_rng(4)
    counts = _counts(rng, [0.1] * 4, [0.0, 0.0, 0.2, 0.2], [5000] * 4)
    out = shrunk_uplift(counts, "segment").sort("segment")
    assert out["tau2"][0] > 0
    uplift = out["uplift"].to_numpy()
    assert uplift[2:].min() - uplift[:2].max() > 0.1


def test_a_segment_with_few_customers_is_pulled_to_the_average() -> None:
    rng = np.random.default_rng(5)
    counts = _counts(rng, [0.1] * 6, [0.0, 0.0, 0.1, 0.1, 0.05, 0.05], [3000] * 6)
    small = pl.DataFrame(
        {
            "segment": ["tiny"],
            "n_treated": [9],
            "returned_treated": [6],  # measured +0.67: noise on 10 customers
            "n_control": [1],
            "returned_control": [0],
        }
    )
    out = shrunk_uplift(pl.concat([counts, small]), "segment")
    tiny = out.filter(pl.col("segment") == "tiny").row(0, named=True)
    assert tiny["shrinkage"] > 0.8
    assert abs(tiny["uplift"] - tiny["average"]) < 0.25 * abs(tiny["measured"] - tiny["average"])


def test_segments_without_both_arms_are_left_out_and_nothing_in_gives_nothing() -> None:
    counts = pl.DataFrame(
        {
            "segment": ["a", "b"],
            "n_treated": [10, 0],
            "returned_treated": [2, 0],
            "n_control": [0, 5],
            "returned_control": [0, 1],
        }
    )
    assert shrunk_uplift(counts, "segment").is_empty()

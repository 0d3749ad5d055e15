"""Thompson sampling over the menu's first option per reason x tier (R5)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from winback.programme.offer_bandit import UNKNOWN_REASON, learn, order_menus

CODES = ["a", "b", "c"]


def _menus(n: int, codes: list[str] = CODES, tier: int = 2) -> tuple[pl.DataFrame, pl.DataFrame]:
    menu = pl.DataFrame(
        {
            "customer_pk": np.repeat(np.arange(1, n + 1), len(codes)),
            "menu_rank": np.tile(np.arange(1, len(codes) + 1), n),
            "offer_code": codes * n,
        }
    )
    segments = pl.DataFrame(
        {"customer_pk": np.arange(1, n + 1), "tier": [tier] * n, "reason_code": [None] * n},
        schema_overrides={"reason_code": pl.String()},
    )
    return menu, segments


def _firsts(menu: pl.DataFrame) -> pl.Series:
    return menu.filter(pl.col("menu_rank") == 1)["offer_code"]


def test_posterior_is_the_pooled_prior_plus_each_cells_counts() -> None:
    counts = pl.DataFrame(
        {
            "reason_code": ["price", "price", None, ""],
            "tier": [1, 1, 2, 2],
            "offer_code": ["a", "b", "a", "a"],
            "presented": [30, 10, 4, 6],
            "came_back": [6, 1, 1, 2],
        }
    )
    learning = learn(counts, prior_strength=2.0, tier_pooling=0.0, default_rate=0.1)
    pooled = (10 + 0.1 * 2.0) / (50 + 2.0)
    assert learning.prior_alpha == pytest.approx(pooled * 2.0)
    assert learning.prior_beta == pytest.approx((1 - pooled) * 2.0)
    post = learning.posteriors
    # Null and empty reasons are one "unknown" cell: 10 presented, 3 came back.
    unknown = post.filter(pl.col("reason_key") == UNKNOWN_REASON).row(0, named=True)
    assert (unknown["presented"], unknown["came_back"]) == (10, 3)
    assert unknown["alpha"] == pytest.approx(learning.prior_alpha + 3)
    assert unknown["beta"] == pytest.approx(learning.prior_beta + 7)
    price_a = post.filter((pl.col("reason_key") == "price") & (pl.col("offer_code") == "a"))
    assert price_a["alpha"][0] == pytest.approx(learning.prior_alpha + 6)
    assert price_a["beta"][0] == pytest.approx(learning.prior_beta + 24)
    assert learning.summary()["posterior_cells"] == 3
    with pytest.raises(ValueError, match="came_back"):
        learn(counts.with_columns(came_back=pl.col("presented") + 1))


def test_a_cell_borrows_from_the_same_reason_and_offer_in_other_tiers() -> None:
    counts = pl.DataFrame(
        {
            "reason_code": ["price"] * 4,
            "tier": [1, 1, 2, 2],
            "offer_code": ["a", "b", "a", "b"],
            "presented": [200, 200, 3, 3],
            "came_back": [60, 10, 0, 0],
        }
    )
    learning = learn(counts, prior_strength=2.0, tier_pooling=10.0, default_rate=0.1)
    pooled = (70 + 0.2) / (406 + 2.0)
    post = learning.posteriors.filter(pl.col("tier") == 2).sort("offer_code")
    # Tier 2's prior mean for "a" is tier 1's rate of "a" (60/200, shrunk), worth 10 customers.
    mean_a = (60 + pooled * 2.0) / (200 + 2.0)
    assert post["alpha"][0] == pytest.approx(mean_a * 10.0)
    assert post["beta"][0] == pytest.approx((1 - mean_a) * 10.0 + 3)
    # So with 3 presentations each, "a" is still drawn first far more often than "b" in tier 2,
    # and in tier 3, where nothing was presented yet, too.
    for tier in (2, 3):
        menu, segments = _menus(4000, ["a", "b"], tier=tier)
        segments = segments.with_columns(reason_code=pl.lit("price"))
        firsts = _firsts(order_menus(menu, segments, learn(counts, seed=1, floor=0.0)))
        assert (firsts == "a").mean() > 0.8  # type: ignore[operator]
    assert learning.summary()["reason_offer_priors"] == 2


def test_exploration_floor_puts_every_option_first_often_enough() -> None:
    # The posteriors are sure "a" is best: without the floor "b" and "c" would never be first.
    counts = pl.DataFrame(
        {"tier": [2] * 3, "offer_code": CODES, "presented": [5000] * 3, "came_back": [2500, 5, 5]}
    )
    menu, segments = _menus(20_000)
    floor = 0.05
    ordered = order_menus(menu, segments, learn(counts, floor=floor, seed=3))
    shares = _firsts(ordered).value_counts(normalize=True)
    share = dict(zip(shares["offer_code"], shares["proportion"], strict=True))
    # Each option is first with probability >= floor (binomial sd ~0.0015 at 20,000).
    assert share["b"] >= floor - 0.006
    assert share["c"] >= floor - 0.006
    assert share["a"] > 0.85
    # Without a floor the sure loser is (almost) never first.
    no_floor = order_menus(menu, segments, learn(counts, floor=0.0, seed=3))
    assert (_firsts(no_floor) == "c").mean() < 0.01  # type: ignore[operator]


def test_the_other_options_keep_their_order_behind_the_first() -> None:
    menu, segments = _menus(500)
    ordered = order_menus(menu, segments, learn(pl.DataFrame({"tier": [], "offer_code": []})))
    for pk, group in ordered.group_by("customer_pk"):
        rest = group.sort("menu_rank")["offer_code"].to_list()
        first, others = rest[0], rest[1:]
        assert others == [c for c in CODES if c != first], pk
        assert group["menu_rank"].sort().to_list() == [1, 2, 3]


def test_deterministic_with_seed() -> None:
    menu, segments = _menus(300)
    counts = pl.DataFrame({"tier": [2], "offer_code": ["b"], "presented": [20], "came_back": [4]})
    one = order_menus(menu, segments, learn(counts, seed=11))
    two = order_menus(
        menu.sample(fraction=1.0, shuffle=True, seed=1), segments, learn(counts, seed=11)
    )
    other = order_menus(menu, segments, learn(counts, seed=12))
    assert one.equals(two)
    assert not one.equals(other)


def test_learning_concentrates_on_the_best_offer_in_simulation() -> None:
    truth = {"a": 0.05, "b": 0.08, "c": 0.20}
    rng = np.random.default_rng(7)
    log: list[pl.DataFrame] = []
    menu, segments = _menus(400)
    share_best = []
    for month in range(8):
        counts = pl.concat(log) if log else pl.DataFrame({"tier": [], "offer_code": []})
        ordered = order_menus(menu, segments, learn(counts, seed=month))
        firsts = _firsts(ordered)
        share_best.append(float((firsts == "c").mean()))  # type: ignore[arg-type]
        came = rng.random(firsts.len()) < firsts.replace_strict(truth).to_numpy()
        log.append(
            pl.DataFrame({"offer_code": firsts, "came_back": came.astype(np.int64)}).with_columns(
                tier=pl.lit(2), presented=pl.lit(1)
            )
        )
    assert share_best[0] < 0.5  # starts spread (equal priors)
    assert share_best[-1] > 0.75  # ends on the best offer (floor: at most 90% possible)


def test_option_results_count_presented_redeemed_came_back_and_margin_per_cell() -> None:
    from winback.programme.offer_bandit import option_results

    rng = np.random.default_rng(5)
    n = 200
    presented = pl.DataFrame(
        {
            "customer_pk": np.arange(n),
            "tier": rng.integers(1, 3, n),
            "reason_code": rng.choice(["price", ""], n),
            "offer_code": rng.choice(CODES, n),
        }
    )
    came = rng.random(n) < 0.3
    redeemed = came & (rng.random(n) < 0.5)
    spend = np.where(came, rng.gamma(2.0, 50.0, n), 0.0)
    # Outcomes of a few customers are missing (not in the window's frame): they count as
    # presented, not redeemed, not back.
    outcomes = pl.DataFrame(
        {"customer_pk": np.arange(n), "came_back": came, "spend": spend, "offer_redeemed": redeemed}
    ).filter(pl.col("customer_pk") >= 10)
    costs = rng.uniform(1, 20, n)
    offers_made = pl.DataFrame({"customer_pk": np.arange(n), "offer_cost": costs})
    result = option_results(presented, outcomes, offers_made, gross_margin=0.4)
    for row in result.iter_rows(named=True):
        reason = "price" if row["reason_code"] == "price" else ""
        mask = (
            (presented["tier"].to_numpy() == row["tier"])
            & (presented["reason_code"].to_numpy() == reason)
            & (presented["offer_code"].to_numpy() == row["offer_code"])
        )
        known = mask & (np.arange(n) >= 10)
        assert row["presented"] == int(mask.sum())
        assert row["came_back"] == int((came & known).sum())
        assert row["redeemed"] == int((redeemed & known).sum())
        margin = float((spend[known] * 0.4).sum() - costs[known & redeemed].sum())
        assert row["option_margin"] == pytest.approx(margin)
        assert row["came_back_rate"] == pytest.approx(row["came_back"] / row["presented"])
    assert set(result["reason_code"]) == {"price", UNKNOWN_REASON}
    assert int(result["presented"].sum()) == n

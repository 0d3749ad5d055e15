"""Offer menus: eligibility, caps, fairness, fit, timing, budget (R5)."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from winback.programme.defaults.offers import MIN_BASKET
from winback.programme.offer_bandit import learn
from winback.programme.offers import OfferCatalogue, offer_menus
from winback.programme.playbooks import Playbooks
from winback.programme.taxonomy import Taxonomy

AS_OF = date(2024, 5, 31)
START, END = date(2024, 6, 1), date(2024, 6, 30)
PLAYBOOKS = Playbooks.default()
TAXONOMY = Taxonomy.default()
STAGES = ["active", "silent", "sleeping", "lost"]
KINDS = [
    "percent_off",
    "voucher",
    "bundle",
    "free_service",
    "points_multiplier",
    "priority_service",
    "free_delivery",
    "expert_advice",
]


SPEND_KINDS = ("gamma", "zero", "none", "tiny", "huge", "mixed")


def _customers(n: int, seed: int, spend: str = "gamma") -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    reasons = [None, "price", "attitude", "speed", "budget_cut", "moved_away"]
    gamma = rng.gamma(2.0, 100.0, n)
    spends: dict[str, list[float | None]] = {
        "gamma": list(gamma),
        "zero": [0.0] * n,
        "none": [None] * n,
        "tiny": list(rng.uniform(0.0, 0.01, n)),
        "huge": list(gamma * 1e6),
        "mixed": [
            [0.0, None, 1e-4, 1e7, float(g)][int(i)]
            for i, g in zip(rng.integers(0, 5, n), gamma, strict=True)
        ],
    }
    return pl.DataFrame(
        {
            "customer_pk": np.arange(1, n + 1),
            "tier": rng.integers(1, 6, n),
            "stage": rng.choice(STAGES, n),
            "expected_spend": spends[spend],
            "expected_interval_days": rng.uniform(5, 200, n),
            "days_since_last": rng.integers(0, 400, n),
            "reason_code": [reasons[int(i)] for i in rng.integers(0, len(reasons), n)],
            "expected_value": rng.gamma(2.0, 50.0, n),
        },
        schema_overrides={
            "stage": pl.String(),
            "reason_code": pl.String(),
            "expected_spend": pl.Float64(),
        },
    )


def _typical(customers: pl.DataFrame, tier: int) -> float:
    """The tier's typical basket, computed here from its definition: the median positive
    expected spend of the tier, else of everyone, else the catalogue's minimum basket."""
    spend = customers["expected_spend"].fill_null(0.0).to_numpy()
    tiers = customers["tier"].to_numpy()
    mine = spend[(tiers == tier) & (spend > 0)]
    if mine.size:
        return float(np.median(mine))
    everyone = spend[spend > 0]
    return float(np.median(everyone)) if everyone.size else MIN_BASKET


def _favourites(n: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed + 1)
    return pl.DataFrame(
        {
            "customer_pk": np.arange(1, n + 1),
            "category_code": rng.choice(["a", "b", "c"], n),
            "spend_share": rng.uniform(0.1, 1.0, n),
            "replenishment_days": rng.choice([14, 30, 60], n),
        },
        schema_overrides={"category_code": pl.String()},
    )


offer_strategy = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(KINDS),
        "depth_share": st.sampled_from([0.0, 0.03, 0.1, 0.2, 0.4]),
        "depth_abs": st.sampled_from([0.0, 5.0, 30.0, 120.0]),
        "visits": st.integers(1, 3),
        "tiers": st.none() | st.lists(st.integers(1, 5), min_size=1, max_size=3, unique=True),
        "stages": st.none()
        | st.lists(st.sampled_from(STAGES), min_size=1, max_size=3, unique=True),
        "favourite_category": st.booleans(),
        "builds_habit": st.booleans(),
    }
)


@settings(max_examples=50, deadline=None)
@given(
    offers=st.lists(offer_strategy, min_size=1, max_size=8),
    caps=st.lists(st.sampled_from([0.0, 0.05, 0.1, 0.2, 0.5]), min_size=5, max_size=5),
    budget=st.none() | st.sampled_from([0.0, 50.0, 500.0, 5000.0]),
    seed=st.integers(0, 2**31),
    spend=st.sampled_from(SPEND_KINDS),
    learning=st.booleans(),
)
def test_menus_never_break_depth_budget_or_fairness_caps(
    offers: list[dict[str, object]],
    caps: list[float],
    budget: float | None,
    seed: int,
    spend: str,
    learning: bool,
) -> None:
    """For any customers (expected spend 0, unknown, tiny, huge or mixed), with or without
    learning: no option exceeds the tier's depth cap or the fairness bound, both measured on
    max(expected spend, the tier's typical basket), and the reserved costs fit the budget."""
    entries = [{"code": f"o{i}", "zh": "优惠", "en": "offer", **o} for i, o in enumerate(offers)]
    catalogue = OfferCatalogue.from_dict(
        {"offers": entries, "depth_cap_by_tier": {str(t + 1): c for t, c in enumerate(caps)}}
    )
    customers = _customers(60, seed, spend)
    counts = pl.DataFrame(
        {"tier": [1, 2, 3], "offer_code": ["o0", "o0", "o1"], "presented": [10, 5, 8]}
    ).with_columns(came_back=pl.col("presented") // 2)
    result = offer_menus(
        customers,
        _favourites(60, seed),
        catalogue,
        PLAYBOOKS,
        TAXONOMY,
        as_of=AS_OF,
        round_start=START,
        round_end=END,
        budget=budget,
        learning=learn(counts, seed=seed) if learning else None,
    )
    menu = result.menu.join(customers, on="customer_pk")
    by_code = {o.code: o for o in catalogue.offers}
    typical = {t: _typical(customers, t) for t in range(1, 6)}
    for row in menu.iter_rows(named=True):
        offer = by_code[row["offer_code"]]
        basket = max(row["expected_spend"] or 0.0, typical[row["tier"]])
        base = basket * offer.visits
        cost = offer.depth_share * base + offer.depth_abs
        depth = cost / base if cost > 0 else 0.0
        assert row["cost"] == pytest.approx(cost)
        assert row["depth"] == pytest.approx(depth)
        # Depth cap of the tier.
        assert depth <= caps[row["tier"] - 1] + 1e-9
        # Fairness: never deeper than the best offer open to evergreen customers of the tier,
        # measured on the same basket (and within the tier's cap).
        if row["stage"] != "active":
            evergreen = [
                min(
                    (o.depth_share * basket * o.visits + o.depth_abs) / (basket * o.visits),
                    caps[row["tier"] - 1],
                )
                for o in catalogue.offers
                if (o.tiers is None or row["tier"] in o.tiers)
                and (o.stages is None or "active" in o.stages)
            ]
            assert depth <= max(evergreen, default=0.0) + 1e-9
        # Eligibility.
        assert offer.tiers is None or row["tier"] in offer.tiers
        assert offer.stages is None or row["stage"] in offer.stages
    # Budget: the reserved cost (each customer's most expensive option) fits.
    if budget is not None:
        reserved = menu.group_by("customer_pk").agg(pl.col("cost").max())["cost"].sum()
        assert reserved <= budget + 1e-6
    # Menus: at most three options, one per kind, ranks 1..k.
    sizes = result.menu.group_by("customer_pk").agg(
        pl.len(), pl.col("kind").n_unique(), pl.col("menu_rank").max()
    )
    assert (sizes["len"] <= 3).all()
    assert (sizes["len"] == sizes["kind"]).all()
    assert (sizes["len"] == sizes["menu_rank"]).all()


def _one(reason: str | None, stage: str = "lost", tier: int = 1) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_pk": [1],
            "tier": [tier],
            "stage": [stage],
            "expected_spend": [400.0],
            "expected_interval_days": [45.0],
            "days_since_last": [200],
            "reason_code": [reason],
        },
        schema_overrides={"reason_code": pl.String()},
    )


def _menu(customers: pl.DataFrame, favourites: pl.DataFrame | None = None) -> pl.DataFrame:
    favs = (
        favourites
        if favourites is not None
        else pl.DataFrame(schema={"customer_pk": pl.Int64(), "category_code": pl.String()})
    )
    menus = offer_menus(
        customers,
        favs,
        OfferCatalogue.default(),
        PLAYBOOKS,
        TAXONOMY,
        as_of=AS_OF,
        round_start=START,
        round_end=END,
    )
    menu: pl.DataFrame = menus.menu
    return menu


def test_service_reasons_get_perks_first_and_price_reasons_price_offers() -> None:
    attitude = _menu(_one("attitude"))
    assert attitude["is_price"][0] is False
    assert attitude.filter(pl.col("menu_rank") == 1)["offer_code"][0] == "priority_service"
    price = _menu(_one("price"))
    assert price["is_price"][0] is True
    assert price["kind"][0] == "percent_off"


def test_favourite_category_offers_need_a_favourite_and_use_its_replenishment_cycle() -> None:
    without = _menu(_one("habit_lapsed", tier=2))
    assert "favourite_category_10" not in without["offer_code"].to_list()
    favs = pl.DataFrame(
        {
            "customer_pk": [1, 1],
            "category_code": ["skin", "hair"],
            "spend_share": [0.7, 0.3],
            "replenishment_days": [28, None],
        }
    )
    with_fav = _menu(_one("habit_lapsed", tier=2), favs)
    row = with_fav.filter(pl.col("offer_code") == "favourite_category_10").row(0, named=True)
    assert row["category_code"] == "skin"
    # Last purchase 2023-11-13 (200 days before 31 May); every 28 days: ... 2024-05-27,
    # 2024-06-24 is the first cycle point inside the June round.
    assert row["contact_date"] == date(2024, 6, 24)


def test_contact_date_steps_through_the_personal_cycle_and_stays_in_the_round() -> None:
    menu = _menu(_one(None))
    # Last purchase 2023-11-13, interval 45 days: ... 2024-05-11 (before the round), then
    # 2024-06-25.
    assert set(menu["contact_date"].to_list()) == {date(2024, 6, 25)}
    late = _menu(_one(None).with_columns(expected_interval_days=pl.lit(300.0)))
    # Next cycle point 2024-09-08 is after the round: the round's last day.
    assert set(late["contact_date"].to_list()) == {END}


def test_lapsed_customers_get_no_more_than_evergreen_customers_of_their_tier() -> None:
    catalogue = OfferCatalogue.default().merge(
        {
            "offers": [
                {
                    "code": "deep",
                    "kind": "percent_off",
                    "zh": "五折",
                    "en": "Half price",
                    "depth_share": 0.5,
                    "stages": ["lost"],
                }
            ],
            "depth_cap_by_tier": {"1": 1.0},
        }
    )
    menu = offer_menus(
        _one("price"),
        pl.DataFrame(schema={"customer_pk": pl.Int64(), "category_code": pl.String()}),
        catalogue,
        PLAYBOOKS,
        TAXONOMY,
        as_of=AS_OF,
        round_start=START,
        round_end=END,
    ).menu
    assert "deep" not in menu["offer_code"].to_list()
    assert (menu["depth"] <= 0.15 + 1e-9).all()  # the tier-1 member-day offer


def test_budget_goes_to_the_best_value_per_cost_first() -> None:
    customers = pl.concat([_one("attitude"), _one("attitude"), _one("attitude")]).with_columns(
        customer_pk=pl.Series([1, 2, 3]), expected_value=pl.Series([10.0, 100.0, 50.0])
    )
    result = offer_menus(
        customers,
        pl.DataFrame(schema={"customer_pk": pl.Int64(), "category_code": pl.String()}),
        OfferCatalogue.default(),
        PLAYBOOKS,
        TAXONOMY,
        as_of=AS_OF,
        round_start=START,
        round_end=END,
        budget=30.0,
    )
    # Each menu reserves 15 (expert advice, its dearest option): 30 funds the two customers
    # with the best value per cost.
    reserve = result.menu.group_by("customer_pk").agg(pl.col("cost").max())
    assert sorted(reserve["customer_pk"].to_list()) == [2, 3]
    assert result.budget["funded_customers"] == 2
    assert result.budget["unfunded_customers"] == 1


def test_catalogue_validation_and_json_round_trip() -> None:
    default = OfferCatalogue.default()
    assert OfferCatalogue.from_json(default.to_json()) == default
    default.check(TAXONOMY)
    with pytest.raises(ValueError, match="kind"):
        default.merge({"offers": [{"code": "x", "kind": "cashback", "zh": "返现", "en": "x"}]})
    with pytest.raises(ValueError, match="depth_share"):
        default.merge({"offers": [{"code": "member_day_15", "depth_share": 1.5}]})
    removed = default.merge({"offers": [{"code": "double_points", "remove": True}]})
    assert "double_points" not in [o.code for o in removed.offers]
    bad_reason = default.merge({"offers": [{"code": "double_points", "reasons": ["nope"]}]})
    with pytest.raises(ValueError, match="nope"):
        bad_reason.check(TAXONOMY)


def test_zero_expected_spend_is_measured_on_the_tiers_typical_basket() -> None:
    """The measured defect: a tier-5 customer with expected spend 0 got offers whose cost
    counted as 0, so the menu went past the tier's 5% cap. Now the basket is the tier's
    typical one (here the other tier-5 customer's 200) and the caps hold."""
    customers = pl.concat([_one(None, tier=5), _one(None, tier=5)]).with_columns(
        customer_pk=pl.Series([1, 2]), expected_spend=pl.Series([0.0, 200.0])
    )
    menu = _menu(customers)
    zero = menu.filter(pl.col("customer_pk") == 1)
    assert zero.height > 0
    assert (zero["depth"] <= 0.05 + 1e-9).all()
    # Its double points (3%) cost 3% of the typical basket, not 0.
    points = zero.filter(pl.col("offer_code") == "double_points")
    assert points["cost"][0] == pytest.approx(0.03 * 200.0)
    # The same menu as the customer whose own basket is the typical one.
    other = menu.filter(pl.col("customer_pk") == 2)
    assert zero["offer_code"].sort().to_list() == other["offer_code"].sort().to_list()

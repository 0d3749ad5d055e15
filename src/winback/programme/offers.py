"""Offers: a small menu per customer, fitted, capped, fair and timed (R5).

The seeds reject blanket discounts: they are unfair to loyal customers and train bargain
hunting. So, per customer:

1. **Eligibility** - customers are paired with the offers their tier and stage may receive
   (a join on small tables built from the catalogue, cheaper than a full cross join with list
   columns), then pairs are kept when the known reason, expected spend and favourite
   categories qualify.
2. **Caps** - an offer deeper than the tier's depth cap is dropped; and the fairness rule: a
   lapsed customer (any stage but active) is never offered more than the best offer open to
   evergreen (active) customers of the same tier, measured on the same customer's basket.
   Cost and depth are measured on the **basket**: max(expected spend, the tier's typical
   basket), the typical basket being the median positive expected spend of the tier's
   customers (else of all customers, else ``min_basket``). A customer whose expected spend is
   0 or unknown is thus offered at most what the tier's usual customer may be offered, and a
   percent-off offer has a real cost in the budget.
3. **Fit** - offers are scored by favourite-category match (weighted by its share of spend),
   the reason (price offers for price reasons, non-price perks for service reasons, from the
   playbooks), whether they build continued buying, purchase frequency, and depth (cheaper is
   better at equal fit). The best offer of each kind is kept and the top ``menu_size`` form
   the menu.
4. **Timing** - each option comes with a suggested contact date near the customer's own next
   purchase: last purchase + personal interval (or the matched category's replenishment
   interval), stepped forward by whole intervals into the round and clamped to its window
   (Dick's supermarket: offers timed to the customer's own cycle).
5. **Learning** (optional) - with an :class:`~winback.programme.offer_bandit.OfferLearning`,
   the first option (the one agents present) is drawn by Thompson sampling per reason x tier
   among the menu's options, with an exploration floor (:mod:`winback.programme.offer_bandit`).
6. **Budget** - the round's offer budget is spent greedily by expected incremental value per
   reserved cost (the menu's most expensive option, as the customer picks one); what is left
   then funds, in the same order, the other customers' cheapest option (their menu shrinks to
   it); customers past both keep only free options. The sum of the reserved costs never
   exceeds the budget.

Everything is one Polars pipeline over customer x offer pairs, ranked with window functions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import date
from typing import Any

import polars as pl

from winback.programme.defaults.offers import DEPTH_CAP_BY_TIER, MIN_BASKET, OFFERS
from winback.programme.frames import FAVOURITES, OFFER_CUSTOMERS, OFFER_MENU, typed
from winback.programme.offer_bandit import OfferLearning, order_menus
from winback.programme.playbooks import STAGES, Playbooks
from winback.programme.rule_errors import Problem, RuleError, problem, raise_if
from winback.programme.taxonomy import Taxonomy

PRICE_KINDS = ("percent_off", "voucher", "bundle", "free_service", "points_multiplier")
PERK_KINDS = ("priority_service", "free_delivery", "expert_advice")
KINDS = PRICE_KINDS + PERK_KINDS
_EPS = 1e-9


@dataclass(frozen=True)
class Offer:
    code: str
    kind: str
    zh: str
    en: str
    depth_share: float = 0.0  # cost as a share of the spend it applies to
    depth_abs: float = 0.0  # absolute cost (currency units)
    visits: int = 1  # purchases the offer spans (multi-visit packages)
    tiers: tuple[int, ...] | None = None  # None = any
    stages: tuple[str, ...] | None = None
    categories: tuple[str, ...] | None = None  # applies to these categories only
    favourite_category: bool = False  # applies to the customer's favourite category
    reasons: tuple[str, ...] | None = None  # only for customers with one of these reasons
    boost_reasons: tuple[str, ...] = ()  # fits these reasons particularly well
    min_spend: float = 0.0  # minimum expected spend of the next purchase
    builds_habit: bool = False  # builds continued buying (packages, points, refills)
    frequency: str | None = None  # "frequent" | "infrequent" buyers fit best

    @property
    def is_price(self) -> bool:
        return self.kind in PRICE_KINDS

    def label(self, lang: str) -> str:
        return self.zh if lang.startswith("zh") else self.en


@dataclass(frozen=True)
class FitWeights:
    category: float = 1.0  # x the matched category's share of the customer's spend
    reason: float = 1.0  # the customer's reason is one the offer fits
    preference: float = 0.8  # +/-: price offer for a price reason, perk for a service reason
    habit: float = 0.5  # builds continued buying
    frequency: float = 0.3  # suits the customer's purchase frequency
    depth: float = 1.0  # subtracted x depth: cheaper wins at equal fit


@dataclass(frozen=True)
class OfferCatalogue:
    offers: tuple[Offer, ...]
    depth_cap_by_tier: Mapping[int, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        raise_if("offers", _validate(self))

    def offer(self, code: str) -> Offer:
        for o in self.offers:
            if o.code == code:
                return o
        raise KeyError(f"unknown offer {code!r}")

    def check(self, taxonomy: Taxonomy) -> None:
        codes = set(taxonomy.codes)
        bad = sorted(
            {r for o in self.offers for r in (*(o.reasons or ()), *o.boost_reasons)} - codes
        )
        if bad:
            raise RuleError("offers", [problem("offer_reasons", reasons=bad)])

    def frame(self) -> pl.DataFrame:
        rows = [asdict(o) | {"is_price": o.is_price} for o in self.offers]
        schema = {
            "code": pl.String(),
            "kind": pl.String(),
            "depth_share": pl.Float64(),
            "depth_abs": pl.Float64(),
            "visits": pl.Int64(),
            "tiers": pl.List(pl.Int64()),
            "stages": pl.List(pl.String()),
            "categories": pl.List(pl.String()),
            "favourite_category": pl.Boolean(),
            "reasons": pl.List(pl.String()),
            "boost_reasons": pl.List(pl.String()),
            "min_spend": pl.Float64(),
            "builds_habit": pl.Boolean(),
            "frequency": pl.String(),
            "is_price": pl.Boolean(),
        }
        data = {
            col: [(list(v) if isinstance(v, tuple) else v) for v in (r[col] for r in rows)]
            for col in schema
        }
        return pl.DataFrame(data, schema=schema).rename({"code": "offer_code"})

    @classmethod
    def default(cls) -> OfferCatalogue:
        return cls.from_dict({"offers": OFFERS, "depth_cap_by_tier": DEPTH_CAP_BY_TIER})

    def to_dict(self) -> dict[str, Any]:
        return {
            "offers": [
                {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(o).items()}
                for o in self.offers
            ],
            "depth_cap_by_tier": {str(k): v for k, v in self.depth_cap_by_tier.items()},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OfferCatalogue:
        return _merged({}, {}, data)

    @classmethod
    def from_json(cls, text: str) -> OfferCatalogue:
        return cls.from_dict(json.loads(text))

    def merge(self, overrides: Mapping[str, Any]) -> OfferCatalogue:
        """Add or change offers (by ``code``; ``"remove": true`` drops one) and depth caps."""
        current = {o.code: asdict(o) for o in self.offers}
        return _merged(current, dict(self.depth_cap_by_tier), overrides)


def _merged(
    offers: dict[str, dict[str, Any]], caps: dict[int, float], overrides: Mapping[str, Any]
) -> OfferCatalogue:
    unknown = set(overrides) - {"offers", "depth_cap_by_tier"}
    if unknown:
        raise RuleError("offers", [problem("offer_keys", keys=sorted(unknown))])
    names = {f.name for f in fields(Offer)}
    for entry in overrides.get("offers", ()):
        if not isinstance(entry, Mapping) or "code" not in entry:
            raise RuleError("offers", [problem("offer_needs_code", entry=entry)])
        code = str(entry["code"])
        if entry.get("remove"):
            offers.pop(code, None)
            continue
        extra = set(entry) - names
        if extra:
            extra_fields = problem("offer_fields", offer=code, fields=sorted(extra))
            raise RuleError("offers", [extra_fields])
        offers[code] = {**offers.get(code, {}), **entry}
    for tier, cap in dict(overrides.get("depth_cap_by_tier", {})).items():
        caps[int(tier)] = float(cap)
    built: list[Offer] = []
    for entry in offers.values():
        values: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in entry.items()
        }
        try:
            built.append(Offer(**values))
        except TypeError as exc:
            bad = problem("offer_bad", offer=entry.get("code"), error=str(exc))
            raise RuleError("offers", [bad]) from exc
    return OfferCatalogue(tuple(built), caps)


def _validate(c: OfferCatalogue) -> list[Problem]:
    errors: list[Problem] = []
    codes = [o.code for o in c.offers]
    if len(set(codes)) != len(codes):
        errors.append(problem("duplicate_offers"))
    for o in c.offers:
        if o.kind not in KINDS:
            errors.append(problem("offer_kind", offer=o.code, kinds=KINDS))
        if not 0.0 <= o.depth_share <= 1.0 or o.depth_abs < 0 or o.min_spend < 0:
            errors.append(problem("offer_depth", offer=o.code))
        if o.visits < 1:
            errors.append(problem("offer_visits", offer=o.code))
        if o.stages is not None and any(s not in STAGES for s in o.stages):
            errors.append(problem("offer_stages", offer=o.code, stages=STAGES))
        if o.frequency not in (None, "frequent", "infrequent"):
            errors.append(problem("offer_frequency", offer=o.code))
        if not o.zh or not o.en:
            errors.append(problem("offer_labels", offer=o.code))
    for tier, cap in c.depth_cap_by_tier.items():
        if not 0.0 <= cap <= 1.0:
            errors.append(problem("depth_cap", tier=tier))
    return errors


@dataclass(frozen=True)
class OfferMenus:
    menu: pl.DataFrame  # frames.OFFER_MENU columns, sorted by customer_pk, menu_rank
    offer_dates: pl.DataFrame  # customer_pk, offer_date (first option's, else own cycle's)
    budget: dict[str, Any]  # budget, reserved, funded, unfunded customers


def offer_menus(
    customers: pl.DataFrame,
    favourites: pl.DataFrame,
    catalogue: OfferCatalogue,
    playbooks: Playbooks,
    taxonomy: Taxonomy,
    *,
    as_of: date,
    round_start: date,
    round_end: date,
    budget: float | None = None,
    menu_size: int = 3,
    weights: FitWeights = FitWeights(),
    frequent_interval_days: float = 30.0,
    min_basket: float = MIN_BASKET,
    learning: OfferLearning | None = None,
    baskets: Mapping[int, float] | None = None,
) -> OfferMenus:
    """Build each customer's menu of up to ``menu_size`` options (see the module docstring).

    ``customers`` follows :data:`winback.programme.frames.OFFER_CUSTOMERS`, ``favourites``
    :data:`~winback.programme.frames.FAVOURITES`. ``budget`` (currency units) caps the sum of
    the reserved costs; ``None`` means no budget cap. ``min_basket`` is the typical basket
    when no customer has a positive expected spend; ``learning`` orders each menu's first
    option by Thompson sampling (None: the fit order). ``baskets`` (tier -> typical basket)
    replaces the baskets computed from ``customers``: a re-plan of one customer uses the
    round's (``budget["typical_basket_by_tier"]`` of its plan).
    """
    if not 1 <= menu_size <= 5:
        raise ValueError("menu_size must be between 1 and 5")
    if round_end < round_start:
        raise ValueError("round_end is before round_start")
    if not min_basket > 0:
        raise ValueError("min_basket must be positive")
    if budget is not None and not budget >= 0:
        raise ValueError("budget cannot be negative")
    cust = OFFER_CUSTOMERS.conform(customers).with_columns(
        pl.col("expected_spend").fill_nan(0.0).fill_null(0.0)
    )
    if baskets is None:
        table = typical_baskets(cust, min_basket)
    else:
        table = pl.DataFrame(
            {"tier": list(baskets), "typical_basket": list(baskets.values())},
            schema={"tier": pl.Int64(), "typical_basket": pl.Float64()},
        )
    cust = cust.join(table, on="tier", how="left").with_columns(
        basket=pl.max_horizontal(
            pl.col("expected_spend"), pl.col("typical_basket").fill_null(min_basket)
        )
    )
    favs = FAVOURITES.conform(favourites)
    tables = _tables(catalogue)
    pairs = _pairs(cust, tables, playbooks, taxonomy)
    pairs = _match_categories(pairs, favs, tables)
    pairs = _apply_caps(pairs, cust, tables, catalogue)
    scored = _score(pairs, weights, frequent_interval_days)
    menu = _rank(scored, menu_size).join(
        tables.offers.select("offer_idx", "offer_code", "kind"), on="offer_idx", how="left"
    )
    if learning is not None:
        menu = order_menus(menu, cust.select("customer_pk", "tier", "reason_code"), learning)
    menu = _timing(menu, as_of, round_start, round_end)
    menu, budget_info = _apply_budget(menu, budget)
    budget_info["typical_basket_by_tier"] = {
        str(t): float(b) for t, b in table.sort("tier").iter_rows()
    }
    budget_info["learning"] = learning.summary() if learning is not None else None
    menu = typed(menu, OFFER_MENU).sort(["customer_pk", "menu_rank"])
    dates = menu.filter(pl.col("menu_rank") == 1).select("customer_pk", "contact_date")
    # Customers without an offer are still best contacted near their own next purchase.
    cycle = _timing(
        cust.with_columns(replenishment_days=pl.lit(None, dtype=pl.Int64)),
        as_of,
        round_start,
        round_end,
    ).select("customer_pk", cycle_date="contact_date")
    offer_dates = cycle.join(dates, on="customer_pk", how="left").select(
        "customer_pk", offer_date=pl.coalesce("contact_date", "cycle_date")
    )
    return OfferMenus(menu=menu, offer_dates=offer_dates, budget=budget_info)


@dataclass(frozen=True)
class _Tables:
    """The catalogue as small relational tables, so eligibility is a join, not a scan."""

    offers: pl.DataFrame  # one row per offer: offer_idx and the scalar fields
    tier_stage: pl.DataFrame  # offer_idx, tier, stage: who may receive it
    restrictions: pl.DataFrame  # offer_idx, reason_code: reason-restricted offers
    fits: pl.DataFrame  # offer_idx, reason_code: reasons the offer fits particularly
    categories: pl.DataFrame  # offer_idx, category_code: category-bound offers


def _tables(catalogue: OfferCatalogue) -> _Tables:
    offers = catalogue.offers
    idx = list(range(len(offers)))
    scalar = pl.DataFrame(
        {
            "offer_idx": idx,
            "offer_code": [o.code for o in offers],
            "kind": [o.kind for o in offers],
            "kind_idx": [KINDS.index(o.kind) for o in offers],
            "is_price": [o.is_price for o in offers],
            "depth_share": [o.depth_share for o in offers],
            "depth_abs": [o.depth_abs for o in offers],
            "visits": [o.visits for o in offers],
            "min_spend": [o.min_spend for o in offers],
            "builds_habit": [o.builds_habit for o in offers],
            "frequency": [o.frequency for o in offers],
            "favourite_category": [o.favourite_category for o in offers],
            "bound": [o.favourite_category or o.categories is not None for o in offers],
            "restricted": [o.reasons is not None for o in offers],
        },
        schema_overrides={
            "offer_idx": pl.Int32(),
            "kind_idx": pl.Int32(),
            "visits": pl.Int64(),
            "frequency": pl.String(),
        },
    )

    def pairs(rows: list[tuple[int, Any]], name: str, dtype: pl.DataType) -> pl.DataFrame:
        return pl.DataFrame(
            {"offer_idx": [i for i, _ in rows], name: [v for _, v in rows]},
            schema={"offer_idx": pl.Int32(), name: dtype},
        )

    tiers = range(1, 6)
    tier_stage = pl.DataFrame(
        [
            (i, t, st)
            for i, o in zip(idx, offers, strict=True)
            for t in (o.tiers if o.tiers is not None else tiers)
            for st in (o.stages if o.stages is not None else STAGES)
        ],
        schema={"offer_idx": pl.Int32(), "tier": pl.Int64(), "stage": pl.String()},
        orient="row",
    )
    return _Tables(
        offers=scalar,
        tier_stage=tier_stage,
        restrictions=pairs(
            [(i, r) for i, o in zip(idx, offers, strict=True) for r in (o.reasons or ())],
            "reason_code",
            pl.String(),
        ),
        fits=pairs(
            [
                (i, r)
                for i, o in zip(idx, offers, strict=True)
                for r in sorted({*(o.reasons or ()), *o.boost_reasons})
            ],
            "reason_code",
            pl.String(),
        ),
        categories=pairs(
            [(i, c) for i, o in zip(idx, offers, strict=True) for c in (o.categories or ())],
            "category_code",
            pl.String(),
        ),
    )


def typical_baskets(customers: pl.DataFrame, min_basket: float = MIN_BASKET) -> pl.DataFrame:
    """``tier``, ``typical_basket``: the median positive expected spend of the tier's
    customers, else of all customers, else ``min_basket`` (tiers 1 to 5 always present)."""
    positive = customers.filter(pl.col("expected_spend") > 0)
    overall = positive["expected_spend"].median() if positive.height else None
    fallback = float(overall) if isinstance(overall, int | float) else float(min_basket)
    by_tier = positive.group_by("tier").agg(typical_basket=pl.col("expected_spend").median())
    tiers = pl.DataFrame(
        {"tier": sorted({1, 2, 3, 4, 5, *customers["tier"].drop_nulls().to_list()})},
        schema={"tier": pl.Int64()},
    )
    return tiers.join(by_tier, on="tier", how="left").select(
        "tier", typical_basket=pl.col("typical_basket").fill_null(fallback).cast(pl.Float64)
    )


def _with_cost(frame: pl.DataFrame) -> pl.DataFrame:
    """Cost and depth of each pair, measured on the customer's basket (see the module doc)."""
    spend_base = pl.col("basket") * pl.col("visits")
    cost = pl.col("depth_share") * spend_base + pl.col("depth_abs")
    return frame.with_columns(cost=cost).with_columns(
        depth=pl.when(pl.col("cost") <= 0)
        .then(pl.lit(0.0))
        .when(spend_base > 0)
        .then(pl.col("cost") / spend_base)
        .otherwise(pl.lit(None, dtype=pl.Float64))
    )


def _offer_columns(tables: _Tables, names: list[str]) -> list[pl.Expr]:
    """Offer fields looked up by ``offer_idx`` (the catalogue row), without a join."""
    return [pl.lit(tables.offers[n]).gather(pl.col("offer_idx")).alias(n) for n in names]


def _pair_key(reason_index: dict[str, int]) -> pl.Expr:
    """One integer per (offer, reason) pair: cheap membership tests instead of joins."""
    reason = pl.col("reason_code").replace_strict(reason_index, default=None, return_dtype=pl.Int64)
    return (pl.col("offer_idx").cast(pl.Int64) * 100_000 + reason).alias("_key")


def _pairs(
    cust: pl.DataFrame, tables: _Tables, playbooks: Playbooks, taxonomy: Taxonomy
) -> pl.DataFrame:
    """Customer x offer pairs allowed by tier, stage and reason, with cost and depth."""
    prefs = playbooks.reason_frame(taxonomy).select("reason_code", "offer_preference")
    index = {code: i for i, code in enumerate(taxonomy.codes)}

    def keys(table: pl.DataFrame) -> pl.Series:
        return table.select(_pair_key(index))["_key"].drop_nulls()

    allowed, fitting = keys(tables.restrictions), keys(tables.fits)
    pairs = (
        cust.join(prefs, on="reason_code", how="left")
        .join(tables.tier_stage, on=["tier", "stage"], how="inner")
        .with_columns(
            _offer_columns(
                tables,
                [
                    "kind_idx",
                    "is_price",
                    "depth_share",
                    "depth_abs",
                    "visits",
                    "min_spend",
                    "builds_habit",
                    "frequency",
                    "favourite_category",
                    "bound",
                    "restricted",
                ],
            )
        )
        .with_columns(_pair_key(index))
        .filter(~pl.col("restricted") | pl.col("_key").is_in(allowed.implode()).fill_null(False))
        .with_columns(reason_fit=pl.col("_key").is_in(fitting.implode()).fill_null(False))
        .drop("_key")
    )
    return _with_cost(pairs)


def _match_categories(pairs: pl.DataFrame, favs: pl.DataFrame, tables: _Tables) -> pl.DataFrame:
    """Attach the best matching favourite category to category-bound offers."""
    keys = ["customer_pk", "offer_idx"]
    candidates = (
        pairs.filter("bound")
        .select(*keys, "favourite_category")
        .join(favs, on="customer_pk", how="inner")
        .join(
            tables.categories.with_columns(_listed=pl.lit(True)),
            on=["offer_idx", "category_code"],
            how="left",
        )
        .filter(pl.col("favourite_category") | pl.col("_listed").fill_null(False))
        .sort([*keys, "spend_share", "category_code"], descending=[False, False, True, False])
        .unique(keys, keep="first")
        .select(*keys, "category_code", "spend_share", "replenishment_days")
    )
    return pairs.join(candidates, on=keys, how="left").filter(
        ~pl.col("bound") | pl.col("category_code").is_not_null()
    )


def _tier_cap(catalogue: OfferCatalogue) -> pl.Expr:
    caps = {int(k): float(v) for k, v in catalogue.depth_cap_by_tier.items()}
    return pl.col("tier").replace_strict(caps, default=1.0, return_dtype=pl.Float64)


def _apply_caps(
    pairs: pl.DataFrame, cust: pl.DataFrame, tables: _Tables, catalogue: OfferCatalogue
) -> pl.DataFrame:
    """Drop pairs over the tier's depth cap, and lapsed customers' pairs deeper than the best
    offer open to evergreen (active) customers of their tier, on the same basket."""
    tier_cap = _tier_cap(catalogue)
    evergreen = tables.tier_stage.filter(pl.col("stage") == "active").drop("stage")
    fair = (
        cust.filter(pl.col("stage") != "active")
        .select("customer_pk", "tier", "basket")
        .join(evergreen, on="tier", how="inner")
        .join(
            tables.offers.select("offer_idx", "depth_share", "depth_abs", "visits"), on="offer_idx"
        )
        .pipe(_with_cost)
        .filter(pl.col("depth").is_not_null())
        .group_by("customer_pk")
        .agg(fair_depth=pl.min_horizontal(pl.col("depth"), tier_cap).max())
    )
    return pairs.join(fair, on="customer_pk", how="left").filter(
        (pl.col("expected_spend") >= pl.col("min_spend"))
        & pl.col("depth").is_not_null()
        & (pl.col("depth") <= tier_cap + _EPS)
        & (
            (pl.col("stage") == "active")
            | (pl.col("depth") <= pl.col("fair_depth").fill_null(0.0) + _EPS)
        )
    )


def _score(pairs: pl.DataFrame, w: FitWeights, frequent_days: float) -> pl.DataFrame:
    frequent = pl.col("expected_interval_days") <= frequent_days
    preference = (
        pl.when(pl.col("offer_preference").is_null())
        .then(0.0)
        .when((pl.col("offer_preference") == "price") == pl.col("is_price"))
        .then(w.preference)
        .otherwise(-w.preference)
    )
    frequency_fit = (
        pl.when(pl.col("frequency").is_null() | pl.col("expected_interval_days").is_null())
        .then(0.0)
        .when((pl.col("frequency") == "frequent") == frequent)
        .then(w.frequency)
        .otherwise(0.0)
    )
    fit = (
        w.category * pl.col("spend_share").fill_null(0.0)
        + pl.when(pl.col("reason_fit")).then(w.reason).otherwise(0.0)
        + preference
        + pl.when(pl.col("builds_habit")).then(w.habit).otherwise(0.0)
        + frequency_fit
        - w.depth * pl.col("depth")
    )
    return pairs.with_columns(fit=fit)


def _rank(scored: pl.DataFrame, menu_size: int) -> pl.DataFrame:
    """Keep the best offer of each kind, then the best ``menu_size`` kinds per customer.
    Ties: the cheaper option, then catalogue order."""
    ordered = scored.select(
        "customer_pk",
        "offer_idx",
        "kind_idx",
        "is_price",
        "builds_habit",
        "cost",
        "depth",
        "fit",
        "category_code",
        "replenishment_days",
        "expected_interval_days",
        "days_since_last",
        "expected_value",
    ).sort(["customer_pk", "fit", "depth", "offer_idx"], descending=[False, True, False, False])
    # The sort puts each customer's best offer of a kind first: keep first occurrences.
    kind_key = pl.col("customer_pk") * len(KINDS) + pl.col("kind_idx")
    best_of_kind = ordered.filter(kind_key.is_first_distinct())
    ranked = best_of_kind.with_columns(_pos=pl.int_range(pl.len(), dtype=pl.Int64)).with_columns(
        menu_rank=pl.col("_pos") - pl.col("_pos").min().over("customer_pk") + 1
    )
    return ranked.filter(pl.col("menu_rank") <= menu_size).drop("_pos")


def _timing(menu: pl.DataFrame, as_of: date, start: date, end: date) -> pl.DataFrame:
    as_of_day = pl.lit(as_of).cast(pl.Int64)
    start_day = pl.lit(start).cast(pl.Int64)
    end_day = pl.lit(end).cast(pl.Int64)
    interval = pl.coalesce(
        pl.col("replenishment_days").cast(pl.Float64), pl.col("expected_interval_days")
    )
    interval = pl.when(interval > 0).then(interval).otherwise(None)
    last = as_of_day - pl.col("days_since_last")
    steps = ((start_day - last) / interval).ceil().clip(lower_bound=1)
    nxt = (last + steps * interval).round(0).cast(pl.Int64)
    day = pl.min_horizontal(pl.max_horizontal(nxt, start_day), end_day)
    return menu.with_columns(contact_date=pl.coalesce(day, start_day).cast(pl.Date))


def _apply_budget(menu: pl.DataFrame, budget: float | None) -> tuple[pl.DataFrame, dict[str, Any]]:
    reserve = menu.group_by("customer_pk").agg(
        reserve=pl.col("cost").max(), value=pl.col("expected_value").first()
    )
    if budget is None:
        info = {
            "budget": None,
            "reserved": float(reserve["reserve"].sum()),
            "funded_customers": reserve.height,
            "unfunded_customers": 0,
        }
        return menu, info
    ratio = (
        pl.when(pl.col("reserve") <= 0)
        .then(pl.lit(float("inf")))
        .otherwise(pl.col("value").fill_null(0.0) / pl.col("reserve"))
    )
    funded = (
        reserve.with_columns(ratio=ratio)
        .sort(["ratio", "customer_pk"], descending=[True, False])
        .with_columns(funded=pl.col("reserve").cum_sum() <= budget + _EPS)
    )
    reserved = float(funded.filter("funded")["reserve"].sum())
    # What the funded customers leave over goes, in the same greedy way, to the others'
    # cheapest option (their menu shrinks to it) rather than to nothing.
    cheapest = (
        menu.group_by("customer_pk")
        .agg(cheapest=pl.col("cost").min())
        .join(funded.filter(~pl.col("funded")).select("customer_pk", "value"), on="customer_pk")
    )
    partly = cheapest.with_columns(
        ratio=pl.when(pl.col("cheapest") <= 0)
        .then(pl.lit(float("inf")))
        .otherwise(pl.col("value").fill_null(0.0) / pl.col("cheapest"))
    ).sort(["ratio", "customer_pk"], descending=[True, False])
    partly = partly.with_columns(
        partly=pl.col("cheapest").clip(lower_bound=0.0).cum_sum() <= budget - reserved + _EPS
    ).filter("partly")
    kept = (
        menu.join(funded.select("customer_pk", "funded"), on="customer_pk")
        .join(partly.select("customer_pk", "cheapest"), on="customer_pk", how="left")
        .filter(
            pl.col("funded")
            | (pl.col("cost") <= pl.col("cheapest").fill_null(0.0) + _EPS)
            | (pl.col("cost") <= 0)
        )
    )
    kept = kept.with_columns(
        menu_rank=pl.col("menu_rank").rank("ordinal").over("customer_pk").cast(pl.Int64)
    ).drop("funded", "cheapest")
    reserved += float(partly["cheapest"].clip(lower_bound=0.0).sum())
    n_funded = int(funded["funded"].sum())
    info = {
        "budget": float(budget),
        "reserved": reserved,
        "funded_customers": n_funded,
        "partly_funded_customers": partly.height,
        "unfunded_customers": funded.height - n_funded - partly.height,
    }
    return kept, info

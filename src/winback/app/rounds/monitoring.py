"""Did the round work? Treated vs control at +30/+60/+90 days from the database (R7).

The maths is :mod:`winback.programme.attribution` (the looks at +30/+60/+90 days, progress)
and :mod:`winback.programme.inference` (the round read at its pre-registered horizon, with
small-sample intervals, CUPED on the members' pre-period spend and visits, net margin and ROI
with intervals: what the verdict pools); this module reads the round's members, their orders,
lines and engagement in the outcome window and before the round, the offers chosen in the calls
and the agents' contacts, and hands them over.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import polars as pl
from django.core.cache import cache

from winback.app.rounds.lifecycle import close_after_days, state_of
from winback.app.rounds.planning import read_memberships
from winback.app.settings.profile import current_profile
from winback.programme.attribution import (
    HORIZONS,
    MEASUREMENT_DAYS,
    CostRates,
    effects_by_segment,
    retirement,
    round_effects,
    round_outcomes,
)
from winback.programme.design import RoundDesign
from winback.programme.inference import pre_period_window, round_cost
from winback.programme.menus import OfferMenu
from winback.programme.offer_bandit import option_results
from winback.reporting.metrics import round_estimate_row
from winback.store.programme.models import CallTask, Round, RoundStatus
from winback.store.queries import rounds as rounds_store


def primary_horizon(rnd: Round) -> int:
    """The horizon (days) the round was pre-registered to be judged at: its stored design's,
    or +90 days (``attribution.MEASUREMENT_DAYS``) for a round planned before designs."""
    design = RoundDesign.from_json(rnd.design)
    return design.horizon_days if design is not None else MEASUREMENT_DAYS


# A closed round's status is kept this long in Django's cache (its key changes when its data does).
STATUS_CACHE_SECONDS = 7 * 24 * 3600


def round_statuses_cached(
    rounds: Sequence[Round], as_of: date, *, n_boot: int
) -> list[dict[str, Any]]:
    """:func:`round_status` of each round as of ``as_of``; a round closed by then is read from
    Django's cache when its measurement's inputs have not changed since
    (``rounds_store.outcome_versions``: its calls and contacts, the orders, events and imports,
    the settings), else computed and cached. Rounds still running are always computed."""
    # only a round stopped by hand or ended before ``as_of`` can be closed by then
    ended = [r for r in rounds if r.status == RoundStatus.CLOSED or r.round_end < as_of]
    days = close_after_days() if ended else 0
    closed = [r for r in ended if state_of(r, as_of, after_days=days) == "closed"]
    versions = rounds_store.outcome_versions(round_ids=[r.pk for r in closed])
    out = []
    for rnd in rounds:
        if rnd.pk not in versions:
            out.append(round_status(rnd, as_of, n_boot=n_boot))
            continue
        stamp = json.dumps(
            [versions[rnd.pk], rnd.status, rnd.round_end, rnd.seed, rnd.design, days],
            sort_keys=True,
            default=str,
        )
        digest = hashlib.sha256(stamp.encode()).hexdigest()[:32]
        key = f"winback:round-status:{rnd.pk}:{as_of.isoformat()}:{n_boot}:{digest}"
        status = cache.get(key)
        if status is None:
            status = round_status(rnd, as_of, n_boot=n_boot)
            cache.set(key, status, timeout=STATUS_CACHE_SECONDS)
        out.append(status)
    return out


def round_status(rnd: Round, as_of: date, *, n_boot: int = 2000) -> dict[str, Any]:
    """The round's outcomes and effects as of ``as_of`` (data after it is ignored).

    ``horizons``: the +30/+60/+90 looks (progress); ``estimate``: the round at its
    pre-registered horizon ``primary_horizon`` with intervals (what the verdict reads once
    ``matured``)."""
    profile = current_profile()
    start = rnd.round_start
    primary = primary_horizon(rnd)
    horizons = tuple(sorted({*HORIZONS, primary}))
    last = min(as_of, start + timedelta(days=max(horizons) - 1))
    arms = rounds_store.round_arms(round_id=rnd.pk).with_columns(
        stratum=pl.format("{}|{}", pl.col("tier"), pl.col("stage"))
    )
    members = rounds_store.round_cohort(round_id=rnd.pk)
    orders = rounds_store.orders_between(cohort=members, start=start, end=last)
    lines = rounds_store.order_categories_between(cohort=members, start=start, end=last)
    events = rounds_store.events_between(cohort=members, start=start, end=last)
    offers = offers_made(rnd)
    contacts = rounds_store.round_contacts(round_id=rnd.pk, until=as_of)
    outcomes = round_outcomes(
        arms.select("customer_pk", "arm", "stratum"),
        round_start=start,
        orders=orders.with_columns(
            coupon_code=pl.when(pl.col("coupon_code") == "").then(None).otherwise("coupon_code")
        ),
        lines=lines,
        events=events,
        offers_made=offers,
        horizons=horizons,
        as_of=as_of,
    )
    rates = CostRates(
        call_minutes=profile.programme.call_minutes,
        minute_cost=profile.programme.agent_minute_cost,
        gross_margin=profile.gross_margin,
    )
    effects = round_effects(
        outcomes, seed=rnd.seed, rates=rates, contacts=contacts, offers_made=offers, n_boot=n_boot
    )
    pre = rounds_store.stored_pre_period(round_id=rnd.pk, **pre_period_window(start))
    estimate = _estimate(rnd, outcomes, effects, offers, pre, primary, as_of, rates, n_boot)
    options = option_results(
        rounds_store.presented_offers(round_ids=[rnd.pk]),
        outcomes.filter(pl.col("horizon") == primary),
        offers,
        gross_margin=rates.gross_margin,
    )
    return {
        "round_id": rnd.pk,
        "month": rnd.month.strftime("%Y-%m"),
        "as_of": as_of.isoformat(),
        "round_start": start.isoformat(),
        "treated": int((arms["arm"] == "treated").sum()),
        "control": int((arms["arm"] == "control").sum()),
        "contacts": contacts.height,
        "offers_chosen": offers.height,
        "horizons": effects.to_dicts(),
        "primary_horizon": primary,
        "estimate": estimate,
        # Per reason x tier x offer at the primary horizon: presented, redeemed, came back,
        # margin (winback.programme.offer_bandit.option_results).
        "offer_options": options.to_dicts(),
        "retirement": _retirement(rnd, as_of),
        "targeting": _targeting(rnd, outcomes, arms, primary),
    }


def _targeting(
    rnd: Round, outcomes: pl.DataFrame, arms: pl.DataFrame, horizon: int
) -> dict[str, Any]:
    """The round's targeting policy (from its plan summary) and the came-back uplift of its
    members chosen by priority and at random, at the pre-registered horizon."""
    info = (rnd.summary or {}).get("targeting") or {}
    groups = arms.select(
        "customer_pk",
        selected_by=pl.when(pl.col("selected_by").fill_null("") == "")
        .then(pl.lit("not_recorded"))
        .otherwise(pl.col("selected_by")),
    )
    by = (
        effects_by_segment(outcomes, groups, "selected_by", horizon=horizon)
        if outcomes.height
        else pl.DataFrame()
    )
    detail = info.get("detail") or {}
    return {
        "policy": info.get("policy") or "not_recorded",
        "model_version": info.get("model_version"),
        "random_share": info.get("random_share"),
        # The uplift model's cross-fitted Qini on the matured rounds it was trained on, as
        # the plan judged it (null when no model could be fitted then).
        "qini": detail.get("qini") if isinstance(detail, dict) else None,
        "by_selected_by": by.to_dicts(),
    }


def _estimate(
    rnd: Round,
    outcomes: pl.DataFrame,
    effects: pl.DataFrame,
    offers: pl.DataFrame,
    pre: pl.DataFrame,
    horizon: int,
    as_of: date,
    rates: CostRates,
    n_boot: int,
) -> dict[str, Any]:
    """The round at its pre-registered horizon, net of its cost (agent time and the offers
    redeemed by then, discounts counted once: see ``inference.round_cost``)."""
    at = outcomes.filter(pl.col("horizon") == horizon)
    # A round without one of its arms (stored before such rounds were refused) has no effect
    # rows: nothing is known at any horizon, so nothing is counted as cost or as matured.
    looks = effects.filter(pl.col("horizon") == horizon) if "horizon" in effects.columns else None
    look = (
        looks.row(0, named=True)
        if looks is not None and looks.height
        else {"agent_cost": 0.0, "matured": False}
    )
    redeemed = (
        at.filter((pl.col("arm") == "treated") & pl.col("offer_redeemed").fill_null(False))
        .select("customer_pk")
        .join(offers.select("customer_pk", "kind", "offer_cost"), on="customer_pk")
    )
    cost = round_cost(
        agent_cost=float(look["agent_cost"]),
        redeemed_offers=redeemed,
        gross_margin=rates.gross_margin,
    )
    return round_estimate_row(
        at.join(pre, on="customer_pk", how="left").with_columns(
            pl.col("pre_spend").fill_null(0.0), pl.col("pre_visits").fill_null(0.0)
        ),
        round_id=rnd.pk,
        month=rnd.month.strftime("%Y-%m"),
        horizon=horizon,
        matured_on=rnd.round_start + timedelta(days=horizon - 1),
        matured=bool(look["matured"]),
        cost=cost,
        gross_margin=rates.gross_margin,
        seed=rnd.seed,
        n_boot=n_boot,
    )


def offers_made(rnd: Round) -> pl.DataFrame:
    """The offer chosen on each task, with its category and cost from the task's menu."""
    rows = []
    for customer_id, code, menu in (
        CallTask.objects.filter(round=rnd)
        .exclude(offer_code="")
        .values_list("customer_id", "offer_code", "offer_menu")
    ):
        item = OfferMenu.from_json(menu).find(code)
        category, cost = (item.category or None, item.cost or 0.0) if item else (None, 0.0)
        kind = (item.kind or None) if item else None
        rows.append((customer_id, code, code, category, cost, kind))
    return pl.DataFrame(
        rows,
        schema={
            "customer_pk": pl.Int64(),
            "offer_code": pl.String(),
            "coupon_code": pl.String(),
            "category_code": pl.String(),
            "offer_cost": pl.Float64(),
            "kind": pl.String(),
        },
        orient="row",
    )


def _retirement(rnd: Round, as_of: date) -> dict[str, int]:
    memberships = read_memberships(rounds_store.round_cohort(round_id=rnd.pk))
    retire_after = current_profile().programme.retire_after_rounds
    result = retirement(memberships, retire_after=retire_after, as_of=as_of)
    return {
        "retire_after_rounds": retire_after,
        "retired": int(result["retired"].sum()),
        "one_or_more_rounds_without_return": int((result["rounds_without_return"] > 0).sum()),
    }

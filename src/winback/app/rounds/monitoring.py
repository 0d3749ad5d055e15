"""Did the round work? Treated vs control at +30/+60/+90 days from the database (R7).

The maths is :mod:`winback.programme.attribution`; this module reads the round's members,
their orders, lines and engagement in the outcome window, the offers chosen in the calls and
the agents' contacts, and hands them over.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import polars as pl

from winback.app.rounds.planning import read_memberships
from winback.app.settings.profile import current_profile
from winback.programme.attribution import (
    HORIZONS,
    CostRates,
    retirement,
    round_effects,
    round_outcomes,
)
from winback.programme.menus import OfferMenu
from winback.store.programme.models import CallTask, Round
from winback.store.queries import rounds as rounds_store


def round_status(rnd: Round, as_of: date, *, n_boot: int = 2000) -> dict[str, Any]:
    """The round's outcomes and effects as of ``as_of`` (data after it is ignored)."""
    profile = current_profile()
    start = rnd.round_start
    last = min(as_of, start + timedelta(days=max(HORIZONS) - 1))
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
        "retirement": _retirement(rnd, as_of),
    }


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
        rows.append((customer_id, code, code, category, cost))
    return pl.DataFrame(
        rows,
        schema={
            "customer_pk": pl.Int64(),
            "offer_code": pl.String(),
            "coupon_code": pl.String(),
            "category_code": pl.String(),
            "offer_cost": pl.Float64(),
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

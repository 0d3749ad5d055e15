"""The programme as a whole: the global holdout against the rest of the eligible base (R7).

When the profile sets ``programme.global_holdout_share`` above 0, that share of the whole
base (chosen by :func:`winback.programme.holdout.in_global_holdout`) is never contacted by the
programme (the contact gate's ``global_holdout`` reason). Comparing the came-back rate of the
held-out customers with that of the rest of the eligible base (lost or at risk in the analysis
the month's round would use) measures what the programme as a whole adds: every round, care
call and greeting together, not one round's calls.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import polars as pl

from winback.app.analysis.selectors import latest_analysis
from winback.app.contacts.gate import today as business_today
from winback.app.settings.profile import current_profile
from winback.periods import month_start
from winback.programme.attribution import MEASUREMENT_DAYS, newcombe_interval
from winback.programme.holdout import in_global_holdout
from winback.store.customers.models import Order
from winback.store.queries import rounds as rounds_store
from winback.vocabulary import ROUND_STATUSES

METHOD = "newcombe_hybrid_score"


def programme_effect(month: date, *, today: date | None = None) -> dict[str, Any] | None:
    """The rest of the eligible base minus the global holdout, in the share that came back
    within :data:`MEASUREMENT_DAYS` of ``month``'s first day, with its Newcombe interval.

    None when the global holdout is off or no analysis precedes the month. ``matured`` says
    whether the window has closed by ``today`` (an open window gives a partial reading)."""
    rules = current_profile().programme
    if rules.global_holdout_share <= 0 or rules.global_holdout_seed is None:
        return None
    start = month_start(month)
    run = latest_analysis(on_or_before=start)
    if run is None:
        return None
    base = rounds_store.snapshot_rows(snapshot_as_of=run.as_of, statuses=ROUND_STATUSES).select(
        "customer_pk"
    )
    end = start + timedelta(days=MEASUREMENT_DAYS)
    buyers = pl.DataFrame(
        {
            "customer_pk": list(
                Order.objects.filter(amount_cents__gt=0, order_date__gte=start, order_date__lt=end)
                .order_by()
                .values_list("customer_id", flat=True)
                .distinct()
            )
        },
        schema={"customer_pk": pl.Int64()},
    )
    ids = base["customer_pk"].to_numpy()
    judged = base.with_columns(
        held=pl.Series(
            in_global_holdout(ids, share=rules.global_holdout_share, seed=rules.global_holdout_seed)
        ),
        came_back=pl.col("customer_pk").is_in(buyers["customer_pk"].implode()),
    )
    counts = {
        held: (int(n), int(x))
        for held, n, x in judged.group_by("held")
        .agg(n=pl.len(), x=pl.col("came_back").sum())
        .iter_rows()
    }
    n_h, x_h = counts.get(True, (0, 0))
    n_r, x_r = counts.get(False, (0, 0))
    diff = low = high = None
    if n_h and n_r:
        d, lo, hi = newcombe_interval(x_r, n_r, x_h, n_h)
        diff, low, high = float(d), float(lo), float(hi)
    return {
        "month": start.isoformat(),
        "snapshot_as_of": run.as_of.isoformat(),
        "window_end": end.isoformat(),
        "matured": (today or business_today()) >= end,
        "share": rules.global_holdout_share,
        "holdout": {"customers": n_h, "came_back": x_h, "rate": x_h / n_h if n_h else None},
        "rest": {"customers": n_r, "came_back": x_r, "rate": x_r / n_r if n_r else None},
        "difference": diff,
        "interval": [low, high],
        "method": METHOD,
    }

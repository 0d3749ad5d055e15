"""Rounds made of generated customers, as ``round_status`` returns them (no database)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl

from winback.programme.attribution import newcombe_interval
from winback.reporting import metrics


def round_frame(
    *, n_treated: int, n_control: int, p_control: float, uplift: float, spend: float, seed: int
) -> pl.DataFrame:
    """One row per member: arm, came back, spend (log-normal among returners, mean ``spend``)
    and pre-period spend and visits correlated with it."""
    rng = np.random.default_rng(seed)
    n = n_treated + n_control
    treated = np.arange(n) < n_treated
    habit = rng.gamma(2.0, 0.5, n)  # a customer's own propensity, seen before and after
    p = np.clip((p_control + uplift * treated) * habit / habit.mean(), 0.0, 1.0)
    came_back = rng.random(n) < p
    amount = rng.lognormal(np.log(spend) - 0.32, 0.8, n) * came_back
    return pl.DataFrame(
        {
            "customer_pk": np.arange(1, n + 1),
            "arm": np.where(treated, "treated", "control"),
            "came_back": came_back,
            "spend": amount,
            "pre_spend": rng.poisson(habit * 2.0) * spend * 0.5,
            "pre_visits": rng.poisson(habit * 2.0).astype(np.float64),
        }
    )


def status(
    round_id: int,
    month: str,
    *,
    n_treated: int = 900,
    n_control: int = 100,
    p_control: float = 0.1,
    uplift: float = 0.0,
    spend: float = 300.0,
    cost: float = 0.0,
    matured: bool = True,
    horizon: int = 90,
    seed: int = 1,
    simulated: bool = True,
) -> dict[str, Any]:
    """A round's status: the look at ``horizon`` and the estimate at it."""
    frame = round_frame(
        n_treated=n_treated,
        n_control=n_control,
        p_control=p_control,
        uplift=uplift,
        spend=spend,
        seed=seed,
    )
    t = frame.filter(pl.col("arm") == "treated")
    c = frame.filter(pl.col("arm") == "control")
    x_t, x_c = int(t["came_back"].sum()), int(c["came_back"].sum())
    d, lo, hi = (float(v) for v in newcombe_interval(x_t, n_treated, x_c, n_control))
    start = date.fromisoformat(f"{month}-01")
    look = {
        "horizon": horizon,
        "matured": matured,
        "n_treated": n_treated,
        "n_control": n_control,
        "returned_treated": x_t,
        "returned_control": x_c,
        "p_treated": x_t / n_treated,
        "p_control": x_c / n_control,
        "uplift": d,
        "uplift_low": lo,
        "uplift_high": hi,
        "spend_treated": float(t["spend"].mean()),  # type: ignore[arg-type]
        "spend_control": float(c["spend"].mean()),  # type: ignore[arg-type]
    }
    estimate = metrics.round_estimate_row(
        frame,
        round_id=round_id,
        month=month,
        horizon=horizon,
        matured_on=start + timedelta(days=horizon - 1),
        matured=matured,
        cost=cost,
        gross_margin=0.35,
        seed=seed,
        n_boot=200,
        simulated=simulated,
    )
    return {
        "round_id": round_id,
        "month": month,
        "horizons": [look],
        "primary_horizon": horizon,
        "estimate": estimate,
        "simulated": simulated,
    }

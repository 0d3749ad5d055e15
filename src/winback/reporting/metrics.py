"""The monthly report's numbers, from frames and dicts (pure: no Django, no I/O, no clock).

:func:`build_report` turns the month's :class:`ReportInputs` into one plain structure per
section; the renderers (HTML, PDF, XLSX) and the sentences read only that structure, so a
figure is computed once (:mod:`winback.reporting.json_report` writes the same structure as
JSON). The statistics of the rounds and the verdict are :mod:`winback.programme.inference`'s:
each round read at its pre-registered horizon with small-sample intervals and CUPED, rounds
pooled as strata, and an always-valid interval for the monthly verdict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import polars as pl

from winback import vocabulary
from winback.periods import month_end, month_label, month_start, shift_month
from winback.programme import inference
from winback.programme.offer_bandit import OPTION_RESULTS
from winback.programme.playbooks import Playbooks
from winback.programme.reason_stats import department_actions, monthly_reason_stats
from winback.programme.taxonomy import Taxonomy

STAGES = vocabulary.STAGES
LAPSED_STAGES = vocabulary.LAPSED_STAGES
KPI_CODES = ("customers", "active", "at_risk", "lost", "early_warning")
PARETO_SHARES = (0.01, 0.05, 0.10, 0.20, 0.50)


@dataclass(frozen=True)
class MonthWindow:
    start: date
    end: date
    previous_start: date
    next_end: date

    @property
    def label(self) -> str:
        return month_label(self.start)


def month_window(day: date) -> MonthWindow:
    start = month_start(day)
    return MonthWindow(
        start=start,
        end=month_end(start),
        previous_start=shift_month(start, -1),
        next_end=month_end(shift_month(start, 1)),
    )


def month_key(as_of: date) -> str:
    """The month an analysis closes: one dated on the 1st scores the month before."""
    return month_label(as_of - timedelta(days=1))


def month_end_runs(days: list[date]) -> list[date]:
    """The last analysis of each closed month, oldest first."""
    latest: dict[str, date] = {}
    for day in sorted(days):
        latest[month_key(day)] = day
    return sorted(latest.values())


@dataclass
class ReportInputs:
    """What the database holds for a month (see ``winback.app.reports.service.gather``)."""

    window: MonthWindow
    current_as_of: date
    previous_as_of: date | None
    year_ago_as_of: date | None
    runs: list[dict[str, Any]]
    stage_flows: list[dict[str, Any]]
    tier_flow: pl.DataFrame
    early_warning: pl.DataFrame | None
    revenue_12m: pl.DataFrame
    rounds: list[dict[str, Any]]
    reason_records: pl.DataFrame
    taxonomy: Taxonomy
    playbooks: Playbooks
    agents: pl.DataFrame
    imports: pl.DataFrame
    ratings: pl.DataFrame | None = None  # RATINGS: supervisors' reviews of the month's contacts
    # The global holdout against the rest of the eligible base (winback.app.rounds.
    # global_holdout.programme_effect); None when the global holdout is off.
    programme_holdout: dict[str, Any] | None = None
    # The effect on the came-back rate the business hopes for (the rounds' designs): turned
    # into net margin per treated customer, it sizes "how many more customers" when the
    # measured effect is still too close to zero to do so.
    hoped_effect: float | None = None
    gross_margin: float = 0.35
    currency: str = "CNY"
    industry: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def build_report(inputs: ReportInputs) -> dict[str, Any]:
    """Every section's figures and tables (tables are Polars frames)."""
    run_by_day = {r["as_of"]: r for r in inputs.runs}
    money = money_section(
        inputs.rounds,
        inputs.window,
        hoped_effect=inputs.hoped_effect,
        gross_margin=inputs.gross_margin,
    )
    looks, estimates = money["looks"], money["rounds"]
    flows = _current_flow(inputs)
    return {
        "month": inputs.window.label,
        "as_of": inputs.current_as_of,
        "previous_as_of": inputs.previous_as_of,
        "year_ago_as_of": inputs.year_ago_as_of,
        "currency": inputs.currency,
        "industry": inputs.industry,
        "taxonomy": inputs.taxonomy,
        "playbooks": inputs.playbooks,
        "simulated_sections": simulated_sections(inputs),
        "verdict": money["verdict"],
        "kpis": kpi_table(
            run_by_day[inputs.current_as_of]["counts"],
            _counts(run_by_day, inputs.previous_as_of),
            _counts(run_by_day, inputs.year_ago_as_of),
        ),
        "stages": stage_history(inputs.runs),
        "flows": flows,
        "lost_won": lost_won_trend(inputs.stage_flows),
        "rounds": estimates,
        "looks": looks,
        "lift": won_back_lift(looks),
        "targeting": targeting_table(inputs.rounds),
        "reasons": reason_section(inputs),
        "tiers": tier_movements(inputs.tier_flow),
        "pareto": pareto(inputs.revenue_12m),
        "early_warning": {
            **early_warning_precision(inputs.early_warning),
            "stored": stored_precision(run_by_day[inputs.current_as_of].get("model")),
        },
        "history": history_notice(run_by_day[inputs.current_as_of].get("model")),
        "agents": agent_effort(inputs.agents, inputs.ratings),
        "roi": money["roi"],
        "offers": offer_table(inputs.rounds),
        "programme_holdout": programme_holdout(inputs.programme_holdout),
        "audit": audit_summary(run_by_day[inputs.current_as_of]["audit"]),
        "quality": data_quality(inputs.imports),
    }


def money_section(
    statuses: list[dict[str, Any]],
    window: MonthWindow,
    *,
    hoped_effect: float | None,
    gross_margin: float,
) -> dict[str, Any]:
    """The report's money: the rounds' looks, their estimates at the pre-registered horizon
    (revenue per customer, incremental margin, cost, net and ROI with intervals), the ROI table
    and the programme verdict pooling the matured ones, from ``round_status`` results. The
    monthly report and the workbench's money view both read these, so they cannot differ."""
    looks = round_table(statuses)
    estimates = estimate_table(statuses)
    return {
        "looks": looks,
        "rounds": estimates,
        "roi": roi_table(estimates),
        "verdict": verdict(
            estimates,
            controls_per_month=controls_per_month(estimates, window),
            hoped_effect=hoped_net_per_treated(looks, estimates, hoped_effect, gross_margin),
        ),
    }


def simulated_sections(inputs: ReportInputs) -> list[str]:
    """Sections whose figures come (partly) from simulated contacts, to be labelled so."""
    sections: list[str] = []
    if any(r.get("simulated") for r in inputs.rounds):
        sections += ["verdict", "rounds", "lift", "roi", "offers"]
    if inputs.agents.filter(pl.col("simulated")).height:
        sections.append("agents")
    if "simulated" in inputs.reason_records.columns and inputs.reason_records["simulated"].any():
        sections.append("reasons")
    return sections


def _counts(run_by_day: dict[date, dict[str, Any]], day: date | None) -> dict[str, Any] | None:
    return run_by_day[day]["counts"] if day is not None and day in run_by_day else None


# --- headline KPIs ----------------------------------------------------------------------------


def kpi_values(counts: dict[str, Any]) -> dict[str, int]:
    status = counts.get("status", {})
    return {
        "customers": int(sum(counts.get("stage", {}).values())),
        "active": int(status.get("active", 0)),
        "at_risk": int(status.get("at_risk", 0)),
        "lost": int(status.get("lost", 0)),
        "early_warning": int(counts.get("early_warning", {}).get("true", 0)),
    }


def kpi_table(
    current: dict[str, Any], previous: dict[str, Any] | None, year_ago: dict[str, Any] | None
) -> pl.DataFrame:
    """One row per KPI: value now, last month, a year ago, and the changes (null if unknown)."""
    now = kpi_values(current)
    prev = kpi_values(previous) if previous is not None else None
    year = kpi_values(year_ago) if year_ago is not None else None
    return pl.DataFrame(
        {
            "kpi": list(KPI_CODES),
            "value": [now[k] for k in KPI_CODES],
            "previous": [prev[k] if prev else None for k in KPI_CODES],
            "year_ago": [year[k] if year else None for k in KPI_CODES],
        },
        schema={
            "kpi": pl.String(),
            "value": pl.Int64(),
            "previous": pl.Int64(),
            "year_ago": pl.Int64(),
        },
    ).with_columns(
        change_previous=pl.col("value") - pl.col("previous"),
        change_year=pl.col("value") - pl.col("year_ago"),
    )


# --- lifecycle --------------------------------------------------------------------------------


def stage_history(runs: list[dict[str, Any]], months: int = 12) -> pl.DataFrame:
    """Customers by stage at each month's last analysis, the last ``months`` months."""
    ends = month_end_runs([r["as_of"] for r in runs])[-months:]
    by_day = {r["as_of"]: r["counts"].get("stage", {}) for r in runs}
    rows = [
        (month_key(day), day, stage, int(by_day[day].get(stage, 0)))
        for day in ends
        for stage in STAGES
    ]
    return pl.DataFrame(
        rows,
        schema={
            "month": pl.String(),
            "as_of": pl.Date(),
            "stage": pl.String(),
            "customers": pl.Int64(),
        },
        orient="row",
    )


def _current_flow(inputs: ReportInputs) -> pl.DataFrame:
    for pair in inputs.stage_flows:
        if pair["after"] == inputs.current_as_of:
            return _order_flow(pair["flow"])
    return pl.DataFrame(schema={"from": pl.String(), "to": pl.String(), "customers": pl.Int64()})


def _order_flow(flow: pl.DataFrame) -> pl.DataFrame:
    order = {s: i for i, s in enumerate(("new", *STAGES))}
    return (
        flow.with_columns(
            _a=pl.col("from").replace_strict(order, default=99),
            _b=pl.col("to").replace_strict(order, default=99),
        )
        .sort("_a", "_b")
        .drop("_a", "_b")
    )


def flow_counts(flow: pl.DataFrame) -> dict[str, int]:
    """Newly lost (not lost before, lost now) and won back (sleeping or lost before, active
    now) in one stage-flow table."""

    def total(mask: pl.Expr) -> int:
        return int(flow.filter(mask)["customers"].sum())

    lost = total((pl.col("to") == "lost") & (pl.col("from") != "lost"))
    won = total(pl.col("from").is_in(LAPSED_STAGES) & (pl.col("to") == "active"))
    return {"newly_lost": lost, "won_back": won, "net": won - lost}


def lost_won_trend(stage_flows: list[dict[str, Any]]) -> pl.DataFrame:
    rows = [(month_key(pair["after"]), *flow_counts(pair["flow"]).values()) for pair in stage_flows]
    return pl.DataFrame(
        rows,
        schema={
            "month": pl.String(),
            "newly_lost": pl.Int64(),
            "won_back": pl.Int64(),
            "net": pl.Int64(),
        },
        orient="row",
    )


# --- rounds -----------------------------------------------------------------------------------

# The monthly looks at a round (+30/+60/+90 days): progress, one row per round and horizon.
# Only the look at the round's pre-registered horizon (``primary``) enters the verdict.
# Did the purchases keep what the calls promised (R7)? Computed per look by
# winback.programme.attribution.round_effects: of the treated customers who chose an offer,
# the share who bought with its coupon; of those whose offer was for one of their categories,
# the share who bought in it (null when none).
PROMISE_COLUMNS: dict[str, pl.DataType] = {
    "offer_redemption_rate": pl.Float64(),
    "category_match_rate": pl.Float64(),
}

ROUND_COLUMNS: dict[str, pl.DataType] = {
    "round_id": pl.Int64(),
    "round": pl.String(),
    "simulated": pl.Boolean(),
    "horizon": pl.Int64(),
    "primary": pl.Boolean(),
    "matured": pl.Boolean(),
    "n_treated": pl.Int64(),
    "n_control": pl.Int64(),
    "returned_treated": pl.Int64(),
    "returned_control": pl.Int64(),
    "p_treated": pl.Float64(),
    "p_control": pl.Float64(),
    "uplift": pl.Float64(),
    "uplift_low": pl.Float64(),
    "uplift_high": pl.Float64(),
    "spend_treated": pl.Float64(),
    "spend_control": pl.Float64(),
    "revenue_uplift": pl.Float64(),
    "revenue_uplift_low": pl.Float64(),
    "revenue_uplift_high": pl.Float64(),
    "re_engaged_treated": pl.Float64(),
    "re_engaged_control": pl.Float64(),
    **PROMISE_COLUMNS,
}

# One row per round, read at its pre-registered horizon (winback.programme.inference): what the
# round table shows and the verdict pools. ``matured``: the horizon has passed (only matured
# rounds enter the verdict; the others are shown with their interval so far).
ROUND_ESTIMATE_COLUMNS: dict[str, pl.DataType] = {
    "round_id": pl.Int64(),
    "round": pl.String(),
    "simulated": pl.Boolean(),
    "horizon": pl.Int64(),
    "matured_on": pl.Date(),
    "matured": pl.Boolean(),
    "n_treated": pl.Int64(),
    "n_control": pl.Int64(),
    "returned_treated": pl.Int64(),
    "returned_control": pl.Int64(),
    "p_treated": pl.Float64(),
    "p_control": pl.Float64(),
    "return_diff": pl.Float64(),
    "return_low": pl.Float64(),
    "return_high": pl.Float64(),
    "return_var": pl.Float64(),
    "revenue_diff": pl.Float64(),
    "revenue_low": pl.Float64(),
    "revenue_high": pl.Float64(),
    "revenue_var": pl.Float64(),
    "revenue_diff_unadjusted": pl.Float64(),
    "revenue_low_unadjusted": pl.Float64(),
    "revenue_high_unadjusted": pl.Float64(),
    "revenue_var_unadjusted": pl.Float64(),
    "cuped": pl.Boolean(),
    "gross_margin": pl.Float64(),
    "incremental_margin": pl.Float64(),
    "margin_low": pl.Float64(),
    "margin_high": pl.Float64(),
    "cost": pl.Float64(),
    "net": pl.Float64(),
    "net_low": pl.Float64(),
    "net_high": pl.Float64(),
    "roi": pl.Float64(),
    "roi_low": pl.Float64(),
    "roi_high": pl.Float64(),
    "interval_method": pl.String(),
    **PROMISE_COLUMNS,
}


# The targeting policies actually used: per matured round, its policy and, for its members
# chosen by priority and those chosen at random, the came-back uplift (treated - control) at
# the pre-registered horizon with its Newcombe interval; figures null ("not known") when the
# group has fewer control customers than ``inference.MIN_CONTROLS``.
TARGETING_COLUMNS: dict[str, pl.DataType] = {
    "round_id": pl.Int64(),
    "round": pl.String(),
    "policy": pl.String(),
    "model_version": pl.String(),
    "random_share": pl.Float64(),
    "selected_by": pl.String(),
    "n_treated": pl.Int64(),
    "n_control": pl.Int64(),
    "returned_treated": pl.Int64(),
    "returned_control": pl.Int64(),
    "uplift": pl.Float64(),
    "uplift_low": pl.Float64(),
    "uplift_high": pl.Float64(),
    "known": pl.Boolean(),
    "qini": pl.Float64(),
    "qini_low": pl.Float64(),
    "qini_high": pl.Float64(),
    "auuc": pl.Float64(),
    "qini_rounds": pl.Int64(),
}


def targeting_table(statuses: list[dict[str, Any]]) -> pl.DataFrame:
    """One row per matured round and ``selected_by`` group (module constant above), from
    ``round_status`` results carrying ``targeting``."""
    rows = []
    for s in statuses:
        t = s.get("targeting")
        if not t or not (s.get("estimate") or {}).get("matured"):
            continue
        qini = t.get("qini") or {}
        for g in t.get("by_selected_by", []):
            known = int(g.get("n_control") or 0) >= inference.MIN_CONTROLS
            rows.append(
                {
                    "round_id": s["round_id"],
                    "round": s["month"],
                    "policy": t.get("policy"),
                    "model_version": t.get("model_version"),
                    "random_share": t.get("random_share"),
                    "selected_by": g.get("selected_by"),
                    "n_treated": g.get("n_treated"),
                    "n_control": g.get("n_control"),
                    "returned_treated": g.get("returned_treated"),
                    "returned_control": g.get("returned_control"),
                    "uplift": g.get("uplift") if known else None,
                    "uplift_low": g.get("uplift_low") if known else None,
                    "uplift_high": g.get("uplift_high") if known else None,
                    "known": known,
                    "qini": qini.get("qini"),
                    "qini_low": qini.get("qini_low"),
                    "qini_high": qini.get("qini_high"),
                    "auuc": qini.get("auuc"),
                    "qini_rounds": len(qini.get("rounds") or []) or None,
                }
            )
    return pl.DataFrame(rows, schema=TARGETING_COLUMNS)


def round_table(statuses: list[dict[str, Any]]) -> pl.DataFrame:
    """The looks: one row per round and horizon, from ``round_status`` results."""
    rows = [
        {
            **{k: h.get(k) for k in ROUND_COLUMNS if k in h},
            "round_id": s["round_id"],
            "round": s["month"],
            "simulated": bool(s.get("simulated")),
            "primary": h.get("horizon") == s.get("primary_horizon"),
        }
        for s in statuses
        for h in s["horizons"]
    ]
    return pl.DataFrame(rows, schema=ROUND_COLUMNS)


def round_estimate_row(
    frame: pl.DataFrame,
    *,
    round_id: int,
    month: str,
    horizon: int,
    matured_on: date,
    matured: bool,
    cost: float,
    gross_margin: float,
    seed: int,
    n_boot: int = 2000,
    simulated: bool = False,
) -> dict[str, Any]:
    """One round at its pre-registered ``horizon``: ``frame`` holds one row per member with
    ``arm``, ``came_back``, ``spend`` and the pre-period covariates ``pre_spend`` and
    ``pre_visits`` (CUPED); ``cost`` is :func:`winback.programme.inference.round_cost`."""
    est = inference.round_estimate(
        frame, cost=cost, gross_margin=gross_margin, seed=seed, n_boot=n_boot
    ).to_dict()
    n_t, n_c = est["n_treated"], est["n_control"]
    return {
        **{k: est.get(k) for k in ROUND_ESTIMATE_COLUMNS if k in est},
        "round_id": round_id,
        "round": month,
        "simulated": simulated,
        "horizon": horizon,
        "matured_on": matured_on,
        "matured": matured,
        "p_treated": est["returned_treated"] / n_t if n_t else None,
        "p_control": est["returned_control"] / n_c if n_c else None,
    }


def estimate_table(statuses: list[dict[str, Any]]) -> pl.DataFrame:
    """The round table: one row per round at its pre-registered horizon, oldest first."""
    rows = [
        {**s["estimate"], **_promises_at_primary(s), "simulated": bool(s.get("simulated"))}
        for s in statuses
        if s.get("estimate") is not None
    ]
    return pl.DataFrame(rows, schema=ROUND_ESTIMATE_COLUMNS).sort("matured_on", "round_id")


def _promises_at_primary(status: dict[str, Any]) -> dict[str, Any]:
    """The offer redemption and category match of the round's look at its pre-registered
    horizon (the same figures as that look's row)."""
    look: dict[str, Any] = next(
        (
            h
            for h in status.get("horizons", ())
            if h.get("horizon") == status.get("primary_horizon")
        ),
        {},
    )
    return {k: look.get(k) for k in PROMISE_COLUMNS}


def latest_matured(rounds: pl.DataFrame) -> pl.DataFrame:
    """Each round's matured look at its pre-registered horizon (the others are progress)."""
    return rounds.filter(pl.col("matured") & pl.col("primary")).sort("round_id")


VERDICT_EXTRA = (
    "rounds_total",
    "horizons",
    "controls_per_month",
    "hoped_net_per_treated",
    "simulated",
)


def verdict(
    estimates: pl.DataFrame,
    *,
    controls_per_month: float | None = None,
    hoped_effect: float | None = None,
    level: float = 0.95,
) -> dict[str, Any]:
    """Worth continuing? The programme verdict of :func:`winback.programme.inference.
    programme_verdict` on the matured rounds, each at its pre-registered horizon.

    ``decision`` is ``continue`` (the always-valid lower bound of the pooled incremental margin
    minus cost is above zero), ``stop`` (its upper bound is below zero) or ``not_yet_known``
    (with the customers, or months at ``controls_per_month``, still needed). Every key is
    always present (``None`` when unknown), so the JSON document keeps stable keys.
    """
    matured = estimates.filter(pl.col("matured")).sort("matured_on", "round_id")
    result = inference.programme_verdict(
        matured,
        level=level,
        hoped_effect=hoped_effect,
        controls_per_month=controls_per_month,
    ).to_dict()
    return {
        **result,
        "rounds_total": estimates.height,
        "horizons": sorted({int(h) for h in matured["horizon"].to_list()}),
        "controls_per_month": controls_per_month,
        "hoped_net_per_treated": hoped_effect,
        "simulated": bool(matured["simulated"].any()) if matured.height else False,
    }


def hoped_net_per_treated(
    looks: pl.DataFrame, estimates: pl.DataFrame, hoped_effect: float | None, gross_margin: float
) -> float | None:
    """The hoped-for effect on the came-back rate as net margin per treated customer:
    ``hoped_effect x spend per returning customer x gross margin - cost per treated customer``,
    from the matured rounds (spend per returner from the control arms, which the programme did
    not touch; the treated arms when no control customer came back). ``None`` without matured
    rounds or when even the hoped-for effect would not pay for the contacts."""
    primary = latest_matured(looks)
    matured = estimates.filter(pl.col("matured"))
    if hoped_effect is None or primary.height == 0 or matured.height == 0:
        return None
    spend_per_returner = None
    for arm in ("control", "treated"):
        returners = float(primary[f"returned_{arm}"].fill_null(0).sum())
        if returners > 0:
            spent = (primary[f"spend_{arm}"].fill_null(0.0) * primary[f"n_{arm}"]).sum()
            spend_per_returner = float(spent) / returners
            break
    treated = float(matured["n_treated"].sum())
    if spend_per_returner is None or treated <= 0:
        return None
    cost_per_treated = float(matured["cost"].fill_null(0.0).sum()) / treated
    value = hoped_effect * spend_per_returner * gross_margin - cost_per_treated
    return value if value > 0 else None


def controls_per_month(estimates: pl.DataFrame, window: MonthWindow) -> float | None:
    """The pace at which control customers arrive: the rounds' control customers over the
    months from the first round's month to the reported month."""
    if estimates.height == 0:
        return None
    first = month_start(date.fromisoformat(f"{min(estimates['round'].to_list())}-01"))
    months = (window.start.year - first.year) * 12 + window.start.month - first.month + 1
    return float(estimates["n_control"].sum()) / max(months, 1)


def won_back_lift(rounds: pl.DataFrame) -> pl.DataFrame:
    """Spend per customer and engagement, treated vs control, of each matured round at its
    pre-registered horizon."""
    return latest_matured(rounds).select(
        "round",
        "horizon",
        "simulated",
        "spend_treated",
        "spend_control",
        "revenue_uplift",
        "revenue_uplift_low",
        "revenue_uplift_high",
        "re_engaged_treated",
        "re_engaged_control",
    )


OFFER_TABLE: dict[str, pl.DataType] = {
    "round": pl.String(),
    "matured": pl.Boolean(),
    "simulated": pl.Boolean(),
    **OPTION_RESULTS,
}


def offer_table(rounds: list[dict[str, Any]]) -> pl.DataFrame:
    """Results per offer option (reason x tier x offer) of every round, at its pre-registered
    horizon, from ``round_status``'s ``offer_options``; most presented first per round."""
    rows = [
        {
            "round": r["month"],
            "matured": bool((r.get("estimate") or {}).get("matured", False)),
            "simulated": bool(r.get("simulated", False)),
            **option,
        }
        for r in rounds
        for option in r.get("offer_options") or []
    ]
    frame = pl.DataFrame(rows, schema=OFFER_TABLE) if rows else pl.DataFrame(schema=OFFER_TABLE)
    return frame.sort(
        ["round", "presented", "reason_code", "tier", "offer_code"],
        descending=[False, True, False, False, False],
    )


def roi_table(estimates: pl.DataFrame) -> pl.DataFrame:
    """Every round's incremental margin, cost, net and ROI with their intervals."""
    return estimates.select(
        "round",
        "horizon",
        "matured",
        "simulated",
        "incremental_margin",
        "margin_low",
        "margin_high",
        "cost",
        "net",
        "net_low",
        "net_high",
        "roi",
        "roi_low",
        "roi_high",
    )


def programme_holdout(effect: dict[str, Any] | None) -> dict[str, Any] | None:
    """The programme as a whole: the came-back rate of the eligible customers outside the
    global holdout minus that of the holdout (who are never contacted), with its Newcombe
    interval, for the latest month whose +90-day window has closed. None when it is off."""
    if effect is None:
        return None
    held, rest = effect["holdout"], effect["rest"]
    low, high = effect["interval"]
    return {
        "month": effect["month"][:7],
        "snapshot_as_of": date.fromisoformat(effect["snapshot_as_of"]),
        "window_end": date.fromisoformat(effect["window_end"]),
        "matured": bool(effect["matured"]),
        "share": effect["share"],
        "holdout_customers": held["customers"],
        "holdout_came_back": held["came_back"],
        "holdout_rate": held["rate"],
        "rest_customers": rest["customers"],
        "rest_came_back": rest["came_back"],
        "rest_rate": rest["rate"],
        "difference": effect["difference"],
        "low": low,
        "high": high,
        "method": effect["method"],
    }


# --- reasons ----------------------------------------------------------------------------------


def reason_section(inputs: ReportInputs) -> dict[str, Any]:
    stats = monthly_reason_stats(inputs.reason_records, inputs.window.start, inputs.taxonomy)
    reasons = stats.filter(
        (pl.col("level") == "reason") & (pl.col("count") + pl.col("prev_count") > 0)
    )
    actions = department_actions(stats, inputs.playbooks, inputs.taxonomy)
    return {
        "stats": reasons.select(
            "code", "group", "count", "share", "prev_count", "prev_share", "change"
        ),
        "groups": stats.filter(pl.col("level") == "group").select(
            "code", "count", "share", "change"
        ),
        "actions": actions,
        "total": int(reasons["count"].sum()),
        "prev_total": int(reasons["prev_count"].sum()),
    }


# --- tiers, 80/20, early warning ---------------------------------------------------------------


def tier_movements(flow: pl.DataFrame) -> dict[str, Any]:
    """Tier 1 is the highest: a smaller number after is an upgrade."""
    known = flow.filter(
        pl.col("from").str.contains(r"^\d+$") & pl.col("to").str.contains(r"^\d+$")
    ).with_columns(pl.col("from").cast(pl.Int64).alias("a"), pl.col("to").cast(pl.Int64).alias("b"))

    def total(mask: pl.Expr) -> int:
        return int(known.filter(mask)["customers"].sum())

    return {
        "matrix": flow.sort("from", "to"),
        "up": total(pl.col("b") < pl.col("a")),
        "down": total(pl.col("b") > pl.col("a")),
        "same": total(pl.col("b") == pl.col("a")),
    }


def pareto(revenue: pl.DataFrame) -> dict[str, Any]:
    """Share of twelve-month revenue earned by the top 1/5/10/20/50% of buyers."""
    spend = revenue.filter(pl.col("amount_cents") > 0).sort("amount_cents", descending=True)
    total = float(spend["amount_cents"].sum())
    n = spend.height
    cumulative = spend["amount_cents"].cum_sum()
    rows = []
    for share in PARETO_SHARES:
        k = max(1, math.ceil(n * share)) if n else 0
        rows.append((share, k, float(cumulative[k - 1]) / total if k and total else 0.0))
    top_80 = int((cumulative < 0.8 * total).sum()) + 1 if n else 0
    return {
        "table": pl.DataFrame(
            rows,
            schema={
                "top_share": pl.Float64(),
                "customers": pl.Int64(),
                "revenue_share": pl.Float64(),
            },
            orient="row",
        ),
        "buyers": n,
        "revenue": total / 100,
        "customers_for_80": top_80,
        "share_for_80": top_80 / n if n else 0.0,
    }


def early_warning_precision(frame: pl.DataFrame | None) -> dict[str, Any]:
    """Of the customers flagged at the previous analysis (not lost then), the share lost now,
    against the share among all customers not lost then (the base rate)."""
    if frame is None or frame.height == 0:
        return {
            "available": False,
            "flagged": 0,
            **dict.fromkeys(
                (
                    "flagged_lapsed",
                    "precision",
                    "base_customers",
                    "base_lapsed",
                    "base_rate",
                    "lift",
                    "recall",
                )
            ),
        }

    def total(mask: pl.Expr) -> int:
        return int(frame.filter(mask)["customers"].sum())

    flagged = total(pl.col("flagged"))
    hits = total(pl.col("flagged") & pl.col("lapsed"))
    base_n = total(pl.lit(True))
    lapsed = total(pl.col("lapsed"))
    precision = hits / flagged if flagged else None
    base = lapsed / base_n if base_n else None
    return {
        "available": True,
        "flagged": flagged,
        "flagged_lapsed": hits,
        "precision": precision,
        "base_customers": base_n,
        "base_lapsed": lapsed,
        "base_rate": base,
        "lift": precision / base if precision is not None and base else None,
        "recall": hits / lapsed if lapsed else None,
    }


PRECISION_LOOKBACKS = ("1m", "3m")


def stored_precision(model: Any) -> dict[str, Any]:
    """The early-warning precision the analysis stored (``model["early_warning_precision"]``):
    at about one and three months, each None when there was no analysis that long before."""
    stored = model.get("early_warning_precision") if isinstance(model, dict) else None
    stored = stored if isinstance(stored, dict) else {}
    return {
        key: stored[key] if isinstance(stored.get(key), dict) else None
        for key in PRECISION_LOOKBACKS
    }


def history_notice(model: Any) -> dict[str, Any]:
    """Whether the analysis leaned on priors for lack of history (``priors_used``) and whether
    at-risk status follows the base rate (``status_rule``); read defensively."""
    model = model if isinstance(model, dict) else {}
    used = model.get("priors_used")
    priors = [str(p) for p in used if isinstance(p, str)] if isinstance(used, list) else []
    base_rate = model.get("status_rule") == "base_rate"
    return {"shown": bool(priors) or base_rate, "priors_used": priors, "base_rate": base_rate}


# --- agents, audit, data quality ---------------------------------------------------------------

REACHED = ("reached", "refused", "call_back", "do_not_contact")
# One row per reviewed contact attempt: its agent and the rating (1-5) it was given.
RATINGS: dict[str, pl.DataType] = {"agent": pl.String(), "rating": pl.Int64()}


def agent_effort(frame: pl.DataFrame, ratings: pl.DataFrame | None = None) -> dict[str, Any]:
    """Contacts, reach rate and outcomes per agent for the month's contact attempts, and the
    supervisors' quality ratings of those contacts (average per agent, 1-5)."""
    per_agent = (
        frame.group_by("agent")
        .agg(
            contacts=pl.col("attempts").sum(),
            reached=pl.col("attempts").filter(pl.col("outcome").is_in(REACHED)).sum(),
            refused=pl.col("attempts").filter(pl.col("outcome") == "refused").sum(),
            simulated=pl.col("attempts").filter(pl.col("simulated")).sum(),
        )
        .with_columns(reach_rate=pl.col("reached") / pl.col("contacts"))
        .sort("contacts", "agent", descending=[True, False])
    )
    rated = ratings if ratings is not None else pl.DataFrame(schema=RATINGS)
    by_agent = rated.group_by("agent").agg(
        reviews=pl.len().cast(pl.Int64), avg_rating=pl.col("rating").cast(pl.Float64).mean()
    )
    per_agent = per_agent.join(by_agent, on="agent", how="left").with_columns(
        pl.col("reviews").fill_null(0)
    )
    contacts = int(per_agent["contacts"].sum())
    reached = int(per_agent["reached"].sum())
    outcomes = frame.group_by("outcome").agg(contacts=pl.col("attempts").sum()).sort("outcome")
    return {
        "table": per_agent,
        "outcomes": outcomes,
        "contacts": contacts,
        "reached": reached,
        "reach_rate": reached / contacts if contacts else None,
        "agents": per_agent.height,
        "simulated": int(per_agent["simulated"].sum()),
        "reviews": rated.height,
        "avg_rating": float(rated["rating"].mean()) if rated.height else None,  # type: ignore[arg-type]
    }


def audit_summary(audit: dict[str, Any]) -> dict[str, Any]:
    indicators = audit.get("indicators") or []
    table = pl.DataFrame(
        [
            (
                i.get("code"),
                i.get("auc"),
                i.get("weight"),
                bool(i.get("used")),
                i.get("recommendation"),
                ", ".join(i.get("reasons") or []),
            )
            for i in indicators
        ],
        schema={
            "indicator": pl.String(),
            "auc": pl.Float64(),
            "weight": pl.Float64(),
            "used": pl.Boolean(),
            "recommendation": pl.String(),
            "reasons": pl.String(),
        },
        orient="row",
    ).sort("auc", descending=True, nulls_last=True)
    return {
        "table": table,
        "customers": audit.get("customers"),
        "positives": audit.get("positives"),
        "keep": int((table["recommendation"] == "keep").sum()),
        "drop": int((table["recommendation"] != "keep").sum()),
        "best": table["indicator"][0] if table.height else None,
        "best_auc": table["auc"][0] if table.height else None,
    }


def data_quality(imports: pl.DataFrame) -> dict[str, Any]:
    """Rows read and rejected per import kind, and rejected rows by cause."""
    batches = imports.unique("batch_id")
    by_kind = (
        batches.group_by("kind")
        .agg(read=pl.col("read").sum(), rejected=pl.col("rejected").sum())
        .with_columns(reject_rate=pl.col("rejected") / pl.col("read"))
        .sort("rejected", "kind", descending=[True, False])
    )
    by_cause = (
        imports.filter(pl.col("rows") > 0)
        .group_by("cause")
        .agg(rows=pl.col("rows").sum())
        .sort("rows", "cause", descending=[True, False])
    )
    read, rejected = int(batches["read"].sum()), int(batches["rejected"].sum())
    return {
        "by_kind": by_kind,
        "by_cause": by_cause,
        "read": read,
        "rejected": rejected,
        "reject_rate": rejected / read if read else None,
        "batches": batches.height,
    }

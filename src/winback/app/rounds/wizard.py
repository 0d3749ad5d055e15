"""The supervisor's round pages: the round wizard's previews, creating a round, the round board.

Every figure the wizard shows comes from :func:`winback.app.rounds.planning.prepare_plan`,
the planner ``winback round plan`` runs, on the same inputs: the preview is a dry run of the
plan that the Create button stores with :func:`winback.app.rounds.service.plan_round`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from winback.app.contacts.offer_budget import committed_cost, round_budget
from winback.app.reports.money import REPORT_BOOTSTRAP, has_outcomes
from winback.app.rounds.agents import agent_progress, attempt_counts, open_holders
from winback.app.rounds.agents import totals as agent_totals
from winback.app.rounds.monitoring import round_statuses_cached
from winback.app.rounds.planning import active_agents, prepare_plan
from winback.app.settings.profile import current_profile
from winback.app.settings.rules import current_rules
from winback.programme.offer_bandit import UNKNOWN_REASON
from winback.programme.rounds import EXCLUSION_CAUSES
from winback.reporting.charts import lift_chart, rounds_chart, to_svg
from winback.reporting.metrics import round_table, won_back_lift
from winback.store.customers.models import ContactOutcome
from winback.store.programme.models import (
    Arm,
    CallTask,
    Round,
    RoundMember,
    TaskStatus,
)

# The board's treated-vs-control intervals: as many bootstrap draws as the monthly report.
BOARD_BOOTSTRAP = REPORT_BOOTSTRAP
PREVIEW_SEED = 0  # exclusions do not depend on the seed

CAUSE_LABELS = {
    "do_not_contact": _("Asked not to be contacted"),
    "no_consent": _("No marketing consent"),
    "over_contact_cap": _("Contact limit reached"),
    "open_complaint": _("Open complaint (complaints team)"),
    "global_holdout": _("In the programme's global holdout"),
    "in_active_round": _("In another round or a control group still measured"),
    "recently_treated": _("Treated in a round that started less than the set days ago"),
    "retired": _("Retired after rounds without return"),
    "no_reachable_channel": _("No reachable channel (no phone number or e-mail on file)"),
    "outside_allowed_hours": _("Outside allowed contact hours"),
}


@dataclass(frozen=True)
class Pool:
    """Step 1 of the wizard: which customers the round draws from."""

    month: date
    statuses: tuple[str, ...]
    tiers: tuple[int, ...] | None  # None = every tier
    stages: tuple[str, ...] | None  # None = every stage except prospect


def exclusion_preview(pool: Pool) -> dict[str, Any]:
    """Step 2: candidates and exclusions by cause, as the plan would count them."""
    prepared = prepare_plan(
        pool.month,
        seed=PREVIEW_SEED,
        tiers=pool.tiers,
        statuses=pool.statuses,
        stages=pool.stages,
    )
    s = prepared.plan.summary
    return {
        "snapshot_as_of": s["snapshot_as_of"],
        "candidates": s["candidates"],
        "excluded": s["excluded"],
        "eligible": s["eligible"],
        "excluded_by_cause": dict(s["excluded_by_cause"]),
        "causes": [
            (code, str(CAUSE_LABELS[code]), int(s["excluded_by_cause"][code]))
            for code in EXCLUSION_CAUSES
        ],
        "existing": Round.objects.filter(month=pool.month).first(),
    }


def assignment_preview(pool: Pool, *, holdout: float, seed: int) -> dict[str, Any]:
    """Step 4: treated/control sizes and customers per agent with capacity and seniority."""
    prepared = prepare_plan(
        pool.month,
        holdout=holdout,
        seed=seed,
        tiers=pool.tiers,
        statuses=pool.statuses,
        stages=pool.stages,
    )
    s = prepared.plan.summary
    days = int(s["working_days"])
    per_agent: dict[str, int] = s["per_agent"]
    agents = [
        {
            "username": u.get_username(),
            "seniority": u.seniority,
            "daily_capacity": u.daily_capacity,
            "capacity": u.daily_capacity * days,
            "assigned": int(per_agent.get(str(u.pk), 0)),
        }
        for u in active_agents()
    ]
    return {
        "summary": s,
        "working_days": days,
        "agents": agents,
        "holdout": holdout,
        "seed": seed,
        "design": design_shown(s["design"]),
        "targeting": targeting_shown(s.get("targeting") or {}, s.get("not_worth_a_call")),
    }


POLICY_LABELS = {
    "uplift_model": _("Uplift model"),
    "measured_segments": _("Measured segments"),
    "stage_priors": _("Stage priors"),
}
UPLIFT_CLASS_LABELS = {
    "persuadable": _("Persuadable (a call moves them)"),
    "sure_thing": _("Sure thing (comes back anyway)"),
    "lost_cause": _("Lost cause (unlikely to come back either way)"),
    "do_not_disturb": _("Do not disturb (a call makes a return less likely)"),
    "unknown": _("Not known"),
}
SELECTED_BY_LABELS = {
    "priority": _("By priority (expected incremental margin)"),
    "random": _("At random (so the model keeps learning)"),
}


def targeting_shown(targeting: dict[str, Any], not_worth: int | None) -> dict[str, Any]:
    """The round's targeting policy, random share and counts, with translated labels."""
    counts = targeting.get("counts", {})
    selected = counts.get("uplift_class", {})
    eligible = counts.get("eligible_uplift_class", {})
    policy = str(targeting.get("policy", ""))
    return {
        "policy": policy,
        "policy_label": str(POLICY_LABELS.get(policy, policy or "-")),
        "model_version": targeting.get("model_version") or "-",
        "random_share_shown": _pct(targeting.get("random_share")),
        "not_worth_a_call": not_worth,
        "selected_by": [
            (code, str(label), int(counts.get("selected_by", {}).get(code, 0)))
            for code, label in SELECTED_BY_LABELS.items()
        ],
        "classes": [
            (code, str(label), int(eligible.get(code, 0)), int(selected.get(code, 0)))
            for code, label in UPLIFT_CLASS_LABELS.items()
        ],
    }


BASE_RATE_LABELS = {
    "past_controls": _("came-back rate of past control groups"),
    "predicted": _("predicted return probability of the candidates"),
    "default": _("configured default"),
}


def design_shown(design: dict[str, Any]) -> dict[str, Any]:
    """The design's figures as the wizard shows them, with its warnings as flags."""
    warnings = set(design.get("warnings", []))
    return {
        **design,
        "base_rate_shown": _pct(design.get("base_rate")),
        "base_rate_label": str(BASE_RATE_LABELS.get(design.get("base_rate_source", ""), "-")),
        "hoped_shown": _pct(design.get("hoped_effect")),
        "mde_shown": _pct(design.get("mde")),
        "power_shown": _pct(design.get("power_for_hoped")),
        "target_power_shown": _pct(design.get("target_power")),
        "below_floor": "control_below_floor" in warnings,
        "underpowered": "control_too_small_for_hoped_effect" in warnings,
    }


def default_holdout() -> float:
    return float(current_profile().programme.holdout_share)


# --- the board ---------------------------------------------------------------------------------


def round_list() -> list[dict[str, Any]]:
    """Rounds, newest first, with arm sizes and call progress (three queries)."""
    rounds = list(Round.objects.order_by("-month", "-pk")[:60])
    ids = [r.pk for r in rounds]
    members = {
        (r, a): n
        for r, a, n in RoundMember.objects.filter(round_id__in=ids)
        .values_list("round_id", "arm")
        .order_by()
        .annotate(n=Count("pk"))
    }
    tasks = {
        (r, s): n
        for r, s, n in CallTask.objects.filter(round_id__in=ids)
        .values_list("round_id", "status")
        .order_by()
        .annotate(n=Count("pk"))
    }
    return [
        {
            "round": r,
            "treated": members.get((r.pk, Arm.TREATED.value), 0),
            "control": members.get((r.pk, Arm.CONTROL.value), 0),
            "open": tasks.get((r.pk, TaskStatus.OPEN.value), 0),
            "done": tasks.get((r.pk, TaskStatus.DONE.value), 0),
            "closed": tasks.get((r.pk, TaskStatus.CLOSED.value), 0),
        }
        for r in rounds
    ]


def report_lang(lang: str) -> str:
    """The monthly report's language code for a Django language code."""
    return "en" if lang.startswith("en") else "zh"


def round_board(rnd: Round, *, as_of: date, lang: str) -> dict[str, Any]:
    """Progress by agent (:mod:`winback.app.rounds.agents`), outcome counts and the
    +30/+60/+90 effects with their intervals."""
    # one grouped read of the attempts serves the agents' table and the outcomes' table
    attempts = attempt_counts(rnd)
    agents = agent_progress(rnd, as_of=as_of, attempts=attempts)
    outcome_counts: dict[str, int] = {}
    for _agent, _name, outcome, n in attempts:
        outcome_counts[outcome] = outcome_counts.get(outcome, 0) + n
    outcomes = [
        (code, str(label), int(outcome_counts.get(code, 0)))
        for code, label in ContactOutcome.choices
    ]
    # a closed round's status comes from the cache while its data is unchanged
    status = round_statuses_cached([rnd], as_of, n_boot=BOARD_BOOTSTRAP)[0]
    frame = round_table([status])
    report = {
        "looks": frame,
        "lift": won_back_lift(frame),
        "currency": current_profile().currency,
    }
    rlang = report_lang(lang)
    charts = {}
    # A round just started (no look matured, nobody back yet) has nothing to draw: the board
    # says "no outcomes yet" instead of an empty interval chart.
    outcomes_yet = has_outcomes(status)
    for name, build in (("uplift", rounds_chart), ("spend", lift_chart)):
        chart = build(report, rlang) if outcomes_yet else None
        if chart is not None:
            charts[name] = to_svg(chart)
    return {
        "round": rnd,
        "agents": agents,
        "holders": open_holders(agents),
        "totals": agent_totals(agents),
        "outcomes": outcomes,
        "attempts": sum(n for _, _, n in outcomes),
        "status": status,
        "horizons": [
            {**_shown(h), "primary": h["horizon"] == status["primary_horizon"]}
            for h in status["horizons"]
        ],
        "estimate": _estimate_shown(status["estimate"]),
        "offer_options": _options_shown(status["offer_options"], lang),
        "offer_budget": _offer_budget(rnd),
        "charts": charts,
        "has_outcomes": outcomes_yet,
        "as_of": as_of,
    }


def _options_shown(options: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    """Results per offer option (reason x tier x offer) with labels and percentages, most
    presented first."""
    rules = current_rules()
    names = {o.code: o.label(lang) for o in rules.catalogue.offers}
    rows = sorted(options, key=lambda o: (-o["presented"], o["reason_code"], o["tier"]))
    return [
        {
            **o,
            "reason": (
                _("Not known yet")
                if o["reason_code"] == UNKNOWN_REASON
                else rules.taxonomy.label(o["reason_code"], lang)
            ),
            "offer": names.get(o["offer_code"], o["offer_code"]),
            "redemption_shown": _pct(o["redemption_rate"]),
            "came_back_shown": _pct(o["came_back_rate"]),
            "margin_shown": _money(o["option_margin"]),
        }
        for o in rows
    ]


def _offer_budget(rnd: Round) -> dict[str, Any] | None:
    """The round's offer budget and what accepted offers have committed of it so far."""
    budget = round_budget(rnd)
    if budget is None:
        return None
    return {"budget": _money(budget), "committed": _money(committed_cost(rnd.pk))}


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _shown(horizon: dict[str, Any]) -> dict[str, Any]:
    """A horizon's figures with the rates and the uplift interval as percentages."""
    return {
        **horizon,
        "treated_rate": _pct(horizon.get("p_treated")),
        "control_rate": _pct(horizon.get("p_control")),
        "uplift_shown": _pct(horizon.get("uplift")),
        # what the calls promised and the purchases kept (round_status computes both)
        "redemption_shown": _pct(horizon.get("offer_redemption_rate")),
        "category_match_shown": _pct(horizon.get("category_match_rate")),
        "interval_shown": (
            f"[{_pct(horizon['uplift_low'])}, {_pct(horizon['uplift_high'])}]"
            if horizon.get("uplift_low") is not None
            else "-"
        ),
    }


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _interval(low: float | None, high: float | None, fmt: Callable[[float | None], str]) -> str:
    return "-" if low is None or high is None else f"[{fmt(low)}, {fmt(high)}]"


def _estimate_shown(e: dict[str, Any]) -> dict[str, Any]:
    """The round at its pre-registered horizon: return rate, revenue per customer, net margin
    (incremental margin minus cost) and ROI, each with its 95% interval, formatted."""

    def ratio(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    return {
        **e,
        "rows": [
            (
                _("Came back (difference)"),
                _pct(e["return_diff"]),
                _interval(e["return_low"], e["return_high"], _pct),
            ),
            (
                _("Revenue per customer (difference)"),
                _money(e["revenue_diff"]),
                _interval(e["revenue_low"], e["revenue_high"], _money),
            ),
            (
                _("Net margin (incremental margin minus cost)"),
                _money(e["net"]),
                _interval(e["net_low"], e["net_high"], _money),
            ),
            (
                _("ROI (net margin / cost)"),
                ratio(e["roi"]),
                _interval(e["roi_low"], e["roi_high"], ratio),
            ),
        ],
    }

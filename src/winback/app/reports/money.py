"""The supervisor's money view: revenue won back, cost, margin and ROI with their intervals, per
round (the round board) and for the programme (the dashboard).

Nothing here is computed differently from the monthly report: a round's figures are its
``round_status`` estimate (the row ``winback report --format json`` writes under ``rounds``),
the programme's are the report's ``verdict``, both made by
:func:`winback.reporting.metrics.money_section` from the same ``round_status`` results with the
same number of bootstrap draws. The only arithmetic added is what the report leaves to the
reader: revenue won back is the report's revenue difference per treated customer times the
treated customers, and the cost is split into the calls (agent time) and the offers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.utils.translation import gettext as _

from winback.app.actors import Actor, Permission, require
from winback.app.rounds.monitoring import round_status
from winback.app.settings.profile import current_profile
from winback.periods import month_end
from winback.programme.inference import MIN_CONTROLS
from winback.reporting.metrics import money_section, month_window
from winback.store.programme.models import Round

# As many bootstrap draws as ``winback report`` (``monthly_report``'s default): with the round's
# own seed, the same draws give the same intervals.
REPORT_BOOTSTRAP = 500

# What a figure says about the money.
PAYS = "pays"
DOES_NOT_PAY = "does_not_pay"
NOT_KNOWN = "not_known_yet"
NO_OUTCOMES = "no_outcomes_yet"
NO_MATURED = "no_matured_rounds"


@dataclass(frozen=True)
class Figure:
    """One money figure with its 95% interval (``low``/``high`` None when it has none) and
    how it is shown (``yuan`` or ``ratio``)."""

    key: str
    label: str
    value: float | None
    low: float | None
    high: float | None
    unit: str = "yuan"

    @property
    def covers_zero(self) -> bool:
        return self.low is not None and self.high is not None and self.low <= 0 <= self.high


def _scaled(value: float | None, n: int) -> float | None:
    return None if value is None else value * n


def _finding(net_low: float | None, net_high: float | None, n_control: int) -> str:
    """``pays`` when the net margin's interval lies above zero, ``does_not_pay`` below it,
    ``not_known_yet`` when it covers zero or there are too few control customers (the
    report's rule for its verdict)."""
    if n_control < MIN_CONTROLS or net_low is None or net_high is None:
        return NOT_KNOWN
    if net_low > 0:
        return PAYS
    if net_high < 0:
        return DOES_NOT_PAY
    return NOT_KNOWN


def _figures(
    row: dict[str, Any], *, agent_cost: float | None, margin_interval: bool
) -> list[Figure]:
    n = int(row.get("n_treated") or 0)
    cost = row.get("cost")
    calls = agent_cost if agent_cost is not None and cost is not None else None
    figures = [
        Figure(
            "revenue",
            _("Revenue won back"),
            _scaled(row.get("revenue_diff"), n),
            _scaled(row.get("revenue_low"), n),
            _scaled(row.get("revenue_high"), n),
        ),
        Figure("cost", _("Cost (calls and offers)"), cost, None, None),
        Figure("cost_calls", _("of which calls (agent time)"), calls, None, None),
        Figure(
            "cost_offers",
            _("of which offers redeemed"),
            None if calls is None or cost is None else cost - calls,
            None,
            None,
        ),
        Figure(
            "margin",
            _("Incremental gross margin"),
            row.get("incremental_margin"),
            row.get("margin_low") if margin_interval else None,
            row.get("margin_high") if margin_interval else None,
        ),
        Figure(
            "net",
            _("Net margin (margin minus cost)"),
            row.get("net"),
            row.get("net_low"),
            row.get("net_high"),
        ),
        Figure(
            "roi",
            _("ROI (net margin / cost)"),
            row.get("roi"),
            row.get("roi_low"),
            row.get("roi_high"),
            unit="ratio",
        ),
    ]
    if calls is None:  # the programme's pooled cost is not split
        figures = [f for f in figures if f.key not in ("cost_calls", "cost_offers")]
    return figures


def has_outcomes(status: dict[str, Any]) -> bool:
    """Whether the round has anything to show yet: both arms have members, and a look has
    matured or a member has come back. A round just started has neither: its intervals are
    all around a difference of nothing, so the board says "no outcomes yet" instead."""
    est = status["estimate"]
    if not (est.get("n_treated") and est.get("n_control")) or est.get("revenue_diff") is None:
        return False
    return any(
        bool(h.get("matured"))
        or (h.get("returned_treated") or 0) + (h.get("returned_control") or 0) > 0
        for h in status["horizons"]
    )


def round_money_from_status(status: dict[str, Any]) -> dict[str, Any]:
    """A round's money from its ``round_status`` (the report's ``rounds`` row)."""
    est = status["estimate"]
    primary = status["primary_horizon"]
    look: dict[str, Any] = next((h for h in status["horizons"] if h.get("horizon") == primary), {})
    n_treated, n_control = int(est.get("n_treated") or 0), int(est.get("n_control") or 0)
    outcomes = has_outcomes(status)
    return {
        "round_id": status["round_id"],
        "month": status["month"],
        "as_of": status["as_of"],
        "horizon": est.get("horizon"),
        "matured": bool(est.get("matured")),
        "n_treated": n_treated,
        "n_control": n_control,
        "finding": _finding(est.get("net_low"), est.get("net_high"), n_control)
        if outcomes
        else NO_OUTCOMES,
        "figures": _figures(est, agent_cost=look.get("agent_cost"), margin_interval=True)
        if outcomes
        else [],
    }


def round_money(
    actor: Actor, rnd: Round, *, as_of: date, status: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The round's money as of ``as_of`` (a month's last day gives the figures of that
    month's report). ``status``: the round's ``round_status`` as of the same day, when the
    caller has it already (the board does), read instead of computed again."""
    require(actor, Permission.VIEW_REPORTS)
    if status is None or status["round_id"] != rnd.pk or status["as_of"] != as_of.isoformat():
        status = round_status(rnd, as_of, n_boot=REPORT_BOOTSTRAP)
    return round_money_from_status(status)


def report_as_of(month: date) -> date:
    """The day the monthly report for ``month`` reads the rounds on: its last day."""
    return month_end(month)


def programme_money(actor: Actor, month: date) -> dict[str, Any]:
    """The programme's money for ``month`` as its report has it: the rounds started in the
    twelve months to the month's end, pooled over the matured ones (the report's verdict)."""
    require(actor, Permission.VIEW_REPORTS)
    from winback.app.reports.service import round_statuses

    window = month_window(month)
    profile = current_profile()
    statuses = round_statuses(window, REPORT_BOOTSTRAP)
    money = money_section(
        statuses,
        window,
        hoped_effect=profile.programme.hoped_effect,
        gross_margin=profile.gross_margin,
    )
    v = money["verdict"]
    rounds = [round_money_from_status(s) for s in statuses]
    matured = int(v.get("rounds") or 0)
    return {
        "month": window.label,
        "as_of": window.end,
        "decision": v["decision"],
        "reason": v["reason"],
        "matured_rounds": matured,
        "rounds_total": int(v.get("rounds_total") or 0),
        "n_treated": int(v.get("n_treated") or 0),
        "n_control": int(v.get("n_control") or 0),
        "months_needed": v.get("months_needed"),
        "finding": NO_MATURED
        if matured == 0
        else {"continue": PAYS, "stop": DOES_NOT_PAY}.get(v["decision"], NOT_KNOWN),
        # The verdict pools margins without an interval of their own; net margin and ROI
        # carry the always-valid interval the decision is made on.
        "figures": _figures(v, agent_cost=None, margin_interval=False) if matured else [],
        "rounds": list(reversed(rounds)),
    }


def previous_month(today: date) -> date:
    """The first day of the month before ``today``'s."""
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def parse_month(text: str | None) -> date | None:
    """``YYYY-MM`` as the month's first day; None when absent or not a month."""
    if not text:
        return None
    try:
        return date.fromisoformat(f"{text.strip()[:7]}-01")
    except ValueError:
        return None


def report_months(today: date, count: int = 12) -> list[date]:
    """The months a supervisor can read the money of: the last ``count`` before ``today``'s,
    newest first (the current month's report is not written until it ends)."""
    months = [previous_month(today)]
    while len(months) < count:
        months.append(previous_month(months[-1]))
    return months

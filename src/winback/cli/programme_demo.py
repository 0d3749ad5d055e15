"""The programme part of the demo: monthly rounds over the last months of the history.

For each month: analyse as of its first day, plan the round, let simulated agents work it
(won-back treated customers get extra purchases; control customers keep their natural
history), and show how the earlier rounds are doing.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _
from rich.console import Console
from rich.table import Table

from winback.app.actors import Actor
from winback.app.analysis.service import analyze
from winback.app.rounds.service import (
    ControlTooSmall,
    demo_team,
    plan_round,
    round_status,
    simulate_round_contacts,
)
from winback.periods import month_start
from winback.store.programme.models import Round

DEMO_SEED = 20240101


def run_programme_demo(
    *, ground_truth: Path, months: list[date], console: Console, response: str | None = None
) -> list[dict[str, Any]]:
    """Run one round per month; returns one record per month (plan, simulation, monitoring).

    ``response`` is the simulated customers' response to a call (``realistic`` or ``large``);
    None uses the generated world's (recorded in its ground truth)."""
    level = world_response(ground_truth, response)
    console.print(response_line(level))
    agents = demo_team()
    records: list[dict[str, Any]] = []
    rounds: list[Round] = []
    for i, month in enumerate(sorted(months)):
        start = month_start(month)
        analyze(start)
        # The demo's rounds are small: they are planned with the override, which their design
        # records, and their reports carry the design's warning.
        try:
            rnd = plan_round(
                Actor.system("demo"),
                month=start,
                seed=DEMO_SEED + i,
                agents=agents,
                allow_small_control=True,
            ).round
        except ControlTooSmall:
            console.print(
                _("%(month)s: no round; too few eligible customers to keep a control group.")
                % {"month": f"{start:%Y-%m}"}
            )
            continue
        simulated = simulate_round_contacts(
            rnd, ground_truth, seed=DEMO_SEED + 100 + i, response=level
        )
        statuses = [round_status(r, start, n_boot=500) for r in rounds]
        console.print(plan_table(rnd, simulated))
        for status in statuses:
            console.print(status_table(status))
        records.append(
            {
                "round_id": rnd.pk,
                "month": start.isoformat(),
                "plan": rnd.summary,
                "simulation": simulated,
                "monitoring": statuses,
            }
        )
        rounds.append(rnd)
    return records


def world_response(ground_truth: Path, response: str | None) -> str:
    """The response level the rounds are simulated with: ``response``, else the world's."""
    import polars as pl

    from winback.simulate.agents import truth_response

    columns = pl.read_parquet_schema(ground_truth)
    truth = pl.read_parquet(ground_truth, columns=["response"]) if "response" in columns else None
    return truth_response(truth if truth is not None else pl.DataFrame(), response)


def response_line(level: str) -> str:
    if level == "large":
        return _(
            "Simulated response to a call: large (a third or more of the called customers come "
            "back; for demonstrations)."
        )
    return _(
        "Simulated response to a call: realistic (a few points more of the called customers "
        "come back than of the control group; a demo-sized round is too small to confirm it)."
    )


def plan_table(rnd: Round, simulated: dict[str, Any]) -> Table:
    s = rnd.summary
    table = Table(title=f"Round {rnd.pk} {rnd.month:%Y-%m} / 第 {rnd.pk} 轮")
    for col in ("candidates", "excluded", "control", "treated", "contacts", "won back"):
        table.add_column(col, justify="right")
    table.add_row(
        str(s["candidates"]),
        str(s["excluded"]),
        str(s["control"]),
        str(s["treated"]),
        str(simulated["contacts"]),
        str(simulated["won_back"]),
    )
    return table


def status_table(status: dict[str, Any]) -> Table:
    """The +30/+60/+90 looks (progress; * not matured yet) and, in the caption, the round at its
    pre-registered horizon: net margin and ROI with their 95% intervals."""
    e = status["estimate"]
    primary = status["primary_horizon"]
    caption = (
        f"+{primary} (pre-registered / 预先登记"
        + ("" if e["matured"] else ", not matured / 未到期")
        + f"): net {_num(e['net'])} [{_num(e['net_low'])}, {_num(e['net_high'])}], "
        f"ROI {_num(e['roi'])} [{_num(e['roi_low'])}, {_num(e['roi_high'])}], "
        f"control {e['n_control']}"
    )
    table = Table(
        title=f"Round {status['round_id']} {status['month']} as of {status['as_of']} / 监测",
        caption=caption,
    )
    for col in ("+days", "treated", "control", "uplift [95% CI]", "revenue/cust [95% CI]"):
        table.add_column(col, justify="right")
    for h in status["horizons"]:
        table.add_row(
            f"+{h['horizon']}"
            + ("" if h["horizon"] == primary else " progress")
            + ("" if h["matured"] else "*"),
            _pct(h["p_treated"]),
            _pct(h["p_control"]),
            f"{_pct(h['uplift'])} [{_pct(h['uplift_low'])}, {_pct(h['uplift_high'])}]",
            f"{_num(h['revenue_uplift'])} [{_num(h['revenue_uplift_low'])}, "
            f"{_num(h['revenue_uplift_high'])}]",
        )
    return table


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"

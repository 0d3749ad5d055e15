"""`winback care due`: care contacts, greetings and a day list for the living base (R10);
`winback care plan`: the same made into the agents' care tasks (as the workbench does)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from winback.cli.common import (
    console,
    django_setup,
    operator,
    os_user,
    out,
    parse_day,
    print_json,
)
from winback.spreadsheet_safety import guard_frame

care_app = typer.Typer(help="Care plans for active customers: cadences, greetings, day lists.")


def register(app: typer.Typer, export_app: typer.Typer) -> None:
    del export_app
    app.add_typer(care_app, name="care")


@care_app.command("due")
def due(
    on: str = typer.Option(..., "--date", help="The day to plan (YYYY-MM-DD)."),
    days: int = typer.Option(7, "--days", help="Look this many days ahead."),
    capacity: int = typer.Option(40, "--capacity", help="Tasks one agent handles a day."),
    out_dir: Path | None = typer.Option(None, "--out", help="Folder for the three CSV lists."),
    as_json: bool = typer.Option(False, "--json", help="Print counts as JSON."),
) -> None:
    """What is due: class-cadence visits and calls, birthday and holiday greetings, a day list."""
    django_setup()
    from winback.app.care.service import care_plan

    plan = care_plan(parse_day(on), days=days, capacity=capacity)
    counts = {
        "as_of": plan.as_of.isoformat(),
        "snapshot_as_of": plan.snapshot_as_of.isoformat() if plan.snapshot_as_of else None,
        "contacts_due": plan.contacts_due.height,
        "greetings": plan.greetings.height,
        "on_day_list": int(plan.day_list["on_list"].sum()),
        "by_quadrant": {
            str(q): n
            for q, n in plan.day_list.group_by("quadrant").len().sort("quadrant").iter_rows()
        },
    }
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in ("contacts_due", "greetings", "day_list"):
            guard_frame(getattr(plan, name)).write_csv(out_dir / f"{name}-{plan.as_of}.csv")
        counts["out"] = str(out_dir)
    if as_json:
        print_json(counts)
        return
    if plan.snapshot_as_of is None:
        console.print("No analysis on or before this date: run `winback analyze` first.")
    table = Table(title=f"Care plan {plan.as_of} (+{days} days)")
    table.add_column("what")
    table.add_column("count", justify="right")
    for key in ("contacts_due", "greetings", "on_day_list"):
        table.add_row(key, f"{counts[key]:,}")
    for quadrant, n in counts["by_quadrant"].items():  # type: ignore[union-attr]
        table.add_row(f"day list, quadrant {quadrant}", f"{n:,}")
    out.print(table)


@care_app.command("plan")
def plan(
    start: str | None = typer.Option(None, "--from", help="First day (YYYY-MM-DD; today)."),
    end: str | None = typer.Option(None, "--to", help="Last day (YYYY-MM-DD; 6 days on)."),
    as_user: str | None = typer.Option(
        None, "--as", help="Plan as this workbench user (a supervisor or admin)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Make the care calls, visits and greetings due in the days into the agents' tasks."""
    django_setup()
    from winback.app.care.tasks import materialise

    first = parse_day(start) if start else _today()
    last = parse_day(end) if end else first + timedelta(days=6)
    made = materialise(_actor(as_user), first, last)
    payload = {
        "from": made.start.isoformat(),
        "to": made.end.isoformat(),
        "created": made.created,
        "due": made.due,
        "left_over": made.left_over,
        "by_agent": made.by_agent,
    }
    if as_json:
        print_json(payload)
        return
    table = Table(title=f"Care tasks {made.start} - {made.end}")
    table.add_column("agent")
    table.add_column("tasks", justify="right")
    for name, n in made.by_agent.items():
        table.add_row(name, f"{n:,}")
    out.print(table)
    out.print(f"created {made.created:,}; due {made.due:,}; no free agent {made.left_over:,}")


def _today() -> date:
    from winback.app.contacts.gate import today

    return today()


def _actor(as_user: str | None):  # type: ignore[no-untyped-def]
    from winback.app.actors import Actor

    if as_user:
        return operator(as_user, "plan_round")
    return Actor.system(f"cli:{os_user()}")


def plan_for_demo(console: Console) -> dict[str, int]:
    """The demo's last step: a week of care tasks for the demo agents (who are made first)."""
    from winback.app.accounts.demo_users import ensure_demo_users
    from winback.app.actors import Actor
    from winback.app.care.tasks import materialise

    ensure_demo_users()
    first = _today()
    made = materialise(Actor.system("demo"), first, first + timedelta(days=6))
    from django.utils.translation import gettext as _

    agents = ", ".join(f"{k} {v:,}" for k, v in made.by_agent.items()) or "-"
    console.print(
        _("Care tasks for %(first)s to %(last)s: %(count)s (%(agents)s)")
        % {"first": first, "last": made.end, "count": f"{made.created:,}", "agents": agents}
    )
    return made.by_agent

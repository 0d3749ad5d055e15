"""`winback round plan|export|status|list|close-due`: the monthly win-back rounds (R6, R7)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from winback.cli.common import (
    SPARK_CONF_OPTION,
    SPARK_MASTER_OPTION,
    console,
    django_setup,
    operator,
    os_user,
    out,
    parse_day,
    parse_month,
    print_json,
)
from winback.periods import month_label

round_app = typer.Typer(help="Monthly win-back rounds: plan, export call lists, monitor.")


def register(app: typer.Typer, export_app: typer.Typer) -> None:
    del export_app
    app.add_typer(round_app, name="round")


def _(message: str) -> str:
    from django.utils.translation import gettext

    return gettext(message)


@round_app.command("plan")
def plan(
    month: str = typer.Option(..., "--month", help="The round's month (YYYY-MM)."),
    holdout: float | None = typer.Option(
        None, "--holdout", help="Control group share (default: the profile's)."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Random seed (recorded)."),
    agents: Path | None = typer.Option(
        None, "--agents", help="CSV with username, seniority, daily_capacity."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
    allow_small_control: bool = typer.Option(
        False,
        "--allow-small-control",
        help="Store the round even if its control group is below the floor (recorded).",
    ),
    replace: bool = typer.Option(
        False,
        "--replace",
        help="Plan the month again, replacing its round if no contact has been logged on it.",
    ),
    engine: str = typer.Option(
        "database",
        "--engine",
        help="Who reads the candidates' inputs: database (default) or spark (Apache Spark).",
    ),
    lake: Path | None = typer.Option(
        None,
        "--lake",
        help="With --engine spark: read the behaviour streams from this data lake (winback "
        "export --format parquet) instead of staging the database as one.",
    ),
    master: str | None = SPARK_MASTER_OPTION,
    spark_conf: list[str] = SPARK_CONF_OPTION,
) -> None:
    """Plan a month's round from the latest analysis on or before its first day.

    One round per month: planning a month again is refused unless --replace is given (and
    only while no contact is logged on the month's round)."""
    first = parse_month(month)
    if engine not in ("database", "spark"):
        raise typer.BadParameter(_("choose database or spark"), param_hint="--engine")
    if lake is not None and engine != "spark":
        raise typer.BadParameter(_("a lake is read with --engine spark"), param_hint="--lake")
    if lake is not None and not lake.is_dir():
        raise typer.BadParameter(_("not a folder: %(path)s") % {"path": lake}, param_hint="--lake")
    from winback.analytics.spark_engine import parse_conf

    try:
        conf = parse_conf(spark_conf)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--spark-conf") from exc
    django_setup()
    from winback.app.actors import Actor
    from winback.app.analysis.spark import SparkOptions
    from winback.app.rounds.service import (
        CandidateReader,
        ControlTooSmall,
        NoSnapshotError,
        RoundExists,
        RoundHasContacts,
        RoundInProgress,
        SparkUnavailable,
        demo_team,
        ensure_agents,
        plan_round,
        read_agents_csv,
    )

    try:
        team = ensure_agents(read_agents_csv(agents)) if agents else demo_team()
        rnd = plan_round(
            Actor.system("cli"),
            month=first,
            holdout=holdout,
            seed=seed,
            agents=team,
            allow_small_control=allow_small_control,
            replace=replace,
            reader=CandidateReader(engine, lake, SparkOptions(master=master, conf=conf)),
        ).round
    except NoSnapshotError as exc:
        # gettext outside the f-string: xgettext does not look inside f-strings
        message = _("No analysis on or before %(day)s: run winback analyze first.")
        console.print(f"[red]{message % {'day': exc}}[/red]")
        raise typer.Exit(2) from exc
    except RoundExists as exc:
        message = _(
            "Round %(id)s is already planned for this month; nothing was changed. "
            "Use --replace to plan it again (only while no contact is logged on it)."
        )
        console.print(f"[red]{message % {'id': exc.round.pk}}[/red]")
        raise typer.Exit(2) from exc
    except RoundHasContacts as exc:
        message = _(
            "Round %(id)s cannot be replaced: %(n)s contacts are already logged on its tasks."
        )
        console.print(f"[red]{message % {'id': exc.round.pk, 'n': exc.contacts}}[/red]")
        raise typer.Exit(2) from exc
    except RoundInProgress as exc:
        if exc.retry_after is None:
            message = _("Another request is planning this month right now.")
        else:
            message = _(
                "Another request is planning this month (or stopped while planning). "
                "If no round appears, it can be retried after %(when)s."
            ) % {"when": _local(exc.retry_after)}
        console.print(f"[red]{message}[/red]")
        raise typer.Exit(2) from exc
    except ControlTooSmall as exc:
        message = _(
            "The control group would have %(n)s customers, below the floor of %(floor)s: "
            "nothing was stored. Use --allow-small-control to store it anyway."
        )
        d = exc.design
        console.print(f"[red]{message % {'n': d.n_control, 'floor': d.control_floor}}[/red]")
        raise typer.Exit(2) from exc
    except (ValueError, OSError, SparkUnavailable) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    s = rnd.summary
    names = {str(u.pk): u.username for u in team}
    per_agent = {names.get(k, k): v for k, v in s["per_agent"].items()}
    if as_json:
        print_json(
            {
                "round_id": rnd.pk,
                "month": month_label(first),
                "seed": rnd.seed,
                "holdout_share": rnd.holdout_share,
                "snapshot_as_of": s["snapshot_as_of"],
                "candidates_read_by": s.get("candidates_read_by", "database"),
                "candidates": s["candidates"],
                "excluded": s["excluded"],
                "excluded_by_cause": s["excluded_by_cause"],
                "eligible": s["eligible"],
                "selected": s["selected"],
                "waitlisted": s["waitlisted"],
                "control": s["control"],
                "treated": s["treated"],
                "assigned": s["assigned"],
                "per_agent": per_agent,
                "strata": s["strata"],
                "design": rnd.design,
                "uplift": s.get("uplift"),
                "not_worth_a_call": s.get("not_worth_a_call"),
                "targeting": s.get("targeting"),
            }
        )
        return
    out.print(_summary_table(rnd.pk, month_label(first), s))
    if s.get("targeting"):
        out.print(_targeting_table(s["targeting"]))
    out.print(_design_table(rnd.design))
    for line in _design_warnings(rnd.design):
        console.print(f"[yellow]{line}[/yellow]")
    out.print(_dict_table(_("Excluded by cause / 排除原因"), s["excluded_by_cause"]))
    out.print(_dict_table(_("Customers per agent / 每位坐席客户数"), per_agent))


def _summary_table(round_id: int, month: str, s: dict[str, Any]) -> Table:
    table = Table(title=_("Round %(id)s, %(month)s / 挽回轮次") % {"id": round_id, "month": month})
    keys = ("candidates", "excluded", "eligible", "selected", "waitlisted", "control", "treated")
    for key in keys:
        table.add_column(key, justify="right")
    table.add_row(*(str(s[k]) for k in keys))
    return table


def _targeting_table(t: dict[str, Any]) -> Table:
    """The round's targeting policy, its random share and who was chosen how."""
    table = Table(title=_("Targeting / 目标选择"))
    table.add_column("policy")
    table.add_column("model_version")
    table.add_column("random_share", justify="right")
    counts = t.get("counts", {})
    by = counts.get("selected_by", {})
    classes = counts.get("uplift_class", {})
    for key in [*by, *classes]:
        table.add_column(key, justify="right")
    table.add_row(
        str(t.get("policy")),
        str(t.get("model_version") or "-"),
        f"{float(t.get('random_share') or 0.0):.0%}",
        *(str(v) for v in [*by.values(), *classes.values()]),
    )
    return table


def _local(when: Any) -> str:
    from django.utils import timezone

    return f"{timezone.localtime(when):%Y-%m-%d %H:%M}"


def _pct(value: Any) -> str:
    return "-" if value is None else f"{float(value) * 100:.1f}%"


def _design_table(d: dict[str, Any]) -> Table:
    table = Table(title=_("Pre-registered design / 预注册设计"))
    keys = {
        "base_rate": _pct(d.get("base_rate")) + f" ({d.get('base_rate_source', '-')})",
        "hoped_effect": "+" + _pct(d.get("hoped_effect")),
        "mde": "+" + _pct(d.get("mde")) if d.get("mde") is not None else "-",
        "power_for_hoped": _pct(d.get("power_for_hoped")),
        "needed_control": str(d.get("needed_control", "-")),
        "control_floor": str(d.get("control_floor", "-")),
    }
    for key in keys:
        table.add_column(key, justify="right")
    table.add_row(*keys.values())
    return table


def _design_warnings(d: dict[str, Any]) -> list[str]:
    lines = []
    warnings = set(d.get("warnings", []))
    if "control_too_small_for_hoped_effect" in warnings:
        lines.append(
            _(
                "Warning: the control group (%(n)s) is too small to detect the hoped-for effect; "
                "about %(needed)s control customers are needed."
            )
            % {"n": d.get("n_control"), "needed": d.get("needed_control")}
        )
    if "control_below_floor" in warnings:
        lines.append(
            _("Warning: the control group is below the floor of %(floor)s (override recorded).")
            % {"floor": d.get("control_floor")}
        )
    return lines


def _dict_table(title: str, values: dict[str, Any]) -> Table:
    table = Table(title=title)
    table.add_column("")
    table.add_column("n", justify="right")
    for key, value in values.items():
        table.add_row(str(key), str(value))
    return table


def _round(round_id: int) -> Any:
    from winback.store.programme.models import Round

    rnd = Round.objects.filter(pk=round_id).first()
    if rnd is None:
        message = _("No round %(id)s.") % {"id": round_id}
        console.print(f"[red]{message}[/red]")
        raise typer.Exit(2)
    return rnd


@round_app.command("export")
def export(
    round_id: int = typer.Argument(..., metavar="ROUND"),
    out_dir: Path = typer.Option(..., "--out", help="Folder for the call lists."),
    as_user: str = typer.Option(
        "", "--as", help="The workbench user you act as (their role decides the phones shown)."
    ),
) -> None:
    """Write the round's call lists, one CSV and one XLSX per agent (phones masked but for an
    agent's own customers)."""
    django_setup()
    from winback.app.rounds.service import export_round

    actor = operator(as_user, "export_call_lists")
    role = "admin" if actor.role == "system" else str(actor.role)
    paths = export_round(
        _round(round_id),
        out_dir,
        role=role,
        user=actor.user,
        reason="cli",
        username=actor.name,
    )
    for path in paths:
        out.print(str(path))
    console.print(_("%(n)s files written.") % {"n": len(paths)})


@round_app.command("status")
def status(
    round_id: int = typer.Argument(..., metavar="ROUND"),
    as_of: str | None = typer.Option(None, "--as-of", help="Measure as of (YYYY-MM-DD)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Treated vs control at +30/+60/+90 days: win-back uplift, revenue, cost, ROI."""
    django_setup()
    from django.utils import timezone

    from winback.app.rounds.service import round_status
    from winback.cli.programme_demo import status_table

    day = parse_day(as_of) if as_of else timezone.localdate()
    result = round_status(_round(round_id), day)
    if as_json:
        print_json(result)
        return
    out.print(status_table(result))
    out.print(_dict_table(_("Retirement / 退出挽回"), result["retirement"]))


@round_app.command("close-due")
def close_due(
    on: str | None = typer.Option(
        None, "--on", help="Close what is due on this day (YYYY-MM-DD; default today)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Close every round whose closing day has come (round_close_after_days after its last
    day) and expire its open calls with the cause recorded. Safe to run daily from cron."""
    django_setup()
    from django.utils import timezone

    from winback.app.actors import Actor
    from winback.app.rounds.lifecycle import close_due_rounds

    day = parse_day(on) if on else timezone.localdate()
    closed = close_due_rounds(Actor.system(f"cli:{os_user()}"), on=day)
    if as_json:
        print_json(
            {
                "on": day.isoformat(),
                "closed": [
                    {"round_id": c.round_id, "month": month_label(c.month), "expired": c.expired}
                    for c in closed
                ],
            }
        )
        return
    if not closed:
        console.print(_("No round is due to close."))
        return
    table = Table(title=_("Closed rounds / 已关闭的轮次"))
    for col in ("id", "month", "expired"):
        table.add_column(col)
    for c in closed:
        expired = ", ".join(f"{k}={v}" for k, v in sorted(c.expired.items())) or "0"
        table.add_row(str(c.round_id), month_label(c.month), expired)
    out.print(table)


@round_app.command("list")
def list_rounds() -> None:
    """The rounds, newest first."""
    django_setup()
    from winback.store.programme.models import Round

    table = Table(title=_("Win-back rounds / 挽回轮次"))
    for col in ("id", "month", "status", "seed", "treated", "control", "snapshot"):
        table.add_column(col)
    for rnd in Round.objects.all():
        s = rnd.summary
        table.add_row(
            str(rnd.pk),
            f"{rnd.month:%Y-%m}",
            rnd.status,
            str(rnd.seed),
            str(s.get("treated", "")),
            str(s.get("control", "")),
            str(s.get("snapshot_as_of", "")),
        )
    out.print(table)

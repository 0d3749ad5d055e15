"""`winback report` and `winback monthly`: the monthly statistical report (R8, R12)."""

from __future__ import annotations

from pathlib import Path

import typer

from winback.cli.common import console, django_setup, parse_month, print_json
from winback.periods import month_end, month_label


def register(app: typer.Typer, export_app: typer.Typer) -> None:
    del export_app
    app.command()(report)
    app.command()(monthly)


def _(message: str) -> str:
    from django.utils.translation import gettext

    return gettext(message)


def report(
    month: str = typer.Option(..., "--month", help="The month to report on (YYYY-MM)."),
    lang: str = typer.Option("zh", "--lang", help="zh or en."),
    fmt: str = typer.Option(
        "html", "--format", help="html, pdf, xlsx, or json (every figure, for programs)."
    ),
    out_file: Path | None = typer.Option(
        None, "--out", help="File to write (default: reports/ under the data folder)."
    ),
) -> None:
    """Write the monthly statistical report for a month."""
    first = parse_month(month)
    if lang not in ("zh", "en"):
        raise typer.BadParameter(f"{lang!r}: zh or en")
    if fmt not in ("html", "pdf", "xlsx", "json"):
        raise typer.BadParameter(f"{fmt!r}: html, pdf, xlsx or json")
    django_setup()
    from winback.app.reports.service import NoAnalysisForMonth, write_report

    try:
        with console.status(_("Writing the report...")):
            path = write_report(first, lang, fmt, out_file)
    except NoAnalysisForMonth as exc:
        console.print(
            f"[red]No analysis dated in {exc}: run `winback analyze --as-of` the month's last "
            "day first.[/red]"
        )
        raise typer.Exit(1) from exc
    console.print(str(path), soft_wrap=True)


def monthly(
    month: str = typer.Option(..., "--month", help="The month that has just closed (YYYY-MM)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of lines."),
) -> None:
    """For cron: apply the retention policy, analyse as of the month's last day, monitor the
    rounds, write the report."""
    first = parse_month(month)
    django_setup()
    from winback.app.actors import Actor
    from winback.app.analysis.service import analyze
    from winback.app.customers.privacy import apply_retention
    from winback.app.reports.service import monthly_report, write_report
    from winback.app.rounds.planning import refresh_returned

    last = month_end(first)
    # First, so the reports written below are made from the data as it is kept.
    retention = apply_retention(Actor.system("cron"), today=last)
    with console.status(_("Analysing...")):
        run = analyze(last)
    refreshed = refresh_returned(last)
    data = monthly_report(first)
    paths = [str(write_report(first, lang, "html", report=data)) for lang in ("zh", "en")]
    result = {
        "month": month_label(first),
        "as_of": last.isoformat(),
        "customers": run.customers,
        "rounds_monitored": int(data["verdict"]["rounds_total"]),
        "round_members_refreshed": refreshed,
        "reports": paths,
        "verdict": data["verdict"]["decision"],
        "retention": retention.to_dict(),
    }
    if as_json:
        print_json(result)
        return
    for key, value in result.items():
        console.print(f"{key}: {value}", soft_wrap=True)

"""The demo: generate a sample business, set its profile, import, run monthly win-back rounds
with simulated agents, analyse, backtest, export.

Safe to run again: the same seed writes the same files, re-importing them changes nothing and
the analysis of the same date replaces the previous one.
"""

from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.db import connection
from django.utils.translation import gettext as _
from rich.console import Console
from rich.table import Table

from winback.periods import month_start, months_ending, previous_month_end
from winback.simulate.response import DEFAULT_RESPONSE

SERVE_URL = "http://127.0.0.1:8000/"


@dataclass(frozen=True)
class DemoOutcome:
    """What the demo did and where it left things (returned for tests and callers)."""

    end_date: date
    manifest: dict[str, Any]
    imports: list[dict[str, Any]]
    counts: dict[str, dict[str, int]]
    backtest: dict[str, Any]
    export: Path
    seconds: float
    rounds: list[dict[str, Any]]
    reports: list[Path]


def run_demo(
    *,
    industry: str,
    customers: int,
    months: int,
    seed: int,
    out: Path,
    console: Console,
    end_date: date | None = None,
    rounds: int = 6,
    response: str = DEFAULT_RESPONSE,
) -> DemoOutcome:
    """Run the cycle; the history ends ``end_date`` (default: the last day of last month).

    ``response`` is the generated world's response to a win-back call (``realistic`` or
    ``large``); the simulated rounds use the world's level."""
    from winback.analytics.pipeline import churn_horizon
    from winback.app.analysis.service import analyze, backtest, export_scores
    from winback.app.settings.profile import set_profile
    from winback.cli.render import analysis_progress, backtest_tables, counts_table

    started = time.perf_counter()
    out = out.expanduser().resolve()
    profile = set_profile(industry)
    end = end_date or last_month_end(profile.time_zone)
    console.rule(_("Winback demo"))
    manifest = generate(
        industry, customers, months, seed, out / "sample", end, console, response=response
    )
    end_date = manifest_end_date(manifest)
    console.print(_("Business profile set to the %(industry)s preset.") % {"industry": industry})

    imports = import_all(manifest, out / "sample", console)
    console.print(import_table(imports))
    print_rejects(console, imports)
    ground_truth = out / "sample" / str(manifest["ground_truth"])
    cycles = run_rounds(round_months(end_date, rounds), ground_truth, console)

    with analysis_progress(console) as report:
        run = analyze(end_date, progress=report)
    console.print(counts_table(run.counts, end_date))

    horizon = churn_horizon(profile)
    from winback.analytics.backtest import TooFewOutcomes

    try:
        with console.status(_("Backtesting the churn score...")):
            checked = backtest(end_date - timedelta(days=horizon), horizon)
    except TooFewOutcomes as exc:
        console.print(f"[yellow]{exc}[/yellow]")
        checked = {"refused": str(exc)}
    else:
        for table in backtest_tables(checked):
            console.print(table)

    export = export_scores(
        end_date, "csv", out / "exports" / f"scores-{end_date.isoformat()}.csv", reason="demo"
    )
    with console.status(_("Writing the monthly report...")):
        reports = write_month_reports(end_date, console)
    if importlib.util.find_spec("winback.app.accounts.demo_users") is not None:
        from winback.cli.care import plan_for_demo

        plan_for_demo(console)  # the demo agents find care calls in their queue
    seconds = time.perf_counter() - started
    print_locations(console, out, manifest, imports, export.path, reports)
    console.print(_("Demo finished in %(s).0f seconds.") % {"s": seconds})
    return DemoOutcome(
        end_date, manifest, imports, run.counts, checked, export.path, seconds, cycles, reports
    )


def write_month_reports(end_date: date, console: Console | None = None) -> list[Path]:
    """The closing month's report: HTML in Chinese and English, PDF in Chinese.

    The PDF embeds the Chinese font installed with the project (or the machine's); where there
    is none, the demo says so plainly and writes the HTML reports only, never a PDF of empty
    boxes (:mod:`winback.reporting.fonts`).
    """
    from winback.app.reports.service import monthly_report, write_report
    from winback.app.rounds.planning import refresh_returned
    from winback.reporting.fonts import MissingCJKFont, find_font

    refresh_returned(end_date)
    month = month_start(end_date)
    data = monthly_report(month)
    wanted = [("zh", "html"), ("en", "html")]
    try:
        font = find_font()
    except MissingCJKFont as exc:
        if console is not None:
            console.print(
                _("No Chinese font for the PDF report, so no PDF was written: %(why)s")
                % {"why": exc}
            )
    else:
        wanted.append(("zh", "pdf"))
        if console is not None:
            console.print(
                _("PDF font: %(font)s (%(source)s)")
                % {"font": font.postscript_name, "source": font.source}
            )
    return [write_report(month, lang, fmt, report=data) for lang, fmt in wanted]


def round_months(end_date: date, count: int) -> list[date]:
    """First days of the last ``count`` months of the history, oldest first."""
    return months_ending(end_date, count)


def run_rounds(months: list[date], ground_truth: Path, console: Console) -> list[dict[str, Any]]:
    """One round a month over the history's last months, worked by simulated agents.

    A second demo run finds the rounds in place and only shows how they are doing, so the
    simulated contacts and return purchases are never added twice.
    """
    if not months:
        return []
    from winback.app.rounds.service import round_status
    from winback.cli.programme_demo import run_programme_demo, status_table
    from winback.store.programme.models import Round

    console.rule(_("Monthly win-back rounds (agents and outcomes are SIMULATED)"))
    existing = list(Round.objects.filter(month__in=months).order_by("month"))
    if existing:
        console.print(_("The rounds already exist; their current results:"))
        last = months[-1]
        for rnd in existing:
            console.print(status_table(round_status(rnd, last, n_boot=500)))
        return []
    return run_programme_demo(ground_truth=ground_truth, months=months, console=console)


def last_month_end(time_zone: str) -> date:
    """The last day of the previous month in the business's time zone (the demo's history end;
    the same all month, so running the demo again regenerates the same data)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return previous_month_end(datetime.now(ZoneInfo(time_zone)).date())


def generate(
    industry: str,
    customers: int,
    months: int,
    seed: int,
    folder: Path,
    end_date: date,
    console: Console,
    *,
    response: str = DEFAULT_RESPONSE,
) -> dict[str, Any]:
    from winback.simulate.generator import generate_dataset

    with console.status(
        _("Generating %(n)s sample customers (%(industry)s, %(months)s months)...")
        % {"n": f"{customers:,}", "industry": industry, "months": months}
    ):
        manifest: dict[str, Any] = generate_dataset(
            industry, customers, months, seed, folder, end_date=end_date, response=response
        )
    return manifest


def manifest_end_date(manifest: dict[str, Any]) -> date:
    value = manifest["end_date"]
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def import_all(manifest: dict[str, Any], folder: Path, console: Console) -> list[dict[str, Any]]:
    """Import every file in the manifest's order (paths relative to ``folder``)."""
    from winback.app.imports.service import import_file

    rows: list[dict[str, Any]] = []
    with console.status(_("Importing...")) as status:
        for entry in manifest["files"]:
            kind, path = str(entry["kind"]), folder / str(entry["path"])
            status.update(_("Importing %(file)s...") % {"file": path.name})
            summary = import_file(kind, path)
            rows.append(
                {
                    "kind": kind,
                    "file": str(path),
                    "read": summary.read,
                    "inserted": summary.inserted,
                    "updated": summary.updated,
                    "unchanged": summary.unchanged,
                    "rejected": summary.rejected,
                    "rejects_file": str(summary.rejects_file or ""),
                }
            )
    return rows


def import_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title=_("Imported files"))
    table.add_column(_("file"))
    for column in (_("read"), _("inserted"), _("updated"), _("unchanged"), _("rejected")):
        table.add_column(column, justify="right", min_width=len(column))
    for row in rows:
        table.add_row(
            Path(row["file"]).name,
            *[f"{row[k]:,}" for k in ("read", "inserted", "updated", "unchanged", "rejected")],
        )
    return table


def print_rejects(console: Console, rows: list[dict[str, Any]]) -> None:
    rejected = [row for row in rows if row["rejected"]]
    if not rejected:
        console.print(_("No row was rejected."))
        return
    console.print(_("Rejected rows, with the reason for each, are in:"))
    for row in rejected:
        console.print(f"  {Path(row['file']).name}: {row['rejects_file']}", soft_wrap=True)


def database_location() -> str:
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return str(settings["NAME"])
    host = settings.get("HOST") or "localhost"
    port = f":{settings['PORT']}" if settings.get("PORT") else ""
    return f"postgresql://{settings.get('USER') or ''}@{host}{port}/{settings['NAME']}"


def print_locations(
    console: Console,
    out: Path,
    manifest: dict[str, Any],
    imports: list[dict[str, Any]],
    export: Path,
    reports: list[Path],
) -> None:
    from winback.environment import data_dir

    table = Table(title=_("Where things are"), show_header=False)
    table.add_row(_("data folder"), str(data_dir()))
    table.add_row(_("database"), database_location())
    table.add_row(_("sample files"), str(out / "sample"))
    folders = sorted({str(Path(r["rejects_file"]).parent) for r in imports if r["rejected"]})
    table.add_row(_("rejects files"), "\n".join(folders) or _("none (no row rejected)"))
    table.add_row(_("score export"), str(export))
    table.add_row(_("monthly report"), "\n".join(str(path) for path in reports))
    console.print(table)
    if importlib.util.find_spec("winback.web.workbench") is None:
        console.print(_("The workbench (web pages) is not part of this version."))
        return
    console.print(
        _("Open the workbench: run `make serve` (or `winback serve`), then visit %(url)s.")
        % {"url": SERVE_URL}
    )
    for line in demo_users():
        console.print(line)


def demo_users() -> list[str]:
    """Sign-in lines for the demo users, when the workbench ships a way to create them."""
    try:
        from winback.app.accounts.demo_users import ensure_demo_users
        from winback.store.accounts.models import Role
    except ImportError:
        return []
    return [
        _("  user %(username)s / password %(password)s (%(role)s)")
        % {**user, "role": Role(user["role"]).label}  # the role in words, as the workbench says
        for user in ensure_demo_users()
    ]

"""`winback profile`, `winback analyze`, `winback backtest`, `winback export scores`."""

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
    out,
    parse_day,
    print_json,
)

profile_app = typer.Typer(help="The business profile: industry preset and settings.")


def register(app: typer.Typer, export_app: typer.Typer) -> None:
    app.add_typer(profile_app, name="profile")
    app.command()(analyze)
    app.command()(backtest)
    export_app.command("scores")(export_scores)


@profile_app.command("show")
def profile_show(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Show the business profile in force."""
    django_setup()
    from winback.app.settings.profile import current_profile

    profile = current_profile().to_dict()
    if as_json:
        print_json(profile)
        return
    table = Table(title=_("Business profile"), show_header=False)
    for key, value in flatten(profile):
        table.add_row(key, str(value))
    out.print(table)


@profile_app.command("set")
def profile_set(
    industry: str | None = typer.Option(
        None, help="Start from this industry's preset (retail, restaurant, dental, ...)."
    ),
    assignments: list[str] = typer.Option(
        [], "--set", help="key=value, nested keys with dots: --set lifecycle.lost_from=200"
    ),
) -> None:
    """Choose the industry preset and change single settings."""
    django_setup()
    from winback.app.settings.profile import parse_assignments, set_profile

    if industry is None and not assignments:
        raise typer.BadParameter(_("give --industry and/or --set key=value"))
    try:
        profile = set_profile(industry, parse_assignments(assignments))
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    console.print(_("Profile saved: industry %(industry)s.") % {"industry": profile.industry})


def analyze(
    as_of: str = typer.Option(..., "--as-of", help="Score as of this date (YYYY-MM-DD)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
    engine: str = typer.Option(
        "duckdb", "--engine", help="duckdb (embedded, default) or spark (Apache Spark)."
    ),
    lake: Path | None = typer.Option(
        None,
        "--lake",
        help="Read the behaviour streams from this data lake (winback export --format parquet) "
        "instead of the database.",
    ),
    master: str | None = SPARK_MASTER_OPTION,
    spark_conf: list[str] = SPARK_CONF_OPTION,
) -> None:
    """Score every customer as of a date and store the results (re-running replaces them)."""
    day = parse_day(as_of)
    if engine not in ("duckdb", "spark"):
        raise typer.BadParameter(_("choose duckdb or spark"), param_hint="--engine")
    if lake is not None and not lake.is_dir():
        raise typer.BadParameter(_("not a folder: %(path)s") % {"path": lake}, param_hint="--lake")
    from winback.analytics.spark_engine import parse_conf

    try:
        conf = parse_conf(spark_conf)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--spark-conf") from exc
    django_setup()
    from winback.app.analysis.service import analyze as run_analysis
    from winback.app.analysis.spark import SparkOptions
    from winback.cli.render import analysis_progress

    options = SparkOptions(master=master, conf=conf)
    with analysis_progress(console, quiet=as_json) as report:
        run = run_analysis(day, progress=report, engine=engine, lake=lake, spark=options)
    model = (run.params or {}).get("model") or {}
    priors = list(model.get("priors_used") or [])
    status_rule = model.get("status_rule")
    precision = model.get("early_warning_precision") or {}
    if as_json:
        print_json(
            {
                "as_of": day.isoformat(),
                "engine": engine,
                "customers": run.customers,
                "counts": run.counts,
                "timings": run.timings,
                "priors_used": priors,
                "status_rule": status_rule,
                "early_warning_precision": precision,
            }
        )
        return
    from winback.cli.render import counts_table, history_notice_text, precision_table

    out.print(counts_table(run.counts, day))
    if priors or status_rule == "base_rate":
        out.print("[yellow]" + history_notice_text(priors, status_rule) + "[/yellow]")
    table = precision_table(precision)
    if table is not None:
        out.print(table)
    out.print(
        _("%(n)s customers scored in %(s).1f s.")
        % {"n": f"{run.customers:,}", "s": float(run.timings.get("total", 0.0))}
    )


def backtest(
    as_of: str = typer.Option(..., "--as-of", help="Score as of this past date (YYYY-MM-DD)."),
    horizon: int | None = typer.Option(
        None,
        "--horizon",
        help="Days after the date to check against (default: the churn score's own horizon).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Check the churn score against what happened next, beside two simple baselines."""
    day = parse_day(as_of)
    if horizon is not None and horizon <= 0:
        raise typer.BadParameter(_("the horizon must be at least one day"))
    django_setup()
    from winback.analytics.backtest import TooFewOutcomes
    from winback.app.analysis.service import backtest as run_backtest

    try:
        with console.status(_("Backtesting...")):
            result = run_backtest(day, horizon)
    except TooFewOutcomes as exc:
        message = _(
            "Too few outcomes to judge the score: among the customers still active, silent or "
            "sleeping, %(pos)s did not buy again and %(neg)s did; at least %(min)s of each are "
            "needed. Choose an earlier date or a longer history."
        ) % {"pos": exc.positives, "neg": exc.negatives, "min": exc.minimum}
        if as_json:
            print_json(
                {
                    "error": "too_few_outcomes",
                    "message": message,
                    "positives": exc.positives,
                    "negatives": exc.negatives,
                    "minimum": exc.minimum,
                }
            )
        else:
            console.print(f"[red]{message}[/red]")
        raise typer.Exit(1) from None
    if as_json:
        print_json(result)
        return
    from winback.cli.render import backtest_tables

    for table in backtest_tables(result):
        out.print(table)


def export_scores(
    as_of: str = typer.Option(..., "--as-of", help="The analysis date (YYYY-MM-DD)."),
    fmt: str = typer.Option("csv", "--format", help="csv, parquet or xlsx."),
    out_file: Path = typer.Option(..., "--out", help="File to write."),
    reason: str = typer.Option("", help="Why the data leaves the system (kept in the audit log)."),
    as_user: str = typer.Option("", "--as", help="The workbench user you act as."),
) -> None:
    """Export the scores of one analysis date, one row per customer (logged)."""
    from winback.store.export import FORMATS

    day = parse_day(as_of)
    if fmt not in FORMATS:
        raise typer.BadParameter(f"{fmt!r}: " + ", ".join(FORMATS))
    django_setup()
    from winback.app.analysis.service import NoAnalysisError
    from winback.app.analysis.service import export_scores as run_export

    actor = operator(as_user, "export_customers")
    try:
        result = run_export(day, fmt, out_file, reason=reason, user=actor.user, username=actor.name)
    except NoAnalysisError:
        console.print(
            "[red]"
            + _("No analysis as of %(day)s: run `winback analyze --as-of %(day)s` first.")
            % {"day": day.isoformat()}
            + "[/red]"
        )
        raise typer.Exit(1) from None
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    console.print(
        _("%(n)s customers written to %(path)s.")
        % {"n": f"{result.rows:,}", "path": str(result.path)}
    )


# --- rendering ---------------------------------------------------------------------------


def _(message: str) -> str:
    from django.utils.translation import gettext

    return gettext(message)


def flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, value in data.items():
        if isinstance(value, dict):
            rows.extend(flatten(value, f"{prefix}{key}."))
        else:
            rows.append((f"{prefix}{key}", value))
    return rows

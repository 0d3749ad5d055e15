"""`winback export customers|orders|order-lines|events|contacts`: data in the import format;
`winback export [all] --format parquet --out DIR`: the whole store as the data-lake layout."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from winback.cli.common import console, django_setup, operator, parse_day, print_json
from winback.ingest.export import EXPORT_KINDS


class ExportFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"
    parquet = "parquet"


LAKE_HELP = (
    "Without a kind (or with kind all): the whole store as the data-lake layout, one folder "
    "per table of Parquet parts and _winback.json (--format parquet, --out DIR)."
)


def register(app: typer.Typer, export_app: typer.Typer) -> None:
    for kind in EXPORT_KINDS:
        _register_kind(export_app, kind)

    @export_app.callback(invoke_without_command=True, help=f"Export data and results. {LAKE_HELP}")
    def export_root(
        ctx: typer.Context,
        fmt: ExportFormat | None = typer.Option(
            None, "--format", help="parquet (the data lake) when no kind is given."
        ),
        out: Path | None = typer.Option(None, "--out", help="Folder for the data lake."),
        as_of: str = typer.Option("", "--as-of", help="Facts known on this date (default today)."),
        reason: str = typer.Option("", "--reason", help="Why (kept in the audit log)."),
        as_user: str = typer.Option("", "--as", help="The workbench admin you act as."),
        as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
    ) -> None:
        if ctx.invoked_subcommand is not None:
            if fmt is not None or out is not None:
                console.print("[red]Give --format and --out after the kind.[/red]")
                raise typer.Exit(2)
            return
        _export_lake(fmt, out, as_of, reason, as_user, as_json)

    @export_app.command("all", help=LAKE_HELP)
    def export_all(
        fmt: ExportFormat = typer.Option(ExportFormat.parquet, "--format", help="parquet only."),
        out: Path = typer.Option(..., "--out", help="Folder for the data lake."),
        as_of: str = typer.Option("", "--as-of", help="Facts known on this date (default today)."),
        reason: str = typer.Option("", "--reason", help="Why (kept in the audit log)."),
        as_user: str = typer.Option("", "--as", help="The workbench admin you act as."),
        as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
    ) -> None:
        _export_lake(fmt, out, as_of, reason, as_user, as_json)


def _export_lake(
    fmt: ExportFormat | None,
    out: Path | None,
    as_of: str,
    reason: str,
    as_user: str,
    as_json: bool,
) -> None:
    if fmt is not ExportFormat.parquet or out is None:
        console.print(
            "[red]The whole store exports as the data lake only: --format parquet --out DIR "
            "(or name a kind: customers, orders, ...).[/red]"
        )
        raise typer.Exit(2)
    day = parse_day(as_of) if as_of else None
    django_setup()
    from winback.app.imports.data_export import export_lake

    actor = operator(as_user, "export_data")
    summary = export_lake(out, as_of=day, reason=reason, actor=actor)
    if as_json:
        print_json(summary.to_dict())
        return
    for table, counts in summary.tables.items():
        console.print(f"{counts['rows']:,} {table} ({counts['parts']} parts)")
    console.print(f"data lake as of {summary.as_of} -> {summary.path}")


def _register_kind(export_app: typer.Typer, kind: str) -> None:
    def command(
        fmt: ExportFormat = typer.Option(ExportFormat.csv, "--format", help="File format."),
        out: Path = typer.Option(..., "--out", help="File to write."),
        reason: str = typer.Option("", "--reason", help="Why (kept in the audit log)."),
        as_user: str = typer.Option("", "--as", help="The workbench admin you act as."),
        as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
    ) -> None:
        django_setup()
        from winback.app.imports.data_export import ExportError, export_data

        actor = operator(as_user, "export_data")
        try:
            summary = export_data(kind, fmt.value, out, reason=reason, actor=actor)
        except ExportError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
        if as_json:
            print_json(summary.to_dict())
        else:
            console.print(f"{summary.rows:,} {kind} -> {summary.path}")

    command.__doc__ = (
        f"Export {kind} with the import's column names (audited as the --as user; text "
        "guarded for Excel)."
    )
    export_app.command(kind)(command)

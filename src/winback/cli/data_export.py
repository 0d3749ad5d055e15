"""`winback export customers|orders|order-lines|events|contacts`: data in the import format."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from winback.cli.common import console, django_setup, operator, print_json
from winback.ingest.export import EXPORT_KINDS


class ExportFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"
    parquet = "parquet"


def register(app: typer.Typer, export_app: typer.Typer) -> None:
    for kind in EXPORT_KINDS:
        _register_kind(export_app, kind)


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

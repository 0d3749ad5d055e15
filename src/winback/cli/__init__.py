"""`winback` command line. Thin commands that call services; each area registers its own."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="winback",
    help="Win back lapsed customers and catch the ones about to leave.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
export_app = typer.Typer(help="Export data and results (csv, xlsx, parquet).", no_args_is_help=True)
app.add_typer(export_app, name="export")


def _register() -> None:
    from importlib import import_module

    for name in (
        "imports",
        "data_export",
        "generate",
        "analysis",
        "rounds",
        "care",
        "report",
        "web",
        "tokens",
        "demo",
        "customers",
    ):
        try:
            module = import_module(f"winback.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"winback.cli.{name}":
                raise
            continue
        module.register(app, export_app)


_register()


def main() -> None:
    app()

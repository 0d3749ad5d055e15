"""`winback demo`: the whole monthly cycle on generated sample data."""

from __future__ import annotations

from pathlib import Path

import typer

from winback.cli.common import console
from winback.cli.generate import RESPONSE_HELP, Response


def register(app: typer.Typer, export_app: typer.Typer) -> None:
    @app.command()
    def demo(
        industry: str = typer.Option("aesthetics", help="Industry preset for the sample business."),
        customers: int = typer.Option(5000, help="Number of sample customers."),
        months: int = typer.Option(36, help="Months of history."),
        seed: int = typer.Option(7, help="Random seed."),
        out: Path = typer.Option(Path("var/demo"), help="Where sample files and outputs go."),
        rounds: int = typer.Option(6, help="Monthly win-back rounds over the last months."),
        response: Response = typer.Option(Response.realistic, help=RESPONSE_HELP),
    ) -> None:
        """Generate sample data, import it and run the monthly cycle; print where things are."""
        from winback.store.bootstrap import setup

        setup()
        from winback.cli.demo_cycle import run_demo

        run_demo(
            industry=industry,
            customers=customers,
            months=months,
            seed=seed,
            out=out,
            console=console,
            rounds=rounds,
            response=response.value,
        )

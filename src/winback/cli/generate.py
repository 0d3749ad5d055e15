"""`winback generate`: sample export files with ground truth (no database needed)."""

from __future__ import annotations

import time
from datetime import date
from enum import StrEnum
from pathlib import Path

import typer
from rich.table import Table

from winback.cli.common import console, out, parse_day


class Industry(StrEnum):
    retail = "retail"
    restaurant = "restaurant"
    dental = "dental"
    aesthetics = "aesthetics"
    b2b = "b2b"
    accounting = "accounting"


class Response(StrEnum):
    """How strongly simulated customers respond to a win-back call (winback.simulate.response)."""

    realistic = "realistic"
    large = "large"


class GenerateFormat(StrEnum):
    """What `winback generate` writes."""

    csv = "csv"
    parquet = "parquet"


FORMAT_HELP = (
    "csv: the export files a business would import (CSV/XLSX, ground truth, manifest). "
    "parquet: the data-lake layout the analysis reads directly (one folder per table)."
)
WORKERS_HELP = "Processes simulating customer chunks in parallel (parquet only)."


RESPONSE_HELP = (
    "Simulated response to a win-back call: realistic (a few points more of the called "
    "customers come back than of the control group) or large (a third or more come back; "
    "for demonstrations). Recorded in the manifest and the ground truth."
)


def register(app: typer.Typer, export_app: typer.Typer) -> None:
    @app.command()
    def generate(
        industry: Industry = typer.Option(Industry.retail, help="Industry of the sample business."),
        customers: int = typer.Option(5000, min=1, help="Number of simulated customers."),
        months: int = typer.Option(36, min=1, help="Months of history up to the end date."),
        seed: int = typer.Option(7, help="Random seed: the same seed gives the same files."),
        out_dir: Path = typer.Option(
            Path("var/sample"), "--out", help="Folder for the files (created if missing)."
        ),
        end_date: str | None = typer.Option(
            None,
            "--end-date",
            help="Last day of the history, YYYY-MM-DD (default: end of last month).",
        ),
        response: Response = typer.Option(Response.realistic, help=RESPONSE_HELP),
        file_format: GenerateFormat = typer.Option(
            GenerateFormat.csv, "--format", help=FORMAT_HELP
        ),
        workers: int = typer.Option(1, min=1, help=WORKERS_HELP),
    ) -> None:
        """Write sample CSV/XLSX exports, ground truth and a manifest for one industry,
        or (--format parquet) the data-lake layout."""
        from winback.simulate.calendar import last_day_of_previous_month
        from winback.simulate.generator import generate_dataset

        last_day = parse_day(end_date) if end_date else last_day_of_previous_month(date.today())
        started = time.perf_counter()
        if file_format is GenerateFormat.parquet:
            _generate_lake(industry, customers, months, seed, out_dir, last_day, workers)
            return
        with console.status(f"simulating {customers:,} {industry.value} customers ..."):
            manifest = generate_dataset(
                industry.value,
                customers,
                months,
                seed,
                out_dir,
                end_date=last_day,
                response=response.value,
            )
        elapsed = time.perf_counter() - started
        out.print(_summary(manifest))
        out.print(f"history {manifest['start_date']} .. {manifest['end_date']}, {elapsed:.1f} s")
        out.print(f"simulated response to a call: {manifest['response']}")
        out.print(f"files and manifest.json in {out_dir.resolve()}")
        out.print(f"ground truth: {(out_dir / manifest['ground_truth']).resolve()}")


def _generate_lake(
    industry: Industry,
    customers: int,
    months: int,
    seed: int,
    out_dir: Path,
    last_day: date,
    workers: int,
) -> None:
    from winback.simulate.lake import generate_lake

    started = time.perf_counter()
    with console.status(f"simulating {customers:,} {industry.value} customers ...") as status:

        def progress(done: int, total: int) -> None:
            status.update(f"simulated {done} of {total} chunks of {customers:,} customers ...")

        manifest = generate_lake(
            industry.value,
            customers,
            months,
            seed,
            out_dir,
            end_date=last_day,
            workers=workers,
            progress=progress,
        )
    elapsed = time.perf_counter() - started
    table = Table(title=f"{industry.value} · seed {seed} · data lake")
    for column, right in (("table", False), ("rows", True), ("parts", True)):
        table.add_column(column, justify="right" if right else "left", no_wrap=True)
    for name, counts in manifest.tables.items():
        table.add_row(name, f"{counts['rows']:,}", f"{counts['parts']:,}")
    out.print(table)
    rate = customers / elapsed if elapsed > 0 else 0.0
    out.print(
        f"history {manifest.history_start} .. {manifest.as_of}, {elapsed:.1f} s "
        f"({rate:,.0f} customers/s with {workers} workers)"
    )
    out.print(f"data lake in {out_dir.resolve()}")


def _summary(manifest: dict[str, object]) -> Table:
    table = Table(title=f"{manifest['industry']} · seed {manifest['seed']}")
    for column in ("kind", "file", "rows", "valid", "rejected", "stubs"):
        right = column in {"rows", "valid", "rejected", "stubs"}
        table.add_column(column, justify="right" if right else "left", no_wrap=True)
    files = manifest["files"]
    assert isinstance(files, list)
    for entry in files:
        table.add_row(
            entry["kind"],
            f"{entry['path']} ({entry['encoding'] or entry['format']})",
            f"{entry['rows']:,}",
            f"{entry['valid_rows']:,}",
            f"{sum(entry['rejected_by_reason'].values()):,}",
            f"{entry['stub_customers']:,}",
        )
    return table

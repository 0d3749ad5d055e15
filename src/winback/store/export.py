"""Shape snapshot rows for people and write them as CSV, Parquet or XLSX.

The same snapshot always gives the same bytes (CSV, Parquet): rows sorted by the customer's own
id, floats rounded to a fixed number of decimals (and printed with exactly that many in CSV).
Text cells a spreadsheet would run as a formula get a leading apostrophe in CSV and XLSX, the
formats people open in a spreadsheet (:mod:`winback.spreadsheet_safety`, the one guard).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from winback.schema import SCORE_COLUMNS, SCORE_DECIMALS
from winback.spreadsheet_safety import guard_frame

FORMATS = ("csv", "parquet", "xlsx")
COLUMNS = tuple(c.name for c in SCORE_COLUMNS)
DECIMALS = SCORE_DECIMALS
XLSX_MAX_ROWS = 1_048_575  # a worksheet's rows less the header
UTF8_BOM = b"\xef\xbb\xbf"


def rounded_scores(frame: pl.DataFrame) -> pl.DataFrame:
    """The one rounding rule for analysis floats shown to people (export, API, workbench):
    rounded to the column's decimals; NaN and infinities become null."""
    return frame.with_columns(
        pl.when(pl.col(c).is_finite()).then(pl.col(c).round(d)).otherwise(None).alias(c)
        for c, d in DECIMALS.items()
        if c in frame.columns
    )


def scores_table(snapshots: pl.DataFrame) -> pl.DataFrame:
    """Snapshot rows (``external_id`` + SNAPSHOT columns) -> export columns, sorted, rounded."""
    return (
        rounded_scores(snapshots.rename({"external_id": "customer_id"}))
        .select(COLUMNS)
        .sort("customer_id")
    )


def fixed(column: str, decimals: int) -> pl.Expr:
    """A float printed with exactly ``decimals`` decimals ("12.30"), null stays null."""
    scale = 10**decimals
    scaled = (pl.col(column) * scale).round(0).cast(pl.Int64, strict=False)
    magnitude = scaled.abs()
    sign = pl.when(scaled < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    whole = (magnitude // scale).cast(pl.String)
    text: pl.Expr = sign + whole
    if decimals > 0:
        fraction = (magnitude % scale).cast(pl.String).str.zfill(decimals)
        text = text + pl.lit(".") + fraction
    return text.alias(column)


def write_csv(table: pl.DataFrame, path: Path) -> None:
    printed = guard_frame(table).with_columns(fixed(c, d) for c, d in DECIMALS.items())
    with path.open("wb") as handle:
        handle.write(UTF8_BOM)  # so spreadsheet programs read Chinese text as UTF-8
        printed.write_csv(handle, date_format="%Y-%m-%d", line_terminator="\r\n")


def write_parquet(table: pl.DataFrame, path: Path) -> None:
    table.write_parquet(path, compression="zstd", statistics=True)


def write_xlsx(table: pl.DataFrame, path: Path) -> None:
    from openpyxl import Workbook

    if table.height > XLSX_MAX_ROWS:
        raise ValueError(
            f"{table.height} rows do not fit in one worksheet ({XLSX_MAX_ROWS}); "
            "export csv or parquet instead"
        )
    book = Workbook(write_only=True)
    sheet = book.create_sheet("scores")
    sheet.append(list(table.columns))
    # openpyxl takes rows one at a time; there is no columnar path into a worksheet.
    for row in guard_frame(table).iter_rows():
        sheet.append(row)
    book.save(path)


def write_scores(snapshots: pl.DataFrame, fmt: str, path: Path) -> int:
    """Write the export file; returns the number of customers in it."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {FORMATS}")
    table = scores_table(snapshots)
    path.parent.mkdir(parents=True, exist_ok=True)
    {"csv": write_csv, "parquet": write_parquet, "xlsx": write_xlsx}[fmt](table, path)
    return table.height

"""The rejects file: one row per rejected input row, with the reason and the original cells.

Columns: ``row_number`` (the physical row: header = 1, first data row = 2; in XLSX the sheet
row), ``column`` (source header of the first problem), ``reason_code``
(:class:`winback.schema.RejectReason`), ``reason`` (every problem, in the user's language),
then the row's original cells under their original headers. UTF-8 with a BOM so Excel opens
Chinese text correctly; cells are guarded against formula injection.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from winback.ingest.decode import ROW, RawTable
from winback.ingest.validate import CODE, COLUMN, REASON
from winback.spreadsheet_safety import guard_frame

FIXED_COLUMNS = ("row_number", "column", "reason_code", "reason")
EMPTY_REJECTS = pl.DataFrame(
    schema={ROW: pl.Int64, CODE: pl.String, COLUMN: pl.String, REASON: pl.String}
)


def unique_headers(headers: tuple[str, ...]) -> list[str]:
    """Header texts made unique (and distinct from the fixed columns) for the output."""
    seen: set[str] = set(FIXED_COLUMNS)
    out: list[str] = []
    for index, header in enumerate(headers):
        name = header or f"#{index + 1}"
        candidate, n = name, 2
        while candidate in seen:
            candidate, n = f"{name} ({n})", n + 1
        seen.add(candidate)
        out.append(candidate)
    return out


def rejects_table(raw: RawTable, rejects: pl.DataFrame) -> pl.DataFrame:
    """The rejects file's content, sorted by row number (one row per rejected input row)."""
    names = unique_headers(raw.headers)
    cells = raw.frame.select(ROW, *[pl.col(f"c{i}").alias(name) for i, name in enumerate(names)])
    ordered = rejects.unique(subset=[ROW], keep="first", maintain_order=True).sort(ROW)
    table = ordered.join(cells, on=ROW, how="left", maintain_order="left")
    return table.rename(
        {ROW: "row_number", COLUMN: "column", CODE: "reason_code", REASON: "reason"}
    ).select(*FIXED_COLUMNS, *names)


def counts_by_reason(rejects: pl.DataFrame) -> dict[str, int]:
    if rejects.height == 0:
        return {}
    counts = rejects.group_by(CODE).len().sort(CODE)
    return {str(code): int(n) for code, n in counts.iter_rows()}


def write_rejects(table: pl.DataFrame, path: Path) -> None:
    """UTF-8 with BOM; written to a temporary name first so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".part")
    with partial.open("wb") as fh:
        fh.write(b"\xef\xbb\xbf")
        guard_frame(table.with_columns(pl.col("row_number").cast(pl.String))).write_csv(fh)
    partial.replace(path)

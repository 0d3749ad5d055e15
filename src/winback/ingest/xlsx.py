"""XLSX reading with bounded memory: zip-bomb check first, then openpyxl read-only.

Before openpyxl opens the file, the zip's central directory is inspected: the declared
uncompressed sizes must stay under a total limit and no large member may expand by more than
a ratio limit. Python's zipfile never yields more than a member's declared size (it checks the
CRC and stops), so the declared sizes bound memory. openpyxl parses the XML through
defusedxml when installed (a dependency), which refuses entity expansion and external
entities (billion laughs, XXE).
"""

from __future__ import annotations

import datetime as dt
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from winback.ingest.decode import NFIELDS, ROW, RawTable
from winback.ingest.messages import FileError, ImportFileError


@dataclass(frozen=True)
class ZipLimits:
    max_total_bytes: int = 1 << 31  # 2 GiB of XML is far beyond the 1,048,576-row sheet limit
    max_member_bytes: int = 1 << 30
    max_ratio: float = 200.0  # real sheets compress 5-30x; bombs 1000x and more
    ratio_floor_bytes: int = 1 << 20  # small members may compress well without harm
    max_members: int = 10_000


def check_zip(path: Path, limits: ZipLimits = ZipLimits()) -> None:
    """Refuse archives whose declared sizes or compression ratios are implausible."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ImportFileError(FileError.BAD_XLSX, detail=str(exc)) from None
    if len(infos) > limits.max_members:
        raise ImportFileError(FileError.ZIP_BOMB, detail=f"{len(infos)} members")
    total = sum(info.file_size for info in infos)
    if total > limits.max_total_bytes:
        raise ImportFileError(FileError.ZIP_BOMB, detail=f"{total} bytes uncompressed")
    for info in infos:
        if info.file_size > limits.max_member_bytes:
            raise ImportFileError(
                FileError.ZIP_BOMB, detail=f"{info.filename}: {info.file_size} bytes"
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > limits.ratio_floor_bytes and ratio > limits.max_ratio:
            raise ImportFileError(
                FileError.ZIP_BOMB, detail=f"{info.filename}: compression ratio {ratio:.0f}"
            )


def read_xlsx(path: Path, limits: ZipLimits = ZipLimits()) -> RawTable:
    """First worksheet as text cells; row numbers are sheet rows."""
    check_zip(path, limits)
    import openpyxl
    from defusedxml import DefusedXmlException

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
            try:
                sheet = workbook.worksheets[0]
                return _table_from_rows(iter(sheet.iter_rows(values_only=True)), sheet.title)
            finally:
                workbook.close()
    except (
        DefusedXmlException,
        zipfile.BadZipFile,
        KeyError,
        ValueError,
        OSError,
        IndexError,
    ) as exc:
        unsafe = _defused_cause(exc, DefusedXmlException)
        if unsafe is not None:
            raise ImportFileError(FileError.UNSAFE_XML, detail=type(unsafe).__name__) from None
        raise ImportFileError(FileError.BAD_XLSX, detail=str(exc) or type(exc).__name__) from None


def _defused_cause(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    """The defusedxml refusal behind an error (openpyxl wraps it in a ValueError)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _table_from_rows(rows: Iterator[tuple[Any, ...]], title: str) -> RawTable:
    header_number = 0
    for header_number, row in enumerate(rows, start=1):  # noqa: B007 - the number is used below
        if _non_blank(row):
            header_row = [cell_text(v) or "" for v in row]
            break
    else:
        raise ImportFileError(FileError.EMPTY_FILE)
    while header_row and header_row[-1] == "":
        header_row.pop()
    width = len(header_row)
    if width == 0:
        raise ImportFileError(FileError.EMPTY_FILE)
    numbers: list[int] = []
    columns: list[list[str | None]] = [[] for _ in range(width)]
    blanks = 0
    # openpyxl hands over Python objects cell by cell; converting them is inherent to XLSX.
    for offset, row in enumerate(rows, start=header_number + 1):
        if not _non_blank(row):
            blanks += 1
            continue
        numbers.append(offset)
        for i in range(width):
            columns[i].append(cell_text(row[i]) if i < len(row) else None)
    frame = pl.DataFrame(
        {
            ROW: pl.Series(numbers, dtype=pl.Int64),
            NFIELDS: pl.Series([width] * len(numbers), dtype=pl.Int32),
            **{f"c{i}": pl.Series(col, dtype=pl.String) for i, col in enumerate(columns)},
        }
    )
    return RawTable(
        frame=frame,
        headers=tuple(h.strip() for h in header_row),
        file_format="xlsx",
        sheet=title,
        blank_rows=blanks,
    )


def _non_blank(row: tuple[Any, ...]) -> bool:
    return any(v is not None and str(v).strip() != "" for v in row)


def cell_text(value: Any) -> str | None:
    """A cell as the text a CSV export of it would hold (integral floats without '.0')."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)

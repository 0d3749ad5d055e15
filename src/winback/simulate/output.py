"""Writing the export files, with a few deliberately bad rows mixed in.

Tables are built as all-text Polars frames with canonical column names, renamed to the file's
headers on the way out. A bad row is an *extra* row: a copy of a good row with exactly one
defect (and a fresh key, unless the defect is the duplicated key itself), inserted somewhere
after the row it copies. Columns whose names start with ``_native_`` carry the typed value
for Excel cells (real dates, numbers) and are not written to CSV.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from openpyxl import Workbook
from openpyxl.writer.excel import ExcelWriter

from winback.schema import RejectReason

NATIVE = "_native_"
DEFECT_SHARE = 0.0005  # of good rows, per kind of defect: about 0.1 % bad rows per file
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class BadRow:
    reason: RejectReason
    source: int  # index of the good row it copies
    after: int  # inserted right after the good row with this index (>= source)
    changes: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Recipe:
    """How to make the k-th bad row of one kind: the columns to overwrite."""

    reason: RejectReason
    changes: Callable[[int], dict[str, str | None]]


def defect_count(good_rows: int) -> int:
    return max(1, round(good_rows * DEFECT_SHARE)) if good_rows else 0


def plan_bad_rows(
    rng: np.random.Generator, good_rows: int, recipes: Iterable[Recipe], count: int | None = None
) -> list[BadRow]:
    per_kind = defect_count(good_rows) if count is None else count
    if good_rows == 0:
        return []
    bad: list[BadRow] = []
    for recipe in recipes:
        sources = rng.integers(0, good_rows, per_kind)
        for k, source in enumerate(sources.tolist()):
            after = int(rng.integers(source, good_rows))
            bad.append(BadRow(recipe.reason, source, after, recipe.changes(k)))
    return bad


def _bad_frames(chunk: pl.DataFrame, offset: int, rows: list[BadRow]) -> list[pl.DataFrame]:
    """One-row frames for ``rows`` (in order), built group-wise: few Polars calls per chunk."""
    groups: dict[tuple[str, ...], list[int]] = {}
    for position, row in enumerate(rows):
        groups.setdefault(tuple(row.changes), []).append(position)
    built: dict[int, pl.DataFrame] = {}
    for changed, positions in groups.items():
        frame = chunk[[rows[p].source - offset for p in positions]]
        updates = [
            pl.Series(name, [rows[p].changes[name] for p in positions], dtype=pl.String)
            for name in changed
        ]
        blanked = [
            pl.lit(None).cast(frame.schema[f"{NATIVE}{name}"]).alias(f"{NATIVE}{name}")
            for name in changed
            if f"{NATIVE}{name}" in frame.columns
        ]
        if updates or blanked:
            frame = frame.with_columns([*updates, *blanked])
        for index, p in enumerate(positions):
            built[p] = frame.slice(index, 1)
    return [built[p] for p in range(len(rows))]


class Interleaver:
    """Feeds good rows chunk by chunk and slips each bad row in after its ``after`` row."""

    def __init__(self, bad: list[BadRow]) -> None:
        self._bad = sorted(bad, key=lambda b: b.source)
        self._next = 0
        self._pending: list[tuple[int, int, pl.DataFrame]] = []
        self._offset = 0
        self._sequence = 0

    def feed(self, chunk: pl.DataFrame) -> pl.DataFrame:
        start, stop = self._offset, self._offset + chunk.height
        taken: list[BadRow] = []
        while self._next < len(self._bad) and self._bad[self._next].source < stop:
            taken.append(self._bad[self._next])
            self._next += 1
        for row, frame in zip(taken, _bad_frames(chunk, start, taken), strict=True):
            self._pending.append((row.after, self._sequence, frame))
            self._sequence += 1
        here = sorted((p for p in self._pending if p[0] < stop), key=lambda p: p[:2])
        self._pending = [p for p in self._pending if p[0] >= stop]
        self._offset = stop
        if not here:
            return chunk
        pieces: list[pl.DataFrame] = []
        cursor = 0
        for after, _, frame in here:
            cut = after - start + 1
            pieces.append(chunk.slice(cursor, cut - cursor))
            pieces.append(frame)
            cursor = cut
        pieces.append(chunk.slice(cursor))
        return pl.concat(pieces, how="vertical")


def _visible(frame: pl.DataFrame, headers: Mapping[str, str]) -> pl.DataFrame:
    return frame.select([pl.col(name).alias(header) for name, header in headers.items()])


def write_csv(
    path: Path,
    chunks: Iterable[pl.DataFrame],
    bad: list[BadRow],
    headers: Mapping[str, str],
    encoding: str,
) -> int:
    """Write the chunks with the bad rows mixed in; returns the number of data rows.

    ``encoding`` is a Python codec: ``utf-8``, ``utf-8-sig`` (with BOM) or ``gbk``.
    """
    mixer = Interleaver(bad)
    rows = 0
    with path.open("wb") as out:
        if encoding == "utf-8-sig":
            out.write("\ufeff".encode())
        first = True
        for chunk in chunks:
            mixed = _visible(mixer.feed(chunk), headers)
            rows += mixed.height
            text = mixed.write_csv(include_header=first)
            out.write(text.encode("utf-8" if encoding == "utf-8-sig" else encoding))
            first = False
    return rows


def write_xlsx(
    path: Path,
    frame: pl.DataFrame,
    bad: list[BadRow],
    headers: Mapping[str, str],
    sheet: str,
    stamp: datetime,
) -> int:
    """One-sheet workbook; typed cells where a ``_native_`` column holds a value.

    The file is byte-for-byte reproducible: document properties carry ``stamp`` and every zip
    entry a fixed timestamp.
    """
    mixed = Interleaver(bad).feed(frame)
    columns: list[list[Any]] = []
    for name in headers:
        text = mixed.get_column(name).to_list()
        native_name = f"{NATIVE}{name}"
        if native_name in mixed.columns:
            native = mixed.get_column(native_name).to_list()
            text = [t if n is None else n for t, n in zip(text, native, strict=True)]
        columns.append(text)

    # A regular (not write-only) workbook records the sheet's dimension, as Excel does;
    # readers in read-only mode rely on it to pad rows with empty trailing cells.
    book = Workbook()
    book.properties.creator = "winback"
    book.properties.created = stamp
    book.properties.modified = stamp
    book.properties.lastModifiedBy = "winback"
    sheet_ = book.active
    assert sheet_ is not None
    sheet_.title = sheet
    sheet_.append(list(headers.values()))
    for row in zip(*columns, strict=True):
        sheet_.append(list(row))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(book, archive).save()
    path.write_bytes(_fixed_timestamps(buffer.getvalue()))
    return mixed.height


def _fixed_timestamps(data: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    target_buffer = io.BytesIO()
    with zipfile.ZipFile(target_buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=ZIP_TIMESTAMP)
            entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, source.read(info.filename))
    return target_buffer.getvalue()

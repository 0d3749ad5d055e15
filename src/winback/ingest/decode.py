"""Read a CSV/TSV or XLSX file into a table of strings with physical row numbers.

Encodings are detected, never asked: a byte-order mark decides first (UTF-8, UTF-16, UTF-32);
then strict UTF-8; then GB18030 (a superset of GBK and GB2312, what Chinese Excel writes);
then charset-normalizer's best guess. A file none of them decodes is refused whole, naming
the first byte offset where UTF-8 failed.

Delimited text is split by Polars (fast, quote-aware). Row numbers and field counts come from a
second, vectorised look at the raw lines: a record continues onto the next line while it holds
an odd number of quote characters, so a record's row number is the line it starts on (header =
row 1) and its field count is the number of delimiters outside quoted segments plus one.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from winback.environment import env_int
from winback.ingest.messages import FileError, ImportFileError

ROW = "_row"  # physical row number: header = 1, first data row = 2 (XLSX: the sheet row)
NFIELDS = "_nfields"  # fields found in the record (null when the format has no such notion)
BLANK = "_blank"  # nothing but separators, quotes and white space

_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
_DELIMITERS = (",", "\t", ";", "|")
_UNUSED_SEPARATORS = ("\x1f", "\x1e", "\x1d", "\x1c")
_CJK_EVIDENCE = 3  # CJK characters decoded as UTF-8 before the first bad byte
_CJK = re.compile("[\u4e00-\u9fff]")
_MAX_CONTROL_SHARE = 0.001  # binary data decoded by a permissive codec is full of controls
_UTF16_SAMPLE = 4096
_UTF16_ZERO_SHARE = 0.3  # ASCII text in UTF-16: every other byte is zero
DEFAULT_MAX_FILE_BYTES = 512 * 1024 * 1024
DEFAULT_MAX_LINE_BYTES = 1024 * 1024
_SCAN_BLOCK = 1 << 20


@dataclass(frozen=True)
class ReadLimits:
    """Sizes beyond which a file is refused before it is read into memory."""

    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES

    @classmethod
    def from_environment(cls) -> ReadLimits:
        return cls(
            max(env_int("WINBACK_IMPORT_MAX_FILE_BYTES", DEFAULT_MAX_FILE_BYTES), 1),
            max(env_int("WINBACK_IMPORT_MAX_LINE_BYTES", DEFAULT_MAX_LINE_BYTES), 1024),
        )


@dataclass(frozen=True)
class RawTable:
    """Cells as text (``c0``, ``c1``, ... one per header cell) plus ``_row`` and ``_nfields``."""

    frame: pl.DataFrame
    headers: tuple[str, ...]
    file_format: str  # "csv" | "tsv" | "xlsx"
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    blank_rows: int = 0

    @property
    def cell_columns(self) -> list[str]:
        return [f"c{i}" for i in range(len(self.headers))]


@dataclass(frozen=True)
class Decoded:
    data: bytes  # UTF-8 without BOM
    encoding: str


def read_table(path: Path, limits: ReadLimits | None = None) -> RawTable:
    """Read any supported file; raise :class:`ImportFileError` when it cannot be read at all."""
    if not path.is_file():
        raise ImportFileError(FileError.NOT_FOUND, path=path)
    limits = limits or ReadLimits.from_environment()
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise ImportFileError(FileError.FILE_TOO_LARGE, size=size, limit=limits.max_file_bytes)
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(b"PK\x03\x04"):
        from winback.ingest.xlsx import read_xlsx

        return read_xlsx(path)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(FileError.UNSUPPORTED_FORMAT, detail="Excel 97-2003 .xls")
    check_line_lengths(path, limits.max_line_bytes)
    return read_delimited(path.read_bytes())


def check_line_lengths(path: Path, limit: int) -> None:
    """Refuse a text file holding a line longer than ``limit`` bytes, reading it in blocks
    (memory stays at one block however long the line): a cell of hundreds of megabytes would
    otherwise be copied several times over by decoding and splitting."""
    line = 1  # the line the current run belongs to
    run = 0  # bytes of that line seen so far
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(_SCAN_BLOCK), b""):
            first = block.find(b"\n")
            if first < 0:
                run += len(block)
            else:
                pieces = block.split(b"\n")
                longest = max(map(len, pieces[1:-1]), default=0)
                if run + first > limit or longest > limit:
                    offset = 0 if run + first > limit else _first_longer(pieces, limit)
                    raise ImportFileError(FileError.LINE_TOO_LONG, line=line + offset, limit=limit)
                line += len(pieces) - 1
                run = len(pieces[-1])
            if run > limit:
                raise ImportFileError(FileError.LINE_TOO_LONG, line=line, limit=limit)


def _first_longer(pieces: list[bytes], limit: int) -> int:
    """Index of the first inner piece of a block longer than ``limit`` (it is there)."""
    lengths = pl.Series([len(p) for p in pieces[1:-1]])
    return int((lengths > limit).arg_true()[0]) + 1


def read_delimited(raw: bytes) -> RawTable:
    decoded = decode_bytes(raw)
    if not decoded.data.strip():
        raise ImportFileError(FileError.EMPTY_FILE)
    delimiter = sniff_delimiter(decoded.data)
    frame, headers, blanks = split_records(decoded.data, delimiter)
    return RawTable(
        frame=frame,
        headers=headers,
        file_format="tsv" if delimiter == "\t" else "csv",
        encoding=decoded.encoding,
        delimiter=delimiter,
        blank_rows=blanks,
    )


def decode_bytes(raw: bytes) -> Decoded:
    """Decode to UTF-8 bytes, trying BOM, UTF-8, GB18030 and charset-normalizer in turn."""
    for bom, codec in _BOMS:
        if raw.startswith(bom):
            text = _strict(raw, codec)
            return Decoded(text.lstrip("\ufeff").encode("utf-8"), codec.removesuffix("-sig"))
    utf16 = _utf16_without_bom(raw)
    if utf16 is not None:
        return utf16
    try:
        raw.decode("utf-8")
        return Decoded(raw, "utf-8")
    except UnicodeDecodeError as exc:
        utf8_offset = exc.start
    _refuse_mixed_encodings(raw)
    if _damaged_utf8(raw, utf8_offset):
        raise ImportFileError(
            FileError.UNDECODABLE, offset=utf8_offset, byte=f"{raw[utf8_offset]:02X}"
        )
    try:
        return Decoded(raw.decode("gb18030").encode("utf-8"), "gb18030")
    except UnicodeDecodeError:
        pass
    guessed = _charset_normalizer_guess(raw)
    if guessed is not None:
        return guessed
    raise ImportFileError(FileError.UNDECODABLE, offset=utf8_offset, byte=f"{raw[utf8_offset]:02X}")


def _utf16_without_bom(raw: bytes) -> Decoded | None:
    """UTF-16 text without a byte-order mark: mostly-ASCII text has a zero in every other
    byte, at odd offsets in little-endian and even ones in big-endian. Decoded when it
    decodes, refused with a clear message when it does not."""
    sample = raw[:_UTF16_SAMPLE]
    half = len(sample) // 2
    if half < 4:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    codec = None
    if odd >= _UTF16_ZERO_SHARE * half and even < odd / 4:
        codec = "utf-16-le"
    elif even >= _UTF16_ZERO_SHARE * half and odd < even / 4:
        codec = "utf-16-be"
    if codec is None:
        return None
    head = sample[: len(sample) - len(sample) % 2].decode(codec, errors="replace")
    if _control_share(head) > _MAX_CONTROL_SHARE or not any(c in head for c in "\n,\t;|"):
        return None  # zeros, but not text: binary data, refused further on
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            FileError.UTF16_NO_BOM, detail=f"{codec}, byte offset {exc.start}"
        ) from None
    return Decoded(text.lstrip("\ufeff").encode("utf-8"), codec)


def _control_share(text: str) -> float:
    controls = sum(text.count(chr(c)) for c in (*range(0, 9), 11, 12, *range(14, 32), 127))
    return controls / max(len(text), 1)


def _refuse_mixed_encodings(raw: bytes) -> None:
    """Refuse a file some of whose lines are UTF-8 Chinese and others GBK Chinese: no single
    decoding reads both, and a guess stores one half as garbage. Names the first line whose
    encoding disagrees with the first line that showed one."""
    as_utf8 = _lines(raw.decode("utf-8", errors="replace"))
    utf8_bad = pl.col("u").str.contains("\ufffd", literal=True)
    utf8_cjk = ~utf8_bad & pl.col("u").str.contains(_CJK.pattern)
    if not pl.DataFrame({"u": as_utf8}).select(utf8_cjk.any()).item():
        return  # no line is UTF-8 Chinese: nothing to disagree with
    as_gbk = _lines(raw.decode("gb18030", errors="replace"))
    if as_utf8.len() != as_gbk.len():
        return
    frame = pl.DataFrame({"u": as_utf8, "g": as_gbk}).with_row_index("line", offset=1)
    kinds = frame.select(
        "line",
        utf8_cjk.alias("utf8"),
        (utf8_bad & ~pl.col("g").str.contains("\ufffd", literal=True)).alias("gbk"),
    ).filter(pl.col("utf8") | pl.col("gbk"))
    if kinds.height == 0 or not (kinds["utf8"].any() and kinds["gbk"].any()):
        return
    first_is_utf8 = bool(kinds["utf8"][0])
    other = kinds.filter(pl.col("gbk") if first_is_utf8 else pl.col("utf8"))
    raise ImportFileError(
        FileError.MIXED_ENCODING, line=int(other["line"][0]), first=int(kinds["line"][0])
    )


def _lines(text: str) -> pl.Series:
    """The text's lines (split on line feeds, vectorised)."""
    return pl.Series([text]).str.split("\n").explode()


def _damaged_utf8(raw: bytes, offset: int) -> bool:
    """UTF-8 Chinese text with a bad byte further on: GB18030 would decode the whole file
    into nonsense without complaint, so such a file is refused (naming the offset) instead.
    GBK text only rarely forms valid three-byte UTF-8 CJK sequences, let alone several."""
    prefix = raw[:offset].decode("utf-8")
    found = itertools.islice(_CJK.finditer(prefix), _CJK_EVIDENCE)
    return sum(1 for _ in found) >= _CJK_EVIDENCE


def _strict(raw: bytes, codec: str) -> str:
    try:
        return raw.decode(codec)
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            FileError.UNDECODABLE, offset=exc.start, byte=f"{raw[exc.start]:02X}"
        ) from None


def _charset_normalizer_guess(raw: bytes) -> Decoded | None:
    from charset_normalizer import from_bytes

    best = from_bytes(raw).best()
    if best is None or best.encoding is None:
        return None
    text = str(best)
    if not text or _control_share(text) > _MAX_CONTROL_SHARE:
        return None
    return Decoded(text.lstrip("\ufeff").encode("utf-8"), best.encoding)


def sniff_delimiter(data: bytes) -> str:
    """The candidate found most often outside quotes in the header line (comma on a tie)."""
    first = data.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    unquoted = pl.Series([first]).str.replace_all(r'"[^"]*"', "")[0] or ""
    counts = {d: unquoted.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def split_records(data: bytes, delimiter: str) -> tuple[pl.DataFrame, tuple[str, ...], int]:
    """Cells, row numbers and field counts of every record; the header is returned apart."""
    fast = _split_fast(data, delimiter)
    records = fast if fast is not None else _split_with_csv_module(data, delimiter)
    header_cells = records.row(0, named=True)
    width = int(header_cells[NFIELDS])
    headers = tuple(
        (header_cells.get(f"c{i}") or "").strip().lstrip("\ufeff") for i in range(width)
    )
    body = records.slice(1)
    cells = [f"c{i}" for i in range(width)]
    if BLANK not in body.columns:
        blank = pl.all_horizontal(
            [pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "") for c in cells]
        )
        body = body.with_columns(blank.alias(BLANK))
    blank_rows = body[BLANK] & (body[NFIELDS] <= width)
    return (
        body.filter(~blank_rows).select([ROW, NFIELDS, *cells]),
        headers,
        int(blank_rows.sum()),
    )


def _split_fast(data: bytes, delimiter: str) -> pl.DataFrame | None:
    separator = next((s for s in _UNUSED_SEPARATORS if s.encode() not in data), None)
    if separator is None:
        return None
    try:
        lines = pl.read_csv(
            data,
            has_header=False,
            separator=separator,
            quote_char=None,
            schema={"l": pl.String},
            empty_string_is_null=False,
            truncate_ragged_lines=True,
        )["l"].fill_null("")
        layout = _layout(lines, delimiter)
        width = int(layout[NFIELDS][0])
        cells = pl.read_csv(
            data,
            has_header=False,
            separator=delimiter,
            infer_schema=False,
            truncate_ragged_lines=True,
            missing_columns="insert",
            schema={f"c{i}": pl.String for i in range(width)},
        )
    except pl.exceptions.PolarsError:
        return None
    layout, cells = _trim_trailing_blank(layout), _trim_trailing_blank(cells)
    if layout.height != cells.height or layout.height == 0:
        return None
    return pl.concat([layout, cells], how="horizontal")


def _layout(lines: pl.Series, delimiter: str) -> pl.DataFrame:
    """Start line and field count of each record, from the raw lines (quote-parity grouping)."""
    frame = pl.DataFrame({"l": lines}).with_row_index("line", offset=1)
    quotes = pl.col("l").str.count_matches('"', literal=True)
    frame = frame.with_columns(inside=(quotes.cum_sum() % 2) == 1)
    if frame["inside"].any():
        starts = ~pl.col("inside").shift(1, fill_value=False)
        records = (
            frame.with_columns(record=starts.cum_sum())
            .group_by("record", maintain_order=True)
            .agg(pl.col("line").first(), pl.col("l").str.join("\n"))
        )
    else:
        records = frame
    text = pl.col("l")
    if bool(frame.select(quotes.sum()).item()):
        text = text.str.replace_all(r'"[^"]*"', "")
    empty = "[" + re.escape(delimiter) + r'"\s]*'
    return records.select(
        pl.col("line").cast(pl.Int64).alias(ROW),
        (text.str.count_matches(delimiter, literal=True) + 1).cast(pl.Int32).alias(NFIELDS),
        pl.col("l").alias("_text"),
        pl.col("l").str.contains(f"^{empty}$").alias(BLANK),
    )


def _trim_trailing_blank(frame: pl.DataFrame) -> pl.DataFrame:
    """Drop empty records at the very end (readers disagree on a final empty line)."""
    if "_text" in frame.columns:
        empty = pl.col("_text") == ""
    else:
        empty = pl.all_horizontal([pl.col(c).is_null() for c in frame.columns])
    filled = frame.select((~empty).arg_true().max().alias("last"))["last"][0]
    trimmed = frame.head(max(int(filled if filled is not None else 0) + 1, 1))
    return trimmed.drop("_text") if "_text" in trimmed.columns else trimmed


def _split_with_csv_module(data: bytes, delimiter: str) -> pl.DataFrame:
    """Exact fallback for files the fast path cannot align (stray quotes, odd line endings)."""
    text = data.decode("utf-8")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[list[str]] = []
    starts: list[int] = []
    next_line = 1
    for record in reader:  # fallback only: the fast path handles well-formed files
        starts.append(next_line)
        rows.append(record)
        next_line = reader.line_num + 1
    if not rows:
        raise ImportFileError(FileError.EMPTY_FILE)
    width = len(rows[0])
    columns: dict[str, list[str | None]] = {f"c{i}": [] for i in range(width)}
    for record in rows:
        for i in range(width):
            columns[f"c{i}"].append(record[i] if i < len(record) else None)
    frame = pl.DataFrame(
        {
            ROW: pl.Series(starts, dtype=pl.Int64),
            NFIELDS: pl.Series([len(r) or 1 for r in rows], dtype=pl.Int32),
            **{k: pl.Series(v, dtype=pl.String) for k, v in columns.items()},
        }
    )
    return frame

"""Vectorised cell parsers: each takes a Polars String Series and returns values + an error mask.

An error mask is true where a cell holds something that could not be parsed; empty cells are
null values, never errors (whether a value is required is decided in :mod:`validate`).

Dates accept ISO 8601 (with ``T`` or a space, optional seconds, fraction and UTC offset),
``2024/1/5``, ``2024-1-5``, ``2024.1.5``, ``20240105`` (``20240105103000``),
``2024年1月5日 10时30分``, day/month/year or month/day/year with ``/ - .`` and Excel serial
numbers between 10000 and 99999 (1927-05-18 .. 2173-10-14; a bare four-digit number is more
likely a year than a 1900s date and is refused). Whether ``05/01/2024`` is 5 January or
1 May is decided once per file from the values themselves (:func:`decide_date_order`).
Times without an offset are business-local; timestamps are returned in UTC truncated to the
second, with the business-local calendar date alongside.

Amounts accept ``¥ ￥ RMB CNY 元 $``, thousands separators (``1,234.50``), full-width digits,
and refunds written ``-12.50`` or ``(12.50)``; they become integer cents, rounded half away
from zero (四舍五入) when more than two decimals are given.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import polars as pl

from winback.ingest.headers import normalise_label
from winback.schema import BOOL_SPELLINGS

DateOrder = Literal["dmy", "mdy"]

_FULL = [chr(0xFF10 + i) for i in range(10)] + list("．，－＋／：（）￥＄　−") + ["\u00a0"]
_HALF = [str(i) for i in range(10)] + list(".,-+/:()¥$ -") + [" "]

_TIME = (
    r"(?:[T\s]*(?P<h>\d{1,2})[:时点](?P<mi>\d{1,2})"
    r"(?:(?:[:分](?P<s>\d{1,2})(?:[.,]\d+)?秒?)|分)?)?"
)
_TZ = r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?"
_YMD = rf"^(?P<y>\d{{4}})[-/.年](?P<mo>\d{{1,2}})[-/.月](?P<d>\d{{1,2}})日?{_TIME}{_TZ}$"
_DMY = rf"^(?P<p1>\d{{1,2}})[-/.](?P<p2>\d{{1,2}})[-/.](?P<y>\d{{4}}|\d{{2}}){_TIME}{_TZ}$"
_COMPACT = (
    r"^(?P<y>\d{4})(?P<mo>\d{2})(?P<d>\d{2})(?:[T\s]?(?P<h>\d{2})(?P<mi>\d{2})(?P<s>\d{2})?)?$"
)
_SERIAL = r"^[1-9]\d{4}(?:\.\d+)?$"  # 10000..99999: serial 0 / 00000 is no date
_EXCEL_EPOCH_OFFSET_DAYS = 25569  # serial of 1970-01-01 in Excel's 1900 date system

_AMOUNT = r"^(?P<sign>[+-]?)(?P<int>\d{1,3}(?:,\d{3})+|\d*)(?:\.(?P<frac>\d*))?$"
_MAX_AMOUNT_DIGITS = 13  # below 10^13 yuan: far above any real order, far below Int64 cents
_MAX_INT = 2_147_483_647
_INT = r"^(?P<sign>[+-]?)(?P<int>\d{1,3}(?:,\d{3})+|\d{1,12})(?:\.0*)?$"


@dataclass(frozen=True)
class Parsed:
    values: pl.Series
    bad: pl.Series  # Boolean: a value was given but could not be parsed


@dataclass(frozen=True)
class ParsedTimestamp:
    utc: pl.Series  # Datetime(us, "UTC"), truncated to the second
    local_date: pl.Series  # Date in the business time zone
    bad: pl.Series


@dataclass(frozen=True)
class DateOrderDecision:
    """How d/m/y-style values in one file are read, and why."""

    order: DateOrder | None  # None: the file has no d/m/y-style values
    ambiguous: bool = False  # no value showed which part is the day: the default was assumed
    conflicting: bool = False  # some values need day-first, others month-first


def halfwidth(values: pl.Expr) -> pl.Expr:
    """Full-width digits and punctuation (common in Chinese input) to their ASCII forms."""
    return values.str.replace_many(_FULL, _HALF)


def _apply(values: pl.Series, build: Callable[[pl.Expr], pl.Expr]) -> pl.Series:
    """Evaluate an expression over one Series (in a frame, so Polars can vectorise it)."""
    return pl.DataFrame({"v": values}).select(build(pl.col("v")).alias(values.name)).to_series()


_STRAY_BOM = "[\ufeff\u200b]"  # a byte-order mark or zero-width space pasted into a cell
# Control characters no cell may hold (tab, line feed and carriage return may: a quoted note
# spans lines, a pasted address holds a tab). NUL breaks PostgreSQL and XLSX; the rest print
# as nothing and make two equal-looking keys differ.
CONTROL_CHARACTERS = "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"


def clean_cells(values: pl.Series) -> pl.Series:
    """Strip surrounding white space (incl. ideographic space) and any byte-order mark or
    zero-width space inside the cell; empty cells become null."""
    return _apply(values, clean_cell_expr)


def clean_cell_expr(values: pl.Expr) -> pl.Expr:
    """:func:`clean_cells` as an expression (to clean every column of a file in one pass).
    Only cells holding a stray mark are rewritten (a search is cheaper than a replace)."""
    marked = values.str.contains(_STRAY_BOM)
    unmarked = pl.when(marked).then(values.str.replace_all(_STRAY_BOM, "")).otherwise(values)
    stripped = unmarked.str.strip_chars()
    return pl.when(stripped != "").then(stripped)


def _bad(values: pl.Series, parsed: pl.Series) -> pl.Series:
    return (values.is_not_null() & parsed.is_null()).alias(values.name)


def _fast_then_full(
    values: pl.Series,
    plain: str,
    fast: Callable[[pl.Expr], pl.Expr],
    full: Callable[[pl.Series], pl.Series],
) -> pl.Series:
    """Parse the common spelling (``plain`` regex) with one cheap expression, and only the
    remaining cells with the full parser; results are scattered back in place."""
    frame = pl.DataFrame({"v": values})
    quick = frame.select(
        pl.when(pl.col("v").str.contains(plain)).then(fast(pl.col("v"))).alias(values.name)
    ).to_series()
    rest = (values.is_not_null() & quick.is_null()).arg_true()
    if rest.len() == 0:
        return quick
    return quick.scatter(rest, full(values.gather(rest)).cast(quick.dtype))


# --- dates -----------------------------------------------------------------------------------


def decide_date_order(
    columns: Sequence[pl.Series], default: DateOrder = "mdy"
) -> DateOrderDecision:
    """Decide day/month order once per file: a first part over 12 means day-first, a second
    part over 12 month-first; with no such evidence the business default is assumed."""
    firsts: list[pl.Series] = []
    seconds: list[pl.Series] = []
    for column in columns:
        parts = _apply(column, lambda v: halfwidth(v).str.extract_groups(_DMY))
        firsts.append(parts.struct.field("p1").cast(pl.Int64, strict=False))
        seconds.append(parts.struct.field("p2").cast(pl.Int64, strict=False))
    if not firsts:
        return DateOrderDecision(None)
    first = pl.concat(firsts)
    second = pl.concat(seconds)
    if first.is_null().all():
        return DateOrderDecision(None)
    day_first = int((first > 12).sum())
    month_first = int((second > 12).sum())
    if day_first and month_first:
        order: DateOrder = "dmy" if day_first >= month_first else "mdy"
        return DateOrderDecision(order, conflicting=True)
    if day_first:
        return DateOrderDecision("dmy")
    if month_first:
        return DateOrderDecision("mdy")
    return DateOrderDecision(default, ambiguous=True)


def _naive_components(values: pl.Series, order: DateOrder) -> pl.DataFrame:
    """Year..second as strings, the UTC offset, and Excel serials, one row per value."""
    frame = pl.DataFrame({"t": _apply(values, halfwidth)})
    ymd = pl.col("t").str.extract_groups(_YMD)
    dmy = pl.col("t").str.extract_groups(_DMY)
    compact = pl.col("t").str.extract_groups(_COMPACT)
    day_part, month_part = ("p1", "p2") if order == "dmy" else ("p2", "p1")
    dmy_year = dmy.struct.field("y")
    dmy_year = (
        pl.when(dmy_year.str.len_chars() == 2)
        .then(
            pl.when(dmy_year.cast(pl.Int64) < 70)
            .then(pl.lit("20") + dmy_year)
            .otherwise(pl.lit("19") + dmy_year)
        )
        .otherwise(dmy_year)
    )

    def pick(name: str, dmy_expr: pl.Expr) -> pl.Expr:
        return pl.coalesce(ymd.struct.field(name), dmy_expr, compact.struct.field(name)).alias(name)

    return frame.select(
        pick("y", dmy_year),
        pick("mo", dmy.struct.field(month_part)),
        pick("d", dmy.struct.field(day_part)),
        pick("h", dmy.struct.field("h")),
        pick("mi", dmy.struct.field("mi")),
        pick("s", dmy.struct.field("s")),
        pl.coalesce(ymd.struct.field("tz"), dmy.struct.field("tz")).alias("tz"),
        pl.when(pl.col("t").str.contains(_SERIAL))
        .then(pl.col("t").cast(pl.Float64, strict=False))
        .alias("serial"),
    )


def _naive_datetime(parts: pl.DataFrame) -> pl.Series:
    text = pl.format(
        "{}-{}-{} {}:{}:{}",
        pl.col("y"),
        pl.col("mo").str.zfill(2),
        pl.col("d").str.zfill(2),
        pl.col("h").fill_null("0").str.zfill(2),
        pl.col("mi").fill_null("0").str.zfill(2),
        pl.col("s").fill_null("0").str.zfill(2),
    )
    from_text = text.str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S", strict=False)
    seconds = ((pl.col("serial") - _EXCEL_EPOCH_OFFSET_DAYS) * 86400).round(0).cast(pl.Int64)
    from_serial = pl.from_epoch(seconds, time_unit="s").cast(pl.Datetime("us"))
    return parts.select(pl.coalesce(from_text, from_serial).alias("naive")).to_series()


def _offset_minutes(tz: pl.Expr) -> pl.Expr:
    digits = tz.str.replace(":", "", literal=True)
    sign = pl.when(digits.str.starts_with("-")).then(-1).otherwise(1)
    hours = digits.str.slice(1, 2).cast(pl.Int64, strict=False)
    minutes = digits.str.slice(3, 2).cast(pl.Int64, strict=False)
    return pl.when(tz == "Z").then(0).otherwise(sign * (hours * 60 + minutes))


_PLAIN_TIMESTAMP = r"^\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2}:\d{2})?$"


def _naive_and_offset(values: pl.Series, order: DateOrder) -> pl.DataFrame:
    """Naive datetime and UTC offset (minutes, null when none was written) per value."""
    parts = _naive_components(values, order)
    return pl.DataFrame(
        {"naive": _naive_datetime(parts), "offset": parts.select(_offset_minutes(pl.col("tz")))}
    ).with_columns(pl.col("offset").cast(pl.Int64))


def _plain_timestamp(v: pl.Expr) -> pl.Expr:
    return pl.coalesce(
        v.str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S", strict=False),
        v.str.strptime(pl.Date, "%Y-%m-%d", strict=False).cast(pl.Datetime("us")),
    )


def localize(naive: pl.Expr, time_zone: str) -> pl.Expr:
    """Wall-clock times in ``time_zone`` as aware timestamps, never failing on a DST switch.

    A time skipped by a daylight-saving jump (China 1986-1991: midnight of the switch day did
    not exist) is read as the moment an hour later on the new clock, i.e. the same instant on
    the old clock, so a birthday on such a day is never lost; a repeated hour takes the first.
    """
    return pl.coalesce(
        naive.dt.replace_time_zone(time_zone, ambiguous="earliest", non_existent="null"),
        (naive + pl.duration(hours=1)).dt.replace_time_zone(
            time_zone, ambiguous="earliest", non_existent="null"
        ),
    )


def parse_timestamp(values: pl.Series, *, order: DateOrder, time_zone: str) -> ParsedTimestamp:
    """Timestamps in UTC plus the business-local date; naive values are business-local."""
    frame = pl.DataFrame({"v": values})
    naive = frame.select(
        pl.when(pl.col("v").str.contains(_PLAIN_TIMESTAMP)).then(_plain_timestamp(pl.col("v")))
    ).to_series()
    offset = pl.Series("offset", [None] * len(values), dtype=pl.Int64)
    rest = (values.is_not_null() & naive.is_null()).arg_true()
    if rest.len():
        full = _naive_and_offset(values.gather(rest), order)
        naive = naive.scatter(rest, full["naive"])
        offset = offset.scatter(rest, full["offset"])
    frame = pl.DataFrame({"naive": naive, "offset": offset})
    local = localize(pl.col("naive"), time_zone).dt.convert_time_zone("UTC")
    aware = (pl.col("naive") - pl.duration(minutes=pl.col("offset"))).dt.replace_time_zone("UTC")
    utc = (
        frame.select(
            pl.when(pl.col("offset").is_null()).then(local).otherwise(aware).dt.truncate("1s")
        )
        .to_series()
        .alias(values.name)
    )
    local_date = utc.dt.convert_time_zone(time_zone).dt.date().alias(values.name)
    return ParsedTimestamp(utc, local_date, _bad(values, utc))


def parse_date(values: pl.Series, *, order: DateOrder, time_zone: str) -> Parsed:
    """Calendar dates; a time or offset, if given, is read and the business-local date kept."""
    stamp = parse_timestamp(values, order=order, time_zone=time_zone)
    return Parsed(stamp.local_date, stamp.bad)


# --- numbers ---------------------------------------------------------------------------------


def _scaled_decimal(text: pl.Series, scale: int, max_int_digits: int) -> pl.DataFrame:
    """``magnitude`` (the number * 10**scale, rounded half away from zero) and ``minus``."""
    parts = pl.DataFrame({"t": text}).select(
        pl.col("t").str.extract_groups(_AMOUNT).struct.unnest()
    )
    whole = pl.col("int").str.replace_all(",", "", literal=True)
    padded = pl.col("frac").fill_null("") + pl.lit("0" * (scale + 1))
    kept = padded.str.slice(0, scale).cast(pl.Int64) if scale else pl.lit(0, pl.Int64)
    round_up = (padded.str.slice(scale, 1).cast(pl.Int64) >= 5).cast(pl.Int64)
    digits = pl.col("whole").str.len_chars()
    has_digits = (digits > 0) | (pl.col("frac").fill_null("").str.len_chars() > 0)
    magnitude = (
        pl.when(digits == 0).then(0).otherwise(pl.col("whole").cast(pl.Int64, strict=False))
        * (10**scale)
        + pl.col("kept")
        + pl.col("round_up")
    )
    return parts.with_columns(
        whole.alias("whole"), kept.alias("kept"), round_up.alias("round_up")
    ).select(
        pl.when(has_digits & (digits <= max_int_digits)).then(magnitude).alias("magnitude"),
        (pl.col("sign") == "-").alias("minus"),
    )


def parse_money(values: pl.Series) -> Parsed:
    """Amounts to integer cents; refunds negative."""
    parsed = _fast_then_full(
        values,
        r"^-?\d{1,13}(?:\.\d{1,2})?$",
        lambda v: (v.cast(pl.Decimal(18, 2), strict=False) * 100).cast(pl.Int64),
        _money_full,
    )
    return Parsed(parsed, _bad(values, parsed))


def _money_full(values: pl.Series) -> pl.Series:
    text = halfwidth(pl.col("v")).str.replace_all(r"(?i)rmb|cny|[¥$元\s]", "")
    stripped = pl.DataFrame({"v": values}).select(
        text.str.extract(r"^\((.*)\)$", 1).alias("inner"), text.alias("text")
    )
    in_parens = stripped["inner"].is_not_null()
    number = _scaled_decimal(stripped["inner"].fill_null(stripped["text"]), 2, _MAX_AMOUNT_DIGITS)
    return (
        number.with_columns(in_parens.alias("parens"))
        .select(
            pl.when(pl.col("parens") & pl.col("minus"))
            .then(None)
            .when(pl.col("parens") | pl.col("minus"))
            .then(-pl.col("magnitude"))
            .otherwise(pl.col("magnitude"))
            .alias(values.name)
        )
        .to_series()
    )


def parse_decimal(values: pl.Series, scale: int = 3, max_int_digits: int = 9) -> Parsed:
    """Decimal numbers as integers in units of 10**-scale (quantity 1.5 -> 1500)."""

    def full(rest: pl.Series) -> pl.Series:
        text = _apply(rest, lambda v: halfwidth(v).str.replace_all(r"\s", ""))
        number = _scaled_decimal(text, scale, max_int_digits)
        return number.select(
            pl.when(pl.col("minus")).then(-pl.col("magnitude")).otherwise(pl.col("magnitude"))
        ).to_series()

    parsed = _fast_then_full(
        values,
        rf"^-?\d{{1,{max_int_digits}}}(?:\.\d{{1,{scale}}})?$",
        lambda v: (v.cast(pl.Decimal(18, scale), strict=False) * 10**scale).cast(pl.Int64),
        full,
    )
    return Parsed(parsed, _bad(values, parsed))


def parse_int(values: pl.Series, *, minimum: int = 0, maximum: int = _MAX_INT) -> Parsed:
    """Whole numbers (``1,234`` and Excel's ``12.0`` accepted) within [minimum, maximum]."""

    def in_range(number: pl.Expr) -> pl.Expr:
        return pl.when(number.is_between(minimum, maximum)).then(number)

    def full(rest: pl.Series) -> pl.Series:
        def build(v: pl.Expr) -> pl.Expr:
            parts = halfwidth(v).str.replace_all(r"\s", "").str.extract_groups(_INT)
            digits = parts.struct.field("int").str.replace_all(",", "", literal=True)
            magnitude = digits.cast(pl.Int64)
            negative = parts.struct.field("sign") == "-"
            return in_range(pl.when(negative).then(-magnitude).otherwise(magnitude))

        return _apply(rest, build)

    parsed = _fast_then_full(
        values, r"^\d{1,9}$", lambda v: in_range(v.cast(pl.Int64, strict=False)), full
    )
    return Parsed(parsed, _bad(values, parsed))


# --- labels ----------------------------------------------------------------------------------


def _lookup(values: pl.Series, table: Mapping[str, object], dtype: pl.DataType) -> pl.Series:
    """Map each distinct value through ``normalise_label`` and ``table`` (distinct values only)."""
    distinct = values.drop_nulls().unique().to_list()
    mapping = {v: table.get(normalise_label(v)) for v in distinct}
    return values.replace_strict(mapping, default=None, return_dtype=dtype)


def _bool_table() -> dict[str, object]:
    table: dict[str, object] = {}
    for value, spellings in BOOL_SPELLINGS.items():
        for spelling in spellings:
            table[normalise_label(spelling)] = value
    table["1 0"] = True  # Excel's 1.0 after normalisation ("." is punctuation)
    table["0 0"] = False
    return table


_BOOLS = _bool_table()


def parse_bool(values: pl.Series) -> Parsed:
    parsed = _lookup(values, _BOOLS, pl.Boolean()).alias(values.name)
    return Parsed(parsed, _bad(values, parsed))


def choice_table(choices: Sequence[tuple[str, Sequence[str]]]) -> dict[str, object]:
    table: dict[str, object] = {}
    for canonical, spellings in choices:
        for spelling in (canonical, *spellings):
            table.setdefault(normalise_label(spelling), canonical)
    return table


def parse_choice(values: pl.Series, choices: Sequence[tuple[str, Sequence[str]]]) -> Parsed:
    parsed = _lookup(values, choice_table(choices), pl.String()).alias(values.name)
    return Parsed(parsed, _bad(values, parsed))


# --- text ------------------------------------------------------------------------------------


def parse_text(values: pl.Series) -> Parsed:
    """Text as given, undoing two spreadsheet disguises: ``'=...`` (our own export's guard
    against formula injection) and ``="00123"`` (Excel's way to keep leading zeros)."""

    def build(v: pl.Expr) -> pl.Expr:
        return v.str.replace(r"^'([=+\-@\t\r＝＋－＠].*)$", "$1").str.replace(r'^="(.*)"$', "$1")

    disguised = values.str.starts_with("'") | values.str.starts_with("=")
    parsed = _apply(values, build) if disguised.any() else values
    return Parsed(parsed, pl.Series(values.name, [False] * len(values), dtype=pl.Boolean))


def parse_list(values: pl.Series) -> Parsed:
    """``a, b；c、d`` -> ["a", "b", "c", "d"] (separators , ; | 、 in either width)."""

    def build(v: pl.Expr) -> pl.Expr:
        split = v.str.replace_all(r"[,;|、，；]", "\x1f").str.split("\x1f")
        return split.list.eval(pl.element().str.strip_chars()).list.eval(
            pl.element().filter(pl.element() != "")
        )

    parsed = _apply(values, build)
    return Parsed(parsed, pl.Series(values.name, [False] * len(values), dtype=pl.Boolean))

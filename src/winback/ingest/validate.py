"""Apply an import contract to a raw table: typed columns plus one reason per rejected row.

Every field yields at most one error per row (missing, a control character, unparseable,
a date outside the plausible window, a code outside the business's vocabulary, or too long). A row's
``reason_code`` is its first error in field order, its ``column`` that error's source header,
and its ``reason`` every message joined with "; ". Messages are built only for failing rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import polars as pl

from winback.ingest.decode import NFIELDS, ROW, RawTable
from winback.ingest.headers import HeaderMap, normalise_label
from winback.ingest.messages import REJECT_MESSAGES, Lang
from winback.ingest.parse import (
    CONTROL_CHARACTERS,
    DateOrder,
    DateOrderDecision,
    Parsed,
    clean_cell_expr,
    decide_date_order,
    parse_bool,
    parse_choice,
    parse_date,
    parse_decimal,
    parse_int,
    parse_list,
    parse_money,
    parse_text,
    parse_timestamp,
)
from winback.schema import Field, FieldType, ImportContract, RejectReason

CODE = "_code"
COLUMN = "_column"
REASON = "_reason"
LOCAL_DATE_SUFFIX = "__date"  # a DATETIME field's business-local date column
_VALUE_PREVIEW = 40
SHORT_TEXT = 80  # headers and names in messages and the stored batch summary
_MAX_INT = 2_147_483_647  # the store's integer columns
INT_RANGES: dict[str, tuple[int, int]] = {"score": (-32_768, 32_767)}  # a small integer column

DTYPES: dict[FieldType, pl.DataType] = {
    FieldType.TEXT: pl.String(),
    FieldType.DATE: pl.Date(),
    FieldType.DATETIME: pl.Datetime("us", "UTC"),
    FieldType.MONEY: pl.Int64(),
    FieldType.INT: pl.Int64(),
    FieldType.DECIMAL: pl.Int64(),  # thousandths
    FieldType.BOOL: pl.Boolean(),
    FieldType.CHOICE: pl.String(),
    FieldType.LIST: pl.List(pl.String()),
}
_PARSE_ERROR: dict[FieldType, RejectReason] = {
    FieldType.DATE: RejectReason.BAD_DATE,
    FieldType.DATETIME: RejectReason.BAD_DATE,
    FieldType.MONEY: RejectReason.BAD_AMOUNT,
    FieldType.INT: RejectReason.BAD_NUMBER,
    FieldType.DECIMAL: RejectReason.BAD_NUMBER,
    FieldType.BOOL: RejectReason.BAD_BOOL,
    FieldType.CHOICE: RejectReason.BAD_CHOICE,
}


EARLIEST_DATE = date(1990, 1, 1)
EARLIEST_BIRTHDAY = date(1900, 1, 1)
MAX_CELL_CHARS = 32_767  # Excel's own limit for one cell


@dataclass(frozen=True)
class CodeMap:
    """A vocabulary a text field must belong to (e.g. leave reasons): spellings -> code.

    ``spellings`` are normalised (:func:`winback.ingest.headers.normalise_label`); a value not
    spelled exactly like one is matched by the first ``keywords`` entry it contains."""

    spellings: Mapping[str, str]
    keywords: tuple[tuple[str, str], ...] = ()

    def code_of(self, value: str) -> str | None:
        text = normalise_label(value)
        found = self.spellings.get(text)
        if found is not None:
            return found
        return next((code for word, code in self.keywords if word and word in text), None)


@dataclass(frozen=True)
class ValueLimits:
    """What a stored value may be, so no later step trips over it.

    Dates outside ``earliest`` .. ``latest`` (birthdays: ``earliest_birthday`` .. ``latest``)
    are refused, as are cells longer than ``max_cell_chars`` and, for fields in ``codes``,
    values outside the vocabulary."""

    earliest: date = EARLIEST_DATE
    latest: date | None = None
    earliest_birthday: date = EARLIEST_BIRTHDAY
    max_cell_chars: int = MAX_CELL_CHARS
    codes: Mapping[str, CodeMap] = field(default_factory=dict)

    def window(self, field_name: str) -> tuple[date, date | None]:
        low = self.earliest_birthday if field_name == "birthday" else self.earliest
        return low, self.latest


@dataclass(frozen=True)
class Validated:
    """Typed field columns of all input rows, and ROW/_code/_column/_reason of failing ones."""

    frame: pl.DataFrame
    errors: pl.DataFrame
    date_order: DateOrderDecision


def message(code: RejectReason, lang: Lang, **params: pl.Expr | str | int) -> pl.Expr:
    """A reject message as a vectorised expression, from the zh/en template table."""
    template = REJECT_MESSAGES[code][lang]
    pieces: list[pl.Expr] = []
    rest = template
    while "{" in rest:
        before, _, after = rest.partition("{")
        name, _, rest = after.partition("}")
        if before:
            pieces.append(pl.lit(before))
        value = params[name]
        pieces.append(value.cast(pl.String) if isinstance(value, pl.Expr) else pl.lit(str(value)))
    if rest:
        pieces.append(pl.lit(rest))
    return pl.concat_str(pieces).fill_null("")


def validate(
    raw: RawTable,
    header_map: HeaderMap,
    contract: ImportContract,
    *,
    time_zone: str,
    default_date_order: DateOrder,
    lang: Lang,
    limits: ValueLimits | None = None,
) -> Validated:
    limits = limits or ValueLimits()
    # Every mapped column cleaned in one pass (Polars spreads the columns over its threads).
    cleaned = raw.frame.select(
        clean_cell_expr(pl.col(f"c{index}")).alias(name)
        for name, index in header_map.fields.items()
    )
    cells = {name: cleaned[name] for name in header_map.fields}
    decision = _date_order(raw, cells, contract, default_date_order)
    order: DateOrder = decision.order or default_date_order
    columns: list[pl.Series] = [raw.frame[ROW]]
    codes: list[pl.Series] = []
    for f in contract.fields:
        cell = cells.get(f.name)
        if cell is None:
            columns += _empty_columns(f, raw.frame.height)
            continue
        parsed, local_date = _parse_field(f, cell, order, time_zone)
        code_map = limits.codes.get(f.name)
        unknown_code = None
        if code_map is not None:
            parsed, unknown_code = _map_codes(parsed, code_map)
        columns.append(parsed.values.alias(f.name))
        if local_date is not None:
            columns.append(local_date.alias(f.name + LOCAL_DATE_SUFFIX))
        day = local_date if local_date is not None else parsed.values
        checks = _Checks(limits, day if _is_dated(f) else None, unknown_code)
        codes.append(_field_code(f, cell, parsed, checks).alias(f"{CODE}{f.name}"))
    coded = pl.DataFrame([raw.frame[ROW], raw.frame[NFIELDS], *codes, *cells.values()])
    errors = _error_rows(coded, raw, header_map, contract, lang, limits)
    return Validated(pl.DataFrame(columns), errors, decision)


def _date_order(
    raw: RawTable, cells: Mapping[str, pl.Series], contract: ImportContract, default: DateOrder
) -> DateOrderDecision:
    """Day/month order from every date column of the file at once."""
    # Rows with the wrong number of fields have shifted cells: they are no evidence.
    width = len(raw.headers)
    aligned = (raw.frame[NFIELDS].is_null() | (raw.frame[NFIELDS] == width)).fill_null(True)
    dated = [
        cells[f.name].filter(aligned) for f in contract.fields if _is_dated(f) and f.name in cells
    ]
    return decide_date_order(dated, default)


def _empty_columns(f: Field, height: int) -> list[pl.Series]:
    """A field the file does not have: all null (plus its local date for timestamps)."""
    columns = [pl.Series(f.name, [None] * height, dtype=DTYPES[f.type])]
    if f.type is FieldType.DATETIME:
        columns.append(pl.Series(f.name + LOCAL_DATE_SUFFIX, [None] * height, dtype=pl.Date))
    return columns


def _is_dated(f: Field) -> bool:
    return f.type in (FieldType.DATE, FieldType.DATETIME)


def _parse_field(
    f: Field, cell: pl.Series, order: DateOrder, time_zone: str
) -> tuple[Parsed, pl.Series | None]:
    if f.type is FieldType.DATETIME:
        stamp = parse_timestamp(cell, order=order, time_zone=time_zone)
        return Parsed(stamp.utc, stamp.bad), stamp.local_date
    if f.type is FieldType.DATE:
        return parse_date(cell, order=order, time_zone=time_zone), None
    if f.type is FieldType.MONEY:
        return parse_money(cell), None
    if f.type is FieldType.INT:
        low, high = INT_RANGES.get(f.name, (0, _MAX_INT))
        return parse_int(cell, minimum=low, maximum=high), None
    if f.type is FieldType.DECIMAL:
        return parse_decimal(cell), None
    if f.type is FieldType.BOOL:
        return parse_bool(cell), None
    if f.type is FieldType.CHOICE:
        return parse_choice(cell, f.choices), None
    if f.type is FieldType.LIST:
        return parse_list(cell), None
    return parse_text(cell), None


def _first_match(cases: list[tuple[pl.Expr, pl.Expr]]) -> pl.Expr:
    """The value of the first case whose condition holds (null when none does)."""
    expr: pl.Expr = pl.lit(None, pl.String)
    for condition, value in reversed(cases):
        expr = pl.when(condition).then(value).otherwise(expr)
    return expr


@dataclass(frozen=True)
class _Checks:
    limits: ValueLimits
    day: pl.Series | None  # a dated field's calendar date
    unknown_code: pl.Series | None  # a coded field's "not in the vocabulary" mask


def _map_codes(parsed: Parsed, code_map: CodeMap) -> tuple[Parsed, pl.Series]:
    """Values through the vocabulary (distinct values only); unmapped ones are flagged."""
    values = parsed.values
    distinct = values.drop_nulls().unique().to_list()
    mapping = {v: code_map.code_of(v) for v in distinct}
    mapped = values.replace_strict(mapping, default=None, return_dtype=pl.String).alias(values.name)
    unknown = (values.is_not_null() & mapped.is_null()).alias(values.name)
    return Parsed(mapped, parsed.bad), unknown


def _max_length(f: Field, limits: ValueLimits) -> int:
    return min(f.max_length or limits.max_cell_chars, limits.max_cell_chars)


def _field_code(f: Field, cell: pl.Series, parsed: Parsed, checks: _Checks) -> pl.Series:
    """The field's error code per row (null when fine): missing, control character,
    unparseable, out of the plausible window, not in the vocabulary, or too long."""
    frame = pl.DataFrame({"cell": cell, "value": parsed.values, "bad": parsed.bad})
    cases: list[tuple[pl.Expr, pl.Expr]] = []
    if f.required:
        cases.append((pl.col("cell").is_null(), pl.lit(RejectReason.MISSING_REQUIRED.value)))
    controls = pl.col("cell").str.contains(CONTROL_CHARACTERS)
    cases.append((controls, pl.lit(RejectReason.CONTROL_CHARACTER.value)))
    cases.append(
        (
            pl.col("cell").str.len_chars() > checks.limits.max_cell_chars,
            pl.lit(RejectReason.TOO_LONG.value),
        )
    )
    parse_error = _PARSE_ERROR.get(f.type)
    if parse_error is not None:
        cases.append((pl.col("bad"), pl.lit(parse_error.value)))
    if checks.day is not None:
        low, high = checks.limits.window(f.name)
        frame = frame.with_columns(checks.day.alias("day"))
        outside = pl.col("day") < low
        if high is not None:
            outside = outside | (pl.col("day") > high)
        cases.append((outside, pl.lit(RejectReason.DATE_OUT_OF_RANGE.value)))
    if checks.unknown_code is not None:
        frame = frame.with_columns(checks.unknown_code.alias("unknown"))
        cases.append((pl.col("unknown"), pl.lit(RejectReason.UNKNOWN_CODE.value)))
    if f.type in (FieldType.TEXT, FieldType.LIST):
        text = pl.col("cell") if f.type is FieldType.LIST else pl.col("value")
        too_long = text.str.len_chars() > _max_length(f, checks.limits)
        cases.append((too_long, pl.lit(RejectReason.TOO_LONG.value)))
    return frame.select(_first_match(cases).cast(pl.String)).to_series()


def _error_rows(
    coded: pl.DataFrame,
    raw: RawTable,
    header_map: HeaderMap,
    contract: ImportContract,
    lang: Lang,
    limits: ValueLimits,
) -> pl.DataFrame:
    """ROW, _code, _column, _reason for rows with at least one problem (messages built here)."""
    width = len(raw.headers)
    code_columns = [c for c in coded.columns if c.startswith(CODE)]
    wrong_width = pl.col(NFIELDS).is_not_null() & (pl.col(NFIELDS) != width)
    any_error = pl.any_horizontal([pl.col(c).is_not_null() for c in code_columns] + [wrong_width])
    failing = coded.filter(any_error)
    if failing.height == 0:
        return pl.DataFrame(
            {ROW: [], CODE: [], COLUMN: [], REASON: []},
            schema={ROW: pl.Int64, CODE: pl.String, COLUMN: pl.String, REASON: pl.String},
        )
    fields = [f for f in contract.fields if f"{CODE}{f.name}" in coded.columns]
    messages = [_field_message(f, header_map.source(f.name), lang, limits) for f in fields]
    first_code = pl.coalesce([pl.col(f"{CODE}{f.name}") for f in fields])
    first_column = pl.coalesce(
        [
            pl.when(pl.col(f"{CODE}{f.name}").is_not_null()).then(
                pl.lit(short(header_map.source(f.name)))
            )
            for f in fields
        ]
    )
    count_message = message(
        RejectReason.WRONG_COLUMN_COUNT, lang, expected=width, found=pl.col(NFIELDS)
    )
    return failing.select(
        pl.col(ROW),
        pl.when(wrong_width)
        .then(pl.lit(RejectReason.WRONG_COLUMN_COUNT.value))
        .otherwise(first_code)
        .alias(CODE),
        pl.when(wrong_width).then(pl.lit("")).otherwise(first_column).alias(COLUMN),
        pl.when(wrong_width)
        .then(count_message)
        .otherwise(pl.concat_str(messages, separator="; ", ignore_nulls=True))
        .alias(REASON),
    )


def _field_message(f: Field, source: str, lang: Lang, limits: ValueLimits) -> pl.Expr:
    code_col = pl.col(f"{CODE}{f.name}")
    value = preview(pl.col(f.name))
    params: dict[str, pl.Expr | str | int] = {"column": short(source), "value": value}
    choices = ", ".join(c for c, _ in f.choices)
    low, high = limits.window(f.name)
    extra: Mapping[str, pl.Expr | str | int] = {
        "choices": choices,
        "max_length": _max_length(f, limits),
        "earliest": low.isoformat(),
        "latest": high.isoformat() if high else "-",
    }
    codes = (
        RejectReason.MISSING_REQUIRED,
        RejectReason.CONTROL_CHARACTER,
        _PARSE_ERROR.get(f.type),
        RejectReason.DATE_OUT_OF_RANGE,
        RejectReason.UNKNOWN_CODE,
        RejectReason.TOO_LONG,
    )
    return _first_match(
        [
            (code_col == code.value, message(code, lang, **params, **extra))
            for code in codes
            if code is not None
        ]
    )


def preview(value: pl.Expr) -> pl.Expr:
    """A cell as a message shows it: control characters as "?", cut to a few characters."""
    cut = value.str.slice(0, _VALUE_PREVIEW).str.replace_all(CONTROL_CHARACTERS, "?")
    return pl.when(value.str.len_chars() > _VALUE_PREVIEW).then(cut + pl.lit("…")).otherwise(cut)


def short(text: str, limit: int = SHORT_TEXT) -> str:
    """A header or file name as a message shows it: at most ``limit`` characters."""
    clean = "".join("?" if ord(c) < 32 or ord(c) == 127 else c for c in text[: limit + 1])
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"

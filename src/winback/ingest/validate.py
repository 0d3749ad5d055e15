"""Apply an import contract to a raw table: typed columns plus one reason per rejected row.

Every field yields at most one error per row (missing, unparseable or too long). A row's
``reason_code`` is its first error in field order, its ``column`` that error's source header,
and its ``reason`` every message joined with "; ". Messages are built only for failing rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from winback.ingest.decode import NFIELDS, ROW, RawTable
from winback.ingest.headers import HeaderMap
from winback.ingest.messages import REJECT_MESSAGES, Lang
from winback.ingest.parse import (
    DateOrder,
    DateOrderDecision,
    Parsed,
    clean_cells,
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
) -> Validated:
    cells = {
        name: clean_cells(raw.frame[f"c{index}"]).alias(name)
        for name, index in header_map.fields.items()
    }
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
        columns.append(parsed.values.alias(f.name))
        if local_date is not None:
            columns.append(local_date.alias(f.name + LOCAL_DATE_SUFFIX))
        if _has_checks(f):
            codes.append(_field_code(f, cell, parsed).alias(f"{CODE}{f.name}"))
    coded = pl.DataFrame([raw.frame[ROW], raw.frame[NFIELDS], *codes, *cells.values()])
    errors = _error_rows(coded, raw, header_map, contract, lang)
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


def _has_checks(f: Field) -> bool:
    return f.required or f.type in _PARSE_ERROR or f.max_length is not None


def _field_code(f: Field, cell: pl.Series, parsed: Parsed) -> pl.Series:
    """The field's error code per row (null when fine): missing, unparseable or too long."""
    frame = pl.DataFrame({"cell": cell, "value": parsed.values, "bad": parsed.bad})
    cases: list[tuple[pl.Expr, pl.Expr]] = []
    if f.required:
        cases.append((pl.col("cell").is_null(), pl.lit(RejectReason.MISSING_REQUIRED.value)))
    parse_error = _PARSE_ERROR.get(f.type)
    if parse_error is not None:
        cases.append((pl.col("bad"), pl.lit(parse_error.value)))
    if f.max_length is not None:
        too_long = pl.col("value").str.len_chars() > f.max_length
        cases.append((too_long, pl.lit(RejectReason.TOO_LONG.value)))
    return frame.select(_first_match(cases).cast(pl.String)).to_series()


def _error_rows(
    coded: pl.DataFrame,
    raw: RawTable,
    header_map: HeaderMap,
    contract: ImportContract,
    lang: Lang,
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
    messages = [_field_message(f, header_map.source(f.name), lang) for f in fields]
    first_code = pl.coalesce([pl.col(f"{CODE}{f.name}") for f in fields])
    first_column = pl.coalesce(
        [
            pl.when(pl.col(f"{CODE}{f.name}").is_not_null()).then(pl.lit(header_map.source(f.name)))
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


def _field_message(f: Field, source: str, lang: Lang) -> pl.Expr:
    code_col = pl.col(f"{CODE}{f.name}")
    value = pl.col(f.name).str.slice(0, _VALUE_PREVIEW)
    params: dict[str, pl.Expr | str | int] = {"column": source, "value": value}
    choices = ", ".join(c for c, _ in f.choices)
    extra: Mapping[str, pl.Expr | str | int] = {
        "choices": choices,
        "max_length": f.max_length or 0,
    }
    codes = (RejectReason.MISSING_REQUIRED, _PARSE_ERROR.get(f.type), RejectReason.TOO_LONG)
    return _first_match(
        [
            (code_col == code.value, message(code, lang, **params, **extra))
            for code in codes
            if code is not None
        ]
    )

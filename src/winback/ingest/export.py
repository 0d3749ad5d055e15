"""Exports in the import contract's own terms: the same column names, values the importer reads
back unchanged (so exporting and re-importing changes nothing).

Input is a *canonical* frame: one column per contract field with the pipeline's types (text,
dates, UTC timestamps, cents, thousandths, booleans, lists). CSV gets text: business-local
``YYYY-MM-DD HH:MM:SS`` times, amounts like ``-12.50``, ``true``/``false``. XLSX gets typed
cells (numbers, dates) and text; Parquet typed columns (amounts as decimals). Text in CSV and
XLSX is guarded against formula injection (:mod:`winback.spreadsheet_safety`).
"""

from __future__ import annotations

import polars as pl

from winback.ingest.validate import DTYPES
from winback.schema import CONTRACTS, FieldType, ImportContract
from winback.spreadsheet_safety import guard_formula

EXPORT_KINDS: tuple[str, ...] = ("customers", "orders", "order-lines", "events", "contacts")
EXPORT_FORMATS: tuple[str, ...] = ("csv", "xlsx", "parquet")
XLSX_MAX_ROWS = 1_048_575  # one header row plus Excel's sheet limit


def empty_canonical(kind: str) -> pl.DataFrame:
    contract = CONTRACTS[kind]
    return pl.DataFrame(schema={f.name: DTYPES[f.type] for f in contract.fields})


def _decimal_text(col: pl.Expr, places: int) -> pl.Expr:
    magnitude = col.abs()
    sign = pl.when(col < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    whole = (magnitude // (10**places)).cast(pl.String)
    frac = (magnitude % (10**places)).cast(pl.String).str.zfill(places)
    return pl.when(col.is_not_null()).then(pl.concat_str([sign, whole, pl.lit("."), frac]))


def _text_value(name: str, kind: FieldType, time_zone: str) -> pl.Expr:
    col = pl.col(name)
    if kind is FieldType.DATETIME:
        return col.dt.convert_time_zone(time_zone).dt.strftime("%Y-%m-%d %H:%M:%S")
    if kind is FieldType.DATE:
        return col.dt.strftime("%Y-%m-%d")
    if kind is FieldType.MONEY:
        return _decimal_text(col, 2)
    if kind is FieldType.DECIMAL:
        return _decimal_text(col, 3)
    if kind is FieldType.BOOL:
        return pl.when(col).then(pl.lit("true")).when(~col).then(pl.lit("false"))
    if kind is FieldType.LIST:
        return col.list.join(", ")
    if kind is FieldType.INT:
        return col.cast(pl.String)
    return col


def _guarded_text(name: str, kind: FieldType, time_zone: str) -> pl.Expr:
    """The field as text, guarded: any text cell (lists of tags included) that a spreadsheet
    would run as a formula is quoted; plain numbers such as ``-12.50`` stay as they are."""
    return guard_formula(_text_value(name, kind, time_zone).cast(pl.String))


def to_text(frame: pl.DataFrame, contract: ImportContract, time_zone: str) -> pl.DataFrame:
    """Every field as text an import reads back to the same value (CSV)."""
    return frame.select(
        _guarded_text(f.name, f.type, time_zone).alias(f.name) for f in contract.fields
    )


def to_typed(frame: pl.DataFrame, contract: ImportContract, time_zone: str) -> pl.DataFrame:
    """Typed columns (Parquet): amounts as Decimal(18, 2), quantities Decimal(15, 3)."""
    exprs: list[pl.Expr] = []
    for f in contract.fields:
        col = pl.col(f.name)
        if f.type is FieldType.MONEY:
            col = col.cast(pl.Decimal(20, 0)).cast(pl.Decimal(18, 2)) / 100
            col = col.cast(pl.Decimal(18, 2))
        elif f.type is FieldType.DECIMAL:
            col = (col.cast(pl.Decimal(20, 0)).cast(pl.Decimal(15, 3)) / 1000).cast(
                pl.Decimal(15, 3)
            )
        elif f.type is FieldType.DATETIME:
            col = col.dt.convert_time_zone(time_zone)
        exprs.append(col.alias(f.name))
    return frame.select(exprs)


def xlsx_rows(frame: pl.DataFrame, contract: ImportContract, time_zone: str) -> pl.DataFrame:
    """Values for spreadsheet cells: numbers and naive local times typed, text guarded."""
    exprs: list[pl.Expr] = []
    for f in contract.fields:
        col = pl.col(f.name)
        if f.type is FieldType.MONEY:
            col = col.cast(pl.Float64) / 100
        elif f.type is FieldType.DECIMAL:
            col = col.cast(pl.Float64) / 1000
        elif f.type is FieldType.DATETIME:
            col = col.dt.convert_time_zone(time_zone).dt.replace_time_zone(None)
        elif f.type in (FieldType.DATE, FieldType.INT):
            pass
        else:
            col = _guarded_text(f.name, f.type, time_zone)
        exprs.append(col.alias(f.name))
    return frame.select(exprs)

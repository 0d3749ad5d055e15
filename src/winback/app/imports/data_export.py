"""Export stored data in the import contract's terms (``winback export``), audited (R13).

One query per kind joins the natural keys back in (customer id, store code, SKU, category
code); values are normalised to the pipeline's canonical types so the pure
:mod:`winback.ingest.export` formats them the same way for every database.
"""

from __future__ import annotations

import getpass
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import polars as pl
from django.conf import settings
from django.db import connection

from winback.ingest.export import (
    EXPORT_FORMATS,
    EXPORT_KINDS,
    XLSX_MAX_ROWS,
    to_text,
    to_typed,
    xlsx_rows,
)
from winback.ingest.validate import DTYPES
from winback.schema import CONTRACTS, FieldType
from winback.store.accounts.models import AuditLog


class ExportError(ValueError):
    """The export cannot be made as asked (unknown kind or format, too many rows for XLSX)."""


@dataclass(frozen=True)
class ExportSummary:
    kind: str
    format: str
    path: str
    rows: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _pg() -> bool:
    return connection.vendor == "postgresql"


def _ts(column: str) -> str:
    if _pg():
        return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"
    return f"substr({column}, 1, 19)"


def _day(column: str) -> str:
    # An expression, not the bare column: SQLite's date converter would hand back objects.
    return f"to_char({column}, 'YYYY-MM-DD')" if _pg() else f"CAST({column} AS TEXT)"


def _flag(column: str) -> str:
    return f"CAST({column} AS INTEGER)"


def _thousandths(column: str) -> str:
    return f"CAST(ROUND({column} * 1000) AS BIGINT)"


def _json_text(column: str) -> str:
    return f"{column}::text" if _pg() else column


def _query(kind: str) -> str:
    """SELECT producing one column per contract field (text, integers, UTC timestamps)."""
    if kind == "customers":
        return f"""
            SELECT c.external_id, c.name, c.phone, c.email, c.gender, {_day("c.birthday")},
                   {_day("c.join_date")}, s.code, c.channel, c.decision_style,
                   {_json_text("c.tags")}, {_flag("c.consent_marketing")},
                   {_flag("c.do_not_contact")}, {_ts("c.do_not_contact_date")},
                   c.do_not_contact_source, c.notes
            FROM customers_customer AS c LEFT JOIN customers_store AS s ON s.id = c.store_id
            ORDER BY c.id"""
    if kind == "orders":
        return f"""
            SELECT o.order_key, c.external_id, {_ts("o.ordered_at")}, o.amount_cents, s.code,
                   o.channel, o.coupon_code
            FROM customers_order AS o
            JOIN customers_customer AS c ON c.id = o.customer_id
            LEFT JOIN customers_store AS s ON s.id = o.store_id
            ORDER BY o.id"""
    if kind == "order-lines":
        return f"""
            SELECT o.order_key, l.line_no, p.sku, g.code, {_thousandths("l.quantity")},
                   l.amount_cents
            FROM customers_orderline AS l
            JOIN customers_order AS o ON o.id = l.order_id
            LEFT JOIN customers_product AS p ON p.id = l.product_id
            LEFT JOIN customers_category AS g ON g.id = l.category_id
            ORDER BY l.id"""
    if kind == "events":
        return f"""
            SELECT e.source_key, c.external_id, e.event_type, {_ts("e.occurred_at")},
                   e.referred_external_id, {_flag("e.referred_bought")}, e.campaign_code,
                   e.survey_code, e.score, {_flag("e.adopted")}, e.complaint_category,
                   {_flag("e.resolved")}, {_ts("e.resolved_at")}, e.text
            FROM customers_engagementevent AS e
            JOIN customers_customer AS c ON c.id = e.customer_id
            ORDER BY e.id"""
    if kind == "contacts":
        return f"""
            SELECT k.source_key, c.external_id, k.channel, k.direction, k.agent_name,
                   k.outcome, {_ts("k.occurred_at")}, k.duration_seconds, k.reason_code,
                   k.offer_code, {_day("k.promised_return_date")}, k.notes
            FROM customers_contactlog AS k
            JOIN customers_customer AS c ON c.id = k.customer_id
            ORDER BY k.id"""
    raise ExportError(f"cannot export {kind!r}; choose one of {', '.join(EXPORT_KINDS)}")


_RAW_TYPES: dict[FieldType, pl.DataType] = {
    FieldType.MONEY: pl.Int64(),
    FieldType.INT: pl.Int64(),
    FieldType.DECIMAL: pl.Int64(),
    FieldType.BOOL: pl.Int64(),
}


def canonical_frame(kind: str) -> pl.DataFrame:
    """Stored rows of ``kind`` in the pipeline's canonical types, one column per field."""
    contract = CONTRACTS[kind]
    sql = _query(kind)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        rows = cursor.fetchall()
    schema = {f.name: _RAW_TYPES.get(f.type, pl.String()) for f in contract.fields}
    raw = pl.DataFrame(rows, schema=schema, orient="row")
    tz = str(settings.TIME_ZONE)
    exprs: list[pl.Expr] = []
    for f in contract.fields:
        col = pl.col(f.name)
        if f.type is FieldType.DATETIME:
            col = col.str.to_datetime("%Y-%m-%d %H:%M:%S", time_unit="us").dt.replace_time_zone(
                "UTC"
            )
        elif f.type is FieldType.DATE and kind == "customers" and f.name == "do_not_contact_date":
            stamp = col.str.to_datetime("%Y-%m-%d %H:%M:%S", time_unit="us")
            col = stamp.dt.replace_time_zone("UTC").dt.convert_time_zone(tz).dt.date()
        elif f.type is FieldType.DATE:
            col = col.str.to_date("%Y-%m-%d")
        elif f.type is FieldType.BOOL:
            col = col.cast(pl.Boolean)
        elif f.type is FieldType.LIST:
            col = col.str.json_decode(pl.List(pl.String))
        elif DTYPES[f.type] == pl.String:
            col = pl.when(col != "").then(col)
        exprs.append(col.cast(DTYPES[f.type]).alias(f.name))
    return raw.select(exprs)


def export_data(
    kind: str,
    fmt: str,
    out: Path | str,
    *,
    user: Any = None,
    reason: str = "",
) -> ExportSummary:
    """Write ``kind`` to ``out`` as csv, xlsx or parquet and record it in the audit log."""
    if kind not in EXPORT_KINDS:
        raise ExportError(f"cannot export {kind!r}; choose one of {', '.join(EXPORT_KINDS)}")
    if fmt not in EXPORT_FORMATS:
        raise ExportError(f"unknown format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    out = Path(out)
    contract = CONTRACTS[kind]
    frame = canonical_frame(kind)
    tz = str(settings.TIME_ZONE)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        with out.open("wb") as fh:
            fh.write(b"\xef\xbb\xbf")  # Excel reads UTF-8 Chinese only with a BOM
            to_text(frame, contract, tz).write_csv(fh)
    elif fmt == "parquet":
        to_typed(frame, contract, tz).write_parquet(out)
    else:
        _write_xlsx(xlsx_rows(frame, contract, tz), out, kind)
    _audit(kind, fmt, out, frame.height, user, reason)
    return ExportSummary(kind=kind, format=fmt, path=str(out), rows=frame.height)


def _write_xlsx(frame: pl.DataFrame, out: Path, kind: str) -> None:
    if frame.height > XLSX_MAX_ROWS:
        raise ExportError(
            f"{frame.height} rows do not fit in one Excel sheet ({XLSX_MAX_ROWS}); "
            "export csv or parquet"
        )
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(kind)
    sheet.append(frame.columns)
    for row in frame.iter_rows():  # openpyxl writes cell by cell; Excel caps the row count
        sheet.append(row)
    workbook.save(out)


def _audit(kind: str, fmt: str, out: Path, rows: int, user: Any, reason: str) -> None:
    real_user = user if getattr(user, "pk", None) else None
    username = real_user.get_username() if real_user is not None else f"cli:{_os_user()}"
    AuditLog.objects.create(
        user=real_user,
        username=username[:150],
        action="export",
        object_type=kind,
        reason=reason[:200],
        detail={"format": fmt, "rows": rows, "file": str(out)},
    )


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"

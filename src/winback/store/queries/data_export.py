"""Stored rows in the import contract's terms, for ``winback export`` (R13).

One query per kind joins the natural keys back in (customer id, store code, SKU, category
code). Every value leaves the database as text, an integer or a UTC timestamp text, so the
rows look the same on every database; turning them into the pipeline's types is the caller's.
"""

from __future__ import annotations

import polars as pl
from django.db import connection

from winback.ingest.export import EXPORT_KINDS
from winback.schema import CONTRACTS, FieldType
from winback.store.tables import tables

# Contract field types read as integers; every other field is read as text.
RAW_TYPES: dict[FieldType, pl.DataType] = {
    FieldType.MONEY: pl.Int64(),
    FieldType.INT: pl.Int64(),
    FieldType.DECIMAL: pl.Int64(),  # thousandths
    FieldType.BOOL: pl.Int64(),
}


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
    t = tables()
    if kind == "customers":
        return f"""
            SELECT c.external_id, c.name, c.phone, c.email, c.gender, {_day("c.birthday")},
                   {_day("c.join_date")}, s.code, c.channel, c.decision_style,
                   {_json_text("c.tags")}, {_flag("c.consent_marketing")},
                   {_flag("c.do_not_contact")}, {_ts("c.do_not_contact_date")},
                   {_day("c.reconsent_date")}, c.do_not_contact_source, c.notes
            FROM {t.customer} AS c LEFT JOIN {t.store} AS s ON s.id = c.store_id
            ORDER BY c.id"""
    if kind == "orders":
        return f"""
            SELECT o.order_key, c.external_id, {_ts("o.ordered_at")}, o.amount_cents, s.code,
                   o.channel, o.coupon_code
            FROM {t.order} AS o
            JOIN {t.customer} AS c ON c.id = o.customer_id
            LEFT JOIN {t.store} AS s ON s.id = o.store_id
            ORDER BY o.id"""
    if kind == "order-lines":
        return f"""
            SELECT o.order_key, l.line_no, p.sku, g.code, {_thousandths("l.quantity")},
                   l.amount_cents
            FROM {t.order_line} AS l
            JOIN {t.order} AS o ON o.id = l.order_id
            LEFT JOIN {t.product} AS p ON p.id = l.product_id
            LEFT JOIN {t.category} AS g ON g.id = l.category_id
            ORDER BY l.id"""
    if kind == "events":
        return f"""
            SELECT e.source_key, c.external_id, e.event_type, {_ts("e.occurred_at")},
                   e.referred_external_id, {_flag("e.referred_bought")}, e.campaign_code,
                   e.survey_code, e.score, {_flag("e.adopted")}, e.complaint_category,
                   {_flag("e.resolved")}, {_ts("e.resolved_at")}, e.text
            FROM {t.event} AS e
            JOIN {t.customer} AS c ON c.id = e.customer_id
            ORDER BY e.id"""
    if kind == "contacts":
        return f"""
            SELECT k.source_key, c.external_id, k.channel, k.direction, k.agent_name,
                   k.outcome, {_ts("k.occurred_at")}, k.duration_seconds, k.reason_code,
                   k.offer_code, {_day("k.promised_return_date")}, k.notes
            FROM {t.contact_log} AS k
            JOIN {t.customer} AS c ON c.id = k.customer_id
            ORDER BY k.id"""
    raise ValueError(f"cannot export {kind!r}; choose one of {', '.join(EXPORT_KINDS)}")


def contract_rows(*, kind: str) -> pl.DataFrame:
    """Every stored row of ``kind`` in storage order, one column per contract field:
    integers for money, counts, flags and thousandths, text for everything else (dates as
    ``YYYY-MM-DD``, timestamps as UTC ``YYYY-MM-DD HH:MM:SS``)."""
    sql = _query(kind)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        rows = cursor.fetchall()
    schema = {f.name: RAW_TYPES.get(f.type, pl.String()) for f in CONTRACTS[kind].fields}
    return pl.DataFrame(rows, schema=schema, orient="row")

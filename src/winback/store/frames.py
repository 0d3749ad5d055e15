"""Query results as typed Polars frames, and frames into tables (one statement, no per-row ORM)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl
from django.db import connection, models

from winback.store.tables import table

# Rows per executemany call on SQLite.
INSERT_BATCH = 5000


def query_frame(sql: str, params: Sequence[Any], schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """Run ``sql`` and return its rows as a frame with ``schema`` (in column order).

    SQLite hands back dates and timestamps as text and booleans as integers; both are
    normalised here so callers see the same types on every database.
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        rows = cursor.fetchall()
    names = list(schema)
    if not rows:
        return pl.DataFrame(schema=dict(schema))
    raw = pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)
    return raw.select(_typed(raw, name, dtype) for name, dtype in schema.items())


def _typed(raw: pl.DataFrame, name: str, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    have = raw.schema[name]
    if dtype == pl.Date() and have == pl.String():
        return col.str.slice(0, 10).str.to_date("%Y-%m-%d").alias(name)
    if dtype == pl.Date() and isinstance(have, pl.Datetime):
        return col.dt.date().alias(name)
    if dtype == pl.String() and have == pl.Null():
        return col.cast(pl.String()).alias(name)
    return col.cast(dtype).alias(name)


def placeholders(values: Sequence[Any]) -> str:
    return ", ".join(["%s"] * len(values))


def insert_frame(*, model: type[models.Model], columns: Sequence[str], rows: pl.DataFrame) -> None:
    """Insert ``rows`` into ``model``'s table, the frame's columns in the order of ``columns``.

    Plain multi-row inserts: model instances would cost more than the database work.
    PostgreSQL's COPY is about ten times faster than row inserts for round-sized writes.
    """
    target = table(model)
    listed = ", ".join(columns)
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        copy_sql = f"COPY {target} ({listed}) FROM STDIN"
        with connection.connection.cursor() as cursor, cursor.copy(copy_sql) as copy:
            for row in rows.iter_rows():
                copy.write_row(row)
        return
    sql = f"INSERT INTO {target} ({listed}) VALUES ({placeholders(columns)})"
    with connection.cursor() as cursor:
        for chunk in rows.iter_slices(INSERT_BATCH):
            cursor.executemany(sql, chunk.rows())

"""Write the per-customer snapshot of an analysis back to the store, and read it again.

Writing takes a plain DB-API connection that the caller already holds inside its transaction
(the web layer's), so replacing an as-of date's rows and recording the run commit together.
PostgreSQL receives the rows through ``COPY ... FROM STDIN`` (CSV written by Polars in
chunks); SQLite through a temporary database filled by ADBC and one ``INSERT ... SELECT``
(or, inside an outer transaction, ``executemany`` on one prepared statement).
Re-analysing a date updates its rows in place (decision 0056): the new rows are upserted on
(customer, as-of date), a row whose values did not change is not written at all, and only the
rows of customers no longer scored are deleted.
Reading goes through ADBC into Polars.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from winback.analytics import frames as contracts
from winback.environment import DatabaseURL
from winback.store.connect import read_groups
from winback.store.extract import Dialect
from winback.store.tables import tables

# Snapshot contract column -> table column.
COLUMNS: dict[str, str] = {"customer_pk": "customer_id"} | {
    name: name for name in contracts.SNAPSHOT if name != "customer_pk"
}
TEXT_NOT_NULL = ("stage", "customer_type", "status", "rfm_octant", "abc_class", "retention_action")
COPY_CHUNK_ROWS = 200_000
STAGE_SCHEMA = "winback_stage"
STAGE_TABLE = "snapshot"
PG_STAGE_TABLE = "winback_snapshot_stage"


def storable(scores: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """The snapshot columns in table order, with the store's NOT NULL rules applied."""
    frame = contracts.conform(scores, contracts.SNAPSHOT, "scores")
    return frame.with_columns(
        pl.lit(as_of).alias("as_of"),
        *[pl.col(c).fill_null("") for c in TEXT_NOT_NULL],
        pl.col("early_warning").fill_null(False),
        pl.col("top_signals").fill_null("[]"),
    )


def replace_snapshots(
    conn: Any, engine: str, as_of: date, scores: pl.DataFrame, *, staged: bool = False
) -> int:
    """Make ``scores`` the snapshot rows of ``as_of`` (and nothing else); returns the rows.

    ``conn`` is a DB-API connection (sqlite3 or psycopg 3) already inside the caller's
    transaction; nothing here commits. ``staged``: the rows wait in the database attached by
    :func:`staged_snapshots` (SQLite). The end state is that of deleting the date's rows and
    inserting ``scores``; rows already there are updated in place instead (decision 0056).
    """
    frame = storable(scores, as_of)
    if frame["customer_pk"].is_duplicated().any():
        raise ValueError("the scores hold a customer more than once")
    snapshot = tables().snapshot
    cursor = conn.cursor()
    try:
        if engine == "postgresql":
            cursor.execute(f"SELECT 1 FROM {snapshot} WHERE as_of = %s LIMIT 1", (as_of,))
            if cursor.fetchone() is None:
                copy_rows(cursor, snapshot, frame)
            else:
                upsert_copied(cursor, frame, as_of)
        elif staged:
            upsert_staged(cursor, frame, as_of)
        else:
            cursor.execute(f"DELETE FROM {snapshot} WHERE as_of = ?", (as_of.isoformat(),))
            insert_rows(cursor, frame, as_of)
    finally:
        cursor.close()
    return frame.height


@contextmanager
def staged_snapshots(conn: Any, engine: str, as_of: date, scores: pl.DataFrame) -> Iterator[bool]:
    """On SQLite, outside a transaction: put the rows in a temporary database and attach it.

    The rows go into the temporary file through ADBC (columnar, in C), so the insert inside
    the caller's transaction is one ``INSERT ... SELECT`` instead of a Python tuple per row.
    SQLite cannot attach a database inside a transaction: then (and on PostgreSQL, which has
    COPY) this yields False and :func:`replace_snapshots` inserts the plain way.
    """
    if engine != "sqlite" or conn.in_transaction:
        yield False
        return
    import adbc_driver_sqlite.dbapi as sqlite_dbapi

    frame = storable(scores, as_of).drop("as_of")
    with tempfile.TemporaryDirectory(prefix="winback-stage-") as folder:
        path = Path(folder) / "stage.sqlite3"
        stage = sqlite_dbapi.connect(str(path))
        try:
            cursor = stage.cursor()
            cursor.adbc_ingest(STAGE_TABLE, frame.to_arrow(compat_level=pl.CompatLevel.oldest()))
            cursor.close()
            stage.commit()
        finally:
            stage.close()
        conn.execute(f"ATTACH DATABASE ? AS {STAGE_SCHEMA}", (str(path),))
        try:
            yield True
        finally:
            conn.execute(f"DETACH DATABASE {STAGE_SCHEMA}")


def data_columns(frame: pl.DataFrame) -> list[str]:
    """The columns an upsert sets: all but the (customer, as-of date) key."""
    return [COLUMNS[c] for c in frame.columns if c not in ("customer_pk", "as_of")]


def upsert_sql(target: str, source: str, frame: pl.DataFrame, *, distinct: str) -> str:
    """``INSERT ... SELECT`` from ``source`` (the frame's columns under table names, ``as_of``
    included) that updates a row of the same customer and date in place, and only when one of
    its values differs (``distinct``: the dialect's null-safe "differs" operator)."""
    columns = [COLUMNS[c] for c in frame.columns]
    data = data_columns(frame)
    assignments = ", ".join(f"{c} = excluded.{c}" for c in data)
    old = ", ".join(f"{target}.{c}" for c in data)
    new = ", ".join(f"excluded.{c}" for c in data)
    # "WHERE true": SQLite would read "ON" as the SELECT's join constraint otherwise.
    return (
        f"INSERT INTO {target} ({', '.join(columns)}) SELECT {', '.join(columns)} FROM {source} "
        f"WHERE true ON CONFLICT (customer_id, as_of) DO UPDATE SET {assignments} "
        f"WHERE ({old}) {distinct} ({new})"
    )


def delete_unscored(cursor: Any, as_of: Any, rows: int, unscored: str, mark: str) -> None:
    """After an upsert of ``rows`` customers: delete the date's rows that ``unscored`` (a
    condition on the snapshot table's row) finds not written by it. Only looked for when the
    date holds more rows than the upsert wrote."""
    snapshot = tables().snapshot
    cursor.execute(f"SELECT COUNT(*) FROM {snapshot} WHERE as_of = {mark}", (as_of,))
    if int(cursor.fetchone()[0]) == rows:
        return
    cursor.execute(f"DELETE FROM {snapshot} WHERE as_of = {mark} AND {unscored}", (as_of,))


def upsert_staged(cursor: Any, frame: pl.DataFrame, as_of: date) -> None:
    """SQLite: the staged rows (``as_of`` added here) upserted in one statement."""
    rest = [c for c in frame.columns if c != "as_of"]
    source = (
        f"(SELECT '{as_of.isoformat()}' AS as_of, "
        + ", ".join(f"{c} AS {COLUMNS[c]}" for c in rest)
        + f" FROM {STAGE_SCHEMA}.{STAGE_TABLE})"
    )
    snapshot = tables().snapshot
    cursor.execute(upsert_sql(snapshot, source, frame.select("as_of", *rest), distinct="IS NOT"))
    # SQLite builds the IN list once, as a temporary index.
    unscored = f"customer_id NOT IN (SELECT customer_pk FROM {STAGE_SCHEMA}.{STAGE_TABLE})"
    delete_unscored(cursor, as_of.isoformat(), frame.height, unscored, "?")


def upsert_copied(cursor: Any, frame: pl.DataFrame, as_of: date) -> None:
    """PostgreSQL: the rows copied into a temporary table, then upserted in one statement."""
    snapshot = tables().snapshot
    columns = ", ".join(COLUMNS[c] for c in frame.columns)
    cursor.execute(
        f"CREATE TEMPORARY TABLE {PG_STAGE_TABLE} ON COMMIT DROP AS "
        f"SELECT {columns} FROM {snapshot} WITH NO DATA"
    )
    copy_rows(cursor, PG_STAGE_TABLE, frame)
    cursor.execute(upsert_sql(snapshot, PG_STAGE_TABLE, frame, distinct="IS DISTINCT FROM"))
    # NOT EXISTS, an anti-join: NOT IN over a million keys would not fit work_mem's hash.
    unscored = (
        f"NOT EXISTS (SELECT 1 FROM {PG_STAGE_TABLE} t "
        f"WHERE t.customer_id = {snapshot}.customer_id)"
    )
    delete_unscored(cursor, as_of, frame.height, unscored, "%s")
    # Dropped now so a second write in the same transaction can create it again (a failed
    # write rolls the creation back).
    cursor.execute(f"DROP TABLE {PG_STAGE_TABLE}")


def csv_chunks(frame: pl.DataFrame) -> Iterator[bytes]:
    for start in range(0, frame.height, COPY_CHUNK_ROWS):
        buffer = io.BytesIO()
        # Strings are always quoted, so an empty string stays distinct from NULL (unquoted).
        frame.slice(start, COPY_CHUNK_ROWS).write_csv(
            buffer, include_header=False, quote_style="non_numeric", null_value=""
        )
        yield buffer.getvalue()


def copy_rows(cursor: Any, table: str, frame: pl.DataFrame) -> None:
    columns = ", ".join(COLUMNS[c] for c in frame.columns)
    sql = f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)"
    with cursor.copy(sql) as copy:
        for chunk in csv_chunks(frame):
            copy.write(chunk)


def insert_rows(cursor: Any, frame: pl.DataFrame, as_of: date) -> None:
    # as_of is the same on every row: inline it rather than bind it a million times.
    rest = [c for c in frame.columns if c != "as_of"]
    columns = ", ".join(["as_of", *(COLUMNS[c] for c in rest)])
    marks = ", ".join(["?"] * len(rest))
    sql = f"INSERT INTO {tables().snapshot} ({columns}) VALUES ('{as_of.isoformat()}', {marks})"
    cursor.executemany(sql, frame.select(rest).iter_rows())


def read_snapshots(db: DatabaseURL, as_of: date) -> pl.DataFrame:
    """Snapshot rows of ``as_of`` with the customer's own id (``external_id``), as Polars."""
    dialect = Dialect(db.engine)
    table_columns = [COLUMNS[c] for c in contracts.SNAPSHOT if c != "as_of"]
    select = ", ".join(
        dialect.text(f"s.{c}") + f" AS {c}" if c == "top_signals" else f"s.{c}"
        for c in table_columns
        if c != "customer_id"
    )
    t = tables()
    sql = (
        "SELECT s.customer_id AS customer_pk, c.external_id, "
        f"{dialect.day('s.as_of')} AS as_of_day, "
        f"{select} FROM {t.snapshot} s JOIN {t.customer} c ON c.id = s.customer_id "
        f"WHERE s.as_of = {dialect.date_literal(as_of)} ORDER BY s.customer_id"
    )
    raw = read_groups(db, [{"snapshots": sql}])["snapshots"]
    frame = raw.with_columns(
        pl.col("as_of_day").cast(pl.Int32).cast(pl.Date).alias("as_of"),
        pl.col("top_signals").cast(pl.String),
    )
    contract = {"external_id": pl.String(), **contracts.SNAPSHOT}
    return contracts.conform(frame, contract, "snapshots")


def read_flags(db: DatabaseURL, as_of: date) -> pl.DataFrame:
    """``as_of``'s early-warning flags with the stage and status they were set against
    (``winback.analytics.early_warning.FLAGS_SCHEMA``), one row per customer."""
    dialect = Dialect(db.engine)
    sql = (
        f"SELECT customer_id AS customer_pk, stage, status, early_warning FROM {tables().snapshot}"
        f" WHERE as_of = {dialect.date_literal(as_of)}"
    )
    raw = read_groups(db, [{"flags": sql}])["flags"]
    return raw.select(
        pl.col("customer_pk").cast(pl.Int64),
        pl.col("stage").cast(pl.String),
        pl.col("status").cast(pl.String),
        pl.col("early_warning").cast(pl.Boolean),
    )

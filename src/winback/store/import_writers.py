"""Bulk SQL for imports: look up keys, insert and update rows, create stub customers.

Raw SQL through Django's connection (so it joins the caller's transaction), because the ORM
would build a Python object per row. SQLite: ``executemany`` over rows straight from Polars
(new rows into a temporary staging table, then one ``INSERT ... SELECT``), key look-ups with
one JSON array parameter (``json_each``). PostgreSQL: ``COPY`` (CSV written by Polars)
straight into the table for new rows, or into a transaction-scoped temporary table, then
``INSERT ... ON CONFLICT`` and ``UPDATE ... FROM``; key look-ups with ``= ANY(array)``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from winback.ingest.consent import STORED_SCHEMA, WITHDRAWN
from winback.ingest.keys import KEY, KEY_DERIVED
from winback.ingest.parse import localize
from winback.ingest.pipeline import (
    PK_SUFFIX,
    ROW_HASH,
    STORED_HASH,
    TARGET_ID,
)
from winback.ingest.validate import LOCAL_DATE_SUFFIX
from winback.store.customers.models import (
    Category,
    ContactLog,
    Customer,
    EngagementEvent,
    Order,
    OrderLine,
    Product,
    Store,
)
from winback.store.tables import table as table_of


@dataclass(frozen=True)
class KindSpec:
    """How one import kind's frame maps onto its table."""

    model: type[models.Model]
    columns: dict[str, str]  # db column -> frame column (written on insert and update)
    match: tuple[str, ...] = (KEY,)  # frame columns identifying a stored row
    match_db: tuple[str, ...] = ()  # the same, as db columns (defaults to the key column)
    on_update: dict[str, Callable[[], Any]] = field(default_factory=dict)
    local_midnight: tuple[str, ...] = ()  # date frame columns stored as DateTimeFields
    # db column -> SQL combining the stored row ({t}column) with the file's value ({new}) on
    # update, for facts an import must never undo (a do-not-contact request made to an agent).
    sticky: dict[str, str] = field(default_factory=dict)
    # db column -> the field whose presence in a file means the column is written too.
    derived: dict[str, str] = field(default_factory=dict)

    def set_expression(self, column: str, stored_prefix: str, new: str) -> str:
        return self.sticky.get(column, "{new}").format(t=stored_prefix, new=new)

    def present_columns(self, fields: frozenset[str]) -> list[str]:
        """The db columns a file holding ``fields`` writes (the rest keep what is stored)."""
        out: list[str] = []
        for column, source in self.columns.items():
            if source in (KEY, KEY_DERIVED, ROW_HASH) or column in self.key_db:
                continue
            base = source.removesuffix(PK_SUFFIX).removesuffix(LOCAL_DATE_SUFFIX)
            if base in fields or self.derived.get(column) in fields:
                out.append(column)
        return out

    @property
    def table(self) -> str:
        return table_of(self.model)

    @property
    def key_db(self) -> tuple[str, ...]:
        return self.match_db or (next(c for c, f in self.columns.items() if f == KEY),)


def _false() -> bool:
    return False


SPECS: dict[str, KindSpec] = {
    "stores": KindSpec(Store, {"code": KEY, "name": "name", "city": "city", "row_hash": ROW_HASH}),
    "categories": KindSpec(
        Category,
        {
            "code": KEY,
            "name": "name",
            "name_en": "name_en",
            "necessity": "necessity",
            "replenishment_days": "replenishment_days",
            "row_hash": ROW_HASH,
        },
    ),
    "products": KindSpec(
        Product,
        {
            "sku": KEY,
            "name": "name",
            "category_id": "category_code" + PK_SUFFIX,
            "unit_price_cents": "unit_price",
            "row_hash": ROW_HASH,
        },
    ),
    "customers": KindSpec(
        Customer,
        {
            "external_id": KEY,
            "name": "name",
            "phone": "phone",
            "email": "email",
            "gender": "gender",
            "birthday": "birthday",
            "join_date": "join_date",
            "store_id": "store_code" + PK_SUFFIX,
            "channel": "channel",
            "decision_style": "decision_style",
            "tags": "tags",
            "consent_marketing": "consent_marketing",
            "do_not_contact": "do_not_contact",
            "do_not_contact_date": "do_not_contact_date",
            "do_not_contact_source": "do_not_contact_source",
            "notes": "notes",
            "reconsent_date": "reconsent_date",
            "consent_withdrawn_date": WITHDRAWN,
            "row_hash": ROW_HASH,
        },
        on_update={"is_stub": _false, "updated_at": timezone.now},
        local_midnight=("do_not_contact_date",),
        # Do-not-contact and consent are merged with the stored state before writing
        # (winback.ingest.consent): a withdrawal stays until a later, dated re-consent.
        derived={WITHDRAWN: "consent_marketing"},
    ),
    "orders": KindSpec(
        Order,
        {
            "order_key": KEY,
            "key_derived": KEY_DERIVED,
            "customer_id": "customer_id" + PK_SUFFIX,
            "ordered_at": "order_date",
            "order_date": "order_date" + LOCAL_DATE_SUFFIX,
            "store_id": "store_code" + PK_SUFFIX,
            "channel": "channel",
            "coupon_code": "coupon_code",
            "amount_cents": "amount",
            "row_hash": ROW_HASH,
        },
    ),
    "order-lines": KindSpec(
        OrderLine,
        {
            "order_id": "order_id" + PK_SUFFIX,
            "line_no": "line_no",
            "product_id": "sku" + PK_SUFFIX,
            "category_id": "category_code" + PK_SUFFIX,
            "quantity": "quantity",
            "amount_cents": "amount",
            "row_hash": ROW_HASH,
        },
        match=("order_id" + PK_SUFFIX, "line_no"),
        match_db=("order_id", "line_no"),
    ),
    "events": KindSpec(
        EngagementEvent,
        {
            "source_key": KEY,
            "key_derived": KEY_DERIVED,
            "customer_id": "customer_id" + PK_SUFFIX,
            "event_type": "event_type",
            "occurred_at": "occurred_at",
            "occurred_date": "occurred_at" + LOCAL_DATE_SUFFIX,
            "referred_customer_id": "referred_customer_id" + PK_SUFFIX,
            "referred_external_id": "referred_customer_id",
            "referred_bought": "referred_bought",
            "campaign_code": "campaign_code",
            "survey_code": "survey_code",
            "score": "score",
            "adopted": "adopted",
            "complaint_category": "complaint_category",
            "resolved": "resolved",
            "resolved_at": "resolved_at",
            "text": "text",
            "row_hash": ROW_HASH,
        },
    ),
    "contacts": KindSpec(
        ContactLog,
        {
            "source_key": KEY,
            "key_derived": KEY_DERIVED,
            "customer_id": "customer_id" + PK_SUFFIX,
            "channel": "channel",
            "direction": "direction",
            "agent_name": "agent",
            "outcome": "outcome",
            "occurred_at": "occurred_at",
            "occurred_date": "occurred_at" + LOCAL_DATE_SUFFIX,
            "duration_seconds": "duration_seconds",
            "reason_code": "reason_code",
            "offer_code": "offer_code",
            "promised_return_date": "promised_return_date",
            "notes": "notes",
            "row_hash": ROW_HASH,
        },
    ),
}

SQLITE_IMPORT_CACHE_KIB = 256 * 1024

# Where each kind's natural key lives, for reference look-ups (kind -> table, key column).
KEY_COLUMNS: dict[str, tuple[type[models.Model], str]] = {
    "stores": (Store, "code"),
    "categories": (Category, "code"),
    "products": (Product, "sku"),
    "customers": (Customer, "external_id"),
    "orders": (Order, "order_key"),
}


def vendor() -> str:
    return str(connection.vendor)


@contextlib.contextmanager
def bulk_session() -> Iterator[None]:
    """A large SQLite page cache while an import writes: index pages of a million-row table
    stay in memory instead of being re-read for every row (restored afterwards)."""
    if vendor() != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        previous = int(cursor.fetchone()[0])
        cursor.execute(f"PRAGMA cache_size = {-SQLITE_IMPORT_CACHE_KIB}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {previous}")


# --- value conversion ------------------------------------------------------------------------


def db_frame(
    frame: pl.DataFrame, spec: KindSpec, time_zone: str, *, pg: bool | None = None
) -> pl.DataFrame:
    """The frame as the table's columns, with values in the form the backend stores
    (``pg``: for PostgreSQL; by default the connection's database, which a thread other than
    the connection's must not ask)."""
    if pg is None:
        pg = vendor() == "postgresql"
    exprs: list[pl.Expr] = []
    for db_column, source in spec.columns.items():
        model_field = spec.model._meta.get_field(_field_name(spec.model, db_column))
        col = pl.col(source)
        if source in spec.local_midnight:
            col = localize(col.cast(pl.Datetime("us")), time_zone).dt.convert_time_zone("UTC")
        exprs.append(_db_value(col, model_field, pg).alias(db_column))
    return frame.select(exprs)


def _field_name(model: type[models.Model], db_column: str) -> str:
    for f in model._meta.concrete_fields:
        if f.column == db_column:
            return str(f.name)
    raise KeyError(db_column)


def _db_value(col: pl.Expr, model_field: Any, pg: bool) -> pl.Expr:
    if isinstance(model_field, models.DateTimeField):
        return col.dt.strftime("%Y-%m-%d %H:%M:%S+00:00" if pg else "%Y-%m-%d %H:%M:%S")
    if isinstance(model_field, models.DateField):
        return col.dt.strftime("%Y-%m-%d")
    if isinstance(model_field, models.DecimalField):
        return _scaled_to_text(col, int(model_field.decimal_places))
    if isinstance(model_field, models.JSONField):
        return pl.struct(col.alias("v")).struct.json_encode().str.slice(5).str.strip_suffix("}")
    if isinstance(model_field, models.CharField | models.TextField) and not model_field.null:
        return col.fill_null("")
    return col


def _scaled_to_text(col: pl.Expr, places: int) -> pl.Expr:
    """Integer thousandths (etc.) -> "1.500": exact, no float."""
    magnitude = col.abs()
    sign = pl.when(col < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    whole = (magnitude // (10**places)).cast(pl.String)
    frac = (magnitude % (10**places)).cast(pl.String).str.zfill(places)
    return pl.when(col.is_not_null()).then(pl.concat_str([sign, whole, pl.lit("."), frac]))


def sql_literal(value: Any) -> str:
    """A constant for generated SQL (defaults of columns an import does not fill)."""
    pg = vendor() == "postgresql"
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return ("TRUE" if value else "FALSE") if pg else ("1" if value else "0")
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.datetime):
        utc = value.astimezone(dt.UTC).replace(tzinfo=None)
        text = utc.isoformat(sep=" ") + ("+00:00" if pg else "")
    elif isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = str(value)
    return "'" + text.replace("'", "''") + "'"


def insert_constants(spec: KindSpec) -> dict[str, str]:
    """SQL literals for every column an import leaves to the model's default."""
    now = timezone.now()
    out: dict[str, str] = {}
    for f in spec.model._meta.concrete_fields:
        column = str(f.column)
        if f.primary_key or column in spec.columns:
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            out[column] = sql_literal(now)
        elif column in spec.on_update:
            out[column] = sql_literal(spec.on_update[column]())
        else:
            out[column] = sql_literal(f.get_default())
    return out


def update_constants(spec: KindSpec) -> dict[str, str]:
    return {column: sql_literal(make()) for column, make in spec.on_update.items()}


# --- reads -----------------------------------------------------------------------------------


def _in_clause(column: str, values: pl.Series) -> tuple[str, Any]:
    """``column`` among ``values`` (distinct, non-null): the condition and its one parameter.

    Keys travel as one array text written by Polars, so no Python object is made per value:
    ``{1,2}`` and ``{"a","b"}`` for PostgreSQL (a text element quoted, its ``\\`` and ``"``
    escaped), the JSON ``[1,2]`` for SQLite. Passing a list of 285,000 order keys instead cost
    0.6 CPU s (psycopg adapts and quotes every element in Python) against 0.2."""
    pg = vendor() == "postgresql"
    if values.dtype.is_integer():
        listed = values.cast(pl.String).str.join(",").item()
        if pg:
            return f"{column} = ANY(%s::bigint[])", "{" + listed + "}"
        return f"{column} IN (SELECT value FROM json_each(%s))", "[" + listed + "]"
    if pg:
        return f"{column} = ANY(%s::text[])", pg_text_array(values)
    return f"{column} IN (SELECT value FROM json_each(%s))", json.dumps(values.to_list())


def pg_text_array(values: pl.Series) -> str:
    """A PostgreSQL text array literal of ``values`` (non-null): every element quoted."""
    if values.len() == 0:
        return "{}"
    quoted = (
        values.cast(pl.String)
        .str.replace_all("\\", "\\\\", literal=True)
        .str.replace_all('"', '\\"', literal=True)
    )
    return '{"' + str(quoted.str.join('","').item()) + '"}'


def lookup_keys(kind: str, keys: pl.Series) -> tuple[list[str], list[int]]:
    """(keys, primary keys) of the given natural keys that exist, one query."""
    if keys.len() == 0:
        return [], []
    model, column = KEY_COLUMNS[kind]
    condition, param = _in_clause(column, keys)
    sql = f"SELECT {column}, id FROM {table_of(model)} WHERE {condition}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [param])
        rows = cursor.fetchall()
    return [r[0] for r in rows], [int(r[1]) for r in rows]


def stored_rows(spec: KindSpec, chunk: pl.DataFrame) -> pl.DataFrame:
    """Match columns, ``_id`` and ``_stored_hash`` of the chunk's rows already stored."""
    schema: dict[str, pl.DataType] = {m: chunk.schema[m] for m in spec.match}
    schema |= {TARGET_ID: pl.Int64(), STORED_HASH: pl.String()}
    first_db, first_frame = spec.key_db[0], spec.match[0]
    values = chunk[first_frame].drop_nulls().unique()
    if values.len() == 0:
        return pl.DataFrame(schema=schema)
    select = ", ".join([*spec.key_db, "id", "row_hash"])
    condition, param = _in_clause(first_db, values)
    sql = f"SELECT {select} FROM {spec.table} WHERE {condition}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [param])
        rows = cursor.fetchall()
    return pl.DataFrame(rows, schema=schema, orient="row")


def unchecked_references(model: type[models.Model]) -> list[tuple[str, type[models.Model]]]:
    """(db column, parent model) of the references the database does not enforce (decision
    0045): the importer checks them, set-based, once per chunk."""
    out: list[tuple[str, type[models.Model]]] = []
    for f in model._meta.concrete_fields:
        parent = f.related_model
        if f.many_to_one and not getattr(f, "db_constraint", True) and isinstance(parent, type):
            out.append((str(f.column), parent))
    return out


class MissingReferenceError(RuntimeError):
    """Rows about to be written name a parent row that is not stored (it was deleted between
    the import's look-up and its write); the chunk is rolled back and the batch fails."""


def check_references(spec: KindSpec, rows: pl.DataFrame) -> None:
    """One query per reference: every parent the chunk's rows name exists.

    Rows naming an unknown customer, order, product, ... never get here: the look-up before
    writing rejected them with their row number (or created stub customers). This is the
    database's foreign-key check done once per chunk instead of once per row."""
    for column, parent in unchecked_references(spec.model):
        if column not in rows.columns:
            continue
        wanted = rows[column].drop_nulls().unique()
        if wanted.len() == 0:
            continue
        condition, param = _in_clause("id", wanted)
        sql = f"SELECT count(*) FROM {table_of(parent)} WHERE {condition}"
        with connection.cursor() as cursor:
            cursor.execute(sql, [param])
            found = int(cursor.fetchone()[0])
        if found != wanted.len():
            raise MissingReferenceError(
                f"{spec.table}.{column}: {wanted.len() - found} referenced rows of "
                f"{table_of(parent)} are not stored"
            )


# --- writes ----------------------------------------------------------------------------------


def insert_rows(spec: KindSpec, rows: pl.DataFrame) -> int:
    if rows.height == 0:
        return 0
    constants = insert_constants(spec)
    if vendor() == "postgresql":
        if not _pg_insert_new(spec, rows, constants):
            _pg_upsert(spec, rows, constants)
        return rows.height
    # Staged in a temporary table first, then one INSERT ... SELECT: a statement per row into
    # the table itself costs about a third more (its AUTOINCREMENT counter and unique key are
    # maintained per statement).
    _sqlite_stage(rows)
    columns = ", ".join([*rows.columns, *constants])
    values = ", ".join([*rows.columns, *constants.values()])
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {spec.table} ({columns}) SELECT {values} FROM temp._wb_stage")
        cursor.execute("DROP TABLE temp._wb_stage")
    return rows.height


def _pg_insert_new(spec: KindSpec, rows: pl.DataFrame, constants: dict[str, str]) -> bool:
    """Insert rows that were not stored when the chunk was classified, inside a savepoint:
    COPY straight into the table when the file fills every column (the fastest way there
    is), else a plain INSERT from staging (the upsert's speculative insertion costs ~40%
    more). False, with nothing written, when another import has stored some of them since."""
    try:
        with transaction.atomic(), connection.wrap_database_errors, connection.cursor() as cursor:
            if constants:
                _pg_stage(spec.table, rows)
                cursor.execute(_pg_insert_select(spec, rows, constants))
            else:
                _pg_copy(cursor, spec.table, rows)
    except IntegrityError:
        return False
    return True


def _pg_insert_select(spec: KindSpec, rows: pl.DataFrame, constants: dict[str, str]) -> str:
    columns = ", ".join([*rows.columns, *constants])
    values = ", ".join([*rows.columns, *constants.values()])
    return f"INSERT INTO {spec.table} ({columns}) SELECT {values} FROM _wb_stage"


def _pg_upsert(spec: KindSpec, rows: pl.DataFrame, constants: dict[str, str]) -> None:
    _pg_stage(spec.table, rows)
    conflict = ", ".join(spec.key_db)
    updates = ", ".join(
        f"{c} = {spec.set_expression(c, f'{spec.table}.', f'EXCLUDED.{c}')}"
        for c in rows.columns
        if c not in spec.key_db
    )
    insert = _pg_insert_select(spec, rows, constants)
    with connection.cursor() as cursor:
        cursor.execute(f"{insert} ON CONFLICT ({conflict}) DO UPDATE SET {updates}")


def update_rows(spec: KindSpec, rows: pl.DataFrame) -> int:
    """``rows`` holds ``id`` plus the columns to set."""
    if rows.height == 0:
        return 0
    constants = update_constants(spec)
    columns = [c for c in rows.columns if c != "id"]
    if vendor() == "postgresql":
        _pg_stage(spec.table, rows)
        sets = ", ".join(
            [f"{c} = {spec.set_expression(c, 't.', f's.{c}')}" for c in columns]
            + [f"{c} = {v}" for c, v in constants.items()]
        )
        sql = f"UPDATE {spec.table} AS t SET {sets} FROM _wb_stage AS s WHERE t.id = s.id"
        with connection.cursor() as cursor:
            cursor.execute(sql)
        return rows.height
    sets = ", ".join(
        [f"{c} = {spec.set_expression(c, '', '?')}" for c in columns]
        + [f"{c} = {v}" for c, v in constants.items()]
    )
    _sqlite_many(f"UPDATE {spec.table} SET {sets} WHERE id = ?", rows.select(*columns, "id"))
    return rows.height


def update_present(spec: KindSpec, rows: pl.DataFrame) -> int:
    """Partial update: ``rows`` holds ``id`` plus only the columns the file has; the rest of
    each stored row is left as it is. A row changes only where a value differs (null-safe);
    its stored content hash is then cleared, since it no longer describes one whole file row
    (the next whole-row import rewrites it). Returns the number of rows that changed."""
    columns = [c for c in rows.columns if c != "id"]
    if rows.height == 0 or not columns:
        return 0
    constants = {**update_constants(spec), "row_hash": "''"}
    if vendor() == "postgresql":
        _pg_stage(spec.table, rows)
        sets = ", ".join(
            [f"{c} = s.{c}" for c in columns] + [f"{c} = {v}" for c, v in constants.items()]
        )
        differs = " OR ".join(f"t.{c} IS DISTINCT FROM s.{c}" for c in columns)
        sql = (
            f"UPDATE {spec.table} AS t SET {sets} FROM _wb_stage AS s "
            f"WHERE t.id = s.id AND ({differs})"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return int(cursor.rowcount)
    sets = ", ".join(
        [f"{c} = :{c}" for c in columns] + [f"{c} = {v}" for c, v in constants.items()]
    )
    differs = " OR ".join(f"{c} IS NOT :{c}" for c in columns)
    sql = f"UPDATE {spec.table} SET {sets} WHERE id = :id AND ({differs})"
    connection.ensure_connection()
    raw = connection.connection
    assert raw is not None
    cursor = raw.cursor()
    try:
        cursor.executemany(sql, rows.select(*columns, "id").iter_rows(named=True))
        return int(cursor.rowcount)
    finally:
        cursor.close()


def stored_consent(ids: pl.Series, time_zone: str) -> pl.DataFrame:
    """The stored do-not-contact and consent state of these customers (``_id`` = pk), with
    the do-not-contact date as its business-local day."""
    values = ids.drop_nulls().unique()
    if values.len() == 0:
        return pl.DataFrame(schema=STORED_SCHEMA)
    condition, param = _in_clause("id", values)
    sql = (
        "SELECT id, do_not_contact, do_not_contact_date, do_not_contact_source, "
        "consent_marketing, consent_withdrawn_date, reconsent_date "
        f"FROM {table_of(Customer)} WHERE {condition}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [param])
        rows = cursor.fetchall()
    texts = [[None if v is None else str(v) for v in (r[2], r[5], r[6])] for r in rows]
    raw = pl.DataFrame(
        {
            "_id": pl.Series([int(r[0]) for r in rows], dtype=pl.Int64),
            "s_dnc": pl.Series([bool(r[1]) for r in rows], dtype=pl.Boolean),
            "dnc_at": pl.Series([t[0] for t in texts], dtype=pl.String),
            "s_dnc_source": pl.Series([r[3] for r in rows], dtype=pl.String),
            "s_consent": pl.Series([bool(r[4]) for r in rows], dtype=pl.Boolean),
            "s_withdrawn": pl.Series([t[1] for t in texts], dtype=pl.String),
            "s_reconsent": pl.Series([t[2] for t in texts], dtype=pl.String),
        }
    )
    return raw.select(
        "_id",
        "s_dnc",
        pl.col("dnc_at")
        .str.slice(0, 19)
        .str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S", strict=False)
        .dt.replace_time_zone("UTC")
        .dt.convert_time_zone(time_zone)
        .dt.date()
        .alias("s_dnc_date"),
        "s_dnc_source",
        "s_consent",
        pl.col("s_withdrawn").str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False),
        pl.col("s_reconsent").str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False),
    )


def create_stub_customers(external_ids: pl.Series, row_hash: str) -> int:
    """Insert customers known only from an order/event/contact; returns how many were new."""
    if external_ids.len() == 0:
        return 0
    spec = KindSpec(Customer, {"external_id": KEY, "is_stub": "is_stub", "row_hash": ROW_HASH})
    rows = pl.DataFrame({"external_id": external_ids}).with_columns(
        pl.lit(True).alias("is_stub"), pl.lit(row_hash).alias("row_hash")
    )
    constants = insert_constants(spec)
    columns = ", ".join([*rows.columns, *constants])
    if vendor() == "postgresql":
        _pg_stage(spec.table, rows)
        values = ", ".join([*rows.columns, *constants.values()])
        sql = (
            f"INSERT INTO {spec.table} ({columns}) SELECT {values} FROM _wb_stage "
            "ON CONFLICT (external_id) DO NOTHING"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return int(cursor.rowcount)
    marks = ", ".join(["?"] * rows.width + list(constants.values()))
    sql = f"INSERT INTO {spec.table} ({columns}) VALUES ({marks}) ON CONFLICT DO NOTHING"
    return _sqlite_many(sql, rows)


def set_category_parents(codes: pl.DataFrame) -> None:
    """Point each category at its parent by code (null when none or unknown)."""
    if codes.height == 0:
        return
    categories = table_of(Category)
    sql = (
        f"UPDATE {categories} SET parent_id = "
        f"(SELECT p.id FROM {categories} AS p WHERE p.code = %s) WHERE code = %s"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, codes.select("parent_code", KEY).rows())


def analyze(written: Sequence[type[models.Model]]) -> None:
    """Refresh PostgreSQL's planner statistics of the tables of ``written``."""
    with connection.cursor() as cursor:
        for model in written:
            cursor.execute(f"ANALYZE {table_of(model)}")


def _sqlite_stage(rows: pl.DataFrame) -> None:
    """The rows in ``temp._wb_stage``, columns without a declared type, so every value stays
    exactly as bound (the target table's own column types apply when it is copied on)."""
    columns = ", ".join(rows.columns)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS temp._wb_stage")
        cursor.execute(f"CREATE TEMP TABLE _wb_stage ({columns})")
    marks = ", ".join(["?"] * rows.width)
    _sqlite_many(f"INSERT INTO temp._wb_stage ({columns}) VALUES ({marks})", rows)


def _sqlite_many(sql: str, rows: pl.DataFrame) -> int:
    connection.ensure_connection()
    raw = connection.connection
    assert raw is not None
    cursor = raw.cursor()
    try:
        cursor.executemany(sql, rows.iter_rows())
        return int(cursor.rowcount)
    finally:
        cursor.close()


def _pg_stage(target: str, rows: pl.DataFrame) -> None:
    """COPY the rows into ``_wb_stage`` (the table's column types), dropped at commit."""
    columns = ", ".join(rows.columns)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS _wb_stage")
        cursor.execute(
            f"CREATE TEMP TABLE _wb_stage ON COMMIT DROP AS SELECT {columns} FROM {target} "
            "WITH NO DATA"
        )
        _pg_copy(cursor, "_wb_stage", rows)


def _pg_copy(cursor: Any, target: str, rows: pl.DataFrame) -> None:
    """COPY the rows (CSV written by Polars: an empty string quoted, null empty) into
    ``target``."""
    columns = ", ".join(rows.columns)
    payload = io.BytesIO()
    rows.write_csv(payload, include_header=False, null_value="")
    with cursor.copy(f"COPY {target} ({columns}) FROM STDIN WITH (FORMAT csv)") as copy:
        copy.write(payload.getbuffer())

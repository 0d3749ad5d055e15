"""The import pipeline, frames in and out: prepare -> (store looks up keys) -> resolve -> classify.

``prepare`` reads, maps, parses, validates and keys a file without any store. The store then
looks up the keys this file refers to (``reference_values``) and hands them to ``resolve``,
which rejects rows pointing at unknown customers or orders (or marks customers to create as
stubs), resolves optional codes (unknown ones become null and are counted) and computes each
row's content hash over exactly what will be stored. ``classify`` compares a chunk's hashes
with those already stored: insert, update or unchanged.

Every input row ends up in exactly one place: a rejects row or a valid row, so
``read = inserted + updated + unchanged + rejected`` holds by construction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import polars as pl

from winback.ingest.decode import ROW, RawTable, read_table
from winback.ingest.headers import HeaderMap, UserMapping, load_mapping, map_headers
from winback.ingest.keys import KEY, assign_keys, content_hash, key_columns
from winback.ingest.messages import FileError, ImportFileError, Lang
from winback.ingest.parse import DateOrder, DateOrderDecision
from winback.ingest.validate import (
    CODE,
    COLUMN,
    DTYPES,
    REASON,
    ValueLimits,
    message,
    short,
    validate,
)
from winback.schema import CONTRACTS, ImportContract, RejectReason

ROW_HASH = "row_hash"
STUB = "_stub"  # the row's customer does not exist yet and is created as a stub
PK_SUFFIX = "__pk"
RESOLVED_SUFFIX = "__resolved"  # the code of an optional reference that resolved, else null
OP = "_op"
TARGET_ID = "_id"
STORED_HASH = "_stored_hash"
UnknownCustomerPolicy = Literal["stub", "reject"]


@dataclass(frozen=True)
class Reference:
    """A field holding another kind's natural key."""

    field: str
    target: str  # import kind whose key it names
    required: bool = False  # rows with an unknown value cannot be stored as they are
    keep_raw: bool = False  # the raw value is stored too (hash it raw as well as resolved)


REFERENCES: dict[str, tuple[Reference, ...]] = {
    "stores": (),
    "categories": (Reference("parent_code", "categories"),),
    "products": (Reference("category_code", "categories"),),
    "customers": (Reference("store_code", "stores"),),
    "orders": (
        Reference("customer_id", "customers", required=True),
        Reference("store_code", "stores"),
    ),
    "order-lines": (
        Reference("order_id", "orders", required=True),
        Reference("sku", "products"),
        Reference("category_code", "categories"),
    ),
    "events": (
        Reference("customer_id", "customers", required=True),
        Reference("referred_customer_id", "customers", keep_raw=True),
    ),
    "contacts": (Reference("customer_id", "customers", required=True),),
}

# What the store holds when a file leaves a field empty (the models' defaults): applied before
# hashing so the hash describes the stored row, and an export re-imports unchanged.
FIELD_DEFAULTS: dict[str, dict[str, object]] = {
    "customers": {"consent_marketing": True, "do_not_contact": False, "tags": []},
    "categories": {"necessity": "discretionary"},
    "order-lines": {"quantity": 1000},
    "contacts": {"direction": "outbound"},
}


@dataclass(frozen=True)
class IngestOptions:
    time_zone: str = "Asia/Shanghai"
    default_date_order: DateOrder = "mdy"
    lang: Lang = "zh"
    unknown_customer_policy: UnknownCustomerPolicy = "stub"
    limits: ValueLimits = field(default_factory=ValueLimits)


MAX_HEADER_CHARS = 200


@dataclass(frozen=True)
class Prepared:
    kind: str
    contract: ImportContract
    raw: RawTable
    header_map: HeaderMap
    rows: pl.DataFrame  # valid rows: ROW, typed fields, key columns
    rejects: pl.DataFrame  # ROW, _code, _column, _reason
    date_order: DateOrderDecision

    @property
    def read(self) -> int:
        return self.raw.frame.height


@dataclass(frozen=True)
class Resolved:
    prepared: Prepared
    rows: pl.DataFrame  # + <field>__pk per reference, _stub, row_hash (if hashed)
    rejects: pl.DataFrame
    stub_customers: pl.Series  # distinct external ids to create (stub policy)
    unresolved: dict[str, int] = field(default_factory=dict)

    @property
    def key_columns(self) -> tuple[str, ...]:
        return key_columns(self.prepared.kind)


def contract_for(kind: str) -> ImportContract:
    try:
        return CONTRACTS[kind]
    except KeyError:
        raise ImportFileError(
            FileError.UNKNOWN_KIND, kind=kind, kinds=", ".join(CONTRACTS)
        ) from None


def prepare(
    kind: str,
    path: Path,
    *,
    mapping: Path | UserMapping | None = None,
    options: IngestOptions = IngestOptions(),
) -> Prepared:
    """Read, map, parse, validate and key one file. Whole-file problems raise ImportFileError."""
    contract = contract_for(kind)
    user = load_mapping(mapping, contract) if isinstance(mapping, Path) else mapping
    raw = read_table(path)
    return prepare_table(contract, raw, user, options)


def prepare_table(
    contract: ImportContract,
    raw: RawTable,
    mapping: UserMapping | None,
    options: IngestOptions,
) -> Prepared:
    check_headers(raw.headers)
    non_empty = frozenset(
        i for i, c in enumerate(raw.cell_columns) if raw.frame[c].drop_nulls().len() > 0
    )
    header_map = map_headers(raw.headers, contract, mapping, non_empty_columns=non_empty)
    validated = validate(
        raw,
        header_map,
        contract,
        time_zone=options.time_zone,
        default_date_order=options.default_date_order,
        lang=options.lang,
        limits=options.limits,
    )
    invalid = validated.errors.select(ROW, CODE, COLUMN, REASON)
    valid = (
        validated.frame.filter(~pl.col(ROW).is_in(invalid[ROW].implode()))
        if invalid.height
        else validated.frame
    )
    sources = {name: header_map.source(name) for name in header_map.fields}
    keyed, duplicates = assign_keys(valid, contract, sources, options.lang)
    rejects = pl.concat([invalid, duplicates]).sort(ROW)
    return Prepared(
        kind=contract.kind,
        contract=contract,
        raw=raw,
        header_map=header_map,
        rows=keyed,
        rejects=rejects,
        date_order=validated.date_order,
    )


def check_headers(headers: tuple[str, ...], limit: int = MAX_HEADER_CHARS) -> None:
    """Refuse a file whose header holds a cell no real header is that long (quoted short)."""
    for index, header in enumerate(headers):
        if len(header) > limit:
            raise ImportFileError(
                FileError.HEADER_TOO_LONG, column=index + 1, limit=limit, header=short(header)
            )


def reference_values(prepared: Prepared) -> dict[str, pl.Series]:
    """Distinct keys of other kinds this file names (what the store must look up), by kind."""
    wanted: dict[str, list[pl.Series]] = {}
    for ref in REFERENCES[prepared.kind]:
        values = prepared.rows[ref.field].drop_nulls()
        wanted.setdefault(ref.target, []).append(values)
    return {target: pl.concat(parts).unique().alias("key") for target, parts in wanted.items()}


def known_frame(keys: list[str], pks: list[int]) -> pl.DataFrame:
    """The shape ``resolve`` expects for keys found in the store."""
    return pl.DataFrame(
        {"key": pl.Series(keys, dtype=pl.String), "pk": pl.Series(pks, dtype=pl.Int64)}
    )


def resolve(
    prepared: Prepared,
    known: Mapping[str, pl.DataFrame],
    options: IngestOptions = IngestOptions(),
    *,
    hashed: bool = True,
) -> Resolved:
    """Resolve references against keys found in the store; hash what will be stored.

    ``hashed=False`` leaves the content hash out (no ``row_hash`` column): the caller adds it
    chunk by chunk with :func:`with_row_hash`, which gives the same values."""
    rows = prepared.rows
    rejects = [prepared.rejects]
    stubs = pl.Series("key", [], dtype=pl.String)
    unresolved: dict[str, int] = {}
    rows = rows.with_columns(pl.lit(False).alias(STUB))
    for ref in REFERENCES[prepared.kind]:
        rows, unknown = _join_reference(rows, ref, known.get(ref.target), prepared.kind)
        if ref.required:
            stub_it = ref.target == "customers" and options.unknown_customer_policy == "stub"
            if stub_it:
                rows = rows.with_columns((pl.col(STUB) | unknown).alias(STUB))
                stubs = rows.filter(unknown)[ref.field].unique(maintain_order=True)
            else:
                rejects.append(_reference_rejects(rows.filter(unknown), ref, prepared, options))
                rows = rows.filter(~unknown)
        else:
            unresolved[ref.field] = int(rows.select(unknown.sum()).item())
    rows = add_resolved_text(_apply_defaults(rows, prepared.kind), prepared.kind)
    if hashed:
        rows = with_row_hash(rows, prepared.kind)
    all_rejects = pl.concat(rejects).sort(ROW) if len(rejects) > 1 else prepared.rejects
    return Resolved(prepared, rows, all_rejects, stubs.sort(), unresolved)


def with_row_hash(rows: pl.DataFrame, kind: str) -> pl.DataFrame:
    """``rows`` (resolved, defaults applied) with ``row_hash``: the content hash of what will
    be stored. Row by row, so hashing a file in slices gives the same values as at once."""
    return rows.with_columns(content_hash(rows, hash_columns(kind)).alias(ROW_HASH))


def _join_reference(
    rows: pl.DataFrame, ref: Reference, known: pl.DataFrame | None, kind: str
) -> tuple[pl.DataFrame, pl.Expr]:
    """Add ``<field>__pk`` (null when unknown) and return the 'named but unknown' mask."""
    pk = ref.field + PK_SUFFIX
    table = known if known is not None else known_frame([], [])
    if ref.target == kind:
        # A self-reference (parent category) may name a row of this very file: it resolves
        # once the file is stored, so membership decides; the store sets the key afterwards.
        names = pl.concat([table["key"], rows[KEY]]).unique()
        rows = rows.with_columns(
            pl.when(pl.col(ref.field).is_in(names.implode())).then(pl.lit(0, pl.Int64)).alias(pk)
        )
    else:
        # A dictionary lookup adds one column; a join would copy the whole frame.
        rows = rows.with_columns(
            pl.col(ref.field)
            .replace_strict(table["key"], table["pk"], default=None, return_dtype=pl.Int64)
            .alias(pk)
        )
    unknown = pl.col(ref.field).is_not_null() & pl.col(pk).is_null()
    return rows, unknown


def _reference_rejects(
    rows: pl.DataFrame, ref: Reference, prepared: Prepared, options: IngestOptions
) -> pl.DataFrame:
    code = (
        RejectReason.UNKNOWN_CUSTOMER if ref.target == "customers" else RejectReason.UNKNOWN_ORDER
    )
    source = prepared.header_map.source(ref.field)
    return rows.select(
        pl.col(ROW),
        pl.lit(code.value).alias(CODE),
        pl.lit(source).alias(COLUMN),
        message(code, options.lang, column=source, value=pl.col(ref.field)).alias(REASON),
    )


def _apply_defaults(rows: pl.DataFrame, kind: str) -> pl.DataFrame:
    defaults = FIELD_DEFAULTS.get(kind, {})
    return rows.with_columns(
        pl.col(name).fill_null(pl.Series([value], dtype=rows.schema[name])).alias(name)
        for name, value in defaults.items()
    )


def hash_columns(kind: str) -> list[str]:
    """The stored content of a row: non-key fields, references as they resolve."""
    contract = CONTRACTS[kind]
    refs = {r.field: r for r in REFERENCES[kind]}
    keys = set(contract.key)
    columns: list[str] = []
    for f in contract.fields:
        if f.name in keys:
            continue
        ref = refs.get(f.name)
        if ref is None or ref.required:
            columns.append(f.name)
            continue
        if ref.keep_raw:
            columns.append(f.name)
        columns.append(f.name + RESOLVED_SUFFIX)
    return columns


def add_resolved_text(rows: pl.DataFrame, kind: str) -> pl.DataFrame:
    """``<field>__resolved``: the code when it resolved, else null (what the store keeps)."""
    return rows.with_columns(
        pl.when(pl.col(r.field + PK_SUFFIX).is_not_null())
        .then(pl.col(r.field))
        .alias(r.field + RESOLVED_SUFFIX)
        for r in REFERENCES[kind]
        if not r.required
    )


def classify(chunk: pl.DataFrame, stored: pl.DataFrame, keys: tuple[str, ...]) -> pl.DataFrame:
    """Add ``_op`` (insert/update/unchanged) and ``_id`` (stored primary key) to a chunk.

    ``stored`` holds the key columns, ``_id`` and ``_stored_hash`` of rows already stored.
    """
    joined = chunk.join(stored, on=list(keys), how="left", maintain_order="left")
    return joined.with_columns(
        pl.when(pl.col(TARGET_ID).is_null())
        .then(pl.lit("insert"))
        .when(pl.col(STORED_HASH) == pl.col(ROW_HASH))
        .then(pl.lit("unchanged"))
        .otherwise(pl.lit("update"))
        .alias(OP)
    )


def stub_customer_hash() -> str:
    """The hash of a customer row that holds nothing but its id (all defaults)."""
    contract = CONTRACTS["customers"]
    frame = pl.DataFrame(
        {f.name: pl.Series([None], dtype=DTYPES[f.type]) for f in contract.fields}
    ).with_columns(pl.lit(None, pl.Int64).alias("store_code" + PK_SUFFIX))
    frame = add_resolved_text(_apply_defaults(frame, "customers"), "customers")
    return str(content_hash(frame, hash_columns("customers"))[0])

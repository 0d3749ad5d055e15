"""The data-lake layout: the analysis frames as Parquet files in one folder.

A lake holds the whole history of one business, one folder per table, each split into parts
that can be written in parallel and read by any engine (Polars, DuckDB, Spark)::

    DIR/_winback.json                    layout version, as-of hint, row counts
    DIR/customers/part-00000.parquet     columns of frames.CUSTOMERS
    DIR/orders/part-NNNNN.parquet        frames.ORDERS
    DIR/order_lines/part-NNNNN.parquet   frames.ORDER_LINES
    DIR/events/part-NNNNN.parquet        frames.EVENTS
    DIR/contacts/part-NNNNN.parquet      frames.CONTACTS (+ reason_code when known)
    DIR/treatments/part-NNNNN.parquet    frames.TREATMENTS

Column names and types are those of :mod:`winback.analytics.frames`, plus the optional columns
of :data:`OPTIONAL` where the writer had them (Parquet types:
Int64 -> INT64, String -> BYTE_ARRAY UTF8, Date -> DATE (int32 days), Boolean -> BOOLEAN,
Float64 -> DOUBLE). Every table has at least one part (a part may hold no rows, so the schema
is always there). Keys (``customer_pk``, ``order_pk``) are unique across all parts; parts are
numbered from 0 and read in number order.

Unlike the frames extracted from the store, the lake is not cut to a date: it holds every fact
up to the manifest's ``as_of`` (the last day the history is complete for). :func:`read_lake`
cuts it to the analysis date with the same rules as :mod:`winback.store.extract`: a customer
appears once joined or seen, orders, events and contacts dated on or before the date, lines of
those orders, a complaint resolved after the date was still open, rounds started by the date.

The manifest (``_winback.json``)::

    {"layout": "winback-lake", "version": 1, "as_of": "2026-10-31",
     "history_start": "2023-11-01" | null, "source": "generator" | "database",
     "time_zone": "Asia/Shanghai" | null, "industry": "retail" | null,
     "tables": {"customers": {"rows": 1000000, "parts": 10}, ...}}
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from winback.analytics import frames as contracts
from winback.analytics.frames import AnalyticsFrames

LAYOUT = "winback-lake"
LAYOUT_VERSION = 1
MANIFEST = "_winback.json"
PART_GLOB = "part-*.parquet"
# Rows per part when a whole frame is written at once (the generator writes one part per
# customer chunk instead).
PART_ROWS = 2_000_000
TABLES: dict[str, dict[str, pl.DataType]] = {
    "customers": contracts.CUSTOMERS,
    "orders": contracts.ORDERS,
    "order_lines": contracts.ORDER_LINES,
    "events": contracts.EVENTS,
    "contacts": contracts.CONTACTS,
    "treatments": contracts.TREATMENTS,
}

# Columns a table may carry beyond its analysis contract, written when the frame has them and
# read only by those who need them: the leave reason an agent recorded on a contact (null when
# none), which the round planner reads on Spark (winback.analytics.spark_candidates). Lakes
# exported from the database have it; generated lakes do not.
OPTIONAL: dict[str, dict[str, pl.DataType]] = {"contacts": {"reason_code": pl.String()}}


class LakeError(ValueError):
    """A folder that is not a readable lake of this layout version."""


@dataclass(frozen=True)
class LakeManifest:
    as_of: date
    tables: dict[str, dict[str, int]]  # table -> {"rows": n, "parts": k}
    source: str = "unknown"
    history_start: date | None = None
    time_zone: str | None = None
    industry: str | None = None
    version: int = LAYOUT_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    def rows(self, table: str) -> int:
        return self.tables.get(table, {}).get("rows", 0)

    def to_json(self) -> dict[str, Any]:
        return {
            "layout": LAYOUT,
            "version": self.version,
            "as_of": self.as_of.isoformat(),
            "history_start": self.history_start.isoformat() if self.history_start else None,
            "source": self.source,
            "time_zone": self.time_zone,
            "industry": self.industry,
            "tables": {name: dict(self.tables[name]) for name in TABLES if name in self.tables},
            **({"extra": self.extra} if self.extra else {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LakeManifest:
        if data.get("layout") != LAYOUT:
            raise LakeError(f"not a {LAYOUT} manifest")
        if data.get("version") != LAYOUT_VERSION:
            raise LakeError(
                f"lake layout version {data.get('version')} is not {LAYOUT_VERSION}, "
                "the version this program reads"
            )
        start = data.get("history_start")
        return cls(
            as_of=date.fromisoformat(data["as_of"]),
            tables={
                k: {"rows": int(v["rows"]), "parts": int(v["parts"])}
                for k, v in data["tables"].items()
            },
            source=str(data.get("source") or "unknown"),
            history_start=date.fromisoformat(start) if start else None,
            time_zone=data.get("time_zone"),
            industry=data.get("industry"),
            version=int(data["version"]),
            extra=dict(data.get("extra") or {}),
        )


# -- paths ---------------------------------------------------------------------------------


def table_dir(root: Path, table: str) -> Path:
    if table not in TABLES:
        raise KeyError(f"unknown lake table {table!r}")
    return Path(root) / table


def part_path(root: Path, table: str, part: int) -> Path:
    return table_dir(root, table) / f"part-{part:05d}.parquet"


def part_paths(root: Path, table: str) -> list[Path]:
    """The table's parts in number order."""
    return sorted(table_dir(root, table).glob(PART_GLOB))


# -- writing -------------------------------------------------------------------------------


def conform_table(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """The table's contract columns, then those of its :data:`OPTIONAL` columns the frame has."""
    extra = [pl.col(c).cast(t) for c, t in OPTIONAL.get(table, {}).items() if c in frame.columns]
    conformed = contracts.conform(frame, TABLES[table], table)
    return pl.concat([conformed, frame.select(extra)], how="horizontal") if extra else conformed


def write_part(root: Path, table: str, part: int, frame: pl.DataFrame) -> int:
    """Write one part (conformed to the table's contract); return its rows.

    The file appears whole or not at all (written beside, then renamed).
    """
    target = part_path(root, table, part)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    conform_table(frame, table).write_parquet(temporary, compression="zstd", statistics=True)
    temporary.replace(target)
    return frame.height


def write_table(
    root: Path, table: str, frame: pl.DataFrame, *, part_rows: int = PART_ROWS
) -> dict[str, int]:
    """Write a whole table as parts of at most ``part_rows`` rows (one empty part if none)."""
    for old in part_paths(root, table):
        old.unlink()
    parts = max(1, -(-frame.height // part_rows))
    for k in range(parts):
        write_part(root, table, k, frame.slice(k * part_rows, part_rows))
    return {"rows": frame.height, "parts": parts}


def write_manifest(root: Path, manifest: LakeManifest) -> Path:
    path = Path(root) / MANIFEST
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest.to_json(), indent=2) + "\n", encoding="utf-8")
    return path


def count_tables(root: Path) -> dict[str, dict[str, int]]:
    """Rows and parts of every table as found on disk (for a manifest written after parts)."""
    counts: dict[str, dict[str, int]] = {}
    for table in TABLES:
        paths = part_paths(root, table)
        rows = pl.scan_parquet(paths).select(pl.len()).collect().item() if paths else 0
        counts[table] = {"rows": int(rows), "parts": len(paths)}
    return counts


def write_lake(
    root: Path,
    frames: AnalyticsFrames,
    *,
    as_of: date,
    source: str,
    history_start: date | None = None,
    time_zone: str | None = None,
    industry: str | None = None,
    part_rows: int = PART_ROWS,
) -> LakeManifest:
    """Write every table of ``frames`` and the manifest into ``root``."""
    root = Path(root)
    tables = {
        name: write_table(root, name, getattr(frames, name), part_rows=part_rows) for name in TABLES
    }
    manifest = LakeManifest(
        as_of=as_of,
        tables=tables,
        source=source,
        history_start=history_start,
        time_zone=time_zone,
        industry=industry,
    )
    write_manifest(root, manifest)
    return manifest


# -- reading -------------------------------------------------------------------------------


def read_manifest(root: Path) -> LakeManifest:
    path = Path(root) / MANIFEST
    if not path.is_file():
        raise LakeError(f"{root} is not a data lake: {MANIFEST} is missing")
    return LakeManifest.from_json(json.loads(path.read_text(encoding="utf-8")))


def scan_table(root: Path, table: str) -> pl.LazyFrame:
    """One table of the lake, lazily, with exactly the contract's columns and types."""
    paths = part_paths(root, table)
    contract = TABLES[table]
    if not paths:
        raise LakeError(f"lake table {table} has no parts under {table_dir(root, table)}")
    return pl.scan_parquet(paths).select([pl.col(c).cast(t) for c, t in contract.items()])


def scan_lake(root: Path) -> dict[str, pl.LazyFrame]:
    """Every table, lazily and uncut (the whole history)."""
    read_manifest(root)  # refuses a folder of another layout before any file is read
    return {table: scan_table(root, table) for table in TABLES}


def cut(scans: Mapping[str, pl.LazyFrame], as_of: date) -> dict[str, pl.LazyFrame]:
    """The tables as known on ``as_of`` (the rules of :mod:`winback.store.extract`)."""
    day = pl.lit(as_of)
    orders = scans["orders"].filter(pl.col("order_date") <= day)
    first_order = (
        scans["orders"].group_by("customer_pk").agg(pl.col("order_date").min().alias("_fo"))
    )
    first_event = (
        scans["events"].group_by("customer_pk").agg(pl.col("occurred_date").min().alias("_fe"))
    )
    seen = pl.min_horizontal("join_date", "_fo", "_fe")
    customers = (
        scans["customers"]
        .join(first_order, on="customer_pk", how="left", maintain_order="left")
        .join(first_event, on="customer_pk", how="left", maintain_order="left")
        .filter(seen.is_null() | (seen <= day))
        .with_columns(
            pl.when(pl.col("join_date") > day)
            .then(None)
            .otherwise(pl.col("join_date"))
            .alias("join_date")
        )
        .drop("_fo", "_fe")
    )
    lines = scans["order_lines"].filter(pl.col("order_date") <= day)
    later = pl.col("resolved_date") > day
    events = (
        scans["events"]
        .filter(pl.col("occurred_date") <= day)
        .with_columns(
            pl.when(later).then(pl.lit(False)).otherwise(pl.col("resolved")).alias("resolved"),
            pl.when(later).then(None).otherwise(pl.col("resolved_date")).alias("resolved_date"),
        )
    )
    known = customers.select("customer_pk")
    contacts = (
        scans["contacts"]
        .filter(pl.col("occurred_date") <= day)
        .join(known, on="customer_pk", how="semi", maintain_order="left")
    )
    treatments = (
        scans["treatments"]
        .filter(pl.col("round_start") <= day)
        .join(known, on="customer_pk", how="semi", maintain_order="left")
    )
    return {
        "customers": customers,
        "orders": orders,
        "order_lines": lines,
        "events": events,
        "contacts": contacts,
        "treatments": treatments,
    }


def read_lake(root: Path, as_of: date | None = None) -> AnalyticsFrames:
    """The analysis frames from a lake, cut to ``as_of`` (default: the manifest's ``as_of``).

    Tables are read with Polars ``scan_parquet`` and collected together, so the optimiser
    reads only the columns and rows needed.
    """
    manifest = read_manifest(root)
    scans = cut(scan_lake(root), as_of or manifest.as_of)
    names = list(TABLES)
    collected = pl.collect_all([scans[name] for name in names])
    return AnalyticsFrames(**dict(zip(names, collected, strict=True)))

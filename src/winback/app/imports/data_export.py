"""Export stored data in the import contract's terms (``winback export``), audited (R13).

The store reads each kind with its natural keys joined back in
(:mod:`winback.store.queries.data_export`); values are normalised here to the pipeline's
canonical types so the pure :mod:`winback.ingest.export` formats them the same way for every
database.
"""

from __future__ import annotations

import getpass
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from django.conf import settings

from winback.analytics import lake
from winback.app.actors import Actor, Permission, audit, require
from winback.app.customers import export as customer_export
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
from winback.store.queries import data_export as export_store

CUSTOMER_LIST_ACTION = customer_export.AUDIT_ACTION
LAKE_OBJECT = (
    "data_lake"  # audit object type of a whole-store export (winback export --format parquet)
)


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


def canonical_frame(kind: str) -> pl.DataFrame:
    """Stored rows of ``kind`` in the pipeline's canonical types, one column per field."""
    contract = CONTRACTS[kind]
    if kind not in EXPORT_KINDS:
        raise ExportError(f"cannot export {kind!r}; choose one of {', '.join(EXPORT_KINDS)}")
    raw = export_store.contract_rows(kind=kind)
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
    actor: Actor | None = None,
) -> ExportSummary:
    """Write ``kind`` to ``out`` as csv, xlsx or parquet and record it in the audit log.

    ``actor`` is who asks (the CLI's ``--as`` user with the machine's user name); customers
    leave with full phones, so their export is audited as the workbench's customer-list export
    (``export_customers``), flagged by the same rules; the cap is recorded and flagged, not
    applied (this file is the business's own data, read back by the importer)."""
    if actor is not None:
        require(actor, Permission.EXPORT_DATA)
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
    if actor is not None:
        _audit_actor(actor, kind, fmt, out, frame.height, reason)
    else:
        _audit(kind, fmt, out, frame.height, user, reason)
    return ExportSummary(kind=kind, format=fmt, path=str(out), rows=frame.height)


@dataclass(frozen=True)
class LakeSummary:
    path: str
    as_of: str
    tables: dict[str, dict[str, int]]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def export_lake(
    out: Path | str,
    *,
    as_of: date | None = None,
    reason: str = "",
    actor: Actor | None = None,
) -> LakeSummary:
    """Write the whole store as the data-lake layout (:mod:`winback.analytics.lake`) into the
    folder ``out``, audited as one export.

    The tables are the analysis frames of everything known on ``as_of`` (default: today in the
    business's time zone), uncut otherwise; any engine reading the lake cuts it to its own
    analysis date. Customers leave with their business ids and flags only (no names, phones).
    """
    from winback.app.analysis.service import extract
    from winback.app.settings.profile import current_profile

    if actor is not None:
        require(actor, Permission.EXPORT_DATA)
    profile = current_profile()
    day = as_of or datetime.now(ZoneInfo(profile.time_zone)).date()
    frames = extract(day, profile.time_zone, reasons=True)
    folder = Path(out)
    first = frames.orders.get_column("order_date").min()
    manifest = lake.write_lake(
        folder,
        frames,
        as_of=day,
        source="database",
        history_start=first if isinstance(first, date) else None,
        time_zone=profile.time_zone,
        industry=profile.industry,
    )
    rows = {table: counts["rows"] for table, counts in manifest.tables.items()}
    detail: dict[str, Any] = {
        "format": "parquet",
        "layout": f"{lake.LAYOUT}/{lake.LAYOUT_VERSION}",
        "as_of": day.isoformat(),
        "rows": rows,
        "file": str(folder),
    }
    if actor is not None:
        audit(actor, "export", object_type=LAKE_OBJECT, reason=reason[:200], detail=detail)
    else:
        AuditLog.objects.create(
            user=None,
            username=f"cli:{_os_user()}"[:150],
            action="export",
            object_type=LAKE_OBJECT,
            reason=reason[:200],
            detail=detail,
        )
    return LakeSummary(path=str(folder), as_of=day.isoformat(), tables=manifest.tables)


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


def _audit_actor(actor: Actor, kind: str, fmt: str, out: Path, rows: int, reason: str) -> None:
    detail: dict[str, Any] = {"format": fmt, "rows": rows, "file": str(out)}
    flags: list[str] = []
    action = "export"
    if kind == "customers":
        action = CUSTOMER_LIST_ACTION
        cap = customer_export.max_rows()
        today, flags = customer_export.export_flags(actor.user, rows=rows, capped=False)
        if rows > cap:
            flags.append("over_cap")
        detail.update(cap=cap, exports_today=today, flags=flags, phones="full")
    audit(
        actor,
        action,
        object_type=kind,
        reason=reason[:200],
        detail=detail,
        flagged=bool(flags),
    )


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"

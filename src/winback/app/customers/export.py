"""Supervisors export the filtered customer list (CSV or XLSX), capped, masked and audited.

* Agents may not export (403): they work single customers, not lists.
* A file holds at most ``WINBACK_EXPORT_MAX_ROWS`` rows (the list's order: tier, then churn
  score); the rest of the match is cut and the audit entry says so.
* Phones are masked (``138****5678``) whoever exports; text a spreadsheet could run as a
  formula (starting with = + - @) is quoted with the same guard as ``winback export``.
* Every export writes an audit row (who, when, the filters, how many rows). It is flagged as
  unusual when it has ``WINBACK_EXPORT_FLAG_ROWS`` rows or more, when the cap cut it, or when
  it is more than the user's ``WINBACK_EXPORT_FLAG_DAILY``-th export of the day.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

import polars as pl
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from winback.app.accounts import permissions
from winback.app.analysis.selectors import filter_snapshots, latest_run
from winback.app.customers.pages import CustomerFilters, stage_label, status_label
from winback.programme.privacy import mask_phone
from winback.redaction import redact
from winback.spreadsheet_safety import guard_frame
from winback.store.accounts.models import AuditLog, User
from winback.store.analysis.models import CustomerSnapshot
from winback.store.customers.models import Customer
from winback.store.export import rounded_scores

FORMATS = ("csv", "xlsx")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
AUDIT_ACTION = "export_customers"
UTF8_BOM = b"\xef\xbb\xbf"


class ExportRefused(ValueError):
    """The export cannot be made as asked (unknown format)."""


@dataclass(frozen=True)
class ExportFile:
    content: bytes
    filename: str
    content_type: str
    rows: int
    matched: int
    capped: bool
    flagged: bool
    flag_reasons: tuple[str, ...]


def max_rows() -> int:
    return int(settings.WINBACK_EXPORT_MAX_ROWS)


def _filtered(filters: CustomerFilters) -> tuple[QuerySet[Any], str]:
    """The customer list's rows as in the workbench list (latest analysis), and its date."""
    run = latest_run()
    if run is None:
        rows: QuerySet[Any] = Customer.objects.filter(is_stub=False)
        if filters.q:
            rows = rows.filter(external_id__icontains=filters.q)
        return rows.order_by("external_id"), ""
    snaps = filter_snapshots(
        CustomerSnapshot.objects.filter(as_of=run.as_of), **filters.snapshot_filters()
    )
    if filters.q:
        snaps = snaps.filter(customer__external_id__icontains=filters.q)
    return snaps.order_by("tier", "-churn_score", "customer__external_id"), run.as_of.isoformat()


def _records(filters: CustomerFilters, limit: int) -> tuple[list[dict[str, Any]], int, str]:
    """At most ``limit`` rows as plain values (phones masked), the match count, the as-of."""
    rows, as_of = _filtered(filters)
    if rows.model is Customer:
        values = rows.values_list("external_id", "name", "phone")[:limit]
        records = [
            {"id": i, "name": n, "phone": p, "stage": "", "status": "", "tier": None, "score": None}
            for i, n, p in values
        ]
    else:
        fields = ("customer__external_id", "customer__name", "customer__phone", "stage", "status")
        snaps = list(rows.values_list(*fields, "tier", "churn_score", "days_since_last")[:limit])
        # The score as the score export, the API and the customer sheet show it.
        churn = pl.DataFrame(
            {"churn_score": [v[6] for v in snaps]}, schema={"churn_score": pl.Float64}
        )
        scores = rounded_scores(churn)["churn_score"].to_list()
        records = [
            {
                "id": i,
                "name": n,
                "phone": p,
                "stage": stage_label(st),
                "status": status_label(su),
                "tier": tier,
                "score": score,
                "days": days,
            }
            for (i, n, p, st, su, tier, _raw, days), score in zip(snaps, scores, strict=True)
        ]
    matched = len(records) if len(records) < limit else rows.count()
    for record in records:
        record["phone"] = mask_phone(record["phone"]) or ""
    return records, matched, as_of


def _frame(records: list[dict[str, Any]], as_of: str) -> pl.DataFrame:
    """The file's columns with translated headers, formula-looking text quoted."""
    columns: dict[str, list[Any]] = {
        _("Customer id"): [r["id"] for r in records],
        _("Name"): [r["name"] for r in records],
        _("Phone"): [r["phone"] for r in records],
        _("Stage"): [r["stage"] for r in records],
        _("Status"): [r["status"] for r in records],
        _("Tier"): [r["tier"] for r in records],
        _("Churn score"): [r["score"] for r in records],
        _("Days since last purchase"): [r.get("days") for r in records],
        _("Analysis date"): [as_of] * len(records),
    }
    schema = {
        _("Tier"): pl.Int64,
        _("Churn score"): pl.Float64,
        _("Days since last purchase"): pl.Int64,
    }
    frame = pl.DataFrame(
        columns, schema={k: schema.get(k, pl.String) for k in columns}, strict=False
    )
    return guard_frame(frame)


def _csv(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    buffer.write(UTF8_BOM)  # so spreadsheet programs read Chinese text as UTF-8
    frame.write_csv(buffer, line_terminator="\r\n")
    return buffer.getvalue()


def _xlsx(frame: pl.DataFrame) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Customers"))
    sheet.append(list(frame.columns))
    for row in frame.iter_rows():
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def exports_today(user: User) -> int:
    """How many customer-list exports the user made today (business time zone)."""
    start = timezone.make_aware(datetime.combine(timezone.localdate(), time.min))
    return AuditLog.objects.filter(user=user, action=AUDIT_ACTION, at__gte=start).count()


def export_flags(user: User | None, *, rows: int, capped: bool) -> tuple[int, list[str]]:
    """The user's exports today (this one included) and why this export is unusual: the one
    rule for the workbench's and the command line's exports of the customer list."""
    reasons = []
    if rows >= int(settings.WINBACK_EXPORT_FLAG_ROWS):
        reasons.append("many_rows")
    if capped:
        reasons.append("capped")
    today = (exports_today(user) if user is not None else 0) + 1
    if today > int(settings.WINBACK_EXPORT_FLAG_DAILY):
        reasons.append("many_exports_today")
    return today, reasons


def export_customers(user: User, filters: CustomerFilters, fmt: str) -> ExportFile:
    """The filtered customer list as a file; 403 for agents; capped, masked, audited."""
    if not permissions.is_staff_role(user):
        raise PermissionDenied
    if fmt not in FORMATS:
        raise ExportRefused(fmt)
    cap = max_rows()
    records, matched, as_of = _records(filters, cap)
    frame = _frame(records, as_of)
    content = _csv(frame) if fmt == "csv" else _xlsx(frame)
    capped = matched > len(records)
    today, reasons = export_flags(user, rows=len(records), capped=capped)
    AuditLog.objects.create(
        user=user,
        username=user.get_username(),
        action=AUDIT_ACTION,
        object_type="customer_list",
        detail={
            "format": fmt,
            "rows": len(records),
            "matched": matched,
            "cap": cap,
            "filters": {
                "stage": filters.stage,
                "status": filters.status,
                "tier": filters.tier,
                "q": redact(filters.q),  # a search never puts a phone in the log
            },
            "as_of": as_of,
            "exports_today": today,
            "flags": reasons,
        },
        flagged=bool(reasons),
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return ExportFile(
        content=content,
        filename=f"customers-{stamp}.{fmt}",
        content_type=CONTENT_TYPES[fmt],
        rows=len(records),
        matched=matched,
        capped=capped,
        flagged=bool(reasons),
        flag_reasons=tuple(reasons),
    )

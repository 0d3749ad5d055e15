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
from django.utils import timezone
from django.utils.translation import gettext as _

from winback.app.accounts import permissions
from winback.app.customers.lists import (
    CUSTOMERS,
    LISTS,
    CustomerFilters,
    list_rows,
    spend_by_customer,
)
from winback.app.customers.pages import STAGE_LABELS, STATUS_LABELS
from winback.programme.privacy import mask_phone
from winback.spreadsheet_safety import guard_frame
from winback.store.accounts.models import AuditLog, User
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


def _records(
    filters: CustomerFilters, limit: int, which: str
) -> tuple[list[dict[str, Any]], int, str]:
    """At most ``limit`` rows of the list as shown (its filters, sort and selection) as plain
    values (phones masked), the match count and the analysis date."""
    rows, run = list_rows(filters, which=which)
    as_of = run.as_of.isoformat() if run else ""
    if run is None:
        values = rows.values_list("pk", "external_id", "name", "phone")[:limit]
        records = [
            {"pk": pk, "id": i, "name": n, "phone": p, "stage": "", "status": "", "tier": None}
            for pk, i, n, p in values
        ]
    else:
        fields = (
            "customer_id",
            "customer__external_id",
            "customer__name",
            "customer__phone",
            "stage",
            "status",
            "tier",
            "churn_score",
            "churn_probability",
            "clv_365",
            "days_since_last",
        )
        snaps = pl.DataFrame(
            list(rows.values_list(*fields)[:limit]),
            schema={
                "pk": pl.Int64(),
                "id": pl.String(),
                "name": pl.String(),
                "phone": pl.String(),
                "stage": pl.String(),
                "status": pl.String(),
                "tier": pl.Int64(),
                "churn_score": pl.Float64(),
                "churn_probability": pl.Float64(),
                "clv_365": pl.Float64(),
                "days": pl.Int64(),
            },
            orient="row",
        )
        # The scores as the score export, the API and the customer sheet show them.
        scores = rounded_scores(snaps.select("churn_score", "churn_probability", "clv_365"))
        records = (
            snaps.drop("churn_score", "churn_probability", "clv_365")
            .hstack(scores)
            .with_columns(
                stage=pl.col("stage").replace_strict(
                    {k: str(v) for k, v in STAGE_LABELS.items()}, default=pl.col("stage")
                ),
                status=pl.col("status").replace_strict(
                    {k: str(v) for k, v in STATUS_LABELS.items()}, default=pl.col("status")
                ),
            )
            .to_dicts()
        )
    spend = spend_by_customer([r["pk"] for r in records], run.as_of if run else None)
    for record in records:
        record["phone"] = mask_phone(record["phone"]) or ""
        record.update(spend.get(record["pk"], {"total": 0.0, "recent": 0.0}))
    matched = len(records) if len(records) < limit else rows.count()
    return records, matched, as_of


def _frame(records: list[dict[str, Any]], as_of: str) -> pl.DataFrame:
    """The file's columns with translated headers, formula-looking text quoted."""
    columns: dict[str, tuple[str, pl.DataType]] = {
        "id": (_("Customer id"), pl.String()),
        "name": (_("Name"), pl.String()),
        "phone": (_("Phone"), pl.String()),
        "stage": (_("Stage"), pl.String()),
        "status": (_("Status"), pl.String()),
        "tier": (_("Tier"), pl.Int64()),
        "churn_score": (_("Churn score"), pl.Float64()),
        "churn_probability": (_("Churn probability"), pl.Float64()),
        "clv_365": (_("Predicted 12-month value (yuan)"), pl.Float64()),
        "total": (_("Total spend (yuan)"), pl.Float64()),
        "recent": (_("Spend in the last 12 months (yuan)"), pl.Float64()),
        "days": (_("Days since last purchase"), pl.Int64()),
    }
    frame = pl.DataFrame(
        {label: [r.get(key) for r in records] for key, (label, _t) in columns.items()},
        schema={label: dtype for label, dtype in columns.values()},
        strict=False,
    ).with_columns(pl.lit(as_of).alias(_("Analysis date")))
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


def export_customers(
    user: User, filters: CustomerFilters, fmt: str, *, which: str = CUSTOMERS
) -> ExportFile:
    """The filtered customer or early-warning list (or the ticked customers in it) as a file,
    in the list's order; 403 for agents; capped, masked, audited. The early-warning list is a
    contact list: only customers the contact gate lets through are in it."""
    if not permissions.is_staff_role(user):
        raise PermissionDenied
    if fmt not in FORMATS or which not in LISTS:
        raise ExportRefused(fmt)
    cap = max_rows()
    records, matched, as_of = _records(filters, cap, which)
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
            "list": which,
            "filters": filters.audit(),  # a search never puts a phone in the log
            "as_of": as_of,
            "exports_today": today,
            "flags": reasons,
        },
        flagged=bool(reasons),
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return ExportFile(
        content=content,
        filename=f"{which}-{stamp}.{fmt}",
        content_type=CONTENT_TYPES[fmt],
        rows=len(records),
        matched=matched,
        capped=capped,
        flagged=bool(reasons),
        flag_reasons=tuple(reasons),
    )

"""Reads and writes of the personal-data lifecycle (R13, PIPL): who a customer is, everything
held about them, and the erasure of their identity from every table.

Erasure keeps the analytics history: orders, lines, scores, contacts and tasks stay keyed by
the internal primary key, so past months still add up; what goes is everything that tells who
the customer is (name, phone, e-mail, birthday, tags, notes and free text, the business's own
customer id, which becomes ``erased-<pk>``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
from django.db import connection, transaction
from django.db.models import CharField, DateField, F, Max, OuterRef, Q, Subquery, Value
from django.db.models.functions import Cast, Coalesce, Concat, Greatest, TruncDate

from winback.store.accounts.models import AuditLog
from winback.store.analysis.models import CustomerSnapshot
from winback.store.customers.models import (
    ContactLog,
    Customer,
    EngagementEvent,
    Order,
    OrderLine,
)
from winback.store.imports.models import ImportBatch
from winback.store.programme.models import CallTask, ContactAttempt, ContactReview, TaskStatus

ERASED_PREFIX = "erased-"
ERASED_SOURCE = "erased"
IDENTITY = ("external_id", "name", "phone", "email")


def identities(*, external_ids: Sequence[str] = (), pks: Sequence[int] = ()) -> pl.DataFrame:
    """``pk`` and the identifying texts of the customers named by their own ids or pks."""
    rows = Customer.objects.filter(Q(external_id__in=list(external_ids)) | Q(pk__in=list(pks)))
    values = list(rows.values_list("pk", *IDENTITY))
    return pl.DataFrame(
        values,
        schema={"pk": pl.Int64, **{c: pl.String for c in IDENTITY}},
        orient="row",
    )


def erased_pks(pks: Sequence[int]) -> set[int]:
    """Of ``pks``, the customers already erased."""
    return set(
        Customer.objects.filter(pk__in=list(pks), do_not_contact_source=ERASED_SOURCE).values_list(
            "pk", flat=True
        )
    )


def inactive_customers(before: date) -> list[int]:
    """Customers not erased yet whose last order, event and contact, and their joining (the
    join date, else the day their record was made), all lie before ``before``."""
    never = Value(date.min, output_field=DateField())

    def latest(model: Any, column: str) -> Coalesce:
        rows = model.objects.filter(customer_id=OuterRef("pk")).order_by()
        newest = rows.values("customer_id").annotate(m=Max(column)).values("m")
        return Coalesce(Subquery(newest, output_field=DateField()), never)

    last = Greatest(
        latest(Order, "order_date"),
        latest(EngagementEvent, "occurred_date"),
        latest(ContactLog, "occurred_date"),
        Coalesce(F("join_date"), TruncDate("created_at")),
    )
    rows = (
        Customer.objects.exclude(do_not_contact_source=ERASED_SOURCE)
        .annotate(last=last)
        .filter(last__lt=before)
        .values_list("pk", flat=True)
    )
    return sorted(rows)


def _replace_in_keys(model: Any, field: str, pks: list[int], ids: pl.DataFrame) -> int:
    """Keys of the customers' rows that embed their own customer id get the pseudonym."""
    rows = list(model.objects.filter(customer_id__in=pks).values_list("pk", field, "customer_id"))
    if not rows:
        return 0
    frame = pl.DataFrame(
        rows, schema={"row": pl.Int64, "key": pl.String, "pk": pl.Int64}, orient="row"
    ).join(ids.select("pk", "external_id"), on="pk")
    frame = frame.filter(
        (pl.col("external_id").str.len_chars() > 0)
        & pl.col("key").str.contains(pl.col("external_id"), literal=True)
    )
    if frame.height == 0:
        return 0
    frame = frame.with_columns(
        new=pl.col("key").str.replace_all(
            pl.col("external_id"),
            pl.lit(ERASED_PREFIX) + pl.col("pk").cast(pl.String),
            literal=True,
        )
    )
    objects = [model(pk=row, **{field: new}) for row, new in frame.select("row", "new").iter_rows()]
    model.objects.bulk_update(objects, [field], batch_size=1000)
    return frame.height


def erase_rows(ids: pl.DataFrame) -> dict[str, int]:
    """Remove the identity of the customers in ``ids`` (from :func:`identities`) from every
    table of customer data; returns the rows touched per table. Call inside a transaction."""
    pks = ids["pk"].to_list()
    counts: dict[str, int] = {}
    counts["customers"] = Customer.objects.filter(pk__in=pks).update(
        external_id=Concat(Value(ERASED_PREFIX), Cast("pk", CharField(max_length=20))),
        name="",
        phone="",
        email="",
        gender="",
        birthday=None,
        tags=[],
        key_dates={},
        notes="",
        consent_marketing=False,
        do_not_contact=True,
        do_not_contact_source=ERASED_SOURCE,
        row_hash="",
    )
    counts["order_keys"] = _replace_in_keys(Order, "order_key", pks, ids)
    counts["event_keys"] = _replace_in_keys(EngagementEvent, "source_key", pks, ids)
    counts["contact_keys"] = _replace_in_keys(ContactLog, "source_key", pks, ids)
    counts["events"] = EngagementEvent.objects.filter(customer_id__in=pks).update(text="")
    own_ids = [i for i in ids["external_id"].to_list() if i]
    counts["referrals"] = EngagementEvent.objects.filter(
        Q(referred_customer_id__in=pks) | Q(referred_external_id__in=own_ids)
    ).update(referred_external_id="")
    counts["contacts"] = ContactLog.objects.filter(customer_id__in=pks).update(notes="")
    counts["attempts"] = ContactAttempt.objects.filter(task__customer_id__in=pks).update(notes="")
    counts["reviews"] = ContactReview.objects.filter(attempt__task__customer_id__in=pks).update(
        comments=""
    )
    counts["open_tasks_closed"] = CallTask.objects.filter(
        customer_id__in=pks, status=TaskStatus.OPEN
    ).update(status=TaskStatus.CLOSED, version=F("version") + 1)
    return counts


def json_rows(model: Any, fields: Sequence[str]) -> pl.DataFrame:
    """``id`` and each JSON or text field of every row as JSON text (what the database holds,
    whatever its JSON type), for a vectorised search."""
    values = list(model.objects.values_list("pk", *fields))
    data = [
        (pk, *(json.dumps(v, ensure_ascii=False, default=str) for v in rest))
        for pk, *rest in values
    ]
    return pl.DataFrame(
        data, schema={"id": pl.Int64, **{f: pl.String for f in fields}}, orient="row"
    )


def audit_rows() -> pl.DataFrame:
    return json_rows(AuditLog, ("object_id", "reason", "detail"))


def batch_rows() -> pl.DataFrame:
    return json_rows(ImportBatch, ("file_name", "summary"))


def rewrite_audit(updates: dict[int, dict[str, Any]]) -> int:
    """Replace the given fields of audit rows (``id -> {field: value}``)."""
    return _rewrite(AuditLog, updates)


def rewrite_batches(updates: dict[int, dict[str, Any]]) -> int:
    return _rewrite(ImportBatch, updates)


def _rewrite(model: Any, updates: dict[int, dict[str, Any]]) -> int:
    if not updates:
        return 0
    rows = model.objects.in_bulk(list(updates))
    fields: set[str] = set()
    for pk, change in updates.items():
        for name, value in change.items():
            setattr(rows[pk], name, value)
            fields.add(name)
    model.objects.bulk_update(list(rows.values()), sorted(fields), batch_size=500)
    return len(rows)


def audit_objects(ids: Sequence[int]) -> list[tuple[int, str, str, Any]]:
    """``(id, object_id, reason, detail)`` of the given audit rows."""
    return list(
        AuditLog.objects.filter(pk__in=list(ids)).values_list("pk", "object_id", "reason", "detail")
    )


def audit_files() -> list[str]:
    """Every file path the audit log records an export to (``detail.file``, or the call
    lists' ``detail.dir`` with its ``files``)."""
    found: list[str] = []
    for detail in AuditLog.objects.filter(action__startswith="export").values_list(
        "detail", flat=True
    ):
        if not isinstance(detail, dict):
            continue
        value = detail.get("file")
        if isinstance(value, str) and value:
            found.append(value)
        folder, names = detail.get("dir"), detail.get("files")
        if isinstance(folder, str) and folder and isinstance(names, list):
            found += [str(Path(folder) / n) for n in names if isinstance(n, str)]
    return found


def batch_objects(ids: Sequence[int]) -> list[tuple[int, str, Any]]:
    return list(
        ImportBatch.objects.filter(pk__in=list(ids)).values_list("pk", "file_name", "summary")
    )


def compact() -> None:
    """After an erasure, leave no old row in the database file: SQLite keeps deleted and
    overwritten rows in free pages and in its write-ahead log until they are reused, so the
    file is vacuumed and the log truncated. PostgreSQL's dead tuples are not in a dump; a
    ``VACUUM`` there frees them from the table files too."""
    if transaction.get_connection().in_atomic_block:
        return  # inside a test's transaction or a caller's: nothing can be vacuumed there
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("VACUUM")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        elif connection.vendor == "postgresql":
            for model in (
                Customer,
                EngagementEvent,
                ContactLog,
                ContactAttempt,
                ContactReview,
                AuditLog,
                ImportBatch,
                Order,
            ):
                cursor.execute(f'VACUUM "{model._meta.db_table}"')


def personal_record(pk: int) -> dict[str, Any]:
    """Everything held about one customer, as plain JSON-ready values."""
    customer = Customer.objects.select_related("store").get(pk=pk)
    fields = (
        "external_id",
        "name",
        "phone",
        "email",
        "gender",
        "birthday",
        "join_date",
        "channel",
        "decision_style",
        "tags",
        "key_dates",
        "consent_marketing",
        "do_not_contact",
        "do_not_contact_date",
        "do_not_contact_source",
        "notes",
        "created_at",
        "updated_at",
    )
    record: dict[str, Any] = {f: getattr(customer, f) for f in fields}
    record["store"] = customer.store.code if customer.store else None
    record["orders"] = list(
        Order.objects.filter(customer_id=pk)
        .order_by("ordered_at", "pk")
        .values(
            "order_key",
            "ordered_at",
            "order_date",
            "channel",
            "coupon_code",
            "amount_cents",
            store_code=F("store__code"),
        )
    )
    lines = list(
        OrderLine.objects.filter(order__customer_id=pk)
        .order_by("order__ordered_at", "order_id", "line_no")
        .values(
            "line_no",
            "quantity",
            "amount_cents",
            order_key=F("order__order_key"),
            sku=F("product__sku"),
            category_code=F("category__code"),
        )
    )
    record["order_lines"] = lines
    record["events"] = list(
        EngagementEvent.objects.filter(customer_id=pk)
        .order_by("occurred_at", "pk")
        .values(
            "source_key",
            "event_type",
            "occurred_at",
            "referred_external_id",
            "referred_bought",
            "campaign_code",
            "survey_code",
            "score",
            "adopted",
            "complaint_category",
            "resolved",
            "resolved_at",
            "text",
        )
    )
    record["contacts"] = list(
        ContactLog.objects.filter(customer_id=pk)
        .order_by("occurred_at", "pk")
        .values(
            "source_key",
            "channel",
            "direction",
            "agent_name",
            "outcome",
            "occurred_at",
            "duration_seconds",
            "reason_code",
            "offer_code",
            "promised_return_date",
            "notes",
        )
    )
    record["call_tasks"] = list(
        CallTask.objects.filter(customer_id=pk)
        .order_by("round__month", "pk")
        .values(
            "status",
            "attempts",
            "planned_date",
            "offer_code",
            "reason_code",
            month=F("round__month"),
        )
    )
    record["contact_attempts"] = list(
        ContactAttempt.objects.filter(task__customer_id=pk)
        .order_by("occurred_at", "pk")
        .values(
            "outcome", "reason_code", "offer_code", "promised_return_date", "notes", "occurred_at"
        )
    )
    record["scores"] = list(
        CustomerSnapshot.objects.filter(customer_id=pk)
        .order_by("as_of")
        .values(
            "as_of",
            "stage",
            "customer_type",
            "status",
            "churn_score",
            "p_alive",
            "clv_365",
            "tier",
            "retention_action",
            "days_since_last",
        )
    )
    return record


def history_counts(pk: int) -> tuple[str, str, bool, int, int, int] | None:
    """``(external_id, name, erased, orders, contacts, events)`` of one customer, or None."""
    customer = Customer.objects.filter(pk=pk).first()
    if customer is None:
        return None
    return (
        customer.external_id,
        customer.name,
        customer.do_not_contact_source == ERASED_SOURCE,
        Order.objects.filter(customer_id=pk).count(),
        ContactLog.objects.filter(customer_id=pk).count(),
        EngagementEvent.objects.filter(customer_id=pk).count(),
    )

"""Queries and serialisation for the JSON API.

Every function takes the calling user and returns plain dicts shaped like
:mod:`winback.app.api.schemas`. Who may see what is decided by the workbench's
:mod:`~winback.app.accounts.permissions` (no rule exists twice): agents see only the customers
of their own open call tasks, with the full phone number there; supervisors and admins see
everyone, masked. Every list runs a fixed number of queries per page.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, JSONField, Max, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import TruncMonth
from django.shortcuts import get_object_or_404
from django.utils import timezone

from winback.app.accounts import permissions
from winback.app.actors import Actor, audit
from winback.app.analysis.rows import shown_scores
from winback.app.analysis.selectors import filter_snapshots, latest_run
from winback.app.api import schemas
from winback.app.contacts import gate
from winback.app.rounds.service import log_contact
from winback.app.settings.profile import current_profile
from winback.app.settings.rules import current_rules, questionnaires_in_force
from winback.programme.menus import OfferMenu
from winback.programme.privacy import mask_phone
from winback.store.accounts.models import User
from winback.store.analysis.models import CustomerSnapshot
from winback.store.customers.models import ContactLog, Customer, Order
from winback.store.imports.models import ImportBatch
from winback.store.programme.models import CallTask, ContactAttempt, Round, RoundMember, TaskStatus

MONTHS_SHOWN = 24


@dataclass(frozen=True)
class Paging:
    page: int
    page_size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


def _page(rows: QuerySet[Any], paging: Paging) -> tuple[list[Any], dict[str, int]]:
    count = rows.count()
    items = list(rows[paging.offset : paging.offset + paging.page_size])
    meta = {
        "count": count,
        "page": paging.page,
        "page_size": paging.page_size,
        "pages": max(1, math.ceil(count / paging.page_size)),
    }
    return items, meta


def _finite(value: float | None) -> float | None:
    """JSON has no NaN or infinity: they read as unknown."""
    return value if value is not None and math.isfinite(value) else None


def require_staff(user: User) -> None:
    """Lists of rounds and imports are for supervisors and admins, like the dashboard."""
    if not permissions.is_staff_role(user):
        raise PermissionDenied


def me(user: User) -> dict[str, Any]:
    role = "admin" if user.is_superuser else user.role
    return {"username": user.get_username(), "role": role}


# --- visibility ------------------------------------------------------------------------------
def _visible_customers(user: User) -> QuerySet[Customer]:
    """Staff: every customer. Agents: the customers of their own open call tasks."""
    if permissions.is_staff_role(user):
        return Customer.objects.all()
    if permissions.is_agent(user):
        mine = CallTask.objects.filter(agent_id=user.pk, status=TaskStatus.OPEN)
        return Customer.objects.filter(pk__in=mine.values("customer_id"))
    return Customer.objects.none()


def _only_visible(rows: QuerySet[Any], user: User) -> QuerySet[Any]:
    """Restrict rows with a ``customer`` to the customers the user sees."""
    if permissions.is_staff_role(user):
        return rows
    return rows.filter(customer__in=_visible_customers(user))


def _open_task_customer_ids(user: User, customer_ids: list[int]) -> set[int]:
    """Customers (of ``customer_ids``) whose open task is the user's: full phone there."""
    if not permissions.is_agent(user) or not customer_ids:
        return set()
    return set(
        CallTask.objects.filter(
            agent_id=user.pk, status=TaskStatus.OPEN, customer_id__in=customer_ids
        ).values_list("customer_id", flat=True)
    )


def _phone(customer: Customer, full: bool) -> str:
    return customer.phone if full else (mask_phone(customer.phone) or "")


# --- scores ----------------------------------------------------------------------------------
LIST_ACTION = "api_list"


def _audit_list(user: User, kind: str, meta: dict[str, int], *, full_phones: int | None) -> None:
    """One audit row per list request (R13: bulk reads are logged): how many rows left, how
    many matched, and whether phones were shown (``full`` for any unmasked one)."""
    phones = "none" if full_phones is None else "full" if full_phones else "masked"
    audit(
        Actor.of(user),
        LIST_ACTION,
        object_type=kind,
        detail={
            "rows": int(meta.get("shown", 0)),
            "matched": int(meta["count"]),
            "page": int(meta["page"]),
            "page_size": int(meta["page_size"]),
            "phones": phones,
            "full_phones": full_phones or 0,
        },
    )


def score_rows(
    snapshots: Sequence[CustomerSnapshot], external_ids: Sequence[str]
) -> list[dict[str, Any]]:
    """The snapshots as ``ScoreOut`` rows: the score export's fields and rounding."""
    return [
        {"customer_id": s.customer_id, "customer_external_id": ext, **shown}
        for s, ext, shown in zip(snapshots, external_ids, shown_scores(snapshots), strict=True)
    ]


def scores_page(user: User, query: schemas.ScoreQuery, paging: Paging) -> dict[str, Any]:
    """The snapshot rows of one analysis (default the latest) for the customers the user sees."""
    as_of = query.as_of
    if as_of is None:
        run = latest_run()
        as_of = run.as_of if run else None
    if as_of is None:
        empty = {"count": 0, "page": paging.page, "page_size": paging.page_size, "pages": 1}
        return {"as_of": None, "items": [], **empty}
    rows = _only_visible(CustomerSnapshot.objects.filter(as_of=as_of), user).select_related(
        "customer"
    )
    rows = filter_snapshots(
        rows,
        stage=query.stage,
        status=query.status,
        tier=query.tier,
        early_warning=query.early_warning,
    )
    items, meta = _page(rows.order_by("-churn_score", "customer__external_id", "pk"), paging)
    shown = score_rows(items, [s.customer.external_id for s in items])
    _audit_list(user, "scores", {**meta, "shown": len(shown)}, full_phones=None)
    return {"as_of": as_of, "items": shown, **meta}


def customer_scores(user: User, customer_id: int, paging: Paging) -> dict[str, Any]:
    """Every analysis row of one customer, newest first."""
    customer = _customer_for(user, customer_id)
    rows = CustomerSnapshot.objects.filter(customer_id=customer.pk).order_by("-as_of")
    items, meta = _page(rows, paging)
    return {
        "as_of": items[0].as_of if items else None,
        "items": score_rows(items, [customer.external_id] * len(items)),
        **meta,
    }


# --- customers -------------------------------------------------------------------------------
def _customer_row(customer: Customer, phone: str, latest: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "id": customer.pk,
        "external_id": customer.external_id,
        "name": customer.name,
        "phone": phone,
        "store": customer.store.code if customer.store else None,
        "join_date": customer.join_date,
        "consent_marketing": customer.consent_marketing,
        "do_not_contact": customer.do_not_contact,
        "latest": latest,
    }


def customers_page(user: User, query: schemas.CustomerQuery, paging: Paging) -> dict[str, Any]:
    """Customers the user sees, filtered on the latest analysis (five queries)."""
    run = latest_run()
    rows = _visible_customers(user).select_related("store")
    if query.q:
        rows = rows.filter(external_id__icontains=query.q)
    if query.stage or query.status or query.tier is not None:
        if run is None:
            rows = rows.none()
        else:
            snaps = filter_snapshots(
                CustomerSnapshot.objects.filter(as_of=run.as_of),
                stage=query.stage,
                status=query.status,
                tier=query.tier,
            )
            rows = rows.filter(pk__in=snaps.values("customer_id"))
    items, meta = _page(rows.order_by("external_id", "pk"), paging)
    ids = [c.pk for c in items]
    scores: dict[int, dict[str, Any]] = {}
    if run is not None and ids:
        latest = list(CustomerSnapshot.objects.filter(as_of=run.as_of, customer_id__in=ids))
        external = {c.pk: c.external_id for c in items}
        shown = score_rows(latest, [external[s.customer_id] for s in latest])
        scores = {row["customer_id"]: row for row in shown}
    dialable = _open_task_customer_ids(user, ids)
    full = sum(1 for c in items if c.pk in dialable and c.phone)
    _audit_list(user, "customers", {**meta, "shown": len(items)}, full_phones=full)
    return {
        "items": [
            _customer_row(
                c,
                _phone(c, c.pk in dialable),
                scores.get(c.pk),
            )
            for c in items
        ],
        **meta,
    }


def _customer_for(user: User, customer_id: int) -> Customer:
    """404 if there is no such customer, 403 if the user may not open it."""
    customer = get_object_or_404(Customer.objects.select_related("store"), pk=customer_id)
    permissions.check_customer_access(user, customer.pk)
    return customer


def customer_detail(user: User, customer_id: int) -> dict[str, Any]:
    """One customer: contact data (masked by role), purchase totals, the latest scores. A read:
    nothing is written (docs/decisions/0013-get-never-writes.md)."""
    customer = _customer_for(user, customer_id)
    open_tasks = list(
        CallTask.objects.filter(customer_id=customer.pk, status=TaskStatus.OPEN)
        .order_by("next_due", "pk")
        .values_list("pk", "agent_id")
    )
    dialable = permissions.is_agent(user) and any(a == user.pk for _, a in open_tasks)
    latest = CustomerSnapshot.objects.filter(customer_id=customer.pk).order_by("-as_of").first()
    orders = Order.objects.filter(customer_id=customer.pk)
    totals = orders.aggregate(n=Count("pk"), amount=Sum("amount_cents"), last=Max("order_date"))
    largest = orders.aggregate(largest=Max("amount_cents"))["largest"]
    months = [
        {"month": r["month"], "orders": r["orders"], "amount_cents": r["amount_cents"] or 0}
        for r in orders.annotate(month=TruncMonth("order_date"))
        .values("month")
        .annotate(orders=Count("pk"), amount_cents=Sum("amount_cents"))
        .order_by("-month")[:MONTHS_SHOWN]
    ]
    row = _customer_row(
        customer,
        _phone(customer, dialable),
        score_rows([latest], [customer.external_id])[0] if latest else None,
    )
    return {
        **row,
        "notes": customer.notes,
        "tags": customer.tags if isinstance(customer.tags, list) else [],
        "orders": totals["n"] or 0,
        "amount_cents": totals["amount"] or 0,
        "last_order": totals["last"],
        "largest_order_cents": largest,
        "months": months,
        "open_task_ids": [pk for pk, _ in open_tasks],
    }


# --- tasks -----------------------------------------------------------------------------------
def _tasks() -> QuerySet[CallTask]:
    priority = Subquery(
        RoundMember.objects.filter(
            round_id=OuterRef("round_id"), customer_id=OuterRef("customer_id")
        ).values("priority_rank")[:1]
    )
    answers = Subquery(
        ContactAttempt.objects.filter(task_id=OuterRef("pk"))
        .exclude(answers={})
        .order_by("-pk")
        .values("answers")[:1],
        output_field=JSONField(),
    )
    return CallTask.objects.select_related("customer", "round", "agent").annotate(
        priority=priority, last_answers=answers
    )


def _offers(menu: OfferMenu) -> list[dict[str, Any]]:
    """The menu in its order, best first (``rank`` 1)."""
    return [{"code": o.code, "kind": o.kind, "cost": o.cost, "rank": o.rank} for o in menu.offers]


def task_row(user: User, task: CallTask) -> dict[str, Any]:
    customer = task.customer
    return {
        "id": task.pk,
        "round_id": task.round_id,
        "round_month": task.round.month,
        "customer_id": customer.pk,
        "customer_external_id": customer.external_id,
        "customer_name": customer.name,
        "phone": _phone(customer, permissions.phone_visible(user, task)),
        "agent": task.agent.username if task.agent else None,
        "status": task.status,
        "attempts": task.attempts,
        "planned_date": task.planned_date,
        "next_due": task.next_due,
        "priority": getattr(task, "priority", None),
        "version": task.version,
        "offer_code": task.offer_code,
        "reason_code": task.reason_code,
        "offers": _offers(task.menu),
        "callback_at": task.callback_at,
        "answers": _answers(getattr(task, "last_answers", None)),
    }


def _answers(value: Any) -> dict[str, Any]:
    """Stored answers as a dict (a subquery may hand JSON back as text on SQLite)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def tasks_page(user: User, query: schemas.TaskQuery, paging: Paging) -> dict[str, Any]:
    """Agents: their own tasks. Supervisors and admins: every task (two queries)."""
    rows = _tasks()
    if not permissions.is_staff_role(user):
        rows = rows.filter(agent_id=user.pk)
        # An agent's list is what they will call: open tasks the contact gate stops are left
        # out (supervisors see every task: their list is for oversight, not for calling).
        mine = CallTask.objects.filter(agent_id=user.pk, status=TaskStatus.OPEN)
        stopped = gate.blocked_tasks(
            mine.values_list("pk", "customer_id", "round_id"), on=gate.today()
        )
        rows = rows.exclude(pk__in=stopped)
    if query.status:
        rows = rows.filter(status=query.status)
    if query.round_id is not None:
        rows = rows.filter(round_id=query.round_id)
    items, meta = _page(
        rows.order_by("status", F("priority").asc(nulls_last=True), "next_due", "pk"), paging
    )
    shown = [task_row(user, t) for t in items]
    full = sum(1 for t in items if t.customer.phone and permissions.phone_visible(user, t))
    _audit_list(user, "tasks", {**meta, "shown": len(shown)}, full_phones=full)
    return {"items": shown, **meta}


def task_detail(user: User, task_id: int) -> dict[str, Any]:
    task = get_object_or_404(_tasks(), pk=task_id)
    permissions.check_task_access(user, task)
    return task_row(user, task)


# --- contacts --------------------------------------------------------------------------------
def _contact_row(log: ContactLog, task_id: int | None) -> dict[str, Any]:
    return {
        "callback_at": getattr(log, "callback_at", None),
        "answers": _answers(getattr(log, "answers", None)),
        "id": log.pk,
        "customer_id": log.customer_id,
        "customer_external_id": log.customer.external_id,
        "task_id": task_id,
        "channel": log.channel,
        "direction": log.direction,
        "agent": log.agent_name or (log.agent.username if log.agent else ""),
        "outcome": log.outcome,
        "occurred_at": log.occurred_at,
        "occurred_date": log.occurred_date,
        "reason_code": log.reason_code,
        "offer_code": log.offer_code,
        "promised_return_date": log.promised_return_date,
        "notes": log.notes,
        "simulated": log.simulated,
    }


def _contacts() -> QuerySet[ContactLog]:
    def attempt(name: str, **kwargs: Any) -> Subquery:
        found = ContactAttempt.objects.filter(contact_log_id=OuterRef("pk")).values(name)[:1]
        return Subquery(found, **kwargs)

    return ContactLog.objects.select_related("customer", "agent").annotate(
        task_id=attempt("task_id"),
        callback_at=attempt("callback_at"),
        answers=attempt("answers", output_field=JSONField()),
    )


def contacts_page(user: User, query: schemas.ContactQuery, paging: Paging) -> dict[str, Any]:
    """The contact history (imported and logged here) of the customers the user sees."""
    rows = _only_visible(_contacts(), user)
    if query.customer_id is not None:
        rows = rows.filter(customer_id=query.customer_id)
    if query.outcome:
        rows = rows.filter(outcome=query.outcome)
    if query.since is not None:
        rows = rows.filter(occurred_date__gte=query.since)
    if query.until is not None:
        rows = rows.filter(occurred_date__lte=query.until)
    items, meta = _page(rows.order_by("-occurred_at", "-pk"), paging)
    _audit_list(user, "contacts", {**meta, "shown": len(items)}, full_phones=None)
    return {"items": [_contact_row(c, c.task_id) for c in items], **meta}


def record_contact(user: User, data: schemas.ContactIn) -> dict[str, Any]:
    """Log a contact attempt through :func:`log_contact` (optimistic version check).

    404 no such task; the rules are ``log_contact``'s: 403 not the caller's own task, 422 with
    the reason when the contact gate stops the customer (``ContactNotAllowed``), 422 a code not
    offered (``InvalidChoice``), 409 a stale version (``StaleWrite``).
    """
    task = get_object_or_404(CallTask, pk=data.task_id)
    callback_at = data.callback_at
    if callback_at is not None and timezone.is_naive(callback_at):
        callback_at = timezone.make_aware(callback_at, ZoneInfo(current_profile().time_zone))
    log_contact(
        task.pk,
        agent=user,
        outcome=data.outcome,
        reason_code=data.reason_code,
        offer_code=data.offer_code,
        promised_return_date=data.promised_return_date,
        notes=data.notes,
        expected_version=data.expected_version,
        callback_at=callback_at,
        answers=data.answers,
        # The questionnaire the call page asks (the same use case checks the answers).
        questionnaire=questionnaires_in_force(current_rules()).first if data.answers else None,
    )
    # The attempt just written: the version check let no other write in on this task.
    log_id = (
        ContactAttempt.objects.filter(task_id=task.pk, contact_log__isnull=False)
        .order_by("-pk")
        .values_list("contact_log_id", flat=True)
        .first()
    )
    if log_id is None:  # log_contact always writes the contact log
        raise RuntimeError(f"task {task.pk}: contact attempt without a contact log")
    log = _contacts().get(pk=log_id)
    return {"contact": _contact_row(log, task.pk), "task": task_detail(user, task.pk)}


# --- rounds ----------------------------------------------------------------------------------
def _round_counts(round_ids: list[int]) -> dict[tuple[int, str], int]:
    """Members per arm and tasks per status for these rounds (two GROUP BY queries)."""
    counts: dict[tuple[int, str], int] = {}
    for r, arm, n in (
        RoundMember.objects.filter(round_id__in=round_ids)
        .values_list("round_id", "arm")
        .order_by()
        .annotate(n=Count("pk"))
    ):
        counts[(r, arm)] = n
    for r, status, n in (
        CallTask.objects.filter(round_id__in=round_ids)
        .values_list("round_id", "status")
        .order_by()
        .annotate(n=Count("pk"))
    ):
        counts[(r, f"task:{status}")] = n
    return counts


def _round_row(r: Round, counts: dict[tuple[int, str], int]) -> dict[str, Any]:
    return {
        "id": r.pk,
        "month": r.month,
        "status": r.status,
        "seed": r.seed,
        "holdout_share": _finite(r.holdout_share) or 0.0,
        "as_of": r.as_of,
        "snapshot_as_of": r.snapshot_as_of,
        "round_start": r.round_start,
        "round_end": r.round_end,
        "treated": counts.get((r.pk, "treated"), 0),
        "control": counts.get((r.pk, "control"), 0),
        "tasks_open": counts.get((r.pk, "task:open"), 0),
        "tasks_done": counts.get((r.pk, "task:done"), 0),
        "tasks_closed": counts.get((r.pk, "task:closed"), 0),
    }


def rounds_page(user: User, paging: Paging) -> dict[str, Any]:
    require_staff(user)
    items, meta = _page(Round.objects.order_by("-month", "-pk"), paging)
    counts = _round_counts([r.pk for r in items]) if items else {}
    return {"items": [_round_row(r, counts) for r in items], **meta}


def round_detail(user: User, round_id: int) -> dict[str, Any]:
    require_staff(user)
    rnd = get_object_or_404(Round, pk=round_id)
    summary = rnd.summary if isinstance(rnd.summary, dict) else {}
    return {**_round_row(rnd, _round_counts([rnd.pk])), "summary": summary}


# --- imports ---------------------------------------------------------------------------------
def imports_page(user: User, paging: Paging) -> dict[str, Any]:
    require_staff(user)
    rows = ImportBatch.objects.select_related("user").order_by("-started_at", "-pk")
    items, meta = _page(rows, paging)
    return {
        "items": [
            {
                "id": b.pk,
                "kind": b.kind,
                "file_name": PurePath(b.file_name).name,
                "status": b.status,
                "dry_run": b.dry_run,
                "started_at": b.started_at,
                "finished_at": b.finished_at,
                "read": b.read,
                "inserted": b.inserted,
                "updated": b.updated,
                "unchanged": b.unchanged,
                "rejected": b.rejected,
                "rejects_file": PurePath(b.rejects_file).name if b.rejects_file else "",
                "user": b.user.username if b.user else None,
                "summary": b.summary if isinstance(b.summary, dict) else {},
            }
            for b in items
        ],
        **meta,
    }

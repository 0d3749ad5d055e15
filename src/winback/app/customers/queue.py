"""The agent's call queue: today / overdue / scheduled / done, with counts and a daily target.

Everything is SQL: one query for the four counts, one for the page's rows, one for the work
done today, plus the contact gate's (customers it stops leave the open tabs). The order a tab
is shown in is the order "save and next" walks: :func:`next_task` is the first row of the same
query, leaving out the call just saved.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from winback.app.contacts import gate
from winback.app.settings.rules import current_rules
from winback.store.accounts.models import User
from winback.store.customers.models import ContactChannel
from winback.store.programme.models import CallTask, ContactAttempt, RoundMember, TaskStatus

QUEUE_LIMIT = 200  # rows shown per tab; the counts are exact

TAB_LABELS = {
    "today": _("Due today"),
    "overdue": _("Overdue"),
    "scheduled": _("Scheduled"),
    "done": _("Done today"),
}
SORT_LABELS = {
    "due": _("Due date"),
    "priority": _("Priority"),
    "value": _("Value"),
}
_ORDER = {
    "due": (F("next_due").asc(nulls_first=True), F("priority").asc(nulls_last=True), "pk"),
    "priority": (F("priority").asc(nulls_last=True), F("next_due").asc(nulls_first=True), "pk"),
    "value": (F("value").desc(nulls_last=True), F("priority").asc(nulls_last=True), "pk"),
}
ROW_FIELDS = (
    "round_id",
    "agent_id",
    "status",
    "attempts",
    "next_due",
    "callback_at",
    "reason_code",
    "version",
    "customer__external_id",
    "customer__name",
    "customer__phone",
)


@dataclass(frozen=True)
class QueueQuery:
    """What the agent asked to see: a tab, a search, a sort and filters (all optional)."""

    tab: str = ""  # "": the first of today, overdue, scheduled holding a call
    q: str = ""
    sort: str = "due"
    stage: str = ""
    tier: int | None = None
    channel: str = ""

    @classmethod
    def from_params(cls, params: Any) -> QueueQuery:
        """From a query string (unknown values fall back to the defaults)."""
        tab = str(params.get("tab") or "")
        sort = str(params.get("sort") or "due")
        tier_text = str(params.get("tier") or "")
        channel = str(params.get("channel") or "")
        return cls(
            tab=tab if tab in TAB_LABELS else "",
            q=str(params.get("q") or "").strip()[:64],
            sort=sort if sort in SORT_LABELS else "due",
            stage=str(params.get("stage") or "")[:16],
            tier=int(tier_text) if tier_text.isdigit() and 1 <= int(tier_text) <= 5 else None,
            channel=channel if channel in ContactChannel.values else "",
        )

    def params(self, **changes: Any) -> str:
        """The query string for this query (with ``changes``), defaults left out."""
        query = replace(self, **changes) if changes else self
        pairs = {
            "tab": query.tab,
            "q": query.q,
            "sort": query.sort if query.sort != "due" else "",
            "stage": query.stage,
            "tier": "" if query.tier is None else str(query.tier),
            "channel": query.channel,
        }
        return urlencode({k: v for k, v in pairs.items() if v})


@dataclass(frozen=True)
class QueueRow:
    task: CallTask
    priority: int | None
    stage: str
    reason: str
    phone: str
    overdue: bool
    tier: int | None = None
    channel: str = ""
    value: float | None = None
    callback_at: datetime | None = None
    attempts_label: str = ""


@dataclass
class Queue:
    query: QueueQuery
    rows: list[QueueRow]
    counts: dict[str, int]
    target: int
    done_today: int
    tabs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def progress(self) -> int:
        """Done today as a percentage of the target (at most 100)."""
        return min(100, round(100 * self.done_today / self.target)) if self.target else 0


def _member(name: str) -> Subquery:
    return Subquery(
        RoundMember.objects.filter(
            round_id=OuterRef("round_id"), customer_id=OuterRef("customer_id")
        ).values(name)[:1]
    )


def _annotated(tasks: QuerySet[CallTask]) -> QuerySet[Any]:
    return tasks.annotate(
        priority=_member("priority_rank"),
        member_stage=_member("stage"),
        member_reason=_member("reason_code"),
        member_tier=_member("tier"),
        member_channel=_member("channel"),
        value=_member("expected_value"),
    )


def _filtered(tasks: QuerySet[Any], query: QueueQuery) -> QuerySet[Any]:
    if query.q:
        tasks = tasks.filter(
            Q(customer__external_id__icontains=query.q) | Q(customer__name__icontains=query.q)
        )
    if query.stage:
        tasks = tasks.filter(member_stage=query.stage)
    if query.tier is not None:
        tasks = tasks.filter(member_tier=query.tier)
    if query.channel:
        tasks = tasks.filter(member_channel=query.channel)
    return tasks


def _open(user: User, today: date, stopped: list[int] | None = None) -> QuerySet[CallTask]:
    """The agent's open tasks the contact gate lets through (``stopped``: the gate's answer,
    when already asked)."""
    mine = CallTask.objects.filter(agent_id=user.pk, status=TaskStatus.OPEN)
    if stopped is None:
        stopped = gate.blocked_tasks(mine.values_list("pk", "customer_id", "round_id"), on=today)
    return mine.exclude(pk__in=stopped)


def _done(user: User, today: date) -> QuerySet[CallTask]:
    """The tasks the agent recorded an outcome on today (whatever their state now)."""
    worked = ContactAttempt.objects.filter(agent_id=user.pk, occurred_date=today).values("task_id")
    return CallTask.objects.filter(pk__in=worked)


TAB_FILTERS = {
    "today": lambda today: Q(next_due__isnull=True) | Q(next_due=today),
    "overdue": lambda today: Q(next_due__lt=today),
    "scheduled": lambda today: Q(next_due__gt=today),
}


def _tab(user: User, tab: str, today: date, stopped: list[int] | None = None) -> QuerySet[CallTask]:
    if tab == "done":
        return _done(user, today)
    return _open(user, today, stopped).filter(TAB_FILTERS[tab](today))


def agent_queue(user: User, query: QueueQuery, *, today: date, lang: str) -> Queue:
    """The agent's queue: the chosen tab's rows in the chosen order, every tab's count (with
    the same search and filters) and the day's progress against the agent's daily target."""
    mine = CallTask.objects.filter(agent_id=user.pk, status=TaskStatus.OPEN)
    stopped = gate.blocked_tasks(mine.values_list("pk", "customer_id", "round_id"), on=today)
    open_tasks = _filtered(_annotated(_open(user, today, stopped)), query)
    counts = open_tasks.aggregate(
        today=Count("pk", filter=TAB_FILTERS["today"](today)),
        overdue=Count("pk", filter=TAB_FILTERS["overdue"](today)),
        scheduled=Count("pk", filter=TAB_FILTERS["scheduled"](today)),
    )
    done_tasks = _done(user, today)
    counts["done"] = _filtered(_annotated(done_tasks), query).count()
    done_today = done_tasks.count() if not _unfiltered(query) else counts["done"]
    if not query.tab:
        shown = next((t for t in ("today", "overdue", "scheduled") if counts[t]), "today")
        query = replace(query, tab=shown)
    rows = list(
        _filtered(_annotated(_tab(user, query.tab, today, stopped)), query)
        .select_related("customer")
        .only(*ROW_FIELDS)
        .order_by(*_ORDER[query.sort])[:QUEUE_LIMIT]
    )
    return Queue(
        query=query,
        rows=_rows(rows, today=today, lang=lang),
        counts={k: int(v) for k, v in counts.items()},
        target=int(user.daily_capacity or 0),
        done_today=done_today,
        tabs=[
            {
                "code": code,
                "label": label,
                "count": int(counts[code]),
                "params": query.params(tab=code),
                "active": code == query.tab,
            }
            for code, label in TAB_LABELS.items()
        ],
    )


def _unfiltered(query: QueueQuery) -> bool:
    return not (query.q or query.stage or query.tier is not None or query.channel)


def _rows(tasks: list[Any], *, today: date, lang: str) -> list[QueueRow]:
    from winback.app.customers.pages import channel_label, stage_label

    taxonomy = current_rules().taxonomy
    rows = []
    for task in tasks:  # one page of at most QUEUE_LIMIT rows: labels only
        reason = task.reason_code or task.member_reason or ""
        rows.append(
            QueueRow(
                task=task,
                priority=task.priority,
                stage=stage_label(task.member_stage),
                reason=taxonomy.label(reason, lang) if reason else "",
                phone=task.customer.phone,  # the agent's own task: dialable
                overdue=task.status == TaskStatus.OPEN
                and task.next_due is not None
                and task.next_due < today,
                tier=task.member_tier,
                channel=channel_label(task.member_channel) if task.member_channel else "",
                value=task.value,
                callback_at=task.callback_at,
                attempts_label=ngettext("%(n)s attempt", "%(n)s attempts", task.attempts)
                % {"n": task.attempts},
            )
        )
    return rows


def open_rows(user: User, *, today: date, lang: str) -> list[QueueRow]:
    """Every open task of the agent the gate lets through, by priority then due date."""
    tasks = list(
        _annotated(_open(user, today))
        .select_related("customer")
        .only(*ROW_FIELDS)
        .order_by(*_ORDER["priority"])[:QUEUE_LIMIT]
    )
    return _rows(tasks, today=today, lang=lang)


def next_task(user: User, query: QueueQuery, *, after: int, today: date) -> int | None:
    """The next open call in the queue's order once ``after`` is saved: the first open row of
    the same tab, search, filters and sort, other than ``after`` (the done tab walks the
    agent's open calls due by today)."""
    tab = query.tab if query.tab in TAB_FILTERS else "today"
    tasks = _filtered(_annotated(_tab(user, tab, today)), query).exclude(pk=after)
    first = tasks.order_by(*_ORDER[query.sort]).values_list("pk", flat=True).first()
    if first is None and tab == "today":  # today's work is done: the overdue calls next
        overdue = _filtered(_annotated(_tab(user, "overdue", today)), query).exclude(pk=after)
        first = overdue.order_by(*_ORDER[query.sort]).values_list("pk", flat=True).first()
    return first

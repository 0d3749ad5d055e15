"""The agent's call queue: today / overdue / scheduled / done, with counts and a daily target.

One queue holds both kinds of work: win-back call tasks (:class:`CallTask`, due on
``next_due``) and care tasks (:class:`CareTask`: care calls, visits, greetings, due on their
``planned_date``). Each row says its kind; tabs, search, filters, sort, counts and "save and
next" treat both alike. Care rows take stage and tier from the customer's latest analysis
snapshot and their channel from their kind; they have no priority and no expected incremental
value, so they come after the win-back calls when sorted by either.

Everything is SQL and the number of queries is fixed: the agent's open tasks of both kinds in
one query for the contact gate (one question to the gate for both: customers it stops, a
round's control group among them, leave every open tab), the call counts, the care counts, the
work done today, and one query per kind for the page's rows (the care one only when the tab
holds care tasks). The order a tab is shown in is the order "save and next" walks:
:func:`next_task` is the first row of the same queries, leaving out the task just saved.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

import polars as pl
from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from winback.app.care.tasks import CHANNEL as CARE_CHANNEL
from winback.app.contacts import gate
from winback.app.settings.rules import current_rules
from winback.store.accounts.models import User
from winback.store.analysis.models import CustomerSnapshot
from winback.store.customers.models import ContactChannel
from winback.store.programme.models import (
    CallTask,
    CareKind,
    CareStatus,
    CareTask,
    ContactAttempt,
    RoundMember,
    TaskStatus,
)

CALL = "call"  # a win-back call task
CARE = "care"  # a care task
KIND_LABELS = {CALL: _("Win-back call")}  # care rows show their care kind's label

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
    task: CallTask | CareTask
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
    kind: str = CALL  # CALL or CARE
    kind_label: str = ""  # "Win-back call", or the care task's kind ("Care call", ...)
    occasion: str = ""  # a greeting's occasion in words
    due: date | None = None  # next_due of a call, planned_date of a care task


@dataclass(frozen=True)
class QueueItem:
    """One task of the queue: its kind (:data:`CALL` or :data:`CARE`) and id."""

    kind: str
    pk: int


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


def _latest_snapshot(name: str) -> Subquery:
    return Subquery(
        CustomerSnapshot.objects.filter(customer_id=OuterRef("customer_id"))
        .order_by("-as_of")
        .values(name)[:1]
    )


def _care_annotated(tasks: QuerySet[CareTask]) -> QuerySet[Any]:
    """Care tasks with the customer's stage and tier from their latest snapshot."""
    return tasks.annotate(
        member_stage=_latest_snapshot("stage"), member_tier=_latest_snapshot("tier")
    )


def _search(query: QueueQuery) -> Q:
    return Q(customer__external_id__icontains=query.q) | Q(customer__name__icontains=query.q)


def _filtered(tasks: QuerySet[Any], query: QueueQuery) -> QuerySet[Any]:
    if query.q:
        tasks = tasks.filter(_search(query))
    if query.stage:
        tasks = tasks.filter(member_stage=query.stage)
    if query.tier is not None:
        tasks = tasks.filter(member_tier=query.tier)
    if query.channel:
        tasks = tasks.filter(member_channel=query.channel)
    return tasks


def _care_filtered(tasks: QuerySet[Any], query: QueueQuery) -> QuerySet[Any]:
    if query.q:
        tasks = tasks.filter(_search(query))
    if query.stage:
        tasks = tasks.filter(member_stage=query.stage)
    if query.tier is not None:
        tasks = tasks.filter(member_tier=query.tier)
    if query.channel:
        kinds = [str(k) for k, channel in CARE_CHANNEL.items() if channel == query.channel]
        tasks = tasks.filter(kind__in=kinds)
    return tasks


INT = IntegerField()


@dataclass(frozen=True)
class Stopped:
    """The agent's open tasks the contact gate stops today, per kind."""

    calls: list[int]
    care: list[int]


def stopped_tasks(user: User, today: date) -> Stopped:
    """One read of the agent's open tasks of both kinds, one question to the gate."""
    calls = CallTask.objects.filter(agent_id=user.pk, status=TaskStatus.OPEN).values_list(
        "pk", "customer_id", "round_id", Value(0, output_field=INT)
    )
    care = CareTask.objects.filter(agent_id=user.pk, status=CareStatus.OPEN).values_list(
        "pk",
        "customer_id",
        Value(None, output_field=IntegerField()),
        Value(1, output_field=IntegerField()),
    )
    frame = pl.DataFrame(
        list(calls.union(care, all=True)),
        schema={
            "task_id": pl.Int64(),
            "customer_pk": pl.Int64(),
            "round_id": pl.Int64(),
            "care": pl.Int64(),
        },
        orient="row",
    )
    if frame.is_empty():
        return Stopped(calls=[], care=[])
    judged = gate.verdicts(frame.select("customer_pk", "round_id"), on=today, marketing=True)
    stopped = frame.join(
        judged.filter(~pl.col("allowed")).select("customer_pk"), on="customer_pk", how="semi"
    )
    return Stopped(
        calls=stopped.filter(pl.col("care") == 0)["task_id"].to_list(),
        care=stopped.filter(pl.col("care") == 1)["task_id"].to_list(),
    )


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
CARE_TAB_FILTERS: dict[str, Callable[[date], Q]] = {
    "today": lambda today: Q(planned_date=today),
    "overdue": lambda today: Q(planned_date__lt=today),
    "scheduled": lambda today: Q(planned_date__gt=today),
}


def _care_done(today: date) -> Q:
    """Care tasks done today (their contact was logged today, in the business time zone)."""
    return Q(status=CareStatus.DONE, contact_log__occurred_date=today)


def _tab(user: User, tab: str, today: date, stopped: list[int] | None = None) -> QuerySet[CallTask]:
    if tab == "done":
        return _done(user, today)
    return _open(user, today, stopped).filter(TAB_FILTERS[tab](today))


def _care_tab(user: User, tab: str, today: date, stopped: list[int]) -> QuerySet[CareTask]:
    mine = CareTask.objects.filter(agent_id=user.pk)
    if tab == "done":
        return mine.filter(_care_done(today))
    return (
        mine.filter(status=CareStatus.OPEN)
        .exclude(pk__in=stopped)
        .filter(CARE_TAB_FILTERS[tab](today))
    )


def _care_counts(user: User, query: QueueQuery, today: date, stopped: list[int]) -> dict[str, int]:
    """The care tasks of each tab (one query)."""
    mine = _care_filtered(_care_annotated(CareTask.objects.filter(agent_id=user.pk)), query)
    open_ = Q(status=CareStatus.OPEN) & ~Q(pk__in=stopped)
    counts = mine.aggregate(
        **{tab: Count("pk", filter=open_ & f(today)) for tab, f in CARE_TAB_FILTERS.items()},
        done=Count("pk", filter=_care_done(today)),
    )
    return {k: int(v or 0) for k, v in counts.items()}


def agent_queue(user: User, query: QueueQuery, *, today: date, lang: str) -> Queue:
    """The agent's queue: the chosen tab's rows of both kinds in the chosen order, every
    tab's count (with the same search and filters) and the day's progress against the agent's
    daily target."""
    stopped = stopped_tasks(user, today)
    open_tasks = _filtered(_annotated(_open(user, today, stopped.calls)), query)
    counts = open_tasks.aggregate(
        today=Count("pk", filter=TAB_FILTERS["today"](today)),
        overdue=Count("pk", filter=TAB_FILTERS["overdue"](today)),
        scheduled=Count("pk", filter=TAB_FILTERS["scheduled"](today)),
    )
    done_tasks = _done(user, today)
    counts["done"] = _filtered(_annotated(done_tasks), query).count()
    care_counts = _care_counts(user, query, today, stopped.care)
    if _unfiltered(query):
        done_today = counts["done"] + care_counts["done"]
    else:
        everything = _care_counts(user, QueueQuery(), today, stopped.care)["done"]
        done_today = done_tasks.count() + everything
    call_counts = {k: int(v) for k, v in counts.items()}
    counts = {k: v + care_counts[k] for k, v in call_counts.items()}
    if not query.tab:
        shown = next((t for t in ("today", "overdue", "scheduled") if counts[t]), "today")
        query = replace(query, tab=shown)
    calls: list[Any] = []
    if call_counts[query.tab]:  # each kind's rows are read only when the tab holds some
        calls = list(
            _filtered(_annotated(_tab(user, query.tab, today, stopped.calls)), query)
            .select_related("customer")
            .only(*ROW_FIELDS)
            .order_by(*_ORDER[query.sort])[:QUEUE_LIMIT]
        )
    care: list[Any] = []
    if care_counts[query.tab]:
        care = list(
            _care_filtered(_care_annotated(_care_tab(user, query.tab, today, stopped.care)), query)
            .select_related("customer")
            .order_by("planned_date", "pk")[:QUEUE_LIMIT]
        )
    rows = _rows(calls, today=today, lang=lang) + _care_rows(care, today=today, lang=lang)
    rows.sort(key=lambda r: _row_key(r, query.sort))
    return Queue(
        query=query,
        rows=rows[:QUEUE_LIMIT],
        counts=counts,
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


def sort_key(
    sort: str, *, kind: str, pk: int, due: date | None, priority: int | None, value: float | None
) -> tuple[Any, ...]:
    """The queue's order across both kinds, the SQL orders of :data:`_ORDER` (win-back) and
    ``planned_date, pk`` (care) merged: a care task has no priority and no value, so it
    comes after the calls that have them; ties go to the win-back call, then the lower id."""
    due_key = (due is not None, due or date.min)
    priority_key = (priority is None, priority or 0)
    tail = (0 if kind == CALL else 1, pk)
    if sort == "priority":
        return (*priority_key, *due_key, *tail)
    if sort == "value":
        return (value is None, -(value or 0.0), *priority_key, *due_key, *tail)
    return (*due_key, *priority_key, *tail)


def _row_key(row: QueueRow, sort: str) -> tuple[Any, ...]:
    return sort_key(
        sort,
        kind=row.kind,
        pk=int(row.task.pk),
        due=row.due,
        priority=row.priority,
        value=row.value,
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
                kind=CALL,
                kind_label=str(KIND_LABELS[CALL]),
                due=task.next_due,
            )
        )
    return rows


def _care_rows(tasks: list[Any], *, today: date, lang: str) -> list[QueueRow]:
    from winback.app.care.rules import current_calendar, occasion_label
    from winback.app.customers.pages import channel_label, stage_label

    holidays = any(t.occasion and t.occasion != "birthday" for t in tasks)
    calendar = current_calendar() if holidays else None  # once, not per greeting
    return [
        QueueRow(
            task=task,
            priority=None,
            stage=stage_label(task.member_stage) if task.member_stage else "",
            reason="",
            phone=task.customer.phone,
            overdue=task.status == CareStatus.OPEN and task.planned_date < today,
            tier=task.member_tier,
            channel=channel_label(CARE_CHANNEL[CareKind(task.kind)]),
            kind=CARE,
            kind_label=str(task.get_kind_display()),
            occasion=occasion_label(task.occasion, lang, calendar),
            due=task.planned_date,
        )
        for task in tasks
    ]


def open_rows(user: User, *, today: date, lang: str) -> list[QueueRow]:
    """Every open call task of the agent the gate lets through, by priority then due date."""
    tasks = list(
        _annotated(_open(user, today))
        .select_related("customer")
        .only(*ROW_FIELDS)
        .order_by(*_ORDER["priority"])[:QUEUE_LIMIT]
    )
    return _rows(tasks, today=today, lang=lang)


def next_task(
    user: User, query: QueueQuery, *, after: int, today: date, after_kind: str = CALL
) -> QueueItem | None:
    """The next open task in the queue's order once ``after`` (of ``after_kind``) is saved:
    the first open row of either kind in the same tab, search, filters and sort, other than
    the one saved (the done tab walks the agent's open tasks due by today; when today's are
    done, the overdue ones)."""
    tab = query.tab if query.tab in TAB_FILTERS else "today"
    stopped = stopped_tasks(user, today)
    found = _first(user, tab, query, today, stopped, after=after, after_kind=after_kind)
    if found is None and tab == "today":  # today's work is done: the overdue tasks next
        found = _first(user, "overdue", query, today, stopped, after=after, after_kind=after_kind)
    return found


def _first(
    user: User,
    tab: str,
    query: QueueQuery,
    today: date,
    stopped: Stopped,
    *,
    after: int,
    after_kind: str,
) -> QueueItem | None:
    calls = _filtered(_annotated(_tab(user, tab, today, stopped.calls)), query)
    if after_kind == CALL:
        calls = calls.exclude(pk=after)
    call = calls.order_by(*_ORDER[query.sort]).values("pk", "next_due", "priority", "value").first()
    care_tasks = _care_filtered(_care_annotated(_care_tab(user, tab, today, stopped.care)), query)
    if after_kind == CARE:
        care_tasks = care_tasks.exclude(pk=after)
    care = care_tasks.order_by("planned_date", "pk").values("pk", "planned_date").first()
    candidates: list[tuple[tuple[Any, ...], QueueItem]] = []
    if call is not None:
        key = sort_key(
            query.sort,
            kind=CALL,
            pk=call["pk"],
            due=call["next_due"],
            priority=call["priority"],
            value=call["value"],
        )
        candidates.append((key, QueueItem(CALL, call["pk"])))
    if care is not None:
        key = sort_key(
            query.sort,
            kind=CARE,
            pk=care["pk"],
            due=care["planned_date"],
            priority=None,
            value=None,
        )
        candidates.append((key, QueueItem(CARE, care["pk"])))
    return min(candidates)[1] if candidates else None

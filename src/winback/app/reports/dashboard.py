"""The supervisor's dashboard: the latest analysis at a glance, the rounds' progress and the
programme's money as the monthly report has it (:mod:`winback.app.reports.money`)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet

from winback.app.actors import Actor, Permission, require
from winback.app.analysis.selectors import history_notice, latest_run
from winback.app.customers.pages import (
    STAGE_LABELS,
    STATUS_LABELS,
    stage_label,
    stage_trend_svg,
    status_label,
)
from winback.app.reports.money import previous_month, programme_money, report_months
from winback.reporting.metrics import REACHED
from winback.store.analysis.models import AnalysisRun
from winback.store.programme.models import (
    CallTask,
    ContactAttempt,
    Round,
    RoundMember,
    TaskStatus,
)

ROUNDS_SHOWN = 24


def dashboard(
    actor: Actor, *, today: date, month: date | None = None, lang: str = "zh-hans"
) -> dict[str, Any]:
    """Headline counts of the latest analysis, the 12-month stage trend (the monthly report's
    chart), the early-warning alert, the rounds with their calls (attempts, reached,
    completed), and the programme's money for ``month`` (default: the last full month)."""
    require(actor, Permission.VIEW_REPORTS)
    run = latest_run()
    counts: dict[str, dict[str, int]] = run.counts if run and isinstance(run.counts, dict) else {}
    history: list[dict[str, Any]] = (
        [
            dict(row)
            for row in AnalysisRun.objects.filter(as_of__gt=run.as_of - timedelta(days=400))
            .order_by("as_of")
            .values("as_of", "counts")
        ]
        if run
        else []
    )
    rounds = list(Round.objects.order_by("-month", "-pk")[:ROUNDS_SHOWN])
    ids = [r.pk for r in rounds]
    tasks = _grouped(CallTask.objects.filter(round_id__in=ids).values_list("round_id", "status"))
    members = _grouped(RoundMember.objects.filter(round_id__in=ids).values_list("round_id", "arm"))
    attempts = {
        r: (n, reached)
        for r, n, reached in ContactAttempt.objects.filter(task__round_id__in=ids)
        .values_list("task__round_id")
        .order_by()
        .annotate(n=Count("pk"), reached=Count("pk", filter=Q(outcome__in=REACHED)))
    }
    month = month or previous_month(today)
    money = programme_money(actor, month)
    money_by_round = {m["round_id"]: m for m in money["rounds"]}
    return {
        "run": run,
        "history": history_notice(run),
        "trend_svg": stage_trend_svg(history, lang),
        "early_warnings": int(counts.get("early_warning", {}).get("true", 0)),
        "stages": _in_order(counts.get("stage", {}), list(STAGE_LABELS), stage_label),
        "statuses": _in_order(counts.get("status", {}), list(STATUS_LABELS), status_label),
        "tiers": list(counts.get("tier", {}).items()),
        "money": money,
        "months": sorted({*report_months(today), month}, reverse=True),
        "rounds": [
            {
                "round": r,
                "treated": members.get((r.pk, "treated"), 0),
                "control": members.get((r.pk, "control"), 0),
                "open": tasks.get((r.pk, TaskStatus.OPEN.value), 0),
                "done": tasks.get((r.pk, TaskStatus.DONE.value), 0),
                "closed": tasks.get((r.pk, TaskStatus.CLOSED.value), 0),
                "expired": tasks.get((r.pk, TaskStatus.EXPIRED.value), 0),
                "attempts": attempts.get(r.pk, (0, 0))[0],
                "reached": attempts.get(r.pk, (0, 0))[1],
                "money": money_by_round.get(r.pk),
            }
            for r in rounds
        ],
    }


def _grouped(pairs: QuerySet[Any]) -> dict[tuple[int, str], int]:
    """Row counts per (round, value) in one GROUP BY query."""
    return {(r, v): n for r, v, n in pairs.order_by().annotate(n=Count("pk"))}


def _in_order(counts: dict[str, int], order: list[str], label: Any) -> list[tuple[str, int]]:
    """Known codes in lifecycle order, then any others as stored."""
    codes = sorted(counts, key=lambda c: order.index(c) if c in order else len(order))
    return [(label(c), counts[c]) for c in codes]

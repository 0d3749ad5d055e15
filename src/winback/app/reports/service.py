"""Everything the monthly report needs, read from the database for one month (R8, R12).

One SQL aggregate (or one frame-returning query) per table; the arithmetic happens in
:mod:`winback.reporting.metrics`, which never sees Django. Dates: the month's *current*
analysis is the last one dated inside the month (or on its first day of the next), the
*previous* one the last dated on or before the month's first day, the *year-ago* one the last
dated on or before the same day twelve months earlier.
"""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import polars as pl
from django.db import connection

from winback.app.rounds.global_holdout import programme_effect
from winback.app.rounds.monitoring import round_statuses_cached
from winback.app.settings.profile import current_profile
from winback.app.settings.rules import current_rules
from winback.periods import add_months, month_label, month_start
from winback.programme.attribution import MEASUREMENT_DAYS
from winback.reporting import flows
from winback.reporting.metrics import (
    MonthWindow,
    ReportInputs,
    month_end_runs,
    month_window,
)
from winback.store.analysis.models import AnalysisRun
from winback.store.imports.models import ImportBatch
from winback.store.programme.models import Round
from winback.store.queries import reports as reports_store


class NoAnalysisForMonth(LookupError):
    """No analysis is dated inside the month: run ``winback analyze`` first."""


def gather(month: date, *, n_boot: int = 500) -> ReportInputs:
    """Read the month's figures (``month`` is any day of it)."""
    window = month_window(month)
    runs = _runs(window)
    current = _latest(runs, window.start + timedelta(days=1), window.end + timedelta(days=1))
    if current is None:
        raise NoAnalysisForMonth(month_label(window.start))
    previous = _latest(runs, date.min, min(window.start, current - timedelta(days=1)))
    year_ago = _latest(runs, date.min, _months_back(window.end, 12))
    profile = current_profile()
    rules = current_rules()
    states, revenue = _read_states(_flow_days(runs, current, previous), window.end)
    return ReportInputs(
        window=window,
        current_as_of=current,
        previous_as_of=previous,
        year_ago_as_of=year_ago,
        runs=runs,
        stage_flows=_pair_flows(states, runs, current),
        tier_flow=flows.flow(states, previous, current, "tier")
        if previous
        else pl.DataFrame(schema=flows.FLOW_SCHEMA),
        early_warning=flows.early_warning(states, previous, current) if previous else None,
        revenue_12m=revenue,
        rounds=round_statuses(window, n_boot),
        reason_records=_reason_records(window),
        taxonomy=rules.taxonomy,
        playbooks=rules.playbooks,
        agents=_agents(window),
        imports=_imports(window),
        ratings=_ratings(window),
        programme_holdout=_programme_holdout(window),
        hoped_effect=profile.programme.hoped_effect,
        gross_margin=profile.gross_margin,
        currency=profile.currency,
        industry=profile.industry,
    )


def _months_back(day: date, months: int) -> date:
    return add_months(day, -months)


def _runs(window: MonthWindow) -> list[dict[str, Any]]:
    """Analyses from 13 months before the month's end to one day after it."""
    rows = AnalysisRun.objects.filter(
        as_of__gt=_months_back(window.end, 13), as_of__lte=window.end + timedelta(days=1)
    ).order_by("as_of")
    return [
        {
            "as_of": r.as_of,
            "customers": r.customers,
            "counts": r.counts,
            "audit": r.audit,
            "model": (r.params or {}).get("model") or {},
        }
        for r in rows
    ]


def _latest(runs: list[dict[str, Any]], after: date, on_or_before: date) -> date | None:
    days = [r["as_of"] for r in runs if after <= r["as_of"] <= on_or_before]
    return max(days) if days else None


def _flow_days(runs: list[dict[str, Any]], current: date, previous: date | None) -> list[date]:
    """The analyses whose per-customer states the flows need: month ends up to ``current``."""
    ends = [d for d in month_end_runs([r["as_of"] for r in runs]) if d <= current]
    return sorted({*ends, current, *([previous] if previous else [])})


def _read_states(days: list[date], end: date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per-customer states of ``days`` and net spend per buyer over the 12 months to ``end``.

    One read each, not a self-join of the snapshot table per pair of months (a million index
    look-ups every time); the flows are then counted in Polars (:mod:`winback.reporting.flows`).
    """
    after = _months_back(end, 12)
    if connection.in_atomic_block:
        # Uncommitted rows are visible to this connection only: read through it.
        return reports_store.customer_states(
            days=days, revenue_after=after, revenue_until=end, db=None
        )
    from winback.app.analysis.service import adbc_database

    with adbc_database() as db:
        return reports_store.customer_states(
            days=days, revenue_after=after, revenue_until=end, db=db
        )


def _pair_flows(
    states: pl.DataFrame, runs: list[dict[str, Any]], current: date
) -> list[dict[str, Any]]:
    """Stage flows between consecutive month-end analyses."""
    ends = [d for d in month_end_runs([r["as_of"] for r in runs]) if d <= current]
    return [
        {"before": b, "after": a, "flow": flows.flow(states, b, a, "stage")}
        for b, a in pairwise(ends)
    ]


def round_statuses(window: MonthWindow, n_boot: int) -> list[dict[str, Any]]:
    """Status of every round started in the last twelve months, as of the month's end."""
    rounds = list(
        Round.objects.filter(
            round_start__lte=window.end, round_start__gt=_months_back(window.end, 12)
        ).order_by("round_start")
    )
    simulated = reports_store.simulated_round_ids()
    # a handful of rounds a year, each one set of aggregates; closed ones cached
    statuses = round_statuses_cached(rounds, window.end, n_boot=n_boot)
    for rnd, status in zip(rounds, statuses, strict=True):
        status["simulated"] = rnd.pk in simulated
    return statuses


def _programme_holdout(window: MonthWindow) -> dict[str, Any] | None:
    """The global holdout's comparison for the latest month whose +90-day window has closed by
    the report month's end (None when the global holdout is off)."""
    day_after = window.end + timedelta(days=1)
    return programme_effect(
        month_start(day_after - timedelta(days=MEASUREMENT_DAYS)), today=day_after
    )


def _reason_records(window: MonthWindow) -> pl.DataFrame:
    """Leave reasons recorded this month and last (contact log, imported and programme)."""
    return reports_store.leave_reasons(start=window.previous_start, end=window.end)


def _agents(window: MonthWindow) -> pl.DataFrame:
    """Contact attempts of the month per agent and outcome, with the tasks' return results."""
    return reports_store.agent_attempts(start=window.start, end=window.end)


def _ratings(window: MonthWindow) -> pl.DataFrame:
    """Supervisors' quality ratings of the month's contact attempts, one row per review."""
    return reports_store.ratings(start=window.start, end=window.end)


def _imports(window: MonthWindow) -> pl.DataFrame:
    """Rejected rows by cause of the imports made from the month's first day until the report
    is made (a month's data usually arrives in the days after it closes)."""
    batches = ImportBatch.objects.filter(
        dry_run=False, started_at__date__gte=window.start
    ).values_list("pk", "kind", "read", "rejected", "summary")
    rows = [  # one row per batch and cause: a few dozen at most
        (pk, kind, read, rejected, str(cause), int(count))
        for pk, kind, read, rejected, summary in batches
        for cause, count in ((summary or {}).get("rejected_by_reason") or {"": 0}).items()
    ]
    return pl.DataFrame(
        rows,
        schema={
            "batch_id": pl.Int64(),
            "kind": pl.String(),
            "read": pl.Int64(),
            "rejected": pl.Int64(),
            "cause": pl.String(),
            "rows": pl.Int64(),
        },
        orient="row",
    )


FORMATS = ("html", "pdf", "xlsx")  # for people, in one language each
DATA_FORMATS = ("json",)  # every figure for programs, the same in any language
LANGS = ("zh", "en")


def default_path(month: date, lang: str, fmt: str) -> Path:
    from winback.environment import data_dir

    if fmt in DATA_FORMATS:
        return data_dir() / "reports" / f"report-{month:%Y-%m}.{fmt}"
    return data_dir() / "reports" / f"report-{month:%Y-%m}-{lang}.{fmt}"


def render(report: dict[str, Any], lang: str, fmt: str) -> bytes:
    """The report in one language and format."""
    if lang not in LANGS:
        raise ValueError(f"{lang!r}: use one of {', '.join(LANGS)}")
    if fmt == "json":
        from winback.reporting.json_report import dumps

        return dumps(report).encode("utf-8")
    if fmt == "html":
        from winback.reporting.render_html import render_html

        return render_html(report, lang).encode("utf-8")
    if fmt == "pdf":
        from winback.reporting.render_pdf import render_pdf

        return render_pdf(report, lang)
    if fmt == "xlsx":
        from winback.reporting.render_xlsx import render_xlsx

        return render_xlsx(report, lang)
    raise ValueError(f"{fmt!r}: use one of {', '.join(FORMATS + DATA_FORMATS)}")


def monthly_report(month: date, *, n_boot: int = 500) -> dict[str, Any]:
    """The month's report structure (see :func:`winback.reporting.metrics.build_report`)."""
    from winback.reporting.metrics import build_report

    return build_report(gather(month, n_boot=n_boot))


def write_report(
    month: date,
    lang: str,
    fmt: str,
    out: Path | None = None,
    *,
    report: dict[str, Any] | None = None,
) -> Path:
    """Write the month's report to ``out`` (default under the data dir's ``reports/``)."""
    data = report if report is not None else monthly_report(month)
    content = render(data, lang, fmt)
    path = out or default_path(month, lang, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(content)
    tmp.replace(path)
    return path

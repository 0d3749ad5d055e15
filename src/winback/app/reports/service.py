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

from winback.app.rounds.monitoring import round_status
from winback.app.settings.profile import current_profile
from winback.app.settings.rules import current_rules
from winback.periods import add_months, month_label
from winback.reporting import flows
from winback.reporting.metrics import (
    RATINGS,
    MonthWindow,
    ReportInputs,
    month_end_runs,
    month_window,
)
from winback.store.analysis.models import AnalysisRun
from winback.store.frames import query_frame
from winback.store.imports.models import ImportBatch
from winback.store.programme.models import Round


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
        rounds=_rounds(window, n_boot),
        reason_records=_reason_records(window),
        taxonomy=rules.taxonomy,
        playbooks=rules.playbooks,
        agents=_agents(window),
        imports=_imports(window),
        ratings=_ratings(window),
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
        {"as_of": r.as_of, "customers": r.customers, "counts": r.counts, "audit": r.audit}
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
    from winback.store.extract import Dialect

    d = Dialect("sqlite" if connection.vendor == "sqlite" else "postgresql")
    listed = ", ".join(d.date_literal(day) for day in days)
    group = {
        "states": (
            f"SELECT customer_id AS customer_pk, {d.day('as_of')} AS as_of_day, stage, tier, "
            f"status, early_warning FROM analysis_customersnapshot WHERE as_of IN ({listed})"
        ),
        "revenue": (
            "SELECT customer_id AS customer_pk, CAST(SUM(amount_cents) AS BIGINT) AS amount_cents "
            f"FROM customers_order WHERE order_date > {d.date_literal(_months_back(end, 12))} "
            f"AND order_date <= {d.date_literal(end)} GROUP BY customer_id"
        ),
    }
    raw = _read_frames(group)
    states = raw["states"].select(
        pl.col("customer_pk").cast(pl.Int64),
        pl.col("as_of_day").cast(pl.Int32).cast(pl.Date).alias("as_of"),
        pl.col("stage").cast(pl.String),
        pl.col("tier").cast(pl.Int64),
        pl.col("status").cast(pl.String),
        pl.col("early_warning").cast(pl.Boolean),
    )
    revenue = raw["revenue"].select(
        pl.col("customer_pk").cast(pl.Int64), pl.col("amount_cents").cast(pl.Int64)
    )
    return states, revenue


def _read_frames(group: dict[str, str]) -> dict[str, pl.DataFrame]:
    """Run each named statement and return its rows as a frame.

    Committed data is read through Arrow (ADBC, its own connection): a million customers times
    thirteen analyses are too many rows to pass through Python tuples. Inside a transaction
    (uncommitted rows are visible to this connection only) the same statements run on
    Django's connection instead.
    """
    if connection.in_atomic_block:
        frames = {}
        with connection.cursor() as cursor:
            for name, sql in group.items():
                cursor.execute(sql)
                columns = [column[0] for column in cursor.description]
                frames[name] = pl.DataFrame(
                    cursor.fetchall(), schema=columns, orient="row", infer_schema_length=None
                )
        return frames
    from winback.app.analysis.service import adbc_database
    from winback.store.connect import read_groups

    with adbc_database() as db:
        return read_groups(db, [{name: sql} for name, sql in group.items()])


def _pair_flows(
    states: pl.DataFrame, runs: list[dict[str, Any]], current: date
) -> list[dict[str, Any]]:
    """Stage flows between consecutive month-end analyses."""
    ends = [d for d in month_end_runs([r["as_of"] for r in runs]) if d <= current]
    return [
        {"before": b, "after": a, "flow": flows.flow(states, b, a, "stage")}
        for b, a in pairwise(ends)
    ]


def _rounds(window: MonthWindow, n_boot: int) -> list[dict[str, Any]]:
    """Status of every round started in the last twelve months, as of the month's end."""
    rounds = Round.objects.filter(
        round_start__lte=window.end, round_start__gt=_months_back(window.end, 12)
    ).order_by("round_start")
    simulated = _simulated_rounds()
    statuses = []
    for rnd in rounds:  # a handful of rounds a year, each one set of aggregates
        status = round_status(rnd, window.end, n_boot=n_boot)
        status["simulated"] = rnd.pk in simulated
        statuses.append(status)
    return statuses


def _simulated_rounds() -> set[int]:
    frame = query_frame(
        "SELECT DISTINCT t.round_id FROM programme_contactattempt a "
        "JOIN programme_calltask t ON t.id = a.task_id WHERE a.simulated = %s",
        [True],
        {"round_id": pl.Int64()},
    )
    return set(frame["round_id"].to_list())


def _reason_records(window: MonthWindow) -> pl.DataFrame:
    """Leave reasons recorded this month and last (contact log, imported and programme)."""
    return query_frame(
        "SELECT l.customer_id, l.occurred_date, l.reason_code, l.simulated "
        "FROM customers_contactlog l "
        "WHERE l.reason_code <> '' AND l.occurred_date >= %s AND l.occurred_date <= %s",
        [window.previous_start, window.end],
        {
            "customer_pk": pl.Int64(),
            "recorded_date": pl.Date(),
            "reason_code": pl.String(),
            "simulated": pl.Boolean(),
        },
    )


def _agents(window: MonthWindow) -> pl.DataFrame:
    """Contact attempts of the month per agent and outcome, with the tasks' return results."""
    return query_frame(
        "SELECT COALESCE(u.username, ''), a.outcome, a.simulated, COUNT(*), "
        "COUNT(DISTINCT a.task_id), "
        "COUNT(DISTINCT CASE WHEN m.returned THEN a.task_id END) "
        "FROM programme_contactattempt a JOIN programme_calltask t ON t.id = a.task_id "
        "LEFT JOIN accounts_user u ON u.id = a.agent_id "
        "LEFT JOIN programme_roundmember m ON m.round_id = t.round_id "
        "AND m.customer_id = t.customer_id "
        "WHERE a.occurred_date >= %s AND a.occurred_date <= %s "
        "GROUP BY u.username, a.outcome, a.simulated",
        [window.start, window.end],
        {
            "agent": pl.String(),
            "outcome": pl.String(),
            "simulated": pl.Boolean(),
            "attempts": pl.Int64(),
            "tasks": pl.Int64(),
            "tasks_returned": pl.Int64(),
        },
    )


def _ratings(window: MonthWindow) -> pl.DataFrame:
    """Supervisors' quality ratings of the month's contact attempts, one row per review."""
    return query_frame(
        "SELECT COALESCE(u.username, ''), r.rating FROM programme_contactreview r "
        "JOIN programme_contactattempt a ON a.id = r.attempt_id "
        "LEFT JOIN accounts_user u ON u.id = a.agent_id "
        "WHERE a.occurred_date >= %s AND a.occurred_date <= %s",
        [window.start, window.end],
        RATINGS,
    )


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


FORMATS = ("html", "pdf", "xlsx")
LANGS = ("zh", "en")


def default_path(month: date, lang: str, fmt: str) -> Path:
    from winback.environment import data_dir

    return data_dir() / "reports" / f"report-{month:%Y-%m}-{lang}.{fmt}"


def render(report: dict[str, Any], lang: str, fmt: str) -> bytes:
    """The report in one language and format."""
    if lang not in LANGS:
        raise ValueError(f"{lang!r}: use one of {', '.join(LANGS)}")
    if fmt == "html":
        from winback.reporting.render_html import render_html

        return render_html(report, lang).encode("utf-8")
    if fmt == "pdf":
        from winback.reporting.render_pdf import render_pdf

        return render_pdf(report, lang)
    if fmt == "xlsx":
        from winback.reporting.render_xlsx import render_xlsx

        return render_xlsx(report, lang)
    raise ValueError(f"{fmt!r}: use one of {', '.join(FORMATS)}")


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

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

from winback.reporting.metrics import (
    MonthWindow,
    ReportInputs,
    add_months,
    month_end_runs,
    month_window,
)
from winback.web.analysis.models import AnalysisRun
from winback.web.imports.models import ImportBatch
from winback.web.profile import current_profile
from winback.web.programme.frames import query_frame
from winback.web.programme.models import Round
from winback.web.programme.monitoring import round_status
from winback.web.programme.rules import current_rules


class NoAnalysisForMonth(LookupError):
    """No analysis is dated inside the month: run ``winback analyze`` first."""


def gather(month: date, *, n_boot: int = 500) -> ReportInputs:
    """Read the month's figures (``month`` is any day of it)."""
    window = month_window(month)
    runs = _runs(window)
    current = _latest(runs, window.start + timedelta(days=1), window.end + timedelta(days=1))
    if current is None:
        raise NoAnalysisForMonth(window.start.strftime("%Y-%m"))
    previous = _latest(runs, date.min, min(window.start, current - timedelta(days=1)))
    year_ago = _latest(runs, date.min, _months_back(window.end, 12))
    profile = current_profile()
    rules = current_rules()
    return ReportInputs(
        window=window,
        current_as_of=current,
        previous_as_of=previous,
        year_ago_as_of=year_ago,
        runs=runs,
        stage_flows=_pair_flows(runs, current),
        tier_flow=_flow(previous, current, "tier") if previous else _empty_flow(),
        early_warning=_early_warning(previous, current) if previous else None,
        revenue_12m=_revenue(window.end),
        rounds=_rounds(window, n_boot),
        reason_records=_reason_records(window),
        taxonomy=rules.taxonomy,
        playbooks=rules.playbooks,
        agents=_agents(window),
        imports=_imports(window),
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


FLOW_SCHEMA: dict[str, pl.DataType] = {
    "from": pl.String(),
    "to": pl.String(),
    "customers": pl.Int64(),
}


def _empty_flow() -> pl.DataFrame:
    return pl.DataFrame(schema=FLOW_SCHEMA)


def _flow(before: date, after: date, column: str) -> pl.DataFrame:
    """Customers by (value at ``before``, value at ``after``); new customers come from null."""
    before_value = (
        f"CASE WHEN b.customer_id IS NULL THEN 'new' ELSE COALESCE(CAST(b.{column} AS TEXT), "
        "'none') END"
    )
    after_value = f"COALESCE(CAST(a.{column} AS TEXT), 'none')"
    sql = (
        f"SELECT {before_value}, {after_value}, COUNT(*) FROM analysis_customersnapshot a "
        "LEFT JOIN analysis_customersnapshot b ON b.customer_id = a.customer_id AND b.as_of = %s "
        f"WHERE a.as_of = %s GROUP BY 1, 2"
    )
    return query_frame(
        sql, [before, after], {"from": pl.String(), "to": pl.String(), "customers": pl.Int64()}
    )


def _pair_flows(runs: list[dict[str, Any]], current: date) -> list[dict[str, Any]]:
    """Stage flows between consecutive month-end analyses (one aggregate per pair)."""
    ends = [d for d in month_end_runs([r["as_of"] for r in runs]) if d <= current]
    return [{"before": b, "after": a, "flow": _flow(b, a, "stage")} for b, a in pairwise(ends)]


def _early_warning(before: date, after: date) -> pl.DataFrame:
    """Customers not lost at ``before``, by early-warning flag then and lost or not now."""
    sql = (
        "SELECT b.early_warning, CASE WHEN a.status = 'lost' THEN 1 ELSE 0 END, COUNT(*) "
        "FROM analysis_customersnapshot b JOIN analysis_customersnapshot a "
        "ON a.customer_id = b.customer_id AND a.as_of = %s "
        "WHERE b.as_of = %s AND b.status <> 'lost' GROUP BY 1, 2"
    )
    return query_frame(
        sql,
        [after, before],
        {"flagged": pl.Boolean(), "lapsed": pl.Boolean(), "customers": pl.Int64()},
    )


def _revenue(end: date) -> pl.DataFrame:
    """Net spend per customer over the twelve months ending ``end`` (one row per buyer)."""
    return query_frame(
        "SELECT o.customer_id, SUM(o.amount_cents) FROM customers_order o "
        "WHERE o.order_date > %s AND o.order_date <= %s GROUP BY o.customer_id",
        [_months_back(end, 12), end],
        {"customer_pk": pl.Int64(), "amount_cents": pl.Int64()},
    )


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
    from winback.web.env import data_dir

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

"""Analysis services: extract -> analyse -> write back, backtest, export (R2, R3, R9, R12).

The same functions serve the CLI, the workbench and the monthly job. Each owns its transaction;
call them outside an open transaction, since extraction reads committed data through its own
(ADBC) connection.
"""

from __future__ import annotations

import getpass
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
from django.db import connection, transaction

from winback.analytics.frames import AnalyticsFrames
from winback.app.settings.profile import current_profile
from winback.config import BusinessProfile
from winback.environment import DatabaseURL
from winback.store.analysis.models import AnalysisRun
from winback.store.export import write_scores
from winback.store.extract import extract_frames
from winback.store.snapshots import (
    read_flags,
    read_snapshots,
    replace_snapshots,
    staged_snapshots,
)

if TYPE_CHECKING:
    from winback.app.analysis.spark import SparkOptions

# Called with a stage code as each stage starts: extract, analyze, write, done.
Progress = Callable[[str], None]
STAGES = ("extract", "analyze", "write")
ENGINES = ("duckdb", "spark")  # duckdb: the embedded engine (DuckDB or Polars by size)
HEADLINE = ("stage", "status", "tier")
# Early-warning precision looks back at the analysis nearest on or before as_of - days, and
# only if it is at most LOOKBACK_SLACK days older than that (else: not available).
PRECISION_LOOKBACKS = {"1m": 30, "3m": 91}
LOOKBACK_SLACK = 31


class NoAnalysisError(LookupError):
    """There is no analysis for the requested as-of date."""


@contextmanager
def adbc_database() -> Iterator[DatabaseURL]:
    """The database Django is using, in a form an ADBC driver can open.

    Taken from the live connection settings (not the environment) so it follows test
    databases. A private in-memory SQLite database cannot be opened by another driver, so it is
    copied to a temporary file first (only tests and throwaway runs use one).
    """
    settings = connection.settings_dict
    if connection.vendor != "sqlite":
        yield DatabaseURL(
            engine="postgresql",
            name=str(settings["NAME"]),
            user=str(settings.get("USER") or ""),
            password=str(settings.get("PASSWORD") or ""),
            host=str(settings.get("HOST") or ""),
            port=str(settings.get("PORT") or ""),
        )
        return
    if not is_memory_sqlite(str(settings["NAME"])):
        yield DatabaseURL(engine="sqlite", name=str(settings["NAME"]))
        return
    connection.ensure_connection()
    with tempfile.TemporaryDirectory(prefix="winback-") as folder:
        path = Path(folder) / "copy.sqlite3"
        target = sqlite3.connect(path)
        try:
            connection.connection.backup(target)
        finally:
            target.close()
        yield DatabaseURL(engine="sqlite", name=str(path))


def is_memory_sqlite(name: str) -> bool:
    """Django's spelling of an in-memory SQLite database (``:memory:`` or a memory URI)."""
    return name == ":memory:" or "mode=memory" in name


def extract(as_of: date, time_zone: str, *, reasons: bool = False) -> AnalyticsFrames:
    """The analysis frames as of ``as_of``; ``reasons``: contacts with their leave reason, as
    the data lake holds them."""
    with adbc_database() as db:
        return extract_frames(db, as_of, time_zone=time_zone, reasons=reasons)


def headline_counts(scores: pl.DataFrame) -> dict[str, dict[str, int]]:
    """Customers by stage, status and tier (tier "none" for customers without one)."""
    counts: dict[str, dict[str, int]] = {}
    for column in HEADLINE:
        grouped = (
            scores.group_by(pl.col(column).cast(pl.String).fill_null("none")).len().sort(column)
        )
        counts[column] = dict(zip(grouped[column].to_list(), grouped["len"].to_list(), strict=True))
    return counts


def frame_rows(frames: AnalyticsFrames) -> dict[str, int]:
    return {
        "customers": frames.customers.height,
        "orders": frames.orders.height,
        "order_lines": frames.order_lines.height,
        "events": frames.events.height,
        "contacts": frames.contacts.height,
        "treatments": frames.treatments.height,
    }


def analyze(
    as_of: date,
    *,
    progress: Progress | None = None,
    engine: str = "duckdb",
    lake: Path | None = None,
    spark: SparkOptions | None = None,
) -> AnalysisRun:
    """Score every customer as of ``as_of`` and store the snapshot; re-running replaces it.

    ``engine`` "spark" runs the analysis on Apache Spark (:mod:`winback.app.analysis.spark`);
    ``lake`` reads the behaviour streams from a data lake (:mod:`winback.analytics.lake`,
    written from this database by ``winback export --format parquet``) instead of the
    database."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if engine == "spark":
        from winback.app.analysis.spark import analyze_on_spark

        return analyze_on_spark(as_of, progress=progress, lake=lake, options=spark)
    from winback.analytics.pipeline import run_analysis

    report = progress or (lambda stage: None)
    profile = current_profile()
    started = time.perf_counter()
    report("extract")
    if lake is not None:
        from winback.analytics.lake import read_lake

        frames = read_lake(lake, as_of)
    else:
        frames = extract(as_of, profile.time_zone)
    extracted = time.perf_counter()
    report("analyze")
    rows = frame_rows(frames)
    # Handed over, not kept: the core lets go of the order lines once its feature source has
    # prepared them, which frees them only if no other reference holds them (0053).
    handed = [frames]
    del frames
    # Hand-set indicator weights (settings) replace the learned ones for those indicators.
    result = run_analysis(
        handed.pop(), profile, as_of, weights=dict(profile.indicator_weights) or None
    )
    analysed = time.perf_counter()
    return store_analysis(
        as_of,
        profile,
        result,
        rows=rows,
        timings={"extract": round(extracted - started, 3)},
        started=started,
        analysed=analysed,
        report=report,
    )


def store_analysis(
    as_of: date,
    profile: BusinessProfile,
    result: Any,
    *,
    rows: dict[str, int],
    timings: dict[str, float],
    started: float,
    analysed: float,
    report: Progress,
) -> AnalysisRun:
    """Write an analysis result (``AnalysisResult`` shaped: scores as a Polars frame) and its
    run row; ``timings`` are the stages before the analysis, ``analysed`` when it ended."""
    model = {
        **result.model,
        "early_warning_precision": warning_precisions(result.scores, as_of, profile),
    }
    report("write")
    connection.ensure_connection()
    raw = connection.connection
    with (
        staged_snapshots(raw, connection.vendor, as_of, result.scores) as staged,
        transaction.atomic(),
    ):
        written = replace_snapshots(raw, connection.vendor, as_of, result.scores, staged=staged)
        run, _ = AnalysisRun.objects.update_or_create(
            as_of=as_of,
            defaults={
                "customers": written,
                "params": {
                    "profile": profile.to_dict(),
                    "rows": rows,
                    "model": model,
                    "value_table": result.value_table,
                },
                "weights": result.weights,
                "audit": result.audit,
                "backtest": result.backtest,
                "counts": {**result.counts, **headline_counts(result.scores)},
            },
        )
    # Timed after the commit (which may checkpoint SQLite's log), so "write" is all of it.
    written_at = time.perf_counter()
    before = sum(timings.values())
    run.timings = {
        **timings,
        **{k: round(float(v), 3) for k, v in result.timings.items() if k != "total"},
        "analyze": round(analysed - started - before, 3),
        "write": round(written_at - analysed, 3),
        "total": round(written_at - started, 3),
    }
    AnalysisRun.objects.filter(pk=run.pk).update(timings=run.timings)
    report("done")
    return run


def flagged_on(as_of: date, days: int) -> date | None:
    """The analysis date nearest on or before ``as_of - days`` (within LOOKBACK_SLACK days)."""
    target = as_of - timedelta(days=days)
    earlier = (
        AnalysisRun.objects.filter(
            as_of__lte=target, as_of__gte=target - timedelta(days=LOOKBACK_SLACK)
        )
        .order_by("-as_of")
        .values_list("as_of", flat=True)
        .first()
    )
    return earlier


def warning_precisions(
    scores: pl.DataFrame, as_of: date, profile: BusinessProfile
) -> dict[str, Any]:
    """Precision of the early warnings of about one and three months before ``as_of``, judged
    on ``scores`` (the analysis of ``as_of``); {"1m": None, ...} when there was no analysis."""
    from winback.analytics.early_warning import warning_precision

    found: dict[str, Any] = {}
    days_by_key = {key: flagged_on(as_of, days) for key, days in PRECISION_LOOKBACKS.items()}
    if not any(days_by_key.values()):
        return dict.fromkeys(PRECISION_LOOKBACKS)
    now = scores.select("customer_pk", "status", "days_since_last", "expected_interval_days")
    with adbc_database() as db:
        for key, day in days_by_key.items():
            if day is None:
                found[key] = None
                continue
            found[key] = warning_precision(read_flags(db, day), now, day, as_of, profile)
    return found


def backtest(as_of: date, horizon_days: int | None = None) -> dict[str, Any]:
    """Score as of ``as_of`` and compare with what happened in the next ``horizon_days`` days
    (default: the horizon the shipped score uses, ``pipeline.churn_horizon``).

    Data up to ``as_of + horizon`` is read: the core scores with what was known on ``as_of``
    and labels with the horizon that followed. Raises
    :class:`winback.analytics.backtest.TooFewOutcomes` when the outcomes are too few to judge.
    """
    from winback.analytics.backtest import backtest as backtest_frames
    from winback.analytics.pipeline import churn_horizon

    if horizon_days is not None and horizon_days <= 0:
        raise ValueError("the horizon must be at least one day")
    profile = current_profile()
    horizon = horizon_days if horizon_days is not None else churn_horizon(profile)
    frames = extract(as_of + timedelta(days=horizon), profile.time_zone)
    return backtest_frames(frames, profile, as_of, horizon_days)


def system_user() -> str:
    """Who runs the command line (exports from the CLI have no Winback user)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for the uid, e.g. in a container
        return "cli"


@dataclass(frozen=True)
class ExportResult:
    path: Path
    rows: int
    fmt: str


def export_scores(
    as_of: date, fmt: str, out: Path, *, user: Any = None, reason: str = "", username: str = ""
) -> ExportResult:
    """Write the snapshot of ``as_of`` to ``out`` and log the export (R13); ``username`` is the
    audit's name for the person (the command line's ``user via cli:os-user``)."""
    from winback.store.accounts.models import AuditLog

    if not AnalysisRun.objects.filter(as_of=as_of).exists():
        raise NoAnalysisError(as_of)
    with adbc_database() as db:
        snapshots = read_snapshots(db, as_of)
    rows = write_scores(snapshots, fmt, out)
    is_user = user is not None and getattr(user, "pk", None) is not None
    AuditLog.objects.create(
        user=user if is_user else None,
        username=username or (user.get_username() if is_user else system_user()),
        action="export_scores",
        object_type="analysis_run",
        object_id=as_of.isoformat(),
        reason=reason[:200],
        detail={"format": fmt, "rows": rows, "file": str(out)},
    )
    return ExportResult(path=out, rows=rows, fmt=fmt)

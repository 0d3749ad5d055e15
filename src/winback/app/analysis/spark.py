"""The analysis on Apache Spark (``winback analyze --engine spark``; docs/scale.md).

The behaviour streams come from a data lake (:mod:`winback.analytics.lake`): the one given,
or the configured database staged as one under the data folder
(``WINBACK_DATA_DIR/spark/lake``). Spark writes the snapshot as Parquet
(``WINBACK_DATA_DIR/spark/snapshots/<as-of>/``), which is then loaded into the database by the
same writer as every analysis (COPY on PostgreSQL), so ``winback export scores`` and the
workbench read it whichever engine ran.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from winback.app.analysis.service import (
    Progress,
    extract,
    frame_rows,
    store_analysis,
)
from winback.app.settings.profile import current_profile
from winback.environment import data_dir
from winback.store.analysis.models import AnalysisRun


@dataclass(frozen=True)
class SparkOptions:
    master: str | None = None  # None: spark-submit's master, else local[*]
    conf: dict[str, str] = field(default_factory=dict)  # --spark-conf key=value pairs


def spark_folder() -> Path:
    return data_dir() / "spark"


def stage_database(as_of: date, time_zone: str) -> tuple[Path, dict[str, int]]:
    """The database as a data lake under the data folder (replacing the last one), and the
    rows of each table staged."""
    from winback.analytics.lake import write_lake

    frames = extract(as_of, time_zone, reasons=True)
    rows = frame_rows(frames)
    root = spark_folder() / "lake"
    if root.exists():
        shutil.rmtree(root)
    write_lake(root, frames, as_of=as_of, source="database", time_zone=time_zone)
    return root, rows


def analyze_on_spark(
    as_of: date,
    *,
    progress: Progress | None = None,
    lake: Path | None = None,
    options: SparkOptions | None = None,
) -> AnalysisRun:
    """Score every customer as of ``as_of`` on Spark and store the snapshot (the same
    AnalysisRun as :func:`winback.app.analysis.service.analyze`)."""
    from winback.analytics import spark_engine

    report = progress or (lambda stage: None)
    options = options or SparkOptions()
    profile = current_profile()
    started = time.perf_counter()
    report("extract")
    if lake is None:
        lake, rows = stage_database(as_of, profile.time_zone)
    else:
        from winback.analytics.lake import read_manifest

        rows = {t: m.get("rows", 0) for t, m in read_manifest(lake).tables.items()}
    staged = time.perf_counter()
    report("analyze")
    spark = spark_engine.session(options.master, options.conf)
    tables = spark_engine.cut_tables(spark_engine.read_tables(spark, lake), as_of)
    weights = dict(profile.indicator_weights) or None
    result = spark_engine.analyze(tables, profile, as_of, weights=weights)
    out = spark_folder() / "snapshots" / as_of.isoformat()
    result.scores.write.mode("overwrite").parquet(str(out))
    result.scores.unpersist()
    analysed = time.perf_counter()
    scores = pl.read_parquet(out / "*.parquet").sort("customer_pk")
    return store_analysis(
        as_of,
        profile,
        _Loaded(result, scores),
        rows=rows,
        timings={"extract": round(staged - started, 3)},
        started=started,
        analysed=analysed,
        report=report,
    )


class _Loaded:
    """A Spark analysis with its snapshot read back from Parquet (what store_analysis reads)."""

    def __init__(self, result: Any, scores: pl.DataFrame) -> None:
        self.scores = scores
        self.model = result.model
        self.value_table = result.value_table
        self.weights = result.weights
        self.audit = result.audit
        self.backtest = result.backtest
        self.counts = result.counts
        self.timings = result.timings

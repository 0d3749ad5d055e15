"""The round planner's candidate inputs read on Apache Spark (``winback round plan --engine
spark``; docs/scale.md, decision 0051).

The behaviour streams come from a data lake: the one given (``--lake``), else the configured
database staged as one under the data folder the way ``winback analyze --engine spark`` stages
it (:func:`winback.app.analysis.spark.stage_database`). Spark does the per-candidate scans and
aggregations (:mod:`winback.analytics.spark_candidates`); what lives only in the database is
read from it: the snapshot's candidates and their scores (the snapshot the gate, erasure and
the workbench keep), the customer record's contact details (the lake holds no phone or e-mail),
earlier rounds' memberships, the contact gate's verdicts and the agents. The frames are those
:func:`winback.app.rounds.planning.read_inputs` returns from the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from winback.app.analysis.spark import SparkOptions
from winback.programme.rounds import RoundInputs
from winback.store.queries import rounds as rounds_store
from winback.store.queries.rounds import Cohort

if TYPE_CHECKING:
    from collections.abc import Sequence

ENGINES = ("database", "spark")


@dataclass(frozen=True)
class CandidateReader:
    """Which engine reads the planner's candidate inputs: ``database`` (SQL through the
    store, the default) or ``spark`` (the behaviour streams from ``lake``, or the database
    staged as a lake, on a Spark session with ``spark``'s master and settings)."""

    engine: str = "database"
    lake: Path | None = None
    spark: SparkOptions = field(default_factory=SparkOptions)

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"unknown candidate reader {self.engine!r}: {', '.join(ENGINES)}")


def with_lake(reader: CandidateReader, start: date, time_zone: str) -> CandidateReader:
    """``reader`` with the lake it will read: for ``spark`` without one, the database staged as
    a lake now. The planner stages through this before its transaction opens (the staging reads
    the database on a connection of its own, which sees only committed rows; SQLite's copy of
    an in-memory database cannot be taken inside an open write)."""
    if reader.engine != "spark" or reader.lake is not None:
        return reader
    _require_pyspark()
    return replace(reader, lake=_staged(start, time_zone))


def _require_pyspark() -> None:
    try:
        import pyspark  # noqa: F401  (an optional extra)
    except ImportError as exc:
        raise SparkUnavailable(
            "PySpark is not installed: install winback[spark] (and Java 17) to plan on Spark"
        ) from exc


class SparkUnavailable(RuntimeError):
    """``--engine spark`` without PySpark installed."""


def read_inputs_on_spark(
    snap_day: date,
    as_of: date,
    statuses: Sequence[str],
    agents: pl.DataFrame,
    *,
    time_zone: str,
    reader: CandidateReader,
    history_days: int,
) -> RoundInputs:
    """:func:`winback.app.rounds.planning.read_inputs` with the behaviour streams read on
    Spark. Raises :class:`SparkUnavailable` without PySpark and
    :class:`winback.analytics.spark_candidates.LakeMismatch` for a lake that cannot stand for
    the database."""
    _require_pyspark()
    from winback.analytics import spark_candidates, spark_engine
    from winback.app.rounds.planning import favourites_from_spend, read_memberships

    cand = rounds_store.snapshot_cohort(snapshot_as_of=snap_day, statuses=statuses)
    snapshot = rounds_store.snapshot_rows(snapshot_as_of=snap_day, statuses=statuses)
    details = rounds_store.contact_details(cohort=cand)
    lake = reader.lake if reader.lake is not None else _staged(as_of, time_zone)
    _check_horizon(lake, as_of)
    spark = spark_engine.session(reader.spark.master, reader.spark.conf)
    tables = spark_engine.read_tables(spark, lake)
    candidates = spark.createDataFrame(details.select("customer_pk", "external_id").to_arrow())
    spark_candidates.check_lake(tables, candidates)
    reads = spark_candidates.candidate_reads(
        tables,
        candidates,
        as_of=as_of,
        recent_from=as_of - timedelta(days=history_days),
        spend_after=as_of - timedelta(days=365),
    )
    told = reads.told_not_to_contact.get_column("customer_pk").implode()
    flags = details.select(
        "customer_pk",
        (pl.col("do_not_contact") | pl.col("customer_pk").is_in(told)).alias("do_not_contact"),
        "consent_marketing",
        "has_phone",
        "has_email",
    )
    return RoundInputs(
        snapshot=snapshot,
        customers=flags,
        agents=agents,
        contacts=reads.contacts,
        complaints=_complaints(reads.complaints, cand, as_of, time_zone),
        memberships=read_memberships(cand),
        favourites=favourites_from_spend(reads.category_spend),
    )


def _staged(as_of: date, time_zone: str) -> Path:
    """The database as a lake holding every fact known today (a do-not-contact answer counts
    whenever it was logged, so the lake is not cut to the round's start)."""
    from django.utils import timezone

    from winback.app.analysis.spark import stage_database

    root, _rows = stage_database(max(timezone.localdate(), as_of), time_zone)
    return root


def _check_horizon(lake: Path, as_of: date) -> None:
    from winback.analytics.lake import read_manifest
    from winback.analytics.spark_candidates import LakeMismatch

    held = read_manifest(lake).as_of
    if held < as_of:
        raise LakeMismatch(
            f"the lake holds facts up to {held.isoformat()}, before the round's start "
            f"{as_of.isoformat()}: export it again (winback export --format parquet)"
        )


def _complaints(from_lake: pl.DataFrame, cand: Cohort, as_of: date, time_zone: str) -> pl.DataFrame:
    """The lake's complaints, unless the built-in complaint type was retired or given another
    role: the lake then files its events under another role, while the planner still counts
    them (a complaint still open protects the customer), so they are read from the database."""
    from winback.store.customers.models import EventTypeDefinition
    from winback.vocabulary import EventRole

    code = EventRole.COMPLAINT.value
    moved = EventTypeDefinition.objects.filter(code=code).exclude(active=True, role=code).exists()
    if moved:
        return rounds_store.complaints(cohort=cand, until=as_of, time_zone=time_zone)
    return from_lake

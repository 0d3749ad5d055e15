"""The round planner's per-candidate reads of the behaviour streams, on Apache Spark
(``winback round plan --engine spark``; docs/scale.md, decision 0051).

The planner (:func:`winback.app.rounds.planning.read_inputs`) reads, for the snapshot's
candidates, what the contact log says (a do-not-contact answer anywhere in it; the contacts of
the last weeks and every older one carrying a leave reason), the complaints made by the round's
start and the spend per category over the year before it. On a large base these are the heavy
reads: scans and aggregations over the order lines, the contact log and the events. Here they
are Spark jobs over the tables of a data lake (:mod:`winback.analytics.lake`, uncut: the
planner applies its own date rules), semi-joined to the candidates' keys; only the
per-candidate results come back to the driver, as Arrow.

Each frame has the columns and types of the store reader it stands for
(:mod:`winback.store.queries.rounds`), declared once in :mod:`winback.candidate_frames`, so
the planner cannot tell which engine read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import polars as pl

from winback.analytics.spark_engine import SparkTables, _to_polars
from winback.candidate_frames import CATEGORY_SPEND, COMPLAINTS, CONTACT_HISTORY
from winback.vocabulary import EventRole, Outcome

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

KEYS: dict[str, pl.DataType] = {"customer_pk": pl.Int64()}
# The lake's contacts must carry this column (exports from the database do, generated lakes
# do not): the planner reads the leave reasons agents recorded.
REASON = "reason_code"


class LakeMismatch(ValueError):
    """The lake cannot stand for the database: its keys differ, or it lacks a column the
    planner reads."""


@dataclass(frozen=True)
class CandidateReads:
    """What the streams say of the candidates (frames in the store readers' shapes)."""

    told_not_to_contact: pl.DataFrame  # customer_pk: a do-not-contact answer in the log
    contacts: pl.DataFrame  # CONTACT_HISTORY, reason_code null when none
    complaints: pl.DataFrame  # COMPLAINTS
    category_spend: pl.DataFrame  # CATEGORY_SPEND


def check_lake(tables: SparkTables, candidates: DataFrame) -> None:
    """Refuse a lake whose keys are not the database's: every candidate (``customer_pk``,
    ``external_id`` from the database) must be a lake customer with the same business id. One
    Spark aggregate; raises :class:`LakeMismatch` naming how many differ and a few of them."""
    from pyspark.sql import functions as F

    if REASON not in tables["contacts"].columns:
        raise LakeMismatch(
            "the lake's contacts carry no reason_code column (a generated lake, or one "
            "exported before it was added): export it again with winback export --format "
            "parquet"
        )
    lake = tables["customers"].select("customer_pk", F.col("external_id").alias("_lake_id"))
    joined = candidates.join(lake, "customer_pk", "left")
    differ = joined.filter(F.col("_lake_id").isNull() | (F.col("_lake_id") != F.col("external_id")))
    found = differ.select("customer_pk", "external_id", "_lake_id").limit(3).collect()
    if not found:
        return
    count = differ.count()
    examples = ", ".join(
        f"{row['customer_pk']} ({row['external_id']} in the database, "
        f"{row['_lake_id'] or 'absent'} in the lake)"
        for row in found
    )
    raise LakeMismatch(
        f"{count} candidates have other keys in the lake than in the database, e.g. {examples}: "
        "the lake must be exported from this database (winback export --format parquet)"
    )


def candidate_reads(
    tables: SparkTables,
    candidates: DataFrame,
    *,
    as_of: date,
    recent_from: date,
    spend_after: date,
) -> CandidateReads:
    """The candidates' (``candidates``: a Spark frame with ``customer_pk``) reads over the lake's
    uncut ``tables``, each as :mod:`winback.store.queries.rounds` defines it:

    - a do-not-contact answer anywhere in the contact log (``contact_flags``);
    - contacts up to ``as_of``: all from ``recent_from`` on, older ones with a leave reason
      (``contact_history``);
    - complaints made on or before ``as_of`` with their resolution (``complaints``);
    - spend and replenishment days per category of orders dated after ``spend_after`` up to
      ``as_of`` (``category_spend``; lines without a category left out).
    """
    from pyspark.sql import functions as F

    keys = candidates.select("customer_pk")
    day = F.lit(as_of)
    contacts = tables["contacts"].join(keys, "customer_pk", "left_semi")
    told = (
        contacts.filter(F.col("outcome") == Outcome.DO_NOT_CONTACT.value)
        .select("customer_pk")
        .distinct()
    )
    history = contacts.filter(
        (F.col("occurred_date") <= day)
        & ((F.col("occurred_date") >= F.lit(recent_from)) | F.col(REASON).isNotNull())
    )
    complaints = (
        tables["events"]
        .filter(
            (F.col("event_type") == EventRole.COMPLAINT.value) & (F.col("occurred_date") <= day)
        )
        .join(keys, "customer_pk", "left_semi")
    )
    spend = (
        tables["order_lines"]
        .filter(
            (F.col("order_date") > F.lit(spend_after))
            & (F.col("order_date") <= day)
            & F.col("category_code").isNotNull()
        )
        .join(keys, "customer_pk", "left_semi")
        .groupBy("customer_pk", "category_code")
        .agg(
            F.sum("amount_cents").cast("double").alias("spend"),
            F.max("replenishment_days").alias("replenishment_days"),
        )
    )
    return CandidateReads(
        told_not_to_contact=_to_polars(told, KEYS),
        contacts=_to_polars(history, CONTACT_HISTORY),
        complaints=_to_polars(complaints, COMPLAINTS),
        category_spend=_to_polars(spend, CATEGORY_SPEND),
    )

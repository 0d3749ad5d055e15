"""Call tasks written in bulk: the one insert behind a planned round and customers added to an
open round (both write the same columns with the same defaults)."""

from __future__ import annotations

import polars as pl
from django.db import connection
from django.utils import timezone

from winback.store.frames import insert_frame
from winback.store.programme.models import CallTask, TaskStatus

COLUMNS = (
    "round_id",
    "customer_id",
    "agent_id",
    "status",
    "attempts",
    "planned_date",
    "next_due",
    "version",
    "offer_menu",
    "offer_code",
    "reason_code",
    "expiry_cause",
    "updated_at",
)


def insert_call_tasks(round_id: int, tasks: pl.DataFrame) -> None:
    """One open call task per row of ``tasks``: ``customer_pk``, ``agent_id``,
    ``planned_date`` (also the first due date), and optionally ``offer_menu`` (the menu's JSON
    text, :func:`winback.programme.menus.menu_json`) and ``reason_code`` (null or absent: an
    empty menu, no known reason)."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    menu = pl.col("offer_menu") if "offer_menu" in tasks.columns else pl.lit(None, pl.String)
    reason = pl.col("reason_code") if "reason_code" in tasks.columns else pl.lit(None, pl.String)
    rows = tasks.select(
        pl.lit(round_id).alias("round_id"),
        "customer_pk",
        "agent_id",
        pl.lit(TaskStatus.OPEN.value).alias("status"),
        pl.lit(0).alias("attempts"),
        "planned_date",
        pl.col("planned_date").alias("next_due"),
        pl.lit(1).alias("version"),
        menu.fill_null("[]").alias("offer_menu"),
        pl.lit("").alias("offer_code"),
        reason.fill_null("").alias("reason_code"),
        pl.lit("").alias("expiry_cause"),
        pl.lit(now).alias("updated_at"),
    )
    insert_frame(model=CallTask, columns=COLUMNS, rows=rows)

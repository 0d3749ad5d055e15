"""The monthly report (R8): per-customer states, spend, leave reasons, agents, ratings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import polars as pl
from django.db import connection

from winback.environment import DatabaseURL
from winback.reporting.metrics import RATINGS
from winback.store.connect import read_groups
from winback.store.extract import Dialect
from winback.store.frames import query_frame
from winback.store.tables import tables


def customer_states(
    *, days: Sequence[date], revenue_after: date, revenue_until: date, db: DatabaseURL | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per-customer stage, tier, status and early warning on each of ``days``, and net spend
    per buyer on orders dated after ``revenue_after`` up to ``revenue_until``.

    ``db``: read committed data through Arrow (ADBC, its own connection), since a million
    customers times thirteen analyses are too many rows for Python tuples. ``None``: read
    through Django's connection, which sees the caller's uncommitted rows (inside a
    transaction).
    """
    d = Dialect("sqlite" if connection.vendor == "sqlite" else "postgresql")
    t = tables()
    listed = ", ".join(d.date_literal(day) for day in days)
    group = {
        "states": (
            f"SELECT customer_id AS customer_pk, {d.day('as_of')} AS as_of_day, stage, tier, "
            f"status, early_warning FROM {t.snapshot} WHERE as_of IN ({listed})"
        ),
        "revenue": (
            "SELECT customer_id AS customer_pk, CAST(SUM(amount_cents) AS BIGINT) AS amount_cents "
            f"FROM {t.order} WHERE order_date > {d.date_literal(revenue_after)} "
            f"AND order_date <= {d.date_literal(revenue_until)} GROUP BY customer_id"
        ),
    }
    if db is None:
        raw = _read_in_transaction(group)
    else:
        raw = read_groups(db, [{name: sql} for name, sql in group.items()])
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


def _read_in_transaction(group: dict[str, str]) -> dict[str, pl.DataFrame]:
    frames = {}
    with connection.cursor() as cursor:
        for name, sql in group.items():
            cursor.execute(sql)
            columns = [column[0] for column in cursor.description]
            frames[name] = pl.DataFrame(
                cursor.fetchall(), schema=columns, orient="row", infer_schema_length=None
            )
    return frames


def simulated_round_ids() -> set[int]:
    """Rounds with at least one simulated contact attempt (demo rounds)."""
    t = tables()
    frame = query_frame(
        f"SELECT DISTINCT t.round_id FROM {t.contact_attempt} a "
        f"JOIN {t.call_task} t ON t.id = a.task_id WHERE a.simulated = %s",
        [True],
        {"round_id": pl.Int64()},
    )
    return set(frame["round_id"].to_list())


def leave_reasons(*, start: date, end: date) -> pl.DataFrame:
    """Leave reasons recorded in the contact log from ``start`` to ``end``."""
    return query_frame(
        "SELECT l.customer_id, l.occurred_date, l.reason_code, l.simulated "
        f"FROM {tables().contact_log} l "
        "WHERE l.reason_code <> '' AND l.occurred_date >= %s AND l.occurred_date <= %s",
        [start, end],
        {
            "customer_pk": pl.Int64(),
            "recorded_date": pl.Date(),
            "reason_code": pl.String(),
            "simulated": pl.Boolean(),
        },
    )


def agent_attempts(*, start: date, end: date) -> pl.DataFrame:
    """Contact attempts from ``start`` to ``end`` per agent and outcome, with the tasks'
    return results."""
    t = tables()
    return query_frame(
        "SELECT COALESCE(u.username, ''), a.outcome, a.simulated, COUNT(*), "
        "COUNT(DISTINCT a.task_id), "
        "COUNT(DISTINCT CASE WHEN m.returned THEN a.task_id END) "
        f"FROM {t.contact_attempt} a JOIN {t.call_task} t ON t.id = a.task_id "
        f"LEFT JOIN {t.user} u ON u.id = a.agent_id "
        f"LEFT JOIN {t.round_member} m ON m.round_id = t.round_id "
        "AND m.customer_id = t.customer_id "
        "WHERE a.occurred_date >= %s AND a.occurred_date <= %s "
        "GROUP BY u.username, a.outcome, a.simulated",
        [start, end],
        {
            "agent": pl.String(),
            "outcome": pl.String(),
            "simulated": pl.Boolean(),
            "attempts": pl.Int64(),
            "tasks": pl.Int64(),
            "tasks_returned": pl.Int64(),
        },
    )


def ratings(*, start: date, end: date) -> pl.DataFrame:
    """Supervisors' ratings of the contact attempts made from ``start`` to ``end``."""
    t = tables()
    return query_frame(
        f"SELECT COALESCE(u.username, ''), r.rating FROM {t.contact_review} r "
        f"JOIN {t.contact_attempt} a ON a.id = r.attempt_id "
        f"LEFT JOIN {t.user} u ON u.id = a.agent_id "
        "WHERE a.occurred_date >= %s AND a.occurred_date <= %s",
        [start, end],
        RATINGS,
    )

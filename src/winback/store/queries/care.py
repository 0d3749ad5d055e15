"""Care plans (R10): the living base of a snapshot and the recent contact log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import polars as pl

from winback.store.frames import placeholders, query_frame
from winback.store.tables import tables

CUSTOMER_SCHEMA: dict[str, pl.DataType] = {
    "customer_pk": pl.Int64(),
    "external_id": pl.String(),
    "abc_class": pl.String(),
    "tier": pl.Int64(),
    "birthday": pl.Date(),
    "do_not_contact": pl.Boolean(),
    "consent_marketing": pl.Boolean(),
    "early_warning": pl.Boolean(),
    "clv_365": pl.Float64(),
}
CONTACT_SCHEMA: dict[str, pl.DataType] = {
    "customer_pk": pl.Int64(),
    "occurred_date": pl.Date(),
    "channel": pl.String(),
    "outcome": pl.String(),
    "direction": pl.String(),
}


def customers_for_care(*, snapshot_as_of: date) -> pl.DataFrame:
    """Customers of the snapshot who have bought and are not lost, with flags and birthday."""
    t = tables()
    sql = f"""
SELECT c.id, c.external_id, s.abc_class, s.tier, c.birthday, c.do_not_contact,
       c.consent_marketing, s.early_warning, s.clv_365
FROM {t.customer} c
JOIN {t.snapshot} s ON s.customer_id = c.id AND s.as_of = %s
WHERE s.status <> 'lost' AND s.stage <> 'prospect'
"""
    return query_frame(sql, [snapshot_as_of], CUSTOMER_SCHEMA)


def contacts_between(*, after: date, until: date) -> pl.DataFrame:
    """Contact log entries dated after ``after`` and on or before ``until``."""
    sql = f"""
SELECT customer_id, occurred_date, channel, outcome, direction
FROM {tables().contact_log} WHERE occurred_date <= %s AND occurred_date > %s
"""
    return query_frame(sql, [until, after], CONTACT_SCHEMA)


TASK_KEY_SCHEMA: dict[str, pl.DataType] = {
    "customer_pk": pl.Int64(),
    "kind": pl.String(),
    "occasion": pl.String(),
    "due_date": pl.Date(),
    "status": pl.String(),
}
LOAD_SCHEMA: dict[str, pl.DataType] = {
    "agent_id": pl.Int64(),
    "day": pl.Date(),
    "taken": pl.Int64(),
}


def care_tasks_since(*, due_from: date) -> pl.DataFrame:
    """Care tasks still open, and every care task due on or after ``due_from``: what a new
    plan must not make again."""
    from winback.store.programme.models import CareTask

    sql = f"""
SELECT customer_id, kind, occasion, due_date, status
FROM {CareTask._meta.db_table} WHERE status = 'open' OR due_date >= %s
"""
    return query_frame(sql, [due_from], TASK_KEY_SCHEMA)


def agent_load(
    *, start: date | None, end: date | None, agent_ids: Sequence[int] | None = None
) -> pl.DataFrame:
    """Open call tasks (by next due day) and open care tasks (by planned day) per agent and
    day in [start, end] (an open bound: no limit that side), of ``agent_ids`` (None: every
    agent): what already takes the agents' capacity."""
    from winback.store.programme.models import CallTask, CareTask

    where: list[str] = []
    params: list[object] = []
    if start is not None:
        where.append("{day} >= %s")
        params.append(start)
    if end is not None:
        where.append("{day} <= %s")
        params.append(end)
    if agent_ids is not None:
        if not agent_ids:
            return pl.DataFrame(schema=LOAD_SCHEMA)
        where.append(f"agent_id IN ({placeholders(agent_ids)})")
        params.extend(agent_ids)
    call_where = "".join(f" AND {w.format(day='next_due')}" for w in where)
    care_where = "".join(f" AND {w.format(day='planned_date')}" for w in where)
    sql = f"""
SELECT agent_id, day, COUNT(*) FROM (
  SELECT agent_id, next_due AS day FROM {CallTask._meta.db_table}
  WHERE status = 'open' AND agent_id IS NOT NULL AND next_due IS NOT NULL{call_where}
  UNION ALL
  SELECT agent_id, planned_date AS day FROM {CareTask._meta.db_table}
  WHERE status = 'open' AND agent_id IS NOT NULL{care_where}
) busy GROUP BY agent_id, day
"""
    return query_frame(sql, [*params, *params], LOAD_SCHEMA)

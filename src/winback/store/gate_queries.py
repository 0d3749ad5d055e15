"""The facts the contact gate reads (:mod:`winback.app.contacts.gate`), one query each.

Every reader returns only the sparse rows that can block a contact (flags that forbid it,
control memberships still measured, complaints still open, recent outbound contacts), for the
whole base or for a short list of customers; the gate joins them to the customers it is asked
about. Table names come from the models, never from text.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import polars as pl

from winback.store.analysis.models import AnalysisRun, CustomerSnapshot
from winback.store.customers.models import (
    ContactLog,
    ContactOutcome,
    Customer,
    Direction,
    EngagementEvent,
)
from winback.store.event_roles import is_complaint_sql
from winback.store.frames import placeholders, query_frame
from winback.store.programme.models import Arm, CallTask, ContactAttempt, Round, RoundMember
from winback.store.queries import care as care_queries

# Above this many customers a list of ids costs more than reading the sparse facts of everyone.
# At 1M customers on PostgreSQL the whole-base reads take 2.5 s (the do-not-contact flags 1.3 s,
# the stages of everyone contacted in 90 days 0.8 s), while an agent's ~800 open calls read by
# id take milliseconds (benchmarks/web_load.py); the id list is used at most twice per query,
# far below SQLite's 32,766 parameters.
ID_FILTER_LIMIT = 5_000

FLAG_SCHEMA: dict[str, pl.DataType] = {
    "customer_pk": pl.Int64(),
    "do_not_contact": pl.Boolean(),
    "consent_marketing": pl.Boolean(),
}
CONTROL_SCHEMA: dict[str, pl.DataType] = {
    "customer_pk": pl.Int64(),
    "round_id": pl.Int64(),
    "round_start": pl.Date(),
}
COMPLAINT_SCHEMA: dict[str, pl.DataType] = {
    "customer_pk": pl.Int64(),
    "occurred_date": pl.Date(),
    "resolved": pl.Boolean(),
    "resolved_date": pl.Date(),
}
# The care plan's contact columns, plus the round of the call task a contact was made on.
CONTACT_SCHEMA: dict[str, pl.DataType] = {
    **care_queries.CONTACT_SCHEMA,
    "task_round_id": pl.Int64(),
}
STAGE_SCHEMA: dict[str, pl.DataType] = {"customer_pk": pl.Int64(), "stage": pl.String()}


def _t(model: Any) -> str:
    return str(model._meta.db_table)


def _only(column: str, ids: Sequence[int] | None) -> tuple[str, list[Any]]:
    """An ``AND column IN (...)`` clause for a short id list; nothing for long or no lists."""
    if ids is None or len(ids) > ID_FILTER_LIMIT:
        return "", []
    if not ids:
        return " AND 1 = 0", []
    return f" AND {column} IN ({placeholders(ids)})", list(ids)


def blocking_flags(ids: Sequence[int] | None = None) -> pl.DataFrame:
    """Customers flagged do-not-contact (on the record or answered so in the contact log) or
    without marketing consent. A do-not-contact answer counts even if an import has cleared
    the flag since: only the customer can lift it."""
    where, params = _only("c.id", ids)
    answered = (
        f"EXISTS (SELECT 1 FROM {_t(ContactLog)} l WHERE l.customer_id = c.id AND l.outcome = %s)"
    )
    return query_frame(
        f"SELECT c.id, c.do_not_contact OR {answered}, c.consent_marketing "
        f"FROM {_t(Customer)} c WHERE (c.do_not_contact OR NOT c.consent_marketing OR {answered})"
        f"{where}",
        [ContactOutcome.DO_NOT_CONTACT.value, ContactOutcome.DO_NOT_CONTACT.value, *params],
        FLAG_SCHEMA,
    )


def measured_controls(
    on: date, measured_days: int, ids: Sequence[int] | None = None
) -> pl.DataFrame:
    """Control-arm memberships of rounds whose last measurement window is still open on
    ``on`` (``round_start + measured_days > on``)."""
    where, params = _only("m.customer_id", ids)
    return query_frame(
        f"SELECT m.customer_id, m.round_id, r.round_start FROM {_t(RoundMember)} m "
        f"JOIN {_t(Round)} r ON r.id = m.round_id "
        f"WHERE m.arm = %s AND r.round_start > %s{where}",
        [Arm.CONTROL.value, on - timedelta(days=measured_days), *params],
        CONTROL_SCHEMA,
    )


def complaints(on: date, ids: Sequence[int] | None = None) -> pl.DataFrame:
    """Complaints made by ``on`` that were not resolved before the day before it (the rule on
    the resolution date is the planner's; this only drops what cannot be open)."""
    where, params = _only("e.customer_id", ids)
    return query_frame(
        "SELECT e.customer_id, e.occurred_date, e.resolved, e.resolved_at "
        f"FROM {_t(EngagementEvent)} e WHERE {is_complaint_sql('e.event_type')} "
        "AND e.occurred_date <= %s "
        f"AND (e.resolved IS NULL OR NOT e.resolved OR e.resolved_at IS NULL "
        f"OR e.resolved_at >= %s){where}",
        [on, on - timedelta(days=2), *params],
        COMPLAINT_SCHEMA,
    )


def recent_contacts(on: date, days: int, ids: Sequence[int] | None = None) -> pl.DataFrame:
    """Outbound contacts in the ``days`` up to ``on``, each with the round of the call task it
    was logged on (null for imported and care contacts)."""
    where, params = _only("l.customer_id", ids)
    return query_frame(
        "SELECT l.customer_id, l.occurred_date, l.channel, l.outcome, l.direction, t.round_id "
        f"FROM {_t(ContactLog)} l "
        f"LEFT JOIN {_t(ContactAttempt)} a ON a.contact_log_id = l.id "
        f"LEFT JOIN {_t(CallTask)} t ON t.id = a.task_id "
        f"WHERE l.direction = %s AND l.occurred_date > %s AND l.occurred_date <= %s{where}",
        [Direction.OUTBOUND.value, on - timedelta(days=days), on, *params],
        CONTACT_SCHEMA,
    )


def recent_stages(on: date, days: int, ids: Sequence[int] | None = None) -> pl.DataFrame:
    """The lifecycle stage, in the latest analysis on or before ``on``, of the customers with
    an outbound contact in the ``days`` up to ``on`` (the ones a stage cap can stop)."""
    where, params = _only("s.customer_id", ids)
    # The id list narrows the contact-log subquery too, so a single customer's check reads
    # that customer's rows through the index instead of every recent contact.
    where_log, params_log = _only("l.customer_id", ids)
    return query_frame(
        f"SELECT s.customer_id, s.stage FROM {_t(CustomerSnapshot)} s "
        f"WHERE s.as_of = (SELECT MAX(r.as_of) FROM {_t(AnalysisRun)} r WHERE r.as_of <= %s) "
        f"AND s.customer_id IN (SELECT l.customer_id FROM {_t(ContactLog)} l "
        f"WHERE l.direction = %s AND l.occurred_date > %s AND l.occurred_date <= %s{where_log})"
        f"{where}",
        [on, Direction.OUTBOUND.value, on - timedelta(days=days), on, *params_log, *params],
        STAGE_SCHEMA,
    )

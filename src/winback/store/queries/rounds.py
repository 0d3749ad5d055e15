"""Rounds (R5-R7): the planner's inputs, the round's members' outcomes, call lists.

The planner and the monitoring read the same facts for a set of customers: a
:class:`Cohort` (a snapshot's candidates, a round's members) is that set as a subquery, so
each read stays one statement however many customers it covers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import polars as pl
from django.db import connection
from django.db.models import Exists, OuterRef
from django.db.models.fields.json import KT

from winback.analytics.frames import SNAPSHOT
from winback.candidate_frames import CATEGORY_SPEND, COMPLAINTS, CONTACT_HISTORY
from winback.store.customers.models import ContactOutcome
from winback.store.event_roles import is_complaint_sql
from winback.store.frames import placeholders, query_frame
from winback.store.programme.models import CallTask, ContactAttempt, RoundMember, TaskStatus
from winback.store.tables import table, tables


@dataclass(frozen=True)
class Cohort:
    """A set of customers: a subquery giving their ids, with its parameters."""

    sql: str
    params: tuple[Any, ...]


def snapshot_cohort(*, snapshot_as_of: date, statuses: Sequence[str]) -> Cohort:
    """The customers of the snapshot of ``snapshot_as_of`` with one of ``statuses``."""
    return Cohort(
        f"SELECT s.customer_id FROM {tables().snapshot} s "
        f"WHERE s.as_of = %s AND s.status IN ({placeholders(statuses)})",
        (snapshot_as_of, *statuses),
    )


def round_cohort(*, round_id: int) -> Cohort:
    """The members of a round (treated and control)."""
    return Cohort(
        f"SELECT m.customer_id FROM {tables().round_member} m WHERE m.round_id = %s", (round_id,)
    )


def customers_cohort(*, customer_ids: Sequence[int]) -> Cohort:
    """These customers (a task's customer, when its plan is worked out again)."""
    return Cohort(
        f"SELECT c.id FROM {tables().customer} c WHERE c.id IN ({placeholders(customer_ids)})",
        tuple(customer_ids),
    )


# --- the planner's inputs -----------------------------------------------------------------------

SNAPSHOT_SCHEMA: dict[str, pl.DataType] = {
    column: SNAPSHOT[column]
    for column in (
        "customer_pk",
        "stage",
        "status",
        "tier",
        "clv_365",
        "expected_interval_days",
        "days_since_last",
        "customer_type",
        "p_alive",
        "churn_score",
        "value_index",
        "expected_purchases_365",
        "abc_class",
    )
}


def snapshot_rows(*, snapshot_as_of: date, statuses: Sequence[str]) -> pl.DataFrame:
    """The scores the planner reads of the snapshot's customers with one of ``statuses``."""
    cols = ", ".join(f"s.{c}" for c in list(SNAPSHOT_SCHEMA)[1:])
    return query_frame(
        f"SELECT s.customer_id, {cols} FROM {tables().snapshot} s "
        f"WHERE s.as_of = %s AND s.status IN ({placeholders(statuses)})",
        [snapshot_as_of, *statuses],
        SNAPSHOT_SCHEMA,
    )


def cohort_snapshot_rows(*, snapshot_as_of: date, cohort: Cohort) -> pl.DataFrame:
    """The scores the planner reads, of the cohort's customers in the snapshot of
    ``snapshot_as_of`` (whatever their status)."""
    cols = ", ".join(f"s.{c}" for c in list(SNAPSHOT_SCHEMA)[1:])
    return query_frame(
        f"SELECT s.customer_id, {cols} FROM {tables().snapshot} s "
        f"WHERE s.as_of = %s AND s.customer_id IN ({cohort.sql})",
        [snapshot_as_of, *cohort.params],
        SNAPSHOT_SCHEMA,
    )


def contact_flags(*, cohort: Cohort) -> pl.DataFrame:
    """Do-not-contact (the customer's flag, or a do-not-contact answer anywhere in the contact
    log), marketing consent and whether a phone number / e-mail address is on file, of the
    cohort's customers."""
    t = tables()
    return query_frame(
        f"SELECT c.id, c.do_not_contact OR EXISTS (SELECT 1 FROM {t.contact_log} l "
        "WHERE l.customer_id = c.id AND l.outcome = %s), c.consent_marketing, "
        "c.phone <> '', c.email <> '' "
        f"FROM {t.customer} c WHERE c.id IN ({cohort.sql})",
        [ContactOutcome.DO_NOT_CONTACT.value, *cohort.params],
        {
            "customer_pk": pl.Int64(),
            "do_not_contact": pl.Boolean(),
            "consent_marketing": pl.Boolean(),
            "has_phone": pl.Boolean(),
            "has_email": pl.Boolean(),
        },
    )


def contact_details(*, cohort: Cohort) -> pl.DataFrame:
    """What the customer record alone says of the cohort's customers: business id, the
    record's do-not-contact flag, marketing consent and whether a phone number / e-mail
    address is on file (:func:`contact_flags` without the contact log; the data lake holds no
    phone or e-mail, so a planner reading the lake takes these from here)."""
    return query_frame(
        "SELECT c.id, c.external_id, c.do_not_contact, c.consent_marketing, "
        "c.phone <> '', c.email <> '' "
        f"FROM {tables().customer} c WHERE c.id IN ({cohort.sql})",
        list(cohort.params),
        {
            "customer_pk": pl.Int64(),
            "external_id": pl.String(),
            "do_not_contact": pl.Boolean(),
            "consent_marketing": pl.Boolean(),
            "has_phone": pl.Boolean(),
            "has_email": pl.Boolean(),
        },
    )


def contact_history(*, cohort: Cohort, until: date, recent_from: date) -> pl.DataFrame:
    """The cohort's contacts up to ``until``: all from ``recent_from`` on, older ones only when
    they carry a leave reason (``reason_code`` is "" when none)."""
    return query_frame(
        "SELECT l.customer_id, l.occurred_date, l.channel, l.outcome, l.direction, "
        f"l.reason_code FROM {tables().contact_log} l "
        f"WHERE l.customer_id IN ({cohort.sql}) AND l.occurred_date <= %s "
        "AND (l.occurred_date >= %s OR l.reason_code <> '')",
        [*cohort.params, until, recent_from],
        CONTACT_HISTORY,
    )


def complaints(*, cohort: Cohort, until: date, time_zone: str) -> pl.DataFrame:
    """The cohort's complaints made on or before ``until``, with their resolution:
    ``resolved_date`` is the business-local day of the resolution (``time_zone``), the day the
    analysis reads (:mod:`winback.store.extract`)."""
    from winback.store.extract import Dialect

    # The fragment is written for ADBC; a Django cursor reads "%" as a placeholder's start.
    resolved_at = Dialect(connection.vendor).epoch_seconds("e.resolved_at").replace("%", "%%")
    frame = query_frame(
        f"SELECT e.customer_id, e.occurred_date, e.resolved, {resolved_at} "
        f"FROM {tables().event} e "
        f"WHERE {is_complaint_sql('e.event_type')} AND e.occurred_date <= %s "
        f"AND e.customer_id IN ({cohort.sql})",
        [until, *cohort.params],
        # resolved_date as read: the resolution's epoch seconds, made a local day below
        {**COMPLAINTS, "resolved_date": pl.Int64()},
    )
    local_day = (
        pl.from_epoch(pl.col("resolved_date"), time_unit="s")
        .dt.replace_time_zone("UTC")
        .dt.convert_time_zone(time_zone)
        .dt.date()
    )
    return frame.with_columns(local_day.alias("resolved_date"))


def memberships(*, cohort: Cohort) -> pl.DataFrame:
    """Every round membership of the cohort's customers, with the round's window."""
    t = tables()
    return query_frame(
        "SELECT m.customer_id, m.round_id, r.round_start, r.round_end, m.arm, m.returned "
        f"FROM {t.round_member} m JOIN {t.round} r ON r.id = m.round_id "
        f"WHERE m.customer_id IN ({cohort.sql})",
        list(cohort.params),
        {
            "customer_pk": pl.Int64(),
            "round_id": pl.String(),
            "starts": pl.Date(),
            "ends": pl.Date(),
            "arm": pl.String(),
            "returned": pl.Boolean(),
        },
    )


def category_spend(*, cohort: Cohort, after: date, until: date) -> pl.DataFrame:
    """Spend per customer and category on orders dated after ``after`` up to ``until``. A
    line without its own category counts in its product's, as in the analysis
    (:func:`winback.store.extract.order_lines_sql`)."""
    t = tables()
    return query_frame(
        "SELECT o.customer_id, c.code, SUM(l.amount_cents), MAX(c.replenishment_days) "
        f"FROM {t.order_line} l JOIN {t.order} o ON o.id = l.order_id "
        f"JOIN {t.category} c ON c.id = COALESCE(l.category_id, (SELECT p.category_id "
        f"FROM {t.product} p WHERE p.id = l.product_id)) "
        f"WHERE o.order_date > %s AND o.order_date <= %s AND o.customer_id IN ({cohort.sql}) "
        "GROUP BY o.customer_id, c.code",
        [after, until, *cohort.params],
        CATEGORY_SPEND,
    )


# --- a round's outcomes -------------------------------------------------------------------------


def round_arms(*, round_id: int) -> pl.DataFrame:
    """The round's members with their arm, stratum fields and how they were selected."""
    return query_frame(
        f"SELECT m.customer_id, m.arm, m.tier, m.stage, m.selected_by "
        f"FROM {tables().round_member} m WHERE m.round_id = %s",
        [round_id],
        {
            "customer_pk": pl.Int64(),
            "arm": pl.String(),
            "tier": pl.Int64(),
            "stage": pl.String(),
            "selected_by": pl.String(),
        },
    )


def orders_between(*, cohort: Cohort, start: date, end: date) -> pl.DataFrame:
    """The cohort's orders dated from ``start`` to ``end`` (``coupon_code`` "" when none)."""
    return query_frame(
        "SELECT o.customer_id, o.order_date, o.amount_cents, o.coupon_code "
        f"FROM {tables().order} o "
        f"WHERE o.order_date >= %s AND o.order_date <= %s AND o.customer_id IN ({cohort.sql})",
        [start, end, *cohort.params],
        {
            "customer_pk": pl.Int64(),
            "order_date": pl.Date(),
            "amount_cents": pl.Int64(),
            "coupon_code": pl.String(),
        },
    )


def pre_period(*, cohort: Cohort, start: date, end: date) -> pl.DataFrame:
    """Each cohort member's net spend (currency units) and visits (days with a purchase) from
    ``start`` to ``end``: the pre-period covariates of a round's comparison. One row per
    member, zeros for members without orders."""
    t = tables()
    return query_frame(
        "SELECT m.customer_id, COALESCE(SUM(o.amount_cents), 0), "
        "COUNT(DISTINCT CASE WHEN o.amount_cents > 0 THEN o.order_date END) "
        f"FROM ({cohort.sql}) m LEFT JOIN {t.order} o ON o.customer_id = m.customer_id "
        "AND o.order_date >= %s AND o.order_date <= %s "
        "GROUP BY m.customer_id",
        [*cohort.params, start, end],
        {"customer_pk": pl.Int64(), "pre_spend_cents": pl.Int64(), "pre_visits": pl.Int64()},
    ).select(
        "customer_pk",
        pre_spend=pl.col("pre_spend_cents").cast(pl.Float64) / 100.0,
        pre_visits=pl.col("pre_visits").cast(pl.Float64),
    )


def fill_pre_period(*, round_id: int, start: date, end: date) -> int:
    """Store the pre-period covariates (:func:`pre_period`, from ``start`` to ``end``) on the
    round's members that have none yet, in one set-based statement; returns the members
    filled. The planner calls it once the members are written, so the board and the reports
    read them instead of summing the members' orders on every look."""
    t = tables()
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {t.round_member} SET pre_spend_cents = p.spend, pre_visits = p.visits "
            "FROM (SELECT m.customer_id AS customer_id, "
            "COALESCE(SUM(o.amount_cents), 0) AS spend, "
            "COUNT(DISTINCT CASE WHEN o.amount_cents > 0 THEN o.order_date END) AS visits "
            f"FROM {t.round_member} m LEFT JOIN {t.order} o ON o.customer_id = m.customer_id "
            "AND o.order_date >= %s AND o.order_date <= %s "
            "WHERE m.round_id = %s AND m.pre_spend_cents IS NULL GROUP BY m.customer_id) p "
            f"WHERE {t.round_member}.round_id = %s "
            f"AND {t.round_member}.customer_id = p.customer_id",
            [start, end, round_id, round_id],
        )
        return int(cursor.rowcount)


def refill_pre_periods(*, first: date, last: date, days: int) -> int:
    """Orders dated ``first`` to ``last`` were written (an import, late data): the stored
    pre-period figures of every round whose ``days``-day pre-period overlaps those dates are
    computed again, one set-based statement per such round. Returns the rounds refilled."""
    t = tables()
    with connection.cursor() as cursor:
        # pre-period [start - days, start - 1] overlaps [first, last]
        cursor.execute(
            f"SELECT r.id, r.round_start FROM {t.round} r WHERE r.round_start > %s "
            "AND r.round_start <= %s",
            [first, last + timedelta(days=days)],
        )
        rounds = cursor.fetchall()
        for round_id, _start in rounds:
            cursor.execute(
                f"UPDATE {t.round_member} SET pre_spend_cents = NULL, pre_visits = NULL "
                "WHERE round_id = %s",
                [round_id],
            )
    for round_id, start in rounds:
        start = start if isinstance(start, date) else date.fromisoformat(str(start))
        fill_pre_period(
            round_id=round_id, start=start - timedelta(days=days), end=start - timedelta(days=1)
        )
    return len(rounds)


def stored_pre_period(*, round_id: int, start: date, end: date) -> pl.DataFrame:
    """:func:`pre_period` of the round's members as stored at planning (one read of the
    members); members without stored figures (added by hand to a round planned before they
    were stored) are computed from their orders, not saved: a read never writes."""
    frame = query_frame(
        f"SELECT m.customer_id, m.pre_spend_cents, m.pre_visits FROM {tables().round_member} m "
        "WHERE m.round_id = %s",
        [round_id],
        {"customer_pk": pl.Int64(), "pre_spend_cents": pl.Int64(), "pre_visits": pl.Int64()},
    )
    stored = frame.filter(pl.col("pre_spend_cents").is_not_null()).select(
        "customer_pk",
        pre_spend=pl.col("pre_spend_cents").cast(pl.Float64) / 100.0,
        pre_visits=pl.col("pre_visits").cast(pl.Float64),
    )
    if stored.height == frame.height:
        return stored
    missing = Cohort(
        f"SELECT m.customer_id FROM {tables().round_member} m "
        "WHERE m.round_id = %s AND m.pre_spend_cents IS NULL",
        (round_id,),
    )
    return pl.concat([stored, pre_period(cohort=missing, start=start, end=end)])


def order_categories_between(*, cohort: Cohort, start: date, end: date) -> pl.DataFrame:
    """The category of each line of the cohort's orders dated from ``start`` to ``end``."""
    t = tables()
    return query_frame(
        f"SELECT o.customer_id, o.order_date, c.code FROM {t.order_line} l "
        f"JOIN {t.order} o ON o.id = l.order_id JOIN {t.category} c "
        "ON c.id = l.category_id "
        f"WHERE o.order_date >= %s AND o.order_date <= %s AND o.customer_id IN ({cohort.sql})",
        [start, end, *cohort.params],
        {"customer_pk": pl.Int64(), "order_date": pl.Date(), "category_code": pl.String()},
    )


def events_between(*, cohort: Cohort, start: date, end: date) -> pl.DataFrame:
    """The cohort's engagement events dated from ``start`` to ``end``."""
    return query_frame(
        f"SELECT e.customer_id, e.occurred_date, e.event_type FROM {tables().event} e "
        "WHERE e.occurred_date >= %s AND e.occurred_date <= %s "
        f"AND e.customer_id IN ({cohort.sql})",
        [start, end, *cohort.params],
        {"customer_pk": pl.Int64(), "occurred_date": pl.Date(), "event_type": pl.String()},
    )


def round_contacts(*, round_id: int, until: date) -> pl.DataFrame:
    """The round's contact attempts up to ``until``, with the call's minutes when logged."""
    t = tables()
    return query_frame(
        "SELECT t.customer_id, a.occurred_date, l.duration_seconds / 60.0 "
        f"FROM {t.contact_attempt} a JOIN {t.call_task} t ON t.id = a.task_id "
        f"LEFT JOIN {t.contact_log} l ON l.id = a.contact_log_id "
        "WHERE t.round_id = %s AND a.occurred_date <= %s",
        [round_id, until],
        {"customer_pk": pl.Int64(), "occurred_date": pl.Date(), "minutes": pl.Float64()},
    )


# --- call lists ---------------------------------------------------------------------------------


def open_tasks(*, round_id: int) -> pl.DataFrame:
    """The round's open call tasks with the customer, the agent and the member's plan."""
    t = tables()
    return query_frame(
        "SELECT t.id, t.customer_id, c.external_id, c.name, c.phone, t.agent_id, u.username, "
        "t.planned_date, t.next_due, m.priority_rank, m.tier, m.stage, m.channel, "
        "t.reason_code, t.attempts, t.version, c.do_not_contact, c.consent_marketing "
        f"FROM {t.call_task} t JOIN {t.customer} c ON c.id = t.customer_id "
        f"JOIN {t.round_member} m ON m.round_id = t.round_id AND m.customer_id = t.customer_id "
        f"LEFT JOIN {t.user} u ON u.id = t.agent_id "
        "WHERE t.round_id = %s AND t.status = %s",
        [round_id, TaskStatus.OPEN.value],
        {
            "task_id": pl.Int64(),
            "customer_pk": pl.Int64(),
            "customer_id": pl.String(),
            "name": pl.String(),
            "phone": pl.String(),
            "agent_id": pl.Int64(),
            "agent": pl.String(),
            "planned_date": pl.Date(),
            "next_due": pl.Date(),
            "priority": pl.Int64(),
            "tier": pl.Int64(),
            "stage": pl.String(),
            "channel": pl.String(),
            "reason_code": pl.String(),
            "attempts": pl.Int64(),
            "version": pl.Int64(),
            "do_not_contact": pl.Boolean(),
            "consent_marketing": pl.Boolean(),
        },
    )


def open_tasks_with_ticket(*, round_id: int, ticket_before: date) -> pl.DataFrame:
    """The round's open call tasks with the member's arm and the customer's average ticket
    (paid orders dated before ``ticket_before``, in currency units; null without one)."""
    t = tables()
    return query_frame(
        "SELECT t.id, t.customer_id, c.external_id, m.arm, t.planned_date, "
        f"(SELECT AVG(o.amount_cents) / 100.0 FROM {t.order} o "
        " WHERE o.customer_id = t.customer_id AND o.amount_cents > 0 "
        " AND o.order_date < %s) "
        f"FROM {t.call_task} t JOIN {t.customer} c ON c.id = t.customer_id "
        f"JOIN {t.round_member} m ON m.round_id = t.round_id AND m.customer_id = t.customer_id "
        "WHERE t.round_id = %s AND t.status = %s",
        [ticket_before, round_id, TaskStatus.OPEN.value],
        {
            "task_id": pl.Int64(),
            "customer_pk": pl.Int64(),
            "external_id": pl.String(),
            "arm": pl.String(),
            "planned_date": pl.Date(),
            "avg_ticket": pl.Float64(),
        },
    )


def open_task_response_inputs(
    *, round_id: int, snapshot_as_of: date | None, start: date, end: date, skip_channel: str
) -> pl.DataFrame:
    """For each open call task of the round: what a simulated customer's response depends on
    at the round's planning snapshot (``days_since_last``, ``expected_interval_days``,
    ``p_alive`` of the snapshot of ``snapshot_as_of``; null without one) and whether the
    customer comes back between ``start`` and ``end`` anyway (``returns_anyway``: a paid order
    in the history, leaving out orders of ``skip_channel``)."""
    t = tables()
    return query_frame(
        "SELECT t.id, s.days_since_last, s.expected_interval_days, s.p_alive, "
        f"EXISTS (SELECT 1 FROM {t.order} o WHERE o.customer_id = t.customer_id "
        " AND o.amount_cents > 0 AND o.order_date >= %s AND o.order_date <= %s "
        " AND o.channel <> %s) "
        f"FROM {t.call_task} t LEFT JOIN {t.snapshot} s "
        " ON s.customer_id = t.customer_id AND s.as_of = %s "
        "WHERE t.round_id = %s AND t.status = %s",
        [start, end, skip_channel, snapshot_as_of, round_id, TaskStatus.OPEN.value],
        {
            "task_id": pl.Int64(),
            "days_since_last": pl.Int64(),
            "expected_interval_days": pl.Float64(),
            "p_alive": pl.Float64(),
            "returns_anyway": pl.Boolean(),
        },
    )


# --- offers presented ---------------------------------------------------------------------------

PRESENTED_SCHEMA: dict[str, pl.DataType] = {
    "round_id": pl.Int64(),
    "customer_pk": pl.Int64(),
    "tier": pl.Int64(),
    "reason_code": pl.String(),
    "offer_code": pl.String(),
}


def presented_offers(*, round_ids: Sequence[int]) -> pl.DataFrame:
    """The offer presented to each treated member of these rounds who was reached: the one
    they chose when they chose one, else the menu's first option (what agents present); with
    the member's tier and the reason known at planning (the menu's segment). Three
    statements however many members."""
    ids = list(round_ids)
    reached = ContactAttempt.objects.filter(task_id=OuterRef("pk"), outcome=ContactOutcome.REACHED)
    tasks = pl.DataFrame(
        list(
            CallTask.objects.filter(round_id__in=ids)
            .annotate(first=KT("offer_menu__0__offer_code"), reached=Exists(reached))
            .filter(reached=True)
            .order_by()
            .values_list("round_id", "customer_id", "offer_code", "first")
        ),
        schema={
            "round_id": pl.Int64(),
            "customer_pk": pl.Int64(),
            "chosen": pl.String(),
            "first": pl.String(),
        },
        orient="row",
    )
    members = pl.DataFrame(
        list(
            RoundMember.objects.filter(round_id__in=ids, arm="treated")
            .order_by()
            .values_list("round_id", "customer_id", "tier", "reason_code")
        ),
        schema={
            "round_id": pl.Int64(),
            "customer_pk": pl.Int64(),
            "tier": pl.Int64(),
            "reason_code": pl.String(),
        },
        orient="row",
    )
    empty = pl.lit(None, dtype=pl.String)
    return (
        members.join(tasks, on=["round_id", "customer_pk"], how="inner")
        .with_columns(
            offer_code=pl.coalesce(
                pl.when(pl.col("chosen") != "").then("chosen").otherwise(empty),
                pl.when(pl.col("first") != "").then("first").otherwise(empty),
            ),
            reason_code=pl.when(pl.col("reason_code") != "").then("reason_code").otherwise(empty),
        )
        .filter(pl.col("offer_code").is_not_null())
        .select(list(PRESENTED_SCHEMA))
        .cast(PRESENTED_SCHEMA)  # type: ignore[arg-type]
    )


def outcome_versions(*, round_ids: Sequence[int]) -> dict[int, str]:
    """Per round, a text that changes whenever anything its measurement reads may have changed:
    its call tasks (offers chosen, statuses: count and last update), its contact attempts
    (count and newest), and, for every round alike, the newest order, order line, event and
    contact log, the last import, the business settings, the newest round and the members'
    return flags. A cached result of a closed round is reused while its text is the same.
    One statement whatever the number of rounds."""
    from winback.store.analysis.models import BusinessSettings
    from winback.store.imports.models import ImportBatch

    if not round_ids:
        return {}
    t = tables()
    ids = list(round_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT r.id, (SELECT MAX(id) FROM {t.order}), (SELECT MAX(id) FROM {t.order_line}), "
            f"(SELECT MAX(id) FROM {t.event}), (SELECT MAX(id) FROM {t.contact_log}), "
            f"(SELECT MAX(finished_at) FROM {table(ImportBatch)}), "
            f"(SELECT MAX(updated_at) FROM {table(BusinessSettings)}), "
            f"(SELECT MAX(id) FROM {t.round}), "
            f"(SELECT COUNT(returned) FROM {t.round_member}), "
            f"(SELECT COUNT(*) FROM {t.round_member} WHERE returned), "
            f"(SELECT COUNT(*) FROM {t.call_task} k WHERE k.round_id = r.id), "
            f"(SELECT MAX(k.updated_at) FROM {t.call_task} k WHERE k.round_id = r.id), "
            f"(SELECT COUNT(*) FROM {t.contact_attempt} a JOIN {t.call_task} k "
            "ON k.id = a.task_id WHERE k.round_id = r.id), "
            f"(SELECT MAX(a.id) FROM {t.contact_attempt} a JOIN {t.call_task} k "
            "ON k.id = a.task_id WHERE k.round_id = r.id) "
            f"FROM {t.round} r WHERE r.id IN ({placeholders(ids)})",
            ids,
        )
        rows = cursor.fetchall()
    return {int(row[0]): "|".join(str(v) for v in row[1:]) for row in rows}

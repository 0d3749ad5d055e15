"""Care plans for the living base (R10): what is due for whom, read from the store.

The rules are in :mod:`winback.programme.care`; this module only gathers the frames (the
latest analysis snapshot on or before the date, the customers' flags and birthdays, the
contact log), lets the contact gate (:mod:`winback.app.contacts.gate`) drop whom it stops,
and hands them over. The living base is every customer who has bought and is not
lost; the lost belong to the win-back rounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from winback.app.care import rules
from winback.app.contacts import gate
from winback.programme import care
from winback.store.queries import care as care_store
from winback.store.queries.care import CUSTOMER_SCHEMA

# Contacts older than this cannot make any cadence current (the longest default is a year).
HISTORY_DAYS = 400


@dataclass(frozen=True)
class CarePlan:
    as_of: date
    snapshot_as_of: date | None
    contacts_due: pl.DataFrame  # external_id, abc_class, task, last_date, due_date, overdue_days
    greetings: pl.DataFrame  # external_id, occasion, due_date
    day_list: pl.DataFrame  # external_id, task, due_date, quadrant, position, on_list


def latest_snapshot_date(as_of: date) -> date | None:
    from winback.app.analysis.selectors import latest_analysis

    run = latest_analysis(on_or_before=as_of)
    return run.as_of if run else None


def due_frames(
    as_of: date, *, days: int
) -> tuple[date | None, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """``(snapshot_as_of, customers, contacts_due, greetings)`` by database key, under the
    care rules in force, for the customers the contact gate lets through on ``as_of``."""
    snapshot = latest_snapshot_date(as_of)
    if snapshot is None:
        customers = pl.DataFrame(schema=CUSTOMER_SCHEMA)
    else:
        customers = care_store.customers_for_care(snapshot_as_of=snapshot)
        # Care calls, visits and greetings are marketing: only whom the contact gate lets
        # through is due (control groups, the global holdout, complaints and caps included,
        # not only the flags).
        customers = gate.allowed_only(customers, on=as_of)
    contacts = care_store.contacts_between(after=as_of - timedelta(days=HISTORY_DAYS), until=as_of)
    cadences = rules.current_cadences()
    due = care.due_care_contacts(
        customers, contacts, as_of=as_of, horizon_days=days, cadences=cadences
    )
    greetings = care.greetings_due(
        customers, rules.current_calendar(), as_of=as_of, days=days, cadences=cadences
    )
    return snapshot, customers, due, greetings


def care_plan(as_of: date, *, days: int = 7, capacity: int = 40) -> CarePlan:
    """Care contacts and greetings due within ``days`` of ``as_of``, and one day's list."""
    snapshot, customers, due, greetings = due_frames(as_of, days=days)
    tasks = pl.concat(
        [
            due.select("customer_pk", "task", "due_date"),
            greetings.select("customer_pk", task=pl.lit("greeting"), due_date="due_date"),
        ]
    ).join(
        customers.select("customer_pk", "abc_class", "tier", "early_warning", value="clv_365"),
        on="customer_pk",
        how="left",
    )
    day = care.day_list(tasks, as_of=as_of, capacity=capacity)
    ids = customers.select("customer_pk", "external_id")
    return CarePlan(
        as_of,
        snapshot,
        _with_ids(due, ids),
        _with_ids(greetings, ids),
        _with_ids(
            day.select("customer_pk", "task", "due_date", "quadrant", "position", "on_list"), ids
        ),
    )


def _with_ids(frame: pl.DataFrame, ids: pl.DataFrame) -> pl.DataFrame:
    """The business's own customer id in place of the database key."""
    joined = frame.join(ids, on="customer_pk", how="left")
    return joined.select("external_id", *[c for c in frame.columns if c != "customer_pk"])

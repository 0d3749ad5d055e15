"""Care plans (R10): the living base of a snapshot and the recent contact log."""

from __future__ import annotations

from datetime import date

import polars as pl

from winback.store.frames import query_frame
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

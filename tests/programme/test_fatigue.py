"""Contact frequency caps and allowed hours (R6, R13)."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from winback.programme.fatigue import (
    ContactHours,
    contact_counts,
    outside_allowed_hours,
    over_contact_cap,
)
from winback.programme.playbooks import Playbooks

AS_OF = date(2024, 5, 31)


def _contacts(rows: list[tuple[int, int, str]]) -> pl.DataFrame:
    """(customer, days before as_of, direction)."""
    return pl.DataFrame(
        {
            "customer_pk": [c for c, _, _ in rows],
            "occurred_date": [AS_OF - timedelta(days=d) for _, d, _ in rows],
            "channel": ["phone"] * len(rows),
            "direction": [d for _, _, d in rows],
            "outcome": ["reached"] * len(rows),
        },
        schema_overrides={"customer_pk": pl.Int64(), "occurred_date": pl.Date()},
    )


def test_counts_cover_the_last_w_days_outbound_only_and_ignore_the_future() -> None:
    contacts = _contacts(
        [
            (1, 0, "outbound"),
            (1, 29, "outbound"),
            (1, 30, "outbound"),
            (1, 3, "inbound"),
            (1, -1, "outbound"),
            (2, 59, "outbound"),
        ]
    )
    counts = contact_counts(contacts, AS_OF, (30, 60)).sort("customer_pk")
    assert counts.rows() == [(1, 2, 3), (2, 0, 1)]


def test_over_cap_uses_the_business_cap_and_the_stage_cap() -> None:
    playbooks = Playbooks.default()  # sleeping: 2 per 60 days; silent: 3 per 30 days
    customers = pl.DataFrame(
        {"customer_pk": [1, 2, 3, 4], "stage": ["silent", "sleeping", "silent", "lost"]}
    )
    contacts = _contacts(
        [
            (1, 1, "outbound"),
            (1, 2, "outbound"),  # 2 in 30 days: fine for silent
            (2, 40, "outbound"),
            (2, 50, "outbound"),  # 2 in 60 days: sleeping cap reached
            (3, 1, "outbound"),
            (3, 2, "outbound"),
            (3, 3, "outbound"),
            (3, 4, "outbound"),
            (4, 80, "outbound"),
        ]  # lost: 1 of 2 in 90 days
    )
    out = over_contact_cap(
        customers, contacts, AS_OF, max_contacts=4, window_days=30, playbooks=playbooks
    ).sort("customer_pk")
    assert out["over_cap"].to_list() == [False, True, True, False]
    assert out["stage_contacts"].to_list() == [2, 2, 4, 1]


def test_allowed_hours_are_judged_in_the_customer_local_time() -> None:
    hours = ContactHours()  # phone 9-20 local, planned 10:00 Beijing (UTC+8)
    frame = pl.DataFrame(
        {
            "channel": ["phone", "phone", "phone", "email", "fax"],
            "offset": [480, 360, -300, -300, 480],
        }
    )
    out = frame.select(outside_allowed_hours(pl.col("channel"), pl.col("offset"), hours))
    # 10:00 in Beijing is 08:00 at UTC+6 (too early), 21:00 at UTC-5 (too late); e-mail
    # may arrive any time; an unknown channel is never "allowed".
    assert out.to_series().to_list() == [False, True, True, False, True]


def test_contact_hours_reject_impossible_windows() -> None:
    with pytest.raises(ValueError, match="allowed hours"):
        ContactHours(allowed={"phone": (20, 9)}, planned={})

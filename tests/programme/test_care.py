"""Care plans: cadences, greetings, the four-quadrant day list (R10)."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from winback.programme.care import (
    HolidayCalendar,
    day_list,
    due_birthdays,
    due_care_contacts,
    due_holidays,
    greetings_due,
    load_cadences,
)


def _customers() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_pk": [1, 2, 3, 4, 5, 6],
            "abc_class": ["A", "B", "C", "A", "E", "A"],
            "birthday": [
                date(1990, 6, 3),
                date(1988, 2, 29),
                date(1975, 12, 30),
                date(2000, 6, 1),
                None,
                date(1990, 6, 2),
            ],
            "do_not_contact": [False, False, False, True, False, False],
            "consent_marketing": [True, True, True, True, True, False],
        }
    )


def test_birthdays_in_the_next_days_with_leap_day_and_year_end() -> None:
    out = due_birthdays(_customers(), as_of=date(2024, 6, 1), days=7)
    # Customer 4 is do-not-contact, 6 gave no consent.
    assert out.select("customer_pk", "days_until").rows() == [(1, 2)]
    leap = due_birthdays(_customers(), as_of=date(2025, 2, 25), days=7)
    assert leap.select("customer_pk", "next_birthday").rows() == [(2, date(2025, 2, 28))]
    wrap = due_birthdays(_customers(), as_of=date(2024, 12, 28), days=7)
    assert wrap.select("customer_pk", "next_birthday").rows() == [(3, date(2024, 12, 30))]


def test_holiday_calendar() -> None:
    cal = HolidayCalendar.default()
    assert due_holidays(cal, as_of=date(2025, 1, 25), days=7).rows() == [
        ("spring_festival", date(2025, 1, 29), 4)
    ]
    oct_2025 = cal.occurrences(date(2025, 9, 28), date(2025, 10, 10))
    assert oct_2025 == [("national_day", date(2025, 10, 1)), ("mid_autumn", date(2025, 10, 6))]
    assert cal.occurrences(date(2026, 11, 1), date(2026, 11, 30)) == [
        ("singles_day", date(2026, 11, 11))
    ]
    # Lunar holidays are computed, not listed: no year in the table's range is missing.
    assert cal.missing_years([2027, 2028, 2050]) == {}
    assert set(cal.missing_years([2100])) == {
        "spring_festival",
        "lantern_festival",
        "dragon_boat",
        "qixi",
        "mid_autumn",
        "double_ninth",
    }
    with pytest.raises(ValueError, match="month_day, lunar or dates"):
        HolidayCalendar.from_dict([{"code": "x", "zh": "x", "en": "x"}])


def test_greetings_go_to_the_classes_that_get_them() -> None:
    out = greetings_due(_customers(), HolidayCalendar.default(), as_of=date(2024, 6, 1), days=10)
    rows = set(out.select("customer_pk", "occasion").rows())
    # Dragon Boat on 10 June 2024: classes A-C (1, 2, 3); E (5) gets none; 4 and 6 excluded.
    assert rows == {(1, "birthday"), (1, "dragon_boat"), (2, "dragon_boat"), (3, "dragon_boat")}


def test_class_cadences() -> None:
    contacts = pl.DataFrame(
        {
            "customer_pk": [1, 1, 2, 3],
            "occurred_date": [
                date(2024, 5, 20),
                date(2024, 3, 1),
                date(2024, 5, 10),
                date(2024, 1, 1),
            ],
            "channel": ["phone", "visit", "wechat", "phone"],
            "outcome": "reached",
        }
    )
    out = due_care_contacts(_customers(), contacts, as_of=date(2024, 6, 1))
    rows = {(r["customer_pk"], r["task"]): r for r in out.iter_rows(named=True)}
    # A: call every 14 days (last 20 May -> 3 June, not yet), visit every 30 (1 March: overdue)
    assert (1, "call") not in rows
    assert rows[(1, "visit")]["due_date"] == date(2024, 3, 31)
    assert rows[(1, "visit")]["overdue_days"] == 62
    assert (2, "call") not in rows  # B: every 30 days from 10 May -> 9 June
    assert rows[(2, "visit")]["last_date"] is None  # never visited: due now
    assert rows[(3, "call")]["due_date"] == date(2024, 3, 1)  # C: every 60 days
    assert not any(pk in (4, 5, 6) for pk, _ in rows)  # dnc, class E, no consent
    ahead = due_care_contacts(_customers(), contacts, as_of=date(2024, 6, 1), horizon_days=2)
    assert (1, "call") in set(ahead.select("customer_pk", "task").rows())
    with pytest.raises(ValueError, match="one cadence per class"):
        load_cadences([{"abc_class": "Z", "call_days": 3}])


def test_day_list_orders_by_quadrant_and_cuts_at_capacity() -> None:
    as_of = date(2024, 6, 3)
    tasks = pl.DataFrame(
        {
            "customer_pk": [1, 2, 3, 4, 5],
            "task": ["call"] * 5,
            "due_date": [date(2024, 6, 20), as_of, date(2024, 6, 1), date(2024, 6, 30), as_of],
            "abc_class": ["D", "A", "B", "E", "E"],
            "tier": [1, 3, 3, 5, 5],
            "value": [10.0, 5.0, 7.0, 1.0, 2.0],
        }
    )
    out = day_list(tasks, as_of=as_of, capacity=3)
    assert out.select("customer_pk", "quadrant").rows() == [(3, 1), (2, 1), (1, 2), (5, 3), (4, 4)]
    assert out["on_list"].to_list() == [True, True, True, False, False]

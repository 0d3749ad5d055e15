"""Month arithmetic: properties over any date, and the awkward cases spelled out."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from winback import periods

# Keep clear of date.min/date.max so a shift of a few years stays representable.
days = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))
shifts = st.integers(min_value=-600, max_value=600)


@given(days)
def test_month_start_and_end_enclose_the_day(day: date) -> None:
    start, end = periods.month_bounds(day)
    assert start.day == 1
    assert start <= day <= end
    assert (start.year, start.month) == (end.year, end.month) == (day.year, day.month)
    assert end.day == calendar.monthrange(day.year, day.month)[1]
    assert (end + timedelta(days=1)).day == 1


@given(days)
def test_previous_month_end_is_the_day_before_the_month(day: date) -> None:
    end = periods.previous_month_end(day)
    assert end + timedelta(days=1) == periods.month_start(day)
    assert end == periods.month_end(end)


@given(days, shifts)
def test_shift_month_round_trips(day: date, months: int) -> None:
    there = periods.shift_month(day, months)
    assert there.day == 1
    assert periods.shift_month(there, -months) == periods.month_start(day)
    # The number of months between is exactly the shift, counted the long way round.
    assert (there.year - day.year) * 12 + (there.month - day.month) == months


@given(days, shifts, shifts)
def test_shift_month_composes(day: date, a: int, b: int) -> None:
    assert periods.shift_month(periods.shift_month(day, a), b) == periods.shift_month(day, a + b)


@given(days, shifts)
def test_add_months_keeps_the_day_or_clamps_to_the_month_end(day: date, months: int) -> None:
    there = periods.add_months(day, months)
    assert periods.month_start(there) == periods.shift_month(day, months)
    length = calendar.monthrange(there.year, there.month)[1]
    assert there.day == min(day.day, length)


@given(days)
def test_labels_round_trip(day: date) -> None:
    label = periods.month_label(day)
    assert len(label) == 7
    assert periods.parse_month(label) == periods.month_start(day)


@given(days, days)
def test_months_between_lists_each_month_once_in_order(a: date, b: date) -> None:
    first, last = min(a, b), max(a, b)
    months = list(periods.months_between(first, last))
    assert months[0] == periods.month_start(first)
    assert months[-1] == periods.month_start(last)
    assert all(periods.shift_month(x, 1) == y for x, y in pairwise(months))


@given(days, st.integers(min_value=0, max_value=60))
def test_months_ending_counts_back_from_the_day(day: date, count: int) -> None:
    months = periods.months_ending(day, count)
    assert len(months) == count
    if count:
        assert months[-1] == periods.month_start(day)
        assert months[0] == periods.shift_month(day, 1 - count)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2024, 3, 31), -1, date(2024, 2, 29)),  # leap year
        (date(2023, 3, 31), -1, date(2023, 2, 28)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2100, 1, 31), 1, date(2100, 2, 28)),  # a century year is not a leap year
        (date(2000, 1, 31), 1, date(2000, 2, 29)),  # but one divisible by 400 is
        (date(2023, 12, 15), 1, date(2024, 1, 15)),  # December -> January
        (date(2024, 1, 15), -1, date(2023, 12, 15)),  # January -> December
        (date(2024, 12, 31), -13, date(2023, 11, 30)),
    ],
)
def test_add_months_cases(day: date, months: int, expected: date) -> None:
    assert periods.add_months(day, months) == expected


def test_december_and_january_boundaries() -> None:
    assert periods.month_end(date(2023, 12, 5)) == date(2023, 12, 31)
    assert periods.shift_month(date(2023, 12, 5), 1) == date(2024, 1, 1)
    assert periods.previous_month_end(date(2024, 1, 1)) == date(2023, 12, 31)
    assert periods.months_ending(date(2024, 2, 10), 3) == [
        date(2023, 12, 1),
        date(2024, 1, 1),
        date(2024, 2, 1),
    ]


@pytest.mark.parametrize("text", ["2024-13", "2024-00", "2024-1", "24-01", "2024/01", "", "x"])
def test_parse_month_refuses_what_is_not_a_month(text: str) -> None:
    with pytest.raises(ValueError, match=r"YYYY-MM|no such month"):
        periods.parse_month(text)

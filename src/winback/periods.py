"""Calendar months: the one place month arithmetic is done (pure: no Django, no clock).

The programme works in calendar months: a round is planned for a month, the report closes a
month, the simulated history spans whole months. Months are handled as their first day
(``date(2024, 2, 1)`` is February 2024) and labelled ``YYYY-MM``. Arithmetic goes through a
month index (``year * 12 + month - 1``) so December/January and leap years need no special
cases.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta

_LABEL = re.compile(r"(\d{4})-(\d{2})")
ONE_DAY = timedelta(days=1)


def _index(day: date) -> int:
    return day.year * 12 + day.month - 1


def _from_index(index: int) -> date:
    year, month0 = divmod(index, 12)
    return date(year, month0 + 1, 1)


def month_start(day: date) -> date:
    """The first day of ``day``'s month."""
    return day.replace(day=1)


def shift_month(day: date, months: int) -> date:
    """The first day of the month ``months`` months after (negative: before) ``day``'s."""
    return _from_index(_index(day) + months)


def month_end(day: date) -> date:
    """The last day of ``day``'s month."""
    return shift_month(day, 1) - ONE_DAY


def month_bounds(day: date) -> tuple[date, date]:
    """First and last day of ``day``'s month."""
    return month_start(day), month_end(day)


def previous_month_end(day: date) -> date:
    """The last day of the month before ``day``'s: the last complete month on ``day``."""
    return month_start(day) - ONE_DAY


def add_months(day: date, months: int) -> date:
    """The same day ``months`` months later (or earlier), clamped to the month's length
    (31 March - 1 month = 29 February in a leap year)."""
    first = shift_month(day, months)
    return min(first + timedelta(days=day.day - 1), month_end(first))


def month_label(day: date) -> str:
    """``YYYY-MM`` of ``day``'s month."""
    return f"{day.year:04d}-{day.month:02d}"


def parse_month(label: str) -> date:
    """The first day of the month labelled ``YYYY-MM``; ValueError for anything else."""
    match = _LABEL.fullmatch(label.strip()) if isinstance(label, str) else None
    if match is None:
        raise ValueError(f"{label!r}: use YYYY-MM")
    year, month = int(match[1]), int(match[2])
    if not 1 <= month <= 12 or year < 1:
        raise ValueError(f"{label!r}: no such month")
    return date(year, month, 1)


def months_between(first: date, last: date) -> Iterator[date]:
    """First days of the months from ``first``'s to ``last``'s, both included, oldest first."""
    for index in range(_index(first), _index(last) + 1):
        yield _from_index(index)


def months_ending(day: date, count: int) -> list[date]:
    """First days of the ``count`` months ending with ``day``'s month, oldest first."""
    if count < 1:
        return []
    return list(months_between(shift_month(day, -(count - 1)), day))

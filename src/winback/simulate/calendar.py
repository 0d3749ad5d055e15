"""The simulated history's calendar: its window and the daily demand intensity.

Days are integers: ``0`` is the first day of the window, ``window.days - 1`` is ``end_date``.
Absolute days (``epoch`` + day) count from 1970-01-01, which is what numpy and Polars use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from winback.periods import previous_month_end, shift_month
from winback.simulate.industries import IndustrySpec

EPOCH = date(1970, 1, 1)

# Chinese New Year (Spring Festival) by Gregorian year; the calendar peak moves every year.
SPRING_FESTIVAL: dict[int, date] = {
    2015: date(2015, 2, 19),
    2016: date(2016, 2, 8),
    2017: date(2017, 1, 28),
    2018: date(2018, 2, 16),
    2019: date(2019, 2, 5),
    2020: date(2020, 1, 25),
    2021: date(2021, 2, 12),
    2022: date(2022, 2, 1),
    2023: date(2023, 1, 22),
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
    2027: date(2027, 2, 6),
    2028: date(2028, 1, 26),
    2029: date(2029, 2, 13),
    2030: date(2030, 2, 3),
    2031: date(2031, 1, 23),
    2032: date(2032, 2, 11),
    2033: date(2033, 1, 31),
    2034: date(2034, 2, 19),
    2035: date(2035, 2, 8),
}


def spring_festival(year: int) -> date:
    """The festival's date; outside the table, early February is close enough for demand."""
    return SPRING_FESTIVAL.get(year, date(year, 2, 1))


def last_day_of_previous_month(today: date) -> date:
    """The natural ``end_date`` for data exported on ``today``: the last complete month."""
    return previous_month_end(today)


@dataclass(frozen=True)
class Window:
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def epoch(self) -> int:
        """Absolute day number (since 1970-01-01) of day 0."""
        return (self.start - EPOCH).days

    def absolute(self, day: npt.NDArray[np.integer]) -> npt.NDArray[np.int64]:
        return day.astype(np.int64) + self.epoch


def window_for(end_date: date, months: int) -> Window:
    """``months`` calendar months ending with ``end_date``'s month (end_date included)."""
    if months < 1:
        raise ValueError("months must be at least 1")
    return Window(shift_month(end_date, -(months - 1)), end_date)


def daily_intensity(window: Window, spec: IndustrySpec) -> npt.NDArray[np.float64]:
    """Relative demand per day of the window, normalised to mean 1.

    Product of a month-of-year factor, a weekday factor, the Spring Festival (three weeks of
    shopping before it, the holiday week itself) and the industry's shopping festivals (618,
    Double 11, ...). Purchases follow a Poisson process whose rate is scaled by this curve.
    """
    absolute = np.arange(window.days, dtype=np.int64) + window.epoch
    as_dates = absolute.astype("datetime64[D]")
    months = as_dates.astype("datetime64[M]")
    month_of_year = (months.astype(np.int64) % 12).astype(np.int64)
    day_of_month = (as_dates - months).astype(np.int64) + 1
    weekday = (absolute + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0

    curve = np.asarray(spec.month_multipliers)[month_of_year]
    curve = curve * np.asarray(spec.weekday_multipliers)[weekday]
    for peak in spec.peaks:
        in_peak = (
            (month_of_year == peak.month - 1)
            & (day_of_month >= peak.day_from)
            & (day_of_month <= peak.day_to)
        )
        curve = np.where(in_peak, curve * peak.multiplier, curve)
    for year in range(window.start.year, window.end.year + 2):
        festival = (spring_festival(year) - EPOCH).days
        before = (absolute >= festival - 21) & (absolute < festival)
        holiday = (absolute >= festival) & (absolute < festival + 7)
        curve = np.where(before, curve * spec.pre_spring_festival, curve)
        curve = np.where(holiday, curve * spec.spring_festival_week, curve)
    normalised: npt.NDArray[np.float64] = curve / curve.mean()
    return normalised

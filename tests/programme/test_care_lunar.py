"""Lunar-calendar holidays are computed for any year, not read from a list that runs out."""

from __future__ import annotations

from datetime import date

import pytest

from winback.programme.care import (
    Holiday,
    HolidayCalendar,
    check_lunar_day,
    due_holidays,
    lunar_to_solar,
)

# Published dates (the holiday itself), checked against the State Council calendars.
SPRING_FESTIVAL = {
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
    2027: date(2027, 2, 6),
    2028: date(2028, 1, 26),
    2030: date(2030, 2, 3),
}
MID_AUTUMN = {2024: date(2024, 9, 17), 2025: date(2025, 10, 6), 2028: date(2028, 10, 3)}
DRAGON_BOAT = {2024: date(2024, 6, 10), 2025: date(2025, 5, 31), 2026: date(2026, 6, 19)}


@pytest.mark.parametrize(("year", "expected"), sorted(SPRING_FESTIVAL.items()))
def test_spring_festival_is_computed_for_every_year(year: int, expected: date) -> None:
    cal = HolidayCalendar.default()
    holiday = cal.get("spring_festival")
    assert holiday is not None
    assert holiday.on(year) == expected


@pytest.mark.parametrize(
    ("code", "year", "expected"),
    [("mid_autumn", y, d) for y, d in MID_AUTUMN.items()]
    + [("dragon_boat", y, d) for y, d in DRAGON_BOAT.items()]
    + [("lantern_festival", 2025, date(2025, 2, 12)), ("qixi", 2024, date(2024, 8, 10))],
)
def test_other_lunar_holidays(code: str, year: int, expected: date) -> None:
    holiday = HolidayCalendar.default().get(code)
    assert holiday is not None
    assert holiday.on(year) == expected


def test_2028_has_a_spring_festival_greeting() -> None:
    """The shipped calendar used to stop at 2027: a 2028 plan had no Spring Festival."""
    due = due_holidays(HolidayCalendar.default(), as_of=date(2028, 1, 20), days=10)
    assert ("spring_festival", date(2028, 1, 26), 6) in due.rows()


def test_new_years_eve_is_the_last_day_of_the_twelfth_month_in_the_next_gregorian_year() -> None:
    eve = Holiday(code="eve", zh="除夕", en="New Year's Eve", lunar=(12, 30))
    # 2026: the twelfth month of lunar 2025 has 29 days, so the eve is day 29.
    assert eve.on(2026) == date(2026, 2, 16)
    assert eve.on(2025) == date(2025, 1, 28)
    assert lunar_to_solar(2099, 1, 1) is None  # past the table: no date, not a wrong one


def test_lunar_and_fixed_dates_are_validated() -> None:
    with pytest.raises(ValueError, match="lunar date"):
        check_lunar_day(13, 1)
    with pytest.raises(ValueError, match="lunar date"):
        HolidayCalendar.from_dict([{"code": "x", "zh": "x", "en": "x", "lunar": [1, 31]}])
    with pytest.raises(ValueError, match="not both"):
        HolidayCalendar.from_dict(
            [{"code": "x", "zh": "x", "en": "x", "lunar": [1, 1], "month_day": [1, 1]}]
        )


def test_switched_off_holidays_are_not_greeted_and_round_trip() -> None:
    data = HolidayCalendar.default().to_dicts()
    for d in data:
        if d["code"] == "spring_festival":
            d["enabled"] = False
    cal = HolidayCalendar.from_dict(data)
    assert cal.occurrences(date(2028, 1, 20), date(2028, 1, 30)) == []
    assert HolidayCalendar.from_dict(cal.to_dicts()) == cal


def test_february_29_holiday_falls_on_28_in_common_years() -> None:
    leap_day = Holiday(code="leap", zh="闰日", en="Leap day", month_day=(2, 29))
    assert leap_day.on(2027) == date(2027, 2, 28)
    assert leap_day.on(2028) == date(2028, 2, 29)

"""Greeting occasions: Chinese holidays as data.

Fixed-date holidays give ``month_day``; lunar-calendar holidays give their Gregorian date per
year (from the published calendar) and must be extended each year - :meth:`HolidayCalendar.
missing_years` lists what is missing. Dates are the holiday itself, not the days off.
"""

from __future__ import annotations

from typing import Any

HOLIDAYS: list[dict[str, Any]] = [
    {
        "code": "spring_festival",
        "zh": "春节",
        "en": "Spring Festival",
        "dates": {
            "2024": "2024-02-10",
            "2025": "2025-01-29",
            "2026": "2026-02-17",
            "2027": "2027-02-06",
        },
    },
    {
        "code": "lantern_festival",
        "zh": "元宵节",
        "en": "Lantern Festival",
        "dates": {
            "2024": "2024-02-24",
            "2025": "2025-02-12",
            "2026": "2026-03-03",
            "2027": "2027-02-20",
        },
    },
    {"code": "womens_day", "zh": "妇女节", "en": "Women's Day", "month_day": [3, 8]},
    {
        "code": "dragon_boat",
        "zh": "端午节",
        "en": "Dragon Boat Festival",
        "dates": {
            "2024": "2024-06-10",
            "2025": "2025-05-31",
            "2026": "2026-06-19",
            "2027": "2027-06-09",
        },
    },
    {
        "code": "qixi",
        "zh": "七夕",
        "en": "Qixi Festival",
        "dates": {
            "2024": "2024-08-10",
            "2025": "2025-08-29",
            "2026": "2026-08-19",
            "2027": "2027-08-08",
        },
    },
    {
        "code": "mid_autumn",
        "zh": "中秋节",
        "en": "Mid-Autumn Festival",
        "dates": {
            "2024": "2024-09-17",
            "2025": "2025-10-06",
            "2026": "2026-09-25",
            "2027": "2027-09-15",
        },
    },
    {"code": "national_day", "zh": "国庆节", "en": "National Day", "month_day": [10, 1]},
    {"code": "singles_day", "zh": "双十一", "en": "Double Eleven", "month_day": [11, 11]},
]

# Contact cadence per class (A-E, by business done with us): days between visits and calls
# (null = none), and whether holiday greetings go out (birthdays go to every class).
CADENCES: list[dict[str, Any]] = [
    {"abc_class": "A", "visit_days": 30, "call_days": 14, "holiday_greetings": True},
    {"abc_class": "B", "visit_days": 90, "call_days": 30, "holiday_greetings": True},
    {"abc_class": "C", "visit_days": None, "call_days": 60, "holiday_greetings": True},
    {"abc_class": "D", "visit_days": None, "call_days": 120, "holiday_greetings": False},
    {"abc_class": "E", "visit_days": None, "call_days": None, "holiday_greetings": False},
]

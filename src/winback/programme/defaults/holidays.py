"""Greeting occasions: Chinese holidays as data.

Fixed-date holidays give ``month_day`` (Gregorian); lunar-calendar holidays give ``lunar``
(lunar month and day), and their Gregorian date is computed for any year 1900-2099
(:meth:`winback.programme.care.Holiday.on`). Dates are the holiday itself, not the days off.
The business can switch holidays off and add its own in the care settings.
"""

from __future__ import annotations

from typing import Any

HOLIDAYS: list[dict[str, Any]] = [
    {"code": "spring_festival", "zh": "春节", "en": "Spring Festival", "lunar": [1, 1]},
    {"code": "lantern_festival", "zh": "元宵节", "en": "Lantern Festival", "lunar": [1, 15]},
    {"code": "womens_day", "zh": "妇女节", "en": "Women's Day", "month_day": [3, 8]},
    {"code": "dragon_boat", "zh": "端午节", "en": "Dragon Boat Festival", "lunar": [5, 5]},
    {"code": "qixi", "zh": "七夕", "en": "Qixi Festival", "lunar": [7, 7]},
    {"code": "mid_autumn", "zh": "中秋节", "en": "Mid-Autumn Festival", "lunar": [8, 15]},
    {"code": "double_ninth", "zh": "重阳节", "en": "Double Ninth Festival", "lunar": [9, 9]},
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

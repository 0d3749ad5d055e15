"""Care plans for the living base (R10): class cadences, greetings and an agent's day list.

* **Cadence** - each class (A-E, by business done with us) has a visit and a call cadence;
  a customer is due when the last contact of that kind is older than the cadence (or there
  was none).
* **Greetings** - birthdays within the next days (29 February is greeted on 28 February in
  common years) and holidays from a configurable calendar of Chinese holidays (春节, 元宵,
  妇女节, 端午, 七夕, 中秋, 重阳, 国庆, 双十一). Lunar holidays are given by lunar month and
  day and their Gregorian date is computed for any year 1900-2099 (:func:`lunar_to_solar`).
* **Day list** - tasks are sorted into the four quadrants important x urgent (Covey,
  *The 7 Habits of Highly Effective People*, 1989): important & urgent first, then important
  & not urgent (the quadrant that prevents churn), then urgent & unimportant, then the rest,
  and cut at the agent's daily capacity.

Do-not-contact customers get nothing; customers without marketing consent get no greeting and
no care call (a care call can turn into selling, so the safe reading applies).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import polars as pl

from winback.programme.defaults.holidays import CADENCES, HOLIDAYS
from winback.programme.frames import CARE_CUSTOMERS, CARE_TASKS, CONTACT_HISTORY
from winback.vocabulary import Channel

CLASSES = ("A", "B", "C", "D", "E")
# Contacts on these channels count as a care call (a visit counts as a visit).
CALL_CHANNELS = tuple(c.value for c in (Channel.PHONE, Channel.WECHAT, Channel.SMS, Channel.EMAIL))


@dataclass(frozen=True)
class ClassCadence:
    abc_class: str
    visit_days: int | None
    call_days: int | None
    holiday_greetings: bool


# A cadence longer than this is a typo (a date that far ahead cannot be planned either).
MAX_CADENCE_DAYS = 3650


def default_cadences() -> tuple[ClassCadence, ...]:
    return load_cadences(CADENCES)


def load_cadences(data: Sequence[Mapping[str, Any]]) -> tuple[ClassCadence, ...]:
    out = tuple(
        ClassCadence(
            abc_class=str(d["abc_class"]),
            visit_days=None if d.get("visit_days") is None else int(d["visit_days"]),
            call_days=None if d.get("call_days") is None else int(d["call_days"]),
            holiday_greetings=bool(d.get("holiday_greetings", False)),
        )
        for d in data
    )
    classes = [c.abc_class for c in out]
    if len(set(classes)) != len(classes) or not set(classes) <= set(CLASSES):
        raise ValueError(f"one cadence per class among {CLASSES}")
    if any(
        v is not None and not 1 <= v <= MAX_CADENCE_DAYS
        for c in out
        for v in (c.visit_days, c.call_days)
    ):
        raise ValueError(f"cadences are at least one day and at most {MAX_CADENCE_DAYS} days")
    return out


# The lunar calendar is computed for these Gregorian years (the range of its table).
LUNAR_YEARS = (1900, 2099)


def lunar_to_solar(year: int, month: int, day: int) -> date | None:
    """The Gregorian date of lunar ``month``/``day`` in the lunar year that starts in ``year``
    (None outside 1900-2099). A day 30 in a month of 29 days falls on the month's last day,
    so "the last day of the twelfth month" (除夕) is always found."""
    from lunardate import LunarDate  # pure-Python table of the Chinese calendar, 1900-2099

    if not LUNAR_YEARS[0] <= year <= LUNAR_YEARS[1] - 1:
        return None
    for d in range(day, max(day - 2, 0), -1):
        try:
            solar: date = LunarDate(year, month, d).to_solar_date()
        except ValueError:
            continue
        return solar
    return None


@dataclass(frozen=True)
class Holiday:
    code: str
    zh: str
    en: str
    month_day: tuple[int, int] | None = None  # fixed Gregorian date
    lunar: tuple[int, int] | None = None  # lunar month and day, computed for any year
    dates: Mapping[int, date] = field(default_factory=dict)  # year -> date (explicit override)
    enabled: bool = True

    def on(self, year: int) -> date | None:
        """The holiday's Gregorian date in ``year`` (None if it has none that year)."""
        if year in self.dates:
            return self.dates[year]
        if self.month_day is not None:
            month, day = self.month_day
            if (month, day) == (2, 29) and not _leap(year):
                day = 28
            return date(year, month, day)
        if self.lunar is not None:
            # A date late in the twelfth lunar month falls in the next Gregorian year.
            for lunar_year in (year, year - 1):
                found = lunar_to_solar(lunar_year, *self.lunar)
                if found is not None and found.year == year:
                    return found
        return None

    def label(self, lang: str) -> str:
        return self.zh if lang.startswith("zh") else self.en

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "zh": self.zh, "en": self.en}
        if self.month_day is not None:
            out["month_day"] = list(self.month_day)
        if self.lunar is not None:
            out["lunar"] = list(self.lunar)
        if self.dates:
            out["dates"] = {str(y): d.isoformat() for y, d in self.dates.items()}
        if not self.enabled:
            out["enabled"] = False
        return out


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def check_lunar_day(month: int, day: int) -> None:
    """Lunar months are 1-12 and have 29 or 30 days."""
    if not (1 <= month <= 12 and 1 <= day <= 30):
        raise ValueError("a lunar date is month 1-12, day 1-30")


@dataclass(frozen=True)
class HolidayCalendar:
    holidays: tuple[Holiday, ...]

    def __post_init__(self) -> None:
        codes = [h.code for h in self.holidays]
        if len(set(codes)) != len(codes):
            raise ValueError("duplicate holiday codes")
        for h in self.holidays:
            if h.month_day is None and h.lunar is None and not h.dates:
                raise ValueError(f"holiday {h.code!r} needs month_day, lunar or dates per year")
            if h.month_day is not None and h.lunar is not None:
                raise ValueError(f"holiday {h.code!r} is either Gregorian or lunar, not both")
            if h.month_day is not None:
                date(2024, *h.month_day)  # raises on an impossible day (leap year allows 2-29)
            if h.lunar is not None:
                check_lunar_day(*h.lunar)

    @classmethod
    def default(cls) -> HolidayCalendar:
        return cls.from_dict(HOLIDAYS)

    @classmethod
    def from_dict(cls, data: Sequence[Mapping[str, Any]]) -> HolidayCalendar:
        holidays = []
        for d in data:
            md = d.get("month_day")
            lunar = d.get("lunar")
            holidays.append(
                Holiday(
                    code=str(d["code"]),
                    zh=str(d["zh"]),
                    en=str(d["en"]),
                    month_day=None if md is None else (int(md[0]), int(md[1])),
                    lunar=None if lunar is None else (int(lunar[0]), int(lunar[1])),
                    dates={
                        int(y): date.fromisoformat(str(v)) for y, v in d.get("dates", {}).items()
                    },
                    enabled=bool(d.get("enabled", True)),
                )
            )
        return cls(tuple(holidays))

    @classmethod
    def from_json(cls, text: str) -> HolidayCalendar:
        return cls.from_dict(json.loads(text))

    def to_dicts(self) -> list[dict[str, Any]]:
        return [h.to_dict() for h in self.holidays]

    def get(self, code: str) -> Holiday | None:
        return next((h for h in self.holidays if h.code == code), None)

    def occurrences(self, start: date, end: date) -> list[tuple[str, date]]:
        """``(code, date)`` of every enabled holiday in [start, end], by date."""
        found = [
            (h.code, d)
            for h in self.holidays
            if h.enabled
            for year in range(start.year, end.year + 1)
            if (d := h.on(year)) is not None and start <= d <= end
        ]
        return sorted(found, key=lambda x: (x[1], x[0]))

    def missing_years(self, years: Sequence[int]) -> dict[str, list[int]]:
        """Holidays without a date in some of ``years`` (lunar ones outside 1900-2099)."""
        out: dict[str, list[int]] = {}
        for h in self.holidays:
            gaps = [y for y in years if h.on(y) is None]
            if gaps:
                out[h.code] = gaps
        return out


def _contactable(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.filter(~pl.col("do_not_contact").fill_null(True) & pl.col("consent_marketing"))


def due_care_contacts(
    customers: pl.DataFrame,
    contacts: pl.DataFrame,
    *,
    as_of: date,
    horizon_days: int = 0,
    cadences: Sequence[ClassCadence] | None = None,
) -> pl.DataFrame:
    """Visits and calls due by ``as_of + horizon_days`` under the class cadences.

    Returns ``customer_pk``, ``abc_class``, ``task`` ("visit" | "call"), ``last_date`` (null:
    never), ``due_date`` (``as_of`` when never contacted) and ``overdue_days``.
    """
    cust = _contactable(CARE_CUSTOMERS.conform(customers))
    history = CONTACT_HISTORY.conform(contacts).filter(
        (pl.col("occurred_date") <= as_of) & (pl.col("direction") == "outbound")
    )
    last = (
        history.with_columns(
            task=pl.when(pl.col("channel") == "visit")
            .then(pl.lit("visit"))
            .when(pl.col("channel").is_in(CALL_CHANNELS))
            .then(pl.lit("call"))
        )
        .group_by("customer_pk", "task")
        .agg(last_date=pl.col("occurred_date").max())
    )
    cad = pl.DataFrame(
        [
            {"abc_class": c.abc_class, "task": task, "every": days}
            for c in (cadences or default_cadences())
            for task, days in (("visit", c.visit_days), ("call", c.call_days))
            if days is not None
        ],
        schema={"abc_class": pl.String(), "task": pl.String(), "every": pl.Int64()},
    )
    due = (
        cust.select("customer_pk", "abc_class")
        .join(cad, on="abc_class", how="inner")
        .join(last, on=["customer_pk", "task"], how="left")
        .with_columns(
            due_date=pl.coalesce(
                pl.col("last_date") + pl.duration(days=pl.col("every")), pl.lit(as_of)
            ).cast(pl.Date)
        )
        .filter(pl.col("due_date") <= as_of + timedelta(days=horizon_days))
        .with_columns(overdue_days=(pl.lit(as_of) - pl.col("due_date")).dt.total_days())
    )
    return due.select(
        "customer_pk", "abc_class", "task", "last_date", "due_date", "overdue_days"
    ).sort(["due_date", "customer_pk", "task"])


def due_birthdays(customers: pl.DataFrame, *, as_of: date, days: int = 7) -> pl.DataFrame:
    """Customers whose next birthday falls in [as_of, as_of + days].

    Returns ``customer_pk``, ``birthday``, ``next_birthday`` and ``days_until``.
    """
    cust = _contactable(CARE_CUSTOMERS.conform(customers)).filter(pl.col("birthday").is_not_null())
    this_year = _birthday_in(as_of.year)
    next_year = _birthday_in(as_of.year + 1)
    upcoming = (
        cust.with_columns(
            next_birthday=pl.when(this_year >= pl.lit(as_of)).then(this_year).otherwise(next_year)
        )
        .with_columns(days_until=(pl.col("next_birthday") - pl.lit(as_of)).dt.total_days())
        .filter(pl.col("days_until") <= days)
    )
    return upcoming.select("customer_pk", "birthday", "next_birthday", "days_until").sort(
        ["next_birthday", "customer_pk"]
    )


def _birthday_in(year: int) -> pl.Expr:
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    month = pl.col("birthday").dt.month()
    day = pl.col("birthday").dt.day()
    if not leap:
        day = pl.when((month == 2) & (day == 29)).then(28).otherwise(day)
    return pl.date(year, month, day)


def due_holidays(calendar: HolidayCalendar, *, as_of: date, days: int = 7) -> pl.DataFrame:
    """Holidays in [as_of, as_of + days]: ``holiday``, ``date``, ``days_until``."""
    occ = calendar.occurrences(as_of, as_of + timedelta(days=days))
    return pl.DataFrame(
        {
            "holiday": [c for c, _ in occ],
            "date": [d for _, d in occ],
            "days_until": [(d - as_of).days for _, d in occ],
        },
        schema={"holiday": pl.String(), "date": pl.Date(), "days_until": pl.Int64()},
    )


def greetings_due(
    customers: pl.DataFrame,
    calendar: HolidayCalendar,
    *,
    as_of: date,
    days: int = 7,
    cadences: Sequence[ClassCadence] | None = None,
) -> pl.DataFrame:
    """Every greeting to send: ``customer_pk``, ``occasion`` ("birthday" or a holiday code),
    ``due_date``. Holiday greetings go to the classes whose cadence asks for them."""
    birthdays = due_birthdays(customers, as_of=as_of, days=days).select(
        "customer_pk", occasion=pl.lit("birthday"), due_date="next_birthday"
    )
    greeted = [c.abc_class for c in (cadences or default_cadences()) if c.holiday_greetings]
    holidays = due_holidays(calendar, as_of=as_of, days=days)
    cust = _contactable(CARE_CUSTOMERS.conform(customers)).filter(
        pl.col("abc_class").is_in(greeted)
    )
    holiday_rows = cust.select("customer_pk").join(
        holidays.select(occasion="holiday", due_date="date"), how="cross"
    )
    return pl.concat([birthdays, holiday_rows]).sort(["due_date", "customer_pk", "occasion"])


def day_list(
    tasks: pl.DataFrame, *, as_of: date, capacity: int, urgent_days: int = 1
) -> pl.DataFrame:
    """An agent's day: tasks in quadrant order, cut at ``capacity``.

    ``tasks`` follows :data:`winback.programme.frames.CARE_TASKS`. Important: the given flag,
    else class A or B, tier 1-2 or an early warning. Urgent: due within ``urgent_days`` (or
    overdue). Adds ``important``, ``urgent``, ``quadrant`` (1-4), ``position`` and
    ``on_list`` (false: carried over to a later day).
    """
    frame = CARE_TASKS.conform(tasks)
    derived = (
        pl.col("abc_class").is_in(["A", "B"]).fill_null(False)
        | (pl.col("tier") <= 2).fill_null(False)
        | pl.col("early_warning").fill_null(False)
    )
    important = pl.coalesce(pl.col("important"), derived)
    urgent = pl.col("due_date") <= as_of + timedelta(days=urgent_days)
    quadrant = (
        pl.when(important & urgent)
        .then(1)
        .when(important)
        .then(2)
        .when(urgent)
        .then(3)
        .otherwise(4)
        .cast(pl.Int64)
    )
    ordered = frame.with_columns(important=important, urgent=urgent, quadrant=quadrant).sort(
        ["quadrant", "due_date", "value", "customer_pk", "task"],
        descending=[False, False, True, False, False],
    )
    return ordered.with_columns(
        position=pl.int_range(1, pl.len() + 1, dtype=pl.Int64),
    ).with_columns(on_list=pl.col("position") <= capacity)


def assign_days(tasks: pl.DataFrame, free: pl.DataFrame, days: Sequence[date]) -> pl.DataFrame:
    """Place care tasks on days and agents within each agent's free capacity.

    ``tasks``: ``key``, ``earliest`` (the first day it may be worked), ``latest`` (the last,
    null: any), ``quadrant`` and ``value``. ``free``: ``agent_id``, ``day``, ``free`` (tasks
    the agent can still take that day). Day by day, the tasks that may be worked that day
    are taken in quadrant order (then the earliest due, the most valuable) and dealt round
    the agents, each up to their free capacity; what does not fit waits for the next day,
    and a task past its ``latest`` day is not placed. Returns ``key``, ``agent_id``,
    ``planned_date`` of the placed tasks. The loop is over days, never over tasks.
    """
    out_schema = {"key": pl.Int64(), "agent_id": pl.Int64(), "planned_date": pl.Date()}
    pending = tasks.select(
        pl.col("key").cast(pl.Int64),
        pl.col("earliest").cast(pl.Date),
        pl.col("latest").cast(pl.Date),
        pl.col("quadrant").cast(pl.Int64),
        pl.col("value").cast(pl.Float64).fill_null(0.0),
    ).sort(["quadrant", "earliest", "value", "key"], descending=[False, False, True, False])
    capacity = free.select(
        pl.col("agent_id").cast(pl.Int64),
        pl.col("day").cast(pl.Date),
        pl.col("free").cast(pl.Int64).clip(lower_bound=0),
    )
    placed: list[pl.DataFrame] = [pl.DataFrame(schema=out_schema)]
    for day in days:
        slots = (
            capacity.filter((pl.col("day") == day) & (pl.col("free") > 0))
            .select("agent_id", slot=pl.int_ranges(0, pl.col("free")))
            .explode("slot")
            .sort(["slot", "agent_id"])
            .with_row_index("rank")
        )
        if slots.is_empty():
            continue
        pool = (
            pending.filter(
                (pl.col("earliest") <= day)
                & (pl.col("latest").is_null() | (pl.col("latest") >= day))
            )
            .head(slots.height)
            .with_row_index("rank")
        )
        got = pool.join(slots, on="rank").select(
            "key", "agent_id", planned_date=pl.lit(day, dtype=pl.Date)
        )
        placed.append(got)
        pending = pending.join(got.select("key"), on="key", how="anti")
    return pl.concat(placed)

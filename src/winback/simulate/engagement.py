"""Engagement beyond purchases (R1 streams 2-7, plus complaints).

Every stream is a Poisson count per customer, scaled by the customer's engagement propensity
(which rises with value and loyalty) and by how long the customer was around: a leaver's
community activity fades within a month of the last purchase. Complaints follow the leave
reason: someone leaving over attitude or quality usually complained shortly before, and that
complaint is often still unresolved. Survey scores drop in the half year before leaving.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from winback.schema import EVENT_TYPES
from winback.simulate import vocab
from winback.simulate.industries import IndustrySpec
from winback.simulate.population import BoolArray, FloatArray, IntArray, Population
from winback.simulate.purchases import ALIVE, minutes_of_day
from winback.simulate.reasons import (
    OUR_FAULT_SERVICE,
    TRUE_REASONS,
    complaint_probability,
    reason_flags,
)

EVENT_CODES: tuple[str, ...] = tuple(code for code, _ in EVENT_TYPES)
KIND = {code: i for i, code in enumerate(EVENT_CODES)}
# Acts per year at engagement 1 (the population mean).
STREAM_RATES: dict[str, float] = {
    "forum_post": 0.25,
    "forum_reply": 0.6,
    "qa_answer": 0.12,
    "event_attendance": 0.4,
    "suggestion": 0.08,
}
SURVEYS_PER_YEAR = 0.6
EVERYDAY_COMPLAINTS_PER_YEAR = 0.06
FADE_DAYS = 30  # community activity continues this long after the last purchase
EVENT_HOURS = (0, 0, 0, 0, 0, 0, 0, 1, 2, 4, 5, 5, 4, 4, 5, 5, 5, 4, 4, 5, 6, 6, 4, 2)
COMPLAINT_REASON = {reason: i for i, (_, reason) in enumerate(vocab.COMPLAINT_CATEGORIES)}
NOT_SET = -1


@dataclass(frozen=True)
class Events:
    customer: IntArray
    kind: IntArray  # index into EVENT_CODES
    day: IntArray
    minute: IntArray
    referred: IntArray  # customer index
    referred_bought: IntArray  # 0 / 1
    campaign_day: IntArray  # day of the campaign attended (its code comes from the month)
    survey_day: IntArray  # first day of the survey wave answered
    score: IntArray  # 0..10
    adopted: IntArray  # 0 / 1
    complaint_category: IntArray  # index into vocab.COMPLAINT_CATEGORIES
    resolved: IntArray  # 0 / 1
    resolved_day: IntArray
    resolved_minute: IntArray
    text: IntArray  # index into the stream's phrase list
    # every integer column uses NOT_SET (-1) where the field does not apply

    @property
    def size(self) -> int:
        return int(self.customer.size)


def _events(customer: IntArray, kind: int, day: IntArray, **columns: IntArray) -> Events:
    size = customer.size
    values: dict[str, IntArray] = {}
    for f in fields(Events):
        if f.name in ("customer", "kind", "day", "minute"):
            continue
        values[f.name] = columns.get(f.name, np.full(size, NOT_SET, dtype=np.int64))
    return Events(
        customer=customer,
        kind=np.full(size, kind, dtype=np.int64),
        day=day,
        minute=np.zeros(size, dtype=np.int64),
        **values,
    )


def concat_events(parts: list[Events]) -> Events:
    return Events(
        **{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Events)}
    )


@dataclass(frozen=True)
class Activity:
    """When each customer can take part: from joining until shortly after leaving."""

    first_day: IntArray
    last_day: IntArray
    weight: FloatArray  # engagement propensity, zero for customers outside the export

    @property
    def years(self) -> FloatArray:
        return (self.last_day - self.first_day + 1) / 365.25


def activity(people: Population, dropout_day: IntArray, days: int) -> Activity:
    last = np.where(dropout_day == ALIVE, days - 1, np.minimum(dropout_day + FADE_DAYS, days - 1))
    weight = people.engagement * np.where(people.prospect, 0.3, 1.0)
    return Activity(people.join_day, last, np.where(people.walk_in, 0.0, weight))


def _uniform_days(
    rng: np.random.Generator, first: IntArray, last: IntArray, owner: IntArray
) -> IntArray:
    span = last[owner] - first[owner] + 1
    return first[owner] + (rng.random(owner.size) * span).astype(np.int64)


def _stream_owners(rng: np.random.Generator, expected: FloatArray) -> IntArray:
    return np.repeat(np.arange(expected.size), rng.poisson(expected))


def monthly_days(days: int, epoch: int, weekday: int, nth: int) -> IntArray:
    """Window days that are the ``nth`` given weekday (Monday = 0) of their month."""
    absolute = np.arange(days, dtype=np.int64) + epoch
    as_dates = absolute.astype("datetime64[D]")
    day_of_month = (as_dates - as_dates.astype("datetime64[M]")).astype(np.int64)
    matches = ((absolute + 3) % 7 == weekday) & (day_of_month // 7 == nth - 1)
    return np.flatnonzero(matches)


def _snap_forward(day: IntArray, schedule: IntArray, last: IntArray) -> tuple[IntArray, BoolArray]:
    """Move each day to the next scheduled day; False where none falls before ``last``."""
    position = np.searchsorted(schedule, day)
    inside = position < schedule.size
    snapped = np.where(inside, schedule[np.minimum(position, schedule.size - 1)], -1)
    return snapped, inside & (snapped <= last)


def referrals(
    rng: np.random.Generator, people: Population, act: Activity
) -> tuple[Events, IntArray]:
    """Who referred each referred customer: an earlier customer, likelier when engaged and
    valuable, still active when the friend joined. Returns the events and the referrer per
    customer (-1 when none)."""
    weight = act.weight * np.sqrt(people.value) * ~people.prospect
    cumulative = np.cumsum(weight)
    referred = np.flatnonzero(people.referred & ~people.walk_in)
    earlier = np.searchsorted(people.join_day, people.join_day[referred], side="left")
    referrer = np.full(referred.size, -1, dtype=np.int64)
    for _ in range(3):  # a few redraws when the drawn referrer had already left
        todo = np.flatnonzero((referrer < 0) & (earlier > 0))
        reach = cumulative[earlier[todo] - 1]
        todo, reach = todo[reach > 0], reach[reach > 0]
        draw = np.searchsorted(cumulative, rng.random(todo.size) * reach, side="right")
        draw = np.minimum(draw, earlier[todo] - 1)
        still_active = act.last_day[draw] >= people.join_day[referred[todo]]
        referrer[todo[still_active]] = draw[still_active]
    found = referrer >= 0
    friend, by = referred[found], referrer[found]
    delay = rng.integers(0, 15, friend.size)
    day = np.maximum(people.join_day[friend] - delay, people.join_day[by])
    events = _events(
        by,
        KIND["referral"],
        day,
        referred=friend,
        referred_bought=(~people.prospect[friend]).astype(np.int64),
    )
    referrer_of = np.full(people.size, -1, dtype=np.int64)
    referrer_of[friend] = by
    return events, referrer_of


def community(
    rng: np.random.Generator,
    spec: IndustrySpec,
    act: Activity,
    people: Population,
    days: int,
    epoch: int,
) -> list[Events]:
    """Forum posts and replies, answers to other customers, event attendance, suggestions."""
    campaign_weekday = 3 if spec.company_customers else 5  # Thursday seminars, Saturday events
    campaigns = monthly_days(days, epoch, campaign_weekday, 2)
    phrases = {
        "forum_post": len(vocab.FORUM_POSTS),
        "forum_reply": len(vocab.FORUM_REPLIES),
        "qa_answer": len(vocab.QA_ANSWERS),
        "suggestion": len(vocab.SUGGESTIONS),
    }
    parts: list[Events] = []
    for code, rate in STREAM_RATES.items():
        factor = spec.engagement_factors.get(code, 1.0)
        owner = _stream_owners(rng, rate * factor * act.weight * act.years)
        day = _uniform_days(rng, act.first_day, act.last_day, owner)
        extra: dict[str, IntArray] = {}
        if code == "event_attendance":
            day, keep = _snap_forward(day, campaigns, act.last_day[owner])
            owner, day = owner[keep], day[keep]
            extra["campaign_day"] = day
        if code == "suggestion":
            chance = 0.15 + 0.15 * people.value_pct[owner]
            extra["adopted"] = (rng.random(owner.size) < chance).astype(np.int64)
        if code in phrases:
            extra["text"] = rng.integers(0, phrases[code], owner.size)
        parts.append(_events(owner, KIND[code], day, **extra))
    return parts


def surveys(
    rng: np.random.Generator,
    spec: IndustrySpec,
    act: Activity,
    people: Population,
    dropout_day: IntArray,
    reason: IntArray,
    days: int,
    epoch: int,
) -> Events:
    """Quarterly satisfaction / NPS waves (0-10). Scores follow satisfaction and fall in the
    half year before a customer leaves, most for those leaving over the service."""
    waves = _quarter_starts(days, epoch)
    factor = spec.engagement_factors.get("survey_response", 1.0)
    expected = SURVEYS_PER_YEAR * factor * np.sqrt(act.weight) * act.years
    owner = _stream_owners(rng, expected)
    day = _uniform_days(rng, act.first_day, act.last_day, owner)
    wave, keep = _snap_forward(day, waves, act.last_day[owner])
    owner, wave = owner[keep], wave[keep]
    key = np.unique(owner * days + wave)  # one answer per customer and wave
    owner, wave = key // days, key % days
    answered = np.minimum(wave + rng.integers(0, 10, owner.size), act.last_day[owner])

    leaving = dropout_day[owner] != ALIVE
    near_exit = leaving & (answered >= dropout_day[owner] - 180)
    service = reason_flags(reason[owner], OUR_FAULT_SERVICE)
    penalty = np.where(near_exit, np.where(service, 3.0, 1.5), 0.0)
    raw = 3.0 + 6.5 * people.satisfaction[owner] + rng.normal(0.0, 1.3, owner.size) - penalty
    score = np.clip(np.rint(raw), 0, 10).astype(np.int64)
    return _events(owner, KIND["survey_response"], answered, survey_day=wave, score=score)


def _quarter_starts(days: int, epoch: int) -> IntArray:
    absolute = np.arange(days, dtype=np.int64) + epoch
    as_dates = absolute.astype("datetime64[D]")
    months = as_dates.astype("datetime64[M]")
    first_of_month = as_dates == months.astype("datetime64[D]")
    quarter_month = months.astype(np.int64) % 3 == 0
    return np.flatnonzero(first_of_month & quarter_month)


def complaints(
    rng: np.random.Generator,
    act: Activity,
    people: Population,
    dropout_day: IntArray,
    reason: IntArray,
    days: int,
) -> Events:
    """Everyday complaints (rarer among satisfied customers, mostly resolved) and complaints
    shortly before leaving (by leave reason, often unresolved)."""
    everyday = _stream_owners(
        rng,
        EVERYDAY_COMPLAINTS_PER_YEAR * (1.6 - people.satisfaction) * act.years * (act.weight > 0),
    )
    everyday_day = _uniform_days(rng, act.first_day, act.last_day, everyday)
    everyday_category = rng.integers(0, len(vocab.COMPLAINT_CATEGORIES), everyday.size)

    leaving = (dropout_day != ALIVE) & (act.weight > 0)
    upset = np.flatnonzero(leaving & (rng.random(people.size) < complaint_probability(reason)))
    upset_day = np.clip(
        dropout_day[upset] + rng.integers(-30, 8, upset.size), people.join_day[upset], days - 1
    )
    linked = np.array(
        [COMPLAINT_REASON.get(code, NOT_SET) for code in TRUE_REASONS], dtype=np.int64
    )[reason[upset]]
    random_category = rng.integers(0, len(vocab.COMPLAINT_CATEGORIES), upset.size)
    upset_category = np.where(linked >= 0, linked, random_category)

    owner = np.concatenate([everyday, upset])
    day = np.concatenate([everyday_day, upset_day])
    chance = np.concatenate([np.full(everyday.size, 0.85), np.full(upset.size, 0.35)])
    resolved_day = day + rng.geometric(0.25, owner.size)
    resolved = (rng.random(owner.size) < chance) & (resolved_day <= days - 1)
    return _events(
        owner,
        KIND["complaint"],
        day,
        complaint_category=np.concatenate([everyday_category, upset_category]),
        resolved=resolved.astype(np.int64),
        resolved_day=np.where(resolved, resolved_day, NOT_SET),
        resolved_minute=np.where(resolved, rng.integers(540, 1080, owner.size), NOT_SET),
        text=rng.integers(0, len(vocab.COMPLAINT_TEXTS), owner.size),
    )


def simulate_events(
    rng: np.random.Generator,
    spec: IndustrySpec,
    people: Population,
    dropout_day: IntArray,
    reason: IntArray,
    days: int,
    epoch: int,
) -> tuple[Events, IntArray]:
    """All engagement events in time order, and the referrer of each customer (-1: none)."""
    act = activity(people, dropout_day, days)
    referral_events, referrer_of = referrals(rng, people, act)
    parts = [
        referral_events,
        *community(rng, spec, act, people, days, epoch),
        surveys(rng, spec, act, people, dropout_day, reason, days, epoch),
        complaints(rng, act, people, dropout_day, reason, days),
    ]
    merged = concat_events(parts)
    minute = minutes_of_day(rng, EVENT_HOURS, merged.size)
    order = np.lexsort((minute, merged.day))
    columns = {f.name: getattr(merged, f.name) for f in fields(Events)}
    columns["minute"] = minute
    return Events(**{name: values[order] for name, values in columns.items()}), referrer_of

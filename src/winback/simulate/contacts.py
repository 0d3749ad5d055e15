"""The historic contact log, consent and do-not-contact flags.

Outbound marketing touches (SMS, calls, WeChat, e-mail) go to consenting customers, more to
valuable ones, and keep going after a customer has quietly left (the business cannot see that).
Customers leaving over contact pressure got a burst of calls before leaving and often asked not
to be called again. A few leavers had an earlier, informal win-back call in which the agent
sometimes wrote down a reason; it is the true one only part of the time.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from winback.schema import CONTACT_CHANNELS, CONTACT_OUTCOMES
from winback.simulate import vocab
from winback.simulate.engagement import Activity
from winback.simulate.industries import IndustrySpec
from winback.simulate.population import BoolArray, IntArray, Population
from winback.simulate.purchases import ALIVE, minutes_of_day
from winback.simulate.reasons import CONTACT_PRESSURE, TRUE_REASONS, reason_flags

CHANNEL_CODES: tuple[str, ...] = tuple(code for code, _ in CONTACT_CHANNELS)
OUTCOME_CODES: tuple[str, ...] = tuple(code for code, _ in CONTACT_OUTCOMES)
CHANNEL = {code: i for i, code in enumerate(CHANNEL_CODES)}
OUTCOME = {code: i for i, code in enumerate(OUTCOME_CODES)}
OUTBOUND, INBOUND = 0, 1
NOT_FOUND_REASON = len(TRUE_REASONS)  # index used for the recorded code "not_found"
NOT_SET = -1
CONTACT_HOURS = (0, 0, 0, 0, 0, 0, 0, 0, 0, 6, 8, 7, 3, 2, 7, 8, 7, 6, 3, 2, 1, 0, 0, 0)


@dataclass(frozen=True)
class Consent:
    consent_marketing: BoolArray
    do_not_contact: BoolArray
    dnc_day: IntArray  # NOT_SET when unknown or not flagged
    dnc_source: IntArray  # index into vocab.DNC_SOURCES, NOT_SET when not recorded


def consent_flags(
    rng: np.random.Generator, people: Population, dropout_day: IntArray, reason: IntArray, days: int
) -> Consent:
    n = people.size
    pressured = reason_flags(reason, CONTACT_PRESSURE)
    dnc = (rng.random(n) < 0.025) | (pressured & (rng.random(n) < 0.5))
    dnc &= ~people.walk_in
    anytime = people.join_day + (rng.random(n) * (days - people.join_day)).astype(np.int64)
    near_exit = np.clip(dropout_day + rng.integers(-10, 30, n), people.join_day, days - 1)
    dnc_day = np.where(pressured, near_exit, anytime)
    dated = dnc & (rng.random(n) < 0.8)
    consent = (rng.random(n) < 0.85) & ~dnc
    return Consent(
        consent_marketing=consent,
        do_not_contact=dnc,
        dnc_day=np.where(dated, dnc_day, NOT_SET),
        dnc_source=np.where(dated, rng.integers(0, len(vocab.DNC_SOURCES), n), NOT_SET),
    )


@dataclass(frozen=True)
class Contacts:
    customer: IntArray
    day: IntArray
    minute: IntArray
    channel: IntArray  # index into CHANNEL_CODES
    direction: IntArray  # OUTBOUND / INBOUND
    outcome: IntArray  # index into OUTCOME_CODES
    agent: IntArray  # index into the agent pool
    duration: IntArray  # seconds
    reason: IntArray  # index into TRUE_REASONS, or NOT_FOUND_REASON
    offer: IntArray  # index into vocab.OFFER_CODES
    promised_day: IntArray
    note: IntArray  # index into vocab.CONTACT_NOTES
    # every integer column uses NOT_SET (-1) where the field does not apply

    @property
    def size(self) -> int:
        return int(self.customer.size)


def _contacts(
    customer: IntArray, day: IntArray, channel: IntArray, direction: int, **columns: IntArray
) -> Contacts:
    size = customer.size
    rest = {
        f.name: columns.get(f.name, np.full(size, NOT_SET, dtype=np.int64))
        for f in fields(Contacts)
        if f.name not in ("customer", "day", "channel", "direction")
    }
    return Contacts(
        customer=customer,
        day=day,
        channel=channel,
        direction=np.full(size, direction, dtype=np.int64),
        **rest,
    )


def _pick(rng: np.random.Generator, weights: dict[str, float], size: int) -> IntArray:
    codes = list(weights)
    p = np.array([weights[c] for c in codes])
    index = np.array([CHANNEL[c] for c in codes])
    return index[rng.choice(len(codes), size=size, p=p / p.sum())]


def _outbound_marketing(
    rng: np.random.Generator,
    spec: IndustrySpec,
    people: Population,
    consent: Consent,
    days: int,
) -> Contacts:
    eligible = consent.consent_marketing & ~people.walk_in
    years = (days - people.join_day) / 365.25
    expected = spec.contacts_per_year * (0.4 + people.value_pct) * years * eligible
    owner = np.repeat(np.arange(people.size), rng.poisson(expected))
    day = people.join_day[owner] + (
        rng.random(owner.size) * (days - people.join_day[owner])
    ).astype(np.int64)
    channel = _pick(rng, {"sms": 0.4, "phone": 0.3, "wechat": 0.25, "email": 0.05}, owner.size)
    return _contacts(owner, day, channel, OUTBOUND)


def _inbound_service(rng: np.random.Generator, people: Population, act: Activity) -> Contacts:
    expected = 0.25 * act.years * (act.weight > 0)
    owner = np.repeat(np.arange(people.size), rng.poisson(expected))
    span = act.last_day[owner] - act.first_day[owner] + 1
    day = act.first_day[owner] + (rng.random(owner.size) * span).astype(np.int64)
    channel = _pick(rng, {"phone": 0.5, "wechat": 0.3, "visit": 0.2}, owner.size)
    return _contacts(owner, day, channel, INBOUND)


def _pressure_calls(
    rng: np.random.Generator,
    people: Population,
    dropout_day: IntArray,
    reason: IntArray,
    days: int,
) -> Contacts:
    """The burst of sales calls that drove 'too many calls' leavers away."""
    pressured = reason_flags(reason, CONTACT_PRESSURE) & ~people.walk_in
    owner = np.repeat(np.arange(people.size), np.where(pressured, rng.poisson(5.0), 0))
    day = np.clip(
        dropout_day[owner] + rng.integers(-90, 10, owner.size), people.join_day[owner], days - 1
    )
    channel = np.full(owner.size, CHANNEL["phone"], dtype=np.int64)
    return _contacts(owner, day, channel, OUTBOUND)


def _early_winback_calls(
    rng: np.random.Generator,
    people: Population,
    consent: Consent,
    dropout_day: IntArray,
    reason: IntArray,
    days: int,
) -> Contacts:
    """Informal win-back calls 3-6 months after some leavers' last purchase."""
    candidate = (
        (dropout_day != ALIVE)
        & consent.consent_marketing
        & ~people.walk_in
        & (rng.random(people.size) < 0.15)
    )
    owner = np.flatnonzero(candidate)
    day = dropout_day[owner] + rng.integers(90, 181, owner.size)
    owner, day = owner[day < days], day[day < days]
    channel = np.full(owner.size, CHANNEL["phone"], dtype=np.int64)
    reached = rng.random(owner.size) < people.reachability[owner]
    draw = rng.random(owner.size)
    recorded = np.where(
        draw < 0.6,
        reason[owner],
        np.where(draw < 0.9, NOT_FOUND_REASON, rng.integers(0, len(TRUE_REASONS), owner.size)),
    )
    offered = reached & (rng.random(owner.size) < 0.4)
    promised = offered & (rng.random(owner.size) < 0.5)
    return _contacts(
        owner,
        day,
        channel,
        OUTBOUND,
        outcome=np.where(reached, OUTCOME["reached"], OUTCOME["not_reached"]),
        reason=np.where(reached, recorded, NOT_SET),
        offer=np.where(offered, rng.integers(0, len(vocab.OFFER_CODES), owner.size), NOT_SET),
        promised_day=np.where(promised, day + rng.integers(7, 31, owner.size), NOT_SET),
    )


def _dnc_requests(people: Population, consent: Consent) -> Contacts:
    """The call in which a customer asked not to be contacted again."""
    source = vocab.DNC_SOURCES.index("客户要求")
    owner = np.flatnonzero(consent.dnc_source == source)
    channel = np.full(owner.size, CHANNEL["phone"], dtype=np.int64)
    outcome = np.full(owner.size, OUTCOME["do_not_contact"], dtype=np.int64)
    return _contacts(owner, consent.dnc_day[owner], channel, OUTBOUND, outcome=outcome)


def _outcomes(
    rng: np.random.Generator,
    people: Population,
    merged: Contacts,
    dropout_day: IntArray,
    reason: IntArray,
) -> IntArray:
    """Calls are answered with the customer's reachability (less under contact pressure);
    messages are mostly delivered; inbound contacts always reach someone."""
    size = merged.size
    pressured = reason_flags(reason[merged.customer], CONTACT_PRESSURE) & (
        merged.day >= dropout_day[merged.customer] - 90
    )
    reach = people.reachability[merged.customer] * np.where(pressured, 0.5, 1.0)
    u = rng.random(size)
    v = rng.random(size)
    missed = np.select(
        [v < 0.65, v < 0.80, v < 0.95],
        [OUTCOME["not_reached"], OUTCOME["call_back"], OUTCOME["refused"]],
        OUTCOME["wrong_number"],
    )
    call = np.where(u < reach, OUTCOME["reached"], missed)
    message = np.select(
        [u < 0.93, u < 0.98], [OUTCOME["reached"], OUTCOME["not_reached"]], OUTCOME["wrong_number"]
    )
    is_call = np.isin(merged.channel, [CHANNEL["phone"], CHANNEL["visit"]])
    drawn = np.where(is_call, call, message)
    drawn = np.where(merged.direction == INBOUND, OUTCOME["reached"], drawn)
    return np.where(merged.outcome >= 0, merged.outcome, drawn)


def simulate_contacts(
    rng: np.random.Generator,
    spec: IndustrySpec,
    people: Population,
    act: Activity,
    consent: Consent,
    dropout_day: IntArray,
    reason: IntArray,
    agent_count: int,
    days: int,
) -> Contacts:
    parts = [
        _outbound_marketing(rng, spec, people, consent, days),
        _inbound_service(rng, people, act),
        _pressure_calls(rng, people, dropout_day, reason, days),
        _early_winback_calls(rng, people, consent, dropout_day, reason, days),
        _dnc_requests(people, consent),
    ]
    merged = Contacts(
        **{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Contacts)}
    )
    # No marketing after the customer asked not to be contacted (the request itself stays).
    blocked = (
        consent.do_not_contact[merged.customer]
        & (consent.dnc_day[merged.customer] >= 0)
        & (merged.day > consent.dnc_day[merged.customer])
        & (merged.direction == OUTBOUND)
    )
    keep = np.flatnonzero(~blocked)
    merged = Contacts(**{f.name: getattr(merged, f.name)[keep] for f in fields(Contacts)})
    return _finish(rng, people, merged, dropout_day, reason, agent_count)


def _finish(
    rng: np.random.Generator,
    people: Population,
    merged: Contacts,
    dropout_day: IntArray,
    reason: IntArray,
    agent_count: int,
) -> Contacts:
    size = merged.size
    outcome = _outcomes(rng, people, merged, dropout_day, reason)
    is_phone = merged.channel == CHANNEL["phone"]
    reached_call = is_phone & (outcome == OUTCOME["reached"])
    talk = 30 + rng.gamma(2.0, 90.0, size).astype(np.int64)
    ring = rng.integers(0, 30, size)
    duration = np.where(reached_call, talk, np.where(is_phone, ring, NOT_SET))
    staffed = merged.channel != CHANNEL["sms"]
    staffed &= merged.channel != CHANNEL["email"]
    note = np.where(
        reached_call & (rng.random(size) < 0.3),
        rng.integers(0, len(vocab.CONTACT_NOTES), size),
        NOT_SET,
    )
    minute = minutes_of_day(rng, CONTACT_HOURS, size)
    order = np.lexsort((minute, merged.day))
    columns = {f.name: getattr(merged, f.name) for f in fields(Contacts)}
    columns.update(
        minute=minute,
        outcome=outcome,
        agent=np.where(staffed, rng.integers(0, agent_count, size), NOT_SET),
        duration=duration,
        note=note,
    )
    return Contacts(**{name: values[order] for name, values in columns.items()})

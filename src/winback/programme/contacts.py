"""Contact rules inside a round: cap, sequence, follow-ups, do-not-contact (R5, R6, R13).

* **Cap** - at most ``profile.programme.contacts_per_round`` outbound contacts per customer per
  round (attempts count, reached or not: an unanswered call still disturbs).
* **Sequence** - the first contact that reaches the customer diagnoses the reason (the
  questionnaire); the second applies the reason's playbook; a third happens only when the
  customer asked for it (call back later, or a promised return to check on). A failed second
  contact makes a third one risky: it annoys (seed 000 §4).
* **Follow-ups** - "call back later" -> the date the customer gave (or a few days later);
  a promised return -> a check after the promised date plus a grace period.
* **Do not contact** - a pure state transition with the effects the services must carry out
  at once, everywhere (R13).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import polars as pl

from winback.programme.frames import CONTACT_HISTORY, CUSTOMER_FLAGS, Contract
from winback.programme.reasons import FALLBACK_CODE

STEPS = ("diagnose", "apply_playbook", "follow_up", "stop")
REACHED = ("reached", "call_back")  # outcomes where the customer was actually spoken to
FINAL = ("do_not_contact", "wrong_number", "refused")  # no further contact this round

ROUND_CONTACT_LOG = Contract(
    "round contact log",
    required={"customer_pk": pl.Int64(), "occurred_date": pl.Date(), "outcome": pl.String()},
    optional={
        "direction": (pl.String(), "outbound"),
        "reason_code": (pl.String(), None),
        "callback_date": (pl.Date(), None),
        "promised_return_date": (pl.Date(), None),
    },
)


@dataclass(frozen=True)
class FollowUpRules:
    call_back_days: int = 3  # when the customer asked to be called back without a date
    promise_grace_days: int = 3  # check this long after a promised return date
    second_contact_days: int = 7  # time to prepare the playbook's fix before contact two
    retry_days: int = 1  # after not reaching the customer


def latest_reasons(contacts: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """The last leave reason recorded for each customer on or before ``as_of``.

    Reads the contact history's optional ``reason_code``; returns ``customer_pk``,
    ``reason_code`` (customers without a recorded reason are absent).
    """
    frame = CONTACT_HISTORY.conform(contacts)
    return (
        frame.filter(pl.col("reason_code").is_not_null() & (pl.col("occurred_date") <= as_of))
        .sort(["customer_pk", "occurred_date"])
        .group_by("customer_pk", maintain_order=True)
        .agg(pl.col("reason_code").last())
    )


def next_steps(
    round_log: pl.DataFrame,
    customers: pl.DataFrame,
    *,
    cap: int,
    rules: FollowUpRules = FollowUpRules(),
) -> pl.DataFrame:
    """What to do next with each customer of a round, and when.

    ``round_log`` (``ROUND_CONTACT_LOG``) holds this round's contacts; ``customers`` the round's
    treated customers (``customer_pk``). Returns ``customer_pk``, ``attempts``,
    ``contacts_left``, ``step`` (one of :data:`STEPS`), ``reason_code`` (the one to apply) and
    ``due_date`` (null when the step is ``stop``; null for ``diagnose`` without attempts:
    the plan's date applies).
    """
    if cap < 1:
        raise ValueError("the contact cap per round must be at least 1")
    log = ROUND_CONTACT_LOG.conform(round_log).filter(pl.col("direction") == "outbound")
    summary = (
        log.sort(["customer_pk", "occurred_date"])
        .group_by("customer_pk", maintain_order=True)
        .agg(
            attempts=pl.len().cast(pl.Int64),
            reached=pl.col("outcome").is_in(REACHED).sum().cast(pl.Int64),
            final=pl.col("outcome").is_in(FINAL).any(),
            reason_code=pl.col("reason_code").drop_nulls().last(),
            last_outcome=pl.col("outcome").last(),
            last_date=pl.col("occurred_date").last(),
            callback_date=pl.col("callback_date").drop_nulls().last(),
            promised=pl.col("promised_return_date").drop_nulls().last(),
        )
    )
    base = (
        customers.select(pl.col("customer_pk").cast(pl.Int64))
        .unique()
        .join(summary, on="customer_pk", how="left")
    )
    attempts = pl.col("attempts").fill_null(0)
    reached = pl.col("reached").fill_null(0)
    asked_for_more = (pl.col("last_outcome") == "call_back") | pl.col("promised").is_not_null()
    step = (
        pl.when(pl.col("final").fill_null(False) | (attempts >= cap))
        .then(pl.lit("stop"))
        .when(reached == 0)
        .then(pl.lit("diagnose"))
        .when(reached == 1)
        .then(pl.lit("apply_playbook"))
        .when(asked_for_more)
        .then(pl.lit("follow_up"))
        .otherwise(pl.lit("stop"))
    )
    return (
        base.with_columns(
            attempts=attempts.cast(pl.Int64),
            contacts_left=(cap - attempts).clip(lower_bound=0).cast(pl.Int64),
            step=step,
        )
        .with_columns(
            reason_code=pl.when(pl.col("step") == "apply_playbook")
            .then(pl.col("reason_code").fill_null(FALLBACK_CODE))
            .otherwise(pl.col("reason_code")),
            due_date=_due_date(rules),
        )
        .select("customer_pk", "attempts", "contacts_left", "step", "reason_code", "due_date")
        .sort("customer_pk")
    )


def _due_date(rules: FollowUpRules) -> pl.Expr:
    def after(col: str, days: int) -> pl.Expr:
        return pl.col(col) + pl.duration(days=days)

    callback = pl.coalesce(pl.col("callback_date"), after("last_date", rules.call_back_days))
    return (
        pl.when(pl.col("step") == "stop")
        .then(None)
        .when(pl.col("last_date").is_null())
        .then(None)
        .when(pl.col("last_outcome") == "call_back")
        .then(callback)
        .when(pl.col("promised").is_not_null())
        .then(after("promised", rules.promise_grace_days))
        .when(pl.col("last_outcome") == "not_reached")
        .then(after("last_date", rules.retry_days))
        .otherwise(after("last_date", rules.second_contact_days))
        .cast(pl.Date)
    )


def follow_up_date(
    outcome: str,
    occurred: date,
    *,
    callback_date: date | None = None,
    promised_return_date: date | None = None,
    rules: FollowUpRules = FollowUpRules(),
) -> date | None:
    """The follow-up date after one contact (the single-contact form of :func:`next_steps`)."""
    frame = pl.DataFrame(
        {
            "customer_pk": [0],
            "occurred_date": [occurred],
            "outcome": [outcome],
            "callback_date": [callback_date],
            "promised_return_date": [promised_return_date],
        },
        schema={
            "customer_pk": pl.Int64(),
            "occurred_date": pl.Date(),
            "outcome": pl.String(),
            "callback_date": pl.Date(),
            "promised_return_date": pl.Date(),
        },
    )
    result = next_steps(frame, frame.select("customer_pk"), cap=1_000_000, rules=rules)
    value = result["due_date"][0]
    return value if isinstance(value, date) else None


# --- do not contact ------------------------------------------------------------------------------

EFFECTS = (
    "remove_from_call_lists",  # every open round list, at once
    "cancel_follow_ups",
    "suppress_campaigns",  # SMS / WeChat / e-mail campaigns included
    "record_audit",
)


@dataclass(frozen=True)
class ContactPermission:
    """A customer's contact permissions, as stored on the customer record."""

    do_not_contact: bool = False
    consent_marketing: bool = True
    do_not_contact_date: date | None = None
    do_not_contact_source: str = ""

    @property
    def contactable(self) -> bool:
        return not self.do_not_contact and self.consent_marketing


@dataclass(frozen=True)
class Transition:
    state: ContactPermission
    changed: bool
    effects: tuple[str, ...]  # codes from EFFECTS the services must carry out


def request_do_not_contact(state: ContactPermission, *, on: date, source: str) -> Transition:
    """The customer (or a regulator list, a complaint ...) asks not to be contacted.

    Idempotent: a repeated request keeps the first date and source but still returns the
    effects, so a list that somehow kept the customer is cleaned again.
    """
    if not source:
        raise ValueError("a do-not-contact request needs its source")
    effects = EFFECTS
    if state.do_not_contact:
        return Transition(state, changed=False, effects=effects)
    new = replace(state, do_not_contact=True, do_not_contact_date=on, do_not_contact_source=source)
    return Transition(new, changed=True, effects=effects)


def withdraw_consent(state: ContactPermission, *, on: date) -> Transition:
    """Marketing consent withdrawn: no marketing contact, same effects as do-not-contact."""
    del on  # the services store the date with the audit entry
    if not state.consent_marketing:
        return Transition(state, changed=False, effects=EFFECTS)
    return Transition(replace(state, consent_marketing=False), changed=True, effects=EFFECTS)


def lift_do_not_contact(state: ContactPermission, *, on: date, source: str) -> Transition:
    """Only the customer can lift their own do-not-contact flag."""
    del on
    if source != "customer":
        raise PermissionError("only the customer can lift a do-not-contact request")
    if not state.do_not_contact:
        return Transition(state, changed=False, effects=())
    new = replace(state, do_not_contact=False, do_not_contact_date=None, do_not_contact_source="")
    return Transition(new, changed=True, effects=("record_audit",))


def honour_do_not_contact(call_list: pl.DataFrame, flags: pl.DataFrame) -> pl.DataFrame:
    """Drop every customer who may not be contacted (do-not-contact or no consent) from a list.

    ``flags`` follows :data:`winback.programme.frames.CUSTOMER_FLAGS`; customers missing from
    ``flags`` are dropped too (unknown consent is no consent).
    """
    ok = CUSTOMER_FLAGS.conform(flags).filter(
        ~pl.col("do_not_contact").fill_null(True) & pl.col("consent_marketing").fill_null(False)
    )
    return call_list.join(ok.select("customer_pk"), on="customer_pk", how="semi")


# --- what an agent's outcome must carry -----------------------------------------------------------
PROMISE_HORIZON_DAYS = 90  # a promised return further away than this is not a promise


def outcome_problems(
    *,
    outcome: str,
    reason_code: str,
    promised_return_date: date | None,
    callback_date: date | None,
    on: date,
    reason_required: bool = True,
    horizon_days: int = PROMISE_HORIZON_DAYS,
) -> tuple[str, ...]:
    """The rules an outcome breaks, as codes (empty when it may be recorded).

    * ``reason_required`` - a call that reached the customer names the leave reason (the
      first contact diagnoses it: seed 000 §4); imports of history are exempt
    * ``promise_in_past`` / ``promise_too_far`` - a promised return lies from ``on`` (the
      contact's day) to ``horizon_days`` later
    * ``callback_in_past`` - a callback day is not before the contact's day
    """
    problems: list[str] = []
    if reason_required and outcome == "reached" and not reason_code:
        problems.append("reason_required")
    if promised_return_date is not None:
        if promised_return_date < on:
            problems.append("promise_in_past")
        elif (promised_return_date - on).days > horizon_days:
            problems.append("promise_too_far")
    if callback_date is not None and outcome == "call_back" and callback_date < on:
        problems.append("callback_in_past")
    return tuple(problems)

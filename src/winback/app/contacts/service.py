"""Logging a contact on a call task (R5, R6, R13).

One transaction per contact: the task row is locked (``SELECT ... FOR UPDATE`` on PostgreSQL)
and written only if its ``version`` is still the one the agent saw, so two agents (or two tabs)
never overwrite each other; the loser gets :class:`StaleWrite` (HTTP 409). The contact also goes
to ``customers.ContactLog`` so caps and history see it. The next step and its date come from the
pure rules (:func:`winback.programme.contacts.next_steps`). Nothing is logged for a customer the
contact gate (:mod:`.gate`) stops: :class:`ContactNotAllowed` carries the reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from winback.app.accounts import permissions
from winback.app.contacts import gate
from winback.app.contacts.gate import ContactNotAllowed as ContactNotAllowed
from winback.app.contacts.replan import replan_on_reason
from winback.app.settings.profile import current_profile
from winback.app.settings.rules import current_rules
from winback.programme.contacts import (
    PROMISE_HORIZON_DAYS,
    ContactPermission,
    next_steps,
    outcome_problems,
    request_do_not_contact,
)
from winback.programme.questionnaires import Questionnaire, reasons_from_answers
from winback.store.accounts.models import AuditLog, User
from winback.store.customers.models import ContactChannel, ContactLog, ContactOutcome, Customer
from winback.store.programme.models import CallTask, ContactAttempt, RoundMember, TaskStatus


class InvalidChoice(Exception):
    """A code the task or the rules do not offer (the API answers 422)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def check_codes(task: CallTask, reason_code: str, offer_code: str) -> None:
    """The same choices the call page offers: a visible leave reason, an offer of the menu."""
    if reason_code:
        visible = {r.code for r in current_rules().taxonomy.visible()}
        if reason_code not in visible:
            raise InvalidChoice("invalid_reason", f"unknown leave reason {reason_code!r}")
    if offer_code and offer_code not in task.menu.codes:
        raise InvalidChoice("invalid_offer", f"offer {offer_code!r} is not on this call's menu")


class ContactRuleBroken(InvalidChoice):
    """The outcome breaks a recording rule (a reached call without a reason, a promised return
    in the past ...): ``detail`` says which, in the user's language (the API answers 422)."""


def rule_message(code: str) -> str:
    """The words for a broken recording rule (:func:`outcome_problems`' codes)."""
    messages = {
        "reason_required": _(
            "The customer was reached: choose the leave reason (or answer the questionnaire) "
            "before saving."
        ),
        "promise_in_past": _("The promised return date cannot be in the past."),
        "promise_too_far": _("The promised return date must be within %(days)s days.")
        % {"days": PROMISE_HORIZON_DAYS},
        "callback_in_past": _("The callback time must not be in the past."),
        "invalid_answer": _("An answer is not one of the questionnaire's options: reload."),
    }
    return str(messages.get(code, code))


def questionnaire_reason(
    questionnaire: Questionnaire | None, answers: Mapping[str, Any]
) -> tuple[str, dict[str, Any]]:
    """The leave reason the agent chose through the questionnaire (its choice questions'
    options, ranked; free text only suggests and is not counted) and the answers as stored."""
    if questionnaire is None or not answers:
        return "", {}
    from winback.app.settings.rules import current_rules

    taxonomy = current_rules().taxonomy
    clean: dict[str, str | list[str]] = {}
    try:
        for code, answer in answers.items():
            questionnaire.question(code)  # KeyError: not a question of it
            if isinstance(answer, str) and not answer.strip():
                continue
            if isinstance(answer, Sequence) and not isinstance(answer, str) and not answer:
                continue
            clean[code] = answer if isinstance(answer, str) else [str(a) for a in answer]
        chosen = {
            code: answer
            for code, answer in clean.items()
            if questionnaire.question(code).kind != "text"
        }
        ranked = reasons_from_answers(questionnaire, chosen, taxonomy, limit=1)
    except (KeyError, ValueError) as exc:
        raise ContactRuleBroken("invalid_answer", rule_message("invalid_answer")) from exc
    if not clean:
        return "", {}
    return (ranked[0].code if ranked else ""), {
        "questionnaire": questionnaire.code,
        "answers": clean,
    }


class StaleWrite(Exception):
    """The task changed since the caller read it (optimistic lock); reload and retry."""


def log_contact(
    task_id: int,
    *,
    agent: User | None,
    outcome: str,
    reason_code: str = "",
    offer_code: str = "",
    promised_return_date: date | None = None,
    notes: str = "",
    expected_version: int,
    occurred_at: datetime | None = None,
    channel: str | None = None,
    simulated: bool = False,
    callback_at: datetime | None = None,
    answers: Mapping[str, Any] | None = None,
    questionnaire: Questionnaire | None = None,
) -> CallTask:
    """Record one contact attempt on a task and move the task to its next step.

    An agent's outcome (``agent`` set, not simulated) follows the recording rules of
    :func:`winback.programme.contacts.outcome_problems`: a reached customer names a leave reason
    (chosen, or through the ``questionnaire``'s ``answers``), a promised return lies within
    the next 90 days, a callback (``callback_at``, for "call back later") is not in the past
    and becomes the task's next due day; :class:`ContactRuleBroken` says what is wrong."""
    if outcome not in ContactOutcome.values:
        raise ValueError(f"unknown outcome {outcome!r}")
    profile = current_profile()
    tz = ZoneInfo(profile.time_zone)
    when = occurred_at or timezone.now()
    local_day = timezone.localtime(when, tz).date()
    answered_reason, stored_answers = questionnaire_reason(questionnaire, answers or {})
    reason_code = reason_code or answered_reason
    if outcome != ContactOutcome.CALL_BACK:
        callback_at = None
    callback_day = timezone.localtime(callback_at, tz).date() if callback_at else None
    problems = outcome_problems(
        outcome=outcome,
        reason_code=reason_code,
        promised_return_date=promised_return_date,
        callback_date=callback_day,
        on=local_day,
        reason_required=agent is not None and not simulated,
    )
    if callback_at is not None and callback_at < when and "callback_in_past" not in problems:
        problems = (*problems, "callback_in_past")
    with transaction.atomic():
        task = _locked_task(task_id)
        # Only the agent the task is assigned to records its outcome; the system (agent None:
        # an import of call results, the simulated agents of the demo) records for anyone.
        if agent is not None and not permissions.may_log_contact(agent, task):
            raise PermissionDenied(f"{agent.username} may not log task {task_id}")
        if task.version != expected_version:
            raise StaleWrite(f"task {task_id}: version {task.version}, not {expected_version}")
        _check_allowed(task, profile.programme.contacts_per_round, on=local_day)
        check_codes(task, reason_code, offer_code)
        if problems:  # after who, which version and whether at all: the outcome itself
            raise ContactRuleBroken(problems[0], rule_message(problems[0]))
        from winback.app.contacts.offer_budget import commit_offer

        offer_cost = commit_offer(task, offer_code)  # the round's offer budget holds
        log = ContactLog.objects.create(
            source_key=f"programme:{uuid.uuid4().hex}",
            customer_id=task.customer_id,
            channel=channel or _planned_channel(task),
            agent=agent,
            agent_name=agent.username if agent else "",
            outcome=outcome,
            occurred_at=when,
            occurred_date=local_day,
            reason_code=reason_code,
            offer_code=offer_code,
            promised_return_date=promised_return_date,
            notes=notes,
            simulated=simulated,
        )
        ContactAttempt.objects.create(
            task=task,
            agent=agent,
            outcome=outcome,
            reason_code=reason_code,
            offer_code=offer_code,
            offer_cost=offer_cost,
            promised_return_date=promised_return_date,
            notes=notes,
            callback_at=callback_at,
            answers=stored_answers,
            simulated=simulated,
            occurred_at=when,
            occurred_date=local_day,
            contact_log=log,
        )
        step, due = _next_step(task, profile.programme.contacts_per_round, tz)
        changes: dict[str, object] = {
            "attempts": F("attempts") + 1,
            "version": F("version") + 1,
            "status": TaskStatus.OPEN if step != "stop" else TaskStatus.DONE,
            "next_due": due,
            "callback_at": callback_at if step != "stop" else None,
            "updated_at": timezone.now(),
        }
        if offer_code:
            changes["offer_code"] = offer_code
        if reason_code:
            changes["reason_code"] = reason_code
        # The version condition makes the write safe without a row lock too (SQLite).
        if not CallTask.objects.filter(pk=task.pk, version=expected_version).update(**changes):
            raise StaleWrite(f"task {task_id} changed while being written")
        if outcome == ContactOutcome.DO_NOT_CONTACT:
            mark_do_not_contact(task.customer_id, on=local_day, source="contact", user=agent)
        if reason_code:  # the second contact follows the reason (an open task only)
            replan_on_reason(task.pk, reason_code, agent=agent)
        # Read back inside the transaction, while the row is still ours: after the commit
        # another agent's write may already have moved the version on.
        task.refresh_from_db()
    return task


def _planned_channel(task: CallTask) -> str:
    """The channel the plan chose for the customer (the reason's or the stage's), else phone."""
    planned = (
        RoundMember.objects.filter(round_id=task.round_id, customer_id=task.customer_id)
        .values_list("channel", flat=True)
        .first()
    )
    return planned if planned in ContactChannel.values else ContactChannel.PHONE.value


def _locked_task(task_id: int) -> CallTask:
    tasks = CallTask.objects.all()
    if connection.vendor == "postgresql":
        tasks = tasks.select_for_update()
    return tasks.get(pk=task_id)


def _check_allowed(task: CallTask, cap: int, *, on: date) -> None:
    """The contact gate first (the customer), then the task's own state (its round's cap)."""
    gate.check(task.customer_id, on=on, round_id=task.round_id)
    if task.attempts >= cap:
        raise ContactNotAllowed("over_contact_cap")
    if task.status != TaskStatus.OPEN:
        raise ContactNotAllowed("task_closed")


def _next_step(task: CallTask, cap: int, tz: ZoneInfo) -> tuple[str, date | None]:
    rows = list(
        ContactAttempt.objects.filter(task_id=task.pk)
        .order_by("occurred_at", "pk")
        .values_list(
            "occurred_date", "outcome", "reason_code", "promised_return_date", "callback_at"
        )
    )
    log = pl.DataFrame(
        {
            "customer_pk": [task.customer_id] * len(rows),
            "occurred_date": [r[0] for r in rows],
            "outcome": [r[1] for r in rows],
            "reason_code": [r[2] or None for r in rows],
            "promised_return_date": [r[3] for r in rows],
            "callback_date": [timezone.localtime(r[4], tz).date() if r[4] else None for r in rows],
        },
        schema={
            "customer_pk": pl.Int64(),
            "occurred_date": pl.Date(),
            "outcome": pl.String(),
            "reason_code": pl.String(),
            "promised_return_date": pl.Date(),
            "callback_date": pl.Date(),
        },
    )
    step = next_steps(log, log.select("customer_pk").head(1), cap=cap).row(0, named=True)
    return str(step["step"]), step["due_date"]


def mark_do_not_contact(
    customer_id: int, *, on: date, source: str, user: User | None = None
) -> int:
    """Set the customer's do-not-contact flag and close every open task of theirs at once,
    in every round (the effects of :func:`winback.programme.contacts.request_do_not_contact`).
    Returns the number of tasks closed."""
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer_id)
        state = ContactPermission(
            do_not_contact=customer.do_not_contact,
            consent_marketing=customer.consent_marketing,
        )
        transition = request_do_not_contact(state, on=on, source=source)
        if transition.changed:
            tz = ZoneInfo(current_profile().time_zone)
            customer.do_not_contact = True
            customer.do_not_contact_date = datetime.combine(on, time(), tzinfo=tz)
            customer.do_not_contact_source = source
            customer.save(
                update_fields=[
                    "do_not_contact",
                    "do_not_contact_date",
                    "do_not_contact_source",
                    "updated_at",
                ]
            )
        closed = CallTask.objects.filter(customer_id=customer_id, status=TaskStatus.OPEN).update(
            status=TaskStatus.CLOSED, next_due=None, version=F("version") + 1
        )
        AuditLog.objects.create(
            user=user,
            username=user.username if user else "",
            action="do_not_contact",
            object_type="customer",
            object_id=str(customer_id),
            reason=source,
            detail={"effects": list(transition.effects), "tasks_closed": closed},
        )
    return closed


def expire_open_tasks(round_ids: list[int]) -> int:
    """Expire the open tasks of these rounds (they are closing): a leftover task must not
    keep a customer on anyone's list once its round is over. Returns the number expired."""
    return CallTask.objects.filter(round_id__in=round_ids, status=TaskStatus.OPEN).update(
        status=TaskStatus.EXPIRED,
        next_due=None,
        version=F("version") + 1,
        updated_at=timezone.now(),
    )

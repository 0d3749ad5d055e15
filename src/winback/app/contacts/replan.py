"""Re-planning a call task when a contact records a leave reason (R5).

:func:`replan_on_reason` runs inside :func:`winback.app.contacts.service.log_contact`'s
transaction, after the contact is written: it reads the customer's inputs as the round's plan
read them (the snapshot row at the round's planning snapshot, the favourite categories, the
rules in force, the round's budget state), runs the pure rules
(:func:`winback.programme.replan.replan`, which calls the planner's own) with the new reason,
and writes the new offer menu on the task and the new channel on the round member. What
changed is one audit row (``replan_task``, object ``call_task``) whose detail says the reason,
the playbook, channel and offers before and after, and why a wanted channel was not used; the
call page reads the latest one to show the note "re-planned after reason X".

Nothing is re-planned for a task that is no longer open (the outcome ended it, or the customer
asked not to be contacted: :func:`~winback.app.contacts.service.mark_do_not_contact` has closed
it), for a code that is not a finding (``not_found``), or for the reason the task's plan already
follows. See docs/decisions/0034-replan-on-reason.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl
from django.db import connection

from winback.app.actors import Actor, audit
from winback.app.rounds.offer_learning import offer_learning_for
from winback.app.settings.profile import current_profile
from winback.app.settings.rules import RuleData, current_rules
from winback.programme.menus import OfferMenu, menu_json
from winback.programme.replan import Replan, finding, keep_promised, replan, reserve
from winback.programme.rounds import RoundConfig
from winback.store.accounts.models import AuditLog, User
from winback.store.programme.models import CallTask, Round, RoundMember, TaskStatus
from winback.store.queries import rounds as rounds_store

ACTION = "replan_task"
OBJECT_TYPE = "call_task"


@dataclass(frozen=True)
class Proposal:
    """The task's plan for ``reason`` by the planner's rules (nothing written)."""

    reason: str
    channel: str
    wanted_channel: str
    channel_block: str | None
    menu: OfferMenu
    budget_left: float | None


@dataclass(frozen=True)
class Replanned:
    """A re-plan that changed the task (the audit row holds the same)."""

    task_id: int
    reason: str
    previous_reason: str
    channel_before: str
    channel: str
    wanted_channel: str
    channel_block: str | None
    offers_before: tuple[str, ...]
    offers: tuple[str, ...]

    def detail(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "previous_reason": self.previous_reason,
            "channel": {
                "before": self.channel_before,
                "after": self.channel,
                "wanted": self.wanted_channel,
                "block": self.channel_block,
            },
            "offers": {"before": list(self.offers_before), "after": list(self.offers)},
        }


@dataclass(frozen=True)
class ReplanNote:
    """The latest re-plan of a task, as the call page shows it."""

    reason: str
    channel_before: str
    channel: str
    wanted_channel: str
    channel_block: str | None


def latest_replan(task_id: int) -> ReplanNote | None:
    """The task's latest re-plan (one query), or None."""
    row = (
        AuditLog.objects.filter(action=ACTION, object_type=OBJECT_TYPE, object_id=str(task_id))
        .order_by("-pk")
        .values_list("detail", flat=True)
        .first()
    )
    if not isinstance(row, dict) or not row.get("reason"):
        return None
    found = row.get("channel")
    channel: dict[str, Any] = found if isinstance(found, dict) else {}
    return ReplanNote(
        reason=str(row["reason"]),
        channel_before=str(channel.get("before") or ""),
        channel=str(channel.get("after") or ""),
        wanted_channel=str(channel.get("wanted") or ""),
        channel_block=str(channel["block"]) if channel.get("block") else None,
    )


def replan_on_reason(task_id: int, reason_code: str, *, agent: User | None) -> Replanned | None:
    """Re-plan the task for the reason a contact just recorded (inside the caller's
    transaction); None when nothing is re-planned or nothing changed."""
    new = finding(reason_code)
    if new is None:
        return None
    task = CallTask.objects.select_related("round", "customer").get(pk=task_id)
    if task.status != TaskStatus.OPEN or task.customer.do_not_contact:
        return None
    member = RoundMember.objects.filter(
        round_id=task.round_id, customer_id=task.customer_id
    ).first()
    if member is None:
        return None
    previous = latest_replan(task.pk)
    basis = finding(previous.reason) if previous else finding(member.reason_code)
    if new == basis:
        return None
    rnd = _locked_round(task.round) if _budget(task.round) is not None else task.round
    proposal = propose(task, member, new, rnd=rnd)
    if proposal is None:
        return None
    menu = keep_promised(proposal.menu, task.menu, task.offer_code)
    before = task.menu
    if menu == before and proposal.channel == member.channel:
        return None
    CallTask.objects.filter(pk=task.pk).update(offer_menu=menu.to_json())
    RoundMember.objects.filter(pk=member.pk).update(channel=proposal.channel)
    if proposal.budget_left is not None:
        _record_reserve(rnd, reserve(menu) - reserve(before))
    done = Replanned(
        task_id=task.pk,
        reason=new,
        previous_reason=basis or "",
        channel_before=member.channel,
        channel=proposal.channel,
        wanted_channel=proposal.wanted_channel,
        channel_block=proposal.channel_block,
        offers_before=before.codes,
        offers=menu.codes,
    )
    actor = Actor.of(agent) if agent is not None else Actor.system("contact")
    audit(
        actor,
        ACTION,
        object_type=OBJECT_TYPE,
        object_id=task.pk,
        reason=new,
        detail={"round_id": task.round_id, **done.detail()},
    )
    return done


def propose(
    task: CallTask, member: RoundMember, reason: str, *, rnd: Round | None = None
) -> Proposal | None:
    """The task's channel and menu for ``reason`` by the planner's rules, from the inputs the
    round was planned from; None when the customer has no row in that snapshot."""
    rnd = rnd or task.round
    budget = _budget(rnd)
    left = None if budget is None else max(0.0, budget - _reserved(rnd) + reserve(task.menu))
    customer = task.customer
    tasks = pl.DataFrame(
        {
            "customer_pk": [task.customer_id],
            "reason_code": [reason],
            "current_channel": [member.channel or None],
            "expected_value": [member.expected_value],
            "has_phone": [bool(customer.phone)],
            "has_email": [bool(customer.email)],
        },
        schema=PLAN_SCHEMA,
    )
    result = plan_for(rnd, tasks, budget_left=left)
    if result is None or result.channels.is_empty():
        return None
    row = result.channels.row(0, named=True)
    return Proposal(
        reason=reason,
        channel=str(row["channel"]),
        wanted_channel=str(row["wanted_channel"]),
        channel_block=row["channel_block"],
        menu=_menu(result.menus.menu),
        budget_left=left,
    )


PLAN_SCHEMA: dict[str, pl.DataType] = {
    "customer_pk": pl.Int64(),
    "reason_code": pl.String(),
    "current_channel": pl.String(),
    "expected_value": pl.Float64(),
    "has_phone": pl.Boolean(),
    "has_email": pl.Boolean(),
}


def plan_for(
    rnd: Round,
    tasks: pl.DataFrame,
    *,
    budget_left: float | None,
    snapshot_as_of: date | None = None,
) -> Replan | None:
    """Channels and offer menus of ``tasks`` (:data:`PLAN_SCHEMA`) in ``rnd`` by the planner's
    rules, with the round's config, offer learning and baskets, from the customers' rows in
    the snapshot the round was planned from (``snapshot_as_of`` instead, when given); None
    when no snapshot is known. Customers without a row in it get neither."""
    # planning imports the contact service, which imports this module
    from winback.app.rounds.planning import NoSnapshotError, read_favourites, snapshot_date

    try:
        snap_day = snapshot_as_of or rnd.snapshot_as_of or snapshot_date(rnd.round_start)
    except NoSnapshotError:
        return None
    cohort = rounds_store.customers_cohort(customer_ids=tasks["customer_pk"].to_list())
    snapshot = rounds_store.cohort_snapshot_rows(snapshot_as_of=snap_day, cohort=cohort)
    if snapshot.is_empty():
        return None
    profile = current_profile()
    # The round's offer learning as its plan used it: the same posteriors and seed, so the
    # first option is drawn as the plan drew it for this customer.
    seed = rnd.summary.get("seed") if isinstance(rnd.summary, dict) else None
    learning = (
        offer_learning_for(
            rnd.round_start, seed=int(seed), floor=profile.programme.offer_exploration_floor
        )
        if isinstance(seed, int)
        else None
    )
    config = RoundConfig.from_profile(
        profile,
        round_start=rnd.round_start,
        round_end=rnd.round_end,
        offer_budget=budget_left,
        offer_learning=learning,
        typical_baskets=_baskets(rnd),
    )
    rules: RuleData = current_rules()
    return replan(
        snapshot,
        tasks,
        read_favourites(cohort, rnd.as_of),
        config,
        rules.playbooks,
        rules.taxonomy,
        rules.catalogue,
        as_of=rnd.as_of,
    )


def budget_left(rnd: Round) -> float | None:
    """What the round's offer budget has left (None: the round has no budget)."""
    budget = _budget(rnd)
    return None if budget is None else max(0.0, budget - _reserved(rnd))


def record_reserve(rnd: Round, delta: float) -> None:
    """The round's reserved offer budget moves by ``delta`` (menus added or changed)."""
    _record_reserve(rnd, delta)


def _menu(offers: pl.DataFrame) -> OfferMenu:
    """The menu as stored (the planner's own JSON layout, :func:`menu_json`)."""
    stored = menu_json(offers)
    return OfferMenu.from_json(json.loads(stored["offer_menu"][0]) if stored.height else [])


def _baskets(rnd: Round) -> dict[int, float] | None:
    """The typical basket per tier the round's plan costed its offers on (None if unknown)."""
    offers = rnd.summary.get("offers") if isinstance(rnd.summary, dict) else None
    table = offers.get("typical_basket_by_tier") if isinstance(offers, dict) else None
    if not isinstance(table, dict) or not table:
        return None
    return {int(tier): float(value) for tier, value in table.items()}


def _budget(rnd: Round) -> float | None:
    offers = rnd.summary.get("offers") if isinstance(rnd.summary, dict) else None
    budget = offers.get("budget") if isinstance(offers, dict) else None
    return float(budget) if isinstance(budget, int | float) else None


def _reserved(rnd: Round) -> float:
    offers = rnd.summary.get("offers") if isinstance(rnd.summary, dict) else None
    reserved = offers.get("reserved") if isinstance(offers, dict) else None
    return float(reserved) if isinstance(reserved, int | float) else 0.0


def _locked_round(rnd: Round) -> Round:
    """The round row, locked on PostgreSQL while its budget state is read and written."""
    rounds = Round.objects.all()
    if connection.vendor == "postgresql":
        rounds = rounds.select_for_update()
    return rounds.get(pk=rnd.pk)


def _record_reserve(rnd: Round, delta: float) -> None:
    """The round's reserved offer budget moves by what the new menu holds back more or less."""
    summary = dict(rnd.summary) if isinstance(rnd.summary, dict) else {}
    offers = dict(summary.get("offers") or {})
    offers["reserved"] = round(_reserved(rnd) + delta, 2)
    summary["offers"] = offers
    Round.objects.filter(pk=rnd.pk).update(summary=summary)

"""Bulk actions from the customer and early-warning lists: add customers to an open round.

Adding to a round goes through the contact gate and keeps the round's measurement honest
(docs/decisions/0039-adding-customers-to-an-open-round.md):

* customers the gate stops are refused, with the gate's reason: a round's control group
  (``control_group``), the programme's global holdout (``global_holdout``), do-not-contact,
  no marketing consent, an open complaint, the contact cap; customers already in the round
  (``already_in_round``) and customers without a phone number for a phone call (``no_phone``)
  are refused too;
* the others are randomised like the round's planned members: a fixed hash of the customer
  and the round's seed puts the round's control share of them in its control group (no call,
  measured), the rest become treated members with a call task, assigned to the chosen agent
  or spread over the least busy active agents, due from today;
* members added this way are marked ``selected_by = "manual"``, so the round's results can
  show them apart from the planner's choices;
* one audit row per action: who, which round, how many asked, added and refused, and why.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import polars as pl
from django.db import transaction
from django.db.models import Count, Max
from django.utils.translation import gettext_lazy as _

from winback.app.actors import Actor, Permission, require
from winback.app.analysis.selectors import latest_run
from winback.app.contacts import gate, replan
from winback.app.rounds.reassign import booked_due
from winback.programme.assignment import days_off, spread_due_dates
from winback.programme.care import HolidayCalendar
from winback.programme.holdout import in_global_holdout
from winback.programme.inference import pre_period_window
from winback.programme.menus import OfferMenu, menu_json
from winback.programme.replan import reserve
from winback.store.accounts.models import AuditLog, Role, User
from winback.store.analysis.models import CustomerSnapshot
from winback.store.customers.models import Customer
from winback.store.frames import insert_frame
from winback.store.programme.models import (
    Arm,
    CallTask,
    Round,
    RoundMember,
    RoundStatus,
    TaskStatus,
)
from winback.store.programme.tasks import insert_call_tasks
from winback.store.queries import rounds as rounds_store

MANUAL = "manual"
AUDIT_ACTION = "add_to_round"
ALREADY_IN_ROUND = "already_in_round"
NO_PHONE = "no_phone"
# The round's control draw for added customers uses its own seed stream, so it never repeats
# the programme's global-holdout draw for the same customers.
CONTROL_SALT = 0x5EED_0A11


REFUSAL_LABELS = {
    "do_not_contact": _("asked not to be contacted"),
    "no_consent": _("no marketing consent"),
    "control_group": _("in a round's control group"),
    "global_holdout": _("in the programme's global holdout"),
    "open_complaint": _("open complaint"),
    "over_contact_cap": _("contact limit reached"),
    ALREADY_IN_ROUND: _("already in this round"),
    NO_PHONE: _("no phone number"),
}


def refusal_label(code: str) -> str:
    return str(REFUSAL_LABELS.get(code, code))


class RoundNotOpen(ValueError):
    """The round is not open to new members (closed, or its month is over)."""


@dataclass(frozen=True)
class AddResult:
    round_id: int
    asked: int
    treated: int
    control: int
    refused: dict[str, int] = field(default_factory=dict)  # reason -> customers

    @property
    def refused_total(self) -> int:
        return sum(self.refused.values())


def open_rounds(today: date) -> list[Round]:
    """Rounds that take new members: active, and not yet at their end."""
    return list(
        Round.objects.filter(status=RoundStatus.ACTIVE, round_end__gte=today).order_by(
            "-month", "-pk"
        )
    )


def _agents(agent_id: int | None) -> pl.DataFrame:
    """The agents to assign to, least open work first (one grouped query)."""
    agents = User.objects.filter(role=Role.AGENT, is_active=True)
    if agent_id is not None:
        agents = agents.filter(pk=agent_id)
    ids = list(agents.order_by("pk").values_list("pk", flat=True))
    load = dict(
        CallTask.objects.filter(agent_id__in=ids, status=TaskStatus.OPEN)
        .order_by()
        .values_list("agent_id")
        .annotate(n=Count("pk"))
    )
    frame = pl.DataFrame(
        {"agent_id": ids, "load": [load.get(i, 0) for i in ids]},
        schema={"agent_id": pl.Int64(), "load": pl.Int64()},
    )
    return frame.sort(["load", "agent_id"])


def add_to_round(
    user: User,
    customer_pks: Sequence[int],
    *,
    round_id: int,
    today: date | None = None,
    agent_id: int | None = None,
) -> AddResult:
    """Add the customers to the open round ``round_id`` through the contact gate (see the
    module doc); 403 without the right to plan rounds."""
    actor = Actor.of(user)
    require(actor, Permission.PLAN_ROUND)
    today = today or gate.today()
    with transaction.atomic():
        rnd = Round.objects.select_for_update().filter(pk=round_id).first()
        if rnd is None or rnd.status != RoundStatus.ACTIVE or rnd.round_end < today:
            raise RoundNotOpen(round_id)
        asked = pl.DataFrame(
            {"customer_pk": sorted({int(p) for p in customer_pks})},
            schema={"customer_pk": pl.Int64()},
        )
        result, treated = _admit(rnd, asked, today=today, agent_id=agent_id)
        _write(rnd, treated, today=today)
        AuditLog.objects.create(
            user=user,
            username=user.get_username(),
            action=AUDIT_ACTION,
            object_type="round",
            object_id=str(rnd.pk),
            detail={
                "asked": result.asked,
                "treated": result.treated,
                "control": result.control,
                "refused": result.refused,
                "agent": agent_id,
            },
        )
    return result


def _admit(
    rnd: Round, asked: pl.DataFrame, *, today: date, agent_id: int | None
) -> tuple[AddResult, pl.DataFrame]:
    """Who is refused and why, and the admitted customers with their arm and agent."""
    ids = asked["customer_pk"].to_list()
    members = set(
        RoundMember.objects.filter(round_id=rnd.pk, customer_id__in=ids).values_list(
            "customer_id", flat=True
        )
    )
    phones = dict(Customer.objects.filter(pk__in=ids).values_list("pk", "phone"))
    verdicts = (
        gate.verdicts(ids, on=today)
        if ids
        else pl.DataFrame(schema={"customer_pk": pl.Int64(), "reason": pl.String()})
    )
    judged = (
        asked.filter(pl.col("customer_pk").is_in(list(phones)))
        .join(verdicts.select("customer_pk", "reason"), on="customer_pk", how="left")
        .with_columns(
            reason=pl.when(pl.col("customer_pk").is_in(list(members)))
            .then(pl.lit(ALREADY_IN_ROUND))
            .otherwise(pl.col("reason"))
        )
        .with_columns(
            reason=pl.when(
                pl.col("reason").is_null()
                & pl.col("customer_pk").is_in([k for k, v in phones.items() if not v])
            )
            .then(pl.lit(NO_PHONE))
            .otherwise(pl.col("reason"))
        )
    )
    refused = {
        str(r): int(n)
        for r, n in judged.filter(pl.col("reason").is_not_null())
        .group_by("reason")
        .len()
        .sort("reason")
        .iter_rows()
    }
    admitted = judged.filter(pl.col("reason").is_null()).select("customer_pk")
    control = in_global_holdout(
        admitted["customer_pk"].to_numpy(),
        share=min(max(float(rnd.holdout_share), 0.0), 0.99),
        seed=int(rnd.seed) ^ CONTROL_SALT,
    )
    admitted = admitted.with_columns(
        arm=pl.Series(control)
        .cast(pl.Boolean)
        .replace_strict({True: Arm.CONTROL.value, False: Arm.TREATED.value}, return_dtype=pl.String)
        if admitted.height
        else pl.lit(Arm.TREATED.value)
    )
    admitted = _with_agents(admitted, _agents(agent_id))
    n_control = admitted.filter(pl.col("arm") == Arm.CONTROL.value).height
    result = AddResult(
        round_id=rnd.pk,
        asked=len(ids),
        treated=admitted.height - n_control,
        control=n_control,
        refused=refused,
    )
    return result, admitted


def _with_agents(admitted: pl.DataFrame, agents: pl.DataFrame) -> pl.DataFrame:
    """Treated customers spread in turn over the agents, least busy first."""
    if agents.height == 0:
        return admitted.with_columns(agent_id=pl.lit(None, dtype=pl.Int64))
    turns = agents.select(pl.int_range(pl.len()).alias("_turn"), "agent_id")
    return (
        admitted.with_row_index("_row")
        .with_columns(
            _turn=pl.when(pl.col("arm") == Arm.TREATED.value)
            .then(pl.int_range(pl.len()).over("arm") % agents.height)
            .otherwise(None)
        )
        .join(turns, on="_turn", how="left")
        .sort("_row")
        .drop("_row", "_turn")
    )


def _write(rnd: Round, admitted: pl.DataFrame, *, today: date) -> None:
    """The members and the treated members' call tasks (bulk inserts)."""
    if admitted.height == 0:
        return
    run = latest_run()
    snaps = pl.DataFrame(
        list(
            CustomerSnapshot.objects.filter(
                customer_id__in=admitted["customer_pk"].to_list(), as_of=run.as_of
            ).values_list("customer_id", "tier", "stage")
        )
        if run
        else [],
        schema={"customer_pk": pl.Int64(), "tier": pl.Int64(), "stage": pl.String()},
        orient="row",
    )
    top = RoundMember.objects.filter(round_id=rnd.pk).aggregate(m=Max("priority_rank"))["m"] or 0
    due = max(today, rnd.round_start)
    rows = admitted.join(snaps, on="customer_pk", how="left").with_row_index("_i")
    insert_frame(
        model=RoundMember,
        columns=(
            "round_id",
            "customer_id",
            "arm",
            "tier",
            "stage",
            "priority_rank",
            "expected_value",
            "required_seniority",
            "channel",
            "reason_code",
            "selected_by",
            "uplift_class",
        ),
        rows=rows.select(
            pl.lit(rnd.pk).alias("round_id"),
            "customer_pk",
            "arm",
            "tier",
            pl.col("stage").fill_null(""),
            (pl.col("_i").cast(pl.Int64) + top + 1).alias("priority_rank"),
            pl.lit(0.0).alias("expected_value"),
            pl.lit(1).alias("required_seniority"),
            pl.lit("phone").alias("channel"),
            pl.lit("").alias("reason_code"),
            pl.lit(MANUAL).alias("selected_by"),
            pl.lit("").alias("uplift_class"),
        ),
    )
    rounds_store.fill_pre_period(round_id=rnd.pk, **pre_period_window(rnd.round_start))
    treated = _due_dates(rows.filter(pl.col("arm") == Arm.TREATED.value), start=due)
    insert_call_tasks(rnd.pk, treated.join(_menus(rnd, treated), on="customer_pk", how="left"))


def _menus(rnd: Round, treated: pl.DataFrame) -> pl.DataFrame:
    """``customer_pk``, ``offer_menu``: the menu the round's plan would have given each added
    customer (the planner's rules, the round's config, offer learning and budget left, from
    the customer's row in the snapshot the round was planned from, else in the latest one);
    the round's reserved budget grows by what the menus hold back."""
    schema = {"customer_pk": pl.Int64(), "offer_menu": pl.String()}
    if treated.height == 0:
        return pl.DataFrame(schema=schema)
    ids = treated["customer_pk"].to_list()
    emails = dict(Customer.objects.filter(pk__in=ids).values_list("pk", "email"))
    asked = pl.DataFrame(
        {
            "customer_pk": ids,
            "reason_code": [None] * len(ids),
            "current_channel": ["phone"] * len(ids),
            "expected_value": [0.0] * len(ids),
            "has_phone": [True] * len(ids),  # the gate refused those without a phone
            "has_email": [bool(emails.get(i)) for i in ids],
        },
        schema=replan.PLAN_SCHEMA,
    )
    parts: list[pl.DataFrame] = []
    left = replan.budget_left(rnd)
    latest = latest_run()
    for snapshot in dict.fromkeys([rnd.snapshot_as_of, latest.as_of if latest else None]):
        done = [i for part in parts for i in part["customer_pk"].to_list()]
        todo = asked.filter(~pl.col("customer_pk").is_in(done))
        if todo.height == 0 or snapshot is None:
            continue
        planned = replan.plan_for(rnd, todo, budget_left=left, snapshot_as_of=snapshot)
        if planned is None or planned.menus.menu.is_empty():
            continue
        menus = menu_json(planned.menus.menu)
        parts.append(menus.select(list(schema)))
        held = sum(reserve(OfferMenu.from_json(json.loads(text))) for text in menus["offer_menu"])
        if left is not None:  # a round with an offer budget reserves what the menus hold
            left = max(0.0, left - held)
            replan.record_reserve(Round.objects.get(pk=rnd.pk), held)
    return pl.concat(parts) if parts else pl.DataFrame(schema=schema)


def _due_dates(treated: pl.DataFrame, *, start: date) -> pl.DataFrame:
    """``treated`` plus ``planned_date``: over working days from ``start`` within each agent's
    daily capacity, counting what the agent already has due (as planning and reassignment do)."""
    assigned = treated.filter(pl.col("agent_id").is_not_null())
    unassigned = treated.filter(pl.col("agent_id").is_null()).with_columns(
        planned_date=pl.lit(start, dtype=pl.Date)
    )
    if assigned.height == 0:
        return unassigned
    agents = [int(a) for a in assigned["agent_id"].unique().to_list()]
    caps = pl.DataFrame(
        list(User.objects.filter(pk__in=agents).values_list("pk", "daily_capacity")),
        schema={"agent_id": pl.Int64(), "daily_capacity": pl.Int64()},
        orient="row",
    )
    placed = spread_due_dates(
        assigned.join(caps, on="agent_id", how="left"),
        start=start,
        holidays=days_off(HolidayCalendar.default(), start, start + timedelta(days=366)),
        booked=booked_due(agents, start),
    ).select(*treated.columns, "planned_date")
    return pl.concat([placed, unassigned.select(placed.columns)])

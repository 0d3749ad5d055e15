"""Planning a round from the database: build the rule inputs, run the pure planner, persist.

The rules are :func:`winback.programme.rounds.plan_round`; this module only reads the frames it
needs (snapshot, flags, contact history, complaints, memberships, favourites, agents) with one
query each, and writes the plan back in bulk.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import polars as pl
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from winback.app.analysis.selectors import latest_analysis
from winback.app.contacts import gate
from winback.app.rounds.feedback import feedback
from winback.app.rounds.lifecycle import close_expired
from winback.app.rounds.offer_learning import offer_learning_for
from winback.app.rounds.spark_inputs import CandidateReader, read_inputs_on_spark
from winback.app.rounds.targeting import targeting_for
from winback.app.settings.profile import current_profile
from winback.app.settings.rules import current_rules
from winback.periods import month_bounds
from winback.programme.assignment import days_off
from winback.programme.attribution import MEASUREMENT_DAYS
from winback.programme.care import HolidayCalendar
from winback.programme.design import RoundDesign
from winback.programme.inference import pre_period_window
from winback.programme.menus import menu_json
from winback.programme.rounds import RoundConfig, RoundInputs, RoundPlan
from winback.programme.rounds import plan_round as plan_pure
from winback.store.accounts.models import Role, User
from winback.store.customers.models import Order
from winback.store.frames import insert_frame
from winback.store.programme.models import Arm, Round, RoundMember, RoundStatus
from winback.store.programme.tasks import insert_call_tasks
from winback.store.queries import rounds as rounds_store
from winback.store.queries.rounds import Cohort
from winback.vocabulary import ROUND_STATUSES

# Contacts older than this cannot count toward any cap window (the longest stage window is 90
# days); older rows are read only when they carry a leave reason.
HISTORY_DAYS = 120
RETURN_WINDOW_DAYS = MEASUREMENT_DAYS


class NoSnapshotError(LookupError):
    """No analysis snapshot on or before the round's month start."""


class ControlTooSmall(ValueError):
    """The round's control group is below the hard floor and no override was given, or it is
    empty: the round is not stored (a round that cannot measure anything would only look like
    evidence)."""

    def __init__(self, design: RoundDesign) -> None:
        super().__init__(f"control group of {design.n_control} < floor {design.control_floor}")
        self.design = design


@dataclass(frozen=True)
class PreparedPlan:
    plan: RoundPlan
    config: RoundConfig
    snapshot_as_of: date
    agents: pl.DataFrame


def snapshot_date(on_or_before: date) -> date:
    run = latest_analysis(on_or_before=on_or_before)
    if run is None:
        raise NoSnapshotError(on_or_before.isoformat())
    return run.as_of


def agent_frame(agents: Sequence[User] | None = None) -> pl.DataFrame:
    users = agents if agents is not None else active_agents()
    return pl.DataFrame(
        {
            "agent_id": [u.pk for u in users],
            "seniority": [u.seniority for u in users],
            "daily_capacity": [u.daily_capacity for u in users],
        },
        schema={"agent_id": pl.Int64(), "seniority": pl.Int64(), "daily_capacity": pl.Int64()},
    )


def active_agents() -> list[User]:
    return list(User.objects.filter(role=Role.AGENT, is_active=True).order_by("pk"))


def prepare_plan(
    month: date,
    *,
    holdout: float | None = None,
    seed: int,
    agents: Sequence[User] | None = None,
    tiers: Sequence[int] | None = None,
    statuses: Sequence[str] = ROUND_STATUSES,
    stages: Sequence[str] | None = None,
    allow_small_control: bool = False,
    reader: CandidateReader | None = None,
) -> PreparedPlan:
    """Read the inputs of ``month``'s round and run the pure planner; nothing is written.

    ``reader`` chooses the engine that reads the candidates' inputs (default: the database;
    ``spark``: :mod:`.spark_inputs`); the plan is the same whichever reads them.

    Past matured rounds give the design's base rate and the measured uplift per segment
    (:mod:`.feedback`); without them the snapshot's prediction and the default guesses serve.

    Members of past rounds whose 90-day window has passed but whose return is not recorded yet
    are read as :func:`refresh_returned` will record them, so a preview (a GET) shows the plan
    that :func:`plan_round` stores."""
    start, end = month_bounds(month)
    snap_day = snapshot_date(start)
    profile = current_profile()
    overrides: dict[str, Any] = {"statuses": tuple(statuses)}
    if tiers is not None:
        overrides["tiers"] = tuple(tiers)
    if stages is not None:
        overrides["stages"] = tuple(stages)
    if holdout is not None:
        overrides["holdout_share"] = holdout
    learned = feedback(start)
    overrides["allow_small_control"] = allow_small_control
    overrides["uplift_source"] = learned.uplift_source
    overrides["uplift_by_segment"] = learned.uplift_by_segment
    if learned.base_rate is not None:
        overrides["base_rate"] = learned.base_rate
        overrides["base_rate_source"] = learned.base_rate_source
    overrides["offer_learning"] = offer_learning_for(
        start, seed=seed, floor=profile.programme.offer_exploration_floor
    )
    rules = current_rules()
    # The tier's typical offer for the expected offer cost: the catalogue's depth cap.
    overrides["offer_depth_by_tier"] = dict(rules.catalogue.depth_cap_by_tier)
    # Calls are dated over working days from the planning day (a round made on the 6th is not
    # overdue on day one), skipping the team's days off.
    overrides.setdefault("planning_day", timezone.localdate())
    overrides.setdefault("holidays", days_off(HolidayCalendar.default(), start, end))
    config = RoundConfig.from_profile(profile, round_start=start, round_end=end, **overrides)
    team = agent_frame(agents)
    reader = reader or CandidateReader()
    if reader.engine == "spark":
        inputs = read_inputs_on_spark(
            snap_day,
            start,
            config.statuses,
            team,
            time_zone=profile.time_zone,
            reader=reader,
            history_days=HISTORY_DAYS,
        )
    else:
        inputs = read_inputs(snap_day, start, config.statuses, team, time_zone=profile.time_zone)
    # The contact gate judges every candidate before selection and holdout: a customer it
    # stops (an earlier round's control group still measured, ...) is neither treated nor
    # drawn into this round's control group, so both arms stay comparable.
    judged = gate.verdicts(inputs.snapshot.select("customer_pk"), on=start)
    inputs = replace(inputs, blocked=judged.filter(~pl.col("allowed")))
    inputs = replace(inputs, memberships=with_pending_returns(inputs.memberships, start))
    targeting = targeting_for(
        start, inputs.snapshot, learned, random_share=profile.programme.random_share
    )
    plan = plan_pure(
        inputs,
        config,
        as_of=start,
        seed=seed,
        playbooks=rules.playbooks,
        taxonomy=rules.taxonomy,
        catalogue=rules.catalogue,
        targeting=targeting,
    )
    plan.summary["snapshot_as_of"] = snap_day.isoformat()
    plan.summary["candidates_read_by"] = reader.engine
    plan.summary["uplift"]["segments"] = learned.segments
    plan.summary["design"]["past_control_outcomes"] = learned.control_outcomes
    return PreparedPlan(plan, config, snap_day, team)


def plan_and_store(
    month: date,
    *,
    holdout: float | None = None,
    seed: int | None = None,
    agents: Sequence[User] | None = None,
    tiers: Sequence[int] | None = None,
    statuses: Sequence[str] = ROUND_STATUSES,
    stages: Sequence[str] | None = None,
    user: User | None = None,
    allow_small_control: bool = False,
    reader: CandidateReader | None = None,
) -> Round:
    """Plan ``month``'s round from the latest snapshot on or before its first day and store
    it: members (treated and control) and a call task per assigned treated customer."""
    chosen_seed = seed if seed is not None else secrets.randbelow(2**31)
    prepared = prepare_plan(
        month,
        holdout=holdout,
        seed=chosen_seed,
        agents=agents,
        tiers=tiers,
        statuses=statuses,
        stages=stages,
        allow_small_control=allow_small_control,
        reader=reader,
    )
    design = prepared.plan.design
    # No control customer at all: nothing could ever be measured, override or not.
    if design.n_control == 0 or (design.below_floor and not design.small_control_allowed):
        raise ControlTooSmall(design)
    with transaction.atomic():
        refresh_returned(prepared.config.round_start)  # what the plan read as pending
        return persist_plan(prepared, user=user)


def persist_plan(prepared: PreparedPlan, *, user: User | None) -> Round:
    plan, config = prepared.plan, prepared.config
    rnd = Round.objects.create(
        month=config.round_start,
        status=RoundStatus.ACTIVE,
        seed=int(plan.summary["seed"]),
        holdout_share=config.holdout_share,
        as_of=config.round_start,
        round_start=config.round_start,
        round_end=config.round_end,
        config={
            "statuses": list(config.statuses),
            "tiers": list(config.tiers) if config.tiers is not None else None,
            "stages": list(config.stages) if config.stages is not None else None,
            "holdout_share": config.holdout_share,
            "agents": prepared.agents["agent_id"].to_list(),
            "allow_small_control": config.allow_small_control,
            "recently_treated_days": config.recently_treated_days,
        },
        summary=plan.summary,
        design=plan.design.to_json(),
        created_by=user,
    )
    _insert_members(rnd, plan.members)
    rounds_store.fill_pre_period(round_id=rnd.pk, **pre_period_window(rnd.round_start))
    _insert_tasks(rnd, plan)
    return rnd


def _insert_members(rnd: Round, members: pl.DataFrame) -> None:
    rows = members.select(
        pl.lit(rnd.pk).alias("round_id"),
        "customer_pk",
        "arm",
        "tier",
        "stage",
        "priority_rank",
        pl.col("expected_value").fill_null(0.0),
        pl.col("required_seniority").fill_null(1),
        pl.col("channel").fill_null(""),
        pl.col("reason_code").fill_null(""),
        pl.col("selected_by").fill_null(""),
        "predicted_uplift",
        pl.col("uplift_class").fill_null(""),
    )
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
            "predicted_uplift",
            "uplift_class",
        ),
        rows=rows,
    )


def _insert_tasks(rnd: Round, plan: RoundPlan) -> None:
    insert_call_tasks(
        rnd.pk, plan.call_list().join(menu_json(plan.offers), on="customer_pk", how="left")
    )


# --- inputs ------------------------------------------------------------------------------------


def read_inputs(
    snap_day: date,
    as_of: date,
    statuses: Sequence[str],
    agents: pl.DataFrame,
    *,
    time_zone: str,
) -> RoundInputs:
    """Every frame the planner reads, restricted to the snapshot's candidates, from the
    database (:func:`.spark_inputs.read_inputs_on_spark` reads the same on Spark)."""
    cand = rounds_store.snapshot_cohort(snapshot_as_of=snap_day, statuses=statuses)
    return RoundInputs(
        snapshot=read_snapshot(snap_day, statuses),
        customers=read_flags(cand),
        agents=agents,
        contacts=read_contacts(cand, as_of),
        complaints=read_complaints(cand, as_of, time_zone),
        memberships=read_memberships(cand),
        favourites=read_favourites(cand, as_of),
    )


def read_snapshot(snap_day: date, statuses: Sequence[str]) -> pl.DataFrame:
    return rounds_store.snapshot_rows(snapshot_as_of=snap_day, statuses=statuses)


def read_flags(cand: Cohort) -> pl.DataFrame:
    """Contact permissions. A do-not-contact answer in the contact log counts even when a
    later customer-file import has cleared the flag on the record: only the customer can lift
    it, and the importer cannot tell a lift from a stale file."""
    return rounds_store.contact_flags(cohort=cand)


def read_contacts(cand: Cohort, as_of: date) -> pl.DataFrame:
    frame = rounds_store.contact_history(
        cohort=cand, until=as_of, recent_from=as_of - timedelta(days=HISTORY_DAYS)
    )
    return frame.with_columns(
        reason_code=pl.when(pl.col("reason_code") == "").then(None).otherwise("reason_code")
    )


def read_complaints(cand: Cohort, as_of: date, time_zone: str) -> pl.DataFrame:
    return rounds_store.complaints(cohort=cand, until=as_of, time_zone=time_zone)


def read_memberships(cand: Cohort) -> pl.DataFrame:
    return rounds_store.memberships(cohort=cand)


def read_favourites(cand: Cohort, as_of: date) -> pl.DataFrame:
    """Each candidate's two biggest categories by spend over the year before ``as_of``."""
    spend = rounds_store.category_spend(cohort=cand, after=as_of - timedelta(days=365), until=as_of)
    return favourites_from_spend(spend)


def favourites_from_spend(spend: pl.DataFrame) -> pl.DataFrame:
    """Each customer's two biggest categories (``spend``: spend per customer and category,
    as :func:`winback.store.queries.rounds.category_spend` gives it), whichever engine
    summed it."""
    positive = spend.filter(pl.col("spend") > 0)
    return (
        positive.with_columns(
            spend_share=pl.col("spend") / pl.col("spend").sum().over("customer_pk")
        )
        .sort(["customer_pk", "spend", "category_code"], descending=[False, True, False])
        .group_by("customer_pk", maintain_order=True)
        .head(2)
        .select("customer_pk", "category_code", "spend_share", "replenishment_days")
    )


def _pending_returns(as_of: date) -> Iterator[tuple[Round, QuerySet[RoundMember], QuerySet[Any]]]:
    """Per round whose 90-day window has passed by ``as_of`` with members whose return is not
    recorded: those members, and the customers who bought in the window."""
    done_before = as_of - timedelta(days=RETURN_WINDOW_DAYS)
    pending = RoundMember.objects.filter(returned__isnull=True, round__round_start__lte=done_before)
    for rnd in Round.objects.filter(pk__in=pending.values("round_id")):
        window_end = rnd.round_start + timedelta(days=RETURN_WINDOW_DAYS)
        members = RoundMember.objects.filter(round=rnd, returned__isnull=True)
        buyers = Order.objects.filter(
            amount_cents__gt=0, order_date__gte=rnd.round_start, order_date__lt=window_end
        ).values("customer_id")
        yield rnd, members, buyers


def pending_returns(as_of: date) -> pl.DataFrame:
    """What :func:`refresh_returned` would record, read without writing: ``customer_pk``,
    ``round_id`` (text, as in the memberships frame) and ``returned``; one query per round."""
    parts = [
        pl.DataFrame(
            list(
                members.annotate(bought=Exists(buyers.filter(customer_id=OuterRef("customer_id"))))
                .order_by()
                .values_list("customer_id", "bought")
            ),
            schema={"customer_pk": pl.Int64(), "returned": pl.Boolean()},
            orient="row",
        ).with_columns(round_id=pl.lit(str(rnd.pk)))
        for rnd, members, buyers in _pending_returns(as_of)
    ]
    schema = {"customer_pk": pl.Int64(), "returned": pl.Boolean(), "round_id": pl.String()}
    return pl.concat(parts) if parts else pl.DataFrame(schema=schema)


def with_pending_returns(memberships: pl.DataFrame | None, as_of: date) -> pl.DataFrame | None:
    """The memberships frame with the returns :func:`refresh_returned` has yet to record."""
    if memberships is None:
        return None
    pending = pending_returns(as_of).rename({"returned": "pending_returned"})
    if pending.is_empty():
        return memberships
    pending = pending.with_columns(pl.col("round_id").cast(memberships.schema["round_id"]))
    return (
        memberships.join(pending, on=["customer_pk", "round_id"], how="left")
        .with_columns(returned=pl.coalesce("returned", "pending_returned"))
        .drop("pending_returned")
    )


def refresh_returned(as_of: date) -> int:
    """Record, for members of rounds whose 90-day window has passed by ``as_of``, whether they
    bought in it (what retirement counts): per round, two set-based updates. Rounds whose
    closing day has come by ``as_of`` are closed (:func:`.lifecycle.close_expired`)."""
    updated = 0
    for _rnd, members, buyers in _pending_returns(as_of):
        updated += members.filter(customer_id__in=buyers).update(returned=True)
        updated += members.filter(returned__isnull=True).update(returned=False)
    # Rounds whose closing day has come close, their open calls expire (lifecycle).
    close_expired(as_of)
    return updated


def arm_counts(rnd: Round) -> dict[str, int]:
    return {
        arm: RoundMember.objects.filter(round=rnd, arm=arm).count()
        for arm in (Arm.TREATED, Arm.CONTROL)
    }

"""Planning a monthly win-back round (R6): pool, exclusions, priority, holdout, offers, agents.

:func:`plan_round` runs, on whole frames:

1. **Candidate pool** - customers whose status is among ``config.statuses`` (lost and/or
   at risk) in the chosen tiers and stages (never prospects).
2. **Exclusions**, counted by the first cause that applies, in this fixed order:
   ``do_not_contact``, ``no_consent``, ``global_holdout`` (the business-wide holdout the
   programme never contacts), ``over_contact_cap`` (contacts in the window >= cap,
   business-wide or the stage's), ``open_complaint`` (routed to the complaints team),
   ``in_active_round`` (in a round overlapping this one, or in a control group still being
   measured), ``recently_treated`` (in a treated arm of a round that started less than
   ``recently_treated_days`` before this one: never drawn into a control group, and not
   treated again while that round's outcome is measured), ``retired`` (N worked rounds
   without return), ``outside_allowed_hours`` (the planned time falls outside the channel's
   hours in the customer's local time).
3. **Priority** by expected incremental margin (:mod:`winback.programme.priority`):
   ``uplift x value if won back x gross margin - contact cost - expected offer cost``;
   ``uplift`` is the customer's ``p_return_uplift`` when the snapshot has one, else the
   uplift model's prediction when the round's targeting policy is ``uplift_model``
   (:mod:`winback.programme.targeting`), else the figure of the customer's (stage, tier)
   segment measured on past rounds and shrunk toward the programme average
   (:mod:`winback.programme.uplift_feedback`), else a per-stage figure (the defaults); value
   is ``clv_365 / P(alive)``: under the BG/NBD model the expected value is P(alive) times the
   value of a customer known to be alive (Fader, Hardie & Lee 2005, *Marketing Science*
   24:275-284, eq. 10), which is what winning someone back restores. Each candidate also gets
   an uplift class (persuadable, sure thing, lost cause, do not disturb). The pure defaults
   (gross margin 1, no contact or offer cost) rank by ``uplift x value``;
   :meth:`RoundConfig.from_profile` takes the business's figures.
4. **Selection** of the customers that agent capacity can serve, level by level of required
   seniority, inflated by ``1 / (1 - holdout_share)`` so that after the holdout the treated
   customers fit the capacity: ``random_share`` of the places are drawn uniformly at random
   among all eligible customers, the rest go by priority to customers worth a call (expected
   margin at least ``min_expected_value``); the others worth a call wait for a later round,
   the rest are counted as ``not_worth_a_call``.
5. **Holdout** - a stratified random control group by (tier, stage), see
   :mod:`winback.programme.holdout`; control customers are never assigned nor contacted.
6. **Offers** - a menu per treated customer, see :mod:`winback.programme.offers`.
7. **Assignment** - treated customers to agents by capacity and seniority, dated by working
   day, see :mod:`winback.programme.assignment`.

8. **Design** - the round's pre-registered design (arms, base rate, minimum detectable effect,
   power for the hoped-for effect), see :mod:`winback.programme.design`; the summary warns when
   the control group is too small, and the caller refuses to store a round below the floor.

Same inputs and seed give the same plan; the seed is recorded in the summary.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import polars as pl

from winback.config import MAX_HOLDOUT_SHARE, BusinessProfile
from winback.programme.assignment import (
    SeniorityRules,
    agent_capacity,
    assign_agents,
    first_call_day,
    per_agent_counts,
    with_required_seniority,
    working_days,
)
from winback.programme.attribution import MEASUREMENT_DAYS, retirement
from winback.programme.contacts import latest_reasons
from winback.programme.design import RoundDesign, design_round
from winback.programme.fatigue import ContactHours, outside_allowed_hours, over_cap_flags
from winback.programme.frames import (
    COMPLAINTS,
    CONTACT_HISTORY,
    CUSTOMER_FLAGS,
    EXCLUSIONS,
    FAVOURITES,
    KNOWN_REASONS,
    MEMBERSHIPS,
    PLAN_MEMBERS,
    SNAPSHOT,
    typed,
)
from winback.programme.holdout import assign_holdout, strata_sizes
from winback.programme.offer_bandit import OfferLearning
from winback.programme.offers import FitWeights, OfferCatalogue, OfferMenus, offer_menus
from winback.programme.playbooks import STAGES, Playbooks
from winback.programme.priority import (
    SELECTED_BY,
    UPLIFT_CLASSES,
    ClassThresholds,
    class_counts,
    contact_cost,
    expected_margin,
    expected_offer_cost,
    select_places,
    typical_offer_cost,
    uplift_class,
)
from winback.programme.targeting import UPLIFT_PREDICTIONS, Targeting
from winback.programme.taxonomy import Taxonomy
from winback.vocabulary import ROUND_STATUSES

EXCLUSION_CAUSES = (
    "do_not_contact",
    "no_consent",
    "global_holdout",
    "over_contact_cap",
    "open_complaint",
    "in_active_round",
    "recently_treated",
    "retired",
    "no_reachable_channel",
    "outside_allowed_hours",
)
# Channels that need the customer's phone number (WeChat finds a customer by it) and the
# order a plan falls back through when the playbook's channel cannot reach the customer.
PHONE_CHANNELS = ("phone", "sms", "wechat")
FALLBACK_CHANNELS = ("phone", "wechat", "sms", "email")
# The contact gate's reasons, read as the planner's exclusion cause of the same rule.
GATE_CAUSES: dict[str, str] = {
    "do_not_contact": "do_not_contact",
    "no_consent": "no_consent",
    "over_contact_cap": "over_contact_cap",
    "open_complaint": "open_complaint",
    "control_group": "in_active_round",
    "global_holdout": "global_holdout",
}
DEFAULT_UPLIFT_BY_STAGE: dict[str, float] = {
    "active": 0.02,
    "silent": 0.06,
    "sleeping": 0.04,
    "lost": 0.02,
}


@dataclass(frozen=True)
class RoundConfig:
    """Everything a round plan depends on besides the data; build it with
    :meth:`from_profile` to take the business profile's programme rules."""

    round_start: date
    round_end: date
    statuses: tuple[str, ...] = ROUND_STATUSES
    tiers: tuple[int, ...] | None = None  # None = every tier
    stages: tuple[str, ...] | None = None  # None = every stage except prospect
    holdout_share: float = 0.1
    max_contacts_in_window: int = 4
    contact_window_days: int = 30
    retire_after_rounds: int = 3
    # Control customers stay untouched while their outcome is measured (+90 days).
    control_quarantine_days: int = MEASUREMENT_DAYS
    # Customers in a treated arm of a round that started fewer days ago are excluded.
    recently_treated_days: int = MEASUREMENT_DAYS
    uplift_by_stage: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_UPLIFT_BY_STAGE)
    )
    # Measured and shrunk uplift per segment, keyed "stage|tier" (segment_key); it comes
    # before the stage figure. ``uplift_source`` says where the figures came from.
    uplift_by_segment: Mapping[str, float] = field(default_factory=dict)
    uplift_source: str = "defaults"
    # The design (winback.programme.design): base rate when known (else the candidates'
    # predicted return probability, else ``default_base_rate``), hoped-for effect, test.
    base_rate: float | None = None
    base_rate_source: str | None = None
    default_base_rate: float = 0.10
    hoped_effect: float = 0.04
    design_alpha: float = 0.05
    design_power: float = 0.8
    control_floor: int = 30
    allow_small_control: bool = False
    horizon_days: int = MEASUREMENT_DAYS
    alive_floor: float = 0.05  # P(alive) below this is treated as this (value stays bounded)
    min_expected_value: float = 0.0  # expected margin below this: not worth a call
    # Expected incremental margin (winback.programme.priority): the pure defaults rank by
    # uplift x value; from_profile takes the business's margin and contact cost, the caller
    # the offer catalogue's depth per tier.
    gross_margin: float = 1.0
    contact_cost: float = 0.0  # per customer called in the round
    offer_depth_by_tier: Mapping[int, float] = field(default_factory=dict)
    class_thresholds: ClassThresholds = field(default_factory=ClassThresholds)
    # Share of the places filled uniformly at random among all eligible customers.
    random_share: float = 0.0
    seniority: SeniorityRules = field(default_factory=SeniorityRules)
    hours: ContactHours = field(default_factory=ContactHours)
    holidays: tuple[date, ...] = ()  # non-working days inside the round
    # The day the plan is made: calls are dated from it when it falls inside the round
    # (assignment.first_call_day); None dates them from round_start.
    planning_day: date | None = None
    offer_budget: float | None = None  # currency units; None = per treated x treated
    offer_budget_per_treated: float | None = None  # None (and no offer_budget): no budget cap
    offer_learning: OfferLearning | None = None  # None: the first option is the best fit
    # Tier -> typical basket for offer costs; None computes them from the treated customers
    # (a re-plan passes its round's, so one customer's menu is costed as the plan costed it).
    typical_baskets: Mapping[int, float] | None = None
    menu_size: int = 3
    fit_weights: FitWeights = field(default_factory=FitWeights)
    frequent_interval_days: float = 30.0

    def __post_init__(self) -> None:
        if self.round_end < self.round_start:
            raise ValueError("round_end is before round_start")
        if not 0.0 <= self.holdout_share <= MAX_HOLDOUT_SHARE:
            raise ValueError(f"holdout_share must be in [0, {MAX_HOLDOUT_SHARE}]")
        if not set(self.statuses) <= {"active", "at_risk", "lost"}:
            raise ValueError("statuses must be among active, at_risk, lost")
        if self.stages is not None and not set(self.stages) <= set(STAGES):
            raise ValueError(f"stages must be among {STAGES}")
        if not 0.0 < self.alive_floor <= 1.0:
            raise ValueError("alive_floor must be in (0, 1]")
        if not 0.0 <= self.random_share <= 1.0:
            raise ValueError("random_share must be in [0, 1]")
        if not 0.0 < self.gross_margin <= 1.0:
            raise ValueError("gross_margin must be in (0, 1]")
        if self.contact_cost < 0:
            raise ValueError("contact_cost cannot be negative")

    @classmethod
    def from_profile(
        cls, profile: BusinessProfile, *, round_start: date, round_end: date, **overrides: Any
    ) -> RoundConfig:
        rules = profile.programme
        base = cls(
            round_start=round_start,
            round_end=round_end,
            holdout_share=rules.holdout_share,
            max_contacts_in_window=rules.max_contacts_in_window,
            contact_window_days=rules.contact_window_days,
            retire_after_rounds=rules.retire_after_rounds,
            recently_treated_days=rules.recently_treated_days,
            default_base_rate=rules.default_base_rate,
            hoped_effect=rules.hoped_effect,
            design_alpha=rules.design_alpha,
            design_power=rules.design_power,
            control_floor=rules.control_floor,
            offer_budget_per_treated=rules.offer_budget_per_treated,
            random_share=rules.random_share,
            gross_margin=profile.gross_margin,
            contact_cost=contact_cost(
                agent_minute_cost=rules.agent_minute_cost,
                call_minutes=rules.call_minutes,
                contacts=rules.contacts_per_round,
            ),
        )
        return replace(base, **overrides)


@dataclass(frozen=True)
class RoundInputs:
    """The frames a plan reads (column contracts in :mod:`winback.programme.frames`)."""

    snapshot: pl.DataFrame  # SNAPSHOT
    customers: pl.DataFrame  # CUSTOMER_FLAGS
    agents: pl.DataFrame  # AGENTS
    contacts: pl.DataFrame | None = None  # CONTACT_HISTORY
    complaints: pl.DataFrame | None = None  # COMPLAINTS
    memberships: pl.DataFrame | None = None  # MEMBERSHIPS
    favourites: pl.DataFrame | None = None  # FAVOURITES
    reasons: pl.DataFrame | None = None  # KNOWN_REASONS; from contacts' reason_code if None
    # The contact gate's verdicts: customer_pk, reason (the gate's codes, see GATE_CAUSES).
    blocked: pl.DataFrame | None = None


@dataclass(frozen=True)
class RoundPlan:
    members: pl.DataFrame  # PLAN_MEMBERS: treated and control, sorted by customer_pk
    excluded: pl.DataFrame  # EXCLUSIONS: customer_pk, cause
    waitlist: pl.DataFrame  # eligible beyond capacity: customer_pk, expected_value, rank
    offers: pl.DataFrame  # OFFER_MENU for treated customers
    summary: dict[str, Any]
    design: RoundDesign

    def call_list(self, agent_id: int | None = None) -> pl.DataFrame:
        """Treated, assigned customers in call order (by agent, date, priority)."""
        calls = self.members.filter((pl.col("arm") == "treated") & pl.col("agent_id").is_not_null())
        if agent_id is not None:
            calls = calls.filter(pl.col("agent_id") == agent_id)
        return calls.sort(["agent_id", "planned_date", "priority_rank"])


# --- lifecycle ----------------------------------------------------------------------------------

ROUND_STATES = ("active", "ending", "closed")


def round_closes_on(round_end: date, close_after_days: int = 0) -> date:
    """The first day a round is closed: ``close_after_days`` after its last day, plus one (with
    0 a round of June closes on 1 July, as the next month's round starts)."""
    if close_after_days < 0:
        raise ValueError("close_after_days cannot be negative")
    return round_end + timedelta(days=close_after_days + 1)


def round_state(status: str, round_end: date, on: date, close_after_days: int = 0) -> str:
    """What a round is on ``on``: ``closed`` (closed, or its closing day has come even if the
    closing job has not run yet), ``ending`` (its last day has passed, the closing day not yet:
    calls still count but no new day is planned), else ``active``."""
    if status == "closed" or on >= round_closes_on(round_end, close_after_days):
        return "closed"
    return "ending" if on > round_end else "active"


def candidate_pool(snapshot: pl.DataFrame, config: RoundConfig) -> pl.DataFrame:
    """The snapshot rows that are candidates for the round (before exclusions)."""
    snap = SNAPSHOT.conform(snapshot)
    if snap["customer_pk"].n_unique() != snap.height:
        raise ValueError("the snapshot holds a customer twice")
    stages = config.stages or STAGES
    keep = pl.col("status").is_in(config.statuses) & pl.col("stage").is_in(stages)
    if config.tiers is not None:
        keep = keep & pl.col("tier").is_in(config.tiers)
    return snap.filter(keep)


def segment_key(stage: pl.Expr, tier: pl.Expr) -> pl.Expr:
    """The uplift segment of a customer: ``"stage|tier"``, e.g. ``"lost|2"``."""
    return pl.concat_str([stage.cast(pl.String), tier.cast(pl.String)], separator="|")


def value_if_won_back(alive_floor: float) -> pl.Expr:
    """``clv_365 / P(alive)`` (module doc), never negative."""
    alive = pl.col("p_alive").fill_null(1.0).clip(alive_floor, 1.0)
    return (pl.col("clv_365").fill_null(0.0) / alive).clip(lower_bound=0.0)


def expected_spend(alive_floor: float) -> pl.Expr:
    """Expected spend of the next purchase: the snapshot's ``avg_ticket`` when known, else the
    yearly value if won back spread over the purchases of a year at the personal rhythm."""
    interval = pl.col("expected_interval_days").clip(1.0, 365.0)
    yearly = value_if_won_back(alive_floor)
    return pl.coalesce(pl.col("avg_ticket"), yearly * interval / 365.0).fill_null(0.0)


def with_targeting(
    pool: pl.DataFrame, config: RoundConfig, targeting: Targeting | None = None
) -> pl.DataFrame:
    """``pool`` (SNAPSHOT rows) plus ``predicted_uplift`` (the uplift used), ``p_untreated``,
    ``uplift_class`` and ``expected_value`` (the expected incremental margin, the priority).

    Uplift: the snapshot's ``p_return_uplift``, else the uplift model's prediction (policy
    ``uplift_model``), else the measured segment, else the stage figure. P(return | not
    called): the model's ``p_untreated``, else the snapshot's predicted return within the
    horizon (``expected_purchases_365`` read as a Poisson rate)."""
    frame = pool
    model_uplift: pl.Expr = pl.lit(None, dtype=pl.Float64)
    model_p0: pl.Expr = pl.lit(None, dtype=pl.Float64)
    use_model = targeting is not None and targeting.policy == "uplift_model"
    if use_model and targeting is not None and targeting.predictions is not None:
        preds = UPLIFT_PREDICTIONS.conform(targeting.predictions)
        if preds["customer_pk"].n_unique() != preds.height:
            raise ValueError("uplift predictions: one row per customer")
        frame = frame.join(
            preds.select("customer_pk", _model_uplift="uplift", _model_p0="p_untreated"),
            on="customer_pk",
            how="left",
        )
        model_uplift, model_p0 = pl.col("_model_uplift"), pl.col("_model_p0")
    stage_uplift = pl.col("stage").replace_strict(
        dict(config.uplift_by_stage), default=0.0, return_dtype=pl.Float64
    )
    measured = segment_key(pl.col("stage"), pl.col("tier")).replace_strict(
        dict(config.uplift_by_segment), default=None, return_dtype=pl.Float64
    )
    uplift = pl.coalesce(pl.col("p_return_uplift"), model_uplift, measured, stage_uplift)
    horizon = config.horizon_days / 365.0
    snapshot_p0 = (
        1.0 - (-pl.col("expected_purchases_365").clip(lower_bound=0.0) * horizon).exp()
        if "expected_purchases_365" in frame.columns
        else pl.lit(None, dtype=pl.Float64)
    )
    depth = pl.col("tier").replace_strict(
        {int(k): float(v) for k, v in config.offer_depth_by_tier.items()},
        default=0.0,
        return_dtype=pl.Float64,
    )
    frame = frame.with_columns(
        predicted_uplift=uplift.clip(-1.0, 1.0).cast(pl.Float64),
        p_untreated=pl.coalesce(model_p0, snapshot_p0).clip(0.0, 1.0).cast(pl.Float64),
        _spend=expected_spend(config.alive_floor),
        _depth=depth,
    ).with_columns(
        _typical_offer=typical_offer_cost(pl.col("_spend"), 1.0) * pl.col("_depth"),
        uplift_class=uplift_class(
            pl.col("predicted_uplift"), pl.col("p_untreated"), config.class_thresholds
        ),
    )
    p_called = pl.col("p_untreated").fill_null(config.default_base_rate) + pl.col(
        "predicted_uplift"
    ).fill_null(0.0)
    frame = frame.with_columns(
        expected_value=expected_margin(
            pl.col("predicted_uplift").fill_null(0.0),
            value_if_won_back(config.alive_floor),
            gross_margin=config.gross_margin,
            contact=config.contact_cost,
            offer_cost=expected_offer_cost(p_called, pl.col("_typical_offer")),
        )
    )
    drop = ("_model_uplift", "_model_p0", "_spend", "_depth", "_typical_offer")
    return frame.drop([c for c in drop if c in frame.columns])


def exclusion_causes(
    pool: pl.DataFrame,
    inputs: RoundInputs,
    config: RoundConfig,
    playbooks: Playbooks,
    *,
    as_of: date,
) -> pl.DataFrame:
    """``pool`` (with ``customer_pk``, ``stage``, ``channel``) plus ``cause``: the first
    exclusion cause that applies, in :data:`EXCLUSION_CAUSES` order, or null."""
    # A customer listed twice is read the safe way: any do-not-contact wins, consent must
    # hold on every row.
    flags = (
        CUSTOMER_FLAGS.conform(inputs.customers)
        .group_by("customer_pk")
        .agg(
            pl.col("do_not_contact").fill_null(False).any(),
            pl.col("consent_marketing").fill_null(False).all(),
            pl.col("utc_offset_minutes").drop_nulls().first(),
            pl.col("has_phone").fill_null(False).any(),
            pl.col("has_email").fill_null(False).any(),
        )
    )
    history = CONTACT_HISTORY.conform(
        inputs.contacts if inputs.contacts is not None else CONTACT_HISTORY.empty()
    )
    capped = over_cap_flags(
        pool.select("customer_pk", "stage"),
        history,
        as_of,
        max_contacts=config.max_contacts_in_window,
        window_days=config.contact_window_days,
        playbooks=playbooks,
    ).select("customer_pk", "over_cap")
    frame = (
        pool.join(flags, on="customer_pk", how="left")
        .join(capped, on="customer_pk", how="left")
        .with_columns(
            _complaint=pl.col("customer_pk").is_in(_open_complaints(inputs, as_of).implode()),
            _in_round=pl.col("customer_pk").is_in(_in_active_round(inputs, config).implode()),
            _recent=pl.col("customer_pk").is_in(_recently_treated(inputs, config).implode()),
            _retired=pl.col("customer_pk").is_in(_retired(inputs, config, as_of).implode()),
        )
        .join(_gate_causes(inputs), on="customer_pk", how="left")
        .with_columns(
            channel=reachable_channel(
                pl.col("channel"),
                pl.col("has_phone").fill_null(True),
                pl.col("has_email").fill_null(False),
            )
        )
    )
    # Unknown flags are read the safe way: no flag row means no consent.
    gate = pl.col("_gate_cause")
    tests = {
        "do_not_contact": pl.col("do_not_contact").fill_null(False) | (gate == "do_not_contact"),
        "no_consent": ~pl.col("consent_marketing").fill_null(False) | (gate == "no_consent"),
        "global_holdout": gate == "global_holdout",
        "over_contact_cap": pl.col("over_cap").fill_null(False) | (gate == "over_contact_cap"),
        "open_complaint": pl.col("_complaint") | (gate == "open_complaint"),
        "in_active_round": pl.col("_in_round") | (gate == "in_active_round"),
        "recently_treated": pl.col("_recent"),
        "retired": pl.col("_retired"),
        "no_reachable_channel": pl.col("channel").is_null(),
        "outside_allowed_hours": outside_allowed_hours(
            pl.col("channel"), pl.col("utc_offset_minutes"), config.hours
        ),
    }
    cause: pl.Expr = pl.lit(None, dtype=pl.String)
    for name in reversed(EXCLUSION_CAUSES):
        cause = pl.when(tests[name].fill_null(False)).then(pl.lit(name)).otherwise(cause)
    return frame.with_columns(cause=cause).drop(
        "_complaint", "_in_round", "_recent", "_retired", "over_cap", "_gate_cause"
    )


def can_reach(channel: str, has_phone: pl.Expr, has_email: pl.Expr) -> pl.Expr:
    """Whether the customer has the contact ``channel`` needs."""
    if channel in PHONE_CHANNELS:
        return has_phone
    if channel == "email":
        return has_email
    return pl.lit(True)


def reachable_channel(channel: pl.Expr, has_phone: pl.Expr, has_email: pl.Expr) -> pl.Expr:
    """The playbook's ``channel`` when the customer has the contact it needs, else the first
    of :data:`FALLBACK_CHANNELS` that reaches them, else null (no reachable channel: the
    customer is not tasked). A phone call is never planned for a customer without a number."""
    wanted_ok = (
        pl.when(channel.is_in(PHONE_CHANNELS))
        .then(has_phone)
        .when(channel == "email")
        .then(has_email)
        .otherwise(pl.lit(True))
    )
    fallback: pl.Expr = pl.lit(None, dtype=pl.String)
    for code in reversed(FALLBACK_CHANNELS):
        fallback = (
            pl.when(can_reach(code, has_phone, has_email)).then(pl.lit(code)).otherwise(fallback)
        )
    return pl.when(wanted_ok).then(channel).otherwise(fallback)


def _gate_causes(inputs: RoundInputs) -> pl.DataFrame:
    """The gate's verdicts as exclusion causes: one per customer (the gate gives one)."""
    schema = {"customer_pk": pl.Int64(), "_gate_cause": pl.String()}
    if inputs.blocked is None:
        return pl.DataFrame(schema=schema)
    return (
        inputs.blocked.select(
            pl.col("customer_pk").cast(pl.Int64),
            _gate_cause=pl.col("reason").replace_strict(
                GATE_CAUSES, default=None, return_dtype=pl.String
            ),
        )
        .drop_nulls()
        .unique("customer_pk", keep="first", maintain_order=True)
    )


def _open_complaints(inputs: RoundInputs, as_of: date) -> pl.Series:
    if inputs.complaints is None:
        return pl.Series("customer_pk", [], dtype=pl.Int64)
    return open_complaint_customers(inputs.complaints, as_of)


def open_complaint_customers(complaints: pl.DataFrame, as_of: date) -> pl.Series:
    """Customers with a complaint made by ``as_of`` and not resolved by then: they belong to
    the complaints team, not to a sales or care call (``complaints`` follows COMPLAINTS)."""
    c = COMPLAINTS.conform(complaints)
    still_open = ~pl.col("resolved").fill_null(False) | (
        pl.col("resolved_date").is_not_null() & (pl.col("resolved_date") > as_of)
    )
    return c.filter((pl.col("occurred_date") <= as_of) & still_open)["customer_pk"].unique()


def _in_active_round(inputs: RoundInputs, config: RoundConfig) -> pl.Series:
    if inputs.memberships is None:
        return pl.Series("customer_pk", [], dtype=pl.Int64)
    m = MEMBERSHIPS.conform(inputs.memberships)
    quarantine = timedelta(days=config.control_quarantine_days)
    overlaps = (pl.col("starts") <= config.round_end) & (pl.col("ends") >= config.round_start)
    measured = (pl.col("arm") == "control") & (
        pl.col("ends") + quarantine >= pl.lit(config.round_start)
    )
    return m.filter(overlaps | measured)["customer_pk"].unique()


def _recently_treated(inputs: RoundInputs, config: RoundConfig) -> pl.Series:
    """Customers in a treated arm of a round that started within ``recently_treated_days``
    before this round's start (assignment counts, contacted or not: the comparison is
    intention-to-treat)."""
    if inputs.memberships is None or config.recently_treated_days <= 0:
        return pl.Series("customer_pk", [], dtype=pl.Int64)
    m = MEMBERSHIPS.conform(inputs.memberships)
    since = config.round_start - timedelta(days=config.recently_treated_days)
    recent = (
        (pl.col("arm") == "treated")
        & (pl.col("starts") > since)
        & (pl.col("starts") <= config.round_start)
    )
    return m.filter(recent)["customer_pk"].unique()


def _retired(inputs: RoundInputs, config: RoundConfig, as_of: date) -> pl.Series:
    if inputs.memberships is None:
        return pl.Series("customer_pk", [], dtype=pl.Int64)
    r = retirement(inputs.memberships, retire_after=config.retire_after_rounds, as_of=as_of)
    return r.filter("retired")["customer_pk"]


def _known_reasons(inputs: RoundInputs, as_of: date, taxonomy: Taxonomy) -> pl.DataFrame:
    if inputs.reasons is not None:
        known = KNOWN_REASONS.conform(inputs.reasons)
        if known["customer_pk"].n_unique() != known.height:
            raise ValueError("known reasons: one reason per customer")
    elif inputs.contacts is not None:
        known = latest_reasons(inputs.contacts, as_of)
    else:
        known = KNOWN_REASONS.empty()
    # A code the taxonomy no longer knows reads as "not known yet".
    return known.filter(pl.col("reason_code").is_in(taxonomy.codes))


def plan_round(
    inputs: RoundInputs,
    config: RoundConfig,
    *,
    as_of: date,
    seed: int,
    playbooks: Playbooks | None = None,
    taxonomy: Taxonomy | None = None,
    catalogue: OfferCatalogue | None = None,
    targeting: Targeting | None = None,
) -> RoundPlan:
    """Plan one round from the snapshot as of ``as_of`` (see the module docstring).

    ``targeting`` is the round's targeting policy with its predictions (the stage priors or
    measured segments of ``config`` when None); ``config.random_share`` rules the random draw.
    """
    playbooks = playbooks or Playbooks.default()
    taxonomy = taxonomy or Taxonomy.default()
    catalogue = catalogue or OfferCatalogue.default()
    pool = _pool_with_channels(inputs, config, playbooks, taxonomy, as_of, targeting)
    judged = exclusion_causes(pool, inputs, config, playbooks, as_of=as_of)
    excluded = judged.filter(pl.col("cause").is_not_null()).select("customer_pk", "cause")
    eligible = judged.filter(pl.col("cause").is_null()).drop("cause")

    call_start = first_call_day(config.round_start, config.round_end, config.planning_day)
    days = working_days(call_start, config.round_end, config.holidays)
    capacity = agent_capacity(inputs.agents, days)
    chosen = _select(eligible, capacity, config, seed)
    selected, waitlist = chosen.selected, chosen.waitlist
    assigned = assign_holdout(
        selected,
        share=config.holdout_share,
        seed=seed,
        strata=("tier", "stage"),
        balance=("required_seniority",),
    )
    treated = assigned.filter(pl.col("arm") == "treated")
    menus = plan_menus(treated, inputs, config, playbooks, taxonomy, catalogue, as_of)
    calls = assign_agents(
        treated.join(menus.offer_dates, on="customer_pk", how="left"),
        capacity,
        round_start=call_start,
        holidays=config.holidays,
    )
    members = (
        assigned.join(menus.offer_dates, on="customer_pk", how="left")
        .join(calls.select("customer_pk", "agent_id", "planned_date"), on="customer_pk", how="left")
        .pipe(typed, PLAN_MEMBERS)
        .sort("customer_pk")
    )
    summary = _summary(
        inputs,
        config,
        as_of,
        seed,
        pool,
        excluded,
        selected,
        waitlist,
        assigned,
        members,
        menus.budget,
        days,
    )
    summary["first_call_day"] = call_start.isoformat()
    summary["no_reachable_channel"] = summary["excluded_by_cause"]["no_reachable_channel"]
    summary["places"] = chosen.places
    summary["not_worth_a_call"] = chosen.not_worth
    summary["targeting"] = _targeting_summary(targeting, config, eligible, members)
    design = _design(assigned, config)
    summary["design"] = design.to_json()
    summary["uplift"] = {
        "source": config.uplift_source,
        "by_stage": dict(config.uplift_by_stage),
        "by_segment": dict(config.uplift_by_segment),
    }
    return RoundPlan(
        members=members,
        excluded=typed(excluded, EXCLUSIONS).sort("customer_pk"),
        waitlist=waitlist,
        offers=menus.menu,
        summary=summary,
        design=design,
    )


def _targeting_summary(
    targeting: Targeting | None,
    config: RoundConfig,
    eligible: pl.DataFrame,
    members: pl.DataFrame,
) -> dict[str, Any]:
    """The policy, the random share and the counts by ``selected_by`` and uplift class."""
    policy = targeting or Targeting(
        policy="measured_segments" if config.uplift_by_segment else "stage_priors"
    )
    return {
        **policy.to_json(),
        "random_share": config.random_share,
        "thresholds": {
            "persuadable_uplift": config.class_thresholds.persuadable_uplift,
            "sure_thing_p_untreated": config.class_thresholds.sure_thing_p_untreated,
        },
        "counts": {
            "selected_by": class_counts(members, "selected_by", SELECTED_BY),
            "uplift_class": class_counts(members, "uplift_class", UPLIFT_CLASSES),
            "eligible_uplift_class": class_counts(eligible, "uplift_class", UPLIFT_CLASSES),
        },
    }


def predicted_return_rate(frame: pl.DataFrame, horizon_days: int) -> float | None:
    """The mean predicted chance of a purchase within ``horizon_days``: with
    ``expected_purchases_365`` (the BG/NBD expectation, P(alive) included) read as a Poisson
    rate, ``1 - exp(-E[purchases] * horizon / 365)``. None when no customer has a figure."""
    if "expected_purchases_365" not in frame.columns:
        return None
    rate = frame.select(
        (
            1.0
            - (-pl.col("expected_purchases_365").clip(lower_bound=0.0) * horizon_days / 365.0).exp()
        )
        .drop_nulls()
        .mean()
    ).item()
    return None if rate is None else float(rate)


def _design(assigned: pl.DataFrame, config: RoundConfig) -> RoundDesign:
    base, source = config.base_rate, config.base_rate_source
    if base is None:
        predicted = predicted_return_rate(assigned, config.horizon_days)
        if predicted is not None and 0.0 < predicted < 1.0:
            base, source = predicted, "predicted"
        else:
            base, source = config.default_base_rate, "default"
    n_control = int((assigned["arm"] == "control").sum()) if assigned.height else 0
    return design_round(
        n_treated=assigned.height - n_control,
        n_control=n_control,
        base_rate=float(base),
        base_rate_source=source or "default",
        hoped_effect=config.hoped_effect,
        alpha=config.design_alpha,
        target_power=config.design_power,
        control_floor=config.control_floor,
        small_control_allowed=config.allow_small_control,
        horizon_days=config.horizon_days,
    )


@dataclass(frozen=True)
class _Selection:
    selected: pl.DataFrame  # treated and control together, with ``selected_by``
    waitlist: pl.DataFrame  # worth a call, beyond capacity
    not_worth: int  # eligible, not worth a call, not drawn at random
    places: int  # what capacity offers the eligible customers


def _select(
    eligible: pl.DataFrame, capacity: pl.DataFrame, config: RoundConfig, seed: int
) -> _Selection:
    """The customers agents can serve (treated and control together), and the waitlist."""
    treated_share = 1.0 - config.holdout_share
    # In each (tier, stage, seniority) block the holdout may leave one treated customer more
    # than the share; keeping that many places free guarantees every treated customer fits.
    blocks = eligible.select("tier", "stage", "required_seniority").n_unique()
    margin = math.ceil(blocks / treated_share) if config.holdout_share > 0 else 0
    chosen, places = select_places(
        eligible,
        capacity,
        random_share=config.random_share,
        seed=seed,
        scale=1.0 / treated_share,
        margin=margin,
    )
    left = chosen.filter(~pl.col("selected"))
    waitlist = (
        left.filter("worth")
        .select("customer_pk", "expected_value", "priority_rank")
        .sort("priority_rank")
    )
    return _Selection(
        selected=chosen.filter("selected").drop("selected", "worth"),
        waitlist=waitlist,
        not_worth=left.height - waitlist.height,
        places=places,
    )


def plan_menus(
    treated: pl.DataFrame,
    inputs: RoundInputs,
    config: RoundConfig,
    playbooks: Playbooks,
    taxonomy: Taxonomy,
    catalogue: OfferCatalogue,
    as_of: date,
) -> OfferMenus:
    """Step 6: the treated customers' offer menus (the re-plan after a reason calls it too)."""
    favourites = inputs.favourites if inputs.favourites is not None else FAVOURITES.empty()
    budget = config.offer_budget
    if budget is None and config.offer_budget_per_treated is not None:
        budget = config.offer_budget_per_treated * treated.height
    menus = offer_menus(
        _offer_customers(treated, config.alive_floor),
        favourites,
        catalogue,
        playbooks,
        taxonomy,
        as_of=as_of,
        round_start=config.round_start,
        round_end=config.round_end,
        budget=budget,
        menu_size=config.menu_size,
        weights=config.fit_weights,
        frequent_interval_days=config.frequent_interval_days,
        learning=config.offer_learning,
        baskets=config.typical_baskets,
    )
    menus.budget["budget_per_treated"] = config.offer_budget_per_treated
    return menus


def _pool_with_channels(
    inputs: RoundInputs,
    config: RoundConfig,
    playbooks: Playbooks,
    taxonomy: Taxonomy,
    as_of: date,
    targeting: Targeting | None,
) -> pl.DataFrame:
    pool = candidate_pool(inputs.snapshot, config)
    reasons = _known_reasons(inputs, as_of, taxonomy)
    pool = planned_channels(
        with_targeting(pool, config, targeting).join(reasons, on="customer_pk", how="left"),
        playbooks,
        taxonomy,
    ).with_columns(worth=pl.col("expected_value") >= config.min_expected_value)
    pool = pool.with_columns(
        priority_rank=pl.struct(
            (-pl.col("expected_value")).alias("v"), pl.col("customer_pk").alias("k")
        )
        .rank("ordinal")
        .cast(pl.Int64)
    )
    return with_required_seniority(pool, playbooks, taxonomy, config.seniority)


def planned_channels(frame: pl.DataFrame, playbooks: Playbooks, taxonomy: Taxonomy) -> pl.DataFrame:
    """``frame`` (with ``stage`` and ``reason_code``, null when not known) plus ``channel``:
    the reason's playbook channel when the reason is known, else the stage's first channel
    (the re-plan after a reason, :mod:`winback.programme.replan`, applies the same rule)."""
    reason_channels = playbooks.reason_frame(taxonomy).select(
        "reason_code", _reason_channel="channel"
    )
    stage_channels = playbooks.stage_frame().select("stage", "stage_channel")
    return (
        frame.join(reason_channels, on="reason_code", how="left")
        .join(stage_channels, on="stage", how="left")
        .with_columns(channel=pl.coalesce("_reason_channel", "stage_channel"))
        .drop("_reason_channel", "stage_channel")
    )


def _offer_customers(treated: pl.DataFrame, alive_floor: float) -> pl.DataFrame:
    """Expected spend of the next purchase: the snapshot's ``avg_ticket`` when known, else the
    yearly value if won back spread over the purchases of a year at the personal rhythm."""
    spend = expected_spend(alive_floor)
    return treated.select(
        "customer_pk",
        "tier",
        "stage",
        expected_spend=spend,
        expected_interval_days="expected_interval_days",
        days_since_last="days_since_last",
        reason_code="reason_code",
        expected_value="expected_value",
    )


def _summary(
    inputs: RoundInputs,
    config: RoundConfig,
    as_of: date,
    seed: int,
    pool: pl.DataFrame,
    excluded: pl.DataFrame,
    selected: pl.DataFrame,
    waitlist: pl.DataFrame,
    assigned: pl.DataFrame,
    members: pl.DataFrame,
    budget: dict[str, Any],
    days: int,
) -> dict[str, Any]:
    by_cause = dict(excluded.group_by("cause").len().iter_rows())
    treated = members.filter(pl.col("arm") == "treated")
    strata = {
        str(s): {"treated": int(t), "control": int(c)}
        for s, t, c, _ in strata_sizes(assigned).iter_rows()
    }
    return {
        "as_of": as_of.isoformat(),
        "round_start": config.round_start.isoformat(),
        "round_end": config.round_end.isoformat(),
        "working_days": days,
        "seed": seed,
        "holdout_share": config.holdout_share,
        "population": inputs.snapshot.height,
        "candidates": pool.height,
        "excluded": excluded.height,
        "excluded_by_cause": {c: int(by_cause.get(c, 0)) for c in EXCLUSION_CAUSES},
        "eligible": pool.height - excluded.height,
        "selected": selected.height,
        "waitlisted": waitlist.height,
        "control": members.height - treated.height,
        "treated": treated.height,
        "assigned": int(treated["agent_id"].is_not_null().sum()),
        "treated_unassigned": int(treated["agent_id"].is_null().sum()),
        "per_agent": per_agent_counts(members),
        "strata": strata,
        "offers": budget,
    }

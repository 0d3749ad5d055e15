"""The second contact follows the reason: re-planning a call task when a reason is found (R5).

When a contact records a leave reason, the task's playbook, offer menu and channel are worked
out again with the planner's own rules (:mod:`winback.programme.rounds`), for the same customer
inputs the round was planned from, with the new reason in place of the one the plan knew:

* **Playbook** - the reason's (:meth:`Playbooks.for_reason`).
* **Channel** - :func:`winback.programme.rounds.planned_channels`: the reason playbook's
  channel, else the stage's. A channel the customer cannot be reached on is never chosen
  (:func:`channel_block`: no phone number for phone, SMS or WeChat, no e-mail address for
  e-mail, the planned hour outside the channel's allowed hours in the customer's local time);
  then the task keeps its current channel if that one is allowed, else the first allowed
  channel of the stage's policy, and the block is reported so the page can say why.
* **Offers** - :func:`winback.programme.rounds.plan_menus` (eligibility, depth caps, fairness,
  fit, timing, budget): the customer's snapshot row at the round's planning snapshot, their
  favourite categories, the catalogue, the playbooks, the taxonomy, and the budget the round
  has left. An offer already chosen on the task stays on the menu: a promise made to the
  customer is not withdrawn.

Only a finding re-plans: ``not_found`` (the true reason is not found yet) and an empty code
add nothing to what the plan knew, so the task keeps its plan (:func:`finding`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from winback.programme.fatigue import ContactHours, outside_allowed_hours
from winback.programme.frames import AGENTS, CUSTOMER_FLAGS, SNAPSHOT, Contract
from winback.programme.menus import MenuOffer, OfferMenu
from winback.programme.offers import OfferCatalogue, OfferMenus
from winback.programme.playbooks import Playbooks
from winback.programme.reasons import FALLBACK_CODE
from winback.programme.rounds import RoundConfig, RoundInputs, plan_menus, planned_channels
from winback.programme.taxonomy import Taxonomy

# Why a channel cannot reach a customer, in the order they are checked.
CHANNEL_BLOCKS = ("no_phone", "no_email", "outside_allowed_hours")
PHONE_CHANNELS = ("phone", "sms", "wechat")

# One row per task to re-plan: the new reason and what the task holds now.
REPLAN_TASKS = Contract(
    "replan tasks",
    required={
        "customer_pk": pl.Int64(),
        "reason_code": pl.String(),
        "current_channel": pl.String(),
    },
    optional={
        "expected_value": (pl.Float64(), 0.0),
        "has_phone": (pl.Boolean(), True),
        "has_email": (pl.Boolean(), False),
        "utc_offset_minutes": (pl.Int64(), None),
    },
)


def finding(code: str | None) -> str | None:
    """The reason as something learnt: None for no code and for ``not_found``."""
    return None if not code or code == FALLBACK_CODE else code


def reason_in_force(recorded: str, replanned: str, planned: str) -> str:
    """The reason the task's playbook follows: the latest recorded finding, else the reason
    of the latest re-plan, else the plan's, else what was recorded (``not_found`` or "")."""
    return finding(recorded) or finding(replanned) or finding(planned) or recorded or planned


def channel_block(
    channel: pl.Expr,
    has_phone: pl.Expr,
    has_email: pl.Expr,
    utc_offset: pl.Expr,
    hours: ContactHours,
) -> pl.Expr:
    """Why ``channel`` cannot reach the customer (one of :data:`CHANNEL_BLOCKS`), or null."""
    return (
        pl.when(channel.is_in(PHONE_CHANNELS) & ~has_phone.fill_null(False))
        .then(pl.lit("no_phone"))
        .when((channel == "email") & ~has_email.fill_null(False))
        .then(pl.lit("no_email"))
        .when(outside_allowed_hours(channel, utc_offset, hours))
        .then(pl.lit("outside_allowed_hours"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )


@dataclass(frozen=True)
class Replan:
    channels: pl.DataFrame  # customer_pk, wanted_channel, channel, channel_block
    menus: OfferMenus  # the planner's menus for the new reasons


def replan(
    snapshot: pl.DataFrame,
    tasks: pl.DataFrame,
    favourites: pl.DataFrame,
    config: RoundConfig,
    playbooks: Playbooks,
    taxonomy: Taxonomy,
    catalogue: OfferCatalogue,
    *,
    as_of: date,
) -> Replan:
    """Channel and offer menu of each task of ``tasks`` (:data:`REPLAN_TASKS`) for its new
    reason, from the customers' ``snapshot`` rows at the round's planning snapshot and their
    ``favourites``; ``config`` is the round's (its ``offer_budget`` the budget left), ``as_of``
    the day the round was planned as of (the planner's)."""
    snap = SNAPSHOT.conform(snapshot)
    todo = REPLAN_TASKS.conform(tasks).with_columns(
        reason_code=pl.when(pl.col("reason_code").is_in(taxonomy.codes)).then("reason_code")
    )
    frame = snap.join(todo, on="customer_pk", how="inner")
    wanted = planned_channels(frame, playbooks, taxonomy).rename({"channel": "wanted_channel"})
    channels = _allowed_channels(wanted, playbooks, config.hours)
    inputs = RoundInputs(
        snapshot=snap,
        customers=CUSTOMER_FLAGS.empty(),
        agents=AGENTS.empty(),
        favourites=favourites,
    )
    menus = plan_menus(frame, inputs, config, playbooks, taxonomy, catalogue, as_of)
    return Replan(channels=channels, menus=menus)


def _allowed_channels(
    frame: pl.DataFrame, playbooks: Playbooks, hours: ContactHours
) -> pl.DataFrame:
    """The wanted channel when the customer can be reached on it; else the current one; else
    the stage policy's channels in order; with none allowed, the current one stays."""
    stage_channels = pl.DataFrame(
        {
            "stage": [p.stage for p in playbooks.stage_policies],
            "_stage_channels": [list(p.channels) for p in playbooks.stage_policies],
        },
        schema={"stage": pl.String(), "_stage_channels": pl.List(pl.String())},
    )
    block = channel_block(
        pl.col("_candidate"),
        pl.col("has_phone"),
        pl.col("has_email"),
        pl.col("utc_offset_minutes"),
        hours,
    )
    candidates = (
        frame.join(stage_channels, on="stage", how="left")
        .select(
            "customer_pk",
            "has_phone",
            "has_email",
            "utc_offset_minutes",
            _candidate=pl.concat_list(
                pl.col("wanted_channel"),
                pl.col("current_channel"),
                pl.col("_stage_channels").fill_null(pl.lit([], dtype=pl.List(pl.String()))),
            ),
        )
        .explode("_candidate")
        .with_columns(_order=pl.int_range(pl.len()).over("customer_pk"), _block=block)
    )
    first_allowed = (
        candidates.filter(pl.col("_candidate").is_not_null() & pl.col("_block").is_null())
        .sort(["customer_pk", "_order"])
        .unique("customer_pk", keep="first", maintain_order=True)
        .select("customer_pk", _allowed="_candidate")
    )
    wanted_block = candidates.filter(pl.col("_order") == 0).select(
        "customer_pk", channel_block="_block"
    )
    return (
        frame.select("customer_pk", "wanted_channel", "current_channel")
        .join(first_allowed, on="customer_pk", how="left")
        .join(wanted_block, on="customer_pk", how="left")
        .select(
            "customer_pk",
            "wanted_channel",
            channel=pl.coalesce("_allowed", "current_channel", "wanted_channel"),
            channel_block="channel_block",
        )
        .sort("customer_pk")
    )


def keep_promised(menu: OfferMenu, previous: OfferMenu, chosen: str) -> OfferMenu:
    """``menu`` with the offer already chosen on the task (from ``previous``) kept last when
    the new menu lacks it: an offer promised to the customer stays on the table."""
    if not chosen or chosen in menu.codes:
        return menu
    kept = previous.find(chosen)
    if kept is None:
        return menu
    last = MenuOffer(
        code=kept.code,
        rank=len(menu.offers) + 1,
        kind=kept.kind,
        cost=kept.cost,
        category=kept.category,
        contact_date=kept.contact_date,
    )
    return OfferMenu((*menu.offers, last))


def reserve(menu: OfferMenu) -> float:
    """What a menu holds back of the round's offer budget: its most expensive option (the
    customer picks one), as the planner reserves it."""
    return max((o.cost or 0.0 for o in menu.offers), default=0.0)

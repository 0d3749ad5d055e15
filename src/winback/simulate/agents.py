"""Simulated call-centre agents working a round, driven by the generator's ground truth.

Given a round's call tasks and ``ground_truth.parquet`` (see :mod:`winback.simulate.generator`),
:func:`simulate_contacts` plays each treated customer's calls:

1. **Reaching** - up to two tries, one working day apart, each answered with the customer's
   ``reachability`` (a wrong number now and then ends the attempt).
2. **Diagnosis** on the first contact that reaches the customer: the true ``leave_reason``
   with probability ``diagnosis_accuracy``, else ``not_found`` or a random other reason. A few
   customers ask not to be contacted again.
3. **Playbook contact** a week later (the third and last allowed attempt): the first offer of
   the menu is presented; the customer is won back with the true individual effect of
   :mod:`winback.simulate.response`: :func:`~winback.simulate.response.call_lift` of the
   customer's hidden ``offer_responsiveness``, lateness (days since the last purchase over the
   expected interval) and P(alive) at the round's planning snapshot, times
   :func:`~winback.simulate.response.offer_multiplier` of the presented offer against the true
   reason's playbook preference, times ``wrong_reason_penalty`` when the diagnosed reason is
   wrong (the playbook then misses the point); capped at 1. Won-back customers promise a
   return date; the rest decline.

:func:`return_orders` then draws, for won-back customers, the purchases they make within 90
days of the round start: the first near the promised date with the offer's coupon, sometimes a
second one. A customer who comes back within that window anyway (``returns_anyway``: a natural
purchase in the history) keeps the natural history alone: the call changed nothing for them,
so no purchase is added. Every row is labelled simulated. Control customers are never
contacted here: they keep their natural history.

The response level (``realistic`` by default, ``large`` for demonstrations; see
:data:`~winback.simulate.response.RESPONSE_SCALES`) is the world's: the ground truth's
``response`` column, unless the caller names one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from winback.programme.offers import OfferCatalogue
from winback.programme.playbooks import Playbooks
from winback.programme.reasons import FALLBACK_CODE, REASON_CODES
from winback.programme.taxonomy import Taxonomy
from winback.simulate.response import (
    DEFAULT_RESPONSE,
    call_lift,
    offer_multiplier,
    response_scale,
)

TASKS_COLUMNS = ("task_id", "customer_pk", "external_id", "arm", "planned_date")
# What the response depends on at the round's planning snapshot (null when unknown: a
# customer without a purchase has no lateness, and the call moves them not at all).
RESPONSE_INPUTS = ("days_since_last", "expected_interval_days", "p_alive")
DEFAULT_REACHABILITY = 0.6
DEFAULT_RESPONSIVENESS = 0.1
WINDOW_DAYS = 90


@dataclass(frozen=True)
class AgentBehaviour:
    diagnosis_accuracy: float = 0.7  # the true reason is found on the first contact
    not_found_share: float = 0.6  # of the misses, how many end as not_found (rest: wrong code)
    do_not_contact_rate: float = 0.03  # reached customers who ask not to be called again
    wrong_number_rate: float = 0.02
    wrong_reason_penalty: float = 0.5  # win probability multiplier when the reason is wrong
    playbook_delay_days: int = 7
    second_purchase_rate: float = 0.4


def simulate_contacts(
    tasks: pl.DataFrame,
    truth: pl.DataFrame,
    *,
    seed: int,
    behaviour: AgentBehaviour = AgentBehaviour(),
    response: str | None = None,
) -> pl.DataFrame:
    """One row per simulated contact attempt of a treated task.

    ``tasks`` needs :data:`TASKS_COLUMNS` and may hold ``offer_code`` (the menu's first offer),
    ``is_price`` (whether that offer is a price offer; looked up in the default catalogue when
    missing) and :data:`RESPONSE_INPUTS` (missing: unknown). ``response`` names the response
    level; None reads the ground truth's ``response`` column (``realistic`` without one).
    Returns ``task_id``, ``customer_pk``, ``attempt`` (1-based), ``occurred_date``, ``outcome``,
    ``reason_code``, ``offer_code``, ``promised_return_date``, ``won_back`` and ``simulated``.
    """
    base = _with_truth(tasks.filter(pl.col("arm") == "treated"), truth).sort("task_id")
    n = base.height
    rng = np.random.default_rng(seed)
    reach = base["reachability"].to_numpy()
    u = rng.random((n, 8))
    wrong_number = u[:, 0] < behaviour.wrong_number_rate
    first_reached = ~wrong_number & (u[:, 1] < reach)
    second_reached = ~wrong_number & ~first_reached & (u[:, 2] < reach)
    reached = first_reached | second_reached
    dnc = reached & (u[:, 3] < behaviour.do_not_contact_rate)
    reason = _diagnosed(base["true_reason"], u[:, 4], u[:, 5], behaviour)
    right = (reason == base["true_reason"]).fill_null(False).to_numpy()
    p_win = win_probability(base, truth_response(truth, response)) * np.where(
        right, 1.0, behaviour.wrong_reason_penalty
    )
    p_win = np.clip(p_win, 0.0, 1.0)
    playbook = reached & ~dnc
    won = playbook & (u[:, 6] < p_win)
    start = base["planned_date"]
    reach_day = np.where(first_reached, 0, 1)
    promise_days = 3 + np.floor(u[:, 7] * 18).astype(np.int64)
    frame = base.select("task_id", "customer_pk", "offer_code").with_columns(
        planned=start,
        first_reached=pl.Series(first_reached),
        reached=pl.Series(reached),
        wrong_number=pl.Series(wrong_number),
        dnc=pl.Series(dnc),
        playbook=pl.Series(playbook),
        won=pl.Series(won),
        reason=reason,
        reach_day=pl.Series(reach_day, dtype=pl.Int64),
        promise_days=pl.Series(promise_days, dtype=pl.Int64),
    )
    return _attempt_rows(frame, behaviour)


def truth_response(truth: pl.DataFrame, response: str | None = None) -> str:
    """The response level: ``response`` when given, else the world's (the ground truth's
    ``response`` column), else the default; checked against the known levels."""
    if response is None and "response" in truth.columns:
        levels = truth["response"].drop_nulls().unique().to_list()
        if len(levels) > 1:
            raise ValueError(f"the ground truth mixes response levels: {sorted(levels)}")
        response = str(levels[0]) if levels else None
    chosen = response or DEFAULT_RESPONSE
    response_scale(chosen)
    return chosen


def reason_preferences() -> pl.DataFrame:
    """The offer preference (``price``, ``perk`` or null) of each true reason's default
    playbook: what kind of offer suits the customer's real reason for leaving."""
    return (
        Playbooks.default()
        .reason_frame(Taxonomy.default())
        .select(true_reason="reason_code", preference="offer_preference")
    )


def win_probability(base: pl.DataFrame, response: str) -> np.ndarray:
    """The true probability that a reached customer is won back by the presented offer (before
    the wrong-reason penalty): the call's lift times the offer's multiplier, capped at 1."""
    days = base["days_since_last"].cast(pl.Float64)
    interval = base["expected_interval_days"].cast(pl.Float64)
    lateness = (days / interval.replace(0.0, None)).fill_null(float("nan")).to_numpy()
    lift = call_lift(
        base["responsiveness"].to_numpy(),
        lateness,
        base["p_alive"].cast(pl.Float64).fill_null(float("nan")).to_numpy(),
        response=response,
    )
    with_pref = base.select("true_reason", "offer_code", "is_price").join(
        reason_preferences(), on="true_reason", how="left", maintain_order="left"
    )
    factor = offer_multiplier(
        with_pref["offer_code"].to_numpy(),
        with_pref["is_price"].fill_null(False).to_numpy(),
        with_pref["preference"].to_numpy(),
    )
    out: np.ndarray = np.clip(lift * factor, 0.0, 1.0)
    return out


def _with_truth(tasks: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    gt = truth.select(
        pl.col("external_id").cast(pl.String),
        true_reason=pl.col("leave_reason").cast(pl.String),
        reachability=pl.col("reachability").cast(pl.Float64),
        responsiveness=pl.col("offer_responsiveness").cast(pl.Float64),
        preferred_category=pl.col("preferred_category").cast(pl.String),
        latent_value=pl.col("latent_value").cast(pl.Float64),
    )
    if "offer_code" not in tasks.columns:
        tasks = tasks.with_columns(offer_code=pl.lit(None, dtype=pl.String))
    if "is_price" not in tasks.columns:
        kinds = OfferCatalogue.default().frame().select("offer_code", "is_price")
        tasks = tasks.join(kinds, on="offer_code", how="left", maintain_order="left")
    tasks = tasks.with_columns(
        pl.lit(None, dtype=pl.Float64).alias(c) for c in RESPONSE_INPUTS if c not in tasks.columns
    )
    return tasks.join(gt, on="external_id", how="left", maintain_order="left").with_columns(
        reachability=pl.col("reachability").fill_null(DEFAULT_REACHABILITY).clip(0.0, 1.0),
        responsiveness=pl.col("responsiveness").fill_null(DEFAULT_RESPONSIVENESS).clip(0.0, 1.0),
        latent_value=pl.col("latent_value").fill_null(1.0),
    )


def _diagnosed(
    true_reason: pl.Series, u_hit: np.ndarray, u_other: np.ndarray, b: AgentBehaviour
) -> pl.Series:
    """The reason the agent records: the truth, not_found, or a wrong code."""
    codes = [c for c in REASON_CODES if c != FALLBACK_CODE]
    wrong = pl.Series(np.array(codes)[np.floor(u_other * len(codes)).astype(np.int64)])
    hit = pl.Series(u_hit < b.diagnosis_accuracy)
    not_found = pl.Series(u_other < b.not_found_share)  # reused draw: only its share matters
    return (
        pl.DataFrame({"t": true_reason, "hit": hit, "nf": not_found, "w": wrong})
        .select(
            pl.when(pl.col("hit") & pl.col("t").is_not_null())
            .then(pl.col("t"))
            .when(pl.col("nf") | pl.col("t").is_null())
            .then(pl.lit(FALLBACK_CODE))
            .otherwise(pl.col("w"))
        )
        .to_series()
        .alias("reason")
    )


def _attempt_rows(f: pl.DataFrame, b: AgentBehaviour) -> pl.DataFrame:
    day = pl.col("planned")
    none_str = pl.lit(None, dtype=pl.String)
    none_day = pl.lit(None, dtype=pl.Date)
    first = f.select(
        "task_id",
        "customer_pk",
        attempt=pl.lit(1, dtype=pl.Int64),
        occurred_date=day,
        outcome=pl.when("wrong_number")
        .then(pl.lit("wrong_number"))
        .when(pl.col("first_reached") & pl.col("dnc"))
        .then(pl.lit("do_not_contact"))
        .when("first_reached")
        .then(pl.lit("reached"))
        .otherwise(pl.lit("not_reached")),
        reason_code=pl.when(pl.col("first_reached") & ~pl.col("dnc")).then("reason"),
        offer_code=none_str,
        promised_return_date=none_day,
        won_back=pl.lit(False),
    )
    retry = f.filter(~pl.col("wrong_number") & ~pl.col("first_reached")).select(
        "task_id",
        "customer_pk",
        attempt=pl.lit(2, dtype=pl.Int64),
        occurred_date=day + pl.duration(days=1),
        outcome=pl.when(pl.col("reached") & pl.col("dnc"))
        .then(pl.lit("do_not_contact"))
        .when("reached")
        .then(pl.lit("reached"))
        .otherwise(pl.lit("not_reached")),
        reason_code=pl.when(pl.col("reached") & ~pl.col("dnc")).then("reason"),
        offer_code=none_str,
        promised_return_date=none_day,
        won_back=pl.lit(False),
    )
    contact_day = day + pl.duration(days=pl.col("reach_day") + b.playbook_delay_days)
    playbook = f.filter("playbook").select(
        "task_id",
        "customer_pk",
        attempt=pl.col("reach_day") + 2,
        occurred_date=contact_day,
        outcome=pl.when("won").then(pl.lit("reached")).otherwise(pl.lit("refused")),
        reason_code=pl.col("reason"),
        offer_code=pl.when("won").then("offer_code"),
        promised_return_date=pl.when("won").then(
            contact_day + pl.duration(days=pl.col("promise_days"))
        ),
        won_back=pl.col("won"),
    )
    return (
        pl.concat([first, retry, playbook], how="vertical_relaxed")
        .with_columns(simulated=pl.lit(True))
        .sort(["occurred_date", "task_id", "attempt"])
    )


def return_orders(
    contacts: pl.DataFrame,
    tasks: pl.DataFrame,
    truth: pl.DataFrame,
    *,
    round_start: date,
    seed: int,
    behaviour: AgentBehaviour = AgentBehaviour(),
) -> pl.DataFrame:
    """Purchases of won-back customers within 90 days of ``round_start``.

    ``tasks`` may hold ``avg_ticket`` (currency units, the customer's usual basket; 100 when
    missing), ``category_code`` (the offer's category) and ``returns_anyway`` (the customer
    comes back within the window without the call: no purchase is added). Returns ``task_id``,
    ``customer_pk``, ``seq``, ``order_date``, ``amount_cents``, ``coupon_code``,
    ``category_code`` and ``simulated``.
    """
    won = contacts.filter("won_back").select(
        "task_id", "customer_pk", "offer_code", "promised_return_date", "occurred_date"
    )
    extra = [c for c in ("avg_ticket", "category_code", "returns_anyway") if c in tasks.columns]
    won = won.join(
        _with_truth(tasks.select("task_id", "external_id", *extra), truth).select(
            "task_id", "latent_value", "preferred_category", *extra
        ),
        on="task_id",
        how="left",
    ).sort("task_id")
    if "returns_anyway" in won.columns:
        won = won.filter(~pl.col("returns_anyway").fill_null(False)).drop("returns_anyway")
    if "avg_ticket" not in won.columns:
        won = won.with_columns(avg_ticket=pl.lit(None, dtype=pl.Float64))
    if "category_code" not in won.columns:
        won = won.with_columns(category_code=pl.lit(None, dtype=pl.String))
    n = won.height
    rng = np.random.default_rng(seed)
    jitter = np.rint(rng.normal(0.0, 4.0, size=n)).astype(np.int64)
    gap = 10 + np.floor(rng.random(n) * 40).astype(np.int64)
    second = rng.random(n) < behaviour.second_purchase_rate
    spend = rng.lognormal(0.0, 0.3, size=(n, 2))
    last_day = round_start + timedelta(days=WINDOW_DAYS - 1)
    ticket = pl.col("avg_ticket").fill_null(100.0).clip(lower_bound=1.0)
    first_day = pl.max_horizontal(
        pl.col("promised_return_date") + pl.duration(days=pl.col("jitter")),
        pl.col("occurred_date") + pl.duration(days=1),
    )
    base = won.with_columns(
        jitter=pl.Series(jitter, dtype=pl.Int64),
        gap=pl.Series(gap, dtype=pl.Int64),
        second=pl.Series(second),
        s1=pl.Series(spend[:, 0]),
        s2=pl.Series(spend[:, 1]),
        category_code=pl.coalesce("category_code", "preferred_category"),
    ).with_columns(first_day=first_day)
    one = base.select(
        "task_id",
        "customer_pk",
        seq=pl.lit(1, dtype=pl.Int64),
        order_date=pl.col("first_day"),
        amount_cents=(ticket * pl.col("latent_value").clip(0.2, 5.0) * pl.col("s1") * 100)
        .round()
        .cast(pl.Int64),
        coupon_code=pl.col("offer_code"),
        category_code="category_code",
    )
    two = base.filter("second").select(
        "task_id",
        "customer_pk",
        seq=pl.lit(2, dtype=pl.Int64),
        order_date=pl.col("first_day") + pl.duration(days=pl.col("gap")),
        amount_cents=(ticket * pl.col("latent_value").clip(0.2, 5.0) * pl.col("s2") * 100)
        .round()
        .cast(pl.Int64),
        coupon_code=pl.lit(None, dtype=pl.String),
        category_code="category_code",
    )
    return (
        pl.concat([one, two], how="vertical_relaxed")
        .filter(pl.col("order_date") <= last_day)
        .with_columns(simulated=pl.lit(True))
        .sort(["customer_pk", "seq"])
    )

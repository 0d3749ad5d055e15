"""The contact gate: may these customers be contacted now, and if not, why (R6, R7, R13).

Every path that puts a customer in front of an agent or a message asks here: round planning,
the agents' call lists and follow-ups, care calls, greetings and the day list, early
warnings, call-list exports and every logged contact. One rule, one place; the reasons are
stable codes, checked in this order (the first that applies is given):

``do_not_contact``
    the record says so, or the customer once answered so (an import cannot lift it);
``no_consent``
    no marketing consent, where the contact is marketing (every path today: a win-back or
    care call can turn into selling, so the safe reading applies);
``control_group``
    a member of a round's control arm until that round's last measurement window closes
    (:data:`winback.programme.attribution.MEASUREMENT_DAYS` after it starts): contacting
    them would spoil the comparison that says whether the programme works;
``global_holdout``
    a member of the business-wide holdout (``programme.global_holdout_share`` of the base,
    chosen by a fixed hash of the customer's id and ``programme.global_holdout_seed``, see
    :func:`winback.programme.holdout.in_global_holdout`): the programme never contacts them,
    so their came-back rate measures the programme as a whole;
``open_complaint``
    a complaint still open belongs to the complaints team
    (:func:`winback.programme.rounds.open_complaint_customers`, the planner's rule);
``over_contact_cap``
    at or over the business-wide or the stage's contact cap across all channels
    (:func:`winback.programme.fatigue.over_cap_flags` with the settings in force). Contacts
    logged on a round's own call tasks do not count against that round's calls: the plan
    judged the cap when it chose the customer, and the round's own cap
    (``contacts_per_round``) governs its sequence.

"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

import polars as pl
from django.utils import timezone

from winback.app.settings.profile import current_profile
from winback.app.settings.rules import current_rules
from winback.programme.attribution import MEASUREMENT_DAYS
from winback.programme.fatigue import over_cap_flags
from winback.programme.holdout import in_global_holdout
from winback.programme.rounds import open_complaint_customers
from winback.store import gate_queries

REASONS = (
    "do_not_contact",
    "no_consent",
    "control_group",
    "global_holdout",
    "open_complaint",
    "over_contact_cap",
)
VERDICT_SCHEMA: dict[str, pl.DataType] = {
    "customer_pk": pl.Int64(),
    "allowed": pl.Boolean(),
    "reason": pl.String(),
}


class ContactNotAllowed(Exception):
    """The customer may not be contacted now; ``code`` says why (a gate reason, or a call
    task's own state: ``over_contact_cap`` for the round's cap, ``task_closed``)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class CapRules:
    """The fatigue settings in force."""

    max_contacts: int
    window_days: int

    @classmethod
    def current(cls) -> CapRules:
        rules = current_profile().programme
        return cls(rules.max_contacts_in_window, rules.contact_window_days)


def today() -> date:
    """Today in the business's time zone: the day the gate judges when no day is given."""
    return timezone.localtime(timezone.now(), ZoneInfo(current_profile().time_zone)).date()


def verdicts(
    customers: pl.DataFrame | Sequence[int], *, on: date, marketing: bool = True
) -> pl.DataFrame:
    """``customer_pk, allowed, reason`` for each distinct customer asked about, on ``on``.

    ``customers`` is a list of ids or a frame with ``customer_pk`` and optionally
    ``round_id``: the round whose call task the contact belongs to (its own contacts do not
    count toward the caps; see the module doc). A customer listed with two rounds gets the
    stricter verdict.
    """
    asked = _asked(customers)
    ids = asked["customer_pk"].unique().to_list()
    few = ids if len(ids) <= gate_queries.ID_FILTER_LIMIT else None
    flags = gate_queries.blocking_flags(few)
    controls = gate_queries.measured_controls(on, MEASUREMENT_DAYS, few)
    complaints = gate_queries.complaints(on, few)
    rules = current_profile().programme
    held = pl.Series(
        in_global_holdout(ids, share=rules.global_holdout_share, seed=rules.global_holdout_seed)
    )
    tests = {
        "do_not_contact": _member(flags.filter("do_not_contact")["customer_pk"]),
        "no_consent": _member(flags.filter(~pl.col("consent_marketing"))["customer_pk"])
        & pl.lit(marketing),
        "control_group": _member(controls["customer_pk"]),
        "global_holdout": _member(pl.Series(ids, dtype=pl.Int64).filter(held)),
        "open_complaint": _member(open_complaint_customers(complaints, on)),
        "over_contact_cap": pl.col("over_cap"),
    }
    reason: pl.Expr = pl.lit(None, dtype=pl.String)
    for name in reversed(REASONS):
        reason = pl.when(tests[name]).then(pl.lit(name)).otherwise(reason)
    return (
        _with_caps(asked, on, few)
        .with_columns(reason=reason)
        .with_columns(_rank=_rank(pl.col("reason")))
        .sort(["customer_pk", "_rank"])
        .unique("customer_pk", keep="first", maintain_order=True)
        .select("customer_pk", allowed=pl.col("reason").is_null(), reason="reason")
    )


def _with_caps(asked: pl.DataFrame, on: date, few: list[int] | None) -> pl.DataFrame:
    """``asked`` plus ``over_cap`` per (customer, round) pair, by the fatigue rules in force:
    contacts on the asked round's own call tasks are left out of that pair's count."""
    playbooks = current_rules().playbooks
    caps = CapRules.current()
    longest = max([caps.window_days, *(p.window_days for p in playbooks.stage_policies)])
    history = gate_queries.recent_contacts(on, longest, few)
    stages = gate_queries.recent_stages(on, longest, few)
    pairs = (
        asked.unique(maintain_order=True)
        .with_row_index("_key")
        .with_columns(pl.col("_key").cast(pl.Int64))
    )
    counted = pairs.join(history, on="customer_pk", how="inner").filter(
        pl.col("task_round_id").is_null()
        | pl.col("round_id").is_null()
        | (pl.col("task_round_id") != pl.col("round_id"))
    )
    # The pair's key stands in for the customer, so each pair is counted on its own.
    capped = over_cap_flags(
        pairs.join(stages, on="customer_pk", how="left").select(
            pl.col("_key").alias("customer_pk"), "stage"
        ),
        counted.select(
            pl.col("_key").alias("customer_pk"), "occurred_date", "channel", "outcome", "direction"
        ),
        on,
        max_contacts=caps.max_contacts,
        window_days=caps.window_days,
        playbooks=playbooks,
    ).select(pl.col("customer_pk").alias("_key"), "over_cap")
    return (
        pairs.join(capped, on="_key", how="left")
        .with_columns(pl.col("over_cap").fill_null(False))
        .drop("_key")
    )


def allowed_only(
    frame: pl.DataFrame, *, on: date, marketing: bool = True, key: str = "customer_pk"
) -> pl.DataFrame:
    """The rows of ``frame`` whose customer (column ``key``) the gate lets through."""
    asked = frame.select(pl.col(key).alias("customer_pk"), *_round_col(frame))
    ok = verdicts(asked, on=on, marketing=marketing).filter("allowed")
    return frame.join(ok.select(pl.col("customer_pk").alias(key)), on=key, how="semi")


def blocked_ids(customer_ids: Sequence[int], *, on: date, marketing: bool = True) -> list[int]:
    """The customers of ``customer_ids`` the gate stops (for lists paged in the database)."""
    judged = verdicts(list(customer_ids), on=on, marketing=marketing)
    return judged.filter(~pl.col("allowed"))["customer_pk"].to_list()


def blocked_tasks(tasks: Iterable[tuple[int, int, int]], *, on: date) -> list[int]:
    """The call tasks, of ``(task_id, customer_pk, round_id)``, whose customer the gate stops
    for that task's round: the ones no list may show and no agent may work."""
    frame = pl.DataFrame(
        list(tasks),
        schema={"task_id": pl.Int64(), "customer_pk": pl.Int64(), "round_id": pl.Int64()},
        orient="row",
    )
    if frame.is_empty():
        return []
    judged = verdicts(frame.select("customer_pk", "round_id"), on=on, marketing=True)
    stopped = judged.filter(~pl.col("allowed")).select("customer_pk")
    return frame.join(stopped, on="customer_pk", how="semi")["task_id"].to_list()


def reason_for(
    customer_pk: int, *, on: date, round_id: int | None = None, marketing: bool = True
) -> str | None:
    """The reason the gate stops the customer on ``on``, or None when it lets them through."""
    asked = pl.DataFrame(
        {"customer_pk": [customer_pk], "round_id": [round_id]},
        schema={"customer_pk": pl.Int64(), "round_id": pl.Int64()},
    )
    reason = verdicts(asked, on=on, marketing=marketing)["reason"][0]
    return None if reason is None else str(reason)


def check(
    customer_pk: int, *, on: date, round_id: int | None = None, marketing: bool = True
) -> None:
    """Raise :class:`ContactNotAllowed` with the reason when the customer may not be
    contacted on ``on`` (the single-customer form of :func:`verdicts`)."""
    reason = reason_for(customer_pk, on=on, round_id=round_id, marketing=marketing)
    if reason is not None:
        raise ContactNotAllowed(reason)


def _asked(customers: pl.DataFrame | Sequence[int]) -> pl.DataFrame:
    if not isinstance(customers, pl.DataFrame):
        customers = pl.DataFrame(
            {"customer_pk": list(customers)}, schema={"customer_pk": pl.Int64()}
        )
    rounds = pl.col("round_id") if "round_id" in customers.columns else pl.lit(None)
    return customers.select(
        pl.col("customer_pk").cast(pl.Int64), rounds.cast(pl.Int64).alias("round_id")
    )


def _round_col(frame: pl.DataFrame) -> list[pl.Expr]:
    return [pl.col("round_id")] if "round_id" in frame.columns else []


def _member(ids: pl.Series) -> pl.Expr:
    return pl.col("customer_pk").is_in(ids.cast(pl.Int64).implode())


def _rank(reason: pl.Expr) -> pl.Expr:
    """Blocked rows before allowed ones, so a customer asked twice keeps the stricter."""
    return reason.replace_strict(
        {r: i for i, r in enumerate(REASONS)}, default=len(REASONS), return_dtype=pl.Int64
    )

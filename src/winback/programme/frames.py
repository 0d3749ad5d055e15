"""Column contracts of the programme rules, declared once and checked where frames enter.

Every public function of :mod:`winback.programme` that takes a frame conforms it to one of the
contracts below first: required columns must be present (a clear ``ValueError`` names the frame
and the missing columns), optional columns are filled with their default when absent, every
column is cast to its declared type and extra columns are dropped. Dates are business-local
calendar dates; money in these frames is in currency units (floats) unless the name ends in
``_cents``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from winback import candidate_frames


@dataclass(frozen=True)
class Contract:
    """A frame's columns: required ones and optional ones with the default used when absent."""

    name: str
    required: Mapping[str, pl.DataType]
    optional: Mapping[str, tuple[pl.DataType, Any]] = field(default_factory=dict)

    @property
    def columns(self) -> dict[str, pl.DataType]:
        cols = dict(self.required)
        cols.update({c: t for c, (t, _) in self.optional.items()})
        return cols

    @classmethod
    def from_columns(
        cls, name: str, columns: Mapping[str, pl.DataType], defaults: Mapping[str, Any]
    ) -> Contract:
        """The contract of a frame whose ``columns`` are declared elsewhere: those with a
        default in ``defaults`` are optional, the others required. The optional ones must come
        last, so the conformed frame keeps ``columns``' order."""
        unknown = [c for c in defaults if c not in columns]
        if unknown:
            raise ValueError(f"{name}: defaults for columns it does not have: {unknown}")
        names = list(columns)
        if set(names[len(names) - len(defaults) :]) != set(defaults):
            raise ValueError(f"{name}: the optional columns {list(defaults)} must come last")
        return cls(
            name,
            required={c: t for c, t in columns.items() if c not in defaults},
            optional={c: (columns[c], defaults[c]) for c in names if c in defaults},
        )

    def empty(self) -> pl.DataFrame:
        return pl.DataFrame(schema=self.columns)

    def conform(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Return ``frame`` with exactly this contract's columns, typed; raise if any is missing."""
        missing = [c for c in self.required if c not in frame.columns]
        if missing:
            raise ValueError(f"{self.name} frame lacks columns {missing}")
        exprs: list[pl.Expr] = [pl.col(c).cast(t) for c, t in self.required.items()]
        for col, (dtype, default) in self.optional.items():
            if col in frame.columns:
                exprs.append(pl.col(col).cast(dtype))
            else:
                exprs.append(pl.lit(default, dtype=dtype).alias(col))
        try:
            return frame.select(exprs)
        except pl.exceptions.PolarsError as exc:
            raise ValueError(f"{self.name} frame has a column of the wrong type: {exc}") from exc


def typed(frame: pl.DataFrame, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """``frame`` reduced to ``schema``'s columns, in its order, cast to its types."""
    return frame.select([pl.col(c).cast(t) for c, t in schema.items()])


# --- inputs ------------------------------------------------------------------------------------

# The analytics snapshot columns the programme reads (winback.analytics.frames.SNAPSHOT).
SNAPSHOT = Contract(
    "snapshot",
    required={
        "customer_pk": pl.Int64(),
        "stage": pl.String(),
        "status": pl.String(),
        "tier": pl.Int64(),
        "clv_365": pl.Float64(),
        "expected_interval_days": pl.Float64(),
        "days_since_last": pl.Int64(),
    },
    optional={
        "customer_type": (pl.String(), None),
        "p_alive": (pl.Float64(), None),
        "churn_score": (pl.Float64(), None),
        "value_index": (pl.Float64(), None),
        "expected_purchases_365": (pl.Float64(), None),
        "abc_class": (pl.String(), None),
        # Measured or modelled uplift of P(return) when contacted; a stage default when null.
        "p_return_uplift": (pl.Float64(), None),
        # Expected spend of the next purchase (currency units); derived from CLV when null.
        "avg_ticket": (pl.Float64(), None),
    },
)

CUSTOMER_FLAGS = Contract(
    "customer flags",
    required={
        "customer_pk": pl.Int64(),
        "do_not_contact": pl.Boolean(),
        "consent_marketing": pl.Boolean(),
    },
    optional={
        # Minutes east of UTC of the customer's local time; the business's own when null.
        "utc_offset_minutes": (pl.Int64(), None),
        "birthday": (pl.Date(), None),
        # Whether the customer has a phone number / an e-mail address; unknown phone reads
        # as present (older frames), unknown e-mail as absent.
        "has_phone": (pl.Boolean(), True),
        "has_email": (pl.Boolean(), False),
    },
)

# The round planner's candidate frames (winback.candidate_frames): a contact's direction is
# outbound when not given; a complaint not marked resolved is open.
CONTACT_HISTORY = Contract.from_columns(
    "contact history",
    candidate_frames.CONTACT_HISTORY,
    {"direction": "outbound", "reason_code": None},
)

COMPLAINTS = Contract.from_columns(
    "complaints", candidate_frames.COMPLAINTS, {"resolved": False, "resolved_date": None}
)

# Past and running round membership: one row per customer per round.
MEMBERSHIPS = Contract(
    "round memberships",
    required={
        "customer_pk": pl.Int64(),
        "round_id": pl.String(),
        "starts": pl.Date(),
        "ends": pl.Date(),
        "arm": pl.String(),  # "treated" | "control"
    },
    optional={"returned": (pl.Boolean(), None)},  # null while not yet known
)

AGENTS = Contract(
    "agents",
    required={
        "agent_id": pl.Int64(),
        "seniority": pl.Int64(),  # 1 junior .. 3 senior
        "daily_capacity": pl.Int64(),  # customers per working day
    },
)

FAVOURITES = Contract(
    "favourite categories",
    required={"customer_pk": pl.Int64(), "category_code": pl.String()},
    optional={
        "spend_share": (pl.Float64(), 1.0),  # the category's share of the customer's spend
        "replenishment_days": (pl.Int64(), None),
    },
)

KNOWN_REASONS = Contract(
    "known reasons", required={"customer_pk": pl.Int64(), "reason_code": pl.String()}
)

REASON_RECORDS = Contract(
    "reason records",
    required={
        "customer_pk": pl.Int64(),
        "recorded_date": pl.Date(),
        "reason_code": pl.String(),
    },
)

# The customers an offer menu is built for (rounds derive it from the snapshot).
OFFER_CUSTOMERS = Contract(
    "offer customers",
    required={
        "customer_pk": pl.Int64(),
        "tier": pl.Int64(),
        "stage": pl.String(),
        "expected_spend": pl.Float64(),  # expected spend of the next purchase
        "expected_interval_days": pl.Float64(),
        "days_since_last": pl.Int64(),
    },
    optional={
        "reason_code": (pl.String(), None),
        "expected_value": (pl.Float64(), 0.0),  # expected incremental value (budget greedy)
    },
)

# --- monitoring inputs -------------------------------------------------------------------------

ROUND_ARMS = Contract(
    "round arms",
    required={"customer_pk": pl.Int64(), "arm": pl.String()},
    optional={"stratum": (pl.String(), None)},
)
OUTCOME_ORDERS = Contract(
    "orders",
    required={"customer_pk": pl.Int64(), "order_date": pl.Date(), "amount_cents": pl.Int64()},
    optional={"coupon_code": (pl.String(), None)},
)
OUTCOME_LINES = Contract(
    "order lines",
    required={"customer_pk": pl.Int64(), "order_date": pl.Date(), "category_code": pl.String()},
)
OUTCOME_EVENTS = Contract(
    "engagement events",
    required={"customer_pk": pl.Int64(), "occurred_date": pl.Date(), "event_type": pl.String()},
)
# What was promised in the round's calls: the chosen offer and its categories.
OFFERS_MADE = Contract(
    "offers made",
    required={"customer_pk": pl.Int64(), "offer_code": pl.String()},
    optional={
        "coupon_code": (pl.String(), None),
        "category_code": (pl.String(), None),
        "offer_cost": (pl.Float64(), 0.0),  # cost to the business when redeemed
    },
)
ROUND_CONTACTS = Contract(
    "round contacts",
    required={"customer_pk": pl.Int64(), "occurred_date": pl.Date()},
    optional={"minutes": (pl.Float64(), None)},  # the profile's call_minutes when null
)

# --- care plans --------------------------------------------------------------------------------

CARE_CUSTOMERS = Contract(
    "care customers",
    required={"customer_pk": pl.Int64(), "abc_class": pl.String()},
    optional={
        "tier": (pl.Int64(), None),
        "birthday": (pl.Date(), None),
        "do_not_contact": (pl.Boolean(), False),
        "consent_marketing": (pl.Boolean(), True),
        "early_warning": (pl.Boolean(), False),
    },
)
CARE_TASKS = Contract(
    "care tasks",
    required={"customer_pk": pl.Int64(), "task": pl.String(), "due_date": pl.Date()},
    optional={
        "important": (pl.Boolean(), None),
        "abc_class": (pl.String(), None),
        "tier": (pl.Int64(), None),
        "early_warning": (pl.Boolean(), False),
        "value": (pl.Float64(), 0.0),
    },
)

# --- outputs (declared so services and the store know what they receive) ---------------------

PLAN_MEMBERS: dict[str, pl.DataType] = {
    "customer_pk": pl.Int64(),
    "arm": pl.String(),  # "treated" | "control"
    "tier": pl.Int64(),
    "stage": pl.String(),
    "reason_code": pl.String(),  # last known leave reason, may be null
    "expected_value": pl.Float64(),  # expected incremental margin used for priority
    "priority_rank": pl.Int64(),  # 1 = first
    "required_seniority": pl.Int64(),
    "channel": pl.String(),
    "agent_id": pl.Int64(),  # null for control customers
    "planned_date": pl.Date(),  # null for control customers
    "offer_date": pl.Date(),  # suggested date to present the offer, may be null
    "selected_by": pl.String(),  # "priority" | "random" (winback.programme.priority)
    "predicted_uplift": pl.Float64(),  # the uplift the priority used, may be null
    "uplift_class": pl.String(),  # persuadable | sure_thing | lost_cause | do_not_disturb | unknown
}
EXCLUSIONS: dict[str, pl.DataType] = {"customer_pk": pl.Int64(), "cause": pl.String()}
OFFER_MENU: dict[str, pl.DataType] = {
    "customer_pk": pl.Int64(),
    "menu_rank": pl.Int64(),
    "offer_code": pl.String(),
    "kind": pl.String(),
    "is_price": pl.Boolean(),
    "builds_habit": pl.Boolean(),
    "cost": pl.Float64(),
    "depth": pl.Float64(),  # cost as a share of expected spend
    "fit": pl.Float64(),
    "category_code": pl.String(),  # matched favourite category, may be null
    "contact_date": pl.Date(),
}

"""Business profile: the knobs a business sets once, with industry presets. Frozen.

The core (analytics, programme rules, reporting metrics) receives a ``BusinessProfile`` and
never reads Django settings. Presets follow the seeds: a restaurant expects guests back in about
a month, a dentist in about six months, an accountant once a year, a medical-aesthetics clinic
uses the 45/90/180-day lifecycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date
from typing import Any

INDUSTRIES = ("retail", "restaurant", "dental", "aesthetics", "b2b", "accounting")
LIFECYCLE_RULES = ("fixed", "rhythm")
RFM_REFERENCES = ("median", "mean")

# The largest control-group share a round may have: the round wizard, the settings, the API and
# the command line all refuse more (half the round left uncalled already halves its reach).
MAX_HOLDOUT_SHARE = 0.5


@dataclass(frozen=True)
class Bound:
    """The sane range of a numeric setting; ``low_open``/``high_open`` exclude that end."""

    low: float
    high: float
    low_open: bool = False
    high_open: bool = False

    def contains(self, value: float) -> bool:
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def text(self) -> str:
        left = "(" if self.low_open else "["
        right = ")" if self.high_open else "]"
        return f"{left}{self.low:g}, {self.high:g}{right}"


# Every numeric setting of the profile by dotted path (None, where allowed, means "not set").
# The profile refuses values outside these ranges; the settings forms show the same ranges.
PROFILE_BOUNDS: dict[str, Bound] = {
    "gross_margin": Bound(0.0, 1.0, low_open=True),
    "annual_discount_rate": Bound(0.0, 1.0),
    "cost_to_serve_per_year": Bound(0.0, 1_000_000.0),
    "import_years_ahead": Bound(0, 50),
    "lifecycle.silent_from": Bound(1, 3650),
    "lifecycle.sleeping_from": Bound(1, 3650),
    "lifecycle.lost_from": Bound(1, 3650),
    "expected_return_days": Bound(1.0, 3650.0),
    "prior_strength": Bound(0.0, 100.0),
    "lateness_at_risk": Bound(1.0, 20.0),
    "lateness_lost": Bound(1.0, 50.0),
    "churn_horizon_days": Bound(1, 3650),
    "early_warning_share": Bound(0.0, 1.0, low_open=True),
    "early_warning_capacity": Bound(1, 10_000_000),
    "tiers": Bound(1, 5),
    "value_weights.referral_converted": Bound(0.0, 10.0),
    "value_weights.forum_post": Bound(0.0, 1_000_000.0),
    "value_weights.forum_reply": Bound(0.0, 1_000_000.0),
    "value_weights.qa_answer": Bound(0.0, 1_000_000.0),
    "value_weights.event_attendance": Bound(0.0, 1_000_000.0),
    "value_weights.survey_response": Bound(0.0, 1_000_000.0),
    "value_weights.suggestion": Bound(0.0, 1_000_000.0),
    "value_weights.suggestion_adopted": Bound(0.0, 1_000_000.0),
    "value_weights.necessary_spend_weight": Bound(0.0, 10.0),
    "value_weights.discretionary_spend_weight": Bound(0.0, 10.0),
    "value_weights.credit_half_life_days": Bound(0.0, 3650.0, low_open=True),
    "programme.contacts_per_round": Bound(1, 20),
    "programme.contact_window_days": Bound(1, 365),
    "programme.max_contacts_in_window": Bound(1, 100),
    "programme.retire_after_rounds": Bound(1, 100),
    "programme.holdout_share": Bound(0.0, MAX_HOLDOUT_SHARE),
    "programme.agent_minute_cost": Bound(0.0, 10_000.0),
    "programme.call_minutes": Bound(0.0, 240.0, low_open=True),
    "programme.hoped_effect": Bound(0.0, 1.0, low_open=True, high_open=True),
    "programme.design_alpha": Bound(0.0, 0.2, low_open=True),
    "programme.design_power": Bound(0.5, 1.0, high_open=True),
    "programme.default_base_rate": Bound(0.0, 1.0, low_open=True, high_open=True),
    "programme.control_floor": Bound(0, 100_000),
    "programme.recently_treated_days": Bound(0, 730),
    "programme.global_holdout_share": Bound(0.0, MAX_HOLDOUT_SHARE),
    "programme.global_holdout_seed": Bound(0, 2**63, high_open=True),
    "programme.offer_budget_per_treated": Bound(0.0, 100_000.0),
    "programme.offer_exploration_floor": Bound(0.0, 0.2),
    "programme.random_share": Bound(0.0, 0.5),
}
# Hand-set churn indicator weights (indicator code -> weight; the direction is built in).
INDICATOR_WEIGHT_BOUND = Bound(0.0, 100.0)


def check_bounds(obj: Any, prefix: str = "") -> None:
    """Refuse a numeric setting of ``obj`` outside its range in :data:`PROFILE_BOUNDS`."""
    for path, bound in PROFILE_BOUNDS.items():
        head, _, name = path.rpartition(".")
        if head != prefix:
            continue
        value = getattr(obj, name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{path} must be a number, got {value!r}")
        if not bound.contains(float(value)):
            raise ValueError(f"{path} must be in {bound.text()}, got {value!r}")


@dataclass(frozen=True)
class LifecycleThresholds:
    """Days since last purchase: active below silent_from, then silent, sleeping, lost."""

    silent_from: int
    sleeping_from: int
    lost_from: int

    def __post_init__(self) -> None:
        if not 0 < self.silent_from < self.sleeping_from < self.lost_from:
            raise ValueError(
                "lifecycle thresholds must increase: "
                f"{self.silent_from} < {self.sleeping_from} < {self.lost_from}"
            )


@dataclass(frozen=True)
class ValueWeights:
    """Weights in the value index (R3): non-money streams in currency units per act, the two
    kinds of spend, and how fast non-money credit fades."""

    referral_converted: float = 1.0  # multiplier on the referred customer's revenue
    forum_post: float = 20.0
    forum_reply: float = 5.0
    qa_answer: float = 15.0
    event_attendance: float = 30.0
    survey_response: float = 10.0
    suggestion: float = 10.0
    suggestion_adopted: float = 100.0
    # Predicted spend counts by kind (order lines' necessity): 1.0 / 1.0 treats every unit of
    # margin alike; e.g. 0.8 / 1.2 favours customers whose spend is a choice rather than a need.
    necessary_spend_weight: float = 1.0
    discretionary_spend_weight: float = 1.0
    # Referral and act credit halves every this many days without a purchase or engagement.
    credit_half_life_days: float = 180.0

    def __post_init__(self) -> None:
        if self.necessary_spend_weight < 0 or self.discretionary_spend_weight < 0:
            raise ValueError("spend weights cannot be negative")
        if not self.credit_half_life_days > 0:
            raise ValueError("credit_half_life_days must be positive")
        check_bounds(self, "value_weights")


@dataclass(frozen=True)
class ProgrammeRules:
    contacts_per_round: int = 3
    contact_window_days: int = 30
    max_contacts_in_window: int = 4
    retire_after_rounds: int = 3
    holdout_share: float = 0.1
    agent_minute_cost: float = 1.0
    call_minutes: float = 6.0
    # A round's pre-registered design (winback.programme.design): the increase in the
    # came-back rate the business hopes to detect (percentage points), the test's two-sided
    # alpha and target power, the base rate used when neither past control groups nor the
    # snapshot give one, and the fewest control customers a round may have (below it a round
    # is refused unless explicitly overridden).
    hoped_effect: float = 0.04
    design_alpha: float = 0.05
    design_power: float = 0.8
    default_base_rate: float = 0.10
    control_floor: int = 30
    # Customers assigned to a treated arm this many days before a round starts never enter
    # its control group (they are excluded from the round: ``recently_treated``).
    recently_treated_days: int = 90
    # The global holdout: a fixed share of the whole base the programme never contacts
    # (0 = off); the seed is fixed when the share is first set above 0.
    global_holdout_share: float = 0.0
    global_holdout_seed: int | None = None
    # Offers: each round's offer budget is this many currency units per treated customer
    # (spent greedily at planning, checked again when an accepted offer is logged), and the
    # share of customers whose first offer is drawn at random by the offer learning's
    # exploration floor (each option first with at least this probability).
    offer_budget_per_treated: float = 50.0
    offer_exploration_floor: float = 0.05
    # Share of each round's places filled uniformly at random among the eligible customers,
    # whatever the targeting policy ranks, so the next uplift model learns without bias.
    random_share: float = 0.2
    # A round closes this many days after its last day (0: the day after it ends); its open
    # calls then expire (winback.programme.rounds.round_closes_on).
    round_close_after_days: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.round_close_after_days <= 90:
            raise ValueError("round_close_after_days must be between 0 and 90")
        if not 0.0 <= self.offer_budget_per_treated <= 100_000:
            raise ValueError("offer_budget_per_treated must be between 0 and 100000")
        if not 0.0 <= self.offer_exploration_floor <= 0.2:
            raise ValueError("offer_exploration_floor must be in [0, 0.2]")
        if not 0.0 <= self.holdout_share <= MAX_HOLDOUT_SHARE:
            raise ValueError(f"holdout_share must be in [0, {MAX_HOLDOUT_SHARE}]")
        if not 0.0 < self.hoped_effect < 1.0:
            raise ValueError("hoped_effect must be in (0, 1) (percentage points as a share)")
        if not 0.0 < self.design_alpha <= 0.2:
            raise ValueError("design_alpha must be in (0, 0.2]")
        if not 0.5 <= self.design_power < 1.0:
            raise ValueError("design_power must be in [0.5, 1)")
        if not 0.0 < self.default_base_rate < 1.0:
            raise ValueError("default_base_rate must be in (0, 1)")
        if not 0 <= self.control_floor <= 100_000:
            raise ValueError("control_floor must be between 0 and 100000")
        if not 0 <= self.recently_treated_days <= 730:
            raise ValueError("recently_treated_days must be between 0 and 730")
        if not 0.0 <= self.global_holdout_share <= 0.5:
            raise ValueError("global_holdout_share must be in [0, 0.5]")
        if not 0.0 <= self.random_share <= 0.5:
            raise ValueError("random_share must be in [0, 0.5]")
        if self.global_holdout_seed is not None and not 0 <= self.global_holdout_seed < 2**63:
            raise ValueError("global_holdout_seed must be a non-negative 64-bit integer")
        check_bounds(self, "programme")


@dataclass(frozen=True)
class BusinessProfile:
    industry: str
    name: str = ""
    currency: str = "CNY"
    time_zone: str = "Asia/Shanghai"
    lifecycle: LifecycleThresholds = field(default_factory=lambda: LifecycleThresholds(45, 90, 180))
    # Business-wide prior of the time between purchases (days), used to shrink the personal
    # rhythm of customers with few purchases.
    expected_return_days: float = 30.0
    prior_strength: float = 3.0  # pseudo-intervals of the prior in the shrinkage
    lateness_at_risk: float = 1.5
    lateness_lost: float = 3.0
    gross_margin: float = 0.35
    annual_discount_rate: float = 0.10
    tiers: int = 5
    unknown_customer_policy: str = "stub"  # or "reject"
    # Plausible dates of imported data: earlier or later ones are refused row by row (a date
    # such as 0001-01-01 or 9999-12-31 would break analysis). Birthdays may be older (1900).
    import_earliest_date: str = "1990-01-01"
    import_years_ahead: int = 1
    # "fixed": lifecycle stages by the thresholds above; "rhythm": the thresholds scaled by the
    # customer's own expected interval relative to expected_return_days (bounded).
    lifecycle_rule: str = "fixed"
    # Days ahead the churn score looks ("no purchase within N days"); None: lifecycle.lost_from.
    churn_horizon_days: int | None = None
    # Early warning: the share of buyers who are not lost flagged each analysis (the riskiest by
    # churn probability), or, when set, a fixed number of customers the team can work.
    early_warning_share: float = 0.10
    early_warning_capacity: int | None = None
    rfm_reference: str = "median"  # what "high" in RFM is measured against: "median" | "mean"
    cost_to_serve_per_year: float = 10.0  # currency units per customer (mailings, care, ...)
    # Churn indicator weights set by hand (indicator code -> weight >= 0); the next analysis
    # uses them instead of the learned ones for those indicators. Empty: all learned.
    indicator_weights: Mapping[str, float] = field(default_factory=dict)
    value_weights: ValueWeights = field(default_factory=ValueWeights)
    programme: ProgrammeRules = field(default_factory=ProgrammeRules)

    def __post_init__(self) -> None:
        if self.industry not in INDUSTRIES:
            raise ValueError(f"unknown industry {self.industry!r}; choose one of {INDUSTRIES}")
        if not 1 <= self.tiers <= 5:
            raise ValueError("tiers must be between 1 and 5 (more is unworkable for people)")
        if self.unknown_customer_policy not in {"stub", "reject"}:
            raise ValueError("unknown_customer_policy must be 'stub' or 'reject'")
        if self.lifecycle_rule not in LIFECYCLE_RULES:
            raise ValueError(f"lifecycle_rule must be one of {LIFECYCLE_RULES}")
        if self.rfm_reference not in RFM_REFERENCES:
            raise ValueError(f"rfm_reference must be one of {RFM_REFERENCES}")
        if self.churn_horizon_days is not None and self.churn_horizon_days < 1:
            raise ValueError("churn_horizon_days must be at least 1 day")
        if not 0 < self.early_warning_share <= 1:
            raise ValueError("early_warning_share must be above 0 and at most 1")
        if self.early_warning_capacity is not None and self.early_warning_capacity < 1:
            raise ValueError("early_warning_capacity must be at least 1 customer (or empty)")
        if self.cost_to_serve_per_year < 0:
            raise ValueError("cost_to_serve_per_year cannot be negative")
        try:
            date.fromisoformat(self.import_earliest_date)
        except (TypeError, ValueError):
            raise ValueError("import_earliest_date must be a date such as 1990-01-01") from None
        if not 0 <= self.import_years_ahead <= 50:
            raise ValueError("import_years_ahead must be between 0 and 50")
        if not 0.0 < self.gross_margin <= 1.0:
            raise ValueError("gross_margin must be above 0 and at most 1 (a share of revenue)")
        if not self.lateness_at_risk < self.lateness_lost:
            raise ValueError("lateness_at_risk must be below lateness_lost")
        check_bounds(self)
        check_bounds(self.lifecycle, "lifecycle")
        for code, weight in dict(self.indicator_weights).items():
            ok = isinstance(weight, int | float) and not isinstance(weight, bool)
            if not ok or not INDICATOR_WEIGHT_BOUND.contains(float(weight)):
                raise ValueError(
                    f"indicator weight {code!r} must be in {INDICATOR_WEIGHT_BOUND.text()}"
                )

    def import_date_window(self, today: date) -> tuple[date, date]:
        """The dates an import accepts: the earliest date .. today + N years."""
        earliest = date.fromisoformat(self.import_earliest_date)
        ahead = self.import_years_ahead
        try:
            latest = today.replace(year=today.year + ahead)
        except ValueError:  # 29 February
            latest = today.replace(year=today.year + ahead, day=28)
        return earliest, latest

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def with_overrides(self, overrides: Mapping[str, Any]) -> BusinessProfile:
        return _apply(self, overrides)


def _apply(obj: Any, overrides: Mapping[str, Any]) -> Any:
    known = {f.name: f for f in fields(obj)}
    changes: dict[str, Any] = {}
    for key, value in overrides.items():
        if key not in known:
            raise ValueError(f"unknown setting {key!r} for {type(obj).__name__}")
        current = getattr(obj, key)
        if hasattr(current, "__dataclass_fields__") and isinstance(value, Mapping):
            changes[key] = _apply(current, value)
        else:
            changes[key] = value
    return replace(obj, **changes)


PRESETS: dict[str, BusinessProfile] = {
    "retail": BusinessProfile(
        industry="retail",
        lifecycle=LifecycleThresholds(30, 60, 120),
        expected_return_days=21.0,
        gross_margin=0.30,
    ),
    "restaurant": BusinessProfile(
        industry="restaurant",
        lifecycle=LifecycleThresholds(30, 60, 120),
        expected_return_days=14.0,
        gross_margin=0.55,
    ),
    "dental": BusinessProfile(
        industry="dental",
        lifecycle=LifecycleThresholds(180, 270, 400),
        expected_return_days=180.0,
        gross_margin=0.50,
    ),
    "aesthetics": BusinessProfile(
        industry="aesthetics",
        lifecycle=LifecycleThresholds(45, 90, 180),
        expected_return_days=40.0,
        gross_margin=0.60,
    ),
    "b2b": BusinessProfile(
        industry="b2b",
        lifecycle=LifecycleThresholds(60, 120, 240),
        expected_return_days=30.0,
        gross_margin=0.25,
    ),
    "accounting": BusinessProfile(
        industry="accounting",
        lifecycle=LifecycleThresholds(365, 450, 730),
        expected_return_days=365.0,
        gross_margin=0.45,
    ),
}


def preset(industry: str, overrides: Mapping[str, Any] | None = None) -> BusinessProfile:
    try:
        base = PRESETS[industry]
    except KeyError:
        raise ValueError(f"unknown industry {industry!r}; choose one of {INDUSTRIES}") from None
    return base.with_overrides(overrides or {})


def profile_from_dict(data: Mapping[str, Any]) -> BusinessProfile:
    """Rebuild a profile saved with ``to_dict`` (e.g. from the settings table)."""
    base = preset(str(data.get("industry", "retail")))
    rest = {k: v for k, v in data.items() if k != "industry"}
    return base.with_overrides(rest)

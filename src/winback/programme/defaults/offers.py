"""Default offer catalogue and depth caps.

``depth_share`` is the offer's cost as a share of the spend it applies to (expected spend of the
next purchase x ``visits``), ``depth_abs`` an absolute cost in currency units. Null lists mean
"any". The member-day offers open to active customers set, per tier, the most a lapsed customer
may be offered (the fairness rule); the business replaces them with its own loyalty offers.
"""

from __future__ import annotations

from typing import Any

LAPSED = ["silent", "sleeping", "lost"]

OFFERS: list[dict[str, Any]] = [
    # What evergreen (active) customers get: the fairness reference per tier.
    {
        "code": "member_day_15",
        "kind": "percent_off",
        "zh": "会员日85折",
        "en": "Member day 15% off",
        "depth_share": 0.15,
        "tiers": [1],
        "stages": ["active"],
    },
    {
        "code": "member_day_12",
        "kind": "percent_off",
        "zh": "会员日88折",
        "en": "Member day 12% off",
        "depth_share": 0.12,
        "tiers": [2],
        "stages": ["active"],
    },
    {
        "code": "member_day_10",
        "kind": "percent_off",
        "zh": "会员日9折",
        "en": "Member day 10% off",
        "depth_share": 0.10,
        "tiers": [3],
        "stages": ["active"],
    },
    {
        "code": "member_day_5",
        "kind": "percent_off",
        "zh": "会员日95折",
        "en": "Member day 5% off",
        "depth_share": 0.05,
        "tiers": [4, 5],
        "stages": ["active"],
    },
    # Open to everyone.
    {
        "code": "double_points",
        "kind": "points_multiplier",
        "zh": "双倍积分",
        "en": "Double points",
        "depth_share": 0.03,
        "builds_habit": True,
        "frequency": "frequent",
    },
    {
        "code": "multi_visit_pack",
        "kind": "bundle",
        "zh": "多次卡（买三次享优惠）",
        "en": "Three-visit package",
        "depth_share": 0.10,
        "visits": 3,
        "builds_habit": True,
        "frequency": "frequent",
    },
    {
        "code": "priority_service",
        "kind": "priority_service",
        "zh": "优先服务/预约通道",
        "en": "Priority service and booking",
        "depth_abs": 5.0,
        "boost_reasons": [
            "speed",
            "timing",
            "attitude",
            "broken_promise",
            "canned_scripts",
            "only_calls_when_selling",
        ],
    },
    {
        "code": "expert_advice",
        "kind": "expert_advice",
        "zh": "资深顾问一对一咨询",
        "en": "One-to-one advice from a senior expert",
        "depth_abs": 15.0,
        "builds_habit": True,
        "boost_reasons": [
            "poor_results",
            "quality",
            "need_changed",
            "transparency",
            "life_change",
            "values",
        ],
    },
    {
        "code": "free_delivery",
        "kind": "free_delivery",
        "zh": "免费送货上门",
        "en": "Free delivery",
        "depth_abs": 8.0,
        "boost_reasons": ["moved_away", "timing", "speed"],
    },
    # For lapsed customers.
    {
        "code": "favourite_category_10",
        "kind": "percent_off",
        "zh": "常购品类9折",
        "en": "10% off your favourite category",
        "depth_share": 0.10,
        "tiers": [1, 2, 3],
        "stages": LAPSED,
        "favourite_category": True,
        "boost_reasons": ["price", "habit_lapsed"],
    },
    {
        "code": "refill_combo",
        "kind": "bundle",
        "zh": "常购品类补货组合装",
        "en": "Refill combo of your usual category",
        "depth_share": 0.08,
        "visits": 2,
        "stages": LAPSED,
        "favourite_category": True,
        "builds_habit": True,
        "boost_reasons": ["habit_lapsed", "off_season"],
    },
    {
        "code": "welcome_back_50",
        "kind": "voucher",
        "zh": "回归礼券50元",
        "en": "Welcome-back voucher (50)",
        "depth_abs": 50.0,
        "min_spend": 300.0,
        "stages": LAPSED,
        "frequency": "infrequent",
    },
    {
        "code": "welcome_back_20",
        "kind": "voucher",
        "zh": "回归礼券20元",
        "en": "Welcome-back voucher (20)",
        "depth_abs": 20.0,
        "min_spend": 120.0,
        "stages": LAPSED,
        "frequency": "infrequent",
    },
    {
        "code": "price_relief_12",
        "kind": "percent_off",
        "zh": "价格关怀88折",
        "en": "Price relief 12% off",
        "depth_share": 0.12,
        "tiers": [1, 2],
        "stages": LAPSED,
        "reasons": ["price", "budget_cut", "competitor"],
    },
    {
        "code": "free_follow_up",
        "kind": "free_service",
        "zh": "免费复查/补做一次",
        "en": "A free follow-up session",
        "depth_abs": 30.0,
        "tiers": [1, 2, 3],
        "stages": LAPSED,
        "reasons": ["quality", "poor_results", "broken_promise"],
    },
]

# The deepest offer (as a share of the spend it applies to) each tier may receive.
DEPTH_CAP_BY_TIER: dict[int, float] = {1: 0.20, 2: 0.15, 3: 0.12, 4: 0.08, 5: 0.05}

# The typical basket (currency units) when no customer of the round has a positive expected
# spend: offers' cost and depth are never measured on less than the tier's typical basket.
MIN_BASKET: float = 50.0

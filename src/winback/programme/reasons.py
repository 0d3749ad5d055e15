"""The default leave-reason taxonomy (R4): codes, groups and labels in Chinese and English.

Codes are stable identifiers used everywhere (contacts, ground truth, reports); labels are for
people. Businesses may extend or relabel the taxonomy; these are the shipped defaults, merged
from the source texts: what we did wrong, what happened outside, needs that went away, habits
that lapsed, and the honest "true reason not found yet".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reason:
    code: str
    group: str
    zh: str
    en: str
    sensitive: bool = False  # route to senior agents


GROUPS: dict[str, tuple[str, str]] = {
    "our_fault": ("我方原因", "Our fault"),
    "outside": ("外部因素", "Outside factors"),
    "need_gone": ("需求消失", "Need gone"),
    "habit": ("习惯中断", "Habit lapsed"),
    "unknown": ("尚未查明", "Not found yet"),
}

DEFAULT_REASONS: tuple[Reason, ...] = (
    Reason("attitude", "our_fault", "服务态度", "Staff attitude", sensitive=True),
    Reason("timing", "our_fault", "时间不便/预约难", "Inconvenient timing"),
    Reason("quality", "our_fault", "产品或服务质量", "Product or service quality", sensitive=True),
    Reason("speed", "our_fault", "速度慢/等待久", "Slow service"),
    Reason("price", "our_fault", "价格偏高", "Price too high"),
    Reason("transparency", "our_fault", "信息不透明", "Information not transparent"),
    Reason("reputation", "our_fault", "口碑/声誉", "Reputation"),
    Reason("values", "our_fault", "价值观不合", "Values do not match"),
    Reason(
        "only_calls_when_selling",
        "our_fault",
        "只在推销时才联系",
        "Only calls when it wants something",
    ),
    Reason("canned_scripts", "our_fault", "话术生硬", "Canned scripts"),
    Reason("broken_promise", "our_fault", "承诺未兑现", "Broken promises", sensitive=True),
    Reason("too_many_calls", "our_fault", "推销电话太多", "Too many sales calls", sensitive=True),
    Reason("poor_results", "our_fault", "效果不理想", "Poor results", sensitive=True),
    Reason("moved_away", "outside", "搬家/距离太远", "Moved away or too far"),
    Reason("competitor", "outside", "附近有竞争对手", "Competitor nearby"),
    Reason("budget_cut", "outside", "预算削减", "Budget cut"),
    Reason("contact_changed", "outside", "对接人变更", "Contact person changed"),
    Reason("off_season", "outside", "淡季", "Off-season"),
    Reason("restructured", "outside", "公司重组", "Company restructured"),
    Reason("need_changed", "need_gone", "产品/项目变化", "Product or project changed"),
    Reason("life_change", "need_gone", "生活变化", "Life change"),
    Reason("habit_lapsed", "habit", "习惯中断", "Habit lapsed"),
    Reason("not_found", "unknown", "真实原因未找到", "True reason not found yet"),
)

REASON_CODES: tuple[str, ...] = tuple(r.code for r in DEFAULT_REASONS)
BY_CODE: dict[str, Reason] = {r.code: r for r in DEFAULT_REASONS}
GROUP_CODES: tuple[str, ...] = tuple(GROUPS)

# Recorded when a contact could not establish why the customer left; its playbook is about
# listening, and every configured taxonomy must keep it.
FALLBACK_CODE = "not_found"


def label(code: str, lang: str) -> str:
    reason = BY_CODE.get(code)
    if reason is None:
        return code
    return reason.zh if lang.startswith("zh") else reason.en


def group_label(code: str, lang: str) -> str:
    labels = GROUPS.get(code)
    if labels is None:
        return code
    return labels[0] if lang.startswith("zh") else labels[1]

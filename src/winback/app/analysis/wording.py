"""The analysis's codes in words, Chinese or English: top signals and retention actions (R2, R9).

The analytics core stores each customer's warning signs as codes with named values (see
:mod:`winback.analytics.signals`); the pages, the API's consumers and the exports decide how to
say them. ``lang`` is ``"zh"`` or ``"en"`` (a Django language code such as ``zh-hans`` works).
"""

from __future__ import annotations

import json
from typing import Any

SIGNALS: dict[str, tuple[str, str]] = {
    "long_silence": ("No purchase for {days} days", "已 {days} 天未消费"),
    "late_vs_rhythm": (
        "{days_late} days late against a usual {usual_interval_days}-day rhythm",
        "比平常 {usual_interval_days} 天的购买周期晚了 {days_late} 天",
    ),
    "low_p_alive": (
        "Only {p_alive_pct}% likely to still be buying",
        "仍在购买的概率仅 {p_alive_pct}%",
    ),
    "frequency_down": (
        "Purchases down from {prior_365} to {last_365} a year",
        "年购买次数从 {prior_365} 次降到 {last_365} 次",
    ),
    "spend_down": ("Spend down {pct}% year on year", "消费金额同比下降 {pct}%"),
    "category_narrowing": (
        "Buys from {last_365} categories, down from {prior_365}",
        "购买品类从 {prior_365} 类减少到 {last_365} 类",
    ),
    "engagement_down": (
        "Engagement down from {prior_365} to {last_365} a year",
        "年互动次数从 {prior_365} 次降到 {last_365} 次",
    ),
    "engagement_silence": (
        "No engagement for {days} days (last on {last})",
        "已 {days} 天没有互动（最近一次 {last}）",
    ),
    "unanswered_contacts": (
        "{count_90d} of our contacts unanswered in 90 days",
        "近 90 天有 {count_90d} 次联系未获回应",
    ),
    "open_complaint": (
        "{count} complaint(s) open since {since}",
        "自 {since} 起有 {count} 个投诉未解决",
    ),
    "low_satisfaction": (
        "Latest survey score {latest_score}, below the average {mean_score}",
        "最近一次满意度 {latest_score}，低于平均 {mean_score}",
    ),
}

ACTIONS: dict[str, tuple[str, str]] = {
    "care_call": ("Care call: answer and look after, little selling", "关怀回访：答疑关怀，少推销"),
    "light_touch_incentive": (
        "Light regular touches with a small incentive",
        "定期轻度接触，配小额激励",
    ),
    "targeted_offer": ("Few contacts, a targeted offer", "少量联系，精准优惠"),
    "winback_team": ("Hand to the win-back team", "转挽回专员跟进"),
    "resolve_complaint": ("Resolve the open complaint first", "先解决未结投诉"),
}


def _index(lang: str) -> int:
    return 1 if lang.lower().startswith("zh") else 0


def signal_text(signal: dict[str, Any], lang: str) -> str:
    """One signal in words; an unknown code or a missing value falls back to the code."""
    code = str(signal.get("code", ""))
    template = SIGNALS.get(code)
    if template is None:
        return code
    values = {k: ("?" if v is None else v) for k, v in signal.items() if k != "code"}
    try:
        return template[_index(lang)].format(**values)
    except (KeyError, IndexError, ValueError):
        return code


def signals_text(top_signals: Any, lang: str) -> list[str]:
    """A snapshot's ``top_signals`` (a list, or its JSON text) in words, in order."""
    if isinstance(top_signals, str):
        try:
            top_signals = json.loads(top_signals or "[]")
        except ValueError:
            return []
    return [signal_text(s, lang) for s in top_signals or [] if isinstance(s, dict)]


def action_text(code: str, lang: str) -> str:
    pair = ACTIONS.get(code)
    return pair[_index(lang)] if pair else code

"""The analysis's codes in words, Chinese or English: top signals and retention actions (R2, R9).

The analytics core stores each customer's warning signs as codes with named values (see
:mod:`winback.analytics.signals`); the pages, the API's consumers and the exports decide how to
say them. The English sentences are the project catalogue's msgids, so the Chinese lives in
``web/locale`` with every other word of the interface. ``lang`` is ``"zh"`` or ``"en"`` (a Django
language code such as ``zh-hans`` works); it is explicit because exports and the API speak the
language asked for, not the request's.
"""

from __future__ import annotations

import json
from typing import Any

from django.utils import translation
from django.utils.translation import gettext, gettext_noop

# %(name)s are the signal's values, as stored by the analytics core.
SIGNALS: dict[str, str] = {
    "long_silence": gettext_noop("No purchase for %(days)s days"),
    "late_vs_rhythm": gettext_noop(
        "%(days_late)s days late against a usual %(usual_interval_days)s-day rhythm"
    ),
    "low_p_alive": gettext_noop("Only %(p_alive_pct)s%% likely to still be buying"),
    "frequency_down": gettext_noop("Purchases down from %(prior_365)s to %(last_365)s a year"),
    "spend_down": gettext_noop("Spend down %(pct)s%% year on year"),
    "category_narrowing": gettext_noop(
        "Buys from %(last_365)s categories, down from %(prior_365)s"
    ),
    "engagement_down": gettext_noop("Engagement down from %(prior_365)s to %(last_365)s a year"),
    "engagement_silence": gettext_noop("No engagement for %(days)s days (last on %(last)s)"),
    "unanswered_contacts": gettext_noop("%(count_90d)s of our contacts unanswered in 90 days"),
    "open_complaint": gettext_noop("%(count)s complaint(s) open since %(since)s"),
    "low_satisfaction": gettext_noop(
        "Latest survey score %(latest_score)s, below the average %(mean_score)s"
    ),
}

ACTIONS: dict[str, str] = {
    "care_call": gettext_noop("Care call: answer and look after, little selling"),
    "light_touch_incentive": gettext_noop("Light regular touches with a small incentive"),
    "targeted_offer": gettext_noop("Few contacts, a targeted offer"),
    "winback_team": gettext_noop("Hand to the win-back team"),
    "resolve_complaint": gettext_noop("Resolve the open complaint first"),
}


def _language(lang: str) -> str:
    return "zh-hans" if lang.lower().startswith("zh") else "en"


def _signal(signal: dict[str, Any]) -> str:
    """One signal in the active language; an unknown code or a missing value gives the code."""
    code = str(signal.get("code", ""))
    template = SIGNALS.get(code)
    if template is None:
        return code
    values = {k: ("?" if v is None else v) for k, v in signal.items() if k != "code"}
    try:
        return gettext(template) % values
    except (KeyError, TypeError, ValueError):
        return code


def signal_text(signal: dict[str, Any], lang: str) -> str:
    """One signal in words; an unknown code or a missing value falls back to the code."""
    with translation.override(_language(lang)):
        return _signal(signal)


def signals_text(top_signals: Any, lang: str) -> list[str]:
    """A snapshot's ``top_signals`` (a list, or its JSON text) in words, in order."""
    if isinstance(top_signals, str):
        try:
            top_signals = json.loads(top_signals or "[]")
        except ValueError:
            return []
    with translation.override(_language(lang)):
        return [_signal(s) for s in top_signals or [] if isinstance(s, dict)]


def action_text(code: str, lang: str) -> str:
    message = ACTIONS.get(code)
    if message is None:
        return code
    with translation.override(_language(lang)):
        return gettext(message)

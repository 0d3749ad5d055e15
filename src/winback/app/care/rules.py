"""The care rules in force: class cadences and the holiday calendar, as the business set them
in the care settings (or the shipped defaults), and the one use case that changes them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from winback.app.actors import Actor, Permission, audit, require
from winback.programme import care
from winback.store.programme.models import CareSettings


def _row() -> CareSettings | None:
    return CareSettings.objects.order_by("pk").first()


# What a stored value that is not what the care settings write can raise while it is read.
STORED_ERRORS = (ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError)


@dataclass(frozen=True)
class CareRules:
    """The rules in force and which stored parts could not be read (``"cadences"``,
    ``"holidays"``): those fall back to the shipped defaults, and admins are told."""

    cadences: tuple[care.ClassCadence, ...]
    calendar: care.HolidayCalendar
    unreadable: tuple[str, ...] = ()


def care_rules() -> CareRules:
    """The stored cadences and holidays, each part that cannot be read (malformed JSON written
    around the settings form, unknown classes, out-of-range days) replaced by the default."""
    row = _row()
    unreadable: list[str] = []
    cadences = care.default_cadences()
    if row is not None and row.cadences:
        try:
            cadences = care.load_cadences(row.cadences)
        except STORED_ERRORS:
            unreadable.append("cadences")
    calendar = care.HolidayCalendar.default()
    if row is not None and row.holidays:
        try:
            calendar = care.HolidayCalendar.from_dict(row.holidays)
        except STORED_ERRORS:
            unreadable.append("holidays")
    return CareRules(cadences, calendar, tuple(unreadable))


def current_cadences() -> tuple[care.ClassCadence, ...]:
    return care_rules().cadences


def current_calendar() -> care.HolidayCalendar:
    return care_rules().calendar


def cadence_dicts(cadences: tuple[care.ClassCadence, ...]) -> list[dict[str, Any]]:
    return [
        {
            "abc_class": c.abc_class,
            "visit_days": c.visit_days,
            "call_days": c.call_days,
            "holiday_greetings": c.holiday_greetings,
        }
        for c in cadences
    ]


def update_care_rules(
    actor: Actor, *, cadences: list[dict[str, Any]], holidays: list[dict[str, Any]]
) -> bool:
    """Store new cadences and holidays (checked by the core's loaders, which raise
    ValueError). Returns whether anything changed; the change is audited."""
    require(actor, Permission.CHANGE_SETTINGS)
    checked_cadences = cadence_dicts(care.load_cadences(cadences))
    checked_holidays = care.HolidayCalendar.from_dict(holidays).to_dicts()
    with transaction.atomic():
        row = _row() or CareSettings()
        rules = care_rules()
        before = {
            "cadences": cadence_dicts(rules.cadences),
            "holidays": rules.calendar.to_dicts(),
        }
        after = {"cadences": checked_cadences, "holidays": checked_holidays}
        # unreadable stored settings are replaced even by the defaults they fell back to
        if before == after and not rules.unreadable:
            return False
        row.cadences = checked_cadences
        row.holidays = checked_holidays
        row.save()
        audit(actor, "care_settings", object_type="care_settings", object_id=row.pk, detail=after)
    return True


def occasion_label(code: str, lang: str, calendar: care.HolidayCalendar | None = None) -> str:
    """A greeting's occasion in words: a birthday or the holiday's name ("" for none)."""
    from django.utils.translation import gettext as _

    if not code:
        return ""
    if code == "birthday":
        return _("Birthday")
    holiday = (calendar or current_calendar()).get(code)
    return holiday.label(lang) if holiday else _("Holiday")

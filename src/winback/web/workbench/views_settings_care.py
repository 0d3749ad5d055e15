"""Care settings (admins): contact cadences per customer class and the greeting holidays
(switch shipped ones off, add the business's own on a Gregorian or a lunar date). The change
goes through :func:`winback.app.care.rules.update_care_rules`, which checks and audits it."""

from __future__ import annotations

import re
from datetime import date
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from winback.app.actors import Actor
from winback.app.care import rules
from winback.programme import care
from winback.store.accounts.models import User
from winback.web.workbench.views_imports import admin_required

MAX_CADENCE_DAYS = care.MAX_CADENCE_DAYS
CALENDARS = (("gregorian", gettext_lazy("Gregorian")), ("lunar", gettext_lazy("Lunar")))


def _lang() -> str:
    return get_language() or "zh-hans"


class CareSettingsForm(forms.Form):
    """One row per class (visit and call cadence, holiday greetings), one switch per holiday,
    and an optional new holiday."""

    new_zh = forms.CharField(label=gettext_lazy("Name (Chinese)"), required=False, max_length=40)
    new_en = forms.CharField(label=gettext_lazy("Name (English)"), required=False, max_length=60)
    new_calendar = forms.ChoiceField(
        label=gettext_lazy("Calendar"), choices=CALENDARS, required=False
    )
    new_month = forms.IntegerField(
        label=gettext_lazy("Month"), required=False, min_value=1, max_value=12
    )
    new_day = forms.IntegerField(
        label=gettext_lazy("Day"), required=False, min_value=1, max_value=31
    )

    def __init__(
        self,
        *args: Any,
        cadences: tuple[care.ClassCadence, ...],
        calendar: care.HolidayCalendar,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.calendar = calendar
        by_class = {c.abc_class: c for c in cadences}
        for cls in care.CLASSES:
            c = by_class.get(cls)
            for kind, label in (
                ("visit", _("Visit every (days)")),
                ("call", _("Call every (days)")),
            ):
                self.fields[f"{kind}_{cls}"] = forms.IntegerField(
                    label=label,
                    required=False,
                    min_value=1,
                    max_value=MAX_CADENCE_DAYS,
                    initial=getattr(c, f"{kind}_days", None) if c else None,
                )
            self.fields[f"greet_{cls}"] = forms.BooleanField(
                label=_("Holiday greetings"),
                required=False,
                initial=c.holiday_greetings if c else False,
            )
        for h in calendar.holidays:
            self.fields[f"on_{h.code}"] = forms.BooleanField(
                label=h.label(_lang()), required=False, initial=h.enabled
            )

    def class_rows(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [
            (cls, [self[f"visit_{cls}"], self[f"call_{cls}"], self[f"greet_{cls}"]])
            for cls in care.CLASSES
        ]

    def holiday_rows(self) -> list[tuple[forms.BoundField, str, str]]:
        year = timezone.localdate().year
        rows = []
        for h in self.calendar.holidays:
            when = h.on(year)
            if h.lunar is not None:
                rule = _("lunar %(month)s/%(day)s") % {"month": h.lunar[0], "day": h.lunar[1]}
            elif h.month_day is not None:
                rule = _("%(month)s/%(day)s every year") % {
                    "month": h.month_day[0],
                    "day": h.month_day[1],
                }
            else:
                rule = ""
            rows.append((self[f"on_{h.code}"], rule, when.isoformat() if when else "-"))
        return rows

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        names = (data.get("new_zh") or "", data.get("new_en") or "")
        month, day = data.get("new_month"), data.get("new_day")
        if any(names) or month or day:
            if not all(names):
                raise forms.ValidationError(_("A new holiday needs a Chinese and an English name."))
            if not (month and day):
                raise forms.ValidationError(_("A new holiday needs a month and a day."))
            if data.get("new_calendar") == "lunar":
                if day > 30:
                    self.add_error("new_day", _("A lunar month has at most 30 days."))
            else:
                try:
                    date(2024, month, day)
                except ValueError:
                    self.add_error("new_day", _("This month has no such day."))
        return data

    def cadences(self) -> list[dict[str, Any]]:
        d = self.cleaned_data
        return [
            {
                "abc_class": cls,
                "visit_days": d.get(f"visit_{cls}"),
                "call_days": d.get(f"call_{cls}"),
                "holiday_greetings": bool(d.get(f"greet_{cls}")),
            }
            for cls in care.CLASSES
        ]

    def holidays(self) -> list[dict[str, Any]]:
        d = self.cleaned_data
        out = []
        for h in self.calendar.holidays:
            item = h.to_dict()
            item["enabled"] = bool(d.get(f"on_{h.code}"))
            out.append(item)
        if d.get("new_zh") and d.get("new_month") and d.get("new_day"):
            code = "custom_" + (re.sub(r"[^a-z0-9]+", "_", d["new_en"].lower()).strip("_") or "x")
            while any(h["code"] == code for h in out):
                code += "_"
            key = "lunar" if d.get("new_calendar") == "lunar" else "month_day"
            out.append(
                {
                    "code": code[:40],
                    "zh": d["new_zh"],
                    "en": d["new_en"],
                    key: [d["new_month"], d["new_day"]],
                }
            )
        return out


@admin_required
@require_http_methods(["GET", "POST"])
def settings_care(request: HttpRequest) -> HttpResponseBase:
    state = rules.care_rules()
    cadences, calendar = state.cadences, state.calendar
    form = CareSettingsForm(cadences=cadences, calendar=calendar)
    status = 200
    if request.method == "POST":
        form = CareSettingsForm(request.POST, cadences=cadences, calendar=calendar)
        if form.is_valid():
            try:
                changed = rules.update_care_rules(
                    Actor.of(cast(User, request.user)),
                    cadences=form.cadences(),
                    holidays=form.holidays(),
                )
            except ValueError:
                form.add_error(None, _("These care settings are not valid."))
                status = 422
            else:
                if changed:
                    messages.success(request, _("Settings saved."))
                else:
                    messages.info(request, _("Nothing changed."))
                return redirect("settings_care")
        else:
            status = 422
    warnings = {
        "cadences": _(
            "The stored care cadences could not be read: the default cadences are used until "
            "the care settings are saved again."
        ),
        "holidays": _(
            "The stored holidays could not be read: the default holidays are used until the "
            "care settings are saved again."
        ),
    }
    context = {"form": form, "stored_warnings": [warnings[part] for part in state.unreadable]}
    return render(request, "workbench/settings/care.html", context, status=status)

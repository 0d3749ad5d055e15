"""Event types (admins): the list, a new type, names and role, deactivate, delete. Each view
parses its form and calls one use case of :mod:`winback.app.settings.event_types`, which checks,
stores and audits; refusals come back as messages in the user's language."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from winback.app.actors import Actor
from winback.app.settings import event_types as svc
from winback.store.accounts.models import User
from winback.store.customers.models import EventRole
from winback.web.workbench.views_imports import admin_required


class EventTypeForm(forms.Form):
    label_zh = forms.CharField(
        label=gettext_lazy("Name (Chinese)"), max_length=svc.LABEL_ZH_MAX, strip=True
    )
    label_en = forms.CharField(
        label=gettext_lazy("Name (English)"), max_length=svc.LABEL_EN_MAX, strip=True
    )
    role = forms.ChoiceField(label=gettext_lazy("Counts as"), choices=EventRole.choices)


class NewEventTypeForm(EventTypeForm):
    code = forms.CharField(
        label=gettext_lazy("Code (in import files)"),
        max_length=24,
        strip=True,
        help_text=gettext_lazy("Small letters, digits and underscores, starting with a letter."),
    )
    field_order = ("code", "label_zh", "label_en", "role")


def _actor(request: HttpRequest) -> Actor:
    return Actor.of(cast(User, request.user))


def _refused(form: forms.Form, exc: svc.EventTypeError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, str(exc))


@admin_required
@require_http_methods(["GET", "POST"])
def settings_event_types(request: HttpRequest) -> HttpResponseBase:
    form = NewEventTypeForm()
    status = 200
    if request.method == "POST":
        form = NewEventTypeForm(request.POST)
        if form.is_valid():
            try:
                made = svc.add_event_type(_actor(request), **form.cleaned_data)
            except svc.EventTypeError as exc:
                _refused(form, exc)
                status = 422
            else:
                messages.success(request, _("Event type %(code)s added.") % {"code": made.code})
                return redirect("settings_event_types")
        else:
            status = 422
    counts = svc.stored_event_counts()
    lang = get_language() or "zh-hans"
    rows: list[dict[str, Any]] = [
        {"type": t, "label": t.label(lang), "events": counts.get(t.code, 0)}
        for t in svc.event_types_in_force()
    ]
    context = {
        "rows": rows,
        "roles": dict(EventRole.choices),
        "undefined": svc.undefined_event_codes(),
        "form": form,
    }
    return render(request, "workbench/settings/event_types.html", context, status=status)


@admin_required
@require_http_methods(["GET", "POST"])
def settings_event_type_edit(request: HttpRequest, code: str) -> HttpResponseBase:
    current = svc.event_type(code)
    if current is None:
        raise Http404
    form = EventTypeForm(
        initial={"label_zh": current.label_zh, "label_en": current.label_en, "role": current.role}
    )
    if current.built_in:
        form.fields["role"].disabled = True
    status = 200
    if request.method == "POST":
        form = EventTypeForm(request.POST, initial={"role": current.role})
        if current.built_in:
            form.fields["role"].disabled = True
        if form.is_valid():
            try:
                changed = svc.update_event_type(_actor(request), code, **form.cleaned_data)
            except svc.EventTypeError as exc:
                _refused(form, exc)
                status = 422
            else:
                if changed:
                    messages.success(request, _("Settings saved."))
                else:
                    messages.info(request, _("Nothing changed."))
                return redirect("settings_event_types")
        else:
            status = 422
    context = {"type": current, "form": form, "role": EventRole(current.role).label}
    return render(request, "workbench/settings/event_type_edit.html", context, status=status)


@admin_required
@require_POST
def settings_event_type_active(request: HttpRequest, code: str) -> HttpResponseBase:
    if svc.event_type(code) is None:
        raise Http404
    active = request.POST.get("active") == "1"
    try:
        svc.set_event_type_active(_actor(request), code, active=active)
    except svc.EventTypeError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Saved."))
    return redirect("settings_event_types")


@admin_required
@require_POST
def settings_event_type_delete(request: HttpRequest, code: str) -> HttpResponseBase:
    if svc.event_type(code) is None:
        raise Http404
    try:
        svc.delete_event_type(_actor(request), code)
    except svc.EventTypeError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Event type %(code)s deleted.") % {"code": code})
    return redirect("settings_event_types")

"""Settings pages (admins): business profile and preset, indicator audit, reason taxonomy,
playbooks, offers, questionnaires and users. Every change goes through a service that checks
it and writes an audit entry."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from winback.app.rounds.reassign import open_task_count
from winback.app.settings import service as svc
from winback.app.settings.profile import current_profile
from winback.store.accounts.models import User
from winback.web.workbench.forms_settings import (
    DepthCapsForm,
    EarlyWarningForm,
    IndicatorWeightsForm,
    OfferForm,
    OverridesForm,
    PlaybookForm,
    PresetForm,
    ProfileForm,
    ReasonForm,
    UserEditForm,
    UserForm,
)
from winback.web.workbench.views_imports import admin_required

SECTION_TITLES = {
    "taxonomy": gettext_lazy("Reason taxonomy"),
    "playbooks": gettext_lazy("Playbooks"),
    "offers": gettext_lazy("Offers"),
}


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _lang() -> str:
    return get_language() or "zh-hans"


@admin_required
@require_GET
def settings_home(request: HttpRequest) -> HttpResponseBase:
    return render(request, "workbench/settings/index.html", {"sections": SECTION_TITLES})


@admin_required
@require_http_methods(["GET", "POST"])
def settings_profile(request: HttpRequest) -> HttpResponseBase:
    profile = current_profile()
    preset_form = PresetForm(initial={"industry": profile.industry})
    form = ProfileForm(profile=profile)
    status = 200
    diff: list[svc.PresetChange] | None = None
    if request.method == "POST" and request.POST.get("action") == "preset":
        preset_form = PresetForm(request.POST)
        if not preset_form.is_valid():
            status = 422
        elif request.POST.get("confirm") == "1":
            svc.apply_preset(_user(request), preset_form.cleaned_data["industry"])
            messages.success(request, _("The industry preset was applied."))
            return redirect("settings_profile")
        else:
            # First press: show what would change and ask; nothing is stored yet.
            diff = svc.preset_diff(preset_form.cleaned_data["industry"])
    elif request.method == "POST":
        form = ProfileForm(request.POST, profile=profile)
        if form.is_valid():
            try:
                changes = svc.update_profile(_user(request), form.values())
            except ValueError as exc:
                form.add_error(None, str(exc))
                status = 422
            else:
                if changes:
                    messages.success(request, _("Settings saved."))
                else:
                    messages.info(request, _("Nothing changed."))
                return redirect("settings_profile")
        else:
            status = 422
    context = {"profile": profile, "preset_form": preset_form, "form": form, "diff": diff}
    return render(request, "workbench/settings/profile.html", context, status=status)


@admin_required
@require_http_methods(["GET", "POST"])
def settings_indicators(request: HttpRequest) -> HttpResponseBase:
    profile = current_profile()
    lang = _lang()
    current = dict(profile.indicator_weights)
    weights_form = IndicatorWeightsForm(lang=lang, current=current)
    warning_form = EarlyWarningForm(
        initial={
            "early_warning_share": profile.early_warning_share,
            "early_warning_capacity": profile.early_warning_capacity,
        }
    )
    status = 200
    action = request.POST.get("action")
    if request.method == "POST" and action == "weights":
        weights_form = IndicatorWeightsForm(request.POST, lang=lang, current=current)
        if weights_form.is_valid():
            changes = svc.save_indicator_weights(_user(request), weights_form.weights())
            _saved(request, bool(changes))
            return redirect("settings_indicators")
        status = 422
    elif request.method == "POST" and action == "early_warning":
        warning_form = EarlyWarningForm(request.POST)
        if warning_form.is_valid():
            changes = svc.update_profile(_user(request), dict(warning_form.cleaned_data))
            _saved(request, bool(changes))
            return redirect("settings_indicators")
        status = 422
    elif request.method == "POST":
        status = 400
    context = {
        **svc.indicator_audit(lang),
        "weights_form": weights_form,
        "warning_form": warning_form,
        "hand_set": current,
    }
    return render(request, "workbench/settings/indicators.html", context, status=status)


def _saved(request: HttpRequest, changed: bool) -> None:
    if changed:
        messages.success(request, _("Settings saved. The next analysis uses them."))
    else:
        messages.info(request, _("Nothing changed."))


ENTRY_FORMS: dict[str, type[forms.Form]] = {
    "taxonomy": ReasonForm,
    "playbooks": PlaybookForm,
    "offers": OfferForm,
}


def _entry_form(section: str, data: Any = None, initial: Any = None) -> forms.Form:
    cls = ENTRY_FORMS[section]
    if section == "offers":
        return cls(data, initial=initial)
    return cls(data, initial=initial, lang=_lang())  # type: ignore[call-arg]


@admin_required
@require_http_methods(["GET", "POST"])
def settings_rules(request: HttpRequest, section: str) -> HttpResponseBase:
    if section not in svc.RULE_SECTIONS:
        raise Http404
    stored = svc.stored_overrides(section)
    form = OverridesForm(initial={"overrides": _pretty(stored)})
    code = request.GET.get("code", "")
    initial = svc.rule_entry(section, code) if code else None
    if code and initial is None:
        raise Http404
    entry_form = _entry_form(section, initial=initial)
    caps_form = DepthCapsForm(caps=svc.depth_caps()) if section == "offers" else None
    status = 200
    # "form" names which form was sent ("action" is a playbook field).
    action = request.POST.get("form", "json")
    if request.method == "POST" and action == "entry":
        entry_form = _entry_form(section, request.POST)
        if entry_form.is_valid():
            entry = (
                cast(Any, entry_form).entry()
                if hasattr(entry_form, "entry")
                else dict(entry_form.cleaned_data)
            )
            try:
                svc.save_rule_entry(_user(request), section, entry)
            except ValueError as exc:
                entry_form.add_error(
                    None, _("These values do not fit the rest: %(why)s") % {"why": exc}
                )
                status = 422
            else:
                messages.success(request, _("Settings saved."))
                return redirect("settings_rules", section=section)
        else:
            status = 422
    elif request.method == "POST" and action == "caps" and caps_form is not None:
        caps_form = DepthCapsForm(request.POST, caps=svc.depth_caps())
        if caps_form.is_valid():
            svc.save_depth_caps(_user(request), caps_form.caps())
            messages.success(request, _("Settings saved."))
            return redirect("settings_rules", section=section)
        status = 422
    elif request.method == "POST":
        form = OverridesForm(request.POST)
        if form.is_valid():
            try:
                svc.save_rule_overrides(_user(request), section, form.cleaned_data["overrides"])
            except ValueError as exc:
                form.add_error("overrides", str(exc))
                status = 422
            else:
                messages.success(request, _("Settings saved."))
                return redirect("settings_rules", section=section)
    context = {
        "section": section,
        "title": SECTION_TITLES[section],
        "form": form,
        "entry_form": entry_form,
        "editing": code,
        "caps_form": caps_form,
        "table": svc.rule_table(section, _lang()),
    }
    return render(request, "workbench/settings/rules.html", context, status=status)


def _pretty(data: dict[str, Any]) -> str:
    import json

    return json.dumps(data, ensure_ascii=False, indent=2) if data else ""


@admin_required
@require_http_methods(["GET", "POST"])
def settings_users(request: HttpRequest) -> HttpResponseBase:
    form = UserForm()
    status = 200
    if request.method == "POST":
        form = UserForm(request.POST)
        if form.is_valid():
            try:
                created = svc.create_user(_user(request), **form.cleaned_data)
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error(None, message)
                status = 422
            else:
                messages.success(request, _("User %(name)s created.") % {"name": created.username})
                return redirect("settings_users")
        else:
            status = 422
    context = {"form": form, "users": svc.users()}
    return render(request, "workbench/settings/users.html", context, status=status)


@admin_required
@require_http_methods(["GET", "POST"])
def settings_user_edit(request: HttpRequest, user_id: int) -> HttpResponseBase:
    target = User.objects.filter(pk=user_id).first()
    if target is None:
        raise Http404
    form = UserEditForm(
        initial={
            "first_name": target.first_name,
            "role": target.role,
            "language": target.language,
            "seniority": target.seniority,
            "daily_capacity": target.daily_capacity,
        }
    )
    status = 200
    if request.method == "POST":
        form = UserEditForm(request.POST)
        if form.is_valid():
            try:
                changes = svc.update_user(_user(request), target.pk, **form.cleaned_data)
            except svc.CannotDemoteSelf:
                form.add_error("role", _("You cannot take your own admin role away."))
                status = 422
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error(None, message)
                status = 422
            else:
                _saved_user(request, bool(changes))
                return redirect("settings_users")
        else:
            status = 422
    context = {"form": form, "target": target}
    return render(request, "workbench/settings/user_edit.html", context, status=status)


def _saved_user(request: HttpRequest, changed: bool) -> None:
    if changed:
        messages.success(request, _("Saved."))
    else:
        messages.info(request, _("Nothing changed."))


@admin_required
@require_POST
def settings_user_active(request: HttpRequest, user_id: int) -> HttpResponseBase:
    active = request.POST.get("active") == "1"
    try:
        svc.set_active(_user(request), user_id, active)
    except User.DoesNotExist:
        raise Http404 from None
    except svc.CannotDeactivateSelf:
        messages.error(request, _("You cannot deactivate your own account."))
    else:
        messages.success(request, _("Saved."))
        # A deactivated agent's open calls would wait for nobody: offer to hand them over.
        if not active and open_task_count(agent_id=user_id):
            return redirect("agent_reassign", user_id=user_id)
    return redirect("settings_users")

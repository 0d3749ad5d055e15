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
from winback.app.settings.rules import current_rules
from winback.config import INDUSTRIES, BusinessProfile
from winback.store.accounts.models import Role, User
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


class PresetForm(forms.Form):
    industry = forms.ChoiceField(
        label=gettext_lazy("Industry preset"),
        choices=[(i, svc.INDUSTRY_LABELS[i]) for i in INDUSTRIES],
    )


def _field_name(path: str) -> str:
    return path.replace(".", "__")


class ProfileForm(forms.Form):
    """One field per profile setting, typed like the setting it edits."""

    def __init__(self, *args: Any, profile: BusinessProfile, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        leaves = svc.profile_leaves(profile)
        for path, value in leaves.items():
            label = svc.PROFILE_LABELS[path]
            field: forms.Field
            if path in svc.PROFILE_CHOICES:
                field = forms.ChoiceField(label=label, choices=svc.PROFILE_CHOICES[path])
            elif path in ("churn_horizon_days", "early_warning_capacity"):
                field = forms.IntegerField(label=label, required=False, min_value=1)
            elif path == "programme.global_holdout_seed":
                field = forms.IntegerField(label=label, required=False, min_value=0)
            elif isinstance(value, bool):
                field = forms.BooleanField(label=label, required=False)
            elif isinstance(value, int):
                field = forms.IntegerField(label=label)
            elif isinstance(value, float):
                field = forms.FloatField(label=label)
            else:
                field = forms.CharField(
                    label=label, required=path in ("currency", "time_zone"), max_length=80
                )
            field.initial = value
            self.fields[_field_name(path)] = field

    def values(self) -> dict[str, Any]:
        return {name.replace("__", "."): v for name, v in self.cleaned_data.items()}

    def groups(self) -> list[tuple[Any, list[forms.BoundField]]]:
        return [
            (title, [self[_field_name(p)] for p in paths])
            for _code, title, paths in svc.PROFILE_GROUPS
        ]


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
    if request.method == "POST" and request.POST.get("action") == "preset":
        preset_form = PresetForm(request.POST)
        if preset_form.is_valid():
            svc.apply_preset(_user(request), preset_form.cleaned_data["industry"])
            messages.success(request, _("The industry preset was applied."))
            return redirect("settings_profile")
        status = 422
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
    context = {"profile": profile, "preset_form": preset_form, "form": form}
    return render(request, "workbench/settings/profile.html", context, status=status)


@admin_required
@require_GET
def settings_indicators(request: HttpRequest) -> HttpResponseBase:
    return render(request, "workbench/settings/indicators.html", svc.indicator_audit(_lang()))


class OverridesForm(forms.Form):
    overrides = forms.CharField(
        label=gettext_lazy("Overrides (JSON, merged onto the shipped defaults)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false"}),
    )


@admin_required
@require_http_methods(["GET", "POST"])
def settings_rules(request: HttpRequest, section: str) -> HttpResponseBase:
    if section not in svc.RULE_SECTIONS:
        raise Http404
    stored = svc.stored_overrides(section)
    form = OverridesForm(initial={"overrides": _pretty(stored)})
    status = 200
    if request.method == "POST":
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
        "table": svc.rule_table(section, _lang()),
    }
    return render(request, "workbench/settings/rules.html", context, status=status)


def _pretty(data: dict[str, Any]) -> str:
    import json

    return json.dumps(data, ensure_ascii=False, indent=2) if data else ""


@admin_required
@require_GET
def settings_questionnaires(request: HttpRequest) -> HttpResponseBase:
    lang = _lang()
    # the reasons an answer points to, by their labels (not their codes)
    taxonomy = current_rules().taxonomy
    items = [
        {
            "code": q.code,
            "title": q.zh if lang.startswith("zh") else q.en,
            "questions": [
                {
                    "text": question.text(lang),
                    "kind": question.kind,
                    "options": [
                        (
                            o.zh if lang.startswith("zh") else o.en,
                            ("、" if lang.startswith("zh") else ", ").join(
                                taxonomy.label(r, lang) for r in o.reasons
                            ),
                        )
                        for o in question.options
                    ],
                }
                for question in q.questions
            ],
        }
        for q in svc.questionnaires()
    ]
    return render(request, "workbench/settings/questionnaires.html", {"items": items})


class UserForm(forms.Form):
    username = forms.RegexField(
        label=gettext_lazy("User name"), max_length=150, regex=r"^[\w.@+-]+$"
    )
    password = forms.CharField(
        label=gettext_lazy("Password"), widget=forms.PasswordInput, min_length=8
    )
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=Role.choices, initial=Role.AGENT)
    seniority = forms.TypedChoiceField(
        label=gettext_lazy("Seniority"),
        choices=[(1, "1"), (2, "2"), (3, "3")],
        coerce=int,
        initial=1,
    )
    daily_capacity = forms.IntegerField(
        label=gettext_lazy("Calls per day"), min_value=0, max_value=500, initial=40
    )


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

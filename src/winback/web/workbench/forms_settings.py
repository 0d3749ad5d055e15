"""The settings pages' forms: one typed field per setting, checked here with messages in the
user's language before the services (and the profile's own checks) see the values."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from winback.app.settings import service as svc
from winback.app.settings.rules import current_rules
from winback.config import (
    INDICATOR_WEIGHT_BOUND,
    INDUSTRIES,
    PROFILE_BOUNDS,
    Bound,
    BusinessProfile,
)
from winback.programme.offers import KINDS
from winback.programme.playbooks import OFFER_PREFERENCES
from winback.store.accounts.models import Role
from winback.store.customers.models import ContactChannel

CODE_PATTERN = r"^[a-z][a-z0-9_]{1,39}$"
CODE_HELP = _("Lower-case letters, digits and _ (for example price_too_high).")


def _number(value: float) -> str:
    return f"{value:g}"


def bound_validators(bound: Bound) -> list[Any]:
    """Validators refusing values outside ``bound``: Django's own (translated) messages for a
    closed end, ours for an open one ("above 0")."""
    validators: list[Any] = []
    if bound.low_open:
        validators.append(_open_end(bound.low, above=True))
    else:
        validators.append(MinValueValidator(_plain(bound.low)))
    if bound.high_open:
        validators.append(_open_end(bound.high, above=False))
    else:
        validators.append(MaxValueValidator(_plain(bound.high)))
    return validators


def _plain(value: float) -> float | int:
    """1.0 -> 1, so a message says "at most 1" rather than "1.0"."""
    return int(value) if float(value).is_integer() else value


def _open_end(limit: float, *, above: bool) -> Any:
    def check(value: Any) -> None:
        if value is None:
            return
        if (above and float(value) <= limit) or (not above and float(value) >= limit):
            message = (
                _("Enter a number above %(limit)s.")
                if above
                else _("Enter a number below %(limit)s.")
            )
            raise ValidationError(message, code="bounds", params={"limit": _number(limit)})

    return check


def lines(text: str, *, commas: bool = False) -> list[str]:
    """One entry a line (with ``commas``, commas also separate), blanks and repeats dropped."""
    if commas:
        text = text.replace("，", "\n").replace(",", "\n").replace("、", "\n")
    out: list[str] = []
    for line in text.splitlines():
        word = line.strip()
        if word and word not in out:
            out.append(word)
    return out


class LinesField(forms.CharField):
    """A list of short texts, one a line."""

    def __init__(self, *, commas: bool = False, **kwargs: Any) -> None:
        self.commas = commas
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 4}))
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return "\n".join(str(v) for v in value)
        return value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().to_python(value)
        return lines(text or "", commas=self.commas)


class PresetForm(forms.Form):
    industry = forms.ChoiceField(
        label=_("Industry preset"),
        choices=[(i, svc.INDUSTRY_LABELS[i]) for i in INDUSTRIES],
    )


def field_name(path: str) -> str:
    return path.replace(".", "__")


class ProfileForm(forms.Form):
    """One field per profile setting, typed like the setting it edits and bounded by
    :data:`winback.config.PROFILE_BOUNDS`."""

    def __init__(self, *args: Any, profile: BusinessProfile, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        leaves = svc.profile_leaves(profile)
        for path, value in leaves.items():
            label = svc.PROFILE_LABELS[path]
            field: forms.Field
            if path in svc.PROFILE_CHOICES:
                field = forms.ChoiceField(label=label, choices=svc.PROFILE_CHOICES[path])
            elif (
                path in ("churn_horizon_days", "early_warning_capacity")
                or path == "programme.global_holdout_seed"
            ):
                field = forms.IntegerField(label=label, required=False)
            elif isinstance(value, bool):
                field = forms.BooleanField(label=label, required=False)
            elif isinstance(value, int):
                field = forms.IntegerField(label=label)
            elif isinstance(value, float):
                field = forms.FloatField(label=label)
            elif path == "import_earliest_date":
                field = forms.DateField(label=label)
            else:
                field = forms.CharField(
                    label=label, required=path in ("currency", "time_zone"), max_length=80
                )
            if path in PROFILE_BOUNDS:
                field.validators.extend(bound_validators(PROFILE_BOUNDS[path]))
            field.initial = value
            self.fields[field_name(path)] = field

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        found = [
            data.get(field_name(f"lifecycle.{k}"))
            for k in ("silent_from", "sleeping_from", "lost_from")
        ]
        order = [int(v) for v in found if v is not None]
        if len(order) == 3 and not order[0] < order[1] < order[2]:
            self.add_error(
                field_name("lifecycle.sleeping_from"),
                _("The thresholds must increase: silent < sleeping < lost."),
            )
        at_risk, lost = data.get("lateness_at_risk"), data.get("lateness_lost")
        if at_risk is not None and lost is not None and not at_risk < lost:
            self.add_error(
                "lateness_lost",
                _("Must be larger than the lateness that marks a customer at risk."),
            )
        return data

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in self.cleaned_data.items():
            path = name.replace("__", ".")
            out[path] = value.isoformat() if path == "import_earliest_date" and value else value
        return out

    def groups(self) -> list[tuple[Any, list[forms.BoundField]]]:
        return [
            (title, [self[field_name(p)] for p in paths])
            for _code, title, paths in svc.PROFILE_GROUPS
        ]


class EarlyWarningForm(forms.Form):
    early_warning_share = forms.FloatField(
        label=svc.PROFILE_LABELS["early_warning_share"],
        validators=bound_validators(PROFILE_BOUNDS["early_warning_share"]),
    )
    early_warning_capacity = forms.IntegerField(
        label=svc.PROFILE_LABELS["early_warning_capacity"],
        required=False,
        validators=bound_validators(PROFILE_BOUNDS["early_warning_capacity"]),
    )


class IndicatorWeightsForm(forms.Form):
    """One optional weight per churn indicator: empty keeps the learned weight."""

    def __init__(self, *args: Any, lang: str, current: dict[str, float], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for code, label in svc.indicator_choices(lang):
            self.fields[code] = forms.FloatField(
                label=label,
                required=False,
                initial=current.get(code),
                validators=bound_validators(INDICATOR_WEIGHT_BOUND),
            )

    def weights(self) -> dict[str, float | None]:
        return dict(self.cleaned_data)


class OverridesForm(forms.Form):
    overrides = forms.CharField(
        label=_("Overrides (JSON, merged onto the shipped defaults)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false"}),
    )


class ReasonForm(forms.Form):
    """One reason of the taxonomy with its synonyms (the words that map free text to it)."""

    code = forms.RegexField(label=_("Code"), regex=CODE_PATTERN, help_text=CODE_HELP)
    group = forms.ChoiceField(label=_("Group"))
    zh = forms.CharField(label=_("Label (Chinese)"), max_length=80)
    en = forms.CharField(label=_("Label (English)"), max_length=80)
    keywords_zh = LinesField(label=_("Synonyms (Chinese, one a line)"), commas=True)
    keywords_en = LinesField(label=_("Synonyms (English, one a line)"), commas=True)
    sensitive = forms.BooleanField(label=_("Sensitive (a supervisor handles it)"), required=False)
    hidden = forms.BooleanField(label=_("Hidden (not offered to agents)"), required=False)

    def __init__(self, *args: Any, lang: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        taxonomy = current_rules().taxonomy
        group_field = self.fields["group"]
        assert isinstance(group_field, forms.ChoiceField)
        group_field.choices = [
            (g.code, taxonomy.group_label(g.code, lang)) for g in taxonomy.groups
        ]


class PlaybookForm(forms.Form):
    """The playbook of one reason: what to fix first, the script agents read, the channel and
    the kind of offer that fits."""

    reason = forms.ChoiceField(label=_("Reason"))
    department = forms.ChoiceField(label=_("Department"))
    action = forms.RegexField(label=_("Fix code"), regex=CODE_PATTERN, help_text=CODE_HELP)
    fix_zh = forms.CharField(label=_("Fix first (Chinese)"), max_length=200)
    fix_en = forms.CharField(label=_("Fix first (English)"), max_length=200)
    talking_points_zh = LinesField(
        label=_("Script (Chinese, one talking point a line)"),
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    talking_points_en = LinesField(
        label=_("Script (English, one talking point a line)"),
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=ContactChannel.choices)
    seniority = forms.TypedChoiceField(
        label=_("Seniority"), choices=[(1, "1"), (2, "2"), (3, "3")], coerce=int
    )
    offer_preference = forms.ChoiceField(label=_("Offers that fit"), required=False)

    def __init__(self, *args: Any, lang: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rules = current_rules()
        reason_field = self.fields["reason"]
        department_field = self.fields["department"]
        preference_field = self.fields["offer_preference"]
        assert isinstance(reason_field, forms.ChoiceField)
        assert isinstance(department_field, forms.ChoiceField)
        assert isinstance(preference_field, forms.ChoiceField)
        reason_field.choices = [
            (r.code, rules.taxonomy.label(r.code, lang)) for r in rules.taxonomy.reasons
        ]
        department_field.choices = [
            (d.code, rules.playbooks.department_label(d.code, lang))
            for d in rules.playbooks.departments
        ]
        labels = {
            "price": _("Price offers (discounts, vouchers)"),
            "perk": _("Perks (service, advice)"),
        }
        preference_field.choices = [("", _("Any")), *((p, labels[p]) for p in OFFER_PREFERENCES)]

    def _points(self, name: str) -> list[str]:
        points: list[str] = self.cleaned_data[name]
        if not 2 <= len(points) <= 4:
            raise ValidationError(_("Write 2 to 4 talking points, one a line."), code="points")
        return points

    def clean_talking_points_zh(self) -> list[str]:
        return self._points("talking_points_zh")

    def clean_talking_points_en(self) -> list[str]:
        return self._points("talking_points_en")

    def entry(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["offer_preference"] = data.get("offer_preference") or None
        return data


class OfferForm(forms.Form):
    """One offer of the catalogue: what it is, what it costs, for which tiers."""

    code = forms.RegexField(label=_("Code"), regex=CODE_PATTERN, help_text=CODE_HELP)
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[(k, svc.OFFER_KIND_LABELS.get(k, k)) for k in KINDS]
    )
    zh = forms.CharField(label=_("Label (Chinese)"), max_length=80)
    en = forms.CharField(label=_("Label (English)"), max_length=80)
    depth_share = forms.FloatField(
        label=_("Cost as a share of the spend (0 to 1)"),
        initial=0.0,
        validators=bound_validators(Bound(0.0, 1.0)),
    )
    depth_abs = forms.FloatField(
        label=_("Cost per use (currency units)"),
        initial=0.0,
        validators=bound_validators(Bound(0.0, 100_000.0)),
    )
    visits = forms.IntegerField(
        label=_("Purchases it spans"), initial=1, validators=bound_validators(Bound(1, 52))
    )
    min_spend = forms.FloatField(
        label=_("Least expected spend of the next purchase"),
        initial=0.0,
        validators=bound_validators(Bound(0.0, 1_000_000.0)),
    )
    tiers = forms.MultipleChoiceField(
        label=_("Value tiers (none ticked: every tier)"),
        required=False,
        choices=[(str(t), str(t)) for t in range(1, 6)],
        widget=forms.CheckboxSelectMultiple,
    )
    remove = forms.BooleanField(label=_("Remove this offer"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("remove") and not (data.get("depth_share") or data.get("depth_abs")):
            kind = data.get("kind")
            if kind in ("percent_off", "voucher"):
                self.add_error("depth_share", _("A discount or voucher must cost something."))
        return data

    def entry(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        if data.pop("remove", False):
            return {"code": data["code"], "remove": True}
        tiers = sorted(int(t) for t in data.pop("tiers", []))
        data["tiers"] = tiers or None
        return data


class DepthCapsForm(forms.Form):
    """The highest offer cost per value tier, as a share of the customer's expected spend."""

    def __init__(self, *args: Any, caps: dict[int, float], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for tier in range(1, 6):
            self.fields[f"tier_{tier}"] = forms.FloatField(
                label=_("Tier %(tier)s") % {"tier": tier},
                required=False,
                initial=caps.get(tier),
                validators=bound_validators(Bound(0.0, 1.0)),
            )

    def caps(self) -> dict[int, float]:
        return {
            int(name.split("_")[1]): float(v)
            for name, v in self.cleaned_data.items()
            if v is not None
        }


class UserForm(forms.Form):
    username = forms.RegexField(label=_("User name"), max_length=150, regex=r"^[\w.@+-]+$")
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, min_length=8)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.AGENT)
    seniority = forms.TypedChoiceField(
        label=_("Seniority"),
        choices=[(1, "1"), (2, "2"), (3, "3")],
        coerce=int,
        initial=1,
    )
    daily_capacity = forms.IntegerField(
        label=_("Calls per day"), min_value=0, max_value=500, initial=40
    )


class UserEditForm(forms.Form):
    first_name = forms.CharField(label=_("Name"), max_length=150, required=False)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    language = forms.ChoiceField(label=_("Language"), required=False)
    seniority = forms.TypedChoiceField(
        label=_("Seniority"), choices=[(1, "1"), (2, "2"), (3, "3")], coerce=int
    )
    daily_capacity = forms.IntegerField(label=_("Calls per day"), min_value=0, max_value=500)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        language_field = self.fields["language"]
        assert isinstance(language_field, forms.ChoiceField)
        language_field.choices = [("", _("The site's language")), *settings.LANGUAGES]

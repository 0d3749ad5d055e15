"""The workbench's forms: sign-in, the call outcome and the customer filters."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import get_language, gettext_noop
from django.utils.translation import gettext_lazy as _

from winback.app.accounts.signin import demo_sign_in_refused
from winback.store.customers.models import ContactOutcome

if TYPE_CHECKING:
    from winback.app.customers.lists import CustomerFilters

# Django's forms end each label with gettext(":"), which Django's own Chinese catalogue leaves
# half-width; naming it here puts it in the project catalogue, translated as a full-width colon.
LABEL_SUFFIX = gettext_noop(":")
TIER_CHOICES = [("", _("All tiers"))] + [(str(t), str(t)) for t in range(1, 6)]


DEMO_REFUSED = _(
    "Demo accounts cannot sign in to a production workbench: this account still has the "
    "published demo password. Ask an administrator to give it a new password."
)


def _refuse_demo(form: AuthenticationForm) -> None:
    if demo_sign_in_refused(str(form.cleaned_data.get("password") or "")):
        raise forms.ValidationError(DEMO_REFUSED, code="demo_account")


class SignInForm(AuthenticationForm):
    """Django's sign-in, refusing the demo password in production."""

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        _refuse_demo(self)


class AdminSignInForm(AdminAuthenticationForm):
    """The admin site's sign-in, with the same refusal."""

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        _refuse_demo(self)


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=ContactOutcome.choices)
    reason_code = forms.ChoiceField(label=_("Leave reason"), required=False)
    offer_code = forms.ChoiceField(label=_("Offer"), required=False)
    promised_return_date = forms.DateField(
        label=_("Promised return date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    expected_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(
        self,
        *args: Any,
        reasons: list[tuple[str, str]],
        offers: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        reason_field = self.fields["reason_code"]
        offer_field = self.fields["offer_code"]
        assert isinstance(reason_field, forms.ChoiceField)
        assert isinstance(offer_field, forms.ChoiceField)
        reason_field.choices = [("", _("(not known)")), *reasons]
        offer_field.choices = [("", _("(no offer)")), *offers]


class CustomerFilterForm(forms.Form):
    q = forms.CharField(label=_("Customer id"), required=False, max_length=64)
    stage = forms.ChoiceField(label=_("Stage"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False)
    tier = forms.TypedChoiceField(
        label=_("Tier"), required=False, choices=TIER_CHOICES, coerce=int, empty_value=None
    )
    customer_type = forms.ChoiceField(label=_("Customer type"), required=False)
    rfm_octant = forms.ChoiceField(label=_("RFM octant"), required=False)
    store = forms.ChoiceField(label=_("Store"), required=False)
    prospects = forms.BooleanField(label=_("Include prospects"), required=False)
    sort = forms.CharField(required=False, max_length=16, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from winback.analytics.segments import OCTANTS
        from winback.app.customers.pages import STAGE_LABELS, STATUS_LABELS, TYPE_LABELS
        from winback.store.customers.models import Store

        super().__init__(*args, **kwargs)
        chinese = (get_language() or "zh-hans").startswith("zh")
        choices: dict[str, list[tuple[str, Any]]] = {
            "stage": [("", _("All stages")), *STAGE_LABELS.items()],
            "status": [("", _("All statuses")), *STATUS_LABELS.items()],
            "customer_type": [("", _("All types")), *TYPE_LABELS.items()],
            "rfm_octant": [
                ("", _("All octants")),
                *((code, zh if chinese else en) for code, (_r, zh, en) in OCTANTS.items()),
            ],
            "store": [
                ("", _("All stores")),
                *((code, name or code) for code, name in Store.objects.values_list("code", "name")),
            ],
        }
        for name, options in choices.items():
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = options

    def filters(self) -> CustomerFilters:
        """The filters chosen (none when the form is unbound or not valid)."""
        from winback.app.customers.lists import SORT_KEYS, CustomerFilters

        if not self.is_bound or not self.is_valid():
            return CustomerFilters()
        data = self.cleaned_data
        sort = (data.get("sort") or "").strip()
        return CustomerFilters(
            stage=data.get("stage") or "",
            status=data.get("status") or "",
            tier=data.get("tier"),
            q=(data.get("q") or "").strip(),
            customer_type=data.get("customer_type") or "",
            rfm_octant=data.get("rfm_octant") or "",
            store=data.get("store") or "",
            sort=sort if sort.lstrip("-") in SORT_KEYS else "",
            prospects=bool(data.get("prospects")),
        )


class WarningFilterForm(CustomerFilterForm):
    """The customer filters without status (every flagged customer is active or at risk) and
    without the prospects switch (a prospect is never flagged)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["status"]
        del self.fields["prospects"]


class SegmentForm(forms.Form):
    """Save the list's current filters and sort under a name."""

    name = forms.CharField(label=_("Segment name"), max_length=80)
    shared = forms.BooleanField(label=_("Share with the team"), required=False)


class BulkForm(forms.Form):
    """A bulk action on the list: on the ticked customers or on the whole filtered list."""

    SCOPES = (("selected", _("Ticked customers")), ("all", _("The whole filtered list")))

    action = forms.ChoiceField(
        choices=(("add_to_round", "add_to_round"), ("export", "export")),
        widget=forms.HiddenInput,
    )
    scope = forms.ChoiceField(
        label=_("Apply to"), choices=SCOPES, initial="selected", widget=forms.RadioSelect
    )
    c = forms.Field(required=False, widget=forms.MultipleHiddenInput)  # the ticked customers
    round = forms.TypedChoiceField(label=_("Round"), required=False, coerce=int, empty_value=None)
    agent = forms.TypedChoiceField(
        label=_("Assign to"), required=False, coerce=int, empty_value=None
    )
    format = forms.ChoiceField(
        required=False, choices=(("csv", "CSV"), ("xlsx", "XLSX")), initial="csv"
    )

    def __init__(
        self,
        *args: Any,
        rounds: list[tuple[int, str]],
        agents: list[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        fields = self.fields
        for name, options in (
            ("round", [(pk, label) for pk, label in rounds]),
            ("agent", [("", _("Least busy agents")), *agents]),
        ):
            field = fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = options

    def clean_c(self) -> list[int]:
        ticked = self.cleaned_data.get("c") or []
        try:
            return [int(v) for v in ticked]
        except (TypeError, ValueError):
            raise forms.ValidationError(_("Not a customer of this list."), code="invalid") from None

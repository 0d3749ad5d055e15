"""The workbench's forms: the call outcome and the customer filters."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from winback.web.customers.models import ContactOutcome

TIER_CHOICES = [("", _("All tiers"))] + [(str(t), str(t)) for t in range(1, 6)]


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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from winback.web.workbench.services import STAGE_LABELS, STATUS_LABELS

        super().__init__(*args, **kwargs)
        stage_field = self.fields["stage"]
        status_field = self.fields["status"]
        assert isinstance(stage_field, forms.ChoiceField)
        assert isinstance(status_field, forms.ChoiceField)
        stage_field.choices = [("", _("All stages")), *STAGE_LABELS.items()]
        status_field.choices = [("", _("All statuses")), *STATUS_LABELS.items()]


class WarningFilterForm(CustomerFilterForm):
    """The customer filters without status: every flagged customer is active or at risk."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["status"]

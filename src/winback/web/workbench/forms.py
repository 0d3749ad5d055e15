"""The workbench's forms: sign-in, the call outcome and the customer filters."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone
from django.utils.translation import get_language, gettext_noop
from django.utils.translation import gettext_lazy as _

from winback.app.accounts.signin import demo_sign_in_refused
from winback.app.contacts.service import rule_message
from winback.programme.contacts import PROMISE_HORIZON_DAYS
from winback.programme.questionnaires import CHOICE_KINDS, SCALE
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
    """The call's outcome. No outcome is preselected; a reached customer needs a reason (chosen,
    or through the questionnaire); "call back later" needs a date and a time; a promised return
    lies within the next 90 days; on the last attempt the agent confirms that saving closes the
    call. The service checks the same rules (:func:`log_contact`)."""

    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=ContactOutcome.choices, widget=forms.RadioSelect
    )
    reason_code = forms.ChoiceField(label=_("Leave reason"), required=False)
    offer_code = forms.ChoiceField(label=_("Offer"), required=False)
    promised_return_date = forms.DateField(
        label=_("Promised return date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    callback_date = forms.DateField(
        label=_("Call back on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    callback_time = forms.TimeField(
        label=_("Time to call back"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    confirm_close = forms.BooleanField(
        label=_("I understand: this is the last attempt, saving closes the call."),
        required=False,
    )
    expected_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(
        self,
        *args: Any,
        reasons: list[tuple[str, str]],
        offers: list[tuple[str, str]],
        questions: list[dict[str, Any]] | None = None,
        today: date | None = None,
        last_attempt: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        reason_field = self.fields["reason_code"]
        offer_field = self.fields["offer_code"]
        assert isinstance(reason_field, forms.ChoiceField)
        assert isinstance(offer_field, forms.ChoiceField)
        reason_field.choices = [("", _("(not known)")), *reasons]
        offer_field.choices = [("", _("(no offer)")), *offers]
        self.today = today or timezone.localdate()
        self.last_attempt = last_attempt
        if not last_attempt:
            del self.fields["confirm_close"]
        self.questions = questions or []
        for q in self.questions:
            if q["kind"] == "text":
                field: forms.Field = forms.CharField(
                    label=q["text"],
                    required=False,
                    max_length=1000,
                    widget=forms.Textarea(attrs={"rows": 2}),
                )
            elif q["kind"] == "scale":
                field = forms.ChoiceField(
                    label=q["text"],
                    required=False,
                    choices=[("", _("(no answer)")), *((n, n) for n in SCALE)],
                    widget=forms.RadioSelect(attrs={"class": "scale"}),
                )
            elif q["kind"] == "multi":
                field = forms.MultipleChoiceField(
                    label=q["text"],
                    required=False,
                    choices=q["options"],
                    widget=forms.CheckboxSelectMultiple,
                )
            else:
                field = forms.ChoiceField(
                    label=q["text"],
                    required=False,
                    choices=[("", _("(no answer)")), *q["options"]],
                )
            self.fields[q["name"]] = field

    def outcome_fields(self) -> list[forms.BoundField]:
        """The fields of the outcome itself (the questionnaire's are shown apart)."""
        names = {q["name"] for q in self.questions} | {"expected_version", "confirm_close"}
        return [self[name] for name in self.fields if name not in names]

    def question_fields(self) -> list[forms.BoundField]:
        return [self[q["name"]] for q in self.questions]

    def answers(self) -> dict[str, Any]:
        """The questionnaire's answers by question code (unanswered ones left out)."""
        data = self.cleaned_data
        return {q["code"]: data[q["name"]] for q in self.questions if data.get(q["name"])}

    def callback_at(self) -> datetime | None:
        data = self.cleaned_data
        if data.get("outcome") != ContactOutcome.CALL_BACK or not data.get("callback_date"):
            return None
        moment = datetime.combine(data["callback_date"], data["callback_time"])
        return timezone.make_aware(moment)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        outcome = data.get("outcome")
        promised = data.get("promised_return_date")
        if promised is not None and promised < self.today:
            self.add_error("promised_return_date", rule_message("promise_in_past"))
        elif promised is not None and (promised - self.today).days > PROMISE_HORIZON_DAYS:
            self.add_error("promised_return_date", rule_message("promise_too_far"))
        answered = any(data.get(q["name"]) for q in self.questions if q["kind"] in CHOICE_KINDS)
        if outcome == ContactOutcome.REACHED and not data.get("reason_code") and not answered:
            self.add_error("reason_code", rule_message("reason_required"))
        if outcome == ContactOutcome.CALL_BACK and not self.last_attempt:
            if not data.get("callback_date"):
                self.add_error("callback_date", _("Give the day to call back."))
            if not data.get("callback_time"):
                self.add_error("callback_time", _("Give the time to call back."))
            when = data.get("callback_date")
            if when is not None and when < self.today:
                self.add_error("callback_date", rule_message("callback_in_past"))
        if self.last_attempt and outcome and not data.get("confirm_close"):
            self.add_error(
                "confirm_close",
                _("This is the last attempt the round allows: tick the box to close the call."),
            )
        return data


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


class QueueFilterForm(forms.Form):
    """The agent queue's search, sort and filters (the tab rides along hidden)."""

    tab = forms.CharField(required=False, widget=forms.HiddenInput)
    q = forms.CharField(label=_("Customer id or name"), required=False, max_length=64)
    sort = forms.ChoiceField(label=_("Sort by"), required=False)
    stage = forms.ChoiceField(label=_("Stage"), required=False)
    tier = forms.ChoiceField(label=_("Tier"), required=False, choices=TIER_CHOICES)
    channel = forms.ChoiceField(label=_("Channel"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from winback.app.customers.pages import STAGE_LABELS
        from winback.app.customers.queue import SORT_LABELS
        from winback.store.customers.models import ContactChannel

        super().__init__(*args, **kwargs)
        choices: dict[str, list[tuple[str, Any]]] = {
            "sort": list(SORT_LABELS.items()),
            "stage": [("", _("All stages")), *STAGE_LABELS.items()],
            "channel": [("", _("All channels")), *ContactChannel.choices],
        }
        for name, options in choices.items():
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = options

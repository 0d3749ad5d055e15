"""Supervisor quality review: score a reproducible sample of recent contact attempts, stratified
across agents, on the programme's scorecard; admins edit the scorecard."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from winback.app.accounts.permissions import staff_required
from winback.app.actors import Actor, Permission
from winback.app.contacts import quality as svc
from winback.programme.scorecard import SCORES, Criterion, Scorecard, ScorecardError
from winback.store.accounts.models import User

SCORE_CHOICES = [("", "-"), *((str(n), str(n)) for n in SCORES)]


def score_field(code: str) -> str:
    return f"score_{code}"


class ReviewForm(forms.Form):
    """One 1-5 score per criterion of the scorecard, and comments."""

    comments = forms.CharField(
        label=gettext_lazy("Comments"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, card: Scorecard, lang: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.card = card
        for c in card.criteria:
            self.fields[score_field(c.code)] = forms.TypedChoiceField(
                label=c.label(lang),
                choices=SCORE_CHOICES,
                coerce=int,
                error_messages={"required": _("Score every criterion from 1 to 5.")},
            )

    def scores(self) -> dict[str, int]:
        return {c.code: int(self.cleaned_data[score_field(c.code)]) for c in self.card.criteria}


class CriterionForm(forms.Form):
    code = forms.RegexField(
        label=gettext_lazy("Code"),
        regex=r"^[a-z][a-z0-9_]{0,39}$",
        required=False,
        max_length=40,
        error_messages={
            "invalid": gettext_lazy("Lower-case letters, digits and _; starting with a letter.")
        },
    )
    label_zh = forms.CharField(label=gettext_lazy("Name (Chinese)"), required=False, max_length=80)
    label_en = forms.CharField(label=gettext_lazy("Name (English)"), required=False, max_length=80)
    weight = forms.FloatField(
        label=gettext_lazy("Weight"), required=False, min_value=0.1, max_value=100
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("code") and not (
            data.get("label_zh") and data.get("label_en") and data.get("weight")
        ):
            raise forms.ValidationError(_("Give the criterion both names and a weight."))
        return data


CriteriaFormSet = forms.formset_factory(CriterionForm, extra=2, max_num=12, absolute_max=12)


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _lang() -> str:
    return get_language() or "zh-hans"


def _criteria_formset(card: Scorecard, data: Any = None) -> Any:
    """The scorecard's rows to edit (GET) or as posted (every row is read: none is skipped
    for being unchanged)."""
    if data is not None:
        return CriteriaFormSet(data, prefix="criteria")
    return CriteriaFormSet(initial=[c.to_json() for c in card.criteria], prefix="criteria")


@staff_required
@require_GET
def quality(request: HttpRequest) -> HttpResponse:
    page = svc.quality_page(_user(request), day=timezone.localdate(), lang=_lang())
    may_edit = Actor.of(_user(request)).may(Permission.CHANGE_SETTINGS)
    page["criteria_forms"] = _criteria_formset(page["scorecard"]) if may_edit else None
    page["agents_in_sample"] = svc.agents_in_sample(page["items"])
    page["stored_warnings"] = _scorecard_warnings() if may_edit else []
    return render(request, "workbench/quality/review.html", page)


def _scorecard_warnings() -> list[str]:
    """For admins: the stored scorecard could not be read, so the default one is in force."""
    _card, problem = svc.scorecard_state()
    if problem is None:
        return []
    return [
        _(
            "The stored quality scorecard could not be read (%(problem)s): the default "
            "scorecard is used until a scorecard is saved again."
        )
        % {"problem": problem}
    ]


@staff_required
@require_POST
def scorecard(request: HttpRequest) -> HttpResponseBase:
    actor = Actor.of(_user(request))
    if not actor.may(Permission.CHANGE_SETTINGS):
        raise PermissionDenied
    formset = _criteria_formset(svc.scorecard(), request.POST)
    error = ""
    if formset.is_valid():
        rows = [f.cleaned_data for f in formset.forms if f.cleaned_data.get("code")]
        card = Scorecard(
            tuple(
                Criterion(r["code"], r["label_zh"].strip(), r["label_en"].strip(), r["weight"])
                for r in rows
            )
        )
        try:
            svc.set_scorecard(actor, card)
        except ScorecardError as exc:
            error = _scorecard_error(exc)
        else:
            messages.success(request, _("Scorecard saved."))
            return redirect("quality")
    page = svc.quality_page(_user(request), day=timezone.localdate(), lang=_lang())
    page["criteria_forms"] = formset
    page["scorecard_error"] = error or (
        "" if formset.is_valid() else _("Correct the marked fields.")
    )
    page["agents_in_sample"] = svc.agents_in_sample(page["items"])
    return render(request, "workbench/quality/review.html", page, status=422)


def _scorecard_error(exc: ScorecardError) -> str:
    code = exc.params.get("code") or ""
    messages_by_code = {
        "no_criteria": _("Keep at least one criterion."),
        "duplicate_code": _("The code %(code)s is used twice.") % {"code": code},
        "too_many": _("At most 12 criteria."),
    }
    return messages_by_code.get(exc.problem, _("Check the criterion %(code)s.") % {"code": code})


@staff_required
@require_POST
def review(request: HttpRequest, attempt_id: int) -> HttpResponseBase:
    user = _user(request)
    card = svc.scorecard()
    form = ReviewForm(request.POST, card=card, lang=_lang())
    status, notice = 200, ""
    if form.is_valid():
        svc.save_review(
            attempt_id, user, scores=form.scores(), comments=form.cleaned_data["comments"]
        )
        notice = _("Rating saved.")
        if not request.htmx:  # type: ignore[attr-defined]
            messages.success(request, notice)
            return redirect("quality")
    else:
        status = 422
        if not request.htmx:  # type: ignore[attr-defined]
            messages.error(request, _("Score every criterion from 1 to 5."))
            return redirect("quality")
    item = svc.review_item(attempt_id, user, lang=_lang())
    context = {
        "item": item,
        "notice": notice,
        "form_errors": form.errors,
        "scorecard": card,
        "lang": _lang(),
        "by_agent": svc.ratings_by_agent(_lang()),
        "recent": svc.recent_reviews(),
    }
    return render(request, "workbench/quality/_saved.html", context, status=status)

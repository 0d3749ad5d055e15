"""Supervisor quality review: rate a reproducible sample of recent contact attempts."""

from __future__ import annotations

from typing import cast

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from winback.app.accounts.permissions import staff_required
from winback.app.contacts import quality as svc
from winback.store.accounts.models import User

RATINGS = [(str(n), str(n)) for n in range(1, 6)]


class ReviewForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=gettext_lazy("Rating (1 poor - 5 excellent)"), choices=RATINGS, coerce=int
    )
    comments = forms.CharField(
        label=gettext_lazy("Comments"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _lang() -> str:
    return get_language() or "zh-hans"


@staff_required
@require_GET
def quality(request: HttpRequest) -> HttpResponse:
    page = svc.quality_page(_user(request), day=timezone.localdate(), lang=_lang())
    return render(request, "workbench/quality/review.html", page)


@staff_required
@require_POST
def review(request: HttpRequest, attempt_id: int) -> HttpResponseBase:
    user = _user(request)
    form = ReviewForm(request.POST)
    status, notice = 200, ""
    if form.is_valid():
        svc.save_review(
            attempt_id,
            user,
            rating=form.cleaned_data["rating"],
            comments=form.cleaned_data["comments"],
        )
        notice = _("Rating saved.")
        if not request.htmx:  # type: ignore[attr-defined]
            messages.success(request, notice)
            return redirect("quality")
    else:
        status = 422
        if not request.htmx:  # type: ignore[attr-defined]
            messages.error(request, _("Choose a rating from 1 to 5."))
            return redirect("quality")
    item = svc.review_item(attempt_id, user, lang=_lang())
    context = {
        "item": item,
        "notice": notice,
        "form_errors": form.errors,
        "by_agent": svc.ratings_by_agent(),
        "recent": svc.recent_reviews(),
    }
    return render(request, "workbench/quality/_saved.html", context, status=status)

"""Care in the workbench (R10): each agent's care calls, visits and greetings in their queue,
the page to record one, and the supervisors' planning of care tasks for a range of days.
Thin adapters over :mod:`winback.app.care.tasks`."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseBase, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from winback.app.accounts.permissions import staff_required
from winback.app.actors import Actor
from winback.app.care import rules, tasks
from winback.app.contacts.gate import ContactNotAllowed
from winback.app.customers import queue
from winback.app.customers.pages import audit_phone_reveal, not_allowed_message
from winback.app.customers.queue import QueueQuery
from winback.programme import care
from winback.programme.privacy import mask_phone
from winback.store.accounts.models import User
from winback.store.customers.models import ContactOutcome
from winback.store.programme.models import CareKind, CareStatus, CareTask

REVEAL_PHONE = "reveal_phone"  # the POST action that shows the full phone number


def _lang() -> str:
    return get_language() or "zh-hans"


def gate_reason_label(code: str) -> str:
    return not_allowed_message(code)


def occasion_label(code: str, lang: str, calendar: care.HolidayCalendar | None = None) -> str:
    """A greeting's occasion in words: a birthday or the holiday's name."""
    return rules.occasion_label(code, lang, calendar)


def _row(
    task: CareTask, today: date, lang: str, calendar: care.HolidayCalendar | None = None
) -> dict[str, Any]:
    return {
        "task": task,
        "kind": task.get_kind_display(),
        "occasion": occasion_label(task.occasion, lang, calendar),
        "overdue": task.planned_date < today,
    }


class CareOutcomeForm(forms.Form):
    outcome = forms.ChoiceField(label=gettext_lazy("Outcome"), choices=())
    notes = forms.CharField(
        label=gettext_lazy("Notes"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ChoiceField, self.fields["outcome"])
        field.choices = [("", _("Choose the outcome")), *ContactOutcome.choices]


def _task_or_404(user: User, task_id: int) -> CareTask:
    try:
        return tasks.task_for(Actor.of(user), task_id)
    except CareTask.DoesNotExist as exc:
        raise Http404 from exc


@login_required
@require_http_methods(["GET", "POST"])
def care_task(request: HttpRequest, care_task_id: int) -> HttpResponseBase:
    user = cast(User, request.user)
    task = _task_or_404(user, care_task_id)
    own = task.agent_id == user.pk
    # The queue the agent came from (its query string rides along as ``queue``).
    query = QueueQuery.from_params(QueryDict(request.POST.get("queue") or request.GET.urlencode()))
    form = CareOutcomeForm()
    status = 200
    reveal = False
    if request.method == "POST" and not own:
        raise PermissionDenied
    if request.method == "POST" and request.POST.get("action") == REVEAL_PHONE:
        # The full number is shown on a POST only, and each showing is audited.
        reveal = task.status == CareStatus.OPEN
        if reveal:
            audit_phone_reveal(user, task.customer, via="care_task")
    elif request.method == "POST":
        form = CareOutcomeForm(request.POST)
        if form.is_valid():
            try:
                tasks.record_outcome(
                    Actor.of(user),
                    task.pk,
                    outcome=form.cleaned_data["outcome"],
                    notes=form.cleaned_data["notes"],
                )
            except ContactNotAllowed as exc:
                messages.error(
                    request,
                    _("%(reason)s The care task is closed.")
                    % {"reason": gate_reason_label(exc.code)},
                )
                return redirect(_back(query))
            except tasks.CareTaskClosed:
                messages.info(request, _("This care task was already done."))
                return redirect(_back(query))
            messages.success(request, _("Care outcome saved."))
            return _after_save(request, user, task.pk, query)
        status = 422
    customer = task.customer
    context = {
        "task": task,
        "row": _row(task, timezone.localdate(), _lang()),
        "customer": customer,
        "phone": customer.phone if reveal else mask_phone(customer.phone),
        "revealed": reveal,
        "own": own and task.status == CareStatus.OPEN,
        "form": form,
        "closed_reason": gate_reason_label(task.closed_reason) if task.closed_reason else "",
        "queue_params": query.params(),
        "back": _back(query),
    }
    return render(request, "workbench/care/task.html", context, status=status)


def _back(query: QueueQuery) -> str:
    params = query.params()
    return f"{reverse('calls')}?{params}" if params else reverse("calls")


def _after_save(
    request: HttpRequest, user: User, task_id: int, query: QueueQuery
) -> HttpResponseBase:
    """ "Save and next" goes to the next open task of the queue the agent works, whatever its
    kind (back to the queue when none is left); a plain save goes back to the queue."""
    if not request.POST.get("next"):
        return redirect(_back(query))
    following = queue.next_task(
        user, query, after=task_id, today=timezone.localdate(), after_kind=queue.CARE
    )
    if following is None:
        messages.info(request, _("No open call left in this queue."))
        return redirect(_back(query))
    target = (
        reverse("care_task", args=[following.pk])
        if following.kind == queue.CARE
        else reverse("call", args=[following.pk])
    )
    params = query.params()
    return redirect(f"{target}?{params}" if params else target)


class CarePlanForm(forms.Form):
    start = forms.DateField(
        label=gettext_lazy("From"), widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(label=gettext_lazy("To"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                raise forms.ValidationError(_("The last day is before the first."))
            if (end - start).days >= tasks.MAX_PLAN_DAYS:
                raise forms.ValidationError(
                    _("Plan at most %(n)s days at a time.") % {"n": tasks.MAX_PLAN_DAYS}
                )
            if start.year < tasks.PLAN_YEARS[0] or end.year > tasks.PLAN_YEARS[1]:
                raise forms.ValidationError(
                    _("Plan within the years %(a)s-%(b)s.")
                    % {"a": tasks.PLAN_YEARS[0], "b": tasks.PLAN_YEARS[1]}
                )
        return data


@staff_required
@require_http_methods(["GET", "POST"])
def care_plan(request: HttpRequest) -> HttpResponseBase:
    user = cast(User, request.user)
    today = timezone.localdate()
    form = CarePlanForm(initial={"start": today, "end": today + timedelta(days=6)})
    status = 200
    if request.method == "POST":
        form = CarePlanForm(request.POST)
        if form.is_valid():
            made = tasks.materialise(
                Actor.of(user), form.cleaned_data["start"], form.cleaned_data["end"]
            )
            messages.success(
                request,
                _("%(created)s care tasks planned; %(left)s due tasks found no free agent.")
                % {"created": made.created, "left": made.left_over},
            )
            return redirect("care_plan")
        status = 422
    context = {
        "form": form,
        "open_by_agent": tasks.open_by_agent(),
        "kinds": CareKind,
    }
    return render(request, "workbench/care/plan.html", context, status=status)

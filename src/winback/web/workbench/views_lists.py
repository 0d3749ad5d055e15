"""The lists' actions: saved segments and bulk actions (add to a round, export).

Thin: each view validates, calls one use case in :mod:`winback.app.customers`, and answers
with a redirect back to the list (a POST never renders a list)."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseBase
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from winback.app.accounts.permissions import staff_required
from winback.app.contacts import gate
from winback.app.customers import bulk, lists, segments
from winback.app.customers import export as export_services
from winback.store.accounts.models import Role, User
from winback.web.workbench.forms import (
    BulkForm,
    CustomerFilterForm,
    SegmentForm,
    WarningFilterForm,
)

# The POST fields that belong to the actions, not to the list's filters.
ACTION_FIELDS = ("csrfmiddlewaretoken", "action", "scope", "c", "round", "agent", "format", "page")


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _filter_form(which: str, data: Any) -> CustomerFilterForm:
    return (WarningFilterForm if which == lists.WARNINGS else CustomerFilterForm)(data or None)


def _bulk_form(data: Any = None) -> BulkForm:
    rounds = [
        (r.pk, _("Round of %(month)s") % {"month": r.month.strftime("%Y-%m")})
        for r in bulk.open_rounds(gate.today())
    ]
    agents = [
        (pk, name)
        for pk, name in User.objects.filter(role=Role.AGENT, is_active=True)
        .order_by("username")
        .values_list("pk", "username")
    ]
    return BulkForm(data, rounds=rounds, agents=agents)


def list_context(request: HttpRequest, which: str, form: forms.Form, sort: str) -> dict[str, Any]:
    """What both lists' templates need besides the rows: the query (for the pager and the
    segments), the filters as hidden fields (for the actions), the sort links, the saved
    segments and the bulk form."""
    query = request.GET.copy()
    query.pop("page", None)
    return {
        "form": form,
        "which": which,
        "query": query.urlencode(),
        "export_fields": [(name, value) for name, values in query.lists() for value in values],
        "headers": lists.sort_headers(
            [(k, v) for k, values in query.lists() for v in values], sort
        ),
        "segments": segments.segments_for(_user(request), which),
        "segment_form": SegmentForm(),
        "bulk_form": _bulk_form(),
    }


def _back(which: str, data: Any) -> HttpResponseBase:
    """Back to the list with its filters."""
    kept = data.copy()
    for name in (*ACTION_FIELDS, "name", "shared"):
        kept.pop(name, None)
    url = reverse(which)
    return redirect(f"{url}?{kept.urlencode()}" if kept else url)


@staff_required
@require_POST
def save_segment(request: HttpRequest, which: str) -> HttpResponseBase:
    if which not in lists.LISTS:
        return HttpResponseBadRequest()
    named = SegmentForm(request.POST)
    data = request.POST.copy()
    for name in ("csrfmiddlewaretoken", "name", "shared"):
        data.pop(name, None)
    filters = _filter_form(which, data)
    if not named.is_valid() or (filters.is_bound and not filters.is_valid()):
        messages.error(request, _("Give the segment a name (at most 80 characters)."))
        return _back(which, request.POST)
    segment = segments.save_segment(
        _user(request),
        page=which,
        name=named.cleaned_data["name"],
        filters=filters.filters(),
        shared=bool(named.cleaned_data["shared"]),
    )
    messages.success(request, _("Segment saved: %(name)s") % {"name": segment.name})
    return _back(which, request.POST)


@staff_required
@require_POST
def delete_segment(request: HttpRequest, segment_id: int) -> HttpResponseBase:
    which = segments.delete_segment(_user(request), segment_id)
    messages.success(request, _("Segment deleted."))
    return redirect(which)


@staff_required
@require_POST
def bulk_action(request: HttpRequest, which: str) -> HttpResponseBase:
    """POST ``/customers/bulk/`` or ``/warnings/bulk/``: ``action`` (add_to_round, export),
    ``scope`` (selected: the ticked ``c``; all: the whole filtered list), the list's filters."""
    if which not in lists.LISTS:
        return HttpResponseBadRequest()
    form = _bulk_form(request.POST)
    data = request.POST.copy()
    for name in ACTION_FIELDS:
        data.pop(name, None)
    filter_form = _filter_form(which, data)
    if not form.is_valid() or (filter_form.is_bound and not filter_form.is_valid()):
        return HttpResponseBadRequest(_("The action or the filters are not valid."))
    chosen = form.cleaned_data
    filters: lists.CustomerFilters = filter_form.filters()
    if chosen["scope"] == "selected":
        if not chosen["c"]:
            messages.error(request, _("Tick at least one customer, or choose the whole list."))
            return _back(which, request.POST)
        filters = lists.with_selection(filters, chosen["c"])
    if chosen["action"] == "export":
        return _export(request, filters, chosen["format"] or "csv", which)
    if chosen["round"] is None:
        messages.error(request, _("Choose an open round."))
        return _back(which, request.POST)
    ids = lists.customer_ids(filters, which=which, limit=export_services.max_rows())
    try:
        result = bulk.add_to_round(
            _user(request), ids, round_id=chosen["round"], agent_id=chosen["agent"]
        )
    except bulk.RoundNotOpen:
        messages.error(request, _("This round no longer takes new members."))
        return _back(which, request.POST)
    messages.success(
        request,
        _(
            "Added: %(treated)s with a call task, %(control)s to the round's control group "
            "(not called). Refused: %(refused)s."
        )
        % {"treated": result.treated, "control": result.control, "refused": result.refused_total},
    )
    for reason, n in result.refused.items():
        messages.warning(
            request,
            _("Refused, %(reason)s: %(n)s") % {"reason": bulk.refusal_label(reason), "n": n},
        )
    return _back(which, request.POST)


def _export(
    request: HttpRequest, filters: lists.CustomerFilters, fmt: str, which: str
) -> HttpResponse:
    try:
        made = export_services.export_customers(_user(request), filters, fmt, which=which)
    except export_services.ExportRefused:
        return HttpResponseBadRequest(_("Choose CSV or XLSX."))
    response = HttpResponse(made.content, content_type=made.content_type)
    response["Content-Disposition"] = f'attachment; filename="{made.filename}"'
    response["X-Winback-Rows"] = str(made.rows)
    response["X-Winback-Matched"] = str(made.matched)
    response["Cache-Control"] = "no-store"
    return response


urlpatterns = [
    path("lists/<str:which>/segments/", save_segment, name="segment_save"),
    path("segments/<int:segment_id>/delete/", delete_segment, name="segment_delete"),
    path("lists/<str:which>/bulk/", bulk_action, name="list_bulk"),
]

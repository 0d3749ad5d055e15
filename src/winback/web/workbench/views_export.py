"""The supervisors' export of the filtered customer list (rules in :mod:`.export_services`).

Every export writes an audit row, so it is a POST (the list's Export buttons): a GET never
writes (docs/decisions/0013-get-never-writes.md)."""

from __future__ import annotations

from typing import cast

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from winback.app.customers import export as export_services
from winback.store.accounts.models import User
from winback.web.workbench.forms import CustomerFilterForm


@login_required
@require_POST
def export_customers(request: HttpRequest) -> HttpResponse:
    """POST ``/customers/export/`` with ``format`` (csv or xlsx) and the customer list's
    filters."""
    data = request.POST.copy()
    fmt = data.pop("format", ["csv"])[-1]
    data.pop("csrfmiddlewaretoken", None)
    form = CustomerFilterForm(data or None)
    if form.is_bound and not form.is_valid():
        return HttpResponseBadRequest(_("The filters are not valid."))
    filters = form.filters()
    try:
        export = export_services.export_customers(cast(User, request.user), filters, fmt)
    except export_services.ExportRefused:
        return HttpResponseBadRequest(_("Choose CSV or XLSX."))
    response = HttpResponse(export.content, content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response["X-Winback-Rows"] = str(export.rows)
    response["X-Winback-Matched"] = str(export.matched)
    response["Cache-Control"] = "no-store"
    return response


urlpatterns = [
    path("customers/export/", export_customers, name="customers_export"),
]

"""The admin's erasure of one customer's personal data (R13, PIPL), with a confirm step.

GET shows what goes and what stays; the POST must repeat the customer's own id. The rules are
:func:`winback.app.customers.privacy.erase_customers`'s."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from winback.app.actors import Actor
from winback.app.customers import privacy
from winback.store.accounts.models import User
from winback.web.workbench.views_imports import admin_required


@admin_required
def customer_erase(request: HttpRequest, customer_id: int) -> HttpResponse:
    actor = Actor.of(cast(User, request.user))
    try:
        preview = privacy.erasure_preview(actor, pk=customer_id)
    except privacy.UnknownCustomers:
        raise Http404 from None
    error = ""
    if request.method == "POST" and not preview.erased:
        if request.POST.get("confirm", "").strip() != preview.external_id:
            error = _("Type the customer id exactly as shown to confirm.")
        else:
            privacy.erase_customers(
                actor, pks=[customer_id], reason=request.POST.get("reason", "")[:200]
            )
            messages.success(request, _("The customer's personal data was erased."))
            return redirect("customers")
    status = 400 if error else 200
    return render(
        request,
        "workbench/customer_erase.html",
        {"preview": preview, "error": error},
        status=status,
    )

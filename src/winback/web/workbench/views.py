"""Thin views: validate, call one service, render. Permissions live in the services."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from csp.decorators import csp_exempt
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseBase,
    QueryDict,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.i18n import set_language as django_set_language

from winback.app.accounts import permissions
from winback.app.accounts.permissions import staff_required
from winback.app.actors import Actor
from winback.app.contacts.offer_budget import OfferOverBudget
from winback.app.contacts.service import ContactRuleBroken, InvalidChoice
from winback.app.customers import lists, queue
from winback.app.customers import pages as services
from winback.app.customers.queue import QueueQuery
from winback.app.reports.dashboard import dashboard as supervisor_dashboard
from winback.app.reports.money import parse_month
from winback.app.rounds.service import ContactNotAllowed, StaleWrite, log_contact
from winback.store.accounts.models import User
from winback.store.programme.models import CallTask
from winback.web.workbench.forms import (
    CustomerFilterForm,
    OutcomeForm,
    QueueFilterForm,
    SignInForm,
    WarningFilterForm,
)
from winback.web.workbench.views_lists import list_context

LANGUAGE_CODES = ("zh-hans", "en")
REVEAL_PHONE = "reveal_phone"  # the POST action that shows a full phone number


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _lang() -> str:
    return get_language() or "zh-hans"


class LoginView(auth_views.LoginView):
    """Django's login; afterwards the user's own language (if chosen before) applies."""

    template_name = "workbench/login.html"
    redirect_authenticated_user = True
    form_class = SignInForm

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        language = getattr(form.get_user(), "language", "")
        if language in LANGUAGE_CODES:
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, samesite="Lax")
        return response


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """django-axes' answer to a locked-out sign-in: the sign-in page, saying why (429)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(
        request,
        "workbench/login.html",
        {"form": SignInForm(request), "locked_minutes": minutes, "next": ""},
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )


FAVICON = Path(__file__).resolve().parent / "static" / "workbench" / "favicon.ico"


@require_GET
@cache_control(max_age=86400, public=True)
@csp_exempt()
def favicon(request: HttpRequest) -> HttpResponseBase:
    """Browsers ask for /favicon.ico whatever the page says: the workbench's icon (an image,
    not a document, so without a page policy, like the static files)."""
    return FileResponse(FAVICON.open("rb"), content_type="image/x-icon")


@require_POST
def set_language(request: HttpRequest) -> HttpResponseBase:
    """Django's language switch, remembered on the user so it follows them to any device."""
    response = django_set_language(request)
    language = request.POST.get("language", "")
    user = request.user
    if user.is_authenticated and language in LANGUAGE_CODES:
        User.objects.filter(pk=user.pk).update(language=language)
    return response


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponseBase:
    if permissions.is_staff_role(_user(request)):
        return redirect("dashboard")
    return redirect("calls")


@login_required
@require_GET
def calls(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    query = QueueQuery.from_params(request.GET)
    data = queue.agent_queue(_user(request), query, today=today, lang=_lang())
    context = {
        "queue": data,
        "rows": data.rows,
        "today": today,
        "form": QueueFilterForm(request.GET or None, initial={"tab": data.query.tab}),
        "params": data.query.params(),
    }
    return render(request, "workbench/calls.html", context)


def _queue_query(request: HttpRequest) -> QueueQuery:
    """The queue the agent came from (its query string rides along as ``queue``)."""
    return QueueQuery.from_params(QueryDict(request.POST.get("queue") or request.GET.urlencode()))


def _outcome_form(page: services.CallPage, data: Any = None) -> OutcomeForm:
    return OutcomeForm(
        data,
        reasons=page.reasons,
        offers=[(o.code, o.label) for o in page.offers],
        questions=page.questions,
        last_attempt=page.last_attempt,
        today=timezone.localdate(),
        initial={
            "expected_version": page.task.version,
            "reason_code": page.reason_code if page.reason_code in dict(page.reasons) else "",
        },
    )


def _call_context(
    request: HttpRequest, page: services.CallPage, form: OutcomeForm | None = None, **extra: Any
) -> dict[str, Any]:
    query = _queue_query(request)
    following = None
    if page.mine and not page.can_log:  # the call is finished: offer the next one
        following = queue.next_task(
            _user(request), query, after=page.task.pk, today=timezone.localdate()
        )
    return {
        "page": page,
        "form": form or _outcome_form(page),
        "queue_params": query.params(),
        "next_url": task_url(following) if following else "",
        **extra,
    }


def task_url(item: queue.QueueItem) -> str:
    """The page that works a queue item: the call page or the care task page."""
    if item.kind == queue.CARE:
        return reverse("care_task", args=[item.pk])
    return reverse("call", args=[item.pk])


@login_required
@require_http_methods(["GET", "POST"])
def call(request: HttpRequest, task_id: int) -> HttpResponseBase:
    if request.method == "POST" and request.POST.get("action") == REVEAL_PHONE:
        page = services.call_page(_user(request), task_id, lang=_lang(), reveal=True)
        context = _call_context(request, page)
        return _phone_shown(request, page.sheet, "workbench/call.html", context)
    if request.method == "POST":
        return _log_outcome(request, task_id)
    page = services.call_page(_user(request), task_id, lang=_lang())
    return render(request, "workbench/call.html", _call_context(request, page))


def _phone_shown(
    request: HttpRequest, sheet: services.Customer360, template: str, context: dict[str, Any]
) -> HttpResponse:
    """After a reveal (a POST, audited): htmx swaps the number in; without JavaScript the page
    comes back with it."""
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "workbench/_phone.html", {"sheet": sheet})
    return render(request, template, context)


def _log_outcome(request: HttpRequest, task_id: int) -> HttpResponseBase:
    user = _user(request)
    services.task_for_logging(user, task_id)  # 403 before anything is read or written
    page = services.call_page(user, task_id, lang=_lang())
    form = _outcome_form(page, request.POST)
    status, error = 422, ""
    if form.is_valid():
        data = form.cleaned_data
        try:
            task = log_contact(
                task_id,
                agent=user,
                outcome=data["outcome"],
                reason_code=data["reason_code"],
                offer_code=data["offer_code"],
                promised_return_date=data["promised_return_date"],
                notes=data["notes"],
                expected_version=data["expected_version"],
                callback_at=form.callback_at(),
                answers=form.answers(),
                questionnaire=page.questionnaire,
            )
        except StaleWrite:
            status = 409
            error = _(
                "Someone else updated this call since you opened it. Nothing was saved: "
                "reload the page to see the latest state, then record the outcome again."
            )
        except ContactNotAllowed as exc:
            error = services.not_allowed_message(exc.code)
        except OfferOverBudget as exc:
            error = exc.detail
        except ContactRuleBroken as exc:
            error = exc.detail
        except InvalidChoice:
            error = _("This reason or offer is no longer offered for this call: reload the page.")
        else:
            return _saved(request, task)
    context = _call_context(request, page, form, error=error)
    template = "workbench/_outcome.html" if request.htmx else "workbench/call.html"  # type: ignore[attr-defined]
    return render(request, template, context, status=status)


def _saved(request: HttpRequest, task: CallTask) -> HttpResponseBase:
    """After a save: "save and next" goes to the next open call of the queue the agent works
    (or back to the queue when none is left); a plain save shows the saved state."""
    notice = _("Outcome saved.")
    query = _queue_query(request)
    params = query.params()
    if request.POST.get("next"):
        following = queue.next_task(
            _user(request), query, after=task.pk, today=timezone.localdate()
        )
        messages.success(request, notice)
        if following is None:
            messages.info(request, _("No open call left in this queue."))
            target = reverse("calls")
        else:
            target = task_url(following)
        target = f"{target}?{params}" if params else target
        if request.htmx:  # type: ignore[attr-defined]
            response = HttpResponse(status=204)
            response["HX-Redirect"] = target
            return response
        return redirect(target)
    if not request.htmx:  # type: ignore[attr-defined]
        messages.success(request, notice)
        target = reverse("call", args=[task.pk])
        return redirect(f"{target}?{params}" if params else target)
    page = services.call_page(_user(request), task.pk, lang=_lang())
    return render(request, "workbench/_outcome.html", _call_context(request, page, notice=notice))


@login_required
@require_http_methods(["GET", "POST"])
def customer(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The sheet with a masked phone; a POST (``action=reveal_phone``) shows the full number
    to the agent working the customer's open task, and audits it."""
    if request.method == "POST":
        if request.POST.get("action") != REVEAL_PHONE:
            return HttpResponseBadRequest()
        sheet = services.customer_sheet(_user(request), customer_id, lang=_lang(), reveal=True)
        return _phone_shown(request, sheet, "workbench/customer.html", {"sheet": sheet})
    sheet = services.customer_sheet(_user(request), customer_id, lang=_lang())
    return render(request, "workbench/customer.html", {"sheet": sheet})


@staff_required
@require_GET
def customers(request: HttpRequest) -> HttpResponse:
    form = CustomerFilterForm(request.GET or None)
    data = lists.customers_page(form.filters(), request.GET.get("page"))
    context = {**list_context(request, lists.CUSTOMERS, form, data["sort"]), **data}
    template = "workbench/_customer_rows.html" if request.htmx else "workbench/customers.html"  # type: ignore[attr-defined]
    return render(request, template, context)


@staff_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    data = supervisor_dashboard(
        Actor.of(_user(request)),
        today=timezone.localdate(),
        month=parse_month(request.GET.get("month")),
        lang=_lang(),
    )
    return render(request, "workbench/dashboard.html", data)


@staff_required
@require_GET
def warnings(request: HttpRequest) -> HttpResponse:
    form = WarningFilterForm(request.GET or None)
    data = lists.early_warnings(form.filters(), request.GET.get("page"), lang=_lang())
    context = {**list_context(request, lists.WARNINGS, form, data["sort"]), **data}
    template = "workbench/_warning_rows.html" if request.htmx else "workbench/warnings.html"  # type: ignore[attr-defined]
    return render(request, template, context)

"""The JSON API (``/api/``): thin handlers over :mod:`winback.app.api.queries`.

The OpenAPI schema is served at ``/api/openapi.json`` and browsable at ``/api/docs``. Every
operation needs a bearer token or a signed-in workbench session; errors are always
``{"code", "detail"}`` JSON.
"""

from __future__ import annotations

from typing import Any, cast

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Query, Router, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.params.functions import Path

from winback.app.api import queries as services
from winback.app.api import schemas
from winback.app.contacts.service import InvalidChoice
from winback.app.customers.pages import not_allowed_message
from winback.app.rounds.service import ContactNotAllowed, StaleWrite
from winback.store.accounts.models import User
from winback.web.api.auth import TokenAuth, WorkbenchSession

api = NinjaAPI(
    title="Winback API",
    version="1",
    description=(
        "Customers, scores, win-back rounds, call tasks, contacts and imports. "
        "Authenticate with `Authorization: Bearer <token>` (issue one with "
        "`winback token issue USERNAME`) or a signed-in workbench session."
    ),
    auth=[TokenAuth(), WorkbenchSession()],
    urls_namespace="api",
)

Id: Any = Path(..., ge=1, le=schemas.MAX_ID)  # a path id that can name a row


def _errors(*codes: int) -> dict[int, type[schemas.ErrorOut]]:
    found: dict[int, type[schemas.ErrorOut]] = {c: schemas.ErrorOut for c in codes}
    found[401] = schemas.ErrorOut
    found[422] = schemas.ValidationErrorOut
    return found


def _user(request: HttpRequest) -> User:
    return cast(User, request.auth)  # type: ignore[attr-defined]


def _paging(query: schemas.PageQuery) -> services.Paging:
    return services.Paging(page=query.page, page_size=query.page_size)


# --- errors: one JSON shape ------------------------------------------------------------------
def _error(request: HttpRequest, status: int, code: str, detail: str, **extra: Any) -> HttpResponse:
    return api.create_response(request, {"code": code, "detail": detail, **extra}, status=status)


@api.exception_handler(AuthenticationError)
def _unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = _error(request, 401, "unauthorized", _("Authentication required."))
    response["WWW-Authenticate"] = 'Bearer realm="winback"'
    return response


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return _error(request, 403, "forbidden", _("You may not see or change this."))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", _("Not found."))


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    codes = {400: "bad_request", 403: "forbidden", 404: "not_found"}
    return _error(request, exc.status_code, codes.get(exc.status_code, "error"), str(exc))


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [
        {
            "loc": [p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in exc.errors
    ]
    return _error(request, 422, "invalid", _("The request is not valid."), errors=errors)


@api.exception_handler(StaleWrite)
def _stale(request: HttpRequest, exc: StaleWrite) -> HttpResponse:
    detail = _(
        "Someone else updated this call since you read it. Nothing was saved: "
        "read the task again, then record the outcome again."
    )
    return _error(request, 409, "stale_version", detail)


@api.exception_handler(ContactNotAllowed)
def _not_allowed(request: HttpRequest, exc: ContactNotAllowed) -> HttpResponse:
    return _error(request, 422, exc.code, not_allowed_message(exc.code))


@api.exception_handler(InvalidChoice)
def _invalid_choice(request: HttpRequest, exc: InvalidChoice) -> HttpResponse:
    return _error(request, 422, exc.code, exc.detail)


# --- operations ------------------------------------------------------------------------------
me = Router(tags=["account"])
customers = Router(tags=["customers"])
scores = Router(tags=["scores"])
rounds = Router(tags=["rounds"])
tasks = Router(tags=["tasks"])
contacts = Router(tags=["contacts"])
imports = Router(tags=["imports"])


@me.get("", response={200: schemas.MeOut, **_errors()}, summary="Who am I")
def who_am_i(request: HttpRequest) -> dict[str, Any]:
    return services.me(_user(request))


@customers.get("", response={200: schemas.CustomerPage, **_errors()}, summary="List customers")
def list_customers(request: HttpRequest, query: Query[schemas.CustomerQuery]) -> dict[str, Any]:
    """Agents get the customers of their own open call tasks; supervisors and admins all
    customers. Filters apply to the latest analysis."""
    return services.customers_page(_user(request), query, _paging(query))


@customers.get(
    "/{customer_id}",
    response={200: schemas.CustomerDetailOut, **_errors(403, 404)},
    summary="One customer",
)
def get_customer(request: HttpRequest, customer_id: int = Id) -> dict[str, Any]:
    """403 for an agent without an open task on this customer. A read: nothing is written."""
    return services.customer_detail(_user(request), customer_id)


@customers.get(
    "/{customer_id}/scores",
    response={200: schemas.ScorePage, **_errors(403, 404)},
    summary="A customer's analysis rows, newest first",
)
def get_customer_scores(
    request: HttpRequest, query: Query[schemas.PageQuery], customer_id: int = Id
) -> dict[str, Any]:
    return services.customer_scores(_user(request), customer_id, _paging(query))


@scores.get("", response={200: schemas.ScorePage, **_errors()}, summary="Analysis rows")
def list_scores(request: HttpRequest, query: Query[schemas.ScoreQuery]) -> dict[str, Any]:
    """The rows of one analysis (default the latest) for the customers the caller sees."""
    return services.scores_page(_user(request), query, _paging(query))


@rounds.get("", response={200: schemas.RoundPage, **_errors(403)}, summary="List rounds")
def list_rounds(request: HttpRequest, query: Query[schemas.PageQuery]) -> dict[str, Any]:
    """Supervisors and admins; agents get 403."""
    return services.rounds_page(_user(request), _paging(query))


@rounds.get(
    "/{round_id}", response={200: schemas.RoundDetailOut, **_errors(403, 404)}, summary="One round"
)
def get_round(request: HttpRequest, round_id: int = Id) -> dict[str, Any]:
    return services.round_detail(_user(request), round_id)


@tasks.get("", response={200: schemas.TaskPage, **_errors()}, summary="List call tasks")
def list_tasks(request: HttpRequest, query: Query[schemas.TaskQuery]) -> dict[str, Any]:
    """Agents get their own tasks; supervisors and admins every task."""
    return services.tasks_page(_user(request), query, _paging(query))


@tasks.get(
    "/{task_id}", response={200: schemas.TaskOut, **_errors(403, 404)}, summary="One call task"
)
def get_task(request: HttpRequest, task_id: int = Id) -> dict[str, Any]:
    return services.task_detail(_user(request), task_id)


@contacts.get("", response={200: schemas.ContactPage, **_errors()}, summary="List contacts")
def list_contacts(request: HttpRequest, query: Query[schemas.ContactQuery]) -> dict[str, Any]:
    """The contact history of the customers the caller sees, newest first."""
    return services.contacts_page(_user(request), query, _paging(query))


@contacts.post(
    "",
    response={201: schemas.ContactLogged, **_errors(400, 403, 404, 409)},
    summary="Log a contact attempt",
)
def log_contact(request: HttpRequest, payload: schemas.ContactIn) -> Status[dict[str, Any]]:
    """Only the agent the task is assigned to. ``expected_version`` is the task's ``version``
    as last read: if the task changed since, nothing is saved and the answer is 409
    (`stale_version`). A customer who may not be contacted gives 422 with the reason as
    `code` (`do_not_contact`, `no_consent`, `control_group`, `global_holdout`, `open_complaint`,
    `over_contact_cap`, `task_closed`)."""
    return Status(201, services.record_contact(_user(request), payload))


@imports.get("", response={200: schemas.ImportPage, **_errors(403)}, summary="Import batches")
def list_imports(request: HttpRequest, query: Query[schemas.PageQuery]) -> dict[str, Any]:
    """Supervisors and admins; agents get 403."""
    return services.imports_page(_user(request), _paging(query))


api.add_router("/me", me)
api.add_router("/customers", customers)
api.add_router("/scores", scores)
api.add_router("/rounds", rounds)
api.add_router("/tasks", tasks)
api.add_router("/contacts", contacts)
api.add_router("/imports", imports)

from winback.web.api import care as care_api  # noqa: E402 - mounts on the api made above

care_api.register(api)

"""Care tasks in the JSON API (``/api/care-tasks``): the caller's care calls, visits and
greetings, recording an outcome, and planning a range of days (supervisors). Thin handlers
over :mod:`winback.app.care.tasks`, the same use cases as the workbench and the CLI."""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, NinjaAPI, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.params.functions import Path

from winback.app.actors import Actor
from winback.app.api.schemas import MAX_ID, NO_NUL, ErrorOut, IsoDate, Outcome
from winback.app.care import tasks as care_tasks
from winback.app.contacts.gate import today as gate_today
from winback.store.accounts.models import User
from winback.store.programme.models import CareTask

care = Router(tags=["care"])
Id: Any = Path(..., ge=1, le=MAX_ID)  # a path id that can name a row


class CareTaskOut(Schema):
    id: int
    customer_id: int
    customer_external_id: str
    agent: str
    kind: str = Field(description="call, visit or greeting")
    occasion: str = Field(description='Greetings: "birthday" or a holiday code; else empty.')
    due_date: date
    planned_date: date
    status: str = Field(description="open, done or closed (the contact gate stopped it)")
    outcome: str
    notes: str
    closed_reason: str


class CareQueueQuery(Schema):
    on: IsoDate | None = Field(None, description="The day (default: today).")


class CareOutcomeIn(Schema):
    outcome: Outcome
    notes: str = Field("", max_length=4000, pattern=NO_NUL)


class CarePlanIn(Schema):
    start: IsoDate
    end: IsoDate


class CarePlanOut(Schema):
    start: date
    end: date
    created: int
    due: int
    left_over: int
    by_agent: dict[str, int]


def _actor(request: HttpRequest) -> Actor:
    return Actor.of(cast(User, request.auth))  # type: ignore[attr-defined]


def _out(task: CareTask) -> dict[str, Any]:
    return {
        "id": task.pk,
        "customer_id": task.customer_id,
        "customer_external_id": task.customer.external_id,
        "agent": task.agent.get_username() if task.agent else "",
        "kind": task.kind,
        "occasion": task.occasion,
        "due_date": task.due_date,
        "planned_date": task.planned_date,
        "status": task.status,
        "outcome": task.outcome,
        "notes": task.notes,
        "closed_reason": task.closed_reason,
    }


ERRORS: dict[int, type[ErrorOut]] = {c: ErrorOut for c in (400, 401, 403, 404, 409, 422)}


@care.get("", response={200: list[CareTaskOut], **ERRORS}, summary="My care tasks for a day")
def my_care_tasks(request: HttpRequest, query: Query[CareQueueQuery]) -> list[dict[str, Any]]:
    """The caller's open care tasks planned for the day or earlier, through the contact gate."""
    return [_out(t) for t in care_tasks.queue(_actor(request), query.on or gate_today())]


@care.post("/plan", response={201: CarePlanOut, **ERRORS}, summary="Plan care tasks")
def plan_care(request: HttpRequest, payload: CarePlanIn) -> Status[dict[str, Any]]:
    """Supervisors and admins: make the care tasks due from ``start`` to ``end`` (at most
    62 days, in the years 1902-2098)."""
    try:
        care_tasks.check_range(payload.start, payload.end)
    except ValueError as exc:
        detail = _(
            "The range must start before it ends, cover at most %(n)s days and fall in "
            "the years %(a)s-%(b)s."
        ) % {
            "n": care_tasks.MAX_PLAN_DAYS,
            "a": care_tasks.PLAN_YEARS[0],
            "b": care_tasks.PLAN_YEARS[1],
        }
        raise HttpError(422, detail) from exc
    made = care_tasks.materialise(_actor(request), payload.start, payload.end)
    return Status(
        201,
        {
            "start": made.start,
            "end": made.end,
            "created": made.created,
            "due": made.due,
            "left_over": made.left_over,
            "by_agent": made.by_agent,
        },
    )


@care.get("/{care_task_id}", response={200: CareTaskOut, **ERRORS}, summary="One care task")
def get_care_task(request: HttpRequest, care_task_id: int = Id) -> dict[str, Any]:
    try:
        return _out(care_tasks.task_for(_actor(request), care_task_id))
    except CareTask.DoesNotExist as exc:
        raise Http404 from exc


@care.post(
    "/{care_task_id}/outcome",
    response={200: CareTaskOut, **ERRORS},
    summary="Record a care outcome",
)
def record_care_outcome(
    request: HttpRequest, payload: CareOutcomeIn, care_task_id: int = Id
) -> dict[str, Any]:
    """Only the task's own agent; a customer the contact gate now stops closes the task
    (422 with the gate's reason)."""
    try:
        care_tasks.record_outcome(
            _actor(request), care_task_id, outcome=payload.outcome.value, notes=payload.notes
        )
    except CareTask.DoesNotExist as exc:
        raise Http404 from exc
    return _out(care_tasks.task_for(_actor(request), care_task_id))


def register(api: NinjaAPI) -> None:
    """Mount the care router and its one error of its own on the API."""

    @api.exception_handler(care_tasks.CareTaskClosed)
    def _closed(request: HttpRequest, exc: care_tasks.CareTaskClosed) -> HttpResponse:
        detail = _("This care task is no longer open.")
        return api.create_response(request, {"code": "task_closed", "detail": detail}, status=409)

    api.add_router("/care-tasks", care)

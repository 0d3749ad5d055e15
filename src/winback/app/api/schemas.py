"""Request and response shapes of the JSON API (they are the OpenAPI schema)."""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import AfterValidator, BeforeValidator, WithJsonSchema
from pydantic.json_schema import SkipJsonSchema

from winback import vocabulary

# Database ids are 64-bit; anything larger cannot name a row and must not reach the database.
MAX_ID = 2**63 - 1
MAX_PAGE = 100_000
MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50
# PostgreSQL text cannot hold NUL characters: refuse them at the edge.
NO_NUL = r"^[^\x00]*$"

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_day(value: object) -> object:
    """Dates are ``YYYY-MM-DD`` only (pydantic alone would also take ``0`` as 1970-01-01)."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DAY.fullmatch(value):
        raise ValueError("use a date as YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_day)]


def _plausible_moment(value: datetime) -> datetime:
    """A moment a callback can be asked for: within the years 2000-2199 (far outside, the
    conversion to the business time zone would overflow)."""
    if not 2000 <= value.year <= 2199:
        raise ValueError("use a date and time within the years 2000-2199")
    return value


CallbackMoment = Annotated[datetime, AfterValidator(_plausible_moment)]


def _codes(enum: type[StrEnum]) -> WithJsonSchema:
    """A code's published schema: a plain string enum, inline (no shared component)."""
    return WithJsonSchema({"type": "string", "enum": list(vocabulary.codes(enum))})


Stage = Annotated[vocabulary.Stage, _codes(vocabulary.Stage)]
Status = Annotated[vocabulary.Status, _codes(vocabulary.Status)]
TaskStatusCode = Annotated[vocabulary.TaskStatus, _codes(vocabulary.TaskStatus)]
Outcome = Annotated[vocabulary.Outcome, _codes(vocabulary.Outcome)]


class ErrorOut(Schema):
    code: str = Field(description="Machine-readable error code, e.g. `stale_version`.")
    detail: str = Field(description="What went wrong, for people.")


class FieldError(Schema):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorOut(ErrorOut):
    errors: list[FieldError] = Field(default_factory=list)


# --- query parameters ---------------------------------------------------------------------
# Optional filters are absent rather than null: ``SkipJsonSchema[None]`` keeps ``null`` out of
# the published schema (a query string cannot carry one).
class PageQuery(Schema):
    page: int = Field(1, ge=1, le=MAX_PAGE, description="1-based page number.")
    page_size: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)


class CustomerQuery(PageQuery):
    stage: Stage | SkipJsonSchema[None] = Field(
        None, description="Lifecycle stage in the latest analysis."
    )
    status: Status | SkipJsonSchema[None] = Field(
        None, description="Status in the latest analysis."
    )
    tier: int | SkipJsonSchema[None] = Field(
        None, ge=1, le=99, description="Value tier (1 = highest)."
    )
    q: str = Field("", max_length=64, pattern=NO_NUL, description="Part of the customer id.")


class ScoreQuery(PageQuery):
    as_of: IsoDate | SkipJsonSchema[None] = Field(
        None, description="Analysis date; default the latest analysis."
    )
    stage: Stage | SkipJsonSchema[None] = None
    status: Status | SkipJsonSchema[None] = None
    tier: int | SkipJsonSchema[None] = Field(None, ge=1, le=99)
    early_warning: bool | SkipJsonSchema[None] = None


class TaskQuery(PageQuery):
    status: TaskStatusCode | SkipJsonSchema[None] = None
    round_id: int | SkipJsonSchema[None] = Field(None, ge=1, le=MAX_ID)


class ContactQuery(PageQuery):
    customer_id: int | SkipJsonSchema[None] = Field(None, ge=1, le=MAX_ID)
    outcome: Outcome | SkipJsonSchema[None] = None
    since: IsoDate | SkipJsonSchema[None] = Field(
        None, description="From this business date (inclusive)."
    )
    until: IsoDate | SkipJsonSchema[None] = Field(
        None, description="Up to this business date (inclusive)."
    )


# --- responses -------------------------------------------------------------------------------
class Paged(Schema):
    count: int = Field(description="Rows matching the filters, on all pages.")
    page: int
    page_size: int
    pages: int


class ScoreOut(Schema):
    customer_id: int
    customer_external_id: str
    as_of: date
    stage: str
    customer_type: str
    status: str
    churn_score: float | None
    churn_probability: float | None = Field(
        description="Calibrated probability (0-1) of no purchase within the score's horizon."
    )
    p_alive: float | None
    expected_purchases_365: float | None
    clv_365: float | None
    value_index: float | None
    tier: int | None
    rfm_octant: str
    abc_class: str
    early_warning: bool
    retention_action: str
    days_since_last: int | None
    expected_interval_days: float | None
    top_signals: list[Any]


class ScorePage(Paged):
    as_of: date | None = Field(description="The analysis the rows come from.")
    items: list[ScoreOut]


class CustomerOut(Schema):
    id: int
    external_id: str
    name: str
    phone: str = Field(description="Full only for the agent working the customer's open task.")
    store: str | None
    join_date: date | None
    consent_marketing: bool
    do_not_contact: bool
    latest: ScoreOut | None = Field(description="The customer's row in the latest analysis.")


class CustomerPage(Paged):
    items: list[CustomerOut]


class MonthTotal(Schema):
    month: date
    orders: int
    amount_cents: int


class CustomerDetailOut(CustomerOut):
    notes: str
    tags: list[Any]
    orders: int
    amount_cents: int
    last_order: date | None
    largest_order_cents: int | None
    months: list[MonthTotal]
    open_task_ids: list[int]


class OfferOut(Schema):
    code: str
    kind: str
    cost: float | None
    rank: int | None


class TaskOut(Schema):
    id: int
    round_id: int
    round_month: date
    customer_id: int
    customer_external_id: str
    customer_name: str
    phone: str
    agent: str | None
    status: str
    attempts: int
    planned_date: date | None
    next_due: date | None
    priority: int | None
    version: int = Field(description="Send it back as `expected_version` when logging a contact.")
    offer_code: str
    reason_code: str
    offers: list[OfferOut]
    callback_at: datetime | None = Field(
        description="When the customer asked to be called back (after a `call_back` outcome)."
    )
    answers: dict[str, Any] = Field(
        description="The callback questionnaire's answers last recorded on the task: "
        '`{"questionnaire": code, "answers": {question: answer}}`, `{}` when none.'
    )


class TaskPage(Paged):
    items: list[TaskOut]


class RoundOut(Schema):
    id: int
    month: date
    status: str
    seed: int
    holdout_share: float
    as_of: date = Field(
        description="The day the plan was made as of (the round's start); the analysis it "
        "used is `snapshot_as_of`."
    )
    snapshot_as_of: date | None = Field(
        description="The analysis the round was planned from (the latest on or before its start)."
    )
    round_start: date
    round_end: date
    treated: int
    control: int
    tasks_open: int
    tasks_done: int
    tasks_closed: int


class RoundDetailOut(RoundOut):
    summary: dict[str, Any]


class RoundPage(Paged):
    items: list[RoundOut]


class ContactOut(Schema):
    id: int
    customer_id: int
    customer_external_id: str
    task_id: int | None = Field(description="The call task, for contacts logged in a round.")
    channel: str
    direction: str
    agent: str
    outcome: str
    occurred_at: datetime
    occurred_date: date
    reason_code: str
    offer_code: str
    promised_return_date: date | None
    notes: str
    simulated: bool
    callback_at: datetime | None = Field(
        None, description="The callback asked for, on a `call_back` contact logged on a task."
    )
    answers: dict[str, Any] = Field(
        default_factory=dict,
        description="The questionnaire answers recorded with the contact (`{}` when none).",
    )


class ContactPage(Paged):
    items: list[ContactOut]


Answer = (
    Annotated[str, Field(max_length=4000, pattern=NO_NUL)]
    | Annotated[list[Annotated[str, Field(max_length=64, pattern=NO_NUL)]], Field(max_length=50)]
)


class ContactIn(Schema):
    task_id: int = Field(ge=1, le=MAX_ID)
    expected_version: int = Field(
        ge=1, le=2**31 - 1, description="The task `version` the caller last read."
    )
    outcome: Outcome
    reason_code: str = Field("", max_length=64, pattern=NO_NUL)
    offer_code: str = Field("", max_length=64, pattern=NO_NUL)
    promised_return_date: IsoDate | None = None
    notes: str = Field("", max_length=4000, pattern=NO_NUL)
    callback_at: CallbackMoment | None = Field(
        None,
        description="For `call_back`: when to call (ISO 8601; without an offset, the business "
        "time zone). Not in the past; it becomes the task's next due day. Ignored for other "
        "outcomes.",
    )
    answers: dict[str, Answer] = Field(
        default_factory=dict,
        max_length=50,
        description="The callback questionnaire's answers, `{question code: option code, or a "
        "list of option codes, or text}`, checked as the workbench form checks them: an unknown "
        "question or option is 422 `invalid_answer`; the answers name the leave reason when "
        "`reason_code` is empty.",
    )


class ContactLogged(Schema):
    contact: ContactOut
    task: TaskOut


class ImportOut(Schema):
    id: int
    kind: str
    file_name: str
    status: str
    dry_run: bool
    started_at: datetime
    finished_at: datetime | None
    read: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    rejects_file: str = Field(description="File name of the rejects file, if any.")
    user: str | None
    summary: dict[str, Any]


class ImportPage(Paged):
    items: list[ImportOut]


class MeOut(Schema):
    username: str
    role: str

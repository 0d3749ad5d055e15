"""The programme's codes: one spelling for every stage, status, channel, outcome, arm ...

These strings are stored in the database, written in exports, accepted and returned by the
API and compared in the analytics, so they are declared once here (pure: no Django). The
Django ``TextChoices`` of :mod:`winback.store` take their values from these enums and add the
translated labels; the API schemas take their accepted values from them; the core's tuples of
codes are built from them. Changing a value here changes stored data: don't.
"""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    """Lifecycle stage of a customer in an analysis, in lifecycle order."""

    PROSPECT = "prospect"  # never bought
    ACTIVE = "active"
    SILENT = "silent"
    SLEEPING = "sleeping"
    LOST = "lost"


class Status(StrEnum):
    """Churn status of a customer in an analysis."""

    ACTIVE = "active"
    AT_RISK = "at_risk"
    LOST = "lost"


class CustomerType(StrEnum):
    """Customer type in an analysis (lifecycle and rhythm combined)."""

    PROSPECT = "prospect"
    NEW = "new"
    VULNERABLE = "vulnerable"
    ALERT = "alert"
    EVERGREEN = "evergreen"
    LOST = "lost"


class Channel(StrEnum):
    """How a customer is contacted."""

    PHONE = "phone"
    SMS = "sms"
    WECHAT = "wechat"
    VISIT = "visit"
    EMAIL = "email"


class Direction(StrEnum):
    OUTBOUND = "outbound"
    INBOUND = "inbound"


class Outcome(StrEnum):
    """The outcome of one contact attempt."""

    NOT_REACHED = "not_reached"
    REACHED = "reached"
    REFUSED = "refused"
    CALL_BACK = "call_back"
    DO_NOT_CONTACT = "do_not_contact"
    WRONG_NUMBER = "wrong_number"


class TaskStatus(StrEnum):
    """A call task's state."""

    OPEN = "open"
    DONE = "done"
    CLOSED = "closed"  # do not contact
    EXPIRED = "expired"  # its round closed before anyone called


class Arm(StrEnum):
    """A round member's group in the randomised comparison."""

    TREATED = "treated"
    CONTROL = "control"


class RoundStatus(StrEnum):
    PLANNED = "planned"
    ACTIVE = "active"
    CLOSED = "closed"


class ExpiryCause(StrEnum):
    """Why an open call task expired without a result."""

    ROUND_CLOSED = "round_closed"  # the round reached its closing day
    CLOSED_BY_SUPERVISOR = "closed_by_supervisor"  # a supervisor closed the round early
    AGENT_DEACTIVATED = "agent_deactivated"  # its agent had left and nobody took it over


class ImportStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"


class EventRole(StrEnum):
    """What an engagement event counts as in the analysis: one of the behaviour streams the
    features read (``winback.analytics.features.STREAMS``; a test keeps the two equal).

    Every event type, built in or configured, has one role; the analysis reads an event by its
    type's role, so a business's own type (say, defending the brand in a crisis) counts like
    the stream it is given.
    """

    REFERRAL = "referral"  # value contribution: referrals, defending the brand
    FORUM_POST = "forum_post"  # engagement: posts
    FORUM_REPLY = "forum_reply"  # engagement: replies, comments
    QA_ANSWER = "qa_answer"  # engagement: helping other customers
    EVENT_ATTENDANCE = "event_attendance"  # participation in campaigns and events
    SURVEY_RESPONSE = "survey_response"  # survey answers (their score is read)
    SUGGESTION = "suggestion"  # suggestions (whether adopted is read)
    COMPLAINT = "complaint"  # complaints (open until resolved)


# The role of an event whose type is no longer defined or active: no stream reads it.
UNKNOWN_EVENT_ROLE = "unknown"


def codes(enum: type[StrEnum]) -> tuple[str, ...]:
    """The enum's values as plain strings, in declaration order."""
    return tuple(member.value for member in enum)


# Groups of codes the rules share.
STAGES = codes(Stage)
STATUSES = codes(Status)
CUSTOMER_TYPES = codes(CustomerType)
CHANNELS = codes(Channel)
OUTCOMES = codes(Outcome)
ARMS = codes(Arm)
EVENT_ROLES = codes(EventRole)
# Stages of customers who have bought: the ones a contact policy covers.
BUYER_STAGES = (Stage.ACTIVE.value, Stage.SILENT.value, Stage.SLEEPING.value, Stage.LOST.value)
# Lapsed customers: a move from one of these to active is a win-back.
LAPSED_STAGES = (Stage.SLEEPING.value, Stage.LOST.value)
# Statuses a round picks its candidates from by default.
ROUND_STATUSES = (Status.LOST.value, Status.AT_RISK.value)

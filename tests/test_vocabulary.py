"""Every place that names a code agrees with the vocabulary, and no stored value moved."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from winback import schema, vocabulary
from winback.app.api import schemas
from winback.store.accounts.models import Role
from winback.store.customers.models import ContactChannel, ContactOutcome, Direction, EventRole
from winback.store.imports.models import ImportStatus
from winback.store.programme.models import Arm, RoundStatus, TaskStatus

# The strings the database holds today: a change here is a data migration, not a refactor.
STORED = {
    vocabulary.Stage: ("prospect", "active", "silent", "sleeping", "lost"),
    vocabulary.Status: ("active", "at_risk", "lost"),
    vocabulary.CustomerType: ("prospect", "new", "vulnerable", "alert", "evergreen", "lost"),
    vocabulary.Channel: ("phone", "sms", "wechat", "visit", "email"),
    vocabulary.Direction: ("outbound", "inbound"),
    vocabulary.Outcome: (
        "not_reached",
        "reached",
        "refused",
        "call_back",
        "do_not_contact",
        "wrong_number",
    ),
    vocabulary.TaskStatus: ("open", "done", "closed", "expired"),
    vocabulary.Arm: ("treated", "control"),
    vocabulary.RoundStatus: ("planned", "active", "closed"),
    vocabulary.ImportStatus: ("running", "done", "failed"),
    vocabulary.Role: ("admin", "supervisor", "agent"),
    vocabulary.EventRole: (
        "referral",
        "forum_post",
        "forum_reply",
        "qa_answer",
        "event_attendance",
        "survey_response",
        "suggestion",
        "complaint",
    ),
}


@pytest.mark.parametrize("enum", list(STORED), ids=lambda e: e.__name__)
def test_stored_values_are_unchanged(enum: Any) -> None:
    assert vocabulary.codes(enum) == STORED[enum]


@pytest.mark.parametrize(
    ("choices", "enum"),
    [
        (ContactChannel, vocabulary.Channel),
        (Direction, vocabulary.Direction),
        (ContactOutcome, vocabulary.Outcome),
        (TaskStatus, vocabulary.TaskStatus),
        (Arm, vocabulary.Arm),
        (RoundStatus, vocabulary.RoundStatus),
        (ImportStatus, vocabulary.ImportStatus),
        (Role, vocabulary.Role),
        (EventRole, vocabulary.EventRole),
    ],
    ids=lambda x: x.__name__,
)
def test_django_choices_take_their_values_from_the_vocabulary(choices: Any, enum: Any) -> None:
    assert tuple(choices.values) == vocabulary.codes(enum)
    assert all(str(label) for label in choices.labels)  # every code keeps a label


def test_import_contract_choices_are_vocabulary_codes() -> None:
    contacts = schema.CONTRACTS["contacts"]
    by_name = {f.name: f for f in contacts.fields}
    assert tuple(c for c, _ in by_name["channel"].choices) == vocabulary.CHANNELS
    assert tuple(c for c, _ in by_name["outcome"].choices) == vocabulary.OUTCOMES
    assert tuple(c for c, _ in by_name["direction"].choices) == vocabulary.codes(
        vocabulary.Direction
    )


@pytest.mark.parametrize(
    ("annotation", "enum"),
    [
        (schemas.Stage, vocabulary.Stage),
        (schemas.Status, vocabulary.Status),
        (schemas.TaskStatusCode, vocabulary.TaskStatus),
        (schemas.Outcome, vocabulary.Outcome),
    ],
    ids=["stage", "status", "task_status", "outcome"],
)
def test_api_accepts_exactly_the_vocabulary(annotation: Any, enum: Any) -> None:
    adapter = TypeAdapter(annotation)
    assert adapter.json_schema() == {"type": "string", "enum": list(vocabulary.codes(enum))}
    for code in vocabulary.codes(enum):
        assert adapter.validate_python(code) == code
    with pytest.raises(ValidationError):
        adapter.validate_python("not-a-code")


def test_groups_are_made_of_codes() -> None:
    assert set(vocabulary.BUYER_STAGES) == set(vocabulary.STAGES) - {"prospect"}
    assert set(vocabulary.LAPSED_STAGES) <= set(vocabulary.BUYER_STAGES)
    assert set(vocabulary.ROUND_STATUSES) <= set(vocabulary.STATUSES)

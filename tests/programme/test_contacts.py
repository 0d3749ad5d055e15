"""Contact rules inside a round: cap, sequence, follow-ups, do-not-contact (R5, R6, R13)."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from winback.programme.contacts import (
    EFFECTS,
    ContactPermission,
    follow_up_date,
    honour_do_not_contact,
    latest_reasons,
    lift_do_not_contact,
    next_steps,
    request_do_not_contact,
    withdraw_consent,
)

D = date(2024, 6, 3)


def _log(rows: list[dict[str, object]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "customer_pk": pl.Int64(),
            "occurred_date": pl.Date(),
            "outcome": pl.String(),
            "reason_code": pl.String(),
            "callback_date": pl.Date(),
            "promised_return_date": pl.Date(),
        },
    )


def _row(pk: int, day: int, outcome: str, **extra: object) -> dict[str, object]:
    return {"customer_pk": pk, "occurred_date": date(2024, 6, day), "outcome": outcome, **extra}


def test_the_sequence_diagnoses_then_applies_the_playbook_then_stops_unless_asked() -> None:
    log = _log(
        [
            _row(2, 3, "not_reached"),
            _row(3, 3, "reached", reason_code="price"),
            _row(4, 3, "reached"),  # reason not found at the first contact
            _row(5, 3, "reached", reason_code="price"),
            _row(5, 10, "reached"),  # playbook applied, no commitment: a third call annoys
            _row(6, 3, "reached", reason_code="speed"),
            _row(6, 10, "call_back", callback_date=date(2024, 6, 20)),
            _row(7, 3, "do_not_contact"),
            _row(8, 3, "not_reached"),
            _row(8, 4, "not_reached"),
            _row(8, 5, "not_reached"),
        ]
    )
    customers = pl.DataFrame({"customer_pk": [1, 2, 3, 4, 5, 6, 7, 8]})
    out = next_steps(log, customers, cap=3)
    rows = {r["customer_pk"]: r for r in out.iter_rows(named=True)}
    assert rows[1]["step"] == "diagnose"
    assert rows[1]["due_date"] is None
    assert rows[2]["step"] == "diagnose"
    assert rows[2]["due_date"] == date(2024, 6, 4)
    assert rows[3]["step"] == "apply_playbook"
    assert rows[3]["reason_code"] == "price"
    assert rows[3]["due_date"] == date(2024, 6, 10)
    assert rows[4]["step"] == "apply_playbook"
    assert rows[4]["reason_code"] == "not_found"
    assert rows[5]["step"] == "stop"
    assert rows[5]["due_date"] is None
    assert rows[6]["step"] == "follow_up"
    assert rows[6]["due_date"] == date(2024, 6, 20)
    assert rows[7]["step"] == "stop"
    assert rows[8]["step"] == "stop"
    assert rows[8]["contacts_left"] == 0


def test_follow_up_dates() -> None:
    assert follow_up_date("call_back", D) == date(2024, 6, 6)
    assert follow_up_date("call_back", D, callback_date=date(2024, 6, 12)) == date(2024, 6, 12)
    promised = date(2024, 6, 15)
    assert follow_up_date("reached", D, promised_return_date=promised) == date(2024, 6, 18)
    assert follow_up_date("not_reached", D) == date(2024, 6, 4)
    assert follow_up_date("refused", D) is None
    assert follow_up_date("wrong_number", D) is None


def test_do_not_contact_is_a_pure_idempotent_transition() -> None:
    start = ContactPermission()
    first = request_do_not_contact(start, on=D, source="customer")
    assert first.changed
    assert not first.state.contactable
    assert first.state.do_not_contact_date == D
    assert set(first.effects) == set(EFFECTS)
    again = request_do_not_contact(first.state, on=date(2024, 7, 1), source="regulator")
    assert not again.changed
    assert again.state.do_not_contact_date == D  # the first request's date is kept
    assert "remove_from_call_lists" in again.effects
    assert start.contactable  # the old state is untouched
    with pytest.raises(ValueError, match="source"):
        request_do_not_contact(start, on=D, source="")


def test_only_the_customer_can_lift_do_not_contact() -> None:
    blocked = request_do_not_contact(ContactPermission(), on=D, source="customer").state
    with pytest.raises(PermissionError):
        lift_do_not_contact(blocked, on=D, source="agent")
    lifted = lift_do_not_contact(blocked, on=D, source="customer")
    assert lifted.changed
    assert lifted.state.contactable


def test_withdrawn_consent_removes_from_lists() -> None:
    t = withdraw_consent(ContactPermission(), on=D)
    assert t.changed
    assert not t.state.contactable
    assert "remove_from_call_lists" in t.effects


def test_honour_do_not_contact_filters_call_lists() -> None:
    calls = pl.DataFrame({"customer_pk": [1, 2, 3, 4], "agent_id": [9, 9, 9, 9]})
    flags = pl.DataFrame(
        {
            "customer_pk": [1, 2, 3],
            "do_not_contact": [False, True, False],
            "consent_marketing": [True, True, False],
        }
    )
    assert honour_do_not_contact(calls, flags)["customer_pk"].to_list() == [1]


def test_latest_reasons_take_the_last_recorded_reason_up_to_as_of() -> None:
    contacts = pl.DataFrame(
        {
            "customer_pk": [1, 1, 1, 2],
            "occurred_date": [
                date(2024, 1, 1),
                date(2024, 3, 1),
                date(2024, 7, 1),
                date(2024, 2, 1),
            ],
            "channel": "phone",
            "outcome": "reached",
            "reason_code": ["price", "speed", "attitude", None],
        }
    )
    out = latest_reasons(contacts, date(2024, 5, 31))
    assert out.rows() == [(1, "speed")]

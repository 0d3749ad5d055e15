"""The round planner's candidate frames are declared once: the programme's contracts take their
columns from :mod:`winback.candidate_frames` (the store's readers are checked against it in
tests/store/test_candidate_reads.py, the Spark reads against the store's in
tests/app/rounds/test_spark_inputs.py)."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl
import pytest

from winback import candidate_frames
from winback.programme import frames


def test_the_programme_contracts_are_the_declared_columns_with_their_defaults() -> None:
    history, complaints = frames.CONTACT_HISTORY, frames.COMPLAINTS
    assert history.columns == dict(candidate_frames.CONTACT_HISTORY)
    assert list(history.columns) == list(candidate_frames.CONTACT_HISTORY)
    assert list(history.required) == ["customer_pk", "occurred_date", "channel", "outcome"]
    assert dict(history.optional) == {
        "direction": (pl.String(), "outbound"),
        "reason_code": (pl.String(), None),
    }
    assert complaints.columns == dict(candidate_frames.COMPLAINTS)
    assert list(complaints.columns) == list(candidate_frames.COMPLAINTS)
    assert list(complaints.required) == ["customer_pk", "occurred_date"]
    assert dict(complaints.optional) == {
        "resolved": (pl.Boolean(), False),
        "resolved_date": (pl.Date(), None),
    }


def test_a_conformed_frame_has_the_declared_columns_and_the_defaults() -> None:
    frame = pl.DataFrame(
        {"occurred_date": ["2024-05-01"], "customer_pk": [7], "channel": ["phone"]},
    ).with_columns(pl.col("occurred_date").str.to_date(), outcome=pl.lit("reached"), extra=1)
    conformed = frames.CONTACT_HISTORY.conform(frame)
    assert conformed.schema == dict(candidate_frames.CONTACT_HISTORY)
    assert conformed.row(0, named=True)["direction"] == "outbound"
    assert conformed.row(0, named=True)["reason_code"] is None


@pytest.mark.parametrize(
    ("defaults", "message"),
    [
        ({"nickname": None}, "does not have"),
        ({"customer_pk": 0}, "must come last"),
        ({"channel": "phone"}, "must come last"),
    ],
)
def test_a_contract_from_columns_refuses_defaults_it_cannot_keep_in_order(
    defaults: Mapping[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        frames.Contract.from_columns("test", candidate_frames.CONTACT_HISTORY, defaults)


def test_the_declared_columns_cannot_be_changed_by_a_reader() -> None:
    with pytest.raises(TypeError):
        candidate_frames.CATEGORY_SPEND["spend"] = pl.Int64()  # type: ignore[index]

"""Phone masking by role (R13)."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from winback.programme.privacy import mask_phone, mask_phone_expr, phones_for_role

CASES = [
    ("13812345678", "138****5678"),
    ("+86 138 1234 5678", "138****5678"),
    ("0086-138-1234-5678", "138****5678"),
    ("010-8888 6666", "010****6666"),
    ("12345", "***45"),
    (None, None),
]


@pytest.mark.parametrize(("phone", "masked"), CASES)
def test_mask_phone(phone: str | None, masked: str | None) -> None:
    assert mask_phone(phone) == masked


def test_the_vectorised_form_agrees() -> None:
    frame = pl.DataFrame({"phone": [p for p, _ in CASES]}, schema={"phone": pl.String()})
    assert frame.select(mask_phone_expr(pl.col("phone")))["phone"].to_list() == [
        m for _, m in CASES
    ]


def test_agents_see_only_their_own_customers_numbers() -> None:
    calls = pl.DataFrame(
        {"customer_pk": [1, 2], "agent_id": [7, 8], "phone": ["13812345678", "13987654321"]}
    )
    agent = phones_for_role(calls, role="agent", viewer_agent_id=7)["phone"].to_list()
    assert agent == ["13812345678", "139****4321"]
    supervisor = phones_for_role(calls, role="supervisor")["phone"].to_list()
    assert supervisor == ["138****5678", "139****4321"]
    with pytest.raises(ValueError, match="role"):
        phones_for_role(calls, role="guest")


_PHONE_LIKE = st.text(
    alphabet=st.sampled_from([*"0123456789+- ()abc８６１", "\u3000", "#"]), max_size=24
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), _PHONE_LIKE), max_size=12))
def test_the_vectorised_form_agrees_on_any_stored_text(phones: list[str | None]) -> None:
    """Whatever a phone column holds (empty, letters only, full-width digits, a few or many
    digits, nulls) the vectorised mask gives what the one-value mask gives, row by row."""
    frame = pl.DataFrame({"phone": phones}, schema={"phone": pl.String()})
    masked = frame.select(mask_phone_expr(pl.col("phone")))["phone"].to_list()
    assert masked == [mask_phone(p) for p in phones]

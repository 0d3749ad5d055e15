"""Flows from snapshot states agree with a row-by-row count of the same states."""

from __future__ import annotations

from collections import Counter
from datetime import date

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from winback.reporting.flows import STATE_SCHEMA, early_warning, flow

BEFORE, AFTER = date(2025, 5, 31), date(2025, 6, 30)
STAGES = ["active", "silent", "sleeping", "lost"]

state = st.tuples(
    st.sampled_from(STAGES),
    st.one_of(st.none(), st.integers(1, 5)),
    st.sampled_from(["active", "at_risk", "lost"]),
    st.booleans(),
)
customer = st.tuples(st.one_of(st.none(), state), st.one_of(st.none(), state))


def frame(customers: list[tuple[object, object]]) -> pl.DataFrame:
    rows = [
        (pk, day, *values)
        for pk, pair in enumerate(customers)
        for day, values in zip((BEFORE, AFTER), pair, strict=True)
        if values is not None
    ]
    return pl.DataFrame(rows, schema=STATE_SCHEMA, orient="row")


def label(value: object) -> str:
    return "none" if value is None else str(value)


def as_counter(result: pl.DataFrame, keys: tuple[str, str]) -> Counter[tuple[object, object]]:
    return Counter({(r[keys[0]], r[keys[1]]): r["customers"] for r in result.to_dicts()})


@settings(max_examples=60, deadline=None)
@given(st.lists(customer, max_size=40))
def test_stage_and_tier_flows_count_every_customer_of_the_later_date(
    customers: list[tuple[object, object]],
) -> None:
    states = frame(customers)
    for column, index in (("stage", 0), ("tier", 1)):
        expected: Counter[tuple[object, object]] = Counter()
        for before, after in customers:
            if after is None:
                continue
            to = label(after[index])  # type: ignore[index]
            came_from = "new" if before is None else label(before[index])  # type: ignore[index]
            expected[(came_from, to)] += 1
        assert as_counter(flow(states, BEFORE, AFTER, column), ("from", "to")) == expected


@settings(max_examples=60, deadline=None)
@given(st.lists(customer, max_size=40))
def test_early_warning_follows_customers_not_lost_before(
    customers: list[tuple[object, object]],
) -> None:
    expected: Counter[tuple[object, object]] = Counter()
    for before, after in customers:
        if before is None or after is None or before[2] == "lost":  # type: ignore[index]
            continue
        expected[(before[3], after[2] == "lost")] += 1  # type: ignore[index]
    result = early_warning(frame(customers), BEFORE, AFTER)
    assert as_counter(result, ("flagged", "lapsed")) == expected

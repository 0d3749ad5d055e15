"""Order lines get their order's columns by key look-up: the same rows as the inner join."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from winback.store.extract import with_order_columns


def _orders(keys: list[int]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "order_pk": keys,
            "customer_pk": [k * 10 for k in keys],
            "order_date": [date(2024, 1, 1) + timedelta(days=k % 300) for k in keys],
        },
        schema={"order_pk": pl.Int64, "customer_pk": pl.Int64, "order_date": pl.Date},
    )


def _lines(order_keys: list[int | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {"order_pk": order_keys, "amount_cents": list(range(len(order_keys)))},
        schema={"order_pk": pl.Int64, "amount_cents": pl.Int64},
    )


def _join(lines: pl.DataFrame, orders: pl.DataFrame) -> pl.DataFrame:
    return lines.join(orders, on="order_pk", how="inner", maintain_order="left")


rng = np.random.default_rng(3)
DENSE = [int(k) for k in rng.permutation(np.arange(1, 2001))[:1500]]  # a dense key range
CASES = {
    "dense, shuffled, some orders not read": (DENSE, [int(k) for k in rng.integers(0, 2100, 5000)]),
    "sparse keys": ([1, 10_000_000, 5], [5, 1, 10_000_000, 7, 5]),
    "no orders": ([], [1, 2, 3]),
    "no lines": ([1, 2, 3], []),
    "a line without an order key": ([1, 2, 3], [3, None, 1]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_same_rows_in_the_same_order_as_the_inner_join(case: str) -> None:
    order_keys, line_keys = CASES[case]
    orders, lines = _orders(order_keys), _lines(line_keys)
    got = with_order_columns(lines, orders)
    assert_frame_equal(got, _join(lines, orders), check_exact=True)
    if case.startswith("dense"):
        assert 0 < got.height < lines.height  # lines of orders not read are left out

"""The one formula-injection guard: which cells it quotes and which it leaves alone."""

from __future__ import annotations

import polars as pl
import pytest

from winback.spreadsheet_safety import FORMULA_PREFIXES, guard_formula, guard_frame, guard_value


@pytest.mark.parametrize("start", FORMULA_PREFIXES)
def test_text_starting_like_a_formula_is_quoted(start: str) -> None:
    text = f'{start}HYPERLINK("http://x")'
    assert guard_value(text) == "'" + text
    frame = pl.DataFrame({"t": [text, f"safe{start}1"]})
    assert guard_frame(frame)["t"].to_list() == ["'" + text, f"safe{start}1"]


@pytest.mark.parametrize("number", ["-12.5", "+3", "-0", "12", "-1234567.891"])
def test_plain_numbers_stay_numbers(number: str) -> None:
    assert guard_value(number) == number
    assert pl.select(guard_formula(pl.lit(number)).alias("n"))["n"].item() == number


def test_numbers_with_a_formula_tail_are_quoted() -> None:
    for text in ("-1+1", "+86 138 0013 8000", "-12.5e3", "－12"):
        assert guard_value(text) == "'" + text


def test_typed_cells_are_left_alone() -> None:
    frame = pl.DataFrame({"amount": [-12.5, 3.0], "n": [-1, 2], "t": ["=1", None]})
    guarded = guard_frame(frame)
    assert guarded["amount"].to_list() == [-12.5, 3.0]
    assert guarded["n"].to_list() == [-1, 2]
    assert guarded["t"].to_list() == ["'=1", None]
    assert guard_value(-12.5) == -12.5


def test_scalar_and_vectorised_guards_agree() -> None:
    samples = ["=a", "＝a", "＠b", "－c", "＋d", "\tx", "\rx", "-1", "a=b", "", "'=x", " =x"]
    vectorised = pl.DataFrame({"t": samples}).select(guard_formula(pl.col("t")))["t"].to_list()
    assert vectorised == [guard_value(s) for s in samples]

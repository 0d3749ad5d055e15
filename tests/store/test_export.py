"""The scores export: fixed formatting, formula defusing, same bytes for the same snapshot."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from openpyxl import load_workbook

from winback.analytics import frames as contracts
from winback.store.export import COLUMNS, fixed, write_scores

AS_OF = date(2024, 3, 31)


def snapshot_rows() -> pl.DataFrame:
    rows = pl.DataFrame(
        {
            "external_id": ["C-10", "=HYPERLINK(1)", "A-02", "@risk"],
            "customer_pk": [4, 3, 2, 1],
            "as_of": [AS_OF] * 4,
            "stage": ["lost", "active", "silent", "sleeping"],
            "customer_type": ["lost", "evergreen", "alert", "vulnerable"],
            "status": ["lost", "active", "at_risk", "at_risk"],
            "churn_score": [91.23456, 3.0, 55.5, 70.0],
            "churn_probability": [0.9123456, 0.03, None, 0.7],
            "p_alive": [0.0123456, 0.99, None, 0.5],
            "expected_purchases_365": [0.1, 12.0, 1.0, 0.5],
            "clv_365": [-3.456, 2500.0, 80.0, 10.0],
            "value_index": [0.1, 0.9, 0.5, 0.3],
            "tier": [5, 1, None, 4],
            "rfm_octant": ["general_retain", "important_value", "", "general_develop"],
            "abc_class": ["E", "A", "C", "D"],
            "early_warning": [False, False, True, True],
            "retention_action": ["none", "care", "light_touch", "targeted_offer"],
            "days_since_last": [400, 3, 50, 100],
            "expected_interval_days": [30.04, 7.0, 20.0, 60.0],
            "top_signals": [json.dumps([{"code": "late"}]), "[]", "[]", "[]"],
        }
    )
    return rows.select("external_id", *[pl.col(c).cast(t) for c, t in contracts.SNAPSHOT.items()])


def test_fixed_prints_exactly_the_decimals() -> None:
    frame = pl.DataFrame({"x": [12.3, -1.5, 1234567.891, -0.001, None, 0.0]})
    assert frame.select(fixed("x", 2))["x"].to_list() == [
        "12.30",
        "-1.50",
        "1234567.89",
        "0.00",
        None,
        "0.00",
    ]
    assert frame.select(fixed("x", 0))["x"].to_list() == ["12", "-2", "1234568", "0", None, "0"]


def test_csv_columns_order_format_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "scores.csv"
    assert write_scores(snapshot_rows(), "csv", path) == 4
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    back = pl.read_csv(raw[3:], infer_schema=False)
    assert tuple(back.columns) == COLUMNS
    # Sorted by the customer's own id, as text; formula-like ids quoted.
    assert back["customer_id"].to_list() == ["'=HYPERLINK(1)", "'@risk", "A-02", "C-10"]
    c10 = back.filter(pl.col("customer_id") == "C-10").row(0, named=True)
    assert c10["churn_score"] == "91.23"
    assert c10["churn_probability"] == "0.9123"
    assert c10["p_alive"] == "0.0123"
    assert c10["clv_365"] == "-3.46"  # a negative number stays a number
    assert c10["expected_interval_days"] == "30.0"
    assert c10["as_of"] == "2024-03-31"
    assert c10["tier"] == "5"
    assert json.loads(c10["top_signals"]) == [{"code": "late"}]
    a02 = back.filter(pl.col("customer_id") == "A-02").row(0, named=True)
    assert a02["p_alive"] is None
    assert a02["churn_probability"] is None
    assert a02["tier"] is None


def test_csv_and_parquet_bytes_repeat(tmp_path: Path) -> None:
    for fmt in ("csv", "parquet"):
        first, second = tmp_path / f"a.{fmt}", tmp_path / f"b.{fmt}"
        write_scores(snapshot_rows(), fmt, first)
        write_scores(snapshot_rows().reverse(), fmt, second)  # row order must not matter
        assert first.read_bytes() == second.read_bytes()


def test_parquet_keeps_types_and_plain_ids(tmp_path: Path) -> None:
    path = tmp_path / "scores.parquet"
    write_scores(snapshot_rows(), "parquet", path)
    back = pl.read_parquet(path)
    assert tuple(back.columns) == COLUMNS
    assert back["customer_id"].to_list() == ["=HYPERLINK(1)", "@risk", "A-02", "C-10"]
    assert back.schema["churn_score"] == pl.Float64()
    assert back["churn_score"].to_list() == [3.0, 70.0, 55.5, 91.23]


def test_xlsx_holds_text_not_formulas(tmp_path: Path) -> None:
    path = tmp_path / "scores.xlsx"
    write_scores(snapshot_rows(), "xlsx", path)
    sheet = load_workbook(path).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == COLUMNS
    assert rows[1][0] == "'=HYPERLINK(1)"
    assert sheet.cell(row=2, column=1).data_type == "s"
    assert rows[4][COLUMNS.index("churn_score")] == pytest.approx(91.23)


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown format"):
        write_scores(snapshot_rows(), "json", tmp_path / "x.json")

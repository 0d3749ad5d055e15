"""`winback report --format json`: every figure, stable keys, ISO dates, no NaN, documented."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from winback.reporting import metrics
from winback.reporting.json_report import document_paths, dumps, key_paths, to_json

from .test_report_text import inputs, matured

DOCS = Path(__file__).resolve().parents[2] / "docs" / "report.md"


def documented_keys() -> set[str]:
    """The first cell of every row of the docs' `| key | type | meaning |` tables."""
    keys: set[str] = set()
    in_table = False
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        if line.startswith("| key | type | meaning |"):
            in_table = True
            continue
        if in_table and not line.startswith("|"):
            in_table = False
        if in_table:
            match = re.match(r"\|\s*`([^`]+)`\s*\|", line)
            if match:
                keys.add(match.group(1))
    return keys


def _no_constants(name: str) -> Any:
    raise AssertionError(f"{name} in the JSON")


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return metrics.build_report(inputs(matured(0.15, 1000.0)))


def test_the_document_holds_every_figure_as_plain_json(report: dict[str, Any]) -> None:
    doc = json.loads(dumps(report), parse_constant=_no_constants)
    assert doc["verdict"]["decision"] in ("continue", "stop", "not_yet_known")
    assert doc["verdict"]["decision"] == report["verdict"]["decision"]
    assert doc["as_of"] == report["as_of"].isoformat()
    assert date.fromisoformat(doc["stages"][0]["as_of"]) == report["stages"]["as_of"][0]
    assert doc["rounds"] == [
        {k: (v.isoformat() if isinstance(v, date) else v) for k, v in row.items()}
        for row in report["rounds"].iter_rows(named=True)
    ]
    assert doc["verdict"]["net_low"] == report["verdict"]["net_low"]
    assert doc["verdict"]["sequential_method"] == report["verdict"]["sequential_method"]
    assert document_paths(doc) <= key_paths(report)
    assert "taxonomy" not in doc
    assert "playbooks" not in doc


def test_nan_and_infinity_become_null() -> None:
    frame = pl.DataFrame({"x": [1.0, float("nan"), float("inf")]})
    doc = json.loads(dumps({"t": frame, "v": float("nan")}), parse_constant=_no_constants)
    assert doc["t"] == [{"x": 1.0}, {"x": None}, {"x": None}]
    assert doc["v"] is None


HOLDOUT = {  # winback.app.rounds.global_holdout.programme_effect's result
    "month": "2024-03-01",
    "snapshot_as_of": "2024-02-29",
    "window_end": "2024-05-30",
    "matured": True,
    "share": 0.05,
    "holdout": {"customers": 50, "came_back": 5, "rate": 0.1},
    "rest": {"customers": 950, "came_back": 152, "rate": 0.16},
    "difference": 0.06,
    "interval": [-0.03, 0.12],
    "method": "newcombe_hybrid_score",
}


def test_keys_are_stable_and_each_is_documented(report: dict[str, Any]) -> None:
    documented = documented_keys()
    empty = metrics.build_report(inputs([]))  # no round at all: same keys, null figures
    assert key_paths(empty) == key_paths(report)
    assert set(to_json(empty)["verdict"]) == set(to_json(report)["verdict"])
    assert to_json(report)["programme_holdout"] is None  # off
    held = metrics.build_report(replace(inputs([]), programme_holdout=HOLDOUT))
    assert to_json(held)["programme_holdout"]["window_end"] == "2024-05-30"
    keys = key_paths(report) | key_paths(held)
    undocumented = keys - documented
    assert not undocumented, f"keys the docs do not list: {sorted(undocumented)}"
    stale = documented - keys
    assert not stale, f"documented keys the report does not have: {sorted(stale)}"


def _rebuilt(doc: dict[str, Any], like: dict[str, Any]) -> dict[str, Any]:
    """The report again from its parsed JSON (frames typed as ``like``'s)."""

    def back(value: Any, model: Any) -> Any:
        if isinstance(model, pl.DataFrame):
            strings = {c: (pl.String() if t == pl.Date() else t) for c, t in model.schema.items()}
            frame = pl.DataFrame(value, schema=strings, orient="row") if value else model.clear()
            return frame.with_columns(
                pl.col(c).str.to_date() for c, t in model.schema.items() if t == pl.Date()
            )
        if isinstance(model, dict):
            return {k: back(value[k], m) for k, m in model.items()}
        if isinstance(model, date):
            return date.fromisoformat(value)
        return value

    out = {k: back(doc[k], m) for k, m in like.items() if k in doc}
    return {**out, "taxonomy": like["taxonomy"], "playbooks": like["playbooks"]}


@pytest.mark.slow  # four whole reports with their charts
def test_the_html_is_rendered_from_the_same_data_as_the_json(report: dict[str, Any]) -> None:
    from winback.reporting.render_html import render_html

    doc = json.loads(dumps(report))
    again = _rebuilt(doc, report)
    for lang in ("en", "zh"):
        assert render_html(again, lang) == render_html(report, lang)

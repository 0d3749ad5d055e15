"""The report's comparison of the targeting policies actually used (no database)."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from winback.programme.attribution import effects_by_segment
from winback.reporting import metrics
from winback.reporting.render_html import render_html
from winback.reporting.text import sentences

from .test_report_text import inputs, matured


def _outcomes(groups: dict[str, tuple[int, int, int, int]]) -> pl.DataFrame:
    """Members per ``selected_by`` group: (treated, treated returned, control, returned)."""
    rows = []
    pk = 0
    for group, (n_t, x_t, n_c, x_c) in groups.items():
        for arm, n, x in (("treated", n_t, x_t), ("control", n_c, x_c)):
            for i in range(n):
                pk += 1
                rows.append((pk, arm, i < x, group))
    frame = pl.DataFrame(
        rows, schema=["customer_pk", "arm", "came_back", "selected_by"], orient="row"
    )
    return frame.with_columns(horizon=pl.lit(90))


def _with_targeting(status: dict[str, Any], policy: str, outcomes: pl.DataFrame) -> dict[str, Any]:
    by = effects_by_segment(
        outcomes, outcomes.select("customer_pk", "selected_by"), "selected_by", horizon=90
    )
    return {
        **status,
        "targeting": {
            "policy": policy,
            "model_version": "v3" if policy == "uplift_model" else None,
            "random_share": 0.2,
            "by_selected_by": by.to_dicts(),
        },
    }


def test_each_matured_round_shows_its_policy_and_the_random_members_uplift_when_known() -> None:
    first, second = matured(0.15, 1000.0)
    outcomes = _outcomes({"priority": (400, 120, 45, 9), "random": (100, 20, 12, 2)})
    rounds = [
        _with_targeting(first, "uplift_model", outcomes),
        _with_targeting(second, "stage_priors", outcomes),
    ]
    immature = {**rounds[1], "round_id": 99, "estimate": {**second["estimate"], "matured": False}}
    report = metrics.build_report(inputs([*rounds, immature]))
    table = report["targeting"]
    assert 99 not in table["round_id"].to_list()
    assert set(table["policy"]) == {"uplift_model", "stage_priors"}
    priority = table.filter(pl.col("selected_by") == "priority").row(0, named=True)
    assert priority["known"]
    assert priority["uplift"] == np.float64(120 / 400 - 9 / 45)
    assert priority["uplift_low"] < priority["uplift"] < priority["uplift_high"]
    random = table.filter(pl.col("selected_by") == "random")
    assert not random["known"].any()  # 12 control customers: too few
    assert random["uplift"].null_count() == random.height
    en = " ".join(sentences(report, "en")["rounds"])
    zh = " ".join(sentences(report, "zh")["rounds"])
    assert "Uplift model 1" in en
    assert "not known yet in 2" in en
    assert "提升模型 1" in zh
    assert "尚不可知" in zh
    html = render_html(report, "zh")
    assert "目标选择策略：按优先级与随机选择" in html
    assert "随机" in html


def test_no_round_no_rows_but_the_same_columns() -> None:
    report = metrics.build_report(inputs([]))
    assert report["targeting"].height == 0
    assert report["targeting"].columns == list(metrics.TARGETING_COLUMNS)


def test_the_uplift_models_cross_fitted_qini_is_reported_with_its_verdict() -> None:
    """A round planned with a model check carries its Qini; the sentence says whether the
    interval clears zero; rounds planned without a model check carry nulls."""
    first, second = matured(0.15, 1000.0)
    outcomes = _outcomes({"priority": (400, 120, 45, 9), "random": (100, 20, 12, 2)})
    checked = _with_targeting(first, "measured_segments", outcomes)
    rng = np.random.default_rng(4)
    low = float(rng.uniform(-0.02, -0.001))
    checked["targeting"]["qini"] = {
        "qini": low + 0.01,
        "qini_low": low,
        "qini_high": low + 0.02,
        "auuc": 0.03,
        "rounds": [1, 2, 3],
    }
    unchecked = _with_targeting(second, "stage_priors", outcomes)
    report = metrics.build_report(inputs([checked, unchecked]))
    table = report["targeting"]
    by_round = {r["round_id"]: r for r in table.iter_rows(named=True)}
    assert by_round[checked["round_id"]]["qini_low"] == low
    assert by_round[checked["round_id"]]["qini_rounds"] == 3
    assert by_round[unchecked["round_id"]]["qini"] is None
    en = _all(sentences(report, "en"))
    assert f"[{low:.4f}, {low + 0.02:.4f}]" in en
    assert "not yet known to rank better than chance" in en
    checked["targeting"]["qini"] |= {"qini_low": 0.004, "qini_high": 0.02}
    above = _all(sentences(metrics.build_report(inputs([checked, unchecked])), "en"))
    assert "above zero: the model ranks better than chance" in above
    assert "区间高于零" in _all(sentences(metrics.build_report(inputs([checked, unchecked])), "zh"))


def _all(by_section: dict[str, list[str]]) -> str:
    return " ".join(line for lines in by_section.values() for line in lines)

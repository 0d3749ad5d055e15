"""The verdict through the database: a planned round, purchases after it, the monthly report.

A tiny business (tests/factories/business.py) plans June's round with half the candidates held
out; purchases are then written for the members. With no true effect (treated and control buy
alike) the verdict must not say `continue`; with a large effect it must.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.factories.business import MONTH, TZ, build_world, team
from winback.app.actors import Actor

pytestmark = pytest.mark.django_db

REPORT_MONTH = date(2024, 9, 1)  # June's +90-day window has closed by September's end


def _purchases(effect: float, seed: int) -> dict[str, Any]:
    """Plan June's round and write orders: before it (the CUPED pre-period) and in its +90 days,
    treated customers returning ``effect`` more often than control ones."""
    from winback.app.rounds.service import plan_round
    from winback.programme.inference import PRE_PERIOD_DAYS
    from winback.store.analysis.models import AnalysisRun
    from winback.store.customers.models import Order
    from winback.store.programme.models import RoundMember
    from winback.store.queries.rounds import refill_pre_periods

    build_world()
    rnd = plan_round(Actor.system(), month=MONTH, holdout=0.5, seed=seed, agents=team()).round
    members = list(RoundMember.objects.filter(round=rnd).values_list("customer_id", "arm"))
    rng = np.random.default_rng(seed)
    orders = []
    for k, (pk, arm) in enumerate(members):
        habit = rng.gamma(2.0, 0.5)
        for j in range(int(rng.poisson(habit))):  # before the round
            day = rnd.round_start - timedelta(days=int(rng.integers(1, 90)))
            orders.append((f"pre-{k}-{j}", pk, day, int(rng.lognormal(5.0, 0.6) * 100)))
        p = min(0.95, 0.2 * habit + (effect if arm == "treated" else 0.0))
        if rng.random() < p:  # within +90 days
            day = rnd.round_start + timedelta(days=int(rng.integers(0, 85)))
            orders.append((f"post-{k}", pk, day, int(rng.lognormal(5.5, 0.5) * 100)))
    Order.objects.bulk_create(
        [
            Order(
                order_key=key,
                customer_id=pk,
                ordered_at=datetime.combine(day, time(12), tzinfo=TZ),
                order_date=day,
                amount_cents=cents,
            )
            for key, pk, day, cents in orders
        ]
    )
    # The orders arrive after the plan, as a late import's do: the members' stored pre-period
    # figures are computed again (what `winback import orders` does after writing).
    refill_pre_periods(
        first=rnd.round_start - timedelta(days=PRE_PERIOD_DAYS),
        last=rnd.round_start + timedelta(days=90),
        days=PRE_PERIOD_DAYS,
    )
    AnalysisRun.objects.create(as_of=date(2024, 9, 30), customers=300, counts={}, audit={})
    return {"round": rnd, "members": members}


def test_no_true_effect_is_not_yet_known() -> None:
    from winback.app.reports.service import monthly_report

    made = _purchases(effect=0.0, seed=3)
    report = monthly_report(REPORT_MONTH, n_boot=200)
    v = report["verdict"]
    assert v["rounds"] == 1
    assert v["n_control"] == sum(1 for _, arm in made["members"] if arm == "control")
    assert v["decision"] == "not_yet_known"
    assert v["net_low"] < 0 < v["net_high"]
    row = report["rounds"].row(0, named=True)
    assert (row["horizon"], row["matured"]) == (90, True)
    assert row["cuped"], "pre-period spend and visits were read and used"
    assert report["programme_holdout"] is None  # the global holdout is off by default


def test_the_global_holdout_comparison_is_in_the_report_and_its_json() -> None:
    from winback.app.reports.service import monthly_report
    from winback.app.settings.profile import set_profile
    from winback.reporting.json_report import to_json
    from winback.reporting.text import sentences

    _purchases(effect=0.0, seed=5)
    set_profile(overrides={"programme": {"global_holdout_share": 0.3}})
    report = monthly_report(REPORT_MONTH, n_boot=200)
    h = report["programme_holdout"]
    # September's report reads the latest month whose +90-day window has closed: July.
    assert (h["month"], h["window_end"], h["matured"]) == ("2024-07", date(2024, 9, 29), True)
    assert h["holdout_customers"] > 0
    assert h["rest_customers"] > 0
    assert h["low"] <= h["difference"] <= h["high"]
    assert to_json(report)["programme_holdout"]["window_end"] == "2024-09-29"
    assert any("global holdout" in line for line in sentences(report, "en")["verdict"])
    assert any("全局保留组" in line for line in sentences(report, "zh")["verdict"])


def test_a_large_effect_is_continue_and_the_json_says_so(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from winback.cli import app

    _purchases(effect=0.6, seed=4)
    out = tmp_path / "report.json"
    result = CliRunner().invoke(
        app, ["report", "--month", "2024-09", "--format", "json", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["verdict"]["decision"] == "continue"
    assert doc["verdict"]["net_low"] > 0
    assert doc["month"] == "2024-09"
    [row] = doc["rounds"]
    assert row["matured"] is True
    assert row["horizon"] == 90
    assert row["net_low"] <= row["net"] <= row["net_high"]

"""A round's targeting from the database: stored per member, summarised, printed, measured."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from tests.factories.business import MONTH, build_world, team
from winback.app.actors import Actor

pytestmark = pytest.mark.django_db


def _members(round_id: int) -> pl.DataFrame:
    from winback.store.programme.models import RoundMember

    rows = RoundMember.objects.filter(round_id=round_id).values_list(
        "customer_id", "arm", "selected_by", "predicted_uplift", "uplift_class", "expected_value"
    )
    return pl.DataFrame(
        list(rows),
        schema=["customer_pk", "arm", "selected_by", "predicted_uplift", "uplift_class", "ev"],
        orient="row",
    )


def test_each_member_records_how_it_was_chosen_and_the_summary_counts_them() -> None:
    from winback.app.rounds.service import plan_round
    from winback.app.settings.profile import current_profile
    from winback.programme.priority import SELECTED_BY, UPLIFT_CLASSES

    build_world(seed=8)
    rnd = plan_round(Actor.system(), month=MONTH, seed=21, agents=team()).round
    members = _members(rnd.pk)
    t = rnd.summary["targeting"]
    assert members.height == rnd.summary["selected"] > 0
    assert set(members["selected_by"]) <= set(SELECTED_BY)
    assert set(members["uplift_class"]) <= set(UPLIFT_CLASSES)
    assert members["predicted_uplift"].null_count() == 0
    # No round has been measured yet: the stage priors, and the profile's random share.
    assert t["policy"] == "stage_priors"
    assert t["model_version"] is None
    assert t["random_share"] == current_profile().programme.random_share == 0.2
    stored_by = dict(members.group_by("selected_by").len().iter_rows())
    assert t["counts"]["selected_by"] == {k: stored_by.get(k, 0) for k in SELECTED_BY}
    stored_classes = dict(members.group_by("uplift_class").len().iter_rows())
    assert t["counts"]["uplift_class"] == {k: stored_classes.get(k, 0) for k in UPLIFT_CLASSES}
    n_random = stored_by.get("random", 0)
    assert n_random == int(0.2 * rnd.summary["places"] + 0.5)
    # Chosen by priority means worth a call: expected margin never below zero.
    assert (members.filter(pl.col("selected_by") == "priority")["ev"] >= 0).all()
    # Treated and control are both drawn over all selected members.
    assert set(members.filter(pl.col("selected_by") == "random")["arm"]) <= {"treated", "control"}


def test_round_plan_json_prints_the_policy_and_the_random_share() -> None:
    from winback.cli import app
    from winback.store.programme.models import Round

    build_world(seed=9)
    result = CliRunner().invoke(
        app, ["round", "plan", "--month", MONTH.strftime("%Y-%m"), "--seed", "5", "--json"]
    )
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    rnd = Round.objects.get(pk=data["round_id"])
    members = _members(rnd.pk)
    assert data["targeting"]["policy"] == "stage_priors"
    assert data["targeting"]["random_share"] == 0.2
    assert data["targeting"]["counts"]["selected_by"]["random"] == int(
        (members["selected_by"] == "random").sum()
    )
    assert data["not_worth_a_call"] == rnd.summary["not_worth_a_call"]


def test_round_status_splits_the_uplift_by_how_members_were_chosen() -> None:
    from winback.app.rounds.monitoring import round_status
    from winback.app.rounds.service import plan_round

    build_world(seed=7)
    rnd = plan_round(Actor.system(), month=MONTH, seed=3, agents=team()).round
    members = _members(rnd.pk)
    status = round_status(rnd, rnd.round_start + timedelta(days=120), n_boot=50)
    t = status["targeting"]
    assert t["policy"] == "stage_priors"
    rows = {r["selected_by"]: r for r in t["by_selected_by"]}
    for group, part in members.group_by("selected_by"):
        row = rows[str(group[0])]
        assert row["n_treated"] == int((part["arm"] == "treated").sum())
        assert row["n_control"] == int((part["arm"] == "control").sum())

"""`winback round plan --engine spark`: the planner's candidate inputs read on Spark equal those
read from the database, and so does the stored plan (issue 16, decision 0051).

A generated business is imported and analysed; contacts with leave reasons (older than the
history window and recent), do-not-contact answers (one logged after the round's start) and
complaints resolved in the evening (another calendar day in the business's time zone than in
UTC) are added, so each rule of the reads has rows it could get wrong.
"""

from __future__ import annotations

import shutil
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from winback.app.analysis.spark import SparkOptions

END = date(2024, 12, 31)
AS_OF = date(2024, 10, 31)
MONTH = date(2024, 11, 1)
STATUSES = ("lost", "at_risk")
LOCAL = SparkOptions(
    "local[2]",
    {"spark.sql.shuffle.partitions": "4", "spark.sql.execution.arrow.maxRecordsPerBatch": "200"},
)


def _business(tmp_path: Path) -> list[int]:
    """Import and analyse a generated business, add the programme's facts; return the
    candidates of the snapshot."""
    from winback.app.analysis.service import analyze
    from winback.app.imports.service import import_file
    from winback.app.settings.profile import set_profile
    from winback.programme.reasons import REASON_CODES
    from winback.simulate.generator import generate_dataset
    from winback.store.analysis.models import CustomerSnapshot
    from winback.store.customers.models import ContactLog, EngagementEvent

    profile = set_profile("retail", {"programme": {"control_floor": 0}})
    manifest = generate_dataset("retail", 300, 18, 4, tmp_path, end_date=END)
    for entry in manifest["files"]:
        import_file(entry["kind"], tmp_path / entry["path"])
    analyze(AS_OF)
    zone = ZoneInfo(profile.time_zone)
    candidates = sorted(
        CustomerSnapshot.objects.filter(as_of=AS_OF, status__in=STATUSES).values_list(
            "customer_id", flat=True
        )
    )
    reasons = sorted(REASON_CODES)
    contacts = []
    for i, pk in enumerate(candidates[:60]):
        day = MONTH - timedelta(days=(200 if i % 2 else 30) + i)  # old and recent reasons
        contacts.append((pk, day, "reached", reasons[i % len(reasons)]))
    for i, pk in enumerate(candidates[60:70]):
        # A do-not-contact answer counts whenever it was logged, after the start too.
        contacts.append((pk, MONTH + timedelta(days=i - 5), "do_not_contact", ""))
    ContactLog.objects.bulk_create(
        [
            ContactLog(
                source_key=f"plan-{k}",
                customer_id=pk,
                channel="phone",
                outcome=outcome,
                reason_code=reason,
                occurred_at=datetime.combine(day, time(11), tzinfo=zone),
                occurred_date=day,
            )
            for k, (pk, day, outcome, reason) in enumerate(contacts)
        ]
    )
    evening = time(22, 30)  # the next day in UTC+8 is still this one in UTC... and back
    EngagementEvent.objects.bulk_create(
        [
            EngagementEvent(
                source_key=f"plan-complaint-{pk}",
                customer_id=pk,
                event_type="complaint",
                occurred_at=datetime.combine(MONTH - timedelta(days=20), time(9), tzinfo=zone),
                occurred_date=MONTH - timedelta(days=20),
                resolved=i % 3 != 0,
                # resolved at 00:30 local on the start day: the day before in UTC
                resolved_at=(
                    datetime.combine(MONTH, time(0, 30), tzinfo=zone)
                    if i % 3 == 1
                    else datetime.combine(MONTH - timedelta(days=3), evening, tzinfo=zone)
                )
                if i % 3
                else None,
            )
            for i, pk in enumerate(candidates[70:100])
        ]
    )
    return candidates


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(frame.columns, nulls_last=True)


def _stored(round_id: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    from winback.store.programme.models import CallTask, RoundMember

    members = pl.DataFrame(
        list(
            RoundMember.objects.filter(round_id=round_id).values(
                "customer_id",
                "arm",
                "tier",
                "stage",
                "priority_rank",
                "channel",
                "reason_code",
                "selected_by",
                "expected_value",
                "required_seniority",
            )
        )
    )
    tasks = pl.DataFrame(
        [
            {**row, "offer_menu": str(row["offer_menu"])}
            for row in CallTask.objects.filter(round_id=round_id).values(
                "customer_id", "agent_id", "planned_date", "reason_code", "offer_menu"
            )
        ]
    )
    return _sorted(members), _sorted(tasks)


@pytest.mark.slow
@pytest.mark.spark
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_stop_spark")
def test_spark_reads_what_the_database_reads_and_plans_the_same_round(tmp_path: Path) -> None:
    from winback.analytics import lake
    from winback.analytics.spark_candidates import LakeMismatch
    from winback.app.actors import Actor
    from winback.app.rounds.planning import HISTORY_DAYS, agent_frame, read_inputs
    from winback.app.rounds.service import demo_team, plan_round
    from winback.app.rounds.spark_inputs import CandidateReader, read_inputs_on_spark
    from winback.app.settings.profile import current_profile
    from winback.environment import data_dir

    candidates = _business(tmp_path)
    team = demo_team()
    zone = current_profile().time_zone
    reader = CandidateReader("spark", spark=LOCAL)
    want = read_inputs(AS_OF, MONTH, STATUSES, agent_frame(team), time_zone=zone)
    got = read_inputs_on_spark(
        AS_OF,
        MONTH,
        STATUSES,
        agent_frame(team),
        time_zone=zone,
        reader=reader,
        history_days=HISTORY_DAYS,
    )
    # Every frame has rows for the rules to act on, so a wrong rule shows.
    assert len(candidates) > 100
    assert want.contacts is not None
    assert want.contacts["reason_code"].null_count() > 0
    assert want.contacts["reason_code"].drop_nulls().len() >= 60
    assert want.customers is not None
    assert want.customers["do_not_contact"].sum() >= 10
    assert want.complaints is not None
    assert want.complaints["resolved_date"].n_unique() >= 3
    assert want.favourites is not None
    assert want.favourites.height > 100
    for name in ("snapshot", "customers", "contacts", "complaints", "memberships", "favourites"):
        mine, theirs = getattr(got, name), getattr(want, name)
        assert mine is not None, name
        assert theirs is not None, name
        assert mine.schema == theirs.schema, name
        assert_frame_equal(_sorted(mine), _sorted(theirs), check_exact=True)

    by_database = plan_round(
        Actor.system(), month=MONTH, seed=5, agents=team, holdout=0.3, allow_small_control=True
    ).round
    expected = _stored(by_database.pk)
    by_spark = plan_round(
        Actor.system(),
        month=MONTH,
        seed=5,
        agents=team,
        holdout=0.3,
        allow_small_control=True,
        replace=True,
        reader=reader,
    ).round
    members, tasks = _stored(by_spark.pk)
    assert by_database.summary["candidates_read_by"] == "database"
    assert by_spark.summary["candidates_read_by"] == "spark"
    assert set(members["arm"]) == {"treated", "control"}
    assert tasks.height > 10
    assert_frame_equal(members, expected[0])
    assert_frame_equal(tasks, expected[1])

    # A lake whose keys are not the database's is refused with the keys named.
    other = tmp_path / "other-lake"
    shutil.copytree(data_dir() / "spark" / "lake", other)
    customers = lake.read_lake(other).customers
    shifted = customers.with_columns(pl.col("customer_pk") + 100_000)
    lake.write_table(other, "customers", shifted)
    with pytest.raises(LakeMismatch, match="other keys in the lake"):
        read_inputs_on_spark(
            AS_OF,
            MONTH,
            STATUSES,
            agent_frame(team),
            time_zone=zone,
            reader=CandidateReader("spark", lake=other, spark=LOCAL),
            history_days=HISTORY_DAYS,
        )


@pytest.mark.slow  # a small business planned through the command line
@pytest.mark.django_db(transaction=True)
def test_round_plan_on_spark_without_pyspark_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.utils import translation
    from typer.testing import CliRunner

    from tests.factories.business import MONTH as WORLD_MONTH
    from tests.factories.business import build_world
    from winback.cli import app

    build_world()
    monkeypatch.setattr("winback.store.bootstrap._ready", True)  # pytest-django set it up
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark raises ImportError
    with translation.override("en"):
        result = CliRunner().invoke(
            app, ["round", "plan", "--month", WORLD_MONTH.strftime("%Y-%m"), "--engine", "spark"]
        )
    assert result.exit_code == 2, result.output
    assert "PySpark is not installed" in " ".join(result.output.split())
    from winback.store.programme.models import Round

    assert not Round.objects.exists()


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--engine", "pandas"], "choose database or spark"),
        (["--engine", "spark", "--lake", "/nonexistent/lake"], "not a folder"),
        (["--lake", "/tmp"], "a lake is read with --engine spark"),
        (["--engine", "spark", "--spark-conf", "spark.executor.memory"], "key=value"),
    ],
)
def test_round_plan_refuses_bad_engine_options(args: list[str], complaint: str) -> None:
    from django.utils import translation
    from typer.testing import CliRunner

    from winback.cli import app

    with translation.override("en"):
        result = CliRunner().invoke(app, ["round", "plan", "--month", "2024-11", *args])
    assert result.exit_code == 2
    assert complaint in " ".join(result.output.split())


@pytest.mark.slow  # a small business planned through the command line
@pytest.mark.django_db(transaction=True)
def test_round_plan_json_says_which_engine_read_the_candidates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import json

    from typer.testing import CliRunner

    from tests.factories.business import MONTH as WORLD_MONTH
    from tests.factories.business import build_world
    from winback.cli import app

    build_world()
    monkeypatch.setattr("winback.store.bootstrap._ready", True)  # pytest-django set it up
    month = WORLD_MONTH.strftime("%Y-%m")
    result = CliRunner().invoke(app, ["round", "plan", "--month", month, "--seed", "3", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["candidates_read_by"] == "database"
    assert payload["candidates"] > 0

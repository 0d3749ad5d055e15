"""The programme on a generated business: the demo hook and the `winback round` commands."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

pytestmark = pytest.mark.slow  # a generated business through six rounds

END = date(2024, 6, 30)


def invoke(*args: str) -> Any:
    from winback.cli import app

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.django_db(transaction=True)
def test_demo_rounds_and_round_commands(tmp_path: Path) -> None:
    from winback.app.imports.service import import_file
    from winback.app.settings.profile import set_profile
    from winback.cli.programme_demo import run_programme_demo
    from winback.simulate.generator import generate_dataset
    from winback.store.customers.models import Order
    from winback.store.programme.models import CallTask, Round, RoundMember

    set_profile("retail")
    manifest = generate_dataset("retail", 500, 18, 3, tmp_path, end_date=END)
    for entry in manifest["files"]:
        import_file(entry["kind"], tmp_path / entry["path"])
    console = Console(record=True, width=160)
    records = run_programme_demo(
        ground_truth=tmp_path / manifest["ground_truth"],
        months=[date(2024, 3, 1), date(2024, 4, 1)],
        console=console,
    )
    assert [r["month"] for r in records] == ["2024-03-01", "2024-04-01"]
    assert records[1]["monitoring"][0]["round_id"] == records[0]["round_id"]
    assert "+30" in console.export_text()
    first = Round.objects.get(pk=records[0]["round_id"])
    assert first.summary["snapshot_as_of"] == "2024-03-01"
    control = RoundMember.objects.filter(round=first, arm="control").values("customer_id")
    assert not CallTask.objects.filter(customer_id__in=control, round=first).exists()
    sim = Order.objects.filter(order_key__startswith="SIM-", channel="simulated")
    assert sim.count() == sum(r["simulation"]["return_orders"] for r in records)

    agents = tmp_path / "agents.csv"
    agents.write_text("username,seniority,daily_capacity\nsenior1,3,20\njunior1,1,30\n")
    plan = json.loads(
        invoke(
            "round",
            "plan",
            "--month",
            "2024-08",  # after the March and April rounds' customers are no longer recent
            "--seed",
            "7",
            "--agents",
            str(agents),
            "--json",
            "--allow-small-control",  # the demo's rounds are small (recorded in the design)
        ).stdout
    )
    for key in ("round_id", "candidates", "excluded_by_cause", "control", "treated", "per_agent"):
        assert key in plan
    assert set(plan["per_agent"]) <= {"senior1", "junior1"}
    assert plan["treated"] + plan["control"] == plan["selected"]
    assert plan["design"]["small_control_allowed"] is True
    assert plan["design"]["n_control"] == plan["control"]
    assert plan["treated"] > 0
    listed = invoke("round", "list").stdout
    assert "2024-08" in listed
    assert "2024-03" in listed
    status = json.loads(
        invoke("round", "status", str(first.pk), "--as-of", "2024-06-30", "--json").stdout
    )
    assert [h["horizon"] for h in status["horizons"]] == [30, 60, 90]
    assert status["horizons"][2]["matured"]
    from winback.store.accounts.models import Role, User

    User.objects.create(username="lead", role=Role.SUPERVISOR)
    invoke(
        "round", "export", str(plan["round_id"]), "--as", "lead", "--out", str(tmp_path / "lists")
    )
    files = sorted((tmp_path / "lists").glob("*.csv"))
    assert files
    assert {f.name.split("-")[-1][:-4] for f in files} <= {"senior1", "junior1"}
    with files[0].open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert rows
    assert all(r["customer_id"] for r in rows)
    assert all("****" in r["phone"] for r in rows if r["phone"])

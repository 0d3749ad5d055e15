"""`winback import` and `winback export` on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from winback.cli import app
from winback.store.accounts.models import AuditLog
from winback.store.customers.models import Order

DATA = Path(__file__).resolve().parent.parent / "data"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _django_already_set_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest-django has configured and migrated the test database already."""
    monkeypatch.setattr("winback.store.bootstrap._ready", True)


def test_import_prints_one_json_summary_on_stdout() -> None:
    result = CliRunner().invoke(
        app, ["import", "orders", str(DATA / "orders_gbk.csv"), "--json", "--lang", "en"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    for key in ("rejects_file", "unknown_columns", "encoding", "date_order", "batch_id"):
        assert key in summary
    assert {k: summary[k] for k in ("read", "inserted", "updated", "unchanged", "rejected")} == {
        "read": 5,
        "inserted": 4,
        "updated": 0,
        "unchanged": 0,
        "rejected": 1,
    }
    assert summary["stub_customers_created"] == 3
    assert Path(summary["rejects_file"]).read_text(encoding="utf-8-sig").count("\n") == 2
    assert Order.objects.count() == 4


def test_dry_run_and_a_table_in_chinese() -> None:
    result = CliRunner().invoke(
        app, ["import", "orders", str(DATA / "orders_gbk.csv"), "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert "试运行" in result.stdout
    assert "新增" in result.stdout
    assert Order.objects.count() == 0


def test_a_refused_file_exits_2_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("who,what\n1,2\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["import", "orders", str(path), "--json", "--lang", "en"])
    assert result.exit_code == 2
    error = json.loads(result.stdout)
    assert error["error"] == "missing_columns"
    assert "customer_id" in error["message"]
    unknown_kind = CliRunner().invoke(app, ["import", "parcels", str(path)])
    assert unknown_kind.exit_code != 0


def test_export_writes_the_file_and_an_audit_row(tmp_path: Path) -> None:
    from winback.store.accounts.models import Role, User

    CliRunner().invoke(app, ["import", "orders", str(DATA / "orders_gbk.csv")])
    out = tmp_path / "orders.csv"
    args = ["export", "orders", "--format", "csv", "--out", str(out), "--json"]
    assert CliRunner().invoke(app, args).exit_code == 2, "who exports must be named"
    User.objects.create(username="lead", role=Role.SUPERVISOR)
    refused = CliRunner().invoke(app, [*args, "--as", "lead"])
    assert refused.exit_code == 2, "a supervisor may not export the business's data"
    assert not out.exists()
    User.objects.create(username="analyst", role=Role.ADMIN)
    result = CliRunner().invoke(app, [*args, "--as", "analyst"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"] == 4
    assert out.read_text(encoding="utf-8-sig").startswith("order_id,customer_id,order_date,amount")
    entry = AuditLog.objects.get(action="export", object_type="orders")
    assert entry.username.startswith("analyst via cli:")
    assert entry.user is not None


def test_replace_opts_into_whole_row_replacement(tmp_path: Path) -> None:
    from winback.store.customers.models import Customer

    full = tmp_path / "full.csv"
    full.write_text("customer_id,name,phone\nVIP9,王五,13900000009\n", encoding="utf-8")
    names = tmp_path / "names.csv"
    names.write_text("customer_id,name\nVIP9,王老五\n", encoding="utf-8")
    CliRunner().invoke(app, ["import", "customers", str(full)])

    partial = CliRunner().invoke(app, ["import", "customers", str(names), "--json"])
    assert partial.exit_code == 0, partial.output
    assert Customer.objects.get(external_id="VIP9").phone == "13900000009"

    whole = CliRunner().invoke(app, ["import", "customers", str(names), "--replace", "--json"])
    assert whole.exit_code == 0, whole.output
    assert json.loads(whole.stdout)["replace"] is True
    assert Customer.objects.get(external_id="VIP9").phone == ""

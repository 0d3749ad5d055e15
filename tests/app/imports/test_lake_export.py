"""`winback export --format parquet --out DIR`: the whole store as the data-lake layout."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from winback.analytics import lake
from winback.app.analysis.service import extract
from winback.app.imports.data_export import LAKE_OBJECT, export_lake
from winback.app.settings.profile import current_profile
from winback.store.accounts.models import AuditLog, Role, User

from .test_data_export import _load_all

# Extraction reads committed rows through its own connection; each test imports a store.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
AS_OF = date(2024, 12, 31)


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(frame.columns, nulls_last=True)


def _invoke(*args: str, code: int = 0) -> Any:
    from winback.cli import app

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result


@pytest.fixture(autouse=True)
def _django_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("winback.store.bootstrap._ready", True)  # pytest-django set it up


def test_the_lake_holds_the_analysis_frames_of_the_store(tmp_path: Path) -> None:
    _load_all(tmp_path)
    summary = export_lake(tmp_path / "lake", as_of=AS_OF, reason="scale test")

    back = lake.read_lake(tmp_path / "lake")
    stored = extract(AS_OF, current_profile().time_zone)
    for table in lake.TABLES:
        assert_frame_equal(_sorted(getattr(back, table)), _sorted(getattr(stored, table)))
    assert back.customers.height == 3
    assert back.order_lines.height == 3
    manifest = lake.read_manifest(tmp_path / "lake")
    assert (manifest.source, manifest.as_of, manifest.history_start) == (
        "database",
        AS_OF,
        date(2024, 1, 5),
    )
    assert summary.tables == manifest.tables
    entry = AuditLog.objects.get(action="export", object_type=LAKE_OBJECT)
    assert entry.reason == "scale test"
    assert entry.detail["rows"]["orders"] == 3
    assert entry.detail["as_of"] == "2024-12-31"


def test_an_earlier_as_of_leaves_later_facts_out(tmp_path: Path) -> None:
    _load_all(tmp_path)
    export_lake(tmp_path / "lake", as_of=date(2024, 1, 5))
    back = lake.read_lake(tmp_path / "lake")
    assert back.orders.get_column("order_date").to_list() == [date(2024, 1, 5)]


def test_the_command_writes_the_lake_as_the_named_admin(tmp_path: Path) -> None:
    _load_all(tmp_path)
    User.objects.create(username="boss", role=Role.ADMIN)
    User.objects.create(username="agent", role=Role.AGENT)
    folder = tmp_path / "lake"
    day = AS_OF.isoformat()

    shown = _invoke(
        "export",
        "--format",
        "parquet",
        "--out",
        str(folder),
        "--as",
        "boss",
        "--as-of",
        day,
        "--json",
    )
    assert json.loads(shown.stdout)["tables"]["customers"] == {"rows": 3, "parts": 1}
    assert (folder / "orders" / "part-00000.parquet").is_file()
    _invoke("export", "all", "--out", str(tmp_path / "again"), "--as", "boss", "--as-of", day)
    assert lake.read_lake(tmp_path / "again").orders.height == 3
    assert AuditLog.objects.filter(object_type=LAKE_OBJECT, username__contains="boss").count() == 2

    # Refused: another format, no folder, a user who may not export, options before a kind.
    _invoke("export", "--format", "csv", "--out", str(folder), "--as", "boss", code=2)
    _invoke("export", "--format", "parquet", "--as", "boss", code=2)
    _invoke("export", "--format", "parquet", "--out", str(folder), "--as", "agent", code=2)
    _invoke("export", "--format", "csv", "orders", "--out", str(tmp_path / "o.csv"), code=2)
    assert AuditLog.objects.filter(object_type=LAKE_OBJECT).count() == 2

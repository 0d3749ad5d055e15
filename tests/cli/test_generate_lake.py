"""`winback generate --format parquet`: the data-lake layout from the command line."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from winback.analytics import lake


def test_generate_parquet_writes_a_lake_that_reads_back(tmp_path: Path) -> None:
    from winback.cli import app

    folder = tmp_path / "lake"
    args = ["generate", "--format", "parquet", "--customers", "300", "--months", "12"]
    args += ["--end-date", "2026-10-31", "--out", str(folder), "--workers", "2"]
    result = CliRunner().invoke(app, args)

    assert result.exit_code == 0, result.output
    assert "data lake in" in result.stdout
    manifest = lake.read_manifest(folder)
    assert manifest.tables["customers"] == {"rows": 300, "parts": 1}
    assert str(manifest.as_of) == "2026-10-31"
    frames = lake.read_lake(folder)
    assert frames.customers.height == 300
    assert frames.orders.height == manifest.rows("orders") > 0
    assert not (folder / "manifest.json").exists()  # no import files were written

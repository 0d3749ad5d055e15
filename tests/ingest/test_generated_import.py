"""Integration: the sample generator's files import exactly as its manifest says they should."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from winback.app.imports.service import import_file
from winback.schema import IMPORT_ORDER
from winback.simulate.generator import generate_dataset


@pytest.mark.slow  # generates and imports a whole business
@pytest.mark.django_db
def test_generated_files_import_as_the_manifest_promises(tmp_path: Path) -> None:
    manifest = generate_dataset(
        industry="retail",
        customers=300,
        months=18,
        seed=3,
        out=tmp_path,
        end_date=date(2024, 6, 30),
    )
    assert json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8")) == manifest
    files = manifest["files"]
    assert [f["kind"] for f in files] == [
        k for k in IMPORT_ORDER if k in {f["kind"] for f in files}
    ]
    for entry in files:
        summary = import_file(entry["kind"], tmp_path / entry["path"], lang="en")
        got = {
            "read": summary.read,
            "inserted": summary.inserted,
            "rejected_by_reason": summary.rejected_by_reason,
            "stub_customers": summary.stub_customers_created,
        }
        promised = {
            "read": entry["rows"],
            "inserted": entry["valid_rows"],
            "rejected_by_reason": {k: v for k, v in entry["rejected_by_reason"].items() if v},
            "stub_customers": entry.get("stub_customers", 0),
        }
        assert got == promised, entry["path"]
        assert (
            summary.read
            == summary.inserted + summary.updated + summary.unchanged + summary.rejected
        )
    for entry in files:
        again = import_file(entry["kind"], tmp_path / entry["path"], lang="en")
        assert (again.inserted, again.updated) == (0, 0), entry["path"]
        assert again.unchanged == entry["valid_rows"], entry["path"]

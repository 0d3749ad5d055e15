"""`winback report` refuses what it cannot do, with a reason."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from winback.cli import app


@pytest.mark.django_db
def test_report_without_an_analysis_says_what_to_run() -> None:
    result = CliRunner().invoke(app, ["report", "--month", "2024-06", "--format", "html"])
    assert result.exit_code == 1
    assert "winback analyze" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["report", "--month", "2024-13"],
        ["report", "--month", "2024-06", "--format", "docx"],
        ["report", "--month", "2024-06", "--lang", "fr"],
    ],
)
def test_report_rejects_bad_options(args: list[str]) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output

"""`winback monthly`: analyse the closed month, monitor the rounds, write zh and en reports."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pytest
from rich.console import Console

pytestmark = pytest.mark.slow  # the demo cycle, then the monthly run


@pytest.mark.django_db(transaction=True)
def test_monthly_command_analyses_and_writes_both_languages(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from winback.cli import app
    from winback.cli.demo_cycle import run_demo
    from winback.environment import data_dir
    from winback.store.analysis.models import AnalysisRun
    from winback.store.programme.models import Round

    run_demo(
        industry="retail",
        customers=250,
        months=14,
        seed=3,
        out=tmp_path / "demo",
        console=Console(file=io.StringIO()),
        end_date=date(2024, 3, 31),
        rounds=2,
    )
    AnalysisRun.objects.filter(as_of=date(2024, 3, 31)).delete()

    result = CliRunner().invoke(app, ["monthly", "--month", "2024-03", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert payload["as_of"] == "2024-03-31"
    assert AnalysisRun.objects.filter(as_of=date(2024, 3, 31)).exists(), "analysed again"
    # Every stored round is monitored (a month too small for a control group has none).
    assert payload["rounds_monitored"] == Round.objects.count() >= 1
    assert payload["verdict"] in ("continue", "stop", "not_yet_known")
    for lang in ("zh", "en"):
        path = data_dir() / "reports" / f"report-2024-03-{lang}.html"
        assert str(path) in payload["reports"]
        assert path.stat().st_size > 30_000

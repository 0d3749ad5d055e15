"""The demo end to end on a small business, twice: the second run changes no data."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from rich.console import Console

from winback.cli.demo_cycle import DemoOutcome

pytestmark = pytest.mark.slow  # the demo cycle on 400 customers, twice

END = date(2024, 6, 30)


def run(out: Path) -> tuple[DemoOutcome, str]:
    from winback.cli.demo_cycle import run_demo

    buffer = io.StringIO()
    console = Console(file=buffer, width=200, force_terminal=False)
    outcome = run_demo(
        industry="aesthetics",
        customers=400,
        months=18,
        seed=5,
        out=out,
        console=console,
        end_date=END,
    )
    return outcome, buffer.getvalue()


@pytest.mark.django_db(transaction=True)
def test_demo_runs_the_cycle_and_can_run_again(tmp_path: Path) -> None:
    from winback.app.settings.profile import current_profile
    from winback.schema import IMPORT_ORDER
    from winback.store.analysis.models import AnalysisRun, CustomerSnapshot
    from winback.store.customers.models import Customer, Order

    first, text = run(tmp_path / "demo")
    assert current_profile().industry == "aesthetics"
    assert [row["kind"] for row in first.imports] == list(IMPORT_ORDER)
    assert all(row["read"] > 0 for row in first.imports)
    customers = Customer.objects.count()
    orders = Order.objects.count()
    run_row = AnalysisRun.objects.get(as_of=END)
    assert run_row.customers == customers
    assert CustomerSnapshot.objects.filter(as_of=END).count() == customers
    export = first.export
    assert export.exists()
    assert len(export.read_text(encoding="utf-8-sig").splitlines()) == customers + 1
    # One round a month over the last six months, except a month too small to keep a control
    # group: no round is stored then, and the demo says so.
    months = [f"2024-{m:02d}-01" for m in range(1, 7)]
    planned = [r["month"] for r in first.rounds]
    assert len(planned) >= 3
    assert planned == [m for m in months if m in planned]
    for month in set(months) - set(planned):
        assert f"{month[:7]}：本月不建轮次" in text
    assert sum(r["plan"]["treated"] for r in first.rounds) > 0
    assert all(r["plan"]["control"] > 0 for r in first.rounds)
    # the CLI speaks WINBACK_LANGUAGE, Chinese by default
    assert "坐席和通话结果均为模拟" in text
    analyses = AnalysisRun.objects.count()
    for heading in ("已导入的文件", "截至 2024-06-30 的客户", "ROC-AUC", "文件位置"):
        assert heading in text
    assert str(tmp_path / "demo" / "sample") in text
    assert [path.suffix for path in first.reports] == [".html", ".html", ".pdf"]
    assert first.reports[0].read_bytes().startswith(b"<!DOCTYPE html>")
    assert first.reports[2].read_bytes().startswith(b"%PDF")
    flat = " ".join(text.split())
    assert all(path.name in flat for path in first.reports), "the demo prints the report paths"
    assert "127.0.0.1:8000" in text
    assert "winback-demo" in text

    exported = export.read_bytes()
    second, _ = run(tmp_path / "demo")
    for row in second.imports:
        assert row["inserted"] == 0, row
        assert row["updated"] == 0, row
    assert Customer.objects.count() == customers
    assert Order.objects.count() == orders
    assert AnalysisRun.objects.count() == analyses
    assert second.rounds == [], "a second run shows the rounds instead of simulating again"
    assert CustomerSnapshot.objects.filter(as_of=END).count() == customers
    assert second.export.read_bytes() == exported

"""The response's size on the demo path: a generated business, imported, worked by the
programme demo's rounds with simulated agents, each round read at +90 days."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation
from rich.console import Console

pytestmark = pytest.mark.slow  # a generated business through three rounds

END = date(2026, 11, 30)
MONTHS = [date(2026, 4, 1), date(2026, 5, 1), date(2026, 6, 1)]  # all +90 by END


def _rounds(folder: Path, response: str) -> dict[str, Any]:
    """Pooled over the rounds: treated, control, treated and control back at +90, and the
    treated whose return the calls added (a simulated purchase: won back, not returning
    anyway) - the true effect on the treated, without the control group's noise."""
    from winback.app.imports.service import import_file
    from winback.app.rounds.service import round_status
    from winback.app.settings.profile import set_profile
    from winback.cli.programme_demo import run_programme_demo
    from winback.simulate.generator import generate_dataset
    from winback.store.customers.models import Order
    from winback.store.programme.models import Round

    set_profile("aesthetics")
    manifest = generate_dataset("aesthetics", 1000, 24, 7, folder, end_date=END, response=response)
    for entry in manifest["files"]:
        import_file(entry["kind"], folder / entry["path"])
    console = Console(file=io.StringIO(), width=160, record=True)
    with translation.override("en"):
        records = run_programme_demo(
            ground_truth=folder / manifest["ground_truth"], months=MONTHS, console=console
        )
    assert len(records) >= 2
    assert all(r["simulation"]["response"] == response for r in records)
    totals = {"treated": 0, "control": 0, "treated_back": 0.0, "control_back": 0.0, "added": 0}
    for record in records:
        rnd = Round.objects.get(pk=record["round_id"])
        h90 = next(h for h in round_status(rnd, END, n_boot=50)["horizons"] if h["horizon"] == 90)
        assert h90["matured"]
        n_t, n_c = record["plan"]["treated"], record["plan"]["control"]
        totals["treated"] += n_t
        totals["control"] += n_c
        totals["treated_back"] += h90["p_treated"] * n_t
        totals["control_back"] += h90["p_control"] * n_c
        totals["added"] += (
            Order.objects.filter(order_key__startswith=f"SIM-{rnd.pk}-")
            .values("customer_id")
            .distinct()
            .count()
        )
    totals["text"] = console.export_text()
    return totals


@pytest.mark.django_db(transaction=True)
def test_realistic_calls_add_a_few_points(tmp_path: Path) -> None:
    t = _rounds(tmp_path, "realistic")
    added = t["added"] / t["treated"]
    assert 0.01 <= added <= 0.10
    # the treated come back at the natural rate plus what the calls added
    treated_back = t["treated_back"] / t["treated"]
    assert added < treated_back
    assert "realistic" in t["text"]


@pytest.mark.django_db(transaction=True)
def test_large_calls_bring_back_a_third_or_more(tmp_path: Path) -> None:
    t = _rounds(tmp_path, "large")
    assert t["treated_back"] / t["treated"] >= 0.30
    assert t["added"] / t["treated"] >= 0.15
    assert t["treated_back"] / t["treated"] > t["control_back"] / t["control"] + 0.10
    assert "large" in t["text"]

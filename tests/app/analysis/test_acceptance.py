"""Acceptance: on generated businesses the churn score beats both simple baselines (R2, R12).

Each case generates a small business, imports its files, and backtests the score as of one
churn horizon before the end of the history (so the outcome is known): the churn score's
ROC-AUC must exceed that of days-since-last-purchase alone and that of 1 - P(alive) (BG/NBD).
The figures are printed (run with ``-s``) for docs/benchmarks.md.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # four generated businesses analysed

END = date(2024, 12, 31)
CUSTOMERS = 800
MONTHS = 24


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("industry", ["retail", "aesthetics"])
@pytest.mark.parametrize("seed", [1, 2])
def test_churn_score_beats_the_baselines(industry: str, seed: int, tmp_path: Path) -> None:
    from winback.analytics.pipeline import churn_horizon
    from winback.app.analysis.service import backtest
    from winback.app.imports.service import import_file
    from winback.app.settings.profile import set_profile
    from winback.simulate.generator import generate_dataset

    profile = set_profile(industry)
    manifest = generate_dataset(industry, CUSTOMERS, MONTHS, seed, tmp_path, end_date=END)
    for entry in manifest["files"]:
        import_file(entry["kind"], tmp_path / entry["path"])
    horizon = churn_horizon(profile)
    result = backtest(END - timedelta(days=horizon), horizon)

    auc = {name: values["roc_auc"] for name, values in result["scores"].items()}
    print(
        f"\n{industry} seed {seed}: {result['customers']} buyers, base rate "
        f"{result['base_rate']:.3f}, horizon {horizon} d; ROC-AUC churn score "
        f"{auc['churn_score']:.3f}, recency {auc['recency']:.3f}, P(alive) {auc['p_alive']:.3f}"
    )
    assert auc["churn_score"] > auc["recency"]
    assert auc["churn_score"] > auc["p_alive"]

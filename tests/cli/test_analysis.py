"""`winback analyze`, `winback backtest` and `winback export scores` on a generated business."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from winback.store.export import COLUMNS

pytestmark = pytest.mark.slow  # a generated business, analysed twice and back-tested

END = date(2024, 6, 30)


def generate(out: Path) -> dict[str, Any]:
    from winback.simulate.generator import generate_dataset

    return generate_dataset("retail", 400, 18, 11, out, end_date=END)


def import_all(out: Path, manifest: dict[str, Any]) -> None:
    from winback.app.imports.service import import_file

    for entry in manifest["files"]:
        import_file(entry["kind"], out / entry["path"])


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("sample")
    return out, generate(out)


@pytest.fixture
def loaded(sample: tuple[Path, dict[str, Any]]) -> None:
    from winback.app.settings.profile import set_profile

    set_profile("retail")
    import_all(*sample)
    analyst()


def analyst() -> None:
    """The workbench user the exports are made as (``--as``)."""
    from winback.store.accounts.models import Role, User

    User.objects.create(username="analyst", role=Role.ADMIN)


def invoke(*args: str) -> Any:
    from winback.cli import app

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("loaded")
def test_analyze_twice_exports_the_same_bytes(tmp_path: Path) -> None:
    from winback.store.accounts.models import AuditLog
    from winback.store.analysis.models import AnalysisRun, CustomerSnapshot
    from winback.store.customers.models import Customer

    day = END.isoformat()
    first = json.loads(invoke("analyze", "--as-of", day, "--json").stdout)
    customers = Customer.objects.count()
    assert first["customers"] == customers
    for dimension in ("stage", "status", "tier"):
        assert sum(first["counts"][dimension].values()) == customers
    run = AnalysisRun.objects.get(as_of=END)
    assert {"extract", "features", "fit", "score", "write", "total"} <= set(run.timings)
    assert run.params["rows"]["customers"] == customers
    assert run.params["profile"]["industry"] == "retail"
    assert run.weights
    for fmt in ("csv", "parquet"):
        invoke(
            "export",
            "scores",
            "--as",
            "analyst",
            "--as-of",
            day,
            "--format",
            fmt,
            "--out",
            f"{tmp_path}/1.{fmt}",
        )

    shown = invoke("analyze", "--as-of", day)  # the second run replaces the first
    assert "阶段" in shown.stdout  # the CLI speaks WINBACK_LANGUAGE, Chinese by default
    assert CustomerSnapshot.objects.filter(as_of=END).count() == customers
    for fmt in ("csv", "parquet"):
        invoke(
            "export",
            "scores",
            "--as",
            "analyst",
            "--as-of",
            day,
            "--format",
            fmt,
            "--out",
            f"{tmp_path}/2.{fmt}",
        )
        assert (tmp_path / f"1.{fmt}").read_bytes() == (tmp_path / f"2.{fmt}").read_bytes()

    exported = pl.read_parquet(tmp_path / "1.parquet")
    assert tuple(exported.columns) == COLUMNS
    ids = sorted(Customer.objects.values_list("external_id", flat=True))
    assert exported["customer_id"].to_list() == ids
    assert exported["churn_score"].is_between(0, 100).all()
    assert exported["churn_probability"].is_between(0, 1).all()
    assert AuditLog.objects.filter(action="export_scores", object_id=day).count() == 4


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("loaded")
def test_csv_and_xlsx_exports_match_the_stored_snapshot(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from winback.store.analysis.models import CustomerSnapshot

    day = END.isoformat()
    invoke("analyze", "--as-of", day, "--json")
    invoke(
        "export",
        "scores",
        "--as",
        "analyst",
        "--as-of",
        day,
        "--format",
        "csv",
        "--out",
        f"{tmp_path}/s.csv",
    )
    invoke(
        "export",
        "scores",
        "--as",
        "analyst",
        "--as-of",
        day,
        "--format",
        "xlsx",
        "--out",
        f"{tmp_path}/s.xlsx",
    )
    csv = pl.read_csv(tmp_path / "s.csv", infer_schema=False)
    stored = {
        s.customer.external_id: s
        for s in CustomerSnapshot.objects.filter(as_of=END).select_related("customer")
    }
    assert set(csv["customer_id"]) == set(stored)
    for row in csv.head(50).iter_rows(named=True):
        snapshot = stored[row["customer_id"]]
        assert row["stage"] == snapshot.stage
        assert row["status"] == snapshot.status
        assert float(row["churn_score"]) == pytest.approx(snapshot.churn_score, abs=0.005)
        assert snapshot.churn_probability is not None
        assert float(row["churn_probability"]) == pytest.approx(
            snapshot.churn_probability, abs=0.00005
        )
        assert json.loads(row["top_signals"]) == snapshot.top_signals
    sheet = load_workbook(tmp_path / "s.xlsx", read_only=True).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == len(stored) + 1
    assert sorted(str(row[0]) for row in rows[1:]) == sorted(stored)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("loaded")
def test_backtest_reports_the_score_and_the_baselines() -> None:
    as_of = (END - timedelta(days=90)).isoformat()
    result = json.loads(invoke("backtest", "--as-of", as_of, "--horizon", "90", "--json").stdout)
    assert result["as_of"] == as_of
    assert result["horizon_days"] == 90
    assert result["horizon_source"] == "given"
    assert result["customers"] > 100
    for name in ("churn_score", "recency", "p_alive"):
        assert 0.0 <= result["scores"][name]["roc_auc"] <= 1.0
    assert len(result["calibration"]) == 10
    actionable = result["actionable"]
    assert actionable["customers"] < result["customers"]
    low, high = actionable["intervals"]["roc_auc"]
    assert low <= actionable["scores"]["churn_score"]["roc_auc"] <= high

    shown = invoke("backtest", "--as-of", as_of, "--horizon", "90").stdout
    for text in ("ROC-AUC", "PR-AUC", "lift top 10%", "Brier", "流失评分", "ECE"):
        assert text in shown


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("loaded")
def test_backtest_defaults_to_the_score_horizon() -> None:
    from winback.analytics.pipeline import churn_horizon
    from winback.app.settings.profile import current_profile

    horizon = churn_horizon(current_profile())
    as_of = (END - timedelta(days=horizon)).isoformat()
    result = json.loads(invoke("backtest", "--as-of", as_of, "--json").stdout)
    assert result["horizon_days"] == horizon
    assert result["horizon_source"] == "score"
    assert result["weights_source"]
    assert result["btyd_model"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("loaded")
def test_backtest_refuses_too_few_outcomes() -> None:
    from winback.cli import app

    early = (END - timedelta(days=16 * 30)).isoformat()  # two months into the history
    result = CliRunner().invoke(app, ["backtest", "--as-of", early, "--horizon", "30", "--json"])
    assert result.exit_code == 1
    refused = json.loads(result.stdout)
    assert refused["error"] == "too_few_outcomes"
    assert min(refused["positives"], refused["negatives"]) < refused["minimum"] == 30
    shown = CliRunner().invoke(app, ["backtest", "--as-of", early, "--horizon", "30"])
    assert shown.exit_code == 1
    assert "30" in shown.output


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("loaded")
def test_analyze_reports_the_precision_of_earlier_warnings() -> None:
    from winback.app.settings.profile import current_profile
    from winback.store.analysis.models import AnalysisRun, CustomerSnapshot

    at_risk = current_profile().lateness_at_risk
    three, one = END - timedelta(days=91), END - timedelta(days=30)
    first = json.loads(invoke("analyze", "--as-of", three.isoformat(), "--json").stdout)
    assert first["early_warning_precision"] == {"1m": None, "3m": None}
    invoke("analyze", "--as-of", one.isoformat(), "--json")
    latest = json.loads(invoke("analyze", "--as-of", END.isoformat(), "--json").stdout)
    precision = latest["early_warning_precision"]
    assert precision["1m"]["flagged_on"] == one.isoformat()
    assert precision["3m"]["flagged_on"] == three.isoformat()
    assert AnalysisRun.objects.get(as_of=END).params["model"]["early_warning_precision"] == (
        precision
    )
    for key, day in (("1m", one), ("3m", three)):
        flagged = CustomerSnapshot.objects.filter(as_of=day, early_warning=True).exclude(
            status="lost"
        )
        assert precision[key]["flagged"] == flagged.count() > 0
        # The drifted, counted from the stored rows one by one.
        days = (END - day).days
        now = {s.customer_id: s for s in CustomerSnapshot.objects.filter(as_of=END)}
        hits = 0
        for snap in flagged:
            later = now[snap.customer_id]
            gone = later.days_since_last is not None and later.days_since_last >= days
            late = later.status == "lost" or (
                later.expected_interval_days is not None
                and later.days_since_last is not None
                and later.days_since_last / later.expected_interval_days >= at_risk
            )
            hits += gone and late
        assert precision[key]["flagged_drifted"] == hits
        assert 0 <= precision[key]["base_rate"] <= 1
    shown = invoke("analyze", "--as-of", END.isoformat()).stdout
    assert precision["1m"]["flagged_on"] in shown


@pytest.mark.django_db(transaction=True)
def test_export_without_an_analysis_says_so(tmp_path: Path) -> None:
    from winback.cli import app

    analyst()
    result = CliRunner().invoke(
        app,
        [
            "export",
            "scores",
            "--as",
            "analyst",
            "--as-of",
            END.isoformat(),
            "--out",
            str(tmp_path / "x.csv"),
        ],
    )
    assert result.exit_code == 1
    assert "winback analyze" in result.output
    assert not (tmp_path / "x.csv").exists()

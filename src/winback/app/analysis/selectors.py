"""Reading the latest analysis: shared by the workbench pages, their exports and the API."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from winback.store.analysis.models import AnalysisRun

# What the analysis may have taken from built-in priors (``model["priors_used"]``).
PRIOR_LABELS: dict[str, Any] = {
    "churn_weights": _("the churn score's weights"),
    "btyd": _("the purchase-rhythm model (BTYD)"),
}
PRECISION_LABELS: dict[str, Any] = {"1m": _("about 1 month"), "3m": _("about 3 months")}


def run_model(run: AnalysisRun | None) -> dict[str, Any]:
    """The analysis's model description (``params["model"]``), {} when absent."""
    params = run.params if run is not None and isinstance(run.params, dict) else {}
    model = params.get("model")
    return model if isinstance(model, dict) else {}


def history_notice(run: AnalysisRun | None) -> dict[str, Any] | None:
    """What to tell people when the analysis had too little history of its own: the priors it
    used and whether at-risk status follows the base rate. None when it had enough."""
    model = run_model(run)
    used = model.get("priors_used")
    priors = [str(p) for p in used if isinstance(p, str)] if isinstance(used, list) else []
    base_rate = model.get("status_rule") == "base_rate"
    if not priors and not base_rate:
        return None
    return {
        "priors": [PRIOR_LABELS.get(p, p) for p in priors],
        "codes": priors,
        "base_rate": base_rate,
    }


def warning_precision_rows(run: AnalysisRun | None) -> list[dict[str, Any]]:
    """The early-warning precision stored with the analysis, one row per look-back."""
    stored = run_model(run).get("early_warning_precision")
    if not isinstance(stored, dict):
        return []
    return [
        {"key": key, "label": PRECISION_LABELS.get(key, key), **value}
        for key, value in stored.items()
        if isinstance(value, dict)
    ]


def latest_analysis(*, on_or_before: date | None = None) -> AnalysisRun | None:
    """The newest analysis dated on or before ``on_or_before`` (None: the newest of all)."""
    runs = AnalysisRun.objects.all()
    if on_or_before is not None:
        runs = runs.filter(as_of__lte=on_or_before)
    return runs.order_by("-as_of").first()


def latest_run() -> AnalysisRun | None:
    return latest_analysis()


def filter_snapshots(
    rows: QuerySet[Any],
    *,
    stage: str | None = None,
    status: str | None = None,
    tier: int | None = None,
    early_warning: bool | None = None,
    customer_type: str | None = None,
    rfm_octant: str | None = None,
    store: str | None = None,
) -> QuerySet[Any]:
    """Snapshot rows narrowed by the filters that are set (empty or None: not filtered)."""
    if stage:
        rows = rows.filter(stage=stage)
    if status:
        rows = rows.filter(status=status)
    if tier is not None:
        rows = rows.filter(tier=tier)
    if early_warning is not None:
        rows = rows.filter(early_warning=early_warning)
    if customer_type:
        rows = rows.filter(customer_type=customer_type)
    if rfm_octant:
        rows = rows.filter(rfm_octant=rfm_octant)
    if store:
        rows = rows.filter(customer__store__code=store)
    return rows

"""Reading the latest analysis: shared by the workbench pages, their exports and the API."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import QuerySet

from winback.store.analysis.models import AnalysisRun


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

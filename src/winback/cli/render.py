"""Rich tables for analysis results, shared by the CLI and the demo."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

Report = Callable[[str], None]  # services.Progress


@contextmanager
def analysis_progress(console: Console, *, quiet: bool = False) -> Iterator[Report]:
    """A Rich progress bar for :func:`winback.app.analysis.service.analyze`'s stages; the
    yielded callable is its ``progress`` argument."""
    from winback.app.analysis.service import STAGES

    labels = {
        "extract": _("Reading the data"),
        "analyze": _("Scoring customers"),
        "write": _("Saving the results"),
    }
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        disable=quiet,
    ) as bar:
        task = bar.add_task(labels[STAGES[0]], total=len(STAGES))

        def report(stage: str) -> None:
            if stage in STAGES:
                bar.update(task, completed=STAGES.index(stage), description=labels[stage])
            else:
                bar.update(task, completed=len(STAGES), description=_("Analysis stored"))

        yield report


def counts_table(counts: dict[str, dict[str, int]], day: date) -> Table:
    table = Table(title=_("Customers as of %(day)s") % {"day": day.isoformat()})
    table.add_column(_("dimension"))
    table.add_column(_("code"))
    table.add_column(_("customers"), justify="right")
    titles = {"stage": _("stage"), "status": _("status"), "tier": _("tier")}
    for dimension, title in titles.items():
        for group, number in counts.get(dimension, {}).items():
            table.add_row(title, str(group), f"{number:,}")
        table.add_section()
    return table


METRICS = (
    ("roc_auc", "ROC-AUC"),
    ("pr_auc", "PR-AUC"),
    ("lift_top10", "lift top 10%"),
    ("brier", "Brier"),
)


SCORER_LABELS = {
    "churn_score": gettext_noop("churn score"),
    "recency": gettext_noop("days since last purchase"),
    "p_alive": gettext_noop("1 - P(alive) (BG/NBD)"),
}


def backtest_tables(result: dict[str, Any]) -> list[Table]:
    """The metrics per score (churn score and the two baselines) and the calibration table."""
    title = _("Backtest as of %(as_of)s, horizon %(h)s days") % {
        "as_of": result.get("as_of", ""),
        "h": result.get("horizon_days", ""),
    }
    metrics = Table(title=title)
    metrics.caption = _(
        "%(n)s customers who had bought, %(pos)s did not buy again (base rate %(rate)s)"
    ) % {
        "n": result.get("customers", "-"),
        "pos": result.get("positives", "-"),
        "rate": number(result.get("base_rate")),
    }
    metrics.add_column(_("score"))
    for _key, label in METRICS:
        metrics.add_column(label, justify="right")
    scorers: dict[str, dict[str, Any] | None] = result.get("scores") or {}
    for name, values in scorers.items():
        label = _(SCORER_LABELS.get(name, name))
        metrics.add_row(label, *[number((values or {}).get(key)) for key, _label in METRICS])
    tables = [metrics]
    calibration: list[dict[str, Any]] = result.get("calibration") or []
    if calibration:
        table = Table(title=_("Calibration of the churn score (deciles of the prediction)"))
        headers = {
            "bin": _("decile"),
            "n": _("customers"),
            "mean_predicted": _("predicted"),
            "observed": _("observed"),
        }
        columns = list(calibration[0])
        for column in columns:
            table.add_column(headers.get(column, column), justify="right")
        for row in calibration:
            table.add_row(*[number(row.get(c)) for c in columns])
        tables.append(table)
    return tables


def number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)

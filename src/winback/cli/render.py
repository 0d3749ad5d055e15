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


def _metrics_table(title: str, result: dict[str, Any]) -> Table:
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
    intervals: dict[str, Any] = result.get("intervals") or {}
    for name, values in scorers.items():
        label = _(SCORER_LABELS.get(name, name))
        cells = []
        for key, _label in METRICS:
            cell = number((values or {}).get(key))
            band = intervals.get(key) if name == "churn_score" else None
            if band:
                cell += f" [{number(band[0])}, {number(band[1])}]"
            cells.append(cell)
        metrics.add_row(label, *cells)
    return metrics


def backtest_tables(result: dict[str, Any]) -> list[Table]:
    """The models used, the metrics per score (all buyers, then the actionable ones) with 95%
    bootstrap intervals, calibration figures and the calibration table."""
    values = {"as_of": result.get("as_of", ""), "h": result.get("horizon_days", "")}
    models = Table(title=_("Models used"), show_header=False)
    source = result.get("weights_source")
    models.add_row(_("horizon (days)"), str(result.get("horizon_days", "-")))
    models.add_row(_("churn weights"), str(source or "-"))
    weights: dict[str, Any] = result.get("weights") or {}
    models.add_row(
        _("weights"), ", ".join(f"{k} {number(float(v))}" for k, v in sorted(weights.items()))
    )
    models.add_row(_("BTYD model"), str(result.get("btyd_model") or "-"))
    models.add_row(_("probability checked"), str(result.get("probability") or "-"))
    priors = result.get("priors_used") or []
    if priors or result.get("status_rule") == "base_rate":
        models.add_row(_("note"), history_notice_text(priors, result.get("status_rule")))
    tables = [models]
    tables.append(
        _metrics_table(
            _("Backtest as of %(as_of)s, horizon %(h)s days: all buyers") % values, result
        )
    )
    actionable: dict[str, Any] = result.get("actionable") or {}
    if actionable:
        tables.append(
            _metrics_table(
                _("Actionable customers (active, silent, sleeping), horizon %(h)s days") % values,
                actionable,
            )
        )
    fit = Table(title=_("Calibration of the probability"))
    fit.add_column(_("customers"))
    for column in ("ECE", _("slope"), _("intercept")):
        fit.add_column(column, justify="right")
    for name, group in ((_("all buyers"), result), (_("actionable"), actionable)):
        if group:
            fit.add_row(
                name,
                number(group.get("ece")),
                number(group.get("calibration_slope")),
                number(group.get("calibration_intercept")),
            )
    fit.caption = _("Slope 1 and intercept 0: calibrated; slope below 1: too extreme.")
    tables.append(fit)
    calibration: list[dict[str, Any]] = (actionable or result).get("calibration") or []
    if calibration:
        table = Table(title=_("Reliability of the probability (deciles, actionable customers)"))
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


def history_notice_text(priors: list[str], status_rule: str | None) -> str:
    """The plain-words notice when the analysis leaned on priors (too little history)."""
    parts = []
    if priors:
        parts.append(
            _("Too little history: the analysis used built-in priors (%(what)s).")
            % {"what": ", ".join(priors)}
        )
    if status_rule == "base_rate":
        parts.append(_("At-risk status follows the business's base rate, not a learned cut-off."))
    return " ".join(parts)


def precision_table(precision: dict[str, Any]) -> Table | None:
    """The early-warning precision at one and three months, when earlier analyses exist."""
    rows = {k: v for k, v in (precision or {}).items() if isinstance(v, dict)}
    if not rows:
        return None
    table = Table(title=_("Early-warning precision"))
    for header in (
        _("flagged on"),
        _("flagged"),
        _("drifted"),
        _("precision"),
        _("base rate"),
        _("lift"),
    ):
        table.add_column(header, justify="right")
    for value in rows.values():
        table.add_row(
            str(value.get("flagged_on", "-")),
            number(value.get("flagged")),
            number(value.get("flagged_drifted")),
            number(value.get("precision")),
            number(value.get("base_rate")),
            number(value.get("lift")),
        )
    return table


def number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)

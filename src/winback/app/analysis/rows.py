"""A customer's analysis row as people see it: the API's scores, the workbench sheet and the
score export show the same columns with the same rounding (``winback.schema.SCORE_COLUMNS``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from winback.schema import SCORE_COLUMNS, SCORE_DECIMALS
from winback.store.analysis.models import CustomerSnapshot
from winback.store.export import rounded_scores

# Every column but the customer's id (each caller names the customer its own way).
FIELDS = tuple(c.name for c in SCORE_COLUMNS if c.name != "customer_id")


def shown_scores(snapshots: Sequence[CustomerSnapshot]) -> list[dict[str, Any]]:
    """Each snapshot's fields, floats rounded by the export's rule (one frame for the page)."""
    floats = pl.DataFrame(
        {c: [getattr(s, c) for s in snapshots] for c in SCORE_DECIMALS},
        schema=dict.fromkeys(SCORE_DECIMALS, pl.Float64()),
    )
    rounded = rounded_scores(floats).to_dicts()
    rows = []
    for snapshot, values in zip(snapshots, rounded, strict=True):
        row = {f: getattr(snapshot, f) for f in FIELDS}
        row.update(values)
        row["top_signals"] = row["top_signals"] if isinstance(row["top_signals"], list) else []
        rows.append(row)
    return rows

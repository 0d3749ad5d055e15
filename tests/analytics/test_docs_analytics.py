"""docs/analytics.md explains every code the analysis can return, in English and Chinese."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from winback.analytics.early_warning import ACTIONS
from winback.analytics.indicators import CODES
from winback.analytics.lifecycle import CUSTOMER_TYPES, STAGES
from winback.analytics.segments import ABC_CLASSES, OCTANTS
from winback.analytics.signals import NOT_LISTED, signal_fields

DOC = Path(__file__).resolve().parents[2] / "docs" / "analytics.md"


def test_every_code_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    codes = [
        *CODES,
        *STAGES,
        *CUSTOMER_TYPES,
        *OCTANTS,
        *ACTIONS,
        "active",
        "at_risk",
        "lost",
        *(f"`{c}`" for c in ABC_CLASSES),
    ]
    missing = [c for c in codes if (c if c.startswith("`") else f"`{c}`") not in text]
    assert not missing, missing
    for _, zh, _ in OCTANTS.values():
        assert zh in text


def test_every_signal_field_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    fields = signal_fields(pl.lit(None))
    assert set(fields) == set(CODES) - set(NOT_LISTED)
    for code, named in fields.items():
        row = next(line for line in text.splitlines() if line.startswith(f"| `{code}` | `"))
        for field in named:
            assert f"`{field}`" in row, (code, field)

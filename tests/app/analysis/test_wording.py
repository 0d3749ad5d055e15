"""Every signal and action code the analytics core can emit has words in both languages."""

from __future__ import annotations

import json

import polars as pl
import pytest

from winback.analytics.early_warning import ACTIONS as ACTION_CODES
from winback.analytics.signals import signal_fields
from winback.app.analysis.wording import (
    ACTIONS,
    SIGNALS,
    action_text,
    signal_text,
    signals_text,
)

EMITTED = signal_fields(pl.lit(None))


@pytest.mark.parametrize("code", sorted(EMITTED))
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_emitted_signal_is_worded_with_all_its_values(code: str, lang: str) -> None:
    assert code in SIGNALS, f"{code} has no wording"
    values = {name: 1000 + i for i, name in enumerate(EMITTED[code])}
    text = signal_text({"code": code, **values}, lang)
    assert text != code
    for value in values.values():
        assert str(value) in text, (code, lang, text)


@pytest.mark.parametrize("code", ACTION_CODES)
def test_every_action_is_worded(code: str) -> None:
    assert action_text(code, "zh") != code
    assert action_text(code, "en") != code
    assert action_text(code, "zh") != action_text(code, "en")
    assert set(ACTIONS) == set(ACTION_CODES)


def test_stored_json_is_read_in_order_and_bad_input_falls_back() -> None:
    stored = json.dumps(
        [
            {"code": "spend_down", "pct": 60},
            {"code": "late_vs_rhythm", "days_late": 42, "usual_interval_days": 12},
        ]
    )
    assert signals_text(stored, "en") == [
        "Spend down 60% year on year",
        "42 days late against a usual 12-day rhythm",
    ]
    assert signals_text(stored, "zh-hans")[0] == "消费金额同比下降 60%"
    assert signals_text("not json", "en") == []
    assert signal_text({"code": "spend_down"}, "en") == "spend_down"
    assert signal_text({"code": "new_code", "x": 1}, "en") == "new_code"

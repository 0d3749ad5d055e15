"""Amounts in the report are written as zh-CN writes them: ¥ before the figure, 元 as a unit."""

from __future__ import annotations

from winback.reporting.charts import _with_unit
from winback.reporting.text import currency_unit, money


def test_yuan_amounts_carry_the_yuan_sign() -> None:
    assert money(12345.6, "CNY") == "¥12,346"
    assert money(-1200, "CNY") == "-¥1,200"
    assert money(None, "CNY") == "-"
    assert money(5000, "USD") == "USD 5,000"


def test_axis_units() -> None:
    assert currency_unit("CNY", "zh") == "元"
    assert currency_unit("CNY", "en") == "CNY"
    assert _with_unit("人均消费", "CNY", "zh") == "人均消费（元）"
    assert _with_unit("Spend", "CNY", "en") == "Spend (CNY)"

"""The one guard against formula injection, used by every CSV and XLSX file we write.

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return, or with the
full-width ``＝ ＋ － ＠`` that Excel and WPS also read as a formula start, can be run as a
formula when the file is opened (OWASP "CSV injection"). Such text cells are written with a
leading apostrophe, which spreadsheets show as plain text; the importer removes that
apostrophe again (:func:`winback.ingest.parse.parse_text`). A cell that is a plain number
(``-12.50``) cannot carry a formula and is left as it is, so refunds stay numbers; typed
numeric cells (XLSX numbers) are never touched.
"""

from __future__ import annotations

import re
from typing import Any

import polars as pl

FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
FORMULA_TRIGGERS = r"^[=+\-@\t\r＝＋－＠]"
PLAIN_NUMBER = r"^[+-]?\d+(\.\d+)?$"
_PLAIN_NUMBER = re.compile(PLAIN_NUMBER)


def is_risky(text: str) -> bool:
    """Whether a text cell would be read as a formula."""
    return text.startswith(FORMULA_PREFIXES) and _PLAIN_NUMBER.match(text) is None


def guard_value(value: Any) -> Any:
    """One cell: risky text gets a leading apostrophe; everything else is returned as is."""
    if isinstance(value, str) and is_risky(value):
        return "'" + value
    return value


def guard_formula(text: pl.Expr) -> pl.Expr:
    """The vectorised :func:`guard_value` for a String column."""
    risky = text.str.contains(FORMULA_TRIGGERS) & ~text.str.contains(PLAIN_NUMBER)
    # The plain branch first, so the result keeps the column's name.
    return pl.when(~risky).then(text).otherwise(pl.lit("'") + text)


def guard_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Guard every String column of a frame (numbers, dates and booleans keep their types)."""
    return frame.with_columns(
        guard_formula(pl.col(name)).alias(name)
        for name, dtype in frame.schema.items()
        if dtype == pl.String
    )

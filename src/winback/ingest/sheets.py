"""Spreadsheet safety shared by every file we write: the guard against formula injection.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return can be run as a
formula when the file is opened in Excel or WPS (OWASP "CSV injection"). Such text cells are
written with a leading apostrophe, which spreadsheets show as plain text; the importer removes
that apostrophe again (see :func:`winback.ingest.parse.parse_text`). A cell that is a plain
number (``-12.50``) cannot carry a formula and is left as it is, so refunds stay numbers.
"""

from __future__ import annotations

import polars as pl

FORMULA_TRIGGERS = r"^[=+\-@\t\r]"
PLAIN_NUMBER = r"^[+-]?\d+(\.\d+)?$"


def guard_formula(text: pl.Expr) -> pl.Expr:
    """Prefix an apostrophe to text a spreadsheet could execute."""
    risky = text.str.contains(FORMULA_TRIGGERS) & ~text.str.contains(PLAIN_NUMBER)
    return pl.when(risky).then(pl.lit("'") + text).otherwise(text)


def guard_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Guard every String column of a frame."""
    return frame.with_columns(
        guard_formula(pl.col(name)).alias(name)
        for name, dtype in frame.schema.items()
        if dtype == pl.String
    )

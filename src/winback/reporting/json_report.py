"""The monthly report as one JSON document: every figure, stable keys, ISO dates, no NaN.

:func:`to_json` walks the structure :func:`winback.reporting.metrics.build_report` returns,
the same one the HTML, PDF and workbook read: tables (Polars frames) become lists of row
objects, dates ISO strings, NaN and infinities ``null``. The taxonomy and playbooks (rules,
not figures) are left out. :func:`key_paths` walks the same structure and names every key
the document can hold (``verdict.decision``, ``rounds[].uplift_low`` ...), from the frames'
columns, so an empty table still names its columns; docs/report.md documents each of them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Any

import polars as pl

VERSION = 1
# Rules the report is written with, not figures: not part of the document.
NOT_FIGURES = frozenset({"taxonomy", "playbooks"})


def to_json(report: Mapping[str, Any]) -> dict[str, Any]:
    """The report as plain JSON values (dicts, lists, str, int, float, bool, None)."""
    doc: dict[str, Any] = {"version": VERSION}
    doc.update({k: _plain(v) for k, v in report.items() if k not in NOT_FIGURES})
    return doc


def dumps(report: Mapping[str, Any]) -> str:
    """The JSON text (UTF-8, indented; ``allow_nan=False`` makes a stray NaN an error)."""
    return json.dumps(to_json(report), ensure_ascii=False, indent=2, allow_nan=False) + "\n"


def _plain(value: Any) -> Any:
    if isinstance(value, pl.DataFrame):
        return [{k: _plain(v) for k, v in row.items()} for row in value.iter_rows(named=True)]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item"):  # numpy scalars
        return _plain(value.item())
    if hasattr(value, "to_dict"):  # typed results (e.g. a verdict) that know their fields
        return _plain(value.to_dict())
    raise TypeError(f"no JSON form for {type(value).__name__}")


def key_paths(report: Mapping[str, Any]) -> set[str]:
    """Every key :func:`to_json` writes for ``report``: ``a.b`` for nested objects, ``a[].c``
    for the fields of a list of row objects (a table's columns)."""
    paths = {"version"}
    for key, value in report.items():
        if key not in NOT_FIGURES:
            paths.update(_paths(key, value))
    return paths


def _paths(prefix: str, value: Any) -> Iterator[str]:
    yield prefix
    if isinstance(value, pl.DataFrame):
        for column in value.columns:
            yield f"{prefix}[].{column}"
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from _paths(f"{prefix}.{k}", v)
    elif isinstance(value, list | tuple):
        for item in value:
            if isinstance(item, Mapping) or hasattr(item, "to_dict"):
                yield from _item(prefix, item)
    elif hasattr(value, "to_dict") and not isinstance(value, str | bytes):
        yield from _paths(prefix, value.to_dict())


def _item(prefix: str, item: Any) -> Iterator[str]:
    for p in _paths(f"{prefix}[]", item):
        if p != f"{prefix}[]":
            yield p


def document_paths(doc: Any, prefix: str = "") -> set[str]:
    """The keys a parsed JSON document actually holds, in :func:`key_paths`' notation."""
    out: set[str] = set()
    if isinstance(doc, dict):
        for k, v in doc.items():
            path = f"{prefix}.{k}" if prefix else k
            out.add(path)
            out |= document_paths(v, path)
    elif isinstance(doc, list):
        for item in doc:
            if isinstance(item, dict):
                out |= document_paths(item, f"{prefix}[]")
    return out

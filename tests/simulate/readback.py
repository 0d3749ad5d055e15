"""Reading generated files back, and re-checking them against the import contracts.

Written independently of the generator: it knows the schema (header synonyms, field types,
choices, keys) and the documented date and amount spellings, nothing of how the files were
made. A row's defects are what an importer following the contract would reject it for.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl

from winback.schema import BOOL_SPELLINGS, CONTRACTS, FieldType, ImportContract

EXCEL_EPOCH = datetime(1899, 12, 30)
_DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日")
_MONEY = re.compile(r"^(?P<neg>-)?[￥¥]?(?P<num>\d{1,3}(,\d{3})+|\d+)(\.\d{1,2})?$")
_MONEY_PARENS = re.compile(r"^\([￥¥]?(\d{1,3}(,\d{3})+|\d+)(\.\d{1,2})?\)$")


def parse_when(value: Any) -> datetime | None:
    """A date or date-time in one of the documented spellings, else None."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    text = str(value).strip()
    if re.fullmatch(r"\d{5}(\.\d+)?", text):
        return EXCEL_EPOCH + timedelta(days=float(text))
    if re.fullmatch(r"\d{8}", text):
        try:
            return datetime.strptime(text, "%Y%m%d")
        except ValueError:
            return None
    for fmt in _DATETIME_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def parse_cents(value: Any) -> int | None:
    text = str(value).strip()
    negative = False
    if _MONEY_PARENS.match(text):
        text, negative = text[1:-1], True
    elif not _MONEY.match(text):
        return None
    if text.startswith("-"):
        text, negative = text[1:], True
    digits = text.lstrip("￥¥").replace(",", "")
    cents = round(float(digits) * 100)
    return -cents if negative else cents


def _is_number(kind: FieldType, text: str) -> bool:
    pattern = r"-?\d+" if kind == FieldType.INT else r"-?\d+(\.\d+)?"
    return re.fullmatch(pattern, text) is not None


def field_defects(contract: ImportContract, row: dict[str, Any]) -> list[str]:
    """Every contract rule the row breaks (an importer counts only the first)."""
    found: list[str] = []
    for f in contract.fields:
        value = row.get(f.name)
        empty = value is None or (isinstance(value, str) and value.strip() == "")
        if empty:
            if f.required:
                found.append("missing_required")
            continue
        text = str(value).strip()
        if f.max_length is not None and len(text) > f.max_length:
            found.append("too_long")
        if f.type in (FieldType.DATE, FieldType.DATETIME) and parse_when(value) is None:
            found.append("bad_date")
        elif f.type == FieldType.MONEY and parse_cents(value) is None:
            found.append("bad_amount")
        elif f.type in (FieldType.INT, FieldType.DECIMAL) and not _is_number(f.type, text):
            found.append("bad_number")
        elif f.type == FieldType.CHOICE:
            accepted = {s.lower() for _, spellings in f.choices for s in spellings}
            if text.lower() not in accepted:
                found.append("bad_choice")
        elif f.type == FieldType.BOOL:
            accepted = {s for spellings in BOOL_SPELLINGS.values() for s in spellings}
            if text.lower() not in accepted:
                found.append("bad_bool")
    return found


@dataclass(frozen=True)
class Table:
    kind: str
    headers: list[str]
    fields: list[str]  # canonical field of each header
    rows: list[dict[str, Any]]  # by canonical field


def map_header(contract: ImportContract, header: str) -> str:
    wanted = header.strip().lower()
    for f in contract.fields:
        if wanted == f.name or wanted in {s.lower() for s in f.synonyms}:
            return f.name
    raise AssertionError(f"{contract.kind}: header {header!r} is no synonym of any field")


def read_table(kind: str, path: Path, encoding: str | None) -> Table:
    contract = CONTRACTS[kind]
    if path.suffix == ".xlsx":
        book = openpyxl.load_workbook(path, read_only=True)
        sheet = book.worksheets[0]
        raw = list(sheet.iter_rows(values_only=True))
        book.close()
        headers = [str(h) for h in raw[0]]
        body = [list(r) for r in raw[1:]]
    else:
        assert encoding is not None
        text = path.read_bytes().decode(encoding)
        frame = pl.read_csv(io.StringIO(text), infer_schema=False)
        headers = frame.columns
        body = [list(r) for r in frame.iter_rows()]
    fields = [map_header(contract, h) for h in headers]
    rows = [dict(zip(fields, r, strict=True)) for r in body]
    return Table(kind, headers, fields, rows)


@dataclass(frozen=True)
class Verdict:
    rejected: Counter[str]
    valid_rows: list[dict[str, Any]]
    most_defects_in_a_row: int
    duplicates_are_exact_copies: bool


def judge(table: Table) -> Verdict:
    """Reject rows as the contract says: first defect wins; later copies of a key are
    duplicates (only when every key column is in the file)."""
    contract = CONTRACTS[table.kind]
    keyed = all(k in table.fields for k in contract.key)
    seen: dict[tuple[Any, ...], dict[str, Any]] = {}
    rejected: Counter[str] = Counter()
    valid: list[dict[str, Any]] = []
    most = 0
    exact = True
    for row in table.rows:
        defects = field_defects(contract, row)
        most = max(most, len(defects))
        if defects:
            rejected[defects[0]] += 1
            continue
        if keyed:
            key = tuple(row[k] for k in contract.key)
            if key in seen:
                rejected["duplicate_key"] += 1
                exact &= seen[key] == row
                continue
            seen[key] = row
        valid.append(row)
    return Verdict(rejected, valid, most, exact)

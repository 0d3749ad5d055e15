"""The report's tables as a workbook: one sheet per table, headers in the chosen language."""

from __future__ import annotations

import io
import re
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from winback.reporting.tables import localised, section_tables, sheet_title
from winback.reporting.text import SECTIONS, sentences, title
from winback.spreadsheet_safety import guard_value

FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def render_xlsx(report: dict[str, Any], lang: str) -> bytes:
    """A summary sheet with every section's sentences, then one sheet per table."""
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = title("report", lang)[:31]
    summary.append([_plain(f"{title('report', lang)} {report['month']}")])
    summary["A1"].font = Font(bold=True, size=14)
    words = sentences(report, lang)
    for code in SECTIONS:
        summary.append([_plain(title(code, lang)), _plain(" ".join(words[code]))])
    summary.column_dimensions["A"].width = 28
    summary.column_dimensions["B"].width = 120
    used: set[str] = {summary.title}
    for code in SECTIONS:
        for name, frame in section_tables(report)[code]:
            sheet = book.create_sheet(
                _unique(FORBIDDEN.sub(" ", sheet_title(name, lang))[:31], used)
            )
            shown = localised(frame, lang, report)
            sheet.append([_plain(c) for c in shown.columns])
            for cell in sheet[1]:
                cell.font = Font(bold=True)
            for row in shown.iter_rows():
                sheet.append([_plain(v) for v in row])
            for i, col in enumerate(shown.columns, start=1):
                sheet.column_dimensions[sheet.cell(1, i).column_letter].width = max(
                    10, len(col) * 2
                )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _unique(name: str, used: set[str]) -> str:
    candidate, i = name, 2
    while candidate in used:
        candidate = f"{name[:28]} {i}"
        i += 1
    used.add(candidate)
    return candidate


def _plain(value: Any) -> Any:
    """Cells a spreadsheet shows as data (dates and numbers as they are; text never a formula)."""
    return guard_value(value)

"""The report as an A4 PDF: the HTML with print CSS, laid out by WeasyPrint, CJK font embedded."""

from __future__ import annotations

import logging
from typing import Any

from winback.reporting.render_html import render_html


def render_pdf(report: dict[str, Any], lang: str) -> bytes:
    from weasyprint import HTML

    # The screen CSS (media queries, scrolling tables) is not for paper: no warnings for it.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    html = render_html(report, lang, medium="print")
    pdf: bytes = HTML(string=html).write_pdf()
    return pdf

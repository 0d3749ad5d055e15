"""The report as an A4 PDF: the HTML with print CSS, laid out by WeasyPrint, CJK font embedded.

The font is named explicitly (:mod:`winback.reporting.fonts`) and the PDF is checked before it
is returned: a PDF without the Chinese font embedded raises
:class:`~winback.reporting.fonts.MissingCJKFont` instead of reaching a reader as empty boxes.
"""

from __future__ import annotations

import logging
from typing import Any

from winback.reporting.fonts import CJKFont, check_pdf, find_font
from winback.reporting.render_html import render_html


def html_to_pdf(html: str, lang: str, font: CJKFont | None = None) -> bytes:
    """Lay out ``html`` with the CJK font and check the result."""
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    # The screen CSS (media queries, scrolling tables) is not for paper: no warnings for it.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    font = font or find_font()
    fonts = FontConfiguration()
    face = CSS(string=font.css(), font_config=fonts)
    pdf: bytes = HTML(string=html).write_pdf(stylesheets=[face], font_config=fonts)
    check_pdf(pdf, lang, font)
    return pdf


def render_pdf(report: dict[str, Any], lang: str) -> bytes:
    html = render_html(report, lang, medium="print")
    return html_to_pdf(html, lang)

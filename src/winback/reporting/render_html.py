"""The report as one self-contained HTML page: inline CSS, inline SVG charts, no requests."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

import jinja2
import polars as pl

from winback.reporting.charts import chart_svgs
from winback.reporting.tables import (
    PERCENT_COLUMNS,
    POINT_COLUMNS,
    header,
    localised,
    section_tables,
    sheet_title,
)
from winback.reporting.text import SECTIONS, label, num, pct, points, sentences, title

MAX_ROWS = 40
# Tables too wide for a page show their key columns; the workbook keeps every column.
DISPLAY_COLUMNS = {
    "rounds": (
        "round",
        "simulated",
        "horizon",
        "matured",
        "n_treated",
        "n_control",
        "return_diff",
        "return_low",
        "return_high",
        "net",
        "net_low",
        "net_high",
        "roi",
        "roi_low",
        "roi_high",
    ),
    "looks": (
        "round",
        "horizon",
        "primary",
        "matured",
        "p_treated",
        "p_control",
        "uplift",
        "uplift_low",
        "uplift_high",
    ),
}


def _environment() -> jinja2.Environment:
    loader = jinja2.FunctionLoader(
        lambda name: files("winback.reporting").joinpath("templates", name).read_text("utf-8")
    )
    return jinja2.Environment(loader=loader, autoescape=True)


def css(medium: str) -> str:
    base = files("winback.reporting").joinpath("templates", "report.css").read_text("utf-8")
    if medium == "print":
        base += files("winback.reporting").joinpath("templates", "print.css").read_text("utf-8")
    return base


def cell(column: str, value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "✓" if value else ""
    if column in PERCENT_COLUMNS and isinstance(value, float):
        return pct(value)
    if column in POINT_COLUMNS and isinstance(value, float):
        return points(value)
    if isinstance(value, float):
        if value.is_integer() and column not in ("roi", "roi_low", "roi_high"):
            return f"{value:,.0f}"
        return f"{value:,.2f}" if abs(value) < 100 else num(value)
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def display_table(frame: pl.DataFrame, lang: str, report: dict[str, Any]) -> dict[str, Any]:
    """Headers and formatted cells (percent columns as percentages) of a table."""
    shown = localised(frame, lang, report)
    rows = [
        [cell(col, value) for col, value in zip(frame.columns, row, strict=True)]
        for row in shown.head(MAX_ROWS).iter_rows()
    ]
    metric_percent = "metric" in frame.columns
    if metric_percent:  # key/value tables: format by the row's metric code
        codes = frame["metric"].to_list()
        rows = [
            [r[0], cell(code if code in PERCENT_COLUMNS else "", v)]
            for r, code, v in zip(rows, codes, frame["value"].to_list(), strict=True)
        ]
    return {
        "headers": [header(c, lang) for c in frame.columns],
        "rows": rows,
        "more": max(0, frame.height - MAX_ROWS),
        "numeric": [frame.schema[c].is_numeric() for c in frame.columns],
    }


def render_html(report: dict[str, Any], lang: str, *, medium: str = "screen") -> str:
    """The whole report in ``lang`` ("zh" or "en"); ``medium="print"`` adds the A4 CSS."""
    svgs = chart_svgs(report, lang)
    words = sentences(report, lang)
    tables = section_tables(report)
    sections = [
        {
            "code": code,
            "title": title(code, lang),
            "sentences": words[code],
            "svg": svgs.get(code),
            "simulated": code in report["simulated_sections"],
            "tables": [
                {
                    "title": sheet_title(name, lang),
                    **display_table(
                        frame.select(DISPLAY_COLUMNS.get(name, frame.columns)), lang, report
                    ),
                }
                for name, frame in tables[code]
            ],
        }
        for code in SECTIONS
    ]
    template = _environment().get_template("report.html")
    return template.render(
        lang=lang,
        html_lang="zh-CN" if lang == "zh" else "en",
        title=title("report", lang),
        month=report["month"],
        as_of=report["as_of"].isoformat(),
        industry=label(report["industry"], lang),
        simulated=bool(report["simulated_sections"]),
        simulated_label=title("simulated", lang),
        sections=sections,
        css=css(medium),
        print=medium == "print",
        toc=(lang == "zh" and "目录") or "Contents",
        generated=(lang == "zh" and "分析日期") or "Analysis as of",
        note=_note(lang) if report["simulated_sections"] else "",
    )


def _note(lang: str) -> str:
    if lang == "zh":
        return (
            "本报告中的坐席联系、流失原因及其带来的回购均为演示用的模拟数据，"
            "阶段和趋势数字也包含这些回购。"
        )
    return (
        "Agent contacts, the reasons they recorded and the return purchases they brought are "
        "simulated demo data; stage and trend figures include those purchases."
    )

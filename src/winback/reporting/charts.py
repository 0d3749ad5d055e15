"""One Vega-Lite chart per report section, built with Altair and rendered to SVG offline.

Every chart reads only the report structure of :mod:`winback.reporting.metrics`; labels are
translated before plotting, so the same definition serves zh and en. ``vl-convert`` renders
without a browser or network.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html import escape
from typing import Any

import altair as alt
import polars as pl
import vl_convert as vlc

from winback.reporting.text import TITLES, currency_unit, label, title

FONT = "Noto Sans CJK SC"
# Drawn for a phone (the SVG is about 400 px wide: at a 390 px screen it is shown at about
# 90 %, so 14 px labels read at 12 px or more) and scaled up to the column on a wider screen:
# the SVG keeps its viewBox and loses its fixed width and height (CSS sets width: 100%).
WIDTH = 300
HEIGHT = 200
FONT_SIZE = 14
ROOT_SIZE = re.compile(r'^(<svg\b[^>]*?)\s+width="[\d.]+"\s+height="[\d.]+"')
BLUE, ORANGE, GREY, RED, GREEN = "#2f6db5", "#e08a2c", "#9aa5b1", "#c2413b", "#3a9a5b"

Chart = Any  # Altair charts are untyped
ChartFn = Callable[[dict[str, Any], str], Chart | None]


def to_svg(chart: Chart, description: str = "") -> str:
    """The chart as a responsive SVG: a viewBox and no fixed size, labels of at least
    ``FONT_SIZE`` px, and no machine-made ARIA text (Vega writes English descriptions with the
    data's column names, "X-axis for a discrete scale ...", into every mark); ``description``
    is the chart's accessible name, in the reader's language."""
    # Legends below the plot leave the full width to the data on a phone.
    spec = (
        chart.configure(font=FONT, aria=False)
        .configure_view(stroke=None)
        .configure_axis(labelFontSize=FONT_SIZE, titleFontSize=FONT_SIZE)
        .configure_legend(
            orient="bottom",
            columns=2,  # a legend wraps instead of widening the chart past a phone screen
            labelLimit=150,
            labelFontSize=FONT_SIZE,
            titleFontSize=FONT_SIZE,
        )
        .configure_header(labelFontSize=FONT_SIZE, titleFontSize=FONT_SIZE)
        .configure_title(fontSize=FONT_SIZE + 1)
        .to_dict()
    )
    svg: str = vlc.vegalite_to_svg(spec)
    svg = ROOT_SIZE.sub(r"\1", svg, count=1)
    if description:
        label_attrs = f' role="img" aria-label="{escape(description)}"'
        svg = svg.replace("<svg ", f"<svg{label_attrs} ", 1)
    return svg


def _t(frame: pl.DataFrame, column: str, lang: str) -> pl.DataFrame:
    """Replace codes in ``column`` by their labels in ``lang``."""
    codes = frame[column].unique().to_list()
    return frame.with_columns(
        pl.col(column).replace_strict({c: label(str(c), lang) for c in codes}, default=None)
    )


def _with_unit(title: str, currency: str, lang: str) -> str:
    """ "人均消费（元）" in Chinese (full-width brackets), "Spend (CNY)" in English."""
    unit = currency_unit(currency, lang)
    return f"{title}（{unit}）" if lang == "zh" else f"{title} ({unit})"


def _base(frame: pl.DataFrame) -> Chart:
    return alt.Chart(frame).properties(width=WIDTH, height=HEIGHT)


def verdict_chart(r: dict[str, Any], lang: str) -> Chart | None:
    """The pooled net margin (incremental margin minus cost) with its always-valid interval."""
    v = r["verdict"]
    if not v["rounds"] or v["net"] is None or v["net_low"] is None:
        return None
    frame = pl.DataFrame(
        {
            "what": [label("net", lang)],
            "net": [v["net"]],
            "low": [v["net_low"]],
            "high": [v["net_high"]],
        }
    )
    colour = GREEN if v["decision"] == "continue" else RED if v["decision"] == "stop" else GREY
    base = _base(frame).encode(y=alt.Y("what:N", title=None))
    rule = base.mark_rule(strokeWidth=3, color=colour).encode(
        x=alt.X("low:Q", title=currency_unit(r["currency"], lang)), x2="high:Q"
    )
    point = base.mark_point(filled=True, size=90, color=colour).encode(x="net:Q")
    zero = (
        alt.Chart(pl.DataFrame({"z": [0]}))
        .mark_rule(color="#555", strokeDash=[4, 3])
        .encode(x="z:Q")
    )
    return (rule + point + zero).properties(height=80)


def kpi_chart(r: dict[str, Any], lang: str) -> Chart | None:
    k: pl.DataFrame = r["kpis"].filter(pl.col("kpi") != "customers")
    cols = [c for c in ("year_ago", "previous", "value") if k[c].null_count() < k.height]
    long = k.unpivot(index="kpi", on=cols, variable_name="when", value_name="customers")
    long = _t(_t(long, "kpi", lang), "when", lang)
    order = [label(c, lang) for c in cols]
    return (
        _base(long)
        .mark_bar()
        .encode(
            x=alt.X("kpi:N", title=None, sort=None, axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("when:N", sort=order),
            y=alt.Y("customers:Q", title=None),
            color=alt.Color(
                "when:N",
                sort=order,
                title=None,
                scale=alt.Scale(domain=order, range=[GREY, ORANGE, BLUE][-len(order) :]),
            ),
        )
    )


def stage_chart(r: dict[str, Any], lang: str) -> Chart | None:
    frame: pl.DataFrame = r["stages"]
    if frame.height == 0:
        return None
    order = [label(s, lang) for s in ("prospect", "active", "silent", "sleeping", "lost")]
    return (
        _base(_t(frame.drop("as_of"), "stage", lang))
        .mark_bar()
        .encode(
            x=alt.X("month:O", title=None),
            y=alt.Y("customers:Q", title=None, stack="zero"),
            color=alt.Color(
                "stage:N",
                sort=order,
                title=None,
                scale=alt.Scale(domain=order, range=["#c6d3e3", GREEN, "#f2c14e", ORANGE, RED]),
            ),
            order=alt.Order("order:Q"),
        )
        .transform_calculate(order=f"indexof({order}, datum.stage)")
    )


def _heatmap(frame: pl.DataFrame, lang: str, order: list[str]) -> Chart | None:
    if frame.height == 0:
        return None
    t = _t(_t(frame, "from", lang), "to", lang)
    labels = [label(s, lang) for s in order]
    base = _base(t).encode(
        x=alt.X("to:N", sort=labels, title=label("to", lang), axis=alt.Axis(labelAngle=0)),
        y=alt.Y("from:N", sort=labels, title=label("from", lang)),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("customers:Q", scale=alt.Scale(scheme="blues"), legend=None)
    )
    text = base.mark_text(fontSize=FONT_SIZE).encode(
        text="customers:Q",
        color=alt.condition("datum.customers > 200", alt.value("white"), alt.value("#222")),
    )
    return cells + text


def flow_chart(r: dict[str, Any], lang: str) -> Chart | None:
    return _heatmap(r["flows"], lang, ["new", "prospect", "active", "silent", "sleeping", "lost"])


def lost_won_chart(r: dict[str, Any], lang: str) -> Chart | None:
    frame: pl.DataFrame = r["lost_won"]
    if frame.height == 0:
        return None
    long = frame.with_columns(newly_lost=-pl.col("newly_lost")).unpivot(
        index="month", on=["won_back", "newly_lost"], variable_name="what", value_name="customers"
    )
    order = [label("won_back", lang), label("newly_lost", lang)]
    bars = (
        _base(_t(long, "what", lang))
        .mark_bar()
        .encode(
            x=alt.X("month:O", title=None),
            y=alt.Y("customers:Q", title=None),
            color=alt.Color(
                "what:N", sort=order, title=None, scale=alt.Scale(domain=order, range=[GREEN, RED])
            ),
        )
    )
    net = (
        _base(frame.with_columns(what=pl.lit(label("net", lang))))
        .mark_line(point=True, color="#222")
        .encode(x="month:O", y="net:Q")
    )
    return bars + net


def rounds_chart(r: dict[str, Any], lang: str) -> Chart | None:
    """Each round's uplift at every look; the looks before the pre-registered horizon are
    progress, faded points have not matured yet."""
    frame: pl.DataFrame = r["looks"].filter(pl.col("uplift").is_not_null())
    if frame.height == 0:
        return None
    progress = label("progress", lang)
    frame = frame.with_columns(
        days=pl.when(pl.col("primary"))
        .then(pl.format("+{}", pl.col("horizon")))
        .otherwise(pl.format("+{} ({})", pl.col("horizon"), pl.lit(progress))),
    ).select("round", "days", "uplift", "uplift_low", "uplift_high", "matured")
    base = _base(frame).encode(
        x=alt.X("round:O", title=None, axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("days:N"),
        color=alt.Color("days:N", title=label("horizon", lang)),
    )
    rules = base.mark_rule(strokeWidth=2).encode(
        y=alt.Y("uplift_low:Q", axis=alt.Axis(format="%", title=label("uplift", lang))),
        y2="uplift_high:Q",
    )
    points = base.mark_point(filled=True, size=50).encode(
        y="uplift:Q", opacity=alt.condition("datum.matured", alt.value(1.0), alt.value(0.35))
    )
    zero = (
        alt.Chart(pl.DataFrame({"z": [0]}))
        .mark_rule(color="#555", strokeDash=[4, 3])
        .encode(y="z:Q")
    )
    return rules + points + zero


def lift_chart(r: dict[str, Any], lang: str) -> Chart | None:
    frame: pl.DataFrame = r["lift"]
    if frame.height == 0:
        return None
    long = frame.select("round", treated="spend_treated", control="spend_control").unpivot(
        index="round", variable_name="arm", value_name="spend"
    )
    order = [label("treated", lang), label("control", lang)]
    return (
        _base(_t(long, "arm", lang))
        .mark_bar()
        .encode(
            x=alt.X("round:O", title=None, axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("arm:N", sort=order),
            y=alt.Y("spend:Q", title=_with_unit(label("spend", lang), r["currency"], lang)),
            color=alt.Color(
                "arm:N", sort=order, title=None, scale=alt.Scale(domain=order, range=[BLUE, GREY])
            ),
        )
    )


def reasons_chart(r: dict[str, Any], lang: str) -> Chart | None:
    stats: pl.DataFrame = r["reasons"]["stats"]
    if stats.height == 0:
        return None
    taxonomy = r["taxonomy"]
    long = (
        stats.with_columns(
            reason=pl.col("code").replace_strict(
                {c: taxonomy.label(c, lang) for c in stats["code"].to_list()}
            )
        )
        .select("reason", value="share", previous="prev_share")
        .unpivot(index="reason", variable_name="when", value_name="share")
    )
    order = [label("value", lang), label("previous", lang)]
    sort = stats.sort("count", descending=True)["code"].to_list()
    return (
        _base(_t(long, "when", lang))
        .mark_bar()
        .encode(
            y=alt.Y("reason:N", title=None, sort=[taxonomy.label(c, lang) for c in sort]),
            yOffset=alt.YOffset("when:N", sort=order),
            x=alt.X("share:Q", axis=alt.Axis(format="%", title=label("share", lang))),
            color=alt.Color(
                "when:N", sort=order, title=None, scale=alt.Scale(domain=order, range=[BLUE, GREY])
            ),
        )
        .properties(height=max(120, 18 * stats.height))
    )


def tier_chart(r: dict[str, Any], lang: str) -> Chart | None:
    frame: pl.DataFrame = r["tiers"]["matrix"]
    return _heatmap(frame, lang, ["new", "1", "2", "3", "4", "5", "none"])


def pareto_chart(r: dict[str, Any], lang: str) -> Chart | None:
    table: pl.DataFrame = r["pareto"]["table"]
    if not r["pareto"]["buyers"]:
        return None
    frame = table.with_columns(
        top=pl.format("{}%", (pl.col("top_share") * 100).round(0).cast(pl.Int64))
    )
    bars = (
        _base(frame)
        .mark_bar(color=BLUE)
        .encode(
            x=alt.X(
                "top:N", sort=None, title=label("top_share", lang), axis=alt.Axis(labelAngle=0)
            ),
            y=alt.Y(
                "revenue_share:Q", axis=alt.Axis(format="%", title=label("revenue_share", lang))
            ),
        )
    )
    return bars + bars.mark_text(dy=-6).encode(text=alt.Text("revenue_share:Q", format=".0%"))


def early_warning_chart(r: dict[str, Any], lang: str) -> Chart | None:
    e = r["early_warning"]
    if not e["available"] or not e["flagged"]:
        return None
    frame = pl.DataFrame(
        {
            "group": [label("flagged", lang), label("base", lang)],
            "rate": [e["precision"], e["base_rate"]],
        }
    )
    bars = (
        _base(frame)
        .mark_bar(size=40)
        .encode(
            y=alt.Y("group:N", title=None, sort=None),
            x=alt.X("rate:Q", axis=alt.Axis(format="%", title=label("lapsed_rate", lang))),
            color=alt.Color(
                "group:N",
                legend=None,
                scale=alt.Scale(domain=frame["group"].to_list(), range=[ORANGE, GREY]),
            ),
        )
    )
    return (
        bars + bars.mark_text(align="left", dx=4).encode(text=alt.Text("rate:Q", format=".1%"))
    ).properties(height=110)


def agents_chart(r: dict[str, Any], lang: str) -> Chart | None:
    table: pl.DataFrame = r["agents"]["table"]
    if table.height == 0:
        return None
    long = table.with_columns(not_reached=pl.col("contacts") - pl.col("reached")).unpivot(
        index="agent", on=["reached", "not_reached"], variable_name="what", value_name="n"
    )
    order = [label("reached", lang), label("not_reached", lang)]
    return (
        _base(_t(long, "what", lang))
        .mark_bar()
        .encode(
            y=alt.Y("agent:N", title=None, sort=table["agent"].to_list()),
            x=alt.X("n:Q", title=label("contacts", lang), stack="zero"),
            color=alt.Color(
                "what:N", sort=order, title=None, scale=alt.Scale(domain=order, range=[GREEN, GREY])
            ),
        )
        .properties(height=max(100, 22 * table.height))
    )


def roi_chart(r: dict[str, Any], lang: str) -> Chart | None:
    """Each round's net margin (incremental margin minus cost) with its interval; faded rounds
    have not reached their pre-registered horizon yet."""
    frame: pl.DataFrame = r["roi"].filter(pl.col("net_low").is_not_null())
    if frame.height == 0:
        return None
    frame = frame.select("round", "net", "net_low", "net_high", "matured")
    base = _base(frame).encode(x=alt.X("round:O", title=None, axis=alt.Axis(labelAngle=0)))
    rules = base.mark_rule(strokeWidth=2, color=BLUE).encode(
        y=alt.Y("net_low:Q", title=_with_unit(label("net", lang), r["currency"], lang)),
        y2="net_high:Q",
    )
    points = base.mark_point(filled=True, size=50, color=BLUE).encode(
        y="net:Q", opacity=alt.condition("datum.matured", alt.value(1.0), alt.value(0.35))
    )
    zero = (
        alt.Chart(pl.DataFrame({"z": [0]}))
        .mark_rule(color="#555", strokeDash=[4, 3])
        .encode(y="z:Q")
    )
    return rules + points + zero


def audit_chart(r: dict[str, Any], lang: str) -> Chart | None:
    table: pl.DataFrame = r["audit"]["table"]
    if table.height == 0:
        return None
    frame = _t(table.select("indicator", "auc", "recommendation"), "recommendation", lang)
    order = [label("keep", lang), label("drop", lang)]
    return (
        _base(frame)
        .mark_bar()
        .encode(
            y=alt.Y("indicator:N", title=None, sort=table["indicator"].to_list()),
            x=alt.X(
                "auc:Q",
                title="AUC",
                scale=alt.Scale(domain=[0.0, 1.0]),
                axis=alt.Axis(format=".2f"),
            ),
            color=alt.Color(
                "recommendation:N",
                sort=order,
                title=None,
                scale=alt.Scale(domain=order, range=[BLUE, GREY]),
            ),
        )
        .properties(height=max(100, 20 * table.height))
    )


def quality_chart(r: dict[str, Any], lang: str) -> Chart | None:
    table: pl.DataFrame = r["quality"]["by_cause"]
    if table.height == 0:
        return None
    frame = _t(table, "cause", lang)
    bars = (
        _base(frame)
        .mark_bar(color=RED)
        .encode(
            y=alt.Y("cause:N", title=None, sort=None),
            x=alt.X("rows:Q", title=label("rejected", lang)),
        )
    )
    return (bars + bars.mark_text(align="left", dx=3).encode(text="rows:Q")).properties(
        height=max(80, 24 * table.height)
    )


CHARTS: dict[str, ChartFn] = {
    "verdict": verdict_chart,
    "kpis": kpi_chart,
    "stages": stage_chart,
    "flows": flow_chart,
    "lost_won": lost_won_chart,
    "rounds": rounds_chart,
    "lift": lift_chart,
    "reasons": reasons_chart,
    "tiers": tier_chart,
    "pareto": pareto_chart,
    "early_warning": early_warning_chart,
    "agents": agents_chart,
    "roi": roi_chart,
    "audit": audit_chart,
    "quality": quality_chart,
}


def chart_svgs(report: dict[str, Any], lang: str) -> dict[str, str]:
    """The SVG of every section that has something to draw."""
    out: dict[str, str] = {}
    for section, build in CHARTS.items():
        chart = build(report, lang)
        if chart is not None:
            name = title(section, lang) if section in TITLES else ""
            out[section] = to_svg(chart, name)
    return out

"""The tables behind every chart, with codes and headers translated for people.

The HTML and PDF show them under each chart; the workbook has one sheet per table.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from winback.reporting.text import label, title

PERCENT_COLUMNS = frozenset(
    {
        "p_treated",
        "p_control",
        "uplift",
        "uplift_low",
        "uplift_high",
        "return_diff",
        "return_low",
        "return_high",
        "holdout_rate",
        "rest_rate",
        "difference",
        "low",
        "high",
        "share",
        "random_share",
        "prev_share",
        "reach_rate",
        "reject_rate",
        "revenue_share",
        "top_share",
        "re_engaged_treated",
        "re_engaged_control",
        "department_share",
        "rate",
        "precision",
        "base_rate",
        "recall",
        "offer_redemption_rate",
        "category_match_rate",
        "redemption_rate",
        "came_back_rate",
    }
)
POINT_COLUMNS = frozenset({"change"})
HEADERS: dict[str, tuple[str, str]] = {
    "p_treated": ("Treated rate", "干预组比例"),
    "p_control": ("Control rate", "对照组比例"),
    "uplift_low": ("Uplift low", "提升下限"),
    "uplift_high": ("Uplift high", "提升上限"),
    "n_treated": ("Treated", "干预组人数"),
    "n_control": ("Control", "对照组人数"),
    "returned_treated": ("Treated returned", "干预组回购"),
    "returned_control": ("Control returned", "对照组回购"),
    "matured": ("Matured", "已到期"),
    "simulated": ("Simulated", "模拟"),
    "spend_treated": ("Spend treated", "干预组人均消费"),
    "spend_control": ("Spend control", "对照组人均消费"),
    "revenue_uplift": ("Spend uplift", "消费提升"),
    "revenue_uplift_low": ("Spend uplift low", "消费提升下限"),
    "revenue_uplift_high": ("Spend uplift high", "消费提升上限"),
    "re_engaged_treated": ("Re-engaged treated", "干预组重新互动"),
    "re_engaged_control": ("Re-engaged control", "对照组重新互动"),
    "incremental_margin": ("Incremental margin", "增量毛利"),
    "primary": ("Pre-registered horizon", "预先登记时点"),
    "matured_on": ("Matures on", "到期日"),
    "return_diff": ("Return-rate uplift", "回购率提升"),
    "return_low": ("Uplift low", "提升下限"),
    "return_high": ("Uplift high", "提升上限"),
    "return_var": ("Uplift variance", "提升方差"),
    "revenue_diff": ("Revenue per customer uplift", "人均消费提升"),
    "revenue_low": ("Revenue uplift low", "消费提升下限"),
    "revenue_high": ("Revenue uplift high", "消费提升上限"),
    "revenue_var": ("Revenue uplift variance", "消费提升方差"),
    "revenue_diff_unadjusted": ("Revenue uplift, unadjusted", "消费提升（未校正）"),
    "revenue_low_unadjusted": ("Unadjusted low", "未校正下限"),
    "revenue_high_unadjusted": ("Unadjusted high", "未校正上限"),
    "revenue_var_unadjusted": ("Unadjusted variance", "未校正方差"),
    "cuped": ("CUPED", "CUPED 校正"),
    "gross_margin": ("Gross margin", "毛利率"),
    "margin_low": ("Margin low", "毛利下限"),
    "margin_high": ("Margin high", "毛利上限"),
    "net_low": ("Net low", "净额下限"),
    "net_high": ("Net high", "净额上限"),
    "roi_low": ("ROI low", "投资回报率下限"),
    "roi_high": ("ROI high", "投资回报率上限"),
    "interval_method": ("Interval method", "区间方法"),
    "prev_count": ("Last month", "上月"),
    "prev_share": ("Share last month", "上月占比"),
    "count": ("This month", "本月"),
    "code": ("Reason", "原因"),
    "group": ("Group", "类别"),
    "department_rank": ("Rank", "排名"),
    "department_count": ("Department total", "部门合计"),
    "department_share": ("Department share", "部门占比"),
    "reason_code": ("Reason", "原因"),
    "used": ("Used", "使用"),
    "reasons": ("Why", "说明"),
    "as_of": ("As of", "分析日期"),
    "metric": ("Figure", "指标"),
    "rate": ("Rate", "比例"),
    "reviews": ("Quality reviews", "质检条数"),
    "avg_rating": ("Average rating (1-5)", "平均质检评分（1-5）"),
    "offer_redemption_rate": ("Offer redeemed", "优惠核销率"),
    "category_match_rate": ("Category matched", "品类匹配率"),
    "offer_code": ("Offer", "优惠"),
    "presented": ("Presented", "介绍人数"),
    "redeemed": ("Redeemed", "核销"),
    "came_back": ("Came back", "回购"),
    "redemption_rate": ("Redemption rate", "核销率"),
    "came_back_rate": ("Came-back rate", "回购率"),
    "option_margin": ("Margin net of redeemed offers", "扣除核销优惠后毛利"),
    "option_margin_per_presented": ("Margin per customer presented", "每位介绍客户毛利"),
    "tier": ("Tier", "等级"),
    "policy": ("Targeting policy", "目标选择策略"),
    "model_version": ("Model version", "模型版本"),
    "random_share": ("Random share", "随机比例"),
    "selected_by": ("Chosen", "选择方式"),
    "known": ("Known (enough controls)", "可判断（对照组足够）"),
}


def header(column: str, lang: str) -> str:
    pair = HEADERS.get(column)
    if pair:
        return pair[1] if lang == "zh" else pair[0]
    return label(column, lang)


def section_tables(report: dict[str, Any]) -> dict[str, list[tuple[str, pl.DataFrame]]]:
    """Section -> [(table code, frame with code values)], in report order."""
    v = report["verdict"]
    e = report["early_warning"]
    verdict_rows = [
        (k, v.get(k))
        for k in (
            "rounds",
            "rounds_total",
            "n_treated",
            "n_control",
            "return_diff",
            "return_low",
            "return_high",
            "revenue_diff",
            "revenue_low",
            "revenue_high",
            "incremental_margin",
            "cost",
            "net",
            "net_low",
            "net_high",
            "roi",
            "roi_low",
            "roi_high",
            "needed_controls",
            "needed_treated",
            "months_needed",
        )
    ]
    ew_rows = [
        (k, e.get(k))
        for k in (
            "flagged",
            "flagged_lapsed",
            "precision",
            "base_customers",
            "base_lapsed",
            "base_rate",
            "lift",
        )
        if e.get("available")
    ]
    h = report.get("programme_holdout")
    holdout_rows = (
        [
            (k, h[k])
            for k in (
                "share",
                "holdout_customers",
                "holdout_rate",
                "rest_customers",
                "rest_rate",
                "difference",
                "low",
                "high",
            )
        ]
        if h is not None
        else []
    )
    return {
        "verdict": [("verdict", _pairs(verdict_rows))]
        + ([("programme_holdout", _pairs(holdout_rows))] if holdout_rows else []),
        "kpis": [("kpis", report["kpis"])],
        "stages": [("stages", _wide_stages(report["stages"]))],
        "flows": [("flows", _wide_flow(report["flows"]))],
        "lost_won": [("lost_won", report["lost_won"])],
        "rounds": [
            ("rounds", report["rounds"].drop("round_id")),
            ("looks", report["looks"].drop("round_id")),
            ("targeting", report["targeting"].drop("round_id")),
        ],
        "lift": [("lift", report["lift"])],
        "reasons": [
            ("reasons", report["reasons"]["stats"]),
            ("actions", report["reasons"]["actions"]),
        ],
        "tiers": [("tiers", _wide_flow(report["tiers"]["matrix"]))],
        "pareto": [("pareto", report["pareto"]["table"])],
        "early_warning": [("early_warning", _pairs(ew_rows))],
        "agents": [
            ("agents", report["agents"]["table"]),
            ("outcomes", report["agents"]["outcomes"]),
        ],
        "roi": [("roi", report["roi"])],
        "offers": [("offers", report["offers"])],
        "audit": [("audit", report["audit"]["table"])],
        "quality": [
            ("quality_causes", report["quality"]["by_cause"]),
            ("quality_files", report["quality"]["by_kind"]),
        ],
    }


def _wide_stages(stages: pl.DataFrame) -> pl.DataFrame:
    """Month rows, one column per stage (the long form is what the chart reads)."""
    if stages.height == 0:
        return stages.drop("as_of")
    return stages.pivot(on="stage", index="month", values="customers", sort_columns=False)


def _wide_flow(flow: pl.DataFrame) -> pl.DataFrame:
    """A flow as a matrix: one row per value before, one column per value now."""
    if flow.height == 0:
        return flow
    return flow.pivot(on="to", index="from", values="customers", sort_columns=False).fill_null(0)


def _pairs(rows: list[tuple[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "metric": [k for k, _ in rows],
            "value": [None if x is None else float(x) for _, x in rows],
        },
        schema={"metric": pl.String(), "value": pl.Float64()},
    )


TRANSLATED_VALUES = (
    "kpi",
    "stage",
    "from",
    "to",
    "cause",
    "outcome",
    "department",
    "recommendation",
    "metric",
    "policy",
    "selected_by",
)


def localised(frame: pl.DataFrame, lang: str, report: dict[str, Any]) -> pl.DataFrame:
    """Codes in label columns replaced by words; headers translated; values kept numeric."""
    taxonomy = report["taxonomy"]
    playbooks = report["playbooks"]
    exprs = []
    for col in frame.columns:
        if col in TRANSLATED_VALUES and frame.schema[col] == pl.String():
            values = frame[col].drop_nulls().unique().to_list()
            mapping = {
                c: _metric_label(c, lang) if col == "metric" else label(c, lang) for c in values
            }
            exprs.append(pl.col(col).replace_strict(mapping, default=None))
        elif col == "group" and frame.schema[col] == pl.String():
            groups = {g.code: (g.zh if lang == "zh" else g.en) for g in taxonomy.groups}
            exprs.append(pl.col(col).replace(groups))
        elif col in ("code", "reason_code") and frame.schema[col] == pl.String():
            values = frame[col].drop_nulls().unique().to_list()
            exprs.append(
                pl.col(col).replace_strict(
                    {c: taxonomy.label(c, lang) for c in values}, default=None
                )
            )
        elif col == "action":
            values = frame[col].drop_nulls().unique().to_list()
            exprs.append(
                pl.col(col).replace_strict(
                    {c: playbooks.action_text(c, lang) for c in values}, default=None
                )
            )
        else:
            exprs.append(pl.col(col))
    out = frame.select(exprs) if exprs else frame
    return out.rename({c: header(c, lang) for c in out.columns})


METRICS: dict[str, tuple[str, str]] = {
    "rounds": ("Matured rounds", "到期轮次"),
    "rounds_total": ("Rounds", "轮次"),
    "n_treated": ("Treated customers", "干预组客户"),
    "n_control": ("Control customers", "对照组客户"),
    "net": ("Net (margin - cost)", "净额（毛利-成本）"),
    "needed_controls": ("More control customers needed", "还需对照组客户"),
    "needed_treated": ("More treated customers needed", "还需干预组客户"),
    "months_needed": ("Months at the current pace", "按目前进度所需月数"),
    "holdout_customers": ("Global holdout customers", "全局保留组客户"),
    "holdout_rate": ("Holdout came back", "保留组回购率"),
    "rest_customers": ("Rest of the eligible base", "其余可挽回客户"),
    "rest_rate": ("Rest came back", "其余客户回购率"),
    "difference": ("Difference", "差异"),
    "low": ("Interval low", "区间下限"),
    "high": ("Interval high", "区间上限"),
    "flagged_lapsed": ("Flagged and lost since", "预警后流失"),
    "precision": ("Precision", "准确率"),
    "base_customers": ("Customers not lost last month", "上月未流失客户"),
    "base_lapsed": ("Lost since", "此后流失"),
    "base_rate": ("Base rate", "基准比例"),
    "lift": ("Lift over base", "相对基准倍数"),
}


def _metric_label(code: str, lang: str) -> str:
    pair = METRICS.get(code) or HEADERS.get(code)
    if pair:
        return pair[1] if lang == "zh" else pair[0]
    return label(code, lang)


def sheet_title(code: str, lang: str) -> str:
    extra = {
        "outcomes": ("Contact outcomes", "联系结果"),
        "looks": ("Looks at +30/+60/+90 days", "+30/+60/+90 天查看（进度）"),
        "programme_holdout": ("Programme vs global holdout", "项目整体与全局保留组"),
        "targeting": (
            "Targeting policies: chosen by priority vs at random",
            "目标选择策略：按优先级与随机选择",
        ),
        "quality_causes": ("Rejected by cause", "按原因拒绝"),
        "quality_files": ("Rejected by file", "按文件拒绝"),
    }
    if code in extra:
        return extra[code][1] if lang == "zh" else extra[code][0]
    return title(code, lang)

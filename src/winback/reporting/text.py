"""Section titles, labels and the sentences computed from the report's numbers (zh and en).

Every sentence is a template filled with the section's figures and the comparison they
support (up or down, inside or outside the interval), so the words change with the data.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from winback.programme.playbooks import Playbooks
from winback.programme.taxonomy import Taxonomy

SECTIONS = (
    "verdict",
    "kpis",
    "stages",
    "flows",
    "lost_won",
    "rounds",
    "lift",
    "reasons",
    "tiers",
    "pareto",
    "early_warning",
    "agents",
    "roi",
    "offers",
    "audit",
    "quality",
)

TITLES: dict[str, tuple[str, str]] = {
    "report": ("Monthly win-back report", "客户挽回月度报告"),
    "verdict": ("Verdict", "结论"),
    "kpis": ("Headline figures", "核心指标"),
    "stages": ("Customers by lifecycle stage", "生命周期阶段客户数"),
    "flows": ("Stage-to-stage flows this month", "本月阶段流转"),
    "lost_won": ("Newly lost vs won back", "新流失与挽回"),
    "rounds": ("Rounds: treated vs control", "挽回轮次：干预组与对照组"),
    "lift": ("Spend and engagement of the won-back", "挽回客户的消费与互动提升"),
    "reasons": ("Why customers leave", "流失原因"),
    "tiers": ("Value tier movements", "价值等级变动"),
    "pareto": ("80/20: revenue concentration", "二八分析：收入集中度"),
    "early_warning": ("Early-warning precision", "预警准确率"),
    "agents": ("Agent effort and quality", "坐席工作量与质量"),
    "roi": ("Cost vs incremental margin", "成本与增量毛利"),
    "offers": ("Offers: results per option", "优惠：各选项效果"),
    "audit": ("Indicator audit", "指标审计"),
    "quality": ("Data quality", "数据质量"),
    "simulated": ("SIMULATED (demo data)", "模拟数据（演示）"),
    "actions": ("Department action list", "部门行动清单"),
}

LABELS: dict[str, tuple[str, str]] = {
    "prospect": ("Prospect", "潜在客户"),
    "active": ("Active", "活跃"),
    "silent": ("Silent", "沉默"),
    "sleeping": ("Sleeping", "沉睡"),
    "lost": ("Lost", "流失"),
    "new": ("New", "新增"),
    "none": ("None", "无"),
    "customers": ("Customers", "客户总数"),
    "at_risk": ("At risk", "有流失风险"),
    "early_warning": ("Early warnings", "预警客户"),
    "treated": ("Treated", "干预组"),
    "control": ("Control", "对照组"),
    "newly_lost": ("Newly lost", "新流失"),
    "won_back": ("Won back", "挽回"),
    "net": ("Net", "净变化"),
    "kpi": ("Figure", "指标"),
    "value": ("This month", "本月"),
    "previous": ("Last month", "上月"),
    "year_ago": ("12 months ago", "去年同期"),
    "change_previous": ("vs last month", "环比"),
    "change_year": ("vs 12 months ago", "同比"),
    "month": ("Month", "月份"),
    "stage": ("Stage", "阶段"),
    "from": ("From", "原"),
    "to": ("To", "现"),
    "round": ("Round", "轮次"),
    "horizon": ("Days", "天数"),
    "uplift": ("Uplift", "提升"),
    "spend": ("Spend per customer", "人均消费"),
    "re_engaged": ("Re-engaged", "重新互动"),
    "agent": ("Agent", "坐席"),
    "contacts": ("Contacts", "联系次数"),
    "reached": ("Reached", "接通"),
    "reach_rate": ("Reach rate", "接通率"),
    "refused": ("Refused", "拒绝"),
    "margin": ("Incremental margin", "增量毛利"),
    "cost": ("Cost", "成本"),
    "roi": ("ROI", "投资回报率"),
    "rows": ("Rows", "行数"),
    "cause": ("Cause", "原因"),
    "kind": ("File kind", "文件类型"),
    "read": ("Read", "读取"),
    "rejected": ("Rejected", "拒绝"),
    "reject_rate": ("Reject rate", "拒绝率"),
    "indicator": ("Indicator", "指标"),
    "auc": ("AUC", "AUC"),
    "weight": ("Weight", "权重"),
    "recommendation": ("Recommendation", "建议"),
    "keep": ("keep", "保留"),
    "drop": ("drop", "去掉"),
    "share": ("Share", "占比"),
    "change": ("Change (points)", "变化（百分点）"),
    "reason": ("Reason", "原因"),
    "department": ("Department", "部门"),
    "action": ("First fix", "首要改进"),
    "top_share": ("Top buyers", "头部客户"),
    "revenue_share": ("Share of revenue", "收入占比"),
    "flagged": ("Flagged", "预警"),
    "not_flagged": ("Not flagged", "未预警"),
    "base": ("All not lost then", "当时全部未流失客户"),
    "lapsed_rate": ("Lost since", "此后流失比例"),
    "up": ("Moved up", "升级"),
    "down": ("Moved down", "降级"),
    "same": ("Same tier", "不变"),
    "duplicate_key": ("Duplicate key", "重复主键"),
    "missing_required": ("Missing required value", "缺少必填值"),
    "bad_amount": ("Bad amount", "金额无效"),
    "bad_date": ("Bad date", "日期无效"),
    "too_long": ("Too long", "内容过长"),
    "bad_choice": ("Unknown choice", "选项无效"),
    "not_reached": ("Not reached", "未接通"),
    "outcome": ("Outcome", "结果"),
    "call_back": ("Call back later", "稍后回电"),
    "do_not_contact": ("Do not contact", "要求勿扰"),
    "wrong_number": ("Wrong number", "号码错误"),
    "progress": ("progress", "进度"),
}

INDUSTRIES: dict[str, tuple[str, str]] = {
    "retail": ("Retail", "零售"),
    "restaurant": ("Restaurant", "餐饮"),
    "dental": ("Dental", "口腔诊所"),
    "aesthetics": ("Aesthetics", "医美"),
    "b2b": ("B2B", "企业客户"),
    "accounting": ("Accounting", "财税服务"),
    "uplift_model": ("Uplift model", "提升模型"),
    "measured_segments": ("Measured segments", "分段实测"),
    "stage_priors": ("Stage priors", "阶段先验"),
    "not_recorded": ("Not recorded", "未记录"),
    "priority": ("By priority", "按优先级"),
    "random": ("At random", "随机"),
}

DEPARTMENTS: dict[str, tuple[str, str]] = {
    "store_operations": ("Store operations", "门店运营"),
    "operations": ("Operations", "运营"),
    "product": ("Product", "产品"),
    "pricing_merchandising": ("Pricing and merchandising", "定价与商品"),
    "marketing": ("Marketing", "市场"),
    "management": ("Management", "管理层"),
    "crm": ("CRM", "客户关系管理"),
    "customer_service": ("Customer service", "客户服务"),
    "sales": ("Sales", "销售"),
}


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "zh" else pair[0]


def title(code: str, lang: str) -> str:
    return _pick(TITLES[code], lang)


def label(code: str, lang: str) -> str:
    pair = LABELS.get(code) or DEPARTMENTS.get(code) or INDUSTRIES.get(code)
    return _pick(pair, lang) if pair else code


def num(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def pct(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value * 100:.{digits}f}%"


def points(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:+.1f}"


CURRENCY_SIGNS = {"CNY": "¥", "RMB": "¥"}


def money(value: float | None, currency: str) -> str:
    """``¥12,346`` (``-¥1,200``) for yuan, as zh-CN writes it; other currencies by their code."""
    if value is None:
        return "-"
    sign = CURRENCY_SIGNS.get(currency.upper())
    if sign is None:
        return f"{currency} {value:,.0f}"
    return f"{'-' if value < 0 else ''}{sign}{abs(value):,.0f}"


def currency_unit(currency: str, lang: str) -> str:
    """The currency as an axis title's unit: 元 in Chinese for yuan, else the code."""
    if lang == "zh" and currency.upper() in CURRENCY_SIGNS:
        return "元"
    return currency


def signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+,.0f}"


def sentences(report: dict[str, Any], lang: str) -> dict[str, list[str]]:
    """One or two sentences per section, in ``lang`` ("zh" or "en")."""
    zh = lang == "zh"
    rules = (report["taxonomy"], report["playbooks"])
    return {section: _WRITERS[section](report, zh, rules) for section in SECTIONS}


# The methods behind the verdict, in words a manager reads (codes from winback.programme.inference).
METHODS: dict[str, tuple[str, str]] = {
    "welch": (
        "Welch's t interval for the difference in spend",
        "消费差异用 Welch t 区间",
    ),
    "welch_floor": (
        "Welch's t interval for the difference in spend, with the small control group's "
        "variance never taken below the two groups' pooled variance",
        "消费差异用 Welch t 区间，且较小的对照组方差不低于两组合并方差",
    ),
    "percentile": (
        "a percentile bootstrap for the difference in spend",
        "消费差异用百分位自助法区间",
    ),
    "bca": ("a BCa bootstrap for the difference in spend", "消费差异用 BCa 自助法区间"),
    "studentized": (
        "a studentised (bootstrap-t) interval for the difference in spend",
        "消费差异用学生化自助法（bootstrap-t）区间",
    ),
    "pooling": (
        "rounds combined as separate strata weighted by their treated customers, each read only "
        "at its pre-registered horizon",
        "各轮次作为独立分层合并、按干预组人数加权，每轮只在预先登记的时点读取",
    ),
    "sequential": (
        "an always-valid interval (mixture sequential test) that stays at 95% however many "
        "monthly looks are taken",
        "使用“始终有效”的区间（混合序贯检验），无论每月查看多少次，置信度都保持 95%",
    ),
    "cuped": (
        "spend adjusted for each customer's spend and visits in the 90 days before the round "
        "(CUPED)",
        "消费按每位客户轮次前 90 天的消费和到店次数校正（CUPED）",
    ),
}


def method_words(code: str, lang: str) -> str:
    pair = METHODS.get(code)
    return _pick(pair, lang) if pair else code


def _verdict(r: dict[str, Any], zh: bool, _rules: Any) -> list[str]:
    v = r["verdict"]
    cur = r["currency"]
    lang = "zh" if zh else "en"
    methods = (
        f"方法：{method_words(v['interval_method'], lang)}；{method_words('cuped', lang)}；"
        f"{method_words('pooling', lang)}；{method_words('sequential', lang)}。"
        if zh
        else f"Methods: {method_words(v['interval_method'], lang)}; "
        f"{method_words('cuped', lang)}; {method_words('pooling', lang)}; "
        f"{method_words('sequential', lang)}."
    )
    if not v["rounds"]:
        return [
            "尚不可知：还没有到达预先登记时点的挽回轮次，暂无法判断是否值得继续。"
            if zh
            else "Not yet known: no round has reached its pre-registered horizon, so it is too "
            "early to judge whether the programme pays.",
            *_holdout(r, zh),
            methods,
        ]
    f = {
        "n": v["rounds"],
        "margin": money(v["incremental_margin"], cur),
        "cost": money(v["cost"], cur),
        "net": money(v["net"], cur),
        "lo": money(v["net_low"], cur),
        "hi": money(v["net_high"], cur),
        "roi": _ratio(v["roi"]),
        "roi_lo": _ratio(v["roi_low"]),
        "roi_hi": _ratio(v["roi_high"]),
        "up": pct(v["return_diff"]),
        "up_lo": pct(v["return_low"]),
        "up_hi": pct(v["return_high"]),
        "nt": num(v["n_treated"]),
        "nc": num(v["n_control"]),
        "need_c": num(v["needed_controls"]),
        "need_t": num(v["needed_treated"]),
        "months": num(v["months_needed"]),
    }
    decision = v["decision"]
    if zh:
        head = {
            "continue": "值得继续：",
            "stop": "建议停止或重新设计：",
            "not_yet_known": "尚不可知：",
        }[decision]
        first = head + (
            "{n} 个到期轮次（干预组 {nt} 名，对照组 {nc} 名）的增量毛利减去成本为 {net}，"
            "95% 始终有效区间 [{lo}, {hi}]（增量毛利 {margin}，成本 {cost}）。"
        ).format(**f)
        detail = "回购率提升 {up}，区间 [{up_lo}, {up_hi}]".format(**f)
        if v["roi"] is not None:
            detail += "；投资回报率 {roi}，区间 [{roi_lo}, {roi_hi}]".format(**f)
        detail += "。"
        if decision == "continue":
            detail += "区间下限高于零：项目的净收益可信。"
        elif decision == "stop":
            detail += "区间上限低于零：项目的成本高于它带来的毛利。"
        elif v["reason"] == "too_few_controls":
            detail += "对照组客户太少，尚不能下结论。"
        else:
            detail += "区间包含零，尚不能确定项目是否赚钱。"
        if decision == "not_yet_known" and v["needed_controls"] is not None:
            detail += "按目前估计，还需约 {need_c} 名对照组客户（及 {need_t} 名干预组客户）".format(
                **f
            )
            detail += "，按目前进度约 {months} 个月。".format(**f) if v["months_needed"] else "。"
        return [first, detail, *_holdout(r, zh), methods]
    head = {
        "continue": "Worth continuing: ",
        "stop": "Stop or redesign: ",
        "not_yet_known": "Not yet known: ",
    }[decision]
    first = head + (
        "{n} matured rounds ({nt} treated, {nc} control customers) earned {net} incremental "
        "margin net of cost, 95% always-valid interval {lo} to {hi} ({margin} incremental "
        "margin, {cost} cost)."
    ).format(**f)
    detail = "Return-rate uplift {up} (interval {up_lo} to {up_hi})".format(**f)
    if v["roi"] is not None:
        detail += "; ROI {roi} (interval {roi_lo} to {roi_hi})".format(**f)
    detail += "."
    if decision == "continue":
        detail += " The lower bound is above zero: the programme pays."
    elif decision == "stop":
        detail += " The upper bound is below zero: the programme costs more than it earns."
    elif v["reason"] == "too_few_controls":
        detail += " Too few control customers to judge yet."
    else:
        detail += " The interval includes zero: it is not yet known whether the programme pays."
    if decision == "not_yet_known" and v["needed_controls"] is not None:
        detail += (
            " At the current estimate about {need_c} more control customers (and {need_t} "
            "treated) are needed"
        ).format(**f)
        detail += (
            ", about {months} months at the current pace.".format(**f)
            if v["months_needed"]
            else "."
        )
    return [first, detail, *_holdout(r, zh), methods]


def _holdout(r: dict[str, Any], zh: bool) -> list[str]:
    """The programme as a whole against the global holdout, when there is one."""
    h = r.get("programme_holdout")
    if h is None:
        return []
    f = {
        "month": h["month"],
        "share": pct(h["share"]),
        "rest": pct(h["rest_rate"]),
        "held": pct(h["holdout_rate"]),
        "nh": num(h["holdout_customers"]),
        "d": pct(h["difference"]),
        "lo": pct(h["low"]),
        "hi": pct(h["high"]),
    }
    if zh:
        text = (
            "项目整体（全局保留组，占客户 {share}，从不联系）：{month} 起 90 天内，"
            "其余可挽回客户的回购率为 {rest}，保留组（{nh} 名）为 {held}，"
            "差异 {d}，95% 区间 [{lo}, {hi}]（Newcombe）。"
        ).format(**f)
        return [text + ("" if h["matured"] else "观察期尚未结束，数字为目前为止。")]
    text = (
        "The programme as a whole (global holdout of {share}, never contacted): within 90 days "
        "of {month}, the rest of the eligible base came back at {rest} against {held} in the "
        "holdout ({nh} customers), a difference of {d} (95% Newcombe interval {lo} to {hi})."
    ).format(**f)
    return [text + ("" if h["matured"] else " The window has not closed yet: figures so far.")]


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _kpis(r: dict[str, Any], zh: bool, _rules: Any) -> list[str]:
    k = {row["kpi"]: row for row in r["kpis"].iter_rows(named=True)}
    lost = k["lost"]
    act = k["active"]
    if lost["change_previous"] is None:
        return [
            f"本月流失客户 {num(lost['value'])} 名，活跃客户 {num(act['value'])} 名；"
            "暂无上月数据可比。"
            if zh
            else f"{num(lost['value'])} customers are lost and {num(act['value'])} active; "
            "there is no earlier analysis to compare with."
        ]
    d = lost["change_previous"]
    text = (
        f"流失客户 {num(lost['value'])} 名，较上月"
        f"{'增加' if d > 0 else '减少' if d < 0 else '持平'} {num(abs(d))} 名；"
        f"活跃客户 {num(act['value'])} 名（环比 {signed(act['change_previous'])}）。"
        if zh
        else f"{num(lost['value'])} customers are lost, "
        f"{'up' if d > 0 else 'down' if d < 0 else 'unchanged'} {num(abs(d))} on last month; "
        f"{num(act['value'])} are active ({signed(act['change_previous'])})."
    )
    out = [text]
    if lost["change_year"] is not None:
        out.append(
            f"与去年同期相比，流失客户变化 {signed(lost['change_year'])} 名。"
            if zh
            else f"Against 12 months ago lost customers changed by {signed(lost['change_year'])}."
        )
    return out


def _stages(r: dict[str, Any], zh: bool, _rules: Any) -> list[str]:
    frame: pl.DataFrame = r["stages"]
    months = frame["month"].unique().sort().to_list()
    if not months:
        return []
    last = frame.filter(pl.col("month") == months[-1])
    first = frame.filter(pl.col("month") == months[0])
    total = int(last["customers"].sum())
    lapsed = int(last.filter(pl.col("stage").is_in(["sleeping", "lost"]))["customers"].sum())
    lapsed0 = int(first.filter(pl.col("stage").is_in(["sleeping", "lost"]))["customers"].sum())
    total0 = int(first["customers"].sum())
    share, share0 = lapsed / total if total else 0.0, lapsed0 / total0 if total0 else 0.0
    if zh:
        return [
            f"{months[-1]} 沉睡和流失客户共 {num(lapsed)} 名，占 {pct(share)}；"
            f"{months[0]} 为 {pct(share0)}（共 {len(months)} 个月）。"
        ]
    return [
        f"In {months[-1]} {num(lapsed)} customers ({pct(share)}) are sleeping or lost, "
        f"against {pct(share0)} in {months[0]} ({len(months)} months shown)."
    ]


def _flows(r: dict[str, Any], zh: bool, _rules: Any) -> list[str]:
    frame: pl.DataFrame = r["flows"]
    moved = frame.filter(pl.col("from") != pl.col("to"))
    if moved.height == 0:
        return ["本月没有阶段流转数据。" if zh else "No stage flows for this month."]
    top = moved.sort("customers", descending=True).row(0, named=True)
    lang = "zh" if zh else "en"
    a, b = label(top["from"], lang), label(top["to"], lang)
    total = int(moved["customers"].sum())
    if zh:
        return [
            f"本月共有 {num(total)} 名客户换了阶段，"
            f"最大的一股是「{a} → {b}」{num(top['customers'])} 名。"
        ]
    return [
        f"{num(total)} customers changed stage this month; the largest flow was "
        f"{a} → {b} ({num(top['customers'])})."
    ]


def _lost_won(r: dict[str, Any], zh: bool, _rules: Any) -> list[str]:
    frame: pl.DataFrame = r["lost_won"]
    if frame.height == 0:
        return ["需要至少两次月度分析才能计算。" if zh else "Needs two monthly analyses."]
    last = frame.row(-1, named=True)
    avg = float(frame["net"].mean() or 0.0)  # type: ignore[arg-type]
    if zh:
        return [
            f"{last['month']} 新流失 {num(last['newly_lost'])} 名，"
            f"挽回 {num(last['won_back'])} 名，"
            f"净变化 {signed(last['net'])}；近 {frame.height} 个月平均每月净变化 {avg:+.1f}。"
        ]
    return [
        f"In {last['month']} {num(last['newly_lost'])} customers were newly lost and "
        f"{num(last['won_back'])} won back, net {signed(last['net'])}; the average over "
        f"{frame.height} months is {avg:+.1f} a month."
    ]


def _rounds(r: dict[str, Any], zh: bool, _rules: Any) -> list[str]:
    """Counts over every round, each at its pre-registered horizon; no round is singled out."""
    frame: pl.DataFrame = r["rounds"]
    if frame.height == 0:
        return ["还没有挽回轮次。" if zh else "There is no round yet."]
    matured = frame.filter(pl.col("matured"))
    above = int((matured["return_low"] > 0).sum())
    below = int((matured["return_high"] < 0).sum())
    days = ", ".join(f"+{h}" for h in sorted(set(frame["horizon"].to_list())))
    if zh:
        return [
            f"共 {frame.height} 个轮次，各自在预先登记的时点（{days} 天）读取，其中 "
            f"{matured.height} 个已到期；到期轮次中 {above} 个的回购提升区间在零以上，"
            f"{below} 个在零以下，其余包含零。"
            "表中列出每个轮次及其区间；+30、+60 天的查看只表示进度。",
            _promises(frame, zh),
            *_targeting_lines(r, zh),
        ]
    return [
        f"{frame.height} rounds, each read at its pre-registered horizon ({days} days); "
        f"{matured.height} have matured. Of these, {above} have a return-rate uplift interval "
        f"above zero, {below} below zero and the rest include zero. The table lists every "
        "round with its interval; the +30 and +60 day looks show progress only.",
        _promises(frame, zh),
        *_targeting_lines(r, zh),
    ]


def _promises(frame: pl.DataFrame, zh: bool) -> str:
    """Offer redemption and category match (R7), defined, averaged over the rounds that have
    them, each round at its pre-registered horizon."""
    offered = frame.filter(pl.col("offer_redemption_rate").is_not_null())
    if offered.height == 0:
        return (
            "通话中还没有客户选定优惠：优惠核销率和品类匹配率尚无数据。"
            if zh
            else "No offer has been chosen on a call yet: offer redemption and category match "
            "are not known."
        )
    redeemed = offered["offer_redemption_rate"].mean()
    matched = frame["category_match_rate"].drop_nulls().mean()
    matched_text = pct(matched) if matched is not None else "-"  # type: ignore[arg-type]
    if zh:
        return (
            f"承诺是否兑现（各轮在预先登记的时点）：在通话中选定优惠的干预组客户里，平均 "
            f"{pct(redeemed)} 用该优惠的券码购买（优惠核销率）；优惠针对其常买品类的客户里，"  # type: ignore[arg-type]
            f"平均 {matched_text} 在该品类购买（品类匹配率）；{offered.height} 个轮次有选定的优惠。"
        )
    return (
        "Promises kept, each round at its pre-registered horizon: of the treated customers who "
        f"chose an offer on the call, on average {pct(redeemed)} bought with its coupon "  # type: ignore[arg-type]
        "(offer redeemed); of those whose offer was for one of their categories, "
        f"{matched_text} bought in that category (category matched); {offered.height} rounds "
        "had a chosen offer."
    )


def _targeting_lines(r: dict[str, Any], zh: bool) -> list[str]:
    """Which targeting policies the matured rounds used, and whether the random members'
    uplift is known yet (too few control customers: not known)."""
    frame: pl.DataFrame | None = r.get("targeting")
    if frame is None or frame.height == 0:
        return []
    lang = "zh" if zh else "en"
    policies = frame.unique("round_id").group_by("policy").len().sort("policy")
    used = ("、" if zh else ", ").join(
        f"{label(p or 'not_recorded', lang)} {n}" for p, n in policies.iter_rows()
    )
    random = frame.filter(pl.col("selected_by") == "random")
    known = random.filter("known")
    qini = _qini_sentence(frame, zh)
    if zh:
        line = f"到期轮次使用的目标选择策略：{used}（轮次数）。"
        if random.height:
            line += (
                f"随机选择的客户在 {known.height} 个轮次中对照组足够，可估计提升；"
                f"其余 {random.height - known.height} 个轮次尚不可知。"
            )
        return [line + qini]
    line = f"Targeting policies of the matured rounds: {used} (rounds)."
    if random.height:
        line += (
            f" The uplift of customers chosen at random is known in {known.height} rounds "
            f"(enough control customers) and not known yet in {random.height - known.height}."
        )
    return [line + qini]


def _qini_sentence(frame: pl.DataFrame, zh: bool) -> str:
    """The uplift model's out-of-sample check as the latest matured round's plan saw it: the
    Qini coefficient, cross-fitted by round, with its bootstrap interval."""
    judged = frame.filter(pl.col("qini").is_not_null()).sort("round_id")
    if judged.height == 0:
        return ""
    row = judged.row(-1, named=True)
    q, low, high = row["qini"], row["qini_low"], row["qini_high"]
    interval = f"[{q_fmt(low)}, {q_fmt(high)}]"
    above = low is not None and low > 0
    if zh:
        verdict = "区间高于零，模型优于随机" if above else "区间包含零，尚不能说模型优于随机"
        return (
            f" {row['round']} 轮规划时，提升模型在 {row['qini_rounds']} 个已到期轮次上的交叉拟合"
            f" Qini 系数为 {q_fmt(q)} {interval}：{verdict}。"
        )
    verdict = (
        "above zero: the model ranks better than chance"
        if above
        else "the interval includes zero: not yet known to rank better than chance"
    )
    return (
        f" When round {row['round']} was planned, the uplift model's Qini coefficient, "
        f"cross-fitted over {row['qini_rounds']} matured rounds, was {q_fmt(q)} {interval}: "
        f"{verdict}."
    )


def q_fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _lift(r: dict[str, Any], zh: bool, _rules: Any) -> list[str]:
    frame: pl.DataFrame = r["lift"]
    if frame.height == 0:
        return ["还没有到期的轮次结果。" if zh else "No round outcome has matured yet."]
    cur = r["currency"]
    st = float(frame["spend_treated"].mean() or 0.0)  # type: ignore[arg-type]
    sc = float(frame["spend_control"].mean() or 0.0)  # type: ignore[arg-type]
    ahead = int((frame["revenue_uplift_low"] > 0).sum())
    et = frame["re_engaged_treated"].mean()
    ec = frame["re_engaged_control"].mean()
    engaged = et is not None and ec is not None
    if zh:
        out = [
            f"各轮干预组人均消费平均 {money(st, cur)}，对照组 {money(sc, cur)}；"
            f"{frame.height} 轮中 {ahead} 轮的消费提升区间不含零。"
        ]
        if engaged:
            out.append(f"未消费但重新互动的比例：干预组 {pct(et)}，对照组 {pct(ec)}。")  # type: ignore[arg-type]
        return out
    out = [
        f"Treated customers spent {money(st, cur)} each on average against {money(sc, cur)} in "
        f"control; in {ahead} of {frame.height} rounds the spend uplift interval excludes zero."
    ]
    if engaged:
        out.append(
            f"Re-engaged without buying: {pct(et)} treated vs {pct(ec)} control."  # type: ignore[arg-type]
        )
    return out


def _reasons(r: dict[str, Any], zh: bool, rules: tuple[Taxonomy, Playbooks]) -> list[str]:
    sec = r["reasons"]
    stats: pl.DataFrame = sec["stats"]
    if sec["total"] == 0:
        return ["本月没有记录流失原因。" if zh else "No leave reason was recorded this month."]
    taxonomy, playbooks = rules
    lang = "zh" if zh else "en"
    top = stats.sort("count", descending=True).row(0, named=True)
    riser = stats.sort("change", descending=True).row(0, named=True)
    out = [
        f"本月记录 {num(sec['total'])} 条原因（上月 {num(sec['prev_total'])}），最多的是"
        f"「{taxonomy.label(top['code'], lang)}」占 {pct(top['share'])}；"
        f"上升最多的是「{taxonomy.label(riser['code'], lang)}」{points(riser['change'])} 个百分点。"
        if zh
        else f"{num(sec['total'])} reasons were recorded (last month {num(sec['prev_total'])}); "
        f"the most common is {taxonomy.label(top['code'], lang)} at {pct(top['share'])}, the "
        f"fastest riser {taxonomy.label(riser['code'], lang)} ({points(riser['change'])} points)."
    ]
    actions: pl.DataFrame = sec["actions"]
    if actions.height:
        a = actions.row(0, named=True)
        fix = playbooks.action_text(a["action"], lang)
        out.append(
            f"首要行动：{label(a['department'], lang)}（{pct(a['department_share'])}）— {fix}"
            if zh
            else f"First action: {label(a['department'], lang)} "
            f"({pct(a['department_share'])}) — {fix}"
        )
    return out


def _tiers(r: dict[str, Any], zh: bool, _rules: Any) -> list[str]:
    t = r["tiers"]
    if zh:
        return [
            f"本月 {num(t['up'])} 名客户升级，{num(t['down'])} 名降级，{num(t['same'])} 名不变。"
        ]
    return [
        f"{num(t['up'])} customers moved up a value tier, {num(t['down'])} moved down and "
        f"{num(t['same'])} stayed."
    ]


def _pareto(r: dict[str, Any], zh: bool, _rules: Any) -> list[str]:
    p = r["pareto"]
    if not p["buyers"]:
        return ["近 12 个月没有消费。" if zh else "No spend in the last 12 months."]
    top20 = p["table"].filter(pl.col("top_share") == 0.2)["revenue_share"][0]
    if zh:
        return [
            f"近 12 个月 {num(p['buyers'])} 名消费客户中，前 20% 贡献了 {pct(top20)} 的收入；"
            f"{pct(p['share_for_80'])} 的客户（{num(p['customers_for_80'])} 名）贡献了 80%。"
        ]
    return [
        f"Of {num(p['buyers'])} buyers in the last 12 months the top 20% brought {pct(top20)} of "
        f"revenue; {pct(p['share_for_80'])} of buyers ({num(p['customers_for_80'])}) brought 80%."
    ]


def _early_warning(r: dict[str, Any], zh: bool, _rules: Any) -> list[str]:
    e = r["early_warning"]
    lines = _history_lines(r, zh)
    if not e["available"] or not e["flagged"]:
        lines.append(
            "上月没有预警数据。" if zh else "There were no early warnings last month to check."
        )
    else:
        lift = "-" if e["lift"] is None else f"{e['lift']:.1f}"
        lines.append(
            f"上月预警的 {num(e['flagged'])} 名客户中，"
            f"{num(e['flagged_lapsed'])} 名（{pct(e['precision'])}）"
            f"本月已流失，而全体基准为 {pct(e['base_rate'])}，是基准的 {lift} 倍。"
            if zh
            else f"Of {num(e['flagged'])} customers flagged last month, {num(e['flagged_lapsed'])} "
            f"({pct(e['precision'])}) are lost now against a base rate of {pct(e['base_rate'])}: "
            f"{lift} times the base."
        )
    stored = e.get("stored") or {}
    for key, months_zh, months_en in (
        ("1m", "约 1 个月", "about 1 month"),
        ("3m", "约 3 个月", "about 3 months"),
    ):
        s = stored.get(key)
        if not s or not s.get("flagged"):
            continue
        lift = "-" if s.get("lift") is None else f"{s['lift']:.1f}"
        if zh:
            lines.append(
                f"{months_zh}前（{s['flagged_on']}）预警的 {num(s['flagged'])} 名客户中，"
                f"{num(s['flagged_drifted'])} 名（{pct(s['precision'])}）此后未再购买、"
                f"已按自身节律逾期或已流失；未预警客户中这一比例为 {pct(s['base_rate'])}，"
                f"是其 {lift} 倍。"
            )
        else:
            lines.append(
                f"Of {num(s['flagged'])} customers flagged {months_en} ago ({s['flagged_on']}), "
                f"{num(s['flagged_drifted'])} ({pct(s['precision'])}) have not bought since and "
                f"are overdue by their own rhythm or lost, against {pct(s['base_rate'])} of those "
                f"not flagged: {lift} times as many."
            )
    return lines


PRIOR_NAMES: dict[str, tuple[str, str]] = {
    "churn_weights": ("the churn score's weights", "流失评分的权重"),
    "btyd": ("the purchase-rhythm model (BTYD)", "购买节律模型（BTYD）"),
}


def _history_lines(r: dict[str, Any], zh: bool) -> list[str]:
    """The "too little history" notice, when the analysis leaned on priors."""
    h = r.get("history") or {}
    if not h.get("shown"):
        return []
    lines = []
    priors = [PRIOR_NAMES.get(p, (p, p))[1 if zh else 0] for p in h.get("priors_used") or []]
    if priors:
        lines.append(
            f"注意：自身历史数据还不够，本次分析对{'、'.join(priors)}使用了内置的初始值。"
            if zh
            else "Note: too little history of your own yet; this analysis used built-in "
            f"starting values for {', '.join(priors)}."
        )
    if h.get("base_rate"):
        lines.append(
            "流失风险状态按本企业的流失基准率划定，而非从数据中学到的阈值。"
            if zh
            else "At-risk status follows the business's base rate of leaving, not a cut-off "
            "learned from the data."
        )
    return lines


def _agents(r: dict[str, Any], zh: bool, _rules: Any) -> list[str]:
    a = r["agents"]
    if not a["contacts"]:
        return ["本月没有坐席联系记录。" if zh else "No agent contact this month."]
    sim = a["simulated"]
    if zh:
        s = (
            f"本月 {a['agents']} 名坐席共联系 {num(a['contacts'])} 次，"
            f"接通率 {pct(a['reach_rate'])}。"
        )
        if sim:
            s += f"其中 {num(sim)} 次为模拟联系（演示）。"
        return [s, *_ratings(a, zh)]
    s = (
        f"{a['agents']} agents made {num(a['contacts'])} contacts this month and reached "
        f"{pct(a['reach_rate'])}."
    )
    if sim:
        s += f" {num(sim)} of them are simulated (demo)."
    return [s, *_ratings(a, zh)]


def _ratings(a: dict[str, Any], zh: bool) -> list[str]:
    """The supervisors' quality review of the month's contacts, when there is one."""
    if not a.get("reviews"):
        return []
    if zh:
        return [f"主管质检了 {num(a['reviews'])} 次联系，平均评分 {a['avg_rating']:.2f}（1-5）。"]
    return [
        f"Supervisors reviewed {num(a['reviews'])} of these contacts: average rating "
        f"{a['avg_rating']:.2f} out of 5."
    ]


def _roi(r: dict[str, Any], zh: bool, _rules: Any) -> list[str]:
    frame: pl.DataFrame = r["roi"].filter(pl.col("matured"))
    if frame.height == 0:
        return ["还没有到期的轮次结果。" if zh else "No round outcome has matured yet."]
    above = int((frame["net_low"] > 0).sum())
    below = int((frame["net_high"] < 0).sum())
    if zh:
        return [
            f"{frame.height} 个到期轮次中，{above} 个的净额（增量毛利减成本）区间在零以上，"
            f"{below} 个在零以下，其余尚不能确定；合并结论见“结论”一节。"
        ]
    return [
        f"Of {frame.height} matured rounds, {above} have a net margin (incremental margin minus "
        f"cost) interval above zero, {below} below zero, and the rest are not yet known; the "
        "pooled answer is in the verdict."
    ]


def _offers(r: dict[str, Any], zh: bool, _rules: Any) -> list[str]:
    frame: pl.DataFrame = r["offers"].filter(pl.col("matured"))
    if frame.height == 0:
        return [
            "还没有到期轮次的优惠结果。" if zh else "No round's offer results have matured yet."
        ]
    by_offer = (
        frame.group_by("offer_code")
        .agg(pl.col("presented").sum(), pl.col("came_back").sum(), pl.col("redeemed").sum())
        .with_columns(rate=pl.col("came_back") / pl.col("presented"))
        .sort(["presented", "offer_code"], descending=[True, False])
    )
    top = by_offer.row(0, named=True)
    if zh:
        return [
            f"到期轮次中，{by_offer.height} 个优惠共向 {num(int(by_offer['presented'].sum()))} "
            f"位客户介绍；最常介绍的是 {top['offer_code']}（{num(top['presented'])} 位，"
            f"回购 {pct(top['rate'])}，核销 {num(top['redeemed'])} 次）。"
            "各选项按原因和等级列示；毛利不是增量（对照组没有优惠），用于比较选项之间。"
        ]
    return [
        f"In matured rounds {by_offer.height} offers were presented to "
        f"{num(int(by_offer['presented'].sum()))} customers; the most presented was "
        f"{top['offer_code']} ({num(top['presented'])} customers, {pct(top['rate'])} came back, "
        f"{num(top['redeemed'])} redeemed). Options are listed per reason and tier; their margin "
        "is not incremental (the control group gets no offer): it compares options."
    ]


def _audit(r: dict[str, Any], zh: bool, _rules: Any) -> list[str]:
    a = r["audit"]
    history = _history_lines(r, zh)
    if not a["table"].height:
        return [
            *history,
            "本次分析没有指标审计。" if zh else "The analysis has no indicator audit.",
        ]
    auc = "-" if a["best_auc"] is None else f"{a['best_auc']:.2f}"
    if zh:
        return [
            *history,
            f"{a['table'].height} 个指标中建议保留 {a['keep']} 个、去掉 {a['drop']} 个；"
            f"最强的是 {a['best']}（AUC {auc}）。",
        ]
    return [
        *history,
        f"Of {a['table'].height} indicators {a['keep']} are worth keeping and {a['drop']} could "
        f"go; the strongest is {a['best']} (AUC {auc}).",
    ]


def _quality(r: dict[str, Any], zh: bool, _rules: Any) -> list[str]:
    q = r["quality"]
    if not q["batches"]:
        return ["本月没有导入文件。" if zh else "No file was imported this month."]
    by_cause: pl.DataFrame = q["by_cause"]
    lang = "zh" if zh else "en"
    top = (
        f"{label(by_cause['cause'][0], lang)}（{num(by_cause['rows'][0])}）"
        if zh and by_cause.height
        else f"{label(by_cause['cause'][0], lang)} ({num(by_cause['rows'][0])})"
        if by_cause.height
        else "-"
    )
    if zh:
        return [
            f"{q['batches']} 个导入文件共读取 {num(q['read'])} 行，拒绝 {num(q['rejected'])} 行"
            f"（{pct(q['reject_rate'], 2)}），最常见原因：{top}。"
        ]
    return [
        f"{q['batches']} imports read {num(q['read'])} rows and rejected {num(q['rejected'])} "
        f"({pct(q['reject_rate'], 2)}); the most common cause: {top}."
    ]


_WRITERS = {
    "verdict": _verdict,
    "kpis": _kpis,
    "stages": _stages,
    "flows": _flows,
    "lost_won": _lost_won,
    "rounds": _rounds,
    "lift": _lift,
    "reasons": _reasons,
    "tiers": _tiers,
    "pareto": _pareto,
    "early_warning": _early_warning,
    "agents": _agents,
    "roi": _roi,
    "offers": _offers,
    "audit": _audit,
    "quality": _quality,
}

"""What each sample business sells and how its customers behave: the industry vocabularies.

Category lists, prices, seasonality and leave-reason mixes are plausible figures for a Chinese
business of each kind, not measurements. The purchase rhythm comes from the configuration
presets (:data:`winback.config.PRESETS`, ``expected_return_days``) so the sample data and the
analytics start from the same expectation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from winback.config import PRESETS


@dataclass(frozen=True)
class CategorySpec:
    code: str
    zh: str
    en: str
    necessary: bool
    replenishment_days: int | None
    popularity: float
    price_range: tuple[float, float]  # yuan per unit, cheapest to dearest product
    products: tuple[str, ...]  # ordered cheapest first
    max_quantity: int = 1


@dataclass(frozen=True)
class Peak:
    """A seasonal sales peak: days ``day_from..day_to`` of ``month`` multiply demand."""

    month: int
    day_from: int
    day_to: int
    multiplier: float


@dataclass(frozen=True)
class IndustrySpec:
    industry: str
    categories: tuple[CategorySpec, ...]
    month_multipliers: tuple[float, ...]  # January .. December
    weekday_multipliers: tuple[float, ...]  # Monday .. Sunday
    hour_weights: tuple[float, ...]  # 24 weights, hour of day of purchases
    pre_spring_festival: float  # demand in the three weeks before Chinese New Year
    spring_festival_week: float  # demand in the holiday week itself
    peaks: tuple[Peak, ...]
    store_count: int
    store_suffix: str
    order_channels: tuple[tuple[str, float], ...]
    join_channels: tuple[tuple[str, float], ...]
    extra_lines_mean: float  # order lines beyond the first (Poisson mean)
    rate_shape: float  # gamma shape of purchase-rate heterogeneity (BG/NBD r)
    dropout_mean: float  # mean dropout probability per purchase (BG/NBD p)
    dropout_concentration: float  # a + b of the beta distribution of p
    refund_share: float
    female_share: float
    age_mean: float
    age_sd: float
    age_bounds: tuple[int, int]
    company_customers: bool  # customers are companies (name = company name)
    reason_weights: dict[str, float]
    engagement_factors: dict[str, float] = field(default_factory=dict)
    contacts_per_year: float = 1.5

    @property
    def expected_return_days(self) -> float:
        return PRESETS[self.industry].expected_return_days


_HOURS_SHOP = (0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 5, 6, 5, 5, 6, 6, 6, 7, 8, 8, 6, 3, 0)
_HOURS_MEALS = (0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 10, 14, 6, 2, 1, 2, 6, 12, 13, 8, 4, 2, 1)
_HOURS_CLINIC = (0, 0, 0, 0, 0, 0, 0, 0, 0, 6, 8, 8, 3, 2, 7, 8, 8, 6, 3, 2, 1, 0, 0, 0)
_HOURS_OFFICE = (0, 0, 0, 0, 0, 0, 0, 0, 1, 6, 9, 9, 3, 3, 8, 9, 8, 6, 2, 1, 0, 0, 0, 0)

# Leave-reason mix shared by consumer businesses; industries override what differs.
_CONSUMER_REASONS: dict[str, float] = {
    "attitude": 6,
    "timing": 4,
    "quality": 8,
    "speed": 4,
    "price": 10,
    "transparency": 3,
    "reputation": 2,
    "values": 1,
    "only_calls_when_selling": 2,
    "canned_scripts": 1,
    "broken_promise": 3,
    "too_many_calls": 3,
    "poor_results": 3,
    "moved_away": 10,
    "competitor": 10,
    "budget_cut": 2,
    "contact_changed": 0,
    "off_season": 2,
    "restructured": 0,
    "need_changed": 8,
    "life_change": 6,
    "habit_lapsed": 12,
}


def _reasons(**overrides: float) -> dict[str, float]:
    return {**_CONSUMER_REASONS, **overrides}


RETAIL = IndustrySpec(
    industry="retail",
    categories=(
        CategorySpec(
            "R01",
            "服装",
            "Clothing",
            False,
            120,
            0.30,
            (59, 599),
            ("基础T恤", "针织衫", "衬衫", "卫衣", "休闲裤", "牛仔裤", "连衣裙", "西装套装"),
            3,
        ),
        CategorySpec(
            "R02",
            "鞋",
            "Shoes",
            True,
            180,
            0.14,
            (99, 899),
            ("帆布鞋", "运动鞋", "皮鞋", "靴子"),
            2,
        ),
        CategorySpec(
            "R03",
            "配饰",
            "Accessories",
            False,
            None,
            0.10,
            (29, 399),
            ("帽子", "围巾", "腰带", "包袋"),
            2,
        ),
        CategorySpec(
            "R04",
            "内衣袜子",
            "Underwear and socks",
            True,
            90,
            0.16,
            (15, 159),
            ("袜子三双装", "内裤", "文胸", "保暖内衣"),
            4,
        ),
        CategorySpec(
            "R05",
            "外套",
            "Outerwear",
            False,
            365,
            0.08,
            (299, 1899),
            ("夹克", "风衣", "大衣", "羽绒服"),
        ),
        CategorySpec(
            "R06",
            "童装",
            "Kidswear",
            True,
            120,
            0.08,
            (49, 399),
            ("童装T恤", "童裤", "童装外套"),
            3,
        ),
        CategorySpec(
            "R07",
            "运动户外",
            "Sports and outdoor",
            False,
            180,
            0.08,
            (99, 799),
            ("运动T恤", "运动裤", "冲锋衣"),
            2,
        ),
        CategorySpec(
            "R08",
            "日用百货",
            "Household basics",
            True,
            30,
            0.06,
            (9, 99),
            ("毛巾", "收纳盒", "洗衣液"),
            4,
        ),
    ),
    month_multipliers=(1.2, 1.1, 0.9, 0.9, 1.0, 1.2, 0.85, 0.85, 1.0, 1.0, 1.4, 1.2),
    weekday_multipliers=(0.85, 0.85, 0.9, 0.9, 1.05, 1.25, 1.2),
    hour_weights=_HOURS_SHOP,
    pre_spring_festival=1.4,
    spring_festival_week=0.6,
    peaks=(Peak(6, 1, 18, 1.4), Peak(11, 1, 11, 1.8), Peak(12, 12, 12, 1.5)),
    store_count=12,
    store_suffix="店",
    order_channels=(("门店", 0.70), ("小程序", 0.18), ("天猫", 0.07), ("京东", 0.05)),
    join_channels=(("门店", 0.60), ("小程序", 0.25), ("抖音", 0.08), ("大众点评", 0.07)),
    extra_lines_mean=1.5,
    rate_shape=0.9,
    dropout_mean=0.12,
    dropout_concentration=8.0,
    refund_share=0.04,
    female_share=0.68,
    age_mean=33,
    age_sd=9,
    age_bounds=(16, 75),
    company_customers=False,
    reason_weights=_reasons(price=14, competitor=14, need_changed=8),
)

RESTAURANT = IndustrySpec(
    industry="restaurant",
    categories=(
        CategorySpec(
            "F01",
            "正餐",
            "Main dishes",
            True,
            7,
            0.30,
            (28, 168),
            ("麻婆豆腐", "宫保鸡丁", "小炒黄牛肉", "红烧肉", "水煮鱼", "清蒸鲈鱼"),
            2,
        ),
        CategorySpec(
            "F02",
            "主食",
            "Staples",
            True,
            7,
            0.12,
            (3, 22),
            ("米饭", "馒头", "手工面", "扬州炒饭"),
            4,
        ),
        CategorySpec(
            "F03",
            "小吃",
            "Snacks",
            False,
            None,
            0.12,
            (8, 38),
            ("凉拌黄瓜", "春卷", "煎饺", "锅贴"),
            2,
        ),
        CategorySpec(
            "F04",
            "酒水",
            "Drinks",
            False,
            None,
            0.14,
            (6, 398),
            ("柠檬茶", "鲜榨橙汁", "啤酒", "黄酒", "白酒"),
            4,
        ),
        CategorySpec(
            "F05",
            "甜品",
            "Desserts",
            False,
            None,
            0.07,
            (12, 48),
            ("双皮奶", "杨枝甘露", "芒果班戟"),
            2,
        ),
        CategorySpec(
            "F06",
            "外卖",
            "Takeaway",
            True,
            7,
            0.14,
            (22, 88),
            ("外卖盖饭", "外卖单人餐", "外卖双人餐"),
        ),
        CategorySpec(
            "F07",
            "套餐",
            "Set meals",
            True,
            14,
            0.09,
            (58, 398),
            ("商务午餐", "双人套餐", "四人套餐"),
        ),
        CategorySpec(
            "F08",
            "宴席",
            "Banquets",
            False,
            365,
            0.02,
            (1288, 6888),
            ("生日宴", "寿宴", "年夜饭"),
        ),
    ),
    month_multipliers=(1.15, 1.2, 0.9, 0.95, 1.0, 1.0, 1.05, 1.05, 1.0, 1.1, 0.95, 1.1),
    weekday_multipliers=(0.8, 0.8, 0.85, 0.9, 1.2, 1.35, 1.1),
    hour_weights=_HOURS_MEALS,
    pre_spring_festival=1.3,
    spring_festival_week=1.2,
    peaks=(Peak(2, 14, 14, 1.8), Peak(10, 1, 7, 1.3)),
    store_count=8,
    store_suffix="店",
    order_channels=(("堂食", 0.65), ("外卖平台", 0.25), ("小程序", 0.10)),
    join_channels=(("门店", 0.50), ("大众点评", 0.20), ("美团", 0.20), ("小程序", 0.10)),
    extra_lines_mean=2.2,
    rate_shape=1.0,
    dropout_mean=0.08,
    dropout_concentration=8.0,
    refund_share=0.005,
    female_share=0.5,
    age_mean=35,
    age_sd=11,
    age_bounds=(16, 80),
    company_customers=False,
    reason_weights=_reasons(habit_lapsed=18, competitor=14, quality=10, speed=6, moved_away=12),
    engagement_factors={"survey_response": 0.6, "forum_post": 1.2},
)

DENTAL = IndustrySpec(
    industry="dental",
    categories=(
        CategorySpec(
            "D01",
            "检查",
            "Check-up",
            True,
            180,
            0.22,
            (50, 300),
            ("口腔检查", "全景片", "CBCT"),
        ),
        CategorySpec(
            "D02",
            "洁牙",
            "Cleaning",
            True,
            180,
            0.25,
            (150, 680),
            ("超声波洁牙", "喷砂洁牙", "牙周刮治"),
        ),
        CategorySpec(
            "D03",
            "补牙",
            "Fillings",
            True,
            None,
            0.15,
            (200, 1200),
            ("树脂补牙", "嵌体修复"),
            3,
        ),
        CategorySpec(
            "D04",
            "根管治疗",
            "Root canal",
            True,
            None,
            0.06,
            (800, 3000),
            ("根管治疗(前牙)", "根管治疗(磨牙)"),
        ),
        CategorySpec(
            "D05", "拔牙", "Extraction", True, None, 0.06, (100, 2000), ("普通拔牙", "智齿拔除"), 2
        ),
        CategorySpec(
            "D06",
            "正畸",
            "Orthodontics",
            False,
            30,
            0.08,
            (300, 35000),
            ("正畸复诊", "金属托槽矫正", "隐形矫正"),
        ),
        CategorySpec(
            "D07",
            "种植牙",
            "Implants",
            False,
            None,
            0.04,
            (6000, 18000),
            ("国产种植体", "进口种植体"),
            2,
        ),
        CategorySpec(
            "D08",
            "牙齿美白",
            "Whitening",
            False,
            365,
            0.05,
            (800, 3000),
            ("家庭美白套装", "冷光美白"),
        ),
        CategorySpec(
            "D09",
            "儿童涂氟",
            "Fluoride for children",
            True,
            180,
            0.09,
            (80, 300),
            ("涂氟", "窝沟封闭"),
            4,
        ),
    ),
    month_multipliers=(0.9, 0.7, 1.0, 1.0, 1.0, 1.1, 1.3, 1.3, 1.0, 0.9, 0.9, 1.0),
    weekday_multipliers=(0.9, 0.9, 0.9, 0.9, 0.95, 1.4, 1.05),
    hour_weights=_HOURS_CLINIC,
    pre_spring_festival=1.1,
    spring_festival_week=0.2,
    peaks=(),
    store_count=5,
    store_suffix="口腔门诊",
    order_channels=(("门诊", 0.9), ("线上预约", 0.1)),
    join_channels=(("门诊", 0.50), ("美团", 0.15), ("大众点评", 0.15), ("企业团检", 0.20)),
    extra_lines_mean=0.5,
    rate_shape=2.0,
    dropout_mean=0.15,
    dropout_concentration=10.0,
    refund_share=0.01,
    female_share=0.55,
    age_mean=38,
    age_sd=16,
    age_bounds=(4, 85),
    company_customers=False,
    reason_weights=_reasons(timing=8, moved_away=14, habit_lapsed=8, competitor=8),
)

AESTHETICS = IndustrySpec(
    industry="aesthetics",
    categories=(
        CategorySpec(
            "A01",
            "皮肤护理",
            "Skin care treatments",
            True,
            28,
            0.28,
            (198, 880),
            ("清洁护理", "补水护理", "舒缓修复"),
        ),
        CategorySpec(
            "A02",
            "光子嫩肤",
            "IPL photorejuvenation",
            False,
            30,
            0.14,
            (680, 2980),
            ("光子嫩肤单次", "光子嫩肤疗程"),
        ),
        CategorySpec(
            "A03",
            "玻尿酸",
            "Hyaluronic acid fillers",
            False,
            180,
            0.10,
            (2800, 12800),
            ("国产玻尿酸", "进口玻尿酸"),
        ),
        CategorySpec(
            "A04",
            "肉毒素",
            "Botulinum toxin",
            False,
            120,
            0.08,
            (1500, 6800),
            ("国产肉毒素", "进口肉毒素"),
        ),
        CategorySpec(
            "A05",
            "水光针",
            "Skin boosters",
            False,
            30,
            0.12,
            (880, 3880),
            ("基础水光", "复合水光"),
        ),
        CategorySpec(
            "A06",
            "热玛吉",
            "Thermage",
            False,
            365,
            0.04,
            (12800, 29800),
            ("热玛吉眼部", "热玛吉全脸"),
        ),
        CategorySpec(
            "A07",
            "脱毛",
            "Laser hair removal",
            False,
            45,
            0.08,
            (380, 2680),
            ("腋下脱毛", "小腿脱毛", "全身脱毛"),
        ),
        CategorySpec(
            "A08",
            "护肤品",
            "Skin care products",
            True,
            60,
            0.16,
            (128, 980),
            ("防晒霜", "医用面膜", "修护面霜", "精华液"),
            3,
        ),
    ),
    month_multipliers=(1.1, 0.8, 1.0, 1.2, 1.3, 1.2, 1.0, 0.9, 0.9, 0.9, 1.0, 1.2),
    weekday_multipliers=(0.85, 0.85, 0.9, 0.9, 1.0, 1.3, 1.2),
    hour_weights=_HOURS_SHOP,
    pre_spring_festival=1.3,
    spring_festival_week=0.3,
    peaks=(Peak(3, 1, 8, 1.3), Peak(11, 1, 11, 1.4)),
    store_count=4,
    store_suffix="医疗美容门诊",
    order_channels=(("门店", 0.8), ("小程序", 0.2)),
    join_channels=(("门店", 0.35), ("新氧", 0.20), ("小红书", 0.20), ("抖音", 0.25)),
    extra_lines_mean=0.4,
    rate_shape=1.2,
    dropout_mean=0.12,
    dropout_concentration=8.0,
    refund_share=0.02,
    female_share=0.88,
    age_mean=33,
    age_sd=7,
    age_bounds=(18, 65),
    company_customers=False,
    reason_weights=_reasons(poor_results=10, transparency=5, price=12, too_many_calls=5),
    engagement_factors={"event_attendance": 1.3, "forum_post": 1.3},
)

B2B = IndustrySpec(
    industry="b2b",
    categories=(
        CategorySpec(
            "B01",
            "搜索推广",
            "Search advertising",
            True,
            30,
            0.40,
            (3000, 50000),
            ("搜索推广标准版", "搜索推广进阶版", "搜索推广旗舰版"),
        ),
        CategorySpec(
            "B02",
            "信息流",
            "Feed advertising",
            False,
            30,
            0.18,
            (5000, 80000),
            ("信息流基础包", "信息流增长包"),
        ),
        CategorySpec(
            "B03",
            "品牌广告",
            "Brand advertising",
            False,
            90,
            0.08,
            (20000, 200000),
            ("品牌专区", "开屏品牌广告"),
        ),
        CategorySpec(
            "B04",
            "数据服务",
            "Data services",
            True,
            365,
            0.10,
            (5000, 30000),
            ("行业数据报告", "竞品监测"),
        ),
        CategorySpec(
            "B05",
            "代运营",
            "Managed campaigns",
            False,
            30,
            0.12,
            (3000, 20000),
            ("账户托管", "全案代运营"),
        ),
        CategorySpec(
            "B06",
            "培训",
            "Training",
            False,
            None,
            0.06,
            (1000, 8000),
            ("投放入门课", "高级优化师课"),
            3,
        ),
        CategorySpec(
            "B07",
            "开户服务",
            "Account setup",
            True,
            365,
            0.06,
            (600, 6000),
            ("开户年费", "资质审核服务"),
        ),
    ),
    month_multipliers=(1.0, 0.6, 1.0, 1.0, 1.0, 1.0, 0.9, 0.9, 1.0, 1.1, 1.2, 1.4),
    weekday_multipliers=(1.2, 1.2, 1.2, 1.2, 1.1, 0.1, 0.05),
    hour_weights=_HOURS_OFFICE,
    pre_spring_festival=1.1,
    spring_festival_week=0.05,
    peaks=(),
    store_count=3,
    store_suffix="分公司",
    order_channels=(("直销", 0.6), ("代理商", 0.4)),
    join_channels=(("电话销售", 0.4), ("展会", 0.2), ("官网", 0.2), ("代理商", 0.2)),
    extra_lines_mean=0.3,
    rate_shape=1.5,
    dropout_mean=0.06,
    dropout_concentration=10.0,
    refund_share=0.01,
    female_share=0.45,
    age_mean=38,
    age_sd=8,
    age_bounds=(23, 65),
    company_customers=True,
    # The search-advertising case: about half leave over poor results, a third over their own
    # situation, a few because the relationship only ran through a junior contact.
    reason_weights={
        **dict.fromkeys(_CONSUMER_REASONS, 0.0),
        "poor_results": 48,
        "budget_cut": 12,
        "restructured": 6,
        "need_changed": 8,
        "off_season": 3,
        "contact_changed": 5,
        "price": 6,
        "attitude": 2,
        "transparency": 3,
        "only_calls_when_selling": 2,
        "broken_promise": 2,
        "competitor": 3,
    },
    engagement_factors={"forum_post": 0.3, "forum_reply": 0.3, "event_attendance": 1.5},
    contacts_per_year=4.0,
)

ACCOUNTING = IndustrySpec(
    industry="accounting",
    categories=(
        CategorySpec(
            "C01",
            "代理记账",
            "Bookkeeping",
            True,
            365,
            0.45,
            (2400, 12000),
            ("小规模记账年付", "一般纳税人记账年付"),
        ),
        CategorySpec(
            "C02",
            "年度汇算",
            "Annual tax filing",
            True,
            365,
            0.18,
            (500, 5000),
            ("个税汇算", "企业所得税汇算"),
        ),
        CategorySpec(
            "C03", "审计报告", "Audit", True, 365, 0.08, (3000, 30000), ("专项审计", "年度审计")
        ),
        CategorySpec(
            "C04",
            "工商变更",
            "Registration changes",
            False,
            None,
            0.08,
            (300, 3000),
            ("地址变更", "股权变更"),
        ),
        CategorySpec(
            "C05",
            "税务咨询",
            "Tax advisory",
            False,
            None,
            0.11,
            (500, 8000),
            ("单次咨询", "年度顾问"),
        ),
        CategorySpec(
            "C06",
            "社保代缴",
            "Payroll and social insurance",
            True,
            30,
            0.10,
            (100, 800),
            ("社保代缴", "公积金代缴"),
            5,
        ),
    ),
    month_multipliers=(1.2, 0.8, 1.3, 1.4, 1.3, 1.0, 0.8, 0.8, 0.9, 0.9, 1.0, 1.4),
    weekday_multipliers=(1.2, 1.2, 1.2, 1.2, 1.1, 0.1, 0.05),
    hour_weights=_HOURS_OFFICE,
    pre_spring_festival=1.0,
    spring_festival_week=0.05,
    peaks=(),
    store_count=2,
    store_suffix="事务所",
    order_channels=(("线下", 0.7), ("线上", 0.3)),
    join_channels=(("转介绍客户", 0.3), ("官网", 0.3), ("电话销售", 0.2), ("工商园区", 0.2)),
    extra_lines_mean=0.4,
    rate_shape=2.0,
    dropout_mean=0.15,
    dropout_concentration=10.0,
    refund_share=0.01,
    female_share=0.5,
    age_mean=40,
    age_sd=9,
    age_bounds=(23, 70),
    company_customers=True,
    reason_weights={
        **dict.fromkeys(_CONSUMER_REASONS, 0.0),
        "price": 14,
        "budget_cut": 8,
        "restructured": 8,
        "need_changed": 12,
        "poor_results": 6,
        "contact_changed": 5,
        "attitude": 4,
        "speed": 6,
        "broken_promise": 4,
        "competitor": 10,
        "moved_away": 4,
        "habit_lapsed": 2,
    },
    engagement_factors={"forum_post": 0.2, "forum_reply": 0.2},
    contacts_per_year=3.0,
)

SPECS: dict[str, IndustrySpec] = {
    spec.industry: spec for spec in (RETAIL, RESTAURANT, DENTAL, AESTHETICS, B2B, ACCOUNTING)
}


def spec_for(industry: str) -> IndustrySpec:
    try:
        return SPECS[industry]
    except KeyError:
        raise ValueError(f"unknown industry {industry!r}; choose one of {tuple(SPECS)}") from None

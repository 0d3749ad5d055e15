"""Small vocabularies: name pools drawn once from Faker, and fixed Chinese phrases.

Faker is called a few thousand times at most, whatever the number of customers; the pools are
then sampled with numpy. Pools are built from a Faker instance seeded from the data set's seed,
so the same seed gives the same names.
"""

from __future__ import annotations

from dataclasses import dataclass

from faker import Faker

# Mainland mobile prefixes (China Mobile, Unicom, Telecom).
MOBILE_PREFIXES: tuple[str, ...] = (
    "134", "135", "136", "137", "138", "139", "147", "150", "151", "152", "157", "158", "159",
    "172", "178", "182", "183", "187", "188", "198", "130", "131", "132", "155", "156", "166",
    "175", "176", "185", "186", "133", "153", "173", "177", "180", "181", "189", "191", "199",
)  # fmt: skip
EMAIL_DOMAINS: tuple[str, ...] = ("163.com", "126.com", "sina.com", "foxmail.com", "outlook.com")
CITIES: tuple[tuple[str, str], ...] = (
    ("上海", "徐汇"),
    ("上海", "浦东"),
    ("北京", "朝阳"),
    ("北京", "海淀"),
    ("杭州", "西湖"),
    ("杭州", "滨江"),
    ("深圳", "南山"),
    ("深圳", "福田"),
    ("广州", "天河"),
    ("成都", "锦江"),
    ("南京", "鼓楼"),
    ("苏州", "工业园区"),
    ("武汉", "江汉"),
    ("西安", "雁塔"),
    ("重庆", "渝中"),
)
CUSTOMER_TAGS: tuple[str, ...] = ("老客户", "学生", "宝妈", "上班族", "附近居民", "团购客户")
CUSTOMER_NOTES: tuple[str, ...] = (
    "喜欢周末来店",
    "需要提前预约",
    "习惯微信沟通",
    "下午时段方便",
    "对新品感兴趣",
)
PRICE_NOTE = "对价格比较敏感"
DNC_SOURCES: tuple[str, ...] = ("客户要求", "短信退订", "投诉升级")
COMPANY_WORDS: tuple[str, ...] = (
    "科技", "信息", "贸易", "教育", "医疗", "餐饮", "电子", "网络", "传媒", "物流", "建材",
    "食品", "服饰", "咨询", "家居", "旅游", "文化", "汽车", "生物", "环保",
)  # fmt: skip
COMPANY_SUFFIXES: tuple[str, ...] = ("有限公司", "股份有限公司", "有限责任公司", "工作室")

FORUM_POSTS: tuple[str, ...] = (
    "分享一下这次的体验，整体很满意",
    "新店环境不错，推荐大家去看看",
    "有没有人一起参加下个月的活动？",
    "求推荐适合新手的项目",
    "这次的会员活动力度挺大",
)
FORUM_REPLIES: tuple[str, ...] = (
    "同感，服务很贴心",
    "我上次也去了，确实不错",
    "楼主说得对",
    "可以先咨询一下顾问",
    "谢谢分享",
)
QA_ANSWERS: tuple[str, ...] = (
    "可以在小程序里直接预约",
    "会员日有折扣，建议那天去",
    "我问过，周末人比较多，建议工作日",
    "需要带会员卡或者报手机号",
)
SUGGESTIONS: tuple[str, ...] = (
    "希望增加线上预约时段",
    "建议会员积分可以抵现",
    "停车不太方便，希望能有合作停车场",
    "希望营业时间延长一些",
    "建议增加儿童区",
)
# Complaint categories: (text, linked leave reason or "" for everyday complaints).
COMPLAINT_CATEGORIES: tuple[tuple[str, str], ...] = (
    ("服务态度", "attitude"),
    ("产品质量", "quality"),
    ("等待时间长", "speed"),
    ("收费不透明", "transparency"),
    ("承诺未兑现", "broken_promise"),
    ("效果不满意", "poor_results"),
    ("价格偏高", "price"),
    ("预约困难", "timing"),
    ("环境卫生", ""),
    ("停车不便", ""),
)
COMPLAINT_TEXTS: tuple[str, ...] = (
    "对这次的体验很失望",
    "希望尽快给个说法",
    "已经反映过一次了，还是没改善",
    "员工解释不清楚",
)
CONTACT_NOTES: tuple[str, ...] = (
    "客户表示最近比较忙",
    "已发送最新活动信息",
    "客户咨询会员权益",
    "约好下周再联系",
    "客户对上次服务有意见",
    "客户说暂时没有需要",
)
OFFER_CODES: tuple[str, ...] = ("WB-COUPON50", "WB-FREESERVICE", "WB-VIPDAY", "WB-GIFT")


@dataclass(frozen=True)
class NamePools:
    surnames: tuple[str, ...]
    female_given: tuple[str, ...]
    male_given: tuple[str, ...]
    company_prefixes: tuple[str, ...]
    agents: tuple[str, ...]
    email_users: tuple[str, ...]


def name_pools(seed: int) -> NamePools:
    """Draw the pools once. Repeats in a pool keep Faker's frequency weighting."""
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    return NamePools(
        surnames=tuple(fake.last_name() for _ in range(600)),
        female_given=tuple(fake.first_name_female() for _ in range(400)),
        male_given=tuple(fake.first_name_male() for _ in range(400)),
        company_prefixes=tuple(dict.fromkeys(fake.company_prefix() for _ in range(400))),
        agents=tuple(dict.fromkeys(fake.name() for _ in range(16))),
        email_users=tuple(dict.fromkeys(fake.user_name() for _ in range(300))),
    )

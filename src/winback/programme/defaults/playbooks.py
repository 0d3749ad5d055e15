"""Default playbooks: what to say the second time, who calls, and what the business fixes first.

Per leave reason: talking points for the second contact (zh and en), the channel, the minimum
seniority of the caller (1 junior - 3 senior), the offer preference (``price`` offers for price
reasons, ``perk`` for service reasons, ``null`` for no preference), the department that owns the
fix and the first action. Per lifecycle stage: the contact policy (seed 004).
"""

from __future__ import annotations

from typing import Any

DEPARTMENTS: list[dict[str, str]] = [
    {"code": "pricing_merchandising", "zh": "定价与商品部", "en": "Pricing and merchandising"},
    {"code": "store_operations", "zh": "门店运营与培训", "en": "Store operations and training"},
    {"code": "operations", "zh": "运营与交付", "en": "Operations"},
    {"code": "product", "zh": "产品与质量", "en": "Product and quality"},
    {"code": "crm", "zh": "客户关系管理", "en": "CRM"},
    {"code": "marketing", "zh": "市场与品牌", "en": "Marketing and brand"},
    {"code": "customer_service", "zh": "客户服务", "en": "Customer service"},
    {"code": "sales", "zh": "销售与客户经理", "en": "Sales and account management"},
    {"code": "management", "zh": "管理层", "en": "Management"},
]


def _pb(
    reason: str,
    department: str,
    action: str,
    fix_zh: str,
    fix_en: str,
    zh: list[str],
    en: list[str],
    *,
    channel: str = "phone",
    seniority: int = 1,
    offer_preference: str | None = None,
) -> dict[str, Any]:
    return {
        "reason": reason,
        "department": department,
        "action": action,
        "fix_zh": fix_zh,
        "fix_en": fix_en,
        "talking_points_zh": zh,
        "talking_points_en": en,
        "channel": channel,
        "seniority": seniority,
        "offer_preference": offer_preference,
    }


PLAYBOOKS: list[dict[str, Any]] = [
    _pb(
        "attitude",
        "store_operations",
        "service_training",
        "复盘涉及的门店和人员的服务过程，开展服务礼仪培训并纳入考核。",
        "Review the service at the store and staff involved; train courtesy and include it in "
        "performance reviews.",
        [
            "先真诚道歉，说明您的反馈已经转给门店负责人并做了处理。",
            "告诉客户我们具体改了什么（培训、换人或流程调整）。",
            "邀请客户再来一次，由负责人或指定的资深人员亲自接待。",
        ],
        [
            "Apologise sincerely and say the feedback went to the store manager and was acted on.",
            "Tell the customer what changed (training, a different person, a new procedure).",
            "Invite them back, to be served by the manager or a named senior colleague.",
        ],
        seniority=3,
        offer_preference="perk",
    ),
    _pb(
        "timing",
        "operations",
        "extend_booking_slots",
        "增加预约时段和线上预约，考虑晚间和周末服务。",
        "Add booking slots and online booking; consider evening and weekend hours.",
        [
            "询问客户方便的时间段，直接帮客户预约。",
            "介绍新增的预约方式和营业时间。",
        ],
        [
            "Ask which times suit the customer and book the slot for them on the call.",
            "Mention the new booking options and opening hours.",
        ],
        offer_preference="perk",
    ),
    _pb(
        "quality",
        "product",
        "quality_review",
        "追查质量问题的根源，加强质检，简化退换流程。",
        "Trace the quality problem to its root cause, tighten inspection and simplify returns.",
        [
            "确认客户遇到的具体问题，表示歉意。",
            "说明我们查到的原因和已经采取的改进措施。",
            "主动提出补偿或免费更换，并约定回访确认满意。",
        ],
        [
            "Confirm the exact problem the customer had and apologise.",
            "Explain the cause we found and what has been improved since.",
            "Offer a remedy or free replacement and agree a follow-up to check satisfaction.",
        ],
        seniority=2,
        offer_preference="perk",
    ),
    _pb(
        "speed",
        "operations",
        "cut_waiting_time",
        "优化排班和流程，设定并公布等待时间标准。",
        "Fix staffing and process bottlenecks; set and publish a waiting-time standard.",
        [
            "承认等待时间过长，感谢客户指出。",
            "说明我们为缩短等待所做的调整。",
            "提供优先服务或预约通道，保证下次不用久等。",
        ],
        [
            "Acknowledge the long wait and thank the customer for raising it.",
            "Explain what we changed to shorten waiting.",
            "Offer priority service or a booked slot so the next visit has no wait.",
        ],
        offer_preference="perk",
    ),
    _pb(
        "price",
        "pricing_merchandising",
        "price_ladder",
        "对比竞品检查价格带，增加入门价位和组合套餐。",
        "Check the price ladder against competitors; add entry-level options and bundles.",
        [
            "理解客户对价格的顾虑，不争辩。",
            "根据客户常买的品类推荐性价比更高的组合或套餐。",
            "说明长期购买的会员权益，而不是一次性打折。",
        ],
        [
            "Acknowledge the concern about price without arguing.",
            "Suggest better-value combinations in the categories the customer buys.",
            "Explain the member benefits of buying regularly rather than a one-off discount.",
        ],
        seniority=2,
        offer_preference="price",
    ),
    _pb(
        "transparency",
        "pricing_merchandising",
        "clear_pricing",
        "公开价目表，服务前确认费用，杜绝隐形收费。",
        "Publish price lists, confirm costs before any service and remove hidden charges.",
        [
            "为费用不清楚带来的不愉快道歉。",
            "把价目和收费方式清楚地讲一遍，必要时发书面说明。",
            "承诺今后任何费用都会事先确认。",
        ],
        [
            "Apologise for the unclear charges.",
            "Walk through prices and how charges work; send them in writing if useful.",
            "Commit that every future charge will be confirmed in advance.",
        ],
        seniority=2,
        offer_preference="perk",
    ),
    _pb(
        "reputation",
        "marketing",
        "reputation_repair",
        "回应负面评价，收集并展示真实的客户评价。",
        "Answer negative reviews publicly; collect and show genuine customer reviews.",
        [
            "询问客户听到了哪些说法。",
            "用事实回应，提供资质、案例或其他客户的真实评价。",
        ],
        [
            "Ask what the customer has heard.",
            "Answer with facts: credentials, cases, genuine reviews from other customers.",
        ],
        seniority=2,
    ),
    _pb(
        "values",
        "management",
        "values_review",
        "由管理层评估客户指出的问题是否与公司的原则相符，并公开回应。",
        "Management reviews whether the issue raised conflicts with the company's principles "
        "and answers openly.",
        [
            "认真倾听客户的看法，不辩解。",
            "说明公司在这一问题上的立场和正在做的事情。",
        ],
        [
            "Listen carefully to the customer's view without defending.",
            "Explain the company's position on the issue and what it is doing.",
        ],
        seniority=3,
    ),
    _pb(
        "only_calls_when_selling",
        "crm",
        "care_contacts",
        "建立非销售性的关怀联系，如节日问候和购买后回访。",
        "Add non-sales care contacts such as greetings and after-purchase check-ins.",
        [
            "这次联系不推销，只是关心客户的使用情况和近况。",
            "询问客户希望我们多久、用什么方式联系。",
        ],
        [
            "This contact sells nothing: ask how the customer is and how things are going.",
            "Ask how often and through which channel the customer wants to hear from us.",
        ],
        channel="wechat",
        offer_preference="perk",
    ),
    _pb(
        "canned_scripts",
        "crm",
        "script_refresh",
        "把话术改为要点提纲，训练倾听和个性化沟通。",
        "Turn scripts into talking points; train listening and personal conversation.",
        [
            "用自然的方式交流，提到客户以前的购买和偏好。",
            "多听少说，让客户说出真实想法。",
        ],
        [
            "Talk naturally and refer to the customer's past purchases and preferences.",
            "Listen more than you talk and let the customer say what they think.",
        ],
        seniority=2,
        offer_preference="perk",
    ),
    _pb(
        "broken_promise",
        "customer_service",
        "promise_tracking",
        "登记对客户的每一项承诺并跟踪到兑现，未兑现前不再做新承诺。",
        "Log every promise made to a customer and track it to completion; no new promise until "
        "the old one is kept.",
        [
            "明确承认之前的承诺没有兑现，诚恳道歉。",
            "说明现在由谁负责、什么时间完成。",
            "兑现后再次联系确认，而不是只在电话里保证。",
        ],
        [
            "Admit plainly that the earlier promise was not kept and apologise.",
            "Say who is now responsible and by when it will be done.",
            "Call again once it is done to confirm, rather than promising on the phone.",
        ],
        seniority=3,
        offer_preference="perk",
    ),
    _pb(
        "too_many_calls",
        "crm",
        "contact_caps",
        "收紧联系频次上限，合并营销触达。",
        "Tighten contact frequency caps and merge campaigns.",
        [
            "为打扰道歉，说明已经调低了联系频率。",
            "请客户选择希望的联系方式和频次，并照此执行。",
        ],
        [
            "Apologise for the disturbance and say contact frequency has been reduced.",
            "Let the customer choose the channel and frequency they want, and keep to it.",
        ],
        channel="wechat",
        seniority=3,
        offer_preference="perk",
    ),
    _pb(
        "poor_results",
        "product",
        "results_review",
        "复盘方案和效果，设定可衡量的效果目标，并安排定期回顾。",
        "Review the plan and its results; set measurable goals and schedule regular reviews.",
        [
            "请客户具体说明期望和实际效果的差距。",
            "由专业人员分析原因，提出调整方案。",
            "约定可以衡量的目标和回顾时间。",
        ],
        [
            "Ask the customer how the results fell short of what they expected.",
            "Have a specialist analyse why and propose an adjusted plan.",
            "Agree measurable goals and a date to review them together.",
        ],
        seniority=3,
        offer_preference="perk",
    ),
    _pb(
        "moved_away",
        "operations",
        "remote_service",
        "提供配送、线上服务，或转介到离客户最近的门店。",
        "Offer delivery, online service, or a hand-over to the store nearest the customer.",
        [
            "确认客户现在的位置，介绍最近的门店或配送服务。",
            "如果无法服务，礼貌道别并保留客户的会员权益。",
        ],
        [
            "Confirm where the customer lives now; suggest the nearest store or delivery.",
            "If we cannot serve them, say goodbye politely and keep their member benefits.",
        ],
        channel="wechat",
        offer_preference="perk",
    ),
    _pb(
        "competitor",
        "marketing",
        "competitive_review",
        "与竞争对手对比价格、服务和位置，强化我们的差异化。",
        "Compare with the competitor on price, service and location; sharpen what sets us apart.",
        [
            "了解客户选择对方的原因，不贬低对方。",
            "介绍我们在客户最看重的方面能提供什么。",
        ],
        [
            "Find out why the customer chose them, without criticising the competitor.",
            "Explain what we offer on the point the customer cares about most.",
        ],
        seniority=2,
    ),
    _pb(
        "budget_cut",
        "pricing_merchandising",
        "flexible_packages",
        "提供小额、分阶段或按需付费的套餐。",
        "Offer smaller, staged or pay-as-you-go packages.",
        [
            "理解客户的预算变化。",
            "推荐与现有预算匹配的小额或分阶段方案。",
        ],
        [
            "Acknowledge the change in budget.",
            "Suggest a smaller or staged option that fits the current budget.",
        ],
        seniority=2,
        offer_preference="price",
    ),
    _pb(
        "contact_changed",
        "sales",
        "relationship_mapping",
        "建立多层级的对接关系，尽早与新负责人建立联系。",
        "Build relationships at several levels; meet the new person in charge early.",
        [
            "请求与新的负责人见面，介绍过去的合作成果。",
            "了解新负责人的目标和评价标准。",
        ],
        [
            "Ask to meet the new person in charge and present what the account has achieved.",
            "Learn the new contact's goals and how they will judge success.",
        ],
        channel="visit",
        seniority=3,
    ),
    _pb(
        "off_season",
        "marketing",
        "seasonal_plan",
        "提前规划淡季活动和旺季前的提醒。",
        "Plan off-season activities and reminders ahead of the busy season.",
        [
            "确认客户的旺季时间，约定届时联系。",
            "介绍淡季可以提前准备的服务。",
        ],
        [
            "Confirm when the customer's busy season starts and agree to call then.",
            "Mention what can be prepared during the quiet period.",
        ],
        channel="sms",
    ),
    _pb(
        "restructured",
        "sales",
        "account_review",
        "重新梳理客户的组织和需求，找到新的决策人。",
        "Re-map the customer's organisation and needs; find the new decision makers.",
        [
            "了解重组后的组织和决策方式。",
            "提出适合新情况的合作方案。",
        ],
        [
            "Learn how the organisation and decisions work after the restructuring.",
            "Propose a way of working that fits the new situation.",
        ],
        seniority=2,
    ),
    _pb(
        "need_changed",
        "product",
        "range_review",
        "了解客户的新需求，评估是否扩展产品或服务。",
        "Learn what the customer needs now; consider widening the range.",
        [
            "询问客户现在的需求。",
            "介绍与新需求相关的产品或服务。",
        ],
        [
            "Ask what the customer needs now.",
            "Present products or services that match the new need.",
        ],
    ),
    _pb(
        "life_change",
        "crm",
        "life_stage_offers",
        "按人生阶段调整服务和沟通内容。",
        "Adapt services and messages to life stages.",
        [
            "表示关心和祝贺（或问候），不急于推销。",
            "介绍适合客户新阶段的服务。",
        ],
        [
            "Show care or congratulations first; do not rush to sell.",
            "Mention services that suit the customer's new situation.",
        ],
        channel="wechat",
    ),
    _pb(
        "habit_lapsed",
        "crm",
        "cycle_reminders",
        "按客户自己的购买周期发送提醒。",
        "Send reminders timed to the customer's own purchase cycle.",
        [
            "友好提醒客户上次购买的时间和常买的品类。",
            "提供一个便于再次开始的小理由，例如预约或小礼品。",
        ],
        [
            "Remind the customer, in a friendly way, of their last visit and usual categories.",
            "Give an easy reason to start again, such as a booked slot or a small gift.",
        ],
        channel="sms",
    ),
    _pb(
        "not_found",
        "customer_service",
        "better_diagnosis",
        "改进回访问卷和倾听技巧，找出真实原因。",
        "Improve the callback questionnaire and listening skills to find the real reasons.",
        [
            "用开放式问题了解客户的体验，不急于给出优惠。",
            "复述客户的话确认理解，记录下真实原因。",
        ],
        [
            "Ask open questions about the customer's experience; do not lead with an offer.",
            "Repeat back what you heard to confirm it and record the real reason.",
        ],
        seniority=2,
    ),
]

STAGE_POLICIES: list[dict[str, Any]] = [
    {
        "stage": "active",
        "approach": "care",
        "zh": "以解答和关怀为主，少推销。",
        "en": "Answer questions and care; little selling.",
        "max_contacts": 2,
        "window_days": 30,
        "channels": ["wechat", "sms", "phone"],
        "incentive": "none",
        "team": "care",
    },
    {
        "stage": "silent",
        "approach": "light_touch",
        "zh": "定期轻度触达，给予小额激励。",
        "en": "Regular light touches with small incentives.",
        "max_contacts": 3,
        "window_days": 30,
        "channels": ["sms", "wechat", "phone"],
        "incentive": "small",
        "team": "care",
    },
    {
        "stage": "sleeping",
        "approach": "targeted",
        "zh": "少联系，给出精准优惠，避免打扰。",
        "en": "Few contacts, targeted offers, avoid annoying.",
        "max_contacts": 2,
        "window_days": 60,
        "channels": ["phone", "wechat"],
        "incentive": "targeted",
        "team": "winback",
    },
    {
        "stage": "lost",
        "approach": "minimal",
        "zh": "尽量少联系，只参与大型活动，由专门的挽回团队负责。",
        "en": "Minimal contact, only big campaigns, handled by the dedicated win-back team.",
        "max_contacts": 2,
        "window_days": 90,
        "channels": ["phone"],
        "incentive": "campaign",
        "team": "winback",
    },
]

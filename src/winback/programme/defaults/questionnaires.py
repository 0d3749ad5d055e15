"""Default callback questionnaires (zh/en); every answer option maps to leave-reason codes."""

from __future__ import annotations

from typing import Any

QUESTIONNAIRES: list[dict[str, Any]] = [
    {
        "code": "callback_first",
        "zh": "回访问卷（首次联系）",
        "en": "Callback questionnaire (first contact)",
        "questions": [
            {
                "code": "why_stopped",
                "kind": "multi",
                "zh": "您最近较少光顾，主要是因为什么？（可多选）",
                "en": "What are the main reasons you have visited us less lately? (any)",
                "options": [
                    {
                        "code": "price",
                        "zh": "价格偏高",
                        "en": "Prices are too high",
                        "reasons": ["price"],
                    },
                    {
                        "code": "service",
                        "zh": "对服务态度不满意",
                        "en": "Unhappy with how staff treated me",
                        "reasons": ["attitude"],
                    },
                    {
                        "code": "waiting",
                        "zh": "等待时间太长",
                        "en": "Waiting too long",
                        "reasons": ["speed"],
                    },
                    {
                        "code": "timing",
                        "zh": "时间不方便、预约难",
                        "en": "Hard to find a convenient time",
                        "reasons": ["timing"],
                    },
                    {
                        "code": "quality",
                        "zh": "产品或服务质量有问题",
                        "en": "A problem with product or service quality",
                        "reasons": ["quality"],
                    },
                    {
                        "code": "results",
                        "zh": "效果没有达到预期",
                        "en": "The results were below my expectations",
                        "reasons": ["poor_results"],
                    },
                    {
                        "code": "promise",
                        "zh": "之前答应的事没有做到",
                        "en": "Something promised was not delivered",
                        "reasons": ["broken_promise"],
                    },
                    {
                        "code": "moved",
                        "zh": "搬家或距离太远",
                        "en": "I moved or it is too far",
                        "reasons": ["moved_away"],
                    },
                    {
                        "code": "competitor",
                        "zh": "去了其他商家",
                        "en": "I went to another business",
                        "reasons": ["competitor"],
                    },
                    {
                        "code": "no_need",
                        "zh": "暂时没有需要",
                        "en": "No need right now",
                        "reasons": ["need_changed", "off_season"],
                    },
                    {
                        "code": "life",
                        "zh": "家庭或工作有变化",
                        "en": "Changes at home or work",
                        "reasons": ["life_change"],
                    },
                    {
                        "code": "busy",
                        "zh": "最近太忙，忘了",
                        "en": "Busy lately, simply forgot",
                        "reasons": ["habit_lapsed"],
                    },
                    {
                        "code": "too_many",
                        "zh": "电话或信息太多",
                        "en": "Too many calls or messages",
                        "reasons": ["too_many_calls"],
                    },
                    {
                        "code": "other",
                        "zh": "其他（请说明）",
                        "en": "Other (please describe)",
                        "reasons": [],
                    },
                ],
            },
            {
                "code": "what_to_improve",
                "kind": "single",
                "zh": "我们改进哪一点，最能让您愿意再来？",
                "en": "Which one change would most make you want to come back?",
                "options": [
                    {
                        "code": "prices",
                        "zh": "价格更实惠",
                        "en": "Better prices",
                        "reasons": ["price"],
                    },
                    {
                        "code": "service",
                        "zh": "服务更用心",
                        "en": "Friendlier service",
                        "reasons": ["attitude"],
                    },
                    {
                        "code": "faster",
                        "zh": "更快、少等待",
                        "en": "Faster, less waiting",
                        "reasons": ["speed"],
                    },
                    {
                        "code": "clear_prices",
                        "zh": "收费更透明",
                        "en": "Clearer pricing",
                        "reasons": ["transparency"],
                    },
                    {
                        "code": "fewer_calls",
                        "zh": "少打扰我",
                        "en": "Contact me less",
                        "reasons": ["too_many_calls"],
                    },
                    {
                        "code": "delivery",
                        "zh": "送货上门或线上服务",
                        "en": "Delivery or online service",
                        "reasons": ["moved_away"],
                    },
                    {
                        "code": "nothing",
                        "zh": "没有特别的",
                        "en": "Nothing in particular",
                        "reasons": [],
                    },
                ],
            },
            {
                "code": "comments",
                "kind": "text",
                "zh": "还有什么想告诉我们的吗？",
                "en": "Is there anything else you would like to tell us?",
                "options": [],
            },
        ],
    },
    {
        "code": "account_review",
        "zh": "企业客户暂停合作回访",
        "en": "Business account review (paused account)",
        "questions": [
            {
                "code": "main_reason",
                "kind": "single",
                "zh": "贵公司暂停合作的主要原因是？",
                "en": "What is the main reason your company paused the account?",
                "options": [
                    {
                        "code": "results",
                        "zh": "投入产出效果不理想",
                        "en": "Results did not justify the spend",
                        "reasons": ["poor_results"],
                    },
                    {
                        "code": "budget",
                        "zh": "预算削减",
                        "en": "Budget was cut",
                        "reasons": ["budget_cut"],
                    },
                    {
                        "code": "contact",
                        "zh": "负责人或对接人变更",
                        "en": "The person in charge changed",
                        "reasons": ["contact_changed"],
                    },
                    {
                        "code": "restructure",
                        "zh": "公司重组或业务调整",
                        "en": "Company restructuring",
                        "reasons": ["restructured"],
                    },
                    {
                        "code": "season",
                        "zh": "业务淡季",
                        "en": "Off-season for our business",
                        "reasons": ["off_season"],
                    },
                    {
                        "code": "competitor",
                        "zh": "选择了其他服务商",
                        "en": "We chose another provider",
                        "reasons": ["competitor"],
                    },
                    {
                        "code": "price",
                        "zh": "价格偏高",
                        "en": "Price too high",
                        "reasons": ["price"],
                    },
                    {
                        "code": "service",
                        "zh": "服务响应不及时",
                        "en": "Service was slow to respond",
                        "reasons": ["speed"],
                    },
                    {"code": "other", "zh": "其他", "en": "Other", "reasons": []},
                ],
            },
            {
                "code": "details",
                "kind": "text",
                "zh": "请具体说说情况，方便我们改进。",
                "en": "Please tell us more so we can improve.",
                "options": [],
            },
        ],
    },
]

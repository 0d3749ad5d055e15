"""Column contracts, declared once: what each import kind and each analytics frame holds.

Every header a user's file may carry is mapped to a canonical field through the synonyms
below (Chinese and English, matched after normalisation: case, width, spaces, punctuation).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from winback.vocabulary import Channel, Direction, Outcome


class FieldType(StrEnum):
    TEXT = "text"
    DATE = "date"
    DATETIME = "datetime"
    MONEY = "money"  # parsed to integer cents
    INT = "int"
    DECIMAL = "decimal"
    BOOL = "bool"
    CHOICE = "choice"
    LIST = "list"  # separated by , ; | 、


@dataclass(frozen=True)
class Field:
    name: str
    type: FieldType
    required: bool = False
    synonyms: tuple[str, ...] = ()
    choices: tuple[tuple[str, tuple[str, ...]], ...] = ()  # canonical -> accepted spellings
    max_length: int | None = None


@dataclass(frozen=True)
class ImportContract:
    kind: str
    fields: tuple[Field, ...]
    key: tuple[str, ...]  # natural key; empty values fall back to a content hash
    derived_key_ok: bool  # may the key be derived when the column is missing?

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def with_choices(
        self, name: str, choices: tuple[tuple[str, tuple[str, ...]], ...]
    ) -> ImportContract:
        """This contract with the accepted values of field ``name`` replaced (the event types
        a business configured replace the built-in ones)."""
        fields = tuple(replace(f, choices=choices) if f.name == name else f for f in self.fields)
        return replace(self, fields=fields)


_CUSTOMER_ID = Field(
    "customer_id",
    FieldType.TEXT,
    required=True,
    synonyms=(
        "客户编号",
        "客户号",
        "客户ID",
        "客户id",
        "会员号",
        "会员编号",
        "会员卡号",
        "会员ID",
        "卡号",
        "顾客编号",
        "用户ID",
        "用户编号",
        "customer",
        "customer id",
        "customer_no",
        "member id",
        "member_id",
        "member no",
        "card no",
        "client id",
        "cust_id",
        "customerid",
    ),
    max_length=64,
)
_STORE = Field(
    "store_code",
    FieldType.TEXT,
    synonyms=(
        "门店",
        "门店编号",
        "门店代码",
        "店铺",
        "分店",
        "网点",
        "store",
        "store id",
        "branch",
        "shop",
    ),
    max_length=64,
)
_CHANNEL = Field(
    "channel", FieldType.TEXT, synonyms=("渠道", "来源渠道", "销售渠道", "source"), max_length=50
)
_AMOUNT = Field(
    "amount",
    FieldType.MONEY,
    required=True,
    synonyms=(
        "消费金额",
        "实收金额",
        "金额",
        "实付金额",
        "订单金额",
        "交易金额",
        "销售额",
        "应收金额",
        "amount",
        "total",
        "sales",
        "order amount",
        "paid",
        "revenue",
        "value",
    ),
)
_BOOL_TRUE = ("1", "true", "yes", "y", "t", "是", "对", "有", "已", "√", "同意")
_BOOL_FALSE = ("0", "false", "no", "n", "f", "否", "不", "无", "未", "×", "不同意")
BOOL_SPELLINGS: dict[bool, tuple[str, ...]] = {True: _BOOL_TRUE, False: _BOOL_FALSE}

# The built-in event types and their shipped spellings. The types an import accepts are the
# active ones the business configured (winback.store.customers.models.EventTypeDefinition,
# seeded with these): each is accepted by its code, its two names, and for a built-in type
# also by the spellings below. A built-in type's code is also its role (vocabulary.EventRole).
EVENT_TYPES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("referral", ("推荐", "转介绍", "介绍", "推荐朋友", "老带新", "referral", "refer")),
    ("forum_post", ("发帖", "论坛发帖", "帖子", "话题", "post", "forum post")),
    ("forum_reply", ("回帖", "跟帖", "回复", "评论", "reply", "forum reply", "comment")),
    ("qa_answer", ("答疑", "回答", "问答", "解答", "answer", "qa", "q&a")),
    (
        "event_attendance",
        ("活动", "参加活动", "市场活动", "活动参与", "event", "attendance", "campaign"),
    ),
    ("survey_response", ("问卷", "调查", "调查问卷", "满意度", "survey", "nps")),
    ("suggestion", ("建议", "意见", "suggestion", "idea", "feedback")),
    ("complaint", ("投诉", "抱怨", "complaint")),
)
CONTACT_CHANNELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (Channel.PHONE.value, ("电话", "手机", "呼叫", "call", "phone", "tel")),
    (Channel.SMS.value, ("短信", "sms", "text")),
    (Channel.WECHAT.value, ("微信", "wechat", "weixin", "企业微信")),
    (Channel.VISIT.value, ("拜访", "上门", "面访", "到店", "visit")),
    (Channel.EMAIL.value, ("邮件", "电子邮件", "email", "e-mail", "mail")),
)
CONTACT_OUTCOMES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        Outcome.NOT_REACHED.value,
        ("未接通", "未接", "无人接听", "关机", "占线", "not reached", "no answer"),
    ),
    (
        Outcome.REACHED.value,
        ("接通", "已接通", "成功", "联系上", "reached", "answered", "connected"),
    ),
    (Outcome.REFUSED.value, ("拒绝", "拒接", "refused", "declined")),
    (Outcome.CALL_BACK.value, ("稍后回电", "再联系", "改天", "call back", "callback", "later")),
    (Outcome.DO_NOT_CONTACT.value, ("勿扰", "不要联系", "拒绝再联系", "do not contact", "dnc")),
    (Outcome.WRONG_NUMBER.value, ("空号", "错号", "号码错误", "wrong number")),
)


@dataclass(frozen=True)
class ScoreColumn:
    name: str
    decimals: int | None = None  # a float: shown rounded to this many decimals


# One customer's row of an analysis as people get it: the score export's columns (in order),
# the API's score fields and the workbench's customer sheet. Every float is shown rounded to
# its decimals by one rule (``winback.store.export.rounded_scores``) wherever it appears.
SCORE_COLUMNS: tuple[ScoreColumn, ...] = (
    ScoreColumn("customer_id"),
    ScoreColumn("as_of"),
    ScoreColumn("stage"),
    ScoreColumn("customer_type"),
    ScoreColumn("status"),
    ScoreColumn("churn_score", 2),
    ScoreColumn("churn_probability", 4),
    ScoreColumn("p_alive", 4),
    ScoreColumn("expected_purchases_365", 4),
    ScoreColumn("clv_365", 2),
    ScoreColumn("value_index", 4),
    ScoreColumn("tier"),
    ScoreColumn("rfm_octant"),
    ScoreColumn("abc_class"),
    ScoreColumn("early_warning"),
    ScoreColumn("retention_action"),
    ScoreColumn("days_since_last"),
    ScoreColumn("expected_interval_days", 1),
    ScoreColumn("top_signals"),
)
SCORE_DECIMALS: dict[str, int] = {
    c.name: c.decimals for c in SCORE_COLUMNS if c.decimals is not None
}

CONTRACTS: dict[str, ImportContract] = {
    "stores": ImportContract(
        "stores",
        (
            Field("store_code", FieldType.TEXT, True, _STORE.synonyms, max_length=64),
            Field(
                "name",
                FieldType.TEXT,
                synonyms=("门店名称", "店名", "名称", "store name"),
                max_length=200,
            ),
            Field("city", FieldType.TEXT, synonyms=("城市", "所在城市", "city"), max_length=100),
        ),
        key=("store_code",),
        derived_key_ok=False,
    ),
    "customers": ImportContract(
        "customers",
        (
            _CUSTOMER_ID,
            Field(
                "name",
                FieldType.TEXT,
                synonyms=(
                    "姓名",
                    "客户姓名",
                    "会员姓名",
                    "客户名称",
                    "名字",
                    "full name",
                    "customer name",
                ),
                max_length=100,
            ),
            Field(
                "phone",
                FieldType.TEXT,
                synonyms=(
                    "手机",
                    "手机号",
                    "手机号码",
                    "联系电话",
                    "电话",
                    "mobile",
                    "phone number",
                    "tel",
                    "telephone",
                ),
                max_length=32,
            ),
            Field(
                "email",
                FieldType.TEXT,
                synonyms=("邮箱", "电子邮箱", "e-mail", "mail"),
                max_length=200,
            ),
            Field(
                "gender",
                FieldType.CHOICE,
                synonyms=("性别", "sex"),
                choices=(("F", ("女", "f", "female", "woman")), ("M", ("男", "m", "male", "man"))),
            ),
            Field(
                "birthday",
                FieldType.DATE,
                synonyms=("生日", "出生日期", "birth date", "dob", "date of birth"),
            ),
            Field(
                "join_date",
                FieldType.DATE,
                synonyms=(
                    "入会日期",
                    "注册日期",
                    "开卡日期",
                    "加入日期",
                    "注册时间",
                    "joined",
                    "signup date",
                    "registration date",
                ),
            ),
            _STORE,
            _CHANNEL,
            Field(
                "decision_style",
                FieldType.CHOICE,
                synonyms=("决策风格", "客户颜色", "性格", "decision style", "colour"),
                choices=(
                    ("rational", ("理性", "rational", "蓝")),
                    ("emotional", ("感性", "emotional", "红")),
                ),
            ),
            Field("tags", FieldType.LIST, synonyms=("标签", "客户标签", "labels")),
            Field(
                "consent_marketing",
                FieldType.BOOL,
                synonyms=(
                    "营销同意",
                    "同意营销",
                    "接受营销",
                    "marketing consent",
                    "consent",
                    "opt in",
                ),
            ),
            Field(
                "do_not_contact",
                FieldType.BOOL,
                synonyms=("勿扰", "免打扰", "拒绝联系", "dnc", "do not call"),
            ),
            Field("do_not_contact_date", FieldType.DATE, synonyms=("勿扰日期", "dnc date")),
            Field(
                "reconsent_date",
                FieldType.DATE,
                synonyms=("重新同意日期", "再次同意日期", "re-consent date", "reconsent date"),
            ),
            Field(
                "do_not_contact_source",
                FieldType.TEXT,
                synonyms=("勿扰来源", "dnc source"),
                max_length=100,
            ),
            Field("notes", FieldType.TEXT, synonyms=("备注", "说明", "note", "remarks")),
        ),
        key=("customer_id",),
        derived_key_ok=False,
    ),
    "categories": ImportContract(
        "categories",
        (
            Field(
                "category_code",
                FieldType.TEXT,
                True,
                ("品类编号", "品类代码", "类别编号", "分类编码", "品类", "category", "category id"),
                max_length=64,
            ),
            Field(
                "name",
                FieldType.TEXT,
                synonyms=("品类名称", "类别名称", "分类名称", "category name"),
                max_length=200,
            ),
            Field("name_en", FieldType.TEXT, synonyms=("英文名称", "english name"), max_length=200),
            Field(
                "parent_code",
                FieldType.TEXT,
                synonyms=("上级品类", "父类", "parent"),
                max_length=64,
            ),
            Field(
                "necessity",
                FieldType.CHOICE,
                synonyms=("必要性", "消费类型", "是否必需"),
                choices=(
                    (
                        "necessary",
                        ("必需", "必要", "刚需", "必需品", "necessary", "essential", "是", "yes"),
                    ),
                    (
                        "discretionary",
                        (
                            "非必需",
                            "非必要",
                            "可选",
                            "改善型",
                            "discretionary",
                            "optional",
                            "否",
                            "no",
                        ),
                    ),
                ),
            ),
            Field(
                "replenishment_days",
                FieldType.INT,
                synonyms=(
                    "补货周期",
                    "复购周期",
                    "使用周期",
                    "周期天数",
                    "replenishment",
                    "replenishment interval",
                    "cycle days",
                ),
            ),
        ),
        key=("category_code",),
        derived_key_ok=False,
    ),
    "products": ImportContract(
        "products",
        (
            Field(
                "sku",
                FieldType.TEXT,
                True,
                (
                    "商品编号",
                    "商品编码",
                    "货号",
                    "产品编号",
                    "条码",
                    "product",
                    "product id",
                    "item",
                    "item no",
                ),
                max_length=64,
            ),
            Field(
                "name",
                FieldType.TEXT,
                synonyms=("商品名称", "产品名称", "品名", "product name", "item name"),
                max_length=200,
            ),
            Field(
                "category_code",
                FieldType.TEXT,
                synonyms=("品类", "品类编号", "类别", "分类", "category"),
                max_length=64,
            ),
            Field(
                "unit_price",
                FieldType.MONEY,
                synonyms=("单价", "售价", "价格", "price", "unit price"),
            ),
        ),
        key=("sku",),
        derived_key_ok=False,
    ),
    "orders": ImportContract(
        "orders",
        (
            Field(
                "order_id",
                FieldType.TEXT,
                synonyms=(
                    "订单号",
                    "订单编号",
                    "单号",
                    "流水号",
                    "小票号",
                    "交易号",
                    "order",
                    "order no",
                    "order number",
                    "receipt",
                    "transaction id",
                ),
                max_length=80,
            ),
            _CUSTOMER_ID,
            Field(
                "order_date",
                FieldType.DATETIME,
                True,
                (
                    "下单时间",
                    "消费日期",
                    "日期",
                    "消费时间",
                    "交易时间",
                    "交易日期",
                    "订单日期",
                    "购买日期",
                    "date",
                    "order date",
                    "order time",
                    "purchase date",
                    "timestamp",
                ),
            ),
            _AMOUNT,
            _STORE,
            _CHANNEL,
            Field(
                "coupon_code",
                FieldType.TEXT,
                synonyms=(
                    "优惠券",
                    "优惠码",
                    "券码",
                    "活动码",
                    "coupon",
                    "offer code",
                    "promo code",
                ),
                max_length=64,
            ),
        ),
        key=("order_id",),
        derived_key_ok=True,
    ),
    "order-lines": ImportContract(
        "order-lines",
        (
            Field(
                "order_id",
                FieldType.TEXT,
                True,
                (
                    "订单号",
                    "订单编号",
                    "单号",
                    "流水号",
                    "小票号",
                    "order",
                    "order no",
                    "order number",
                ),
                max_length=80,
            ),
            Field(
                "line_no", FieldType.INT, synonyms=("行号", "序号", "明细行号", "line", "line no")
            ),
            Field(
                "sku",
                FieldType.TEXT,
                synonyms=("商品编号", "商品编码", "货号", "product", "product id", "item"),
                max_length=64,
            ),
            Field(
                "category_code",
                FieldType.TEXT,
                synonyms=("品类", "品类编号", "类别", "分类", "category"),
                max_length=64,
            ),
            Field("quantity", FieldType.DECIMAL, synonyms=("数量", "件数", "qty", "quantity")),
            Field(
                "amount",
                FieldType.MONEY,
                True,
                (
                    "行金额",
                    "金额",
                    "小计",
                    "实收金额",
                    "消费金额",
                    "amount",
                    "line amount",
                    "subtotal",
                ),
            ),
        ),
        key=("order_id", "line_no"),
        derived_key_ok=True,
    ),
    "events": ImportContract(
        "events",
        (
            Field(
                "event_id",
                FieldType.TEXT,
                synonyms=("记录编号", "事件编号", "编号", "event id", "record id", "id"),
                max_length=80,
            ),
            _CUSTOMER_ID,
            Field(
                "event_type",
                FieldType.CHOICE,
                True,
                ("类型", "互动类型", "事件类型", "行为类型", "type", "event type"),
                choices=EVENT_TYPES,
            ),
            Field(
                "occurred_at",
                FieldType.DATETIME,
                True,
                ("日期", "时间", "发生时间", "发生日期", "date", "time", "occurred at"),
            ),
            Field(
                "referred_customer_id",
                FieldType.TEXT,
                synonyms=("被推荐人", "被推荐客户", "referred customer", "referred id"),
                max_length=64,
            ),
            Field(
                "referred_bought",
                FieldType.BOOL,
                synonyms=("被推荐人是否购买", "是否成交", "referred bought", "converted"),
            ),
            Field(
                "campaign_code",
                FieldType.TEXT,
                synonyms=("活动编号", "活动", "campaign", "campaign id", "event code"),
                max_length=64,
            ),
            Field(
                "survey_code",
                FieldType.TEXT,
                synonyms=("问卷编号", "问卷", "survey", "survey id"),
                max_length=64,
            ),
            Field(
                "score",
                FieldType.INT,
                synonyms=("评分", "分数", "满意度", "nps", "score", "rating"),
            ),
            Field("adopted", FieldType.BOOL, synonyms=("是否采纳", "采纳", "adopted")),
            Field(
                "complaint_category",
                FieldType.TEXT,
                synonyms=("投诉类别", "投诉类型", "complaint category"),
                max_length=64,
            ),
            Field("resolved", FieldType.BOOL, synonyms=("是否解决", "已解决", "resolved")),
            Field(
                "resolved_at", FieldType.DATETIME, synonyms=("解决时间", "解决日期", "resolved at")
            ),
            Field("text", FieldType.TEXT, synonyms=("内容", "正文", "描述", "text", "content")),
        ),
        key=("event_id",),
        derived_key_ok=True,
    ),
    "contacts": ImportContract(
        "contacts",
        (
            Field(
                "contact_id",
                FieldType.TEXT,
                synonyms=("联系编号", "记录编号", "编号", "contact id", "id"),
                max_length=80,
            ),
            _CUSTOMER_ID,
            Field(
                "channel",
                FieldType.CHOICE,
                True,
                ("联系方式", "渠道", "方式", "channel"),
                choices=CONTACT_CHANNELS,
            ),
            Field(
                "direction",
                FieldType.CHOICE,
                synonyms=("方向", "呼入呼出", "direction"),
                choices=(
                    (Direction.OUTBOUND.value, ("呼出", "外呼", "主动", "outbound", "out")),
                    (Direction.INBOUND.value, ("呼入", "来电", "被动", "inbound", "in")),
                ),
            ),
            Field(
                "agent",
                FieldType.TEXT,
                synonyms=("坐席", "客服", "联系人", "经办人", "员工", "agent", "staff"),
                max_length=100,
            ),
            Field(
                "outcome",
                FieldType.CHOICE,
                True,
                ("结果", "联系结果", "通话结果", "outcome", "result"),
                choices=CONTACT_OUTCOMES,
            ),
            Field(
                "occurred_at",
                FieldType.DATETIME,
                True,
                ("联系时间", "时间", "日期", "date", "time", "contacted at"),
            ),
            Field("duration_seconds", FieldType.INT, synonyms=("时长", "通话时长", "duration")),
            Field(
                "reason_code",
                FieldType.TEXT,
                synonyms=("流失原因", "原因", "reason"),
                max_length=64,
            ),
            Field("offer_code", FieldType.TEXT, synonyms=("优惠", "方案", "offer"), max_length=64),
            Field(
                "promised_return_date",
                FieldType.DATE,
                synonyms=("承诺回访日期", "预计回店日期", "promised date"),
            ),
            Field("notes", FieldType.TEXT, synonyms=("备注", "记录", "notes", "note")),
        ),
        key=("contact_id",),
        derived_key_ok=True,
    ),
}

IMPORT_KINDS: tuple[str, ...] = tuple(CONTRACTS)


class RejectReason(StrEnum):
    """Why an imported row was rejected. The core reports codes; messages live in ingest."""

    MISSING_REQUIRED = "missing_required"
    BAD_DATE = "bad_date"
    BAD_AMOUNT = "bad_amount"
    BAD_NUMBER = "bad_number"
    BAD_CHOICE = "bad_choice"
    BAD_BOOL = "bad_bool"
    TOO_LONG = "too_long"
    DUPLICATE_KEY = "duplicate_key"
    UNKNOWN_CUSTOMER = "unknown_customer"
    UNKNOWN_ORDER = "unknown_order"
    WRONG_COLUMN_COUNT = "wrong_column_count"
    CONTROL_CHARACTER = "control_character"
    DATE_OUT_OF_RANGE = "date_out_of_range"
    UNKNOWN_CODE = "unknown_code"


# Import order that satisfies references (customers before orders, orders before lines).
IMPORT_ORDER: tuple[str, ...] = (
    "stores",
    "categories",
    "products",
    "customers",
    "orders",
    "order-lines",
    "events",
    "contacts",
)

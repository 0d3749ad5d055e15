"""The files a business would hand over: one text frame per import kind.

Each ``*_export`` function returns an :class:`Export`: the file name, its encoding, the
header each canonical field gets, the good rows (as chunks, so twenty million order lines never
sit in memory as text at once) and the recipes for the bad rows mixed into it. Header texts
are synonyms declared in :data:`winback.schema.CONTRACTS`; value spellings are accepted
spellings of the schema's choices and booleans.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import polars as pl

from winback.schema import CONTACT_CHANNELS, CONTACT_OUTCOMES, RejectReason
from winback.simulate import formats, vocab
from winback.simulate.calendar import Window
from winback.simulate.contacts import NOT_FOUND_REASON, Consent, Contacts
from winback.simulate.engagement import EVENT_CODES, Events
from winback.simulate.industries import IndustrySpec
from winback.simulate.output import Recipe
from winback.simulate.population import IntArray, Population
from winback.simulate.purchases import COUPON_SEASONAL, COUPON_WELCOME, Catalogue, Lines, Orders
from winback.simulate.reasons import TRUE_REASONS

CHUNK_ROWS = 1_000_000
BAD_DATE = "2023-13-45"
UNKNOWN_EVENT_TYPE = "抽奖"
UNKNOWN_OUTCOME = "其他"
TOO_LONG_NOTE = "顾客要求在此栏记录详细说明：" + "请在下次到店时提醒会员积分即将过期并赠送礼品" * 6
TOO_LONG_COUPON = "https://promo.example.cn/campaign/landing?utm_source=sms&utm_medium=coupon&id=1"


@dataclass(frozen=True)
class Export:
    kind: str
    filename: str
    encoding: str | None  # Python codec; None for xlsx
    headers: dict[str, str]  # canonical field -> header text in the file
    good_rows: int
    chunks: Callable[[], Iterator[pl.DataFrame]]
    recipes: list[Recipe] = field(default_factory=list)
    stub_customers: int | None = None

    @property
    def is_xlsx(self) -> bool:
        return self.filename.endswith(".xlsx")


@dataclass(frozen=True)
class World:
    """Everything simulated, plus the external ids the exports use."""

    spec: IndustrySpec
    window: Window
    people: Population
    catalogue: Catalogue
    orders: Orders
    order_amount: IntArray
    coupon_kind: IntArray
    lines: Lines
    events: Events
    contacts: Contacts
    consent: Consent
    pools: vocab.NamePools
    external_id: pl.Series  # per simulated customer
    reason: IntArray


def external_ids(people: Population) -> pl.Series:
    """Member numbers in join order (``C0000001``); walk-ins carry the till's ids (``W00001``)."""
    n = people.size
    width = max(7, len(str(n)) + 1)
    member_rank = np.cumsum(~people.walk_in, dtype=np.int64)
    walk_rank = np.cumsum(people.walk_in, dtype=np.int64)
    members = formats.padded_ids("C", member_rank, width, "id")
    walk_ins = formats.padded_ids("W", walk_rank, 5, "id")
    mask = pl.Series(people.walk_in)
    return pl.select(pl.when(mask).then(walk_ins).otherwise(members).alias("id")).to_series()


def fresh_customer_id(people: Population, k: int) -> str:
    """An id after every real member number, for rows that must not match a customer."""
    width = max(7, len(str(people.size)) + 1)
    return f"C{int((~people.walk_in).sum()) + 1 + k:0{width}d}"


def _yes_no(flag: npt.NDArray[np.bool_], yes: str, no: str, name: str) -> pl.Series:
    return formats.lookup((no, yes), flag.astype(np.int64), name)


def _chunked(size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, size, CHUNK_ROWS):
        yield start, min(start + CHUNK_ROWS, size)


# -- master data ---------------------------------------------------------------------------


def store_codes(spec: IndustrySpec) -> list[str]:
    return [f"S{i + 1:02d}" for i in range(spec.store_count)]


def stores_export(spec: IndustrySpec) -> Export:
    places = [vocab.CITIES[i % len(vocab.CITIES)] for i in range(spec.store_count)]
    frame = pl.DataFrame(
        {
            "store_code": store_codes(spec),
            "name": [f"{city}{district}{spec.store_suffix}" for city, district in places],
            "city": [city for city, _ in places],
        }
    )
    return Export(
        "stores",
        "stores.csv",
        "utf-8",
        {"store_code": "store", "name": "store name", "city": "city"},
        frame.height,
        lambda: iter([frame]),
    )


def categories_export(spec: IndustrySpec) -> Export:
    cats = spec.categories
    frame = pl.DataFrame(
        {
            "category_code": [c.code for c in cats],
            "name": [c.zh for c in cats],
            "name_en": [c.en for c in cats],
            "necessity": ["必需" if c.necessary else "非必需" for c in cats],
            "replenishment_days": [
                None if c.replenishment_days is None else str(c.replenishment_days) for c in cats
            ],
        },
        schema=dict.fromkeys(
            ("category_code", "name", "name_en", "necessity", "replenishment_days"), pl.String
        ),
    )
    headers = {
        "category_code": "品类编号",
        "name": "品类名称",
        "name_en": "英文名称",
        "necessity": "是否必需",
        "replenishment_days": "复购周期",
    }
    return Export(
        "categories", "categories.csv", "utf-8", headers, frame.height, lambda: iter([frame])
    )


def catalogue(spec: IndustrySpec) -> tuple[Catalogue, pl.DataFrame]:
    """Products per category, priced evenly on a log scale across the category's range."""
    skus: list[str] = []
    names: list[str] = []
    category_codes: list[str] = []
    prices: list[int] = []
    owners: list[int] = []
    first: list[int] = []
    count: list[int] = []
    for index, cat in enumerate(spec.categories):
        first.append(len(skus))
        count.append(len(cat.products))
        low, high = cat.price_range
        steps = np.geomspace(low, high, len(cat.products)) if len(cat.products) > 1 else [low]
        for k, (product, price) in enumerate(zip(cat.products, steps, strict=True)):
            skus.append(f"{cat.code}-{k + 1:03d}")
            names.append(product)
            category_codes.append(cat.code)
            prices.append(round(float(price)) * 100)
            owners.append(index)
    popularity = np.array([c.popularity for c in spec.categories])
    table = Catalogue(
        category_of_product=np.array(owners, dtype=np.int64),
        unit_price_cents=np.array(prices, dtype=np.int64),
        first_product=np.array(first, dtype=np.int64),
        product_count=np.array(count, dtype=np.int64),
        max_quantity=np.array([c.max_quantity for c in spec.categories], dtype=np.int64),
        popularity=popularity / popularity.sum(),
    )
    frame = pl.DataFrame(
        {"sku": skus, "name": names, "category_code": category_codes, "cents": prices}
    )
    return table, frame


def products_export(products: pl.DataFrame) -> Export:
    style = np.arange(products.height) % 2 * formats.MONEY_FULLWIDTH_YUAN  # plain, ￥, plain, ..
    price = formats.money(products.get_column("cents").to_numpy(), style, 0, "unit_price")
    frame = products.with_columns(price).select("sku", "name", "category_code", "unit_price")
    headers = {"sku": "商品编号", "name": "商品名称", "category_code": "品类", "unit_price": "单价"}
    return Export(
        "products",
        "products.csv",
        "utf-8",
        headers,
        frame.height,
        lambda: iter([frame]),
        [Recipe(RejectReason.DUPLICATE_KEY, lambda k: {})],
    )


# -- customers -----------------------------------------------------------------------------


def _person_names(rng: np.random.Generator, world: World, members: IntArray) -> pl.Series:
    pools = world.pools
    female = world.people.female[members]
    surname = formats.lookup(
        pools.surnames, rng.integers(0, len(pools.surnames), members.size), "s"
    )
    her = formats.lookup(
        pools.female_given, rng.integers(0, len(pools.female_given), members.size), "g"
    )
    his = formats.lookup(
        pools.male_given, rng.integers(0, len(pools.male_given), members.size), "g"
    )
    given = pl.select(pl.when(pl.Series(female)).then(her).otherwise(his)).to_series()
    return (surname + given).alias("name")


def _company_names(rng: np.random.Generator, world: World, members: IntArray) -> pl.Series:
    size = members.size
    city = formats.lookup(
        [c for c, _ in vocab.CITIES], rng.integers(0, len(vocab.CITIES), size), "c"
    )
    prefix = formats.lookup(
        world.pools.company_prefixes, rng.integers(0, len(world.pools.company_prefixes), size), "p"
    )
    word = formats.lookup(vocab.COMPANY_WORDS, rng.integers(0, len(vocab.COMPANY_WORDS), size), "w")
    suffix = formats.lookup(
        vocab.COMPANY_SUFFIXES, formats.choose(rng, (0.7, 0.1, 0.15, 0.05), size), "x"
    )
    return (city + prefix + word + suffix).alias("name")


def _phones(rng: np.random.Generator, size: int) -> pl.Series:
    prefix = formats.lookup(
        vocab.MOBILE_PREFIXES, rng.integers(0, len(vocab.MOBILE_PREFIXES), size), "p"
    )
    rest = pl.Series(rng.integers(0, 100_000_000, size)).cast(pl.String).str.zfill(8)
    phone = prefix + rest
    return phone.scatter(np.flatnonzero(rng.random(size) < 0.03), None).alias("phone")


def _emails(rng: np.random.Generator, world: World, size: int) -> pl.Series:
    qq = pl.Series(rng.integers(10_000_000, 3_000_000_000, size)).cast(pl.String) + "@qq.com"
    user = formats.lookup(
        world.pools.email_users, rng.integers(0, len(world.pools.email_users), size), "u"
    )
    digits = pl.Series(rng.integers(1, 1000, size)).cast(pl.String)
    domain = formats.lookup(
        vocab.EMAIL_DOMAINS, rng.integers(0, len(vocab.EMAIL_DOMAINS), size), "d"
    )
    named = user + digits + "@" + domain
    use_qq = pl.Series(rng.random(size) < 0.5)
    email = pl.select(pl.when(use_qq).then(qq).otherwise(named)).to_series()
    share = 0.6 if world.spec.company_customers else 0.3
    return email.scatter(np.flatnonzero(rng.random(size) >= share), None).alias("email")


def _date_text(
    rng: np.random.Generator, absolute: npt.NDArray[np.integer], missing: npt.NDArray[np.bool_]
) -> pl.Series:
    style = formats.choose(rng, (0.4, 0.3, 0.15, 0.15), absolute.size)
    style = np.where(missing, -1, style)
    return formats.styled(formats.dates(absolute), style, formats.DATE_STYLES)


def customers_frame(rng: np.random.Generator, world: World) -> pl.DataFrame:
    people, spec, consent = world.people, world.spec, world.consent
    members = np.flatnonzero(~people.walk_in)
    size = members.size
    epoch = world.window.epoch
    names = (
        _company_names(rng, world, members)
        if spec.company_customers
        else _person_names(rng, world, members)
    )
    gender = _yes_no(people.female[members], "女", "男", "gender")
    gender = gender.scatter(np.flatnonzero(rng.random(size) < 0.08), None)
    birthday_missing = rng.random(size) < (0.6 if spec.company_customers else 0.25)
    join_channel = formats.choose(rng, [w for _, w in spec.join_channels], size)
    join_channel = np.where(people.referred[members], len(spec.join_channels), join_channel)
    channel_names = [name for name, _ in spec.join_channels] + ["转介绍"]
    style = np.where(rng.random(size) < 0.5, people.emotional[members].astype(np.int64), -1)
    vip = people.value_pct[members] > 0.95
    tag = np.where(rng.random(size) < 0.2, rng.integers(0, len(vocab.CUSTOMER_TAGS), size), -1)
    tags = pl.select(
        pl.concat_str(
            [
                formats.lookup(("VIP",), np.where(vip, 0, -1), "vip"),
                formats.lookup(vocab.CUSTOMER_TAGS, tag, "t"),
            ],
            separator="、",
            ignore_nulls=True,
        ).replace("", None)
    ).to_series()
    price_note = (people.price_sensitivity[members] > 0.85) & (rng.random(size) < 0.4)
    other_note = np.where(
        rng.random(size) < 0.1, rng.integers(0, len(vocab.CUSTOMER_NOTES), size), -1
    )
    notes = pl.select(
        pl.when(pl.Series(price_note))
        .then(pl.lit(vocab.PRICE_NOTE))
        .otherwise(formats.lookup(vocab.CUSTOMER_NOTES, other_note, "n"))
    ).to_series()
    dnc_day = consent.dnc_day[members]
    return pl.DataFrame(
        [
            world.external_id.gather(members).alias("customer_id"),
            names.alias("name"),
            _phones(rng, size),
            _emails(rng, world, size),
            gender.alias("gender"),
            _date_text(rng, people.birth_day[members], birthday_missing).alias("birthday"),
            _date_text(rng, people.join_day[members] + epoch, rng.random(size) < 0.03).alias(
                "join_date"
            ),
            formats.lookup(store_codes(spec), people.home_store[members], "store_code"),
            formats.lookup(channel_names, join_channel, "channel"),
            formats.lookup(("理性", "感性"), style, "decision_style"),
            tags.alias("tags"),
            _yes_no(consent.consent_marketing[members], "是", "否", "consent_marketing"),
            _yes_no(consent.do_not_contact[members], "1", "0", "do_not_contact"),
            _date_text(rng, np.maximum(dnc_day, 0) + epoch, dnc_day < 0).alias(
                "do_not_contact_date"
            ),
            formats.lookup(vocab.DNC_SOURCES, consent.dnc_source[members], "do_not_contact_source"),
            notes.alias("notes"),
        ]
    )


def customers_export(rng: np.random.Generator, world: World) -> Export:
    frame = customers_frame(rng, world)
    headers = {
        "customer_id": "客户编号",
        "name": "姓名",
        "phone": "手机号",
        "email": "邮箱",
        "gender": "性别",
        "birthday": "生日",
        "join_date": "入会日期",
        "store_code": "门店",
        "channel": "渠道",
        "decision_style": "决策风格",
        "tags": "标签",
        "consent_marketing": "营销同意",
        "do_not_contact": "勿扰",
        "do_not_contact_date": "勿扰日期",
        "do_not_contact_source": "勿扰来源",
        "notes": "备注",
    }
    people = world.people
    recipes = [
        Recipe(RejectReason.MISSING_REQUIRED, lambda k: {"customer_id": None}),
        Recipe(RejectReason.DUPLICATE_KEY, lambda k: {}),
        Recipe(
            RejectReason.TOO_LONG,
            lambda k: {
                "customer_id": fresh_customer_id(people, k),
                "notes": None,
                "name": TOO_LONG_NOTE,
            },
        ),
    ]
    return Export(
        "customers",
        "customers.csv",
        "utf-8-sig",
        headers,
        frame.height,
        lambda: iter([frame]),
        recipes,
    )


# -- orders and lines ----------------------------------------------------------------------


@dataclass(frozen=True)
class OrderLayout:
    """Orders in time order; ``rank[i]`` is order i's position, its number in the order id."""

    sequence: IntArray  # order indexes sorted by time
    rank: IntArray  # per order, 1-based
    store: IntArray
    channel: IntArray


def order_layout(rng: np.random.Generator, world: World) -> OrderLayout:
    orders, people, spec = world.orders, world.people, world.spec
    sequence = np.lexsort((np.arange(orders.size), orders.minute, orders.day))
    rank = np.empty(orders.size, dtype=np.int64)
    rank[sequence] = np.arange(1, orders.size + 1)
    home = people.home_store[orders.customer]
    away_share = 0.0 if spec.company_customers else 0.15
    elsewhere = rng.random(orders.size) < away_share
    store = np.where(elsewhere, rng.integers(0, spec.store_count, orders.size), home)
    channel = formats.choose(rng, [w for _, w in spec.order_channels], orders.size)
    refunds = np.flatnonzero(orders.is_refund)  # refunded where it was bought
    store[refunds] = store[orders.refund_of[refunds]]
    channel[refunds] = channel[orders.refund_of[refunds]]
    return OrderLayout(sequence, rank, store, channel)


def _order_ids(rank: IntArray, refund: npt.NDArray[np.bool_], name: str) -> pl.Series:
    """``SO0000000123`` for sales, ``RF0000000124`` for refunds: numbered in time order."""
    digits = pl.Series(rank).cast(pl.String).str.zfill(10)
    prefix = formats.lookup(("SO", "RF"), refund.astype(np.int8), "p")
    return pl.select(pl.concat_str([prefix, digits]).alias(name)).to_series()


_SEASON_PREFIX = {1: "NEWYEAR", 2: "CNY", 6: "JUNE618", 11: "DOUBLE11", 12: "YEAREND"}


def coupon_codes(kind: IntArray, order_date: pl.Series) -> pl.Expr:
    month = order_date.dt.month()
    prefix = pl.lit("MEMBER")
    for number, text in _SEASON_PREFIX.items():
        prefix = pl.when(month == number).then(pl.lit(text)).otherwise(prefix)
    seasonal = pl.concat_str([prefix, pl.lit("-"), order_date.dt.year().cast(pl.String)])
    kinds = pl.Series(kind)
    return (
        pl.when(kinds == COUPON_WELCOME)
        .then(pl.lit("WELCOME"))
        .when(kinds == COUPON_SEASONAL)
        .then(seasonal)
        .otherwise(pl.lit(None, dtype=pl.String))
    )


def _orders_chunks(
    rng: np.random.Generator, world: World, layout: OrderLayout
) -> Iterator[pl.DataFrame]:
    orders, epoch = world.orders, world.window.epoch
    codes = store_codes(world.spec)
    channels = [name for name, _ in world.spec.order_channels]
    date_style = formats.choose(rng, (0.4, 0.3, 0.15, 0.15), orders.size)
    money_style = formats.choose(rng, (0.4, 0.2, 0.2, 0.2), orders.size)
    refund_style = rng.integers(0, 2, orders.size)
    for start, stop in _chunked(orders.size):
        index = layout.sequence[start:stop]
        at = formats.datetimes(orders.day[index] + epoch, orders.minute[index])
        yield pl.DataFrame(
            [
                _order_ids(layout.rank[index], orders.is_refund[index], "order_id"),
                world.external_id.gather(orders.customer[index]).alias("customer_id"),
                formats.styled(at, date_style[index], formats.DATETIME_STYLES).alias("order_date"),
                formats.money(
                    world.order_amount[index], money_style[index], refund_style[index], "amount"
                ),
                formats.lookup(codes, layout.store[index], "store_code"),
                formats.lookup(channels, layout.channel[index], "channel"),
                pl.select(
                    coupon_codes(world.coupon_kind[index], at).alias("coupon_code")
                ).to_series(),
            ]
        )


def orders_export(rng: np.random.Generator, world: World, layout: OrderLayout) -> Export:
    headers = {
        "order_id": "订单号",
        "customer_id": "会员编号",
        "order_date": "下单时间",
        "amount": "实付金额",
        "store_code": "门店",
        "channel": "渠道",
        "coupon_code": "优惠券",
    }
    size = world.orders.size
    numbers = itertools.count(size + 1)

    def fresh() -> str:
        return f"SO{next(numbers):010d}"

    recipes = [
        Recipe(RejectReason.BAD_DATE, lambda k: {"order_id": fresh(), "order_date": BAD_DATE}),
        Recipe(RejectReason.BAD_AMOUNT, lambda k: {"order_id": fresh(), "amount": "abc"}),
        Recipe(RejectReason.MISSING_REQUIRED, lambda k: {"order_id": fresh(), "customer_id": None}),
        Recipe(RejectReason.DUPLICATE_KEY, lambda k: {}),
        Recipe(
            RejectReason.TOO_LONG, lambda k: {"order_id": fresh(), "coupon_code": TOO_LONG_COUPON}
        ),
    ]
    walk_in_orders = world.orders.customer[world.people.walk_in[world.orders.customer]]
    return Export(
        "orders",
        "orders.csv",
        "gbk",
        headers,
        size,
        lambda: _orders_chunks(rng, world, layout),
        recipes,
        stub_customers=int(np.unique(walk_in_orders).size),
    )


def _lines_chunks(
    rng: np.random.Generator, world: World, layout: OrderLayout, sequence: IntArray
) -> Iterator[pl.DataFrame]:
    lines, orders = world.lines, world.orders
    skus = [f"{c.code}-{k + 1:03d}" for c in world.spec.categories for k in range(len(c.products))]
    category_codes = [c.code for c in world.spec.categories]
    for start, stop in _chunked(sequence.size):
        index = sequence[start:stop]
        order = lines.order[index]
        style = formats.choose(rng, (0.7, 0.15, 0.0, 0.0, 0.15), index.size)
        yield pl.DataFrame(
            [
                _order_ids(layout.rank[order], orders.is_refund[order], "order_id"),
                pl.Series("line_no", lines.line_no[index]).cast(pl.String),
                formats.lookup(skus, lines.product[index], "sku"),
                formats.lookup(category_codes, lines.category[index], "category_code"),
                pl.Series("quantity", lines.quantity[index]).cast(pl.String),
                formats.money(lines.amount_cents[index], style, formats.REFUND_MINUS, "amount"),
            ]
        )


def lines_export(rng: np.random.Generator, world: World, layout: OrderLayout) -> Export:
    # Lines follow their orders in time order; within an order they keep their numbering.
    sequence = np.argsort(layout.rank[world.lines.order], kind="stable")
    headers = {
        "order_id": "order no",
        "line_no": "line no",
        "sku": "product id",
        "category_code": "category",
        "quantity": "qty",
        "amount": "line amount",
    }
    numbers = itertools.count(101)
    recipes = [
        Recipe(RejectReason.BAD_AMOUNT, lambda k: {"line_no": str(next(numbers)), "amount": "abc"}),
        Recipe(RejectReason.MISSING_REQUIRED, lambda k: {"order_id": None}),
        Recipe(RejectReason.DUPLICATE_KEY, lambda k: {}),
    ]
    return Export(
        "order-lines",
        "order_lines.csv",
        "utf-8",
        headers,
        int(sequence.size),
        lambda: _lines_chunks(rng, world, layout, sequence),
        recipes,
    )


# -- engagement and contacts ---------------------------------------------------------------

# First spelling (Chinese) mostly, an English one sometimes; all accepted by the schema.
_EVENT_SPELLINGS: dict[str, tuple[str, str]] = {
    "referral": ("推荐", "referral"),
    "forum_post": ("发帖", "forum post"),
    "forum_reply": ("回帖", "reply"),
    "qa_answer": ("答疑", "answer"),
    "event_attendance": ("活动", "event"),
    "survey_response": ("问卷", "survey"),
    "suggestion": ("建议", "suggestion"),
    "complaint": ("投诉", "complaint"),
}
_EVENT_TEXTS: dict[str, tuple[str, ...]] = {
    "forum_post": vocab.FORUM_POSTS,
    "forum_reply": vocab.FORUM_REPLIES,
    "qa_answer": vocab.QA_ANSWERS,
    "suggestion": vocab.SUGGESTIONS,
    "complaint": vocab.COMPLAINT_TEXTS,
}


def _event_texts(events: Events) -> pl.Series:
    """One phrase list per stream, flattened; each event picks from its own stream's list."""
    flat: list[str] = []
    offset = np.full(len(EVENT_CODES), -1, dtype=np.int64)
    for i, code in enumerate(EVENT_CODES):
        if code in _EVENT_TEXTS:
            offset[i] = len(flat)
            flat.extend(_EVENT_TEXTS[code])
    index = np.where(events.text >= 0, offset[events.kind] + events.text, -1)
    return formats.lookup(flat, index, "text")


def _bool_text(values: IntArray, name: str) -> pl.Series:
    return formats.lookup(("no", "yes"), values, name)


def _events_chunks(rng: np.random.Generator, world: World) -> Iterator[pl.DataFrame]:
    events, epoch = world.events, world.window.epoch
    spellings = [s for code in EVENT_CODES for s in _EVENT_SPELLINGS[code]]
    english = (rng.random(events.size) < 0.15).astype(np.int64)
    serial = rng.random(events.size) < 0.85  # mostly Excel serials, some ISO text
    categories = [text for text, _ in vocab.COMPLAINT_CATEGORIES]
    texts = _event_texts(events)
    for start, stop in _chunked(events.size):
        part = slice(start, stop)
        kind = events.kind[part]
        referred = events.referred[part]
        frame = pl.DataFrame(
            {
                "customer_id": world.external_id.gather(events.customer[part]),
                "event_type": formats.lookup(spellings, kind * 2 + english[part], "t"),
                "_day": events.day[part] + epoch,
                "_minute": events.minute[part],
                "_serial": serial[part],
                "referred_customer_id": world.external_id.gather(
                    pl.Series(np.maximum(referred, 0))
                ).scatter(np.flatnonzero(referred < 0), None),
                "referred_bought": _bool_text(events.referred_bought[part], "b"),
                "_campaign": np.maximum(events.campaign_day[part], 0) + epoch,
                "_has_campaign": events.campaign_day[part] >= 0,
                "_survey": np.maximum(events.survey_day[part], 0) + epoch,
                "_has_survey": events.survey_day[part] >= 0,
                "score": pl.Series(events.score[part]).cast(pl.String),
                "_has_score": events.score[part] >= 0,
                "adopted": _bool_text(events.adopted[part], "a"),
                "complaint_category": formats.lookup(
                    categories, events.complaint_category[part], "c"
                ),
                "resolved": _bool_text(events.resolved[part], "r"),
                "_resolved_day": np.maximum(events.resolved_day[part], 0) + epoch,
                "_resolved_minute": np.maximum(events.resolved_minute[part], 0),
                "_has_resolved": events.resolved_day[part] >= 0,
                "text": texts.slice(start, stop - start),
            }
        )
        yield frame.select(
            "customer_id",
            "event_type",
            _timestamp("_day", "_minute", "_serial").alias("occurred_at"),
            "referred_customer_id",
            "referred_bought",
            pl.when("_has_campaign")
            .then(pl.concat_str([pl.lit("ACT"), _yyyymm("_campaign")]))
            .alias("campaign_code"),
            pl.when("_has_survey").then(_survey_code("_survey")).alias("survey_code"),
            pl.when("_has_score").then(pl.col("score")).alias("score"),
            "adopted",
            "complaint_category",
            "resolved",
            pl.when("_has_resolved")
            .then(_timestamp("_resolved_day", "_resolved_minute", "_serial"))
            .alias("resolved_at"),
            "text",
        )


def _timestamp(day: str, minute: str, serial: str) -> pl.Expr:
    at = (pl.col(day).cast(pl.Int64) * 1440 + pl.col(minute)) * 60_000_000
    iso = at.cast(pl.Datetime("us")).dt.strftime(formats.DATETIME_STYLES[0])
    return pl.when(serial).then(formats.excel_serial(pl.col(day), pl.col(minute))).otherwise(iso)


def _yyyymm(day: str) -> pl.Expr:
    return pl.col(day).cast(pl.Int32).cast(pl.Date).dt.strftime("%Y%m")


def _survey_code(day: str) -> pl.Expr:
    as_date = pl.col(day).cast(pl.Int32).cast(pl.Date)
    return pl.concat_str(
        [
            pl.lit("NPS"),
            as_date.dt.year().cast(pl.String),
            pl.lit("Q"),
            as_date.dt.quarter().cast(pl.String),
        ]
    )


def events_export(rng: np.random.Generator, world: World) -> Export:
    """Events carry no id column: the importer derives keys, so no duplicate-key rows here."""
    headers = {
        "customer_id": "customer id",
        "event_type": "event type",
        "occurred_at": "occurred at",
        "referred_customer_id": "referred customer",
        "referred_bought": "referred bought",
        "campaign_code": "campaign",
        "survey_code": "survey",
        "score": "score",
        "adopted": "adopted",
        "complaint_category": "complaint category",
        "resolved": "resolved",
        "resolved_at": "resolved at",
        "text": "text",
    }
    recipes = [
        Recipe(RejectReason.BAD_DATE, lambda k: {"occurred_at": BAD_DATE}),
        Recipe(RejectReason.BAD_CHOICE, lambda k: {"event_type": UNKNOWN_EVENT_TYPE}),
        Recipe(RejectReason.MISSING_REQUIRED, lambda k: {"customer_id": None}),
    ]
    return Export(
        "events",
        "events.csv",
        "utf-8",
        headers,
        world.events.size,
        lambda: _events_chunks(rng, world),
        recipes,
    )


_CHANNEL_TEXT = {code: spellings[0] for code, spellings in CONTACT_CHANNELS}
_OUTCOME_TEXT = {code: spellings[0] for code, spellings in CONTACT_OUTCOMES}


def contacts_frame(rng: np.random.Generator, world: World, native: bool) -> pl.DataFrame:
    """The contact log; with ``native`` the frame also carries typed values for Excel cells."""
    contacts, epoch = world.contacts, world.window.epoch
    size = contacts.size
    at = formats.datetimes(contacts.day + epoch, contacts.minute, "_native_occurred_at")
    style = formats.choose(rng, (0.5, 0.3, 0.1, 0.1), size)
    promised = formats.dates(
        np.maximum(contacts.promised_day, 0) + epoch, "_native_promised_return_date"
    )
    has_promise = contacts.promised_day >= 0
    has_duration = contacts.duration >= 0
    reasons = [*TRUE_REASONS, "not_found"]
    assert len(reasons) == NOT_FOUND_REASON + 1
    frame = pl.DataFrame(
        [
            formats.padded_ids("CT", np.arange(1, size + 1), 9, "contact_id"),
            world.external_id.gather(contacts.customer).alias("customer_id"),
            formats.lookup(
                [_CHANNEL_TEXT[code] for code, _ in CONTACT_CHANNELS], contacts.channel, "channel"
            ),
            formats.lookup(("呼出", "呼入"), contacts.direction, "direction"),
            formats.lookup(world.pools.agents, contacts.agent, "agent"),
            formats.lookup(
                [_OUTCOME_TEXT[code] for code, _ in CONTACT_OUTCOMES], contacts.outcome, "outcome"
            ),
            formats.styled(at, style, formats.DATETIME_STYLES).alias("occurred_at"),
            pl.Series("duration_seconds", contacts.duration)
            .cast(pl.String)
            .scatter(np.flatnonzero(~has_duration), None),
            formats.lookup(reasons, contacts.reason, "reason_code"),
            formats.lookup(vocab.OFFER_CODES, contacts.offer, "offer_code"),
            formats.styled(promised, np.where(has_promise, style, -1), formats.DATE_STYLES).alias(
                "promised_return_date"
            ),
            formats.lookup(vocab.CONTACT_NOTES, contacts.note, "notes"),
        ]
    )
    if not native:
        return frame
    # Most cells are real Excel dates and numbers; a tenth of the times were typed in as text.
    typed = rng.random(size) < 0.9
    return frame.with_columns(
        at.scatter(np.flatnonzero(~typed), None),
        pl.Series("_native_duration_seconds", contacts.duration).scatter(
            np.flatnonzero(~has_duration), None
        ),
        promised.scatter(np.flatnonzero(~(typed & has_promise)), None),
    )


def contacts_export(rng: np.random.Generator, world: World, as_xlsx: bool) -> Export:
    headers = {
        "contact_id": "联系编号",
        "customer_id": "客户编号",
        "channel": "联系方式",
        "direction": "方向",
        "agent": "坐席",
        "outcome": "结果",
        "occurred_at": "联系时间",
        "duration_seconds": "时长",
        "reason_code": "流失原因",
        "offer_code": "优惠",
        "promised_return_date": "承诺回访日期",
        "notes": "备注",
    }
    numbers = itertools.count(world.contacts.size + 1)

    def fresh() -> str:
        return f"CT{next(numbers):09d}"

    recipes = [
        Recipe(RejectReason.BAD_DATE, lambda k: {"contact_id": fresh(), "occurred_at": BAD_DATE}),
        Recipe(
            RejectReason.BAD_CHOICE, lambda k: {"contact_id": fresh(), "outcome": UNKNOWN_OUTCOME}
        ),
        Recipe(
            RejectReason.MISSING_REQUIRED, lambda k: {"contact_id": fresh(), "customer_id": None}
        ),
        Recipe(RejectReason.DUPLICATE_KEY, lambda k: {}),
    ]
    frame = contacts_frame(rng, world, native=as_xlsx)
    return Export(
        "contacts",
        "contacts.xlsx" if as_xlsx else "contacts.csv",
        None if as_xlsx else "utf-8",
        headers,
        frame.height,
        lambda: iter([frame]),
        recipes,
    )

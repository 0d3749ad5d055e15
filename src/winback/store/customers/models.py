"""The integrated customer record (R1): every behaviour stream joined per customer.

Money is stored as integer cents (``*_cents``); the business-local calendar date of every
dated fact is stored next to its timestamp so analytics can extract dates without time-zone
arithmetic. Every imported row carries a natural key and a content hash (``row_hash``) so a
re-import can tell inserted, updated and unchanged rows apart.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

from winback import vocabulary


def cents_to_decimal(cents: int | None) -> Decimal | None:
    return None if cents is None else (Decimal(cents) / 100).quantize(Decimal("0.01"))


class Necessity(models.TextChoices):
    NECESSARY = "necessary", _("Necessary")
    DISCRETIONARY = "discretionary", _("Discretionary")


class Store(models.Model):
    code = models.CharField(_("store code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    row_hash = models.CharField(max_length=32, blank=True)

    class Meta:
        verbose_name = _("store")
        verbose_name_plural = _("stores")

    def __str__(self) -> str:
        return self.name or self.code


class Category(models.Model):
    code = models.CharField(_("category code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL)
    necessity = models.CharField(
        _("necessity"), max_length=16, choices=Necessity.choices, default=Necessity.DISCRETIONARY
    )
    replenishment_days = models.PositiveIntegerField(
        _("typical replenishment interval (days)"), null=True, blank=True
    )
    row_hash = models.CharField(max_length=32, blank=True)

    class Meta:
        verbose_name = _("product category")
        verbose_name_plural = _("product categories")

    def __str__(self) -> str:
        return self.name or self.code


class Product(models.Model):
    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL)
    unit_price_cents = models.BigIntegerField(_("unit price (cents)"), null=True, blank=True)
    row_hash = models.CharField(max_length=32, blank=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")

    def __str__(self) -> str:
        return self.name or self.sku


class Gender(models.TextChoices):
    UNKNOWN = "", _("Unknown")
    FEMALE = "F", _("Female")
    MALE = "M", _("Male")


class DecisionStyle(models.TextChoices):
    UNKNOWN = "", _("Unknown")
    RATIONAL = "rational", _("Rational")
    EMOTIONAL = "emotional", _("Emotional")


class Customer(models.Model):
    external_id = models.CharField(_("customer id"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    email = models.CharField(_("e-mail"), max_length=200, blank=True)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    join_date = models.DateField(_("join date"), null=True, blank=True)
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.SET_NULL)
    channel = models.CharField(_("acquisition channel"), max_length=50, blank=True)
    decision_style = models.CharField(
        _("decision style"), max_length=16, choices=DecisionStyle.choices, blank=True
    )
    tags = models.JSONField(_("tags"), default=list, blank=True)
    key_dates = models.JSONField(_("key dates"), default=dict, blank=True)
    consent_marketing = models.BooleanField(_("consents to marketing"), default=True)
    do_not_contact = models.BooleanField(_("do not contact"), default=False)
    do_not_contact_date = models.DateTimeField(_("do-not-contact since"), null=True, blank=True)
    do_not_contact_source = models.CharField(_("do-not-contact source"), max_length=100, blank=True)
    # When marketing consent was withdrawn (an import can only lift it with a later re-consent).
    consent_withdrawn_date = models.DateField(_("consent withdrawn on"), null=True, blank=True)
    # The latest explicit, dated re-consent an import carried (lifts earlier withdrawals).
    reconsent_date = models.DateField(_("re-consent date"), null=True, blank=True)
    notes = models.TextField(_("notes on needs and habits"), blank=True)
    is_stub = models.BooleanField(
        _("created from an order (no customer record yet)"), default=False
    )
    row_hash = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [models.Index(fields=["do_not_contact"]), models.Index(fields=["phone"])]

    def __str__(self) -> str:
        return self.external_id


class Order(models.Model):
    order_key = models.CharField(_("order id"), max_length=80, unique=True)
    key_derived = models.BooleanField(
        _("order key derived from content (no order id in the source)"), default=False
    )
    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        related_name="orders",
        db_constraint=False,  # checked per import chunk, set-based (decision 0045)
        db_index=False,  # the (customer, order_date) index serves it
    )
    ordered_at = models.DateTimeField(_("ordered at"))
    order_date = models.DateField(_("order date (business time zone)"), db_index=True)
    store = models.ForeignKey(
        Store, null=True, blank=True, on_delete=models.SET_NULL, db_constraint=False
    )
    channel = models.CharField(_("channel"), max_length=50, blank=True)
    coupon_code = models.CharField(_("coupon / offer code"), max_length=64, blank=True)
    amount_cents = models.BigIntegerField(_("amount (cents); refunds negative"))
    row_hash = models.CharField(max_length=32, blank=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        indexes = [models.Index(fields=["customer", "order_date"])]

    def __str__(self) -> str:
        return self.order_key

    @property
    def amount(self) -> Decimal | None:
        return cents_to_decimal(self.amount_cents)


class OrderLine(models.Model):
    # References are checked per import chunk, set-based, not row by row (decision 0045).
    order = models.ForeignKey(
        Order,
        on_delete=models.CASCADE,
        related_name="lines",
        db_constraint=False,
        db_index=False,  # the unique (order, line_no) serves it
    )
    line_no = models.PositiveIntegerField(_("line number"))
    # No index on product or category: no query looks order lines up by them, and each index
    # cost an import more than writing the rows themselves (decision 0054).
    product = models.ForeignKey(
        Product,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_constraint=False,
        db_index=False,
    )
    category = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_constraint=False,
        db_index=False,
    )
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3, default=1)
    amount_cents = models.BigIntegerField(_("amount (cents); refunds negative"))
    row_hash = models.CharField(max_length=32, blank=True)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [
            models.UniqueConstraint(fields=["order", "line_no"], name="orderline_order_line_no")
        ]

    def __str__(self) -> str:
        return f"{self.order_id}#{self.line_no}"

    @property
    def amount(self) -> Decimal | None:
        return cents_to_decimal(self.amount_cents)


class EventType(models.TextChoices):
    """The built-in event types (the seed of :class:`EventTypeDefinition`)."""

    REFERRAL = "referral", _("Friend referral")
    FORUM_POST = "forum_post", _("Forum post")
    FORUM_REPLY = "forum_reply", _("Forum reply")
    QA_ANSWER = "qa_answer", _("Answered another customer's question")
    EVENT_ATTENDANCE = "event_attendance", _("Campaign / event participation")
    SURVEY_RESPONSE = "survey_response", _("Survey answer")
    SUGGESTION = "suggestion", _("Suggestion")
    COMPLAINT = "complaint", _("Complaint")


# Names of the built-in types (code: Chinese, English), as the data migration seeded them; a
# built-in type without a stored definition is in force with these.
BUILT_IN_EVENT_NAMES: dict[str, tuple[str, str]] = {
    "referral": ("推荐好友", "Friend referral"),
    "forum_post": ("论坛发帖", "Forum post"),
    "forum_reply": ("论坛回复", "Forum reply"),
    "qa_answer": ("回答其他客户的问题", "Answered another customer's question"),
    "event_attendance": ("参加活动", "Campaign / event participation"),
    "survey_response": ("问卷回答", "Survey answer"),
    "suggestion": ("建议", "Suggestion"),
    "complaint": ("投诉", "Complaint"),
}


class EventRole(models.TextChoices):
    """What an event type counts as in the analysis (:class:`winback.vocabulary.EventRole`)."""

    REFERRAL = (
        vocabulary.EventRole.REFERRAL.value,
        _("Value contribution (counts as a referral)"),
    )
    FORUM_POST = vocabulary.EventRole.FORUM_POST.value, _("Engagement: post")
    FORUM_REPLY = vocabulary.EventRole.FORUM_REPLY.value, _("Engagement: reply")
    QA_ANSWER = vocabulary.EventRole.QA_ANSWER.value, _("Engagement: helping other customers")
    EVENT_ATTENDANCE = (
        vocabulary.EventRole.EVENT_ATTENDANCE.value,
        _("Participation in campaigns and events"),
    )
    SURVEY_RESPONSE = (
        vocabulary.EventRole.SURVEY_RESPONSE.value,
        _("Survey answer (with its score)"),
    )
    SUGGESTION = vocabulary.EventRole.SUGGESTION.value, _("Suggestion (and whether adopted)")
    COMPLAINT = vocabulary.EventRole.COMPLAINT.value, _("Complaint (open until resolved)")


class EventTypeDefinition(models.Model):
    """An event type the business records (R1): its code in files and in the store, its names
    (also accepted as spellings on import) and the role the analysis reads it in.

    Seeded with the eight built-in types (``built_in``; their role is their own stream). A
    built-in type can be deactivated, never deleted; a type with stored events is never
    deleted. An inactive type is refused by imports and ignored by the analysis; its stored
    events stay, shown by their code.
    """

    code = models.CharField(_("code"), max_length=24, unique=True)
    label_zh = models.CharField(_("name (Chinese)"), max_length=60)
    label_en = models.CharField(_("name (English)"), max_length=80)
    role = models.CharField(_("counts as"), max_length=24, choices=EventRole.choices)
    active = models.BooleanField(_("active"), default=True)
    built_in = models.BooleanField(_("built in"), default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("event type")
        verbose_name_plural = _("event types")

    def __str__(self) -> str:
        return self.code

    def label(self, lang: str) -> str:
        return self.label_zh if lang.startswith("zh") else self.label_en


class EngagementEvent(models.Model):
    source_key = models.CharField(_("event id"), max_length=80, unique=True)
    key_derived = models.BooleanField(default=False)
    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        related_name="events",
        db_constraint=False,  # checked per import chunk, set-based (decision 0045)
        db_index=False,  # the (customer, event_type, occurred_date) index serves it
    )
    # A code of an EventTypeDefinition; not a foreign key, so that stored events outlive a
    # type's removal from the list (they are then shown by their code, counted by no stream).
    event_type = models.CharField(_("type"), max_length=24)
    occurred_at = models.DateTimeField(_("occurred at"))
    occurred_date = models.DateField(_("date (business time zone)"))
    # referral
    referred_customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="referred_by",
        db_constraint=False,
    )
    referred_external_id = models.CharField(max_length=64, blank=True)
    referred_bought = models.BooleanField(null=True, blank=True)
    # campaign / event, survey
    campaign_code = models.CharField(_("campaign / event id"), max_length=64, blank=True)
    survey_code = models.CharField(_("survey id"), max_length=64, blank=True)
    score = models.SmallIntegerField(
        _("score (e.g. satisfaction, NPS 0-10)"), null=True, blank=True
    )
    # suggestion
    adopted = models.BooleanField(_("suggestion adopted"), null=True, blank=True)
    # complaint
    complaint_category = models.CharField(_("complaint category"), max_length=64, blank=True)
    resolved = models.BooleanField(_("resolved"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    text = models.TextField(_("text"), blank=True)
    row_hash = models.CharField(max_length=32, blank=True)

    class Meta:
        verbose_name = _("engagement event")
        verbose_name_plural = _("engagement events")
        indexes = [models.Index(fields=["customer", "event_type", "occurred_date"])]

    def __str__(self) -> str:
        return f"{self.event_type} {self.occurred_date}"


class ContactChannel(models.TextChoices):
    PHONE = vocabulary.Channel.PHONE.value, _("Phone")
    SMS = vocabulary.Channel.SMS.value, _("SMS")
    WECHAT = vocabulary.Channel.WECHAT.value, _("WeChat")
    VISIT = vocabulary.Channel.VISIT.value, _("Visit")
    EMAIL = vocabulary.Channel.EMAIL.value, _("E-mail")


class Direction(models.TextChoices):
    OUTBOUND = vocabulary.Direction.OUTBOUND.value, _("Outbound")
    INBOUND = vocabulary.Direction.INBOUND.value, _("Inbound")


class ContactOutcome(models.TextChoices):
    NOT_REACHED = vocabulary.Outcome.NOT_REACHED.value, _("Not reached")
    REACHED = vocabulary.Outcome.REACHED.value, _("Reached")
    REFUSED = vocabulary.Outcome.REFUSED.value, _("Refused")
    CALL_BACK = vocabulary.Outcome.CALL_BACK.value, _("Call back later")
    DO_NOT_CONTACT = vocabulary.Outcome.DO_NOT_CONTACT.value, _("Asked not to be contacted")
    WRONG_NUMBER = vocabulary.Outcome.WRONG_NUMBER.value, _("Wrong number")


class ContactLog(models.Model):
    """Every contact with a customer: imported history and workbench/programme contacts alike."""

    source_key = models.CharField(max_length=80, unique=True)
    key_derived = models.BooleanField(default=False)
    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        related_name="contacts",
        db_constraint=False,  # checked per import chunk, set-based (decision 0045)
        db_index=False,  # the (customer, occurred_date) index serves it
    )
    channel = models.CharField(_("channel"), max_length=16, choices=ContactChannel.choices)
    direction = models.CharField(
        _("direction"), max_length=16, choices=Direction.choices, default=Direction.OUTBOUND
    )
    agent = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    agent_name = models.CharField(_("agent"), max_length=100, blank=True)
    outcome = models.CharField(_("outcome"), max_length=24, choices=ContactOutcome.choices)
    occurred_at = models.DateTimeField(_("when"))
    occurred_date = models.DateField(_("date (business time zone)"))
    duration_seconds = models.PositiveIntegerField(_("duration (s)"), null=True, blank=True)
    reason_code = models.CharField(_("leave reason"), max_length=64, blank=True)
    offer_code = models.CharField(_("offer chosen"), max_length=64, blank=True)
    promised_return_date = models.DateField(_("promised return date"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    simulated = models.BooleanField(_("simulated (demo)"), default=False)
    row_hash = models.CharField(max_length=32, blank=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contact log")
        indexes = [models.Index(fields=["customer", "occurred_date"])]

    def __str__(self) -> str:
        return f"{self.channel} {self.outcome} {self.occurred_date}"


class SavedSegment(models.Model):
    """A list's filters and sort saved under a name by a workbench user, to reapply later.

    ``page`` says which list (``customers`` or ``warnings``); ``query`` holds the list's own
    query parameters (filters and sort) exactly as the list reads them. A shared segment is
    listed for the whole team; only its owner may delete it."""

    owner = models.ForeignKey(
        "accounts.User", on_delete=models.CASCADE, related_name="saved_segments"
    )
    page = models.CharField(_("list"), max_length=16)
    name = models.CharField(_("name"), max_length=80)
    query = models.JSONField(_("filters"), default=dict, blank=True)
    shared = models.BooleanField(_("shared with the team"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("saved segment")
        verbose_name_plural = _("saved segments")
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "page", "name"], name="segment_owner_page_name"
            )
        ]
        indexes = [models.Index(fields=["page", "shared"])]

    def __str__(self) -> str:
        return self.name

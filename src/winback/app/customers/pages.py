"""Page data for the workbench: a fixed number of queries per page, whatever the data size.

Every function takes the viewing user and returns plain values for a template; permission
checks live in :mod:`.permissions` and are called here, so no view can forget them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, OuterRef, Subquery, Sum
from django.db.models.functions import TruncMonth
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _

from winback.app.accounts import permissions
from winback.app.analysis.rows import shown_scores
from winback.app.analysis.wording import action_text, signals_text
from winback.app.contacts import gate
from winback.app.contacts.replan import ReplanNote, latest_replan
from winback.app.customers.queue import QueueRow, open_rows
from winback.app.settings.profile import current_profile
from winback.app.settings.rule_messages import describe_error
from winback.app.settings.rules import (
    QuestionnairesInForce,
    RuleData,
    current_rules,
    questionnaires_in_force,
)
from winback.programme.playbooks import Playbook, StagePolicy
from winback.programme.privacy import mask_phone
from winback.programme.questionnaires import Questionnaire
from winback.programme.replan import reason_in_force
from winback.reporting.charts import stage_chart, to_svg
from winback.reporting.metrics import stage_history
from winback.store.accounts.models import AuditLog, User
from winback.store.analysis.models import CustomerSnapshot
from winback.store.customers.models import (
    ContactChannel,
    ContactLog,
    ContactOutcome,
    Customer,
    EngagementEvent,
    EventType,
    Order,
    OrderLine,
)
from winback.store.programme.models import (
    CallTask,
    ContactAttempt,
    RoundMember,
    RoundStatus,
    TaskStatus,
)
from winback.vocabulary import CustomerType, Stage, Status

PAGE_SIZE = 50
CALL_LIST_LIMIT = 200
HISTORY_MONTHS = 24

# Keyed by the plain code strings (the enums' values), in the vocabulary's order.
STAGE_LABELS = {
    Stage.PROSPECT.value: _("Prospect"),
    Stage.ACTIVE.value: _("Active"),
    Stage.SILENT.value: _("Silent"),
    Stage.SLEEPING.value: _("Sleeping"),
    Stage.LOST.value: _("Lost"),
}
STATUS_LABELS = {
    Status.ACTIVE.value: _("Active"),
    Status.AT_RISK.value: _("At risk"),
    Status.LOST.value: _("Lost"),
}
TYPE_LABELS = {
    CustomerType.PROSPECT.value: _("Prospect"),
    CustomerType.NEW.value: _("New customer"),
    CustomerType.VULNERABLE.value: _("Vulnerable"),
    CustomerType.ALERT.value: _("Alert"),
    CustomerType.EVERGREEN.value: _("Evergreen"),
    CustomerType.LOST.value: _("Lost"),
}
NOT_ALLOWED_MESSAGES = {
    "do_not_contact": _("The customer asked not to be contacted."),
    "no_consent": _("The customer has not consented to marketing contacts."),
    "over_contact_cap": _("The contact limit for this customer is reached."),
    "control_group": _(
        "The customer is in a round's control group until its measurement ends: "
        "no contact until then."
    ),
    "global_holdout": _(
        "The customer is in the programme's global holdout: the programme never contacts them."
    ),
    "open_complaint": _(
        "The customer has an open complaint: the complaints team handles them until it is resolved."
    ),
    "task_closed": _("This call task is already closed."),
}
CHANNEL_BLOCK_MESSAGES = {
    "no_phone": _("no phone number"),
    "no_email": _("no e-mail address"),
    "outside_allowed_hours": _("outside the channel's allowed hours"),
}


def stage_label(code: str | None) -> str:
    return str(STAGE_LABELS.get(code or "", code or "-"))


def status_label(code: str | None) -> str:
    return str(STATUS_LABELS.get(code or "", code or "-"))


def channel_label(code: str) -> str:
    return str(ContactChannel(code).label) if code in ContactChannel.values else code


def not_allowed_message(code: str) -> str:
    return str(NOT_ALLOWED_MESSAGES.get(code, code))


def audit_phone_reveal(user: User, customer: Customer, *, via: str) -> None:
    """One audit row per full phone number shown: who, when (auto), which customer, from
    which page. Never the number itself. Viewing a sheet (masked) writes nothing: a GET never
    writes (docs/decisions/0013-get-never-writes.md)."""
    AuditLog.objects.create(
        user=user,
        username=user.get_username(),
        action="reveal_phone",
        object_type="customer",
        object_id=customer.external_id,
        detail={"via": via},
    )


def _member_field(name: str) -> Subquery:
    return Subquery(
        RoundMember.objects.filter(
            round_id=OuterRef("round_id"), customer_id=OuterRef("customer_id")
        ).values(name)[:1]
    )


# --- agent: my calls (the queue lives in .queue) -------------------------------------------------
CallRow = QueueRow


def my_calls(user: User, *, today: date, lang: str) -> list[QueueRow]:
    """The agent's open call tasks the contact gate lets through, by priority then due date."""
    return open_rows(user, today=today, lang=lang)


# --- customer 360 --------------------------------------------------------------------------------
@dataclass
class Customer360:
    customer: Customer
    phone: str
    snapshot: CustomerSnapshot | None
    totals: dict[str, Any]
    largest: Order | None
    months: list[dict[str, Any]]
    categories: list[dict[str, Any]]
    engagement: list[dict[str, Any]]
    contacts: list[dict[str, Any]]
    open_tasks: list[CallTask] = field(default_factory=list)
    signals: list[str] = field(default_factory=list)
    action: str = ""
    scores: dict[str, Any] = field(default_factory=dict)  # the snapshot as shown (rounded)
    can_reveal: bool = False  # masked, and the viewer may ask for the full number
    revealed: bool = False  # the full number is shown (dialable: a tel: link)


def customer_360(customer: Customer, *, phone: str, rules: RuleData, lang: str) -> Customer360:
    """Purchase history by month and category, largest purchase, engagement and contacts."""
    orders = Order.objects.filter(customer_id=customer.pk)
    totals = orders.aggregate(
        orders=Count("pk"), amount_cents=Sum("amount_cents"), last=Max("order_date")
    )
    months = [
        dict(row)
        for row in orders.annotate(month=TruncMonth("order_date"))
        .values("month")
        .annotate(orders=Count("pk"), amount_cents=Sum("amount_cents"))
        .order_by("-month")[:HISTORY_MONTHS]
    ]
    categories: list[dict[str, Any]] = [
        dict(row)
        for row in OrderLine.objects.filter(order__customer_id=customer.pk)
        .values("category__code", "category__name", "category__name_en")
        .annotate(lines=Count("pk"), amount_cents=Sum("amount_cents"))
        .order_by("-amount_cents")[:10]
    ]
    for row in categories:
        name = row["category__name"] if lang.startswith("zh") else row["category__name_en"]
        row["label"] = name or row["category__name"] or row["category__code"] or "-"
    events = EngagementEvent.objects.filter(customer_id=customer.pk)
    engagement = [
        {"type": EventType(r["event_type"]).label, "n": r["n"]}
        for r in events.values("event_type").annotate(n=Count("pk")).order_by("event_type")
        if r["event_type"] in EventType.values
    ]
    contacts = [
        {
            "log": log,
            "outcome": ContactOutcome(log.outcome).label
            if log.outcome in ContactOutcome.values
            else log.outcome,
            "reason": rules.taxonomy.label(log.reason_code, lang) if log.reason_code else "",
            "offer": _offer_label(rules, log.offer_code, lang) if log.offer_code else "",
        }
        for log in ContactLog.objects.filter(customer_id=customer.pk).order_by("-occurred_at")[:20]
    ]
    snapshot = CustomerSnapshot.objects.filter(customer_id=customer.pk).order_by("-as_of").first()
    return Customer360(
        customer=customer,
        phone=phone,
        snapshot=snapshot,
        signals=signals_text(snapshot.top_signals, lang) if snapshot else [],
        action=action_text(snapshot.retention_action, lang) if snapshot else "",
        scores=shown_scores([snapshot])[0] if snapshot else {},
        totals=totals,
        largest=orders.order_by("-amount_cents", "-order_date").first(),
        months=months,
        categories=categories,
        engagement=engagement,
        contacts=contacts,
    )


def _offer_label(rules: RuleData, code: str, lang: str) -> str:
    try:
        return rules.catalogue.offer(code).label(lang)
    except KeyError:
        return code


def customer_sheet(user: User, customer_pk: int, *, lang: str, reveal: bool = False) -> Customer360:
    """The 360 sheet for one customer, phone masked; 403 for agents not assigned to them.

    ``reveal`` (a POST) shows the full number to the agent working the customer's open task,
    and writes the audit row; anyone else gets 403."""
    customer = get_object_or_404(Customer.objects.select_related("store"), pk=customer_pk)
    permissions.check_customer_access(user, customer.pk)
    open_tasks = list(
        CallTask.objects.filter(customer_id=customer.pk, status=TaskStatus.OPEN)
        .exclude(round__status=RoundStatus.CLOSED)
        .select_related("agent", "round")
        .order_by("next_due", "pk")
    )
    own = next((t for t in open_tasks if t.agent_id == user.pk), None)
    phone = _phone_shown(user, customer, own, reveal=reveal, via="sheet")
    sheet = customer_360(customer, phone=phone, rules=current_rules(), lang=lang)
    sheet.open_tasks = open_tasks
    sheet.can_reveal = not reveal and _may_reveal(user, customer, own)
    sheet.revealed = reveal and bool(phone)
    return sheet


def _may_reveal(user: User, customer: Customer, task: CallTask | None) -> bool:
    return bool(customer.phone) and permissions.phone_visible(user, task)


def _phone_shown(
    user: User, customer: Customer, task: CallTask | None, *, reveal: bool, via: str
) -> str:
    """The masked number, or with ``reveal`` the full one, audited (403 if not allowed)."""
    if not reveal:
        return mask_phone(customer.phone) or ""
    if not _may_reveal(user, customer, task):
        raise PermissionDenied
    audit_phone_reveal(user, customer, via=via)
    return customer.phone


# --- the call page ----------------------------------------------------------------------
@dataclass
class OfferOption:
    code: str
    label: str
    kind: str
    cost: float | None
    contact_date: str
    category: str


@dataclass
class CallPage:
    task: CallTask
    member: RoundMember | None
    sheet: Customer360
    playbook: Playbook
    policy: StagePolicy | None
    reason_code: str
    reason_label: str
    channel_label: str
    talking_points: tuple[str, ...]
    fix: str
    offers: list[OfferOption]
    reasons: list[tuple[str, str]]
    can_log: bool
    blocked: str = ""  # why the contact gate stops this customer now (translated), or ""
    replanned: str = ""  # "Re-planned after reason X" (translated), or ""
    channel_note: str = ""  # why the reason's channel was not used (translated), or ""
    stage_planned: str = ""  # the stage the round planned the call for (label)
    stage_now: str = ""  # the latest analysis's stage, when it differs (label), else ""
    last_attempt: bool = False  # the next outcome is the last the round allows: it closes
    cap: int = 0
    questionnaire: Questionnaire | None = None
    questions: list[dict[str, Any]] = field(default_factory=list)
    saved: dict[str, Any] | None = None  # the latest outcome recorded on the task (shown)
    mine: bool = False  # the viewer is the task's agent
    # for admins: the team's stored questionnaires were set aside for the shipped ones (why)
    questionnaire_warning: str = ""


def call_page(user: User, task_id: int, *, lang: str, reveal: bool = False) -> CallPage:
    """A call: the customer's 360 (phone masked unless ``reveal``, as on the sheet), the
    script for their reason and stage, the offer menu."""
    task = get_object_or_404(
        CallTask.objects.select_related("customer", "customer__store", "round"), pk=task_id
    )
    permissions.check_task_access(user, task)
    member = RoundMember.objects.filter(
        round_id=task.round_id, customer_id=task.customer_id
    ).first()
    rules = current_rules()
    replan = latest_replan(task.pk)
    reason_code = reason_in_force(
        task.reason_code, replan.reason if replan else "", member.reason_code if member else ""
    )
    playbook = rules.playbooks.for_reason(reason_code or None)
    policy = _stage_policy(rules, member.stage if member else "")
    phone = _phone_shown(user, task.customer, task, reveal=reveal, via="call")
    sheet = customer_360(task.customer, phone=phone, rules=rules, lang=lang)
    sheet.can_reveal = not reveal and _may_reveal(user, task.customer, task)
    sheet.revealed = reveal and bool(phone)
    stopped = (
        gate.reason_for(task.customer_id, on=gate.today(), round_id=task.round_id)
        if task.status == TaskStatus.OPEN
        else None
    )
    cap = current_profile().programme.contacts_per_round
    planned = member.stage if member else ""
    now = sheet.snapshot.stage if sheet.snapshot else ""
    in_force = questionnaires_in_force(rules)
    questionnaire = in_force.first
    return CallPage(
        stage_planned=stage_label(planned) if planned else "",
        stage_now=stage_label(now) if now and now != planned else "",
        last_attempt=task.status == TaskStatus.OPEN and task.attempts + 1 >= cap,
        cap=cap,
        questionnaire=questionnaire,
        questions=questionnaire_fields(questionnaire, lang) if questionnaire else [],
        questionnaire_warning=questionnaire_warning(in_force) if user.is_admin_role else "",
        saved=_latest_outcome(task, rules, lang),
        mine=task.agent_id == user.pk,
        task=task,
        member=member,
        sheet=sheet,
        playbook=playbook,
        policy=policy,
        reason_code=reason_code,
        reason_label=rules.taxonomy.label(reason_code, lang) if reason_code else "",
        channel_label=channel_label(
            member.channel if member and member.channel else playbook.channel
        ),
        talking_points=playbook.talking_points(lang),
        fix=playbook.fix(lang),
        offers=offer_options(task, rules, lang),
        reasons=[
            (r.code, r.zh if lang.startswith("zh") else r.en) for r in rules.taxonomy.visible()
        ],
        can_log=permissions.may_log_contact(user, task)
        and task.status == TaskStatus.OPEN
        and stopped is None,
        blocked=not_allowed_message(stopped) if stopped else "",
        **_replan_notes(replan, rules, lang),
    )


def questionnaire_warning(in_force: QuestionnairesInForce) -> str:
    """Why the team's stored questionnaires are not in force (translated), or ""."""
    if in_force.problem is None:
        return ""
    return str(
        _(
            "The stored questionnaires cannot be used, so the shipped ones are shown: %(why)s "
            "Correct them under Settings, Questionnaires."
        )
        % {"why": describe_error(in_force.problem)}
    )


def questionnaire_fields(questionnaire: Questionnaire, lang: str) -> list[dict[str, Any]]:
    """The questions as the call page shows them: text and options in the user's language."""
    zh = lang.startswith("zh")
    return [
        {
            "code": q.code,
            "name": f"q_{q.code}",
            "kind": q.kind,
            "text": q.text(lang),
            "options": [(o.code, o.zh if zh else o.en) for o in q.options],
        }
        for q in questionnaire.asked
    ]


def _latest_outcome(task: CallTask, rules: RuleData, lang: str) -> dict[str, Any] | None:
    """The task's latest recorded outcome, in words (for the read-only summary)."""
    attempt = ContactAttempt.objects.filter(task_id=task.pk).order_by("-occurred_at", "-pk").first()
    if attempt is None:
        return None
    return {
        "attempt": attempt,
        "outcome": ContactOutcome(attempt.outcome).label
        if attempt.outcome in ContactOutcome.values
        else attempt.outcome,
        "reason": rules.taxonomy.label(attempt.reason_code, lang) if attempt.reason_code else "",
        "offer": _offer_label(rules, attempt.offer_code, lang) if attempt.offer_code else "",
    }


def _replan_notes(note: ReplanNote | None, rules: RuleData, lang: str) -> dict[str, str]:
    """The call page's words for the task's latest re-plan: after which reason, and why the
    reason's channel was not used when it was not."""
    if note is None:
        return {}
    reason = rules.taxonomy.label(note.reason, lang)
    shown = {
        "replanned": str(
            _("Re-planned after reason: %(reason)s. The script, offers and channel follow it.")
        )
        % {"reason": reason}
    }
    if note.channel_block:
        shown["channel_note"] = str(
            _(
                "The playbook's channel %(wanted)s cannot reach this customer (%(why)s): "
                "the contact stays on %(channel)s."
            )
        ) % {
            "wanted": channel_label(note.wanted_channel),
            "why": str(CHANNEL_BLOCK_MESSAGES.get(note.channel_block, note.channel_block)),
            "channel": channel_label(note.channel),
        }
    return shown


def _stage_policy(rules: RuleData, stage: str) -> StagePolicy | None:
    try:
        return rules.playbooks.for_stage(stage)
    except KeyError:
        return None


def offer_options(task: CallTask, rules: RuleData, lang: str) -> list[OfferOption]:
    return [
        OfferOption(
            code=o.code,
            label=_offer_label(rules, o.code, lang),
            kind=o.kind,
            cost=o.cost,
            contact_date=o.contact_date,
            category=o.category,
        )
        for o in task.menu.offers
    ]


def task_for_logging(user: User, task_id: int) -> CallTask:
    """The task an outcome is posted to: 404 if missing, 403 unless it is the user's own."""
    task = get_object_or_404(CallTask, pk=task_id)
    if not permissions.may_log_contact(user, task):
        raise PermissionDenied
    return task


# --- supervisors: the dashboard (the lists are in :mod:`.lists`) ------------------------------
def stage_trend_svg(history: list[dict[str, Any]], lang: str) -> str:
    """Customers by stage at each month end (the report's chart), cached per data and language."""
    runs = [
        {"as_of": r["as_of"], "counts": r["counts"] if isinstance(r["counts"], dict) else {}}
        for r in history
    ]
    if not runs:
        return ""
    rlang = "en" if lang.startswith("en") else "zh"
    digest = hashlib.sha256(
        json.dumps([rlang, runs], sort_keys=True, default=str).encode()
    ).hexdigest()

    def draw() -> str:
        chart = stage_chart({"stages": stage_history(runs)}, rlang)
        return to_svg(chart) if chart is not None else ""

    return str(cache.get_or_set(f"workbench:stage-trend:{digest}", draw, timeout=24 * 3600))


# The lists moved to :mod:`winback.app.customers.lists`; these names stay importable from here.
_MOVED = ("CustomerFilters", "customers_page", "early_warnings")


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        from winback.app.customers import lists

        return getattr(lists, name)
    raise AttributeError(name)

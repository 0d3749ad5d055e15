"""Win-back rounds, their members, call tasks and contact attempts (R4-R7, R13).

The rules live in :mod:`winback.programme`; these tables keep what a plan decided and what the
agents did. Exclusions are stored as counts in the round summary, not as rows.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from winback import vocabulary
from winback.programme.menus import OfferMenu
from winback.store.customers.models import ContactOutcome


class RoundStatus(models.TextChoices):
    PLANNED = vocabulary.RoundStatus.PLANNED.value, _("Planned")
    ACTIVE = vocabulary.RoundStatus.ACTIVE.value, _("Active")
    CLOSED = vocabulary.RoundStatus.CLOSED.value, _("Closed")


class Arm(models.TextChoices):
    TREATED = vocabulary.Arm.TREATED.value, _("Treated")
    CONTROL = vocabulary.Arm.CONTROL.value, _("Control")


class TaskStatus(models.TextChoices):
    OPEN = vocabulary.TaskStatus.OPEN.value, _("Open")
    DONE = vocabulary.TaskStatus.DONE.value, _("Done")
    CLOSED = vocabulary.TaskStatus.CLOSED.value, _("Closed (do not contact)")
    # Left open when its round closed: nobody calls on it any more, and it is not "done".
    EXPIRED = vocabulary.TaskStatus.EXPIRED.value, _("Expired (round closed)")


class ExpiryCause(models.TextChoices):
    ROUND_CLOSED = vocabulary.ExpiryCause.ROUND_CLOSED.value, _("Round closed")
    CLOSED_BY_SUPERVISOR = (
        vocabulary.ExpiryCause.CLOSED_BY_SUPERVISOR.value,
        _("Round closed early by a supervisor"),
    )
    AGENT_DEACTIVATED = vocabulary.ExpiryCause.AGENT_DEACTIVATED.value, _("Agent deactivated")


class Round(models.Model):
    month = models.DateField(_("month (first day)"))
    status = models.CharField(
        _("status"), max_length=16, choices=RoundStatus.choices, default=RoundStatus.ACTIVE
    )
    seed = models.BigIntegerField(_("random seed"))
    holdout_share = models.FloatField(_("control group share"))
    # The day the plan was made as of: the round's first day (exclusions, contact caps and
    # returns are counted from it). The analysis the plan used is summary["snapshot_as_of"].
    as_of = models.DateField(_("planned as of"))
    round_start = models.DateField(_("starts"))
    round_end = models.DateField(_("ends"))
    config = models.JSONField(_("configuration"), default=dict, blank=True)
    summary = models.JSONField(_("plan summary"), default=dict, blank=True)
    # The pre-registered design, fixed when the round is planned (winback.programme.design).
    design = models.JSONField(_("pre-registered design"), default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("win-back round")
        verbose_name_plural = _("win-back rounds")
        ordering = ["-month", "-id"]

    def __str__(self) -> str:
        return f"round {self.pk} {self.month:%Y-%m}"

    @property
    def snapshot_as_of(self) -> date | None:
        """The analysis the plan was made from (recorded in the summary when planned)."""
        summary = self.summary if isinstance(self.summary, dict) else {}
        try:
            return date.fromisoformat(str(summary["snapshot_as_of"]))
        except (KeyError, ValueError):
            return None


class RoundMember(models.Model):
    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="members")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="round_memberships"
    )
    arm = models.CharField(_("group"), max_length=8, choices=Arm.choices)
    tier = models.PositiveSmallIntegerField(_("tier"), null=True)
    stage = models.CharField(_("stage"), max_length=16)
    priority_rank = models.PositiveIntegerField(_("priority"))
    expected_value = models.FloatField(_("expected incremental value"), default=0.0)
    required_seniority = models.PositiveSmallIntegerField(default=1)
    channel = models.CharField(_("channel"), max_length=16, blank=True)
    reason_code = models.CharField(_("known leave reason"), max_length=64, blank=True)
    returned = models.BooleanField(_("came back within 90 days"), null=True, blank=True)
    # How the planner chose the member (winback.programme.priority): "priority" or "random"
    # (the random share); "" for members planned before the random share existed.
    selected_by = models.CharField(_("selected by"), max_length=16, blank=True, default="")
    predicted_uplift = models.FloatField(_("predicted uplift"), null=True, blank=True)
    uplift_class = models.CharField(_("uplift class"), max_length=16, blank=True, default="")
    # The member's net spend (cents) and purchase days in the 90 days before the round (the
    # CUPED covariates of its comparison), stored at planning; null until filled.
    pre_spend_cents = models.BigIntegerField(_("spend before the round"), null=True, blank=True)
    pre_visits = models.PositiveIntegerField(
        _("purchase days before the round"), null=True, blank=True
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "customer"], name="roundmember_round_customer")
        ]
        indexes = [models.Index(fields=["customer", "arm"])]

    def __str__(self) -> str:
        return f"{self.customer_id} in round {self.round_id} ({self.arm})"


class CallTask(models.Model):
    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="tasks")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="call_tasks"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="call_tasks"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=TaskStatus.choices, default=TaskStatus.OPEN
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    planned_date = models.DateField(_("planned date"), null=True)
    next_due = models.DateField(_("next due"), null=True)
    # Optimistic locking: every write bumps it; a writer holding an older value gets 409.
    version = models.PositiveIntegerField(default=1)
    offer_menu = models.JSONField(_("offer menu"), default=list, blank=True)
    offer_code = models.CharField(_("chosen offer"), max_length=64, blank=True)
    reason_code = models.CharField(_("leave reason"), max_length=64, blank=True)
    # The moment the customer asked to be called back (the day is ``next_due``).
    callback_at = models.DateTimeField(_("call back at"), null=True, blank=True)
    # Why an expired task expired ("" for any other status).
    expiry_cause = models.CharField(
        _("expiry cause"), max_length=32, choices=ExpiryCause.choices, blank=True
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("call task")
        verbose_name_plural = _("call tasks")
        constraints = [
            models.UniqueConstraint(fields=["round", "customer"], name="calltask_round_customer")
        ]
        indexes = [
            models.Index(fields=["agent", "status", "next_due"]),
            models.Index(fields=["customer", "status"]),
        ]

    def __str__(self) -> str:
        return f"task {self.pk}: customer {self.customer_id}, round {self.round_id}"

    @property
    def menu(self) -> OfferMenu:
        """The offer menu, typed (the stored JSON is written by ``menus.menu_json``)."""
        return OfferMenu.from_json(self.offer_menu)

    @menu.setter
    def menu(self, value: OfferMenu) -> None:
        self.offer_menu = value.to_json()


class ContactAttempt(models.Model):
    task = models.ForeignKey(CallTask, on_delete=models.CASCADE, related_name="contact_attempts")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(_("outcome"), max_length=24, choices=ContactOutcome.choices)
    reason_code = models.CharField(_("leave reason"), max_length=64, blank=True)
    offer_code = models.CharField(_("offer chosen"), max_length=64, blank=True)
    # The chosen option's cost (currency units) from the task's menu: what the round's offer
    # budget commits (null without an offer, and on attempts logged before it was stored).
    offer_cost = models.FloatField(_("offer cost"), null=True, blank=True)
    promised_return_date = models.DateField(_("promised return date"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    # "Call back later": when the customer asked to be called (date and time).
    callback_at = models.DateTimeField(_("call back at"), null=True, blank=True)
    # The callback questionnaire's answers: {"questionnaire": code, "answers": {question: ...}}.
    answers = models.JSONField(_("questionnaire answers"), default=dict, blank=True)
    simulated = models.BooleanField(_("simulated (demo)"), default=False)
    occurred_at = models.DateTimeField(_("when"))
    occurred_date = models.DateField(_("date (business time zone)"))
    contact_log = models.OneToOneField(
        "customers.ContactLog", null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["task", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.outcome} on task {self.task_id}"


class ProgrammeSettings(models.Model):
    """Overrides merged into the default offer catalogue, playbooks and taxonomy, and the
    team's questionnaires; one row."""

    offers = models.JSONField(default=dict, blank=True)
    playbooks = models.JSONField(default=dict, blank=True)
    taxonomy = models.JSONField(default=dict, blank=True)
    # The quality review's scorecard ({"criteria": [{code, label_zh, label_en, weight}]});
    # empty: the default one (winback.programme.scorecard).
    quality_scorecard = models.JSONField(default=dict, blank=True)
    # The team's callback questionnaires ({"questionnaires": [...]}, each as
    # winback.programme.questionnaires.Questionnaire.to_dict); empty: the shipped ones.
    questionnaires = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return "programme settings"


class RoundRequest(models.Model):
    """One press of the round wizard's Create button. The token is written, and committed,
    before the round is planned: a second press with the same token (a double click, a resend)
    finds it and is sent to the round already made instead of planning another."""

    token = models.CharField(max_length=64, unique=True)
    # One wizard creation per month: two supervisors pressing Create for the same month at the
    # same moment cannot both plan (the database refuses the second row).
    month = models.DateField(_("month (first day)"), unique=True)
    round = models.OneToOneField(
        Round, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"round request {self.token} ({self.month:%Y-%m})"


class ContactReview(models.Model):
    """A supervisor's quality rating of one contact attempt (1 = poor, 5 = excellent): the
    weighted mean of the scorecard's criteria, rounded, when scored on the scorecard."""

    attempt = models.ForeignKey(ContactAttempt, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    rating = models.PositiveSmallIntegerField(_("rating"))
    # The scorecard's criteria as scored ({"criteria": [{code, weight, score}], "overall"});
    # empty for a review given as a single 1-5 rating.
    scores = models.JSONField(_("scores"), default=dict, blank=True)
    comments = models.TextField(_("comments"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("contact review")
        verbose_name_plural = _("contact reviews")
        constraints = [
            models.UniqueConstraint(fields=["attempt", "reviewer"], name="review_attempt_reviewer"),
            models.CheckConstraint(
                condition=models.Q(rating__gte=1) & models.Q(rating__lte=5),
                name="review_rating_1_5",
            ),
        ]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"review {self.rating} of attempt {self.attempt_id}"


class CareKind(models.TextChoices):
    CALL = "call", _("Care call")
    VISIT = "visit", _("Visit")
    GREETING = "greeting", _("Greeting")


class CareStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    # The contact gate stopped the customer after the task was made (do not contact, a
    # control group, the global holdout, a complaint, a cap): nobody works it.
    CLOSED = "closed", _("Closed (contact not allowed)")


class CareTask(models.Model):
    """One care call, visit or greeting of the living base, planned for a day and an agent
    (R10). Made by :func:`winback.app.care.tasks.materialise`; done when its agent records the
    outcome, which is also written to the contact log so the class cadence moves on."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="care_tasks"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="care_tasks"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=CareKind.choices)
    # "birthday" or a holiday code for greetings; "" for cadence calls and visits.
    occasion = models.CharField(_("occasion"), max_length=40, blank=True, default="")
    due_date = models.DateField(_("due"))
    planned_date = models.DateField(_("planned date"))
    status = models.CharField(
        _("status"), max_length=16, choices=CareStatus.choices, default=CareStatus.OPEN
    )
    outcome = models.CharField(
        _("outcome"), max_length=24, choices=ContactOutcome.choices, blank=True
    )
    notes = models.TextField(_("notes"), blank=True)
    closed_reason = models.CharField(_("closed because"), max_length=32, blank=True)
    completed_at = models.DateTimeField(_("done at"), null=True, blank=True)
    contact_log = models.OneToOneField(
        "customers.ContactLog", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("care task")
        verbose_name_plural = _("care tasks")
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "kind", "occasion", "due_date"], name="caretask_unique_due"
            )
        ]
        indexes = [
            models.Index(fields=["agent", "status", "planned_date"]),
            models.Index(fields=["customer", "kind", "status"]),
        ]

    def __str__(self) -> str:
        return f"care {self.kind} {self.pk}: customer {self.customer_id}"


class CareSettings(models.Model):
    """The care plan's rules as the business set them; one row. Empty: the shipped defaults
    (:mod:`winback.programme.defaults.holidays`)."""

    cadences = models.JSONField(_("cadences per class"), default=list, blank=True)
    holidays = models.JSONField(_("holidays"), default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return "care settings"

"""Analysis results written back per customer per as-of date (R2, R3, R9, R12)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AnalysisRun(models.Model):
    as_of = models.DateField(_("as of"), unique=True)
    created_at = models.DateTimeField(auto_now=True)
    customers = models.PositiveIntegerField(default=0)
    params = models.JSONField(default=dict, blank=True)
    weights = models.JSONField(_("indicator weights"), default=dict, blank=True)
    audit = models.JSONField(_("indicator audit"), default=dict, blank=True)
    backtest = models.JSONField(default=dict, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    timings = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-as_of"]

    def __str__(self) -> str:
        return f"analysis {self.as_of}"


class CustomerSnapshot(models.Model):
    # No index of its own: the unique (customer, as_of) index starts with it (decision 0056).
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="snapshots", db_index=False
    )
    as_of = models.DateField(_("as of"))
    stage = models.CharField(_("lifecycle stage"), max_length=16)
    customer_type = models.CharField(_("customer type"), max_length=16)
    status = models.CharField(_("status"), max_length=16)
    churn_score = models.FloatField(_("churn score (0-100)"))
    churn_probability = models.FloatField(_("churn probability"), null=True)
    p_alive = models.FloatField(_("P(alive)"), null=True)
    expected_purchases_365 = models.FloatField(null=True)
    clv_365 = models.FloatField(_("predicted 12-month value"), null=True)
    value_index = models.FloatField(_("value index"), null=True)
    tier = models.PositiveSmallIntegerField(_("value tier (1 = highest)"), null=True)
    rfm_octant = models.CharField(_("RFM octant"), max_length=24, blank=True)
    abc_class = models.CharField(_("class"), max_length=1, blank=True)
    early_warning = models.BooleanField(_("early warning"), default=False)
    retention_action = models.CharField(max_length=40, blank=True)
    days_since_last = models.IntegerField(null=True)
    expected_interval_days = models.FloatField(null=True)
    top_signals = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "as_of"], name="snapshot_customer_as_of")
        ]
        indexes = [
            models.Index(fields=["as_of", "status"]),
            models.Index(fields=["as_of", "tier"]),
            models.Index(fields=["as_of", "stage"]),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} @ {self.as_of}"


class BusinessSettings(models.Model):
    """The business profile (``winback.config.BusinessProfile.to_dict()``); one row."""

    profile = models.JSONField(_("business profile"), default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("business settings")
        verbose_name_plural = _("business settings")

    def __str__(self) -> str:
        return str(self.profile.get("industry", ""))

"""Import batches: one row per file import, with its summary and checkpoint."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from winback import vocabulary


class ImportKind(models.TextChoices):
    CUSTOMERS = "customers", _("Customers")
    STORES = "stores", _("Stores")
    CATEGORIES = "categories", _("Product categories")
    PRODUCTS = "products", _("Products")
    ORDERS = "orders", _("Orders")
    ORDER_LINES = "order-lines", _("Order lines")
    EVENTS = "events", _("Engagement events")
    CONTACTS = "contacts", _("Contacts")


class ImportStatus(models.TextChoices):
    RUNNING = vocabulary.ImportStatus.RUNNING.value, _("Running")
    DONE = vocabulary.ImportStatus.DONE.value, _("Done")
    FAILED = vocabulary.ImportStatus.FAILED.value, _("Failed")


class ImportBatch(models.Model):
    kind = models.CharField(_("kind"), max_length=16, choices=ImportKind.choices)
    file_name = models.CharField(_("file"), max_length=500)
    file_sha256 = models.CharField(max_length=64, db_index=True)
    status = models.CharField(
        _("status"), max_length=16, choices=ImportStatus.choices, default=ImportStatus.RUNNING
    )
    dry_run = models.BooleanField(default=False)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows_committed = models.PositiveIntegerField(_("rows committed (checkpoint)"), default=0)
    read = models.PositiveIntegerField(default=0)
    inserted = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    rejects_file = models.CharField(max_length=500, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    user = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("import batch")
        verbose_name_plural = _("import batches")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.file_name} ({self.status})"

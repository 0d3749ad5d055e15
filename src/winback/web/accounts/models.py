"""Users with a role (admin, supervisor, agent) and the audit trail (R13)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Admin / analyst")
    SUPERVISOR = "supervisor", _("Supervisor")
    AGENT = "agent", _("Agent")


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.AGENT)
    seniority = models.PositiveSmallIntegerField(_("seniority (1 junior - 3 senior)"), default=1)
    daily_capacity = models.PositiveIntegerField(_("calls per day"), default=40)
    language = models.CharField(_("language"), max_length=8, blank=True)

    @property
    def is_agent(self) -> bool:
        return self.role == Role.AGENT

    @property
    def is_supervisor(self) -> bool:
        return self.role == Role.SUPERVISOR

    @property
    def is_admin_role(self) -> bool:
        return self.role == Role.ADMIN or self.is_superuser


class AuditLog(models.Model):
    """Who saw or exported what, when and why. Never holds a raw phone number."""

    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL)
    username = models.CharField(max_length=150, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    action = models.CharField(_("action"), max_length=40, db_index=True)
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.CharField(max_length=80, blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    flagged = models.BooleanField(_("flagged as unusual"), default=False)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.username} {self.action} {self.object_type} {self.object_id}"

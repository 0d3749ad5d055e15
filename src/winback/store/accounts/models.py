"""Users with a role (admin, supervisor, agent) and the audit trail (R13)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from winback import vocabulary


class Role(models.TextChoices):
    ADMIN = vocabulary.Role.ADMIN.value, _("Admin / analyst")
    SUPERVISOR = vocabulary.Role.SUPERVISOR.value, _("Supervisor")
    AGENT = vocabulary.Role.AGENT.value, _("Agent")


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


class ApiToken(models.Model):
    """A bearer token for the JSON API. Only a SHA-256 digest of the secret is stored: the
    secret is shown once when issued. A revoked or expired token authenticates nobody."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(_("token prefix"), max_length=16, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user_id})"

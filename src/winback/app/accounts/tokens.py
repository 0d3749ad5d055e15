"""API tokens: issue, authenticate, list, revoke.

A token is ``wbk_`` followed by 43 URL-safe random characters (256 bits). Only its SHA-256
digest is stored, so a leaked database does not leak usable tokens; the secret is shown once,
when issued. A fast digest is enough here (unlike passwords) because the secret is random and
long: there is nothing to guess from a dictionary. The first characters (the prefix) are kept
in clear so a person can tell their tokens apart and revoke one.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from winback.store.accounts.models import ApiToken, AuditLog, User

TOKEN_PREFIX = "wbk_"  # noqa: S105 - a public marker, not a secret
PREFIX_LENGTH = 12  # "wbk_" and 8 random characters: shown in listings, not secret
LAST_USED_RESOLUTION = timedelta(minutes=1)  # at most one write a minute per token


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # the only time the full token exists outside the client


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def issue_token(user: User, *, name: str = "", expires_in_days: int | None = None) -> IssuedToken:
    """A new token for ``user``; the returned secret is not stored anywhere."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = (
        timezone.now() + timedelta(days=expires_in_days) if expires_in_days is not None else None
    )
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=secret[:PREFIX_LENGTH],
        digest=digest(secret),
        expires_at=expires_at,
    )
    AuditLog.objects.create(
        user=user,
        username=user.get_username(),
        action="api_token_issued",
        object_type="api_token",
        object_id=token.prefix,
        detail={"name": name},
    )
    return IssuedToken(token=token, secret=secret)


def authenticate(secret: str, *, now: datetime | None = None) -> User | None:
    """The active user owning this live token, else ``None`` (unknown, revoked, expired)."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    moment = now or timezone.now()
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=digest(secret), revoked_at__isnull=True, user__is_active=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=moment))
        .first()
    )
    if token is None:
        return None
    if token.last_used_at is None or moment - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=moment)
    return token.user


def tokens_of(user: User | None = None) -> list[ApiToken]:
    rows = ApiToken.objects.select_related("user").order_by("user__username", "-created_at", "-pk")
    if user is not None:
        rows = rows.filter(user=user)
    return list(rows)


def revoke_tokens(
    *, prefix: str | None = None, user: User | None = None, by: User | None = None
) -> int:
    """Revoke the live token(s) matching ``prefix`` and/or belonging to ``user``.

    Returns how many were revoked; revoking takes effect on the very next request.
    """
    if not prefix and user is None:
        raise ValueError("name a token prefix or a user")
    if prefix and len(prefix) < PREFIX_LENGTH:
        raise ValueError(f"a token prefix has {PREFIX_LENGTH} characters, like wbk_1a2B3c4D")
    rows = ApiToken.objects.filter(revoked_at__isnull=True)
    if prefix:
        rows = rows.filter(prefix=prefix[:PREFIX_LENGTH])  # the whole token works too
    if user is not None:
        rows = rows.filter(user=user)
    prefixes = list(rows.values_list("prefix", flat=True))
    revoked = rows.update(revoked_at=timezone.now())
    if revoked:
        AuditLog.objects.create(
            user=by,
            username=by.get_username() if by else "",
            action="api_token_revoked",
            object_type="api_token",
            object_id=",".join(prefixes)[:80],
            detail={"count": revoked},
        )
    return revoked

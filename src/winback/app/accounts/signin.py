"""Sign-in rules: throttling of wrong passwords (django-axes) and no demo sign-ins in production.

Throttling is django-axes' ``AxesStandaloneBackend`` placed before the model backend: it refuses
a sign-in for a locked-out user name before the password is even checked, and axes counts every
failed ``authenticate()`` through Django's ``user_login_failed`` signal. The workbench and admin
sign-in pages pass the request; an ``authenticate()`` without one (a script, the test client's
``login``) has no client to throttle and is left to the model backend instead of failing.
"""

from __future__ import annotations

import secrets
from typing import Any

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.http import HttpRequest

from winback.app.accounts.demo_users import DEMO_PASSWORD


class LockoutBackend(AxesStandaloneBackend):  # type: ignore[misc]
    """Refuse a locked-out user name; never signs anyone in itself."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        super().authenticate(request, username=username, password=password, **kwargs)
        return None


def demo_sign_in_refused(password: str) -> bool:
    """True when a sign-in that just succeeded used the published demo password in production.

    The demo's accounts are the ones that carry the password the demo prints; a production
    workbench must not let anyone in with it, whatever the account's name (a database copied
    from a demo, or an administrator who reused the password). Called after the password was
    checked, so comparing the typed password costs no second hash.
    """
    return getattr(settings, "WINBACK_ENV", "") == "production" and secrets.compare_digest(
        password.encode("utf-8"), DEMO_PASSWORD.encode("utf-8")
    )

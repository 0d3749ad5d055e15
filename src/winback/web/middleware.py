"""Session limits: 30 idle minutes, and ``WINBACK_SESSION_MAX_SECONDS`` (12 hours) at most.

The idle limit is the session's expiry (``SESSION_COOKIE_AGE``), moved forward when the user
is active. Saving the session on every request would cost a database write per page view, so
the expiry is moved at most once every ``REFRESH_SECONDS``: a session ends after 30 idle
minutes, measured to the minute. Activity alone would let a session live for ever, so the
time of signing in is stored in the session and a session older than the cap is ended,
whatever its activity.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import resolve_url

SIGNED_IN_AT = "winback_signed_in_at"
SEEN_AT = "winback_seen_at"
REFRESH_SECONDS = 60


def _stamp_sign_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        now = int(time.time())
        request.session[SIGNED_IN_AT] = now
        request.session[SEEN_AT] = now


user_logged_in.connect(_stamp_sign_in, dispatch_uid="winback_session_sign_in_time")


def session_age(request: HttpRequest) -> int | None:
    """Seconds since the user signed in, or None for a session without the stamp."""
    started = request.session.get(SIGNED_IN_AT)
    if not isinstance(started, int):
        return None
    return int(time.time()) - started


class SessionMaxAgeMiddleware:
    """Sign out a session older than ``WINBACK_SESSION_MAX_SECONDS`` (after authentication)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            age = session_age(request)
            if age is None:  # signed in before the stamp existed: the cap counts from now
                request.session[SIGNED_IN_AT] = int(time.time())
            elif age > int(settings.WINBACK_SESSION_MAX_SECONDS):
                logout(request)
                return self._to_login(request)
            now = int(time.time())
            seen = request.session.get(SEEN_AT)
            if not isinstance(seen, int) or now - seen >= REFRESH_SECONDS:
                request.session[SEEN_AT] = now  # saved with a new idle expiry
        return self.get_response(request)

    @staticmethod
    def _to_login(request: HttpRequest) -> HttpResponseBase:
        if request.headers.get("HX-Request") == "true":
            # htmx would swap the login page into a fragment; send the whole page there
            response = HttpResponse(status=200)
            response["HX-Redirect"] = resolve_url(settings.LOGIN_URL)
            return response
        return redirect_to_login(request.get_full_path())

"""How API callers prove who they are: a bearer token, or the browser's workbench session."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja.errors import HttpError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from winback.app.accounts import tokens
from winback.store.accounts.models import User


class TokenAuth(HttpBearer):
    """``Authorization: Bearer wbk_…`` with a live token of an active user."""

    def __call__(self, request: HttpRequest) -> Any:
        # Ninja's own parser logs unexpected headers verbatim; never log credentials.
        value = request.headers.get(self.header, "")
        scheme, _, secret = value.partition(" ")
        if scheme.lower() != self.openapi_scheme or not secret:
            return None
        return self.authenticate(request, secret.strip())

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        return tokens.authenticate(token)


class WorkbenchSession(APIKeyCookie):
    """The signed-in workbench session, for calls from the browser.

    Unlike Ninja's ``SessionAuth``, a request without a signed-in session is simply not
    authenticated (401) before any CSRF check; a signed-in session must pass Django's CSRF check
    on unsafe methods (403), exactly like the workbench forms.
    """

    param_name: str = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        user = getattr(request, "user", None)
        if key is None or user is None or not user.is_authenticated:
            return None
        if check_csrf(request) is not None:
            raise HttpError(403, "CSRF check failed")
        return user  # type: ignore[no-any-return]

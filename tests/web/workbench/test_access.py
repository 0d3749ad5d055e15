"""Access hardening: sign-in throttling, no demo sign-ins in production, the project's own
error pages, the favicon, and the production headers (in a child process with production
settings)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import SESSION_KEY, authenticate
from django.template.loader import render_to_string
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone, translation

from tests.factories.workbench import PASSWORD, user
from winback.app.accounts.demo_users import DEMO_PASSWORD, ensure_demo_users
from winback.store.accounts.models import Role, User
from winback.web.workbench.forms import DEMO_REFUSED

pytestmark = pytest.mark.django_db

WRONG = "not-the-password"


@pytest.fixture(autouse=True)
def _fast_hasher(settings: Any) -> None:
    """The hasher does not matter to throttling; the real one would cost a second a try."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class People:
    agent1: User
    agent2: User
    supervisor: User
    admin: User


@pytest.fixture
def people() -> People:
    return People(
        agent1=user("agent1", Role.AGENT),
        agent2=user("agent2", Role.AGENT),
        supervisor=user("supervisor", Role.SUPERVISOR),
        admin=user("admin", Role.ADMIN),
    )


def _sign_in(client: Client, username: str, password: str, url: str = "") -> int:
    response = client.post(url or reverse("login"), {"username": username, "password": password})
    return response.status_code


def _signed_in(client: Client) -> bool:
    return SESSION_KEY in client.session


def _wrong_password_page(client: Client, username: str) -> bytes:
    response = client.post(reverse("login"), {"username": username, "password": WRONG})
    assert response.status_code == 200
    return response.content


# --- throttling ----------------------------------------------------------------------------------
def test_the_eleventh_attempt_is_refused_even_with_the_right_password_until_the_cool_off(
    people: People,
) -> None:
    limit = settings.AXES_FAILURE_LIMIT
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        for _ in range(limit - 1):  # wrong passwords are answered as such ...
            assert b"Wrong user name or password." in _wrong_password_page(client, "agent1")
            clock.shift(timedelta(seconds=5))
        last_wrong = client.post(reverse("login"), {"username": "agent1", "password": WRONG})
        assert last_wrong.status_code == 429  # ... until the limit: locked from now on
        assert b'id="locked-out"' in last_wrong.content
        eleventh = client.post(reverse("login"), {"username": "agent1", "password": WRONG})
        assert eleventh.status_code == 429
        assert b'id="locked-out"' in eleventh.content
        assert _sign_in(client, "agent1", PASSWORD) == 429  # the right one too, while locked
        assert not _signed_in(client)
        clock.shift(settings.AXES_COOLOFF_TIME - timedelta(seconds=30))
        assert _sign_in(client, "agent1", PASSWORD) == 429  # still within the cool-off
        clock.shift(timedelta(seconds=31))
        assert _sign_in(client, "agent1", PASSWORD) == 302  # after it: signed in
    assert _signed_in(client)


def test_failures_below_the_limit_do_not_lock_and_a_success_starts_the_count_again(
    people: People,
) -> None:
    limit = settings.AXES_FAILURE_LIMIT
    client = Client()
    for _ in range(limit - 1):
        _wrong_password_page(client, "agent1")
    assert _sign_in(client, "agent1", PASSWORD) == 302
    client.logout()
    for _ in range(limit - 1):  # the success reset the count: as many again are answered
        _wrong_password_page(client, "agent1")
    assert _sign_in(client, "agent1", PASSWORD) == 302


@override_settings(AXES_FAILURE_LIMIT=3, AXES_COOLOFF_TIME=timedelta(minutes=2))
def test_the_limit_and_the_cool_off_are_settings(people: People) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        _wrong_password_page(client, "supervisor")
        _wrong_password_page(client, "supervisor")
        locked = client.post(reverse("login"), {"username": "supervisor", "password": WRONG})
        assert locked.status_code == 429
        assert b"locked for 2 minutes" in locked.content
        clock.shift(timedelta(minutes=2, seconds=1))
        assert _sign_in(client, "supervisor", PASSWORD) == 302


def test_one_address_trying_many_names_is_locked_too(people: People) -> None:
    """Ten wrong passwords spread over names from one address lock that address, not others."""
    limit = settings.AXES_FAILURE_LIMIT
    guesser = Client(REMOTE_ADDR="203.0.113.7")
    for i in range(limit):
        guesser.post(reverse("login"), {"username": f"nobody{i}", "password": WRONG})
    assert _sign_in(guesser, "agent2", PASSWORD) == 429
    elsewhere = Client(REMOTE_ADDR="198.51.100.20")
    assert _sign_in(elsewhere, "agent2", PASSWORD) == 302


def test_the_admin_sign_in_is_throttled_by_the_same_count(people: People) -> None:
    limit = settings.AXES_FAILURE_LIMIT
    client = Client()
    admin_login = reverse("admin:login")
    for _ in range(limit):
        client.post(admin_login, {"username": "admin", "password": WRONG})
    assert _sign_in(client, "admin", PASSWORD, admin_login) == 429
    assert _sign_in(client, "admin", PASSWORD) == 429  # the workbench's page: the same lock
    assert not _signed_in(client)


def test_authenticate_without_a_request_still_works(people: People) -> None:
    """Scripts and the test client's ``login`` call authenticate() without a request."""
    assert authenticate(username="agent1", password=PASSWORD) == people.agent1
    assert authenticate(username="agent1", password=WRONG) is None
    assert Client().login(username="agent2", password=PASSWORD)


# --- demo users ----------------------------------------------------------------------------------
def test_demo_users_sign_in_in_development_but_not_in_production() -> None:
    demo = ensure_demo_users()
    user("reception", Role.SUPERVISOR)  # a real account, with its own password
    for line in demo:
        assert _sign_in(Client(), line["username"], DEMO_PASSWORD) == 302
    with override_settings(WINBACK_ENV="production"):
        for lang in ("en", "zh-hans"):
            client = Client(HTTP_ACCEPT_LANGUAGE=lang)
            response = client.post(
                reverse("login"), {"username": demo[0]["username"], "password": DEMO_PASSWORD}
            )
            assert response.status_code == 200
            assert not _signed_in(client)
            with translation.override(lang):
                assert str(DEMO_REFUSED) in response.content.decode()
        for line in demo:
            client = Client()
            assert _sign_in(client, line["username"], DEMO_PASSWORD) == 200
            assert not _signed_in(client)
        admin_site = Client()
        assert _sign_in(admin_site, "admin", DEMO_PASSWORD, reverse("admin:login")) == 200
        assert not _signed_in(admin_site)
        # a real account signs in as before
        real = Client()
        assert _sign_in(real, "reception", PASSWORD) == 302
        assert _signed_in(real)


# --- error pages ---------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_error_pages_are_the_projects_own_in_the_visitors_language(
    people: People, lang: str
) -> None:
    with translation.override(lang):
        not_found_title = translation.gettext("Page not found")
        forbidden_title = translation.gettext("Not allowed")
        way_back = translation.gettext("Back to the workbench")
        failed_title = translation.gettext("Something went wrong")
    anonymous = Client(HTTP_ACCEPT_LANGUAGE=lang)
    missing = anonymous.get("/no-such-page/")
    assert missing.status_code == 404
    agent = Client(HTTP_ACCEPT_LANGUAGE=lang)
    agent.force_login(people.agent1)
    forbidden = agent.get(reverse("dashboard"))
    assert forbidden.status_code == 403
    for response, title in ((missing, not_found_title), (forbidden, forbidden_title)):
        text = response.content.decode()
        assert 'id="error-page"' in text
        assert title in text
        assert f'href="{reverse("home")}"' in text
        assert way_back in text
        assert f'lang="{lang}"' in text
    with translation.override(lang):
        failed = render_to_string("500.html")  # as Django renders it: without a request
    assert failed_title in failed
    assert f'href="{reverse("home")}"' in failed


def test_the_error_pages_are_translated() -> None:
    """The zh-Hans pages are not the English ones (the catalogue holds their words)."""
    pages = {}
    for lang in ("en", "zh-hans"):
        with translation.override(lang):
            pages[lang] = [render_to_string(name) for name in ("403.html", "404.html", "500.html")]
    for en, zh in zip(pages["en"], pages["zh-hans"], strict=True):
        assert en != zh


def test_favicon_is_an_icon(people: People) -> None:
    response = Client().get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"  # ICO header


# --- production: headers, no debug pages, settings from the environment ------------------------
PROBE = """
import json, django
django.setup()
from io import StringIO
from django.conf import settings
from django.core.management import call_command
from django.test import Client
out = StringIO()
call_command("collectstatic", interactive=False, verbosity=0)  # as `winback serve` does
call_command("check", deploy=True, fail_level="WARNING", stdout=out, stderr=out)
client = Client(headers={"x-forwarded-proto": "https"}, SERVER_NAME="winback.example.com")
missing = client.get("/no-such-page/", headers={"accept-language": "zh-hans"})
login = client.get("/login/", headers={"accept-language": "en"})
icon = client.get("/favicon.ico")
print(json.dumps({
    "check": out.getvalue(),
    "debug": settings.DEBUG,
    "failures": settings.AXES_FAILURE_LIMIT,
    "cooloff": settings.AXES_COOLOFF_TIME.total_seconds(),
    "missing": [missing.status_code, missing.content.decode()],
    "login": [login.status_code, dict(login.headers)],
    "icon": icon.status_code,
}))
"""


@pytest.mark.slow  # a child process
def test_production_answers_with_its_own_pages_and_security_headers(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WINBACK_", "DJANGO"))}
    env.update(
        WINBACK_ENV="production",
        WINBACK_SECRET_KEY=secrets.token_urlsafe(50),
        WINBACK_ALLOWED_HOSTS="winback.example.com",
        WINBACK_DATA_DIR=str(tmp_path / "data"),
        WINBACK_SIGNIN_FAILURES="7",
        WINBACK_SIGNIN_COOLOFF_MINUTES="20",
        DJANGO_SETTINGS_MODULE="winback.web.settings",
    )
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    assert "no issues (0 silenced)" in probe["check"]
    assert probe["debug"] is False
    assert (probe["failures"], probe["cooloff"]) == (7, 20 * 60)
    status, page = probe["missing"]
    assert status == 404
    assert 'id="error-page"' in page
    assert 'lang="zh-hans"' in page
    assert "Page not found at" not in page  # Django's debug page
    assert "urlpatterns" not in page
    status, headers = probe["login"]
    assert status == 200
    csp = {d.split()[0]: d.split()[1:] for d in headers["Content-Security-Policy"].split("; ") if d}
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in headers["Content-Security-Policy"]
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert probe["icon"] == 200

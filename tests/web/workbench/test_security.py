"""Production hardening: deploy checks, session limits, CSRF on every form, no phones in logs."""

from __future__ import annotations

import io
import logging
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.factories.workbench import PASSWORD, World, build_world
from winback.redaction import RedactPhones
from winback.store.programme.models import ContactAttempt
from winback.web.middleware import REFRESH_SECONDS, SIGNED_IN_AT

pytestmark = pytest.mark.django_db

PHONES = ("13812345678", "13987654321")


@pytest.fixture
def world() -> World:
    return build_world()


# --- manage.py check --deploy ----------------------------------------------------------------
def _production_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WINBACK_", "DJANGO_"))}
    env.update(
        WINBACK_ENV="production",
        WINBACK_SECRET_KEY=secrets.token_urlsafe(50),
        WINBACK_ALLOWED_HOSTS="winback.example.com",
        WINBACK_DATA_DIR=str(tmp_path / "data"),
        DJANGO_SETTINGS_MODULE="winback.web.settings",
    )
    return env


def _django_admin(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "django", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow  # a child process
def test_check_deploy_gives_no_warnings_in_production(tmp_path: Path) -> None:
    done = _django_admin(
        ["check", "--deploy", "--fail-level", "WARNING"], _production_env(tmp_path)
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "System check identified no issues (0 silenced)." in output
    assert "WARNINGS" not in output
    # ... with the Content-Security-Policy and the sign-in throttling in place (axes' own checks
    # ran above: it warns about a missing backend or middleware)
    shown = _django_admin(["diffsettings"], _production_env(tmp_path))
    assert shown.returncode == 0, shown.stderr
    assert "csp.middleware.CSPMiddleware" in shown.stdout
    assert "axes.middleware.AxesMiddleware" in shown.stdout
    assert "'script-src': [\"'self'\"]" in shown.stdout
    assert "unsafe-inline" not in shown.stdout


@pytest.mark.slow  # a child process
def test_production_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    env = _production_env(tmp_path)
    del env["WINBACK_SECRET_KEY"]
    done = _django_admin(["check", "--deploy"], env)
    assert done.returncode != 0
    assert "WINBACK_SECRET_KEY" in done.stderr


@pytest.mark.slow  # a child process
def test_production_refuses_debug(tmp_path: Path) -> None:
    env = _production_env(tmp_path) | {"WINBACK_DEBUG": "true"}
    done = _django_admin(["check", "--deploy"], env)
    assert done.returncode != 0
    assert "WINBACK_DEBUG" in done.stderr


# --- sessions: 30 idle minutes, 12 hours at most ---------------------------------------------
START = datetime(2026, 11, 2, 0, 30, tzinfo=UTC)  # 08:30 in Shanghai


def _sign_in(client: Client) -> None:
    response = client.post(reverse("login"), {"username": "agent1", "password": PASSWORD})
    assert response.status_code == 302


def _calls_status(client: Client) -> int:
    return client.get(reverse("calls")).status_code


def _home_goes_to(client: Client) -> str:
    """Where the home page sends the client: the calls when signed in, else the sign-in."""
    response = client.get(reverse("home"))
    assert response.status_code == 302
    return str(response["Location"]).split("?")[0]


def test_session_ends_after_30_idle_minutes(world: World) -> None:
    client = Client()
    with time_machine.travel(START, tick=False) as clock:
        _sign_in(client)
        clock.shift(timedelta(minutes=29))
        assert _calls_status(client) == 200  # active: the idle clock restarts
        clock.shift(timedelta(minutes=29))
        assert _calls_status(client) == 200
        clock.shift(timedelta(minutes=31))
        response = client.get(reverse("calls"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_session_ends_after_12_hours_however_active(world: World) -> None:
    client = Client()
    with time_machine.travel(START, tick=False) as clock:
        _sign_in(client)
        for _step in range(28):  # a request every 25 minutes: 11 h 40 min in all
            clock.shift(timedelta(minutes=25))
            # the lightest signed-in page (it only sends an agent on to the calls): activity
            # is activity whichever page it opens; the calls page is opened at the end
            assert _home_goes_to(client) == reverse("calls")
        clock.shift(timedelta(minutes=19))
        assert _calls_status(client) == 200  # 11 h 59 min after signing in
        clock.shift(timedelta(minutes=2))  # 12 h 1 min
        assert _home_goes_to(client) == reverse("login")
        response = client.get(reverse("calls"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
        assert _calls_status(client) == 302  # signed out for good, not only redirected once
        _sign_in(client)  # signing in again starts a new 12 hours
        assert _calls_status(client) == 200


def test_session_cap_uses_the_stored_sign_in_time(world: World) -> None:
    client = Client()
    _sign_in(client)
    session = client.session
    session[SIGNED_IN_AT] = int(session[SIGNED_IN_AT]) - settings.WINBACK_SESSION_MAX_SECONDS + 60
    session.save()
    assert _calls_status(client) == 200  # one minute left
    session = client.session
    session[SIGNED_IN_AT] = int(session[SIGNED_IN_AT]) - 120
    session.save()
    assert _calls_status(client) == 302
    htmx = Client()
    _sign_in(htmx)
    session = htmx.session
    session[SIGNED_IN_AT] = 0
    session.save()
    response = htmx.get(reverse("calls"), HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == reverse("login")


def test_session_settings_in_force() -> None:
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert REFRESH_SECONDS == 60  # the idle expiry moves at most once a minute
    assert settings.WINBACK_SESSION_MAX_SECONDS == 12 * 3600
    assert "winback.web.middleware.SessionMaxAgeMiddleware" in settings.MIDDLEWARE


# --- CSRF: every state-changing form refuses a POST without the token --------------------------
def _workbench_routes() -> Iterator[tuple[str, URLPattern]]:
    def walk(
        patterns: list[URLPattern | URLResolver], prefix: str
    ) -> Iterator[tuple[str, URLPattern]]:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                if entry.namespace == "admin":
                    continue
                yield from walk(entry.url_patterns, prefix + str(entry.pattern))
            else:
                yield prefix + str(entry.pattern), entry

    yield from walk(get_resolver().url_patterns, "")


def _concrete(route: str, world: World) -> str:
    """A route with its converters filled by ids that exist in the world."""
    values = {
        "task_id": world.task_mine.pk,
        "customer_id": world.mine.pk,
        "round_id": world.round.pk,
    }

    def fill(match: re.Match[str]) -> str:
        converter, name = (match.group(1) or "str"), match.group(2)
        if converter == "int":
            return str(values.get(name, world.round.pk))
        return "x"

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", fill, route).lstrip("^").rstrip("$")


@pytest.mark.parametrize("role", ["anonymous", "agent1", "supervisor"])
def test_every_post_without_csrf_token_is_refused(world: World, role: str) -> None:
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    if role != "anonymous":
        client.force_login(getattr(world, role))
    checked = []
    for route, pattern in _workbench_routes():
        url = _concrete(route, world)
        if getattr(pattern.callback, "csrf_exempt", False):
            # only the JSON API may skip Django's CSRF middleware: bearer tokens need none, and
            # it checks the token itself for a request signed in by session cookie
            assert route.startswith("api/"), f"{url} is csrf_exempt"
            api = client.post(url, {"x": 1}, content_type="application/json")
            allowed = {401, 403, 405} if role == "anonymous" else {403, 405}  # 405: no POST
            assert api.status_code in allowed, (url, api.status_code)
            continue
        response = client.post(url, {"outcome": "reached", "expected_version": 1, "language": "en"})
        assert response.status_code == 403, url
        assert b'data-reason="csrf"' in response.content, url  # the project's own page
        checked.append(url)
    names = {"login", "logout", "language", "call", "customers_export"}
    assert {reverse(n, args=[world.task_mine.pk] if n == "call" else []) for n in names} <= set(
        checked
    )
    assert "/i18n/setlang/" in checked
    assert not ContactAttempt.objects.exists()


def test_forms_with_the_token_still_work(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    page = client.get(reverse("login"))
    token = page.cookies[settings.CSRF_COOKIE_NAME].value
    response = client.post(
        reverse("login"),
        {"username": "agent1", "password": PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302


# --- no raw phone number in any log line -------------------------------------------------------
@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """What the configured (redacting) handlers write, with every logger at DEBUG and SQL
    logged with its parameters."""
    root = logging.getLogger()
    handlers = [h for h in root.handlers if any(isinstance(f, RedactPhones) for f in h.filters)]
    assert handlers, "the root logger has no redacting handler"
    stream = io.StringIO()
    saved = []
    for handler in handlers:
        if isinstance(handler, logging.StreamHandler):
            # not setStream(): it flushes the old stream, which an earlier test's captured
            # stderr may have left closed
            saved.append((handler, handler.stream))
            handler.stream = stream
    level = root.level
    root.setLevel(logging.DEBUG)
    debug_cursor = connection.force_debug_cursor
    connection.force_debug_cursor = True
    db_logger = logging.getLogger("django.db.backends")
    db_level = db_logger.level
    db_logger.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        connection.force_debug_cursor = debug_cursor
        db_logger.setLevel(db_level)
        root.setLevel(level)
        for handler, old in saved:
            handler.stream = old


def test_no_raw_phone_reaches_a_log_line(world: World, log_output: io.StringIO) -> None:
    agent = Client()
    agent.force_login(world.agent1)
    call = reverse("call", args=[world.task_mine.pk])
    agent.get(call)
    page = agent.post(call, {"action": "reveal_phone"})
    assert PHONES[0].encode() in page.content  # the agent does see the number to dial
    agent.get(reverse("calls"))
    agent.post(call, {"outcome": "not_reached", "expected_version": 1, "notes": PHONES[0]})
    agent.get(reverse("customer", args=[world.theirs.pk]))  # 403, logged by django.request
    supervisor = Client()
    supervisor.force_login(world.supervisor)
    supervisor.get(reverse("customer", args=[world.mine.pk]))
    supervisor.get(reverse("customers"), {"q": PHONES[1]})  # a phone typed into the search
    supervisor.post(reverse("customers_export"), {"q": PHONES[1], "format": "csv"})
    text = log_output.getvalue()
    assert "Forbidden" in text  # the request log is captured
    assert "SELECT" in text  # and so is every query with its parameters
    assert "[phone]" in text  # phones were in there, and were redacted
    for phone in PHONES:
        assert phone not in text


@pytest.mark.slow  # a child process
def test_the_served_access_log_holds_no_query_string(tmp_path: Path) -> None:
    """`winback serve` (real gunicorn): a search for a phone leaves the path, not the phone."""
    import socket
    import time
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WINBACK_", "DJANGO_"))}
    env |= {"WINBACK_DATA_DIR": str(tmp_path / "data"), "WINBACK_DEBUG": "false"}
    log = tmp_path / "serve.log"
    winback = str(Path(sys.executable).parent / "winback")
    with log.open("wb") as out:
        server = subprocess.Popen(
            [winback, "serve", "--port", str(port), "--workers", "1"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}/customers/?q={PHONES[0]}"
            deadline = time.monotonic() + 120
            status = 0
            while time.monotonic() < deadline and server.poll() is None:
                try:
                    with urllib.request.urlopen(url, timeout=5) as answer:
                        status = answer.status  # the sign-in page, after the redirect
                    break
                except OSError:
                    time.sleep(0.5)
            assert status == 200, log.read_text()
        finally:
            server.terminate()
            server.wait(timeout=30)
    text = log.read_text()
    assert '"GET /customers/ HTTP/1.1" 302' in text, text
    assert PHONES[0] not in text

"""GET never writes: every route of the URL resolver, as every role, with its usual query
strings, is requested with GET while every SQL statement is captured; not one may insert,
update, delete, replace or create anything.

The routes are read from Django's resolver (through every ``include``), so a route added
without being covered here fails :func:`test_every_route_is_covered` instead of escaping.
``/admin/`` is Django's own admin site (its pages are Django's, not this project's): left out.

Bookkeeping that is written at most once a minute (the session's idle expiry in
:mod:`winback.web.middleware`, an API token's ``last_used_at``) is taken by signing in and by
one first API call before anything is measured; their clocks are then held still, so every
measured request falls within that minute, however slow the machine. Nothing is excluded
from the capture: not even ``django_session``.

One write is required rather than forbidden: an API list request (a bulk read of customers,
scores, tasks or contacts) leaves exactly one audit row (R13), and nothing else.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils import timezone

from tests.factories.workbench import TZ, World, build_world
from winback.app.accounts import tokens
from winback.app.imports import uploads
from winback.app.rounds.service import log_contact
from winback.app.settings.profile import set_profile
from winback.store.accounts.models import AuditLog, User
from winback.store.customers.models import SavedSegment
from winback.store.imports.models import ImportBatch
from winback.store.programme.models import ContactAttempt, Round, RoundMember, RoundStatus
from winback.web import middleware

pytestmark = pytest.mark.django_db

SKIPPED_PREFIXES = ("admin/",)  # Django's own admin site, see the module docstring
WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE)\b", re.IGNORECASE)
WRITE_INSIDE = re.compile(  # a write behind a leading WITH (common table expression)
    r"\b(INSERT\s+INTO|DELETE\s+FROM|REPLACE\s+INTO|UPDATE\s+\S+\s+SET)\b", re.IGNORECASE
)
PARAM = re.compile(r"<(?:\w+:)?(\w+)>")
ROLES = ("anonymous", "agent1", "agent2", "supervisor", "admin")

POOL = "month=2026-12&statuses=lost&statuses=at_risk"
WIZARD = (
    "",
    "step=1",
    f"step=1&{POOL}",  # the summary's "change" link
    f"step=2&{POOL}",
    "step=2&month=2026-11&statuses=lost&tiers=1&tiers=2&stages=lost&stages=sleeping",
    f"step=3&{POOL}",
    f"step=3&{POOL}&holdout=0.1&seed=7",  # step 4's Back link
    f"step=4&{POOL}&holdout=0.1&seed=7",
    f"step=4&{POOL}&holdout=0.9&seed=7",  # refused share: step 3 again
    "step=2&month=2020-01&statuses=lost",  # no analysis yet
    "step=2&month=not-a-month&statuses=lost",
)
FILTERS = ("", "q=C-&stage=lost&status=lost&tier=1", "page=2", "q=C-MINE&page=1")
# The query strings each route is requested with, besides none at all.
QUERIES: dict[str, tuple[str, ...]] = {
    "rounds/new/": WIZARD,
    "customers/": FILTERS,
    "warnings/": FILTERS,
    "customers/export/": ("format=csv", "format=xlsx", "format=csv&stage=lost"),
    "imports/": ("page=2",),
    "rounds/<int:round_id>/reassign/": ("agent=1", "agent=not-a-number"),
    "reports/<str:month>/": ("lang=en", "lang=zh"),
    "reports/<str:month>/<str:lang>.<str:fmt>": ("inline=1",),
    "api/customers": ("stage=lost&page=1&page_size=10", "q=C-MINE", "tier=2"),
    "api/scores": ("as_of=2026-10-31&stage=lost", "early_warning=true"),
    "api/tasks": ("status=open", "round_id=1"),
    "api/contacts": ("outcome=reached", "since=2026-01-01&until=2026-12-31"),
    "api/customers/<customer_id>/scores": ("page=1&page_size=5",),
}

# Routes that answer no GET with 200 for anyone: what the best answer is instead.
NOT_A_PAGE = {
    "": 302,  # home: to the calls or the dashboard
    "logout/": 405,
    "language/": 405,
    "i18n/setlang/": 302,
    "api/": 404,
    "api/care-tasks/plan": 405,
    "api/care-tasks/<care_task_id>/outcome": 405,
    "quality/<int:attempt_id>/": 405,
    "imports/batches/<int:batch_id>/rejects/": 405,
    "settings/users/<int:user_id>/active/": 405,
    "rounds/<int:round_id>/close/": 405,
    "quality/scorecard/": 405,
    "reports/<str:month>/refresh/": 405,
    "customers/export/": 405,
    "lists/<str:which>/segments/": 405,
    "lists/<str:which>/bulk/": 405,
    "segments/<int:segment_id>/delete/": 405,
    "settings/event-types/<str:code>/active/": 405,
    "settings/event-types/<str:code>/delete/": 405,
}


def routes() -> list[str]:
    """Every route of the project, as the resolver spells it (``admin/`` left out)."""

    def walk(patterns: list[Any], prefix: str) -> Iterator[str]:
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                yield prefix + str(p.pattern)

    found = walk(get_resolver().url_patterns, "")
    return sorted({r for r in found if not r.startswith(SKIPPED_PREFIXES)})


@dataclass
class Fixture:
    world: World
    params: dict[str, tuple[str, ...]]
    past_round: Round


def populate() -> Fixture:
    """The workbench world plus what the other pages show: a finished past round whose
    members' return is not recorded yet, a contact attempt, an import batch and an upload."""
    world = build_world(extra_customers=3)
    past = Round.objects.create(
        month=date(2026, 5, 1),
        status=RoundStatus.ACTIVE,
        seed=3,
        holdout_share=0.1,
        as_of=date(2026, 4, 30),
        round_start=date(2026, 5, 1),
        round_end=date(2026, 5, 31),
    )
    for arm, c in (("treated", world.mine), ("control", world.theirs)):
        RoundMember.objects.create(
            round=past, customer=c, arm=arm, tier=2, stage="sleeping", priority_rank=1
        )
    log_contact(
        world.task_theirs.pk,
        agent=world.agent2,
        outcome="not_reached",
        notes="busy",
        expected_version=world.task_theirs.version,
        occurred_at=datetime(2026, 11, 2, 10, tzinfo=TZ),
    )
    attempt = ContactAttempt.objects.get()
    batch = ImportBatch.objects.create(kind="orders", file_name="o.csv", file_sha256="0" * 64)
    rows = [b"customer_id,order_date,amount\nC1,2026-01-05,12\n"]
    waiting = uploads.save_upload(world.admin, "orders", "orders.csv", rows)
    imported = uploads.save_upload(world.admin, "orders", "orders.csv", rows)
    uploads._save_job(uploads.Job(token=imported.token, status="done", batch_id=batch.pk))
    segment = SavedSegment.objects.create(
        owner=world.supervisor, page="customers", name="lost", query={"stage": "lost"}
    )
    ids = lambda *objs: tuple(str(o.pk) for o in objs)  # noqa: E731
    from winback.store.programme.models import CareTask

    care = CareTask.objects.create(
        customer=world.mine,
        agent=world.agent1,
        kind="call",
        due_date=date(2026, 11, 2),
        planned_date=date(2026, 11, 2),
    )
    params = {
        "which": ("customers", "warnings"),
        "segment_id": ids(segment),
        "task_id": ids(world.task_mine, world.task_theirs),
        "care_task_id": ids(care),
        "customer_id": ids(world.mine, world.theirs),
        "round_id": ids(world.round, past),
        "attempt_id": ids(attempt),
        "batch_id": ids(batch),
        "user_id": ids(world.agent2),
        "agent_id": ids(world.agent1, world.agent2),
        "token": (waiting.token, imported.token),
        "section": ("taxonomy", "playbooks", "offers"),
        "code": ("referral",),
        "month": ("2026-10",),
        "lang": ("zh", "en"),
        "fmt": ("html", "pdf", "xlsx"),
    }
    return Fixture(world, params, past)


def urls_of(route: str, params: dict[str, tuple[str, ...]]) -> list[str]:
    """The route with every combination of its path parameters, each with its query strings."""
    names = PARAM.findall(route)
    paths = []
    for values in itertools.product(*(params[n] for n in names)):
        filled = dict(zip(names, values, strict=True))
        paths.append("/" + PARAM.sub(lambda m, f=filled: f[m.group(1)], route))
    queries = ("", *QUERIES.get(route, ()))
    return [p + (f"?{q}" if q else "") for p in paths for q in queries]


def is_write(sql: str) -> bool:
    return bool(
        WRITE.match(sql) or (sql.lstrip()[:4].upper() == "WITH" and WRITE_INSIDE.search(sql))
    )


def hold_clocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The once-a-minute bookkeeping sees one instant for the whole walk."""
    instant = int(middleware.time.time())
    moment = timezone.now()
    monkeypatch.setattr(middleware, "time", SimpleNamespace(time=lambda: instant))
    monkeypatch.setattr(tokens, "timezone", SimpleNamespace(now=lambda: moment))


@dataclass
class Visit:
    who: str
    url: str
    htmx: bool
    status: int
    writes: list[str]
    audit_rows: int = 0


# API list endpoints: each request writes one audit row of the bulk read.
AUDITED_READS = frozenset({"api/customers", "api/scores", "api/tasks", "api/contacts"})


def is_audit_insert(sql: str) -> bool:
    from winback.store.accounts.models import AuditLog

    return sql.lstrip()[:6].upper() == "INSERT" and AuditLog._meta.db_table in sql


def clients(fixture: Fixture) -> dict[str, tuple[Client, Client | None]]:
    """Per role: a browser session (signed in now) and an API client with a bearer token."""
    found: dict[str, tuple[Client, Client | None]] = {"anonymous": (Client(), None)}
    for name in ROLES[1:]:
        user = User.objects.get(username=name)
        session = Client()
        session.force_login(user)
        secret = tokens.issue_token(user, name="get-walk").secret
        api = Client(headers={"authorization": f"Bearer {secret}"})
        assert api.get("/api/me").status_code == 200  # takes the token's first-use write
        found[name] = (session, api)
    return found


def walk(monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], list[Visit]]:
    fixture = populate()
    hold_clocks(monkeypatch)
    by_role = clients(fixture)
    all_routes = routes()
    visits = []
    for route in all_routes:
        for url in urls_of(route, fixture.params):
            assert resolve(url.split("?")[0]).route == route, url
            for who in ROLES:
                session, api = by_role[who]
                callers = [(session, False)]
                if route.startswith("api/"):
                    callers.append((api or Client(), False))
                else:
                    callers.append((session, True))  # htmx asks for the fragment
                for client, htmx in callers:
                    headers = {"HX-Request": "true"} if htmx else {}
                    with CaptureQueriesContext(connection) as captured:
                        response = client.get(url, headers=headers)
                    writes = [q["sql"] for q in captured.captured_queries if is_write(q["sql"])]
                    audits = 0
                    if route in AUDITED_READS:
                        audits = sum(map(is_audit_insert, writes))
                        writes = [w for w in writes if not is_audit_insert(w)]
                    visits.append(Visit(who, url, htmx, response.status_code, writes, audits))
    return all_routes, visits


@pytest.mark.slow  # every route, as every role, as a page and as its htmx fragment (~20 s)
def test_no_get_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    all_routes, visits = walk(monkeypatch)
    writers = [v for v in visits if v.writes]
    shown = "\n".join(
        f"{v.who} GET {v.url}{' (htmx)' if v.htmx else ''} [{v.status}]: "
        + " | ".join(sorted({w[:90] for w in v.writes}))
        for v in writers
    )
    assert not writers, f"{len(writers)} of {len(visits)} GET requests wrote:\n{shown}"
    # Every answered API list request left one audit row, a refused one none.
    listed = [v for v in visits if resolve(v.url.split("?")[0]).route in AUDITED_READS]
    assert listed
    assert [(v.url, v.who) for v in listed if v.audit_rows != (v.status == 200)] == []
    assert not [v for v in visits if v.status >= 500]
    # every route was requested, and answered as a page (not only 403/404 for bad parameters)
    visited = {resolve(v.url.split("?")[0]).route for v in visits}
    assert visited == set(all_routes)
    best = {r: 0 for r in all_routes}
    for v in visits:
        route = resolve(v.url.split("?")[0]).route
        if v.status == NOT_A_PAGE.get(route, 200):
            best[route] = v.status
    assert [r for r, status in best.items() if status == 0] == []


def test_every_route_is_covered() -> None:
    """A new route needs its path parameters filled here, or this fails (not a silent skip)."""
    names = {n for r in routes() for n in PARAM.findall(r)}
    known = {
        "task_id",
        "care_task_id",
        "customer_id",
        "round_id",
        "attempt_id",
        "batch_id",
        "user_id",
        "agent_id",
        "token",
        "section",
        "month",
        "lang",
        "fmt",
        "which",
        "segment_id",
        "code",
    }
    assert names <= known, f"fill these path parameters in populate(): {sorted(names - known)}"
    assert set(NOT_A_PAGE) <= set(routes())
    assert set(QUERIES) <= set(routes())


def test_the_walk_sees_a_write(monkeypatch: pytest.MonkeyPatch) -> None:
    """The capture is not blind: a session saved after its minute shows up as a write."""
    fixture = populate()
    client = Client()
    client.force_login(fixture.world.supervisor)
    later = int(middleware.time.time()) + middleware.REFRESH_SECONDS + 1
    monkeypatch.setattr(middleware, "time", SimpleNamespace(time=lambda: later))
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/dashboard/").status_code == 200
    writes = [q["sql"] for q in captured.captured_queries if is_write(q["sql"])]
    assert writes
    assert all("django_session" in w for w in writes)


# --- the routes that wrote before ------------------------------------------------------------
def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_wizard_preview_reads_pending_returns_and_only_create_records_them() -> None:
    """Three worked rounds without a return retire a customer. Their returns are not recorded
    yet: the preview counts them as Create will, and writes nothing; Create records them."""
    world = build_world()
    # The world's November round treated the customer; the control hygiene would count them
    # as recently treated in December, before retirement: this test is about retirement.
    # This world's snapshot has no value figures: with free calls the one eligible customer
    # is still worth one (margin 0, not below it), so the round has a member to hold out.
    set_profile(overrides={"programme": {"recently_treated_days": 0, "agent_minute_cost": 0.0}})
    for month in (2, 4, 6):
        past = Round.objects.create(
            month=date(2026, month, 1),
            status=RoundStatus.ACTIVE,
            seed=month,
            holdout_share=0.1,
            as_of=date(2026, month, 1),
            round_start=date(2026, month, 1),
            round_end=date(2026, month, 28),
        )
        RoundMember.objects.create(
            round=past, customer=world.theirs, arm="treated", tier=1, stage="lost", priority_rank=1
        )
    client = signed_in(world.supervisor)
    pool = {"month": "2026-12", "statuses": ["lost", "at_risk"]}
    with CaptureQueriesContext(connection) as captured:
        preview = client.get("/rounds/new/", {"step": "2", **pool})
    assert preview.status_code == 200
    assert [q["sql"] for q in captured.captured_queries if is_write(q["sql"])] == []
    retired = re.search(r'data-cause="retired"><td>[^<]*</td><td class="num">(\d+)<', preview.text)
    assert retired is not None
    assert retired.group(1) == "1"
    assert RoundMember.objects.filter(returned__isnull=True, round__month__lt=date(2026, 7, 1))
    assert RoundMember.objects.filter(returned__isnull=True).count() == 3 + 2  # and this month's

    created = client.post(
        "/rounds/new/",
        # Half held out: this small world's pool still leaves a control group (a round
        # without one is refused).
        {**pool, "holdout": "0.5", "seed": "7", "token": "t" * 32, "allow_small_control": "on"},
    )
    assert created.status_code == 302
    rnd = Round.objects.get(month=date(2026, 12, 1))
    assert rnd.summary["excluded_by_cause"]["retired"] == 1
    old = RoundMember.objects.filter(round__month__lt=date(2026, 7, 1))
    assert list(old.values_list("returned", flat=True)) == [False, False, False]
    assert set(
        Round.objects.filter(month__lt=date(2026, 7, 1)).values_list("status", flat=True)
    ) == {RoundStatus.CLOSED}


def test_the_customer_export_is_an_audited_post() -> None:
    world = build_world(extra_customers=2)
    client = signed_in(world.supervisor)
    assert client.get("/customers/export/", {"format": "csv"}).status_code == 405
    page = client.get("/customers/", {"stage": "lost"}).text
    assert 'id="export-form"' in page
    assert '<input type="hidden" name="stage" value="lost">' in page  # the list's filters
    response = client.post("/customers/export/", {"format": "csv", "stage": "lost"})
    assert response.status_code == 200
    assert response["X-Winback-Rows"] == "1"  # C-THEIRS only: the filter applied
    entry = AuditLog.objects.get(action="export_customers")
    assert entry.detail["rows"] == 1


def test_report_downloads_are_audited_posts_and_the_inline_view_a_plain_get() -> None:
    world = build_world()
    client = signed_in(world.supervisor)
    base = "/reports/2026-10/en"
    assert client.get(f"{base}.xlsx").status_code == 405
    assert client.get(f"{base}.html").status_code == 405  # a download is a POST
    assert client.get(f"{base}.html", {"inline": "1"}).status_code == 200
    assert not AuditLog.objects.exists()
    page = client.get("/reports/").text
    assert f'<form method="post" action="{base}.xlsx"' in page
    download = client.post(f"{base}.xlsx")
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    assert list(AuditLog.objects.values_list("action", "object_id")) == [
        ("export_report", "2026-10")
    ]

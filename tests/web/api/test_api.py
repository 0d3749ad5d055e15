"""The JSON API through the Django test client: auth, roles, masking, contacts, pagination."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pydantic import TypeAdapter

from winback.app.accounts import tokens
from winback.app.api import schemas
from winback.app.contacts import gate
from winback.store.accounts.models import ApiToken, AuditLog
from winback.store.customers.models import ContactLog, ContactOutcome, Customer
from winback.store.imports.models import ImportBatch
from winback.store.programme.models import CallTask, ContactAttempt, Round

from .conftest import ApiWorld

pytestmark = pytest.mark.django_db

FULL_MINE = "13812345678"
MASKED_MINE = "138****5678"


def body(response: Any) -> Any:
    return json.loads(response.content)


def operations(client: Client) -> list[tuple[str, str]]:
    """Every (method, path) in the published schema, path parameters filled with 1."""
    schema = body(client.get("/api/openapi.json"))
    found = []
    for path, ops in schema["paths"].items():
        for method in ops:
            found.append((method.upper(), re.sub(r"\{[^}]+\}", "1", path)))
    return found


# --- authentication --------------------------------------------------------------------------
def test_every_operation_answers_401_without_credentials(aw: ApiWorld) -> None:
    anonymous = Client()
    ops = operations(anonymous)
    assert len(ops) >= 12, ops
    reachable = []
    for method, path in ops:
        response = anonymous.generic(method, path, "{}", content_type="application/json")
        if response.status_code != 401 or body(response)["code"] != "unauthorized":
            reachable.append((method, path, response.status_code))
    assert reachable == []


def test_every_operation_answers_401_with_a_wrong_or_malformed_token(aw: ApiWorld) -> None:
    live = aw.tokens["supervisor"]
    headers = [
        "Bearer wbk_not-a-real-token",
        f"Bearer {live}x",
        f"Basic {live}",
        live,
        "Bearer ",
    ]
    for header in headers:
        client = Client(HTTP_AUTHORIZATION=header)
        for method, path in operations(client):
            response = client.generic(method, path, "{}", content_type="application/json")
            assert response.status_code == 401, (header, method, path)


def test_the_schema_is_published(aw: ApiWorld) -> None:
    schema = body(Client().get("/api/openapi.json"))
    assert schema["openapi"].startswith("3.")
    assert {"TokenAuth", "WorkbenchSession"} <= set(schema["components"]["securitySchemes"])
    assert "/api/contacts" in schema["paths"]
    assert Client().get("/api/docs").status_code == 200


def test_tokens_are_stored_hashed_and_shown_once(aw: ApiWorld) -> None:
    secret = aw.tokens["agent1"]
    row = ApiToken.objects.get(prefix=secret[: tokens.PREFIX_LENGTH])
    assert secret.startswith("wbk_")
    assert len(secret) > 40
    assert row.digest == tokens.digest(secret) != secret
    assert not ApiToken.objects.filter(digest=secret).exists()
    assert secret not in json.dumps(list(ApiToken.objects.values()), default=str)


def test_token_revoke_works_on_the_next_request(aw: ApiWorld) -> None:
    client = aw.client("supervisor")
    assert client.get("/api/me").status_code == 200
    assert body(client.get("/api/me")) == {"username": "supervisor", "role": "supervisor"}
    assert tokens.revoke_tokens(prefix=aw.tokens["supervisor"][:12], by=aw.world.admin) == 1
    assert client.get("/api/me").status_code == 401
    assert aw.client("agent1").get("/api/me").status_code == 200  # others unaffected
    assert AuditLog.objects.filter(action="api_token_revoked").count() == 1


def test_expired_token_and_inactive_user_are_refused(aw: ApiWorld) -> None:
    expired = tokens.issue_token(aw.world.agent2, expires_in_days=-1).secret
    assert Client(HTTP_AUTHORIZATION=f"Bearer {expired}").get("/api/me").status_code == 401
    aw.world.agent1.is_active = False
    aw.world.agent1.save()
    assert aw.client("agent1").get("/api/me").status_code == 401


def test_workbench_session_works_and_needs_csrf_for_writes(aw: ApiWorld) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(aw.world.agent1)
    assert browser.get("/api/tasks").status_code == 200
    payload = {
        "task_id": aw.world.task_mine.pk,
        "expected_version": 1,
        "outcome": "reached",
        "reason_code": "price",  # a reached customer names the leave reason
    }
    response = browser.post("/api/contacts", payload, content_type="application/json")
    assert response.status_code == 403
    assert not ContactAttempt.objects.exists()


# --- who sees what ---------------------------------------------------------------------------
def test_agent_gets_403_on_another_agents_customer(aw: ApiWorld) -> None:
    client = aw.client("agent1")
    w = aw.world
    assert client.get(f"/api/customers/{w.theirs.pk}").status_code == 403
    assert body(client.get(f"/api/customers/{w.theirs.pk}"))["code"] == "forbidden"
    assert client.get(f"/api/customers/{w.theirs.pk}/scores").status_code == 403
    assert client.get(f"/api/tasks/{w.task_theirs.pk}").status_code == 403
    assert client.get(f"/api/customers/{w.mine.pk}").status_code == 200
    assert client.get("/api/customers/999999").status_code == 404


def test_agent_lists_only_their_assigned_customers_with_dialable_phones(aw: ApiWorld) -> None:
    data = body(aw.client("agent1").get("/api/customers"))
    ids = {c["external_id"] for c in data["items"]}
    assert ids == {"C-MINE", "C-X000", "C-X001"}
    mine = next(c for c in data["items"] if c["external_id"] == "C-MINE")
    assert mine["phone"] == FULL_MINE
    assert mine["latest"]["stage"] == "sleeping"
    contacts = body(aw.client("agent2").get("/api/contacts"))
    assert contacts["count"] == 0  # the only logged contact is of agent1's customer
    tasks = body(aw.client("agent2").get("/api/tasks"))
    assert [t["id"] for t in tasks["items"]] == [aw.world.task_theirs.pk]


def test_agent_loses_the_customer_when_the_task_closes(aw: ApiWorld) -> None:
    CallTask.objects.filter(pk=aw.world.task_mine.pk).update(status="done")
    client = aw.client("agent1")
    assert client.get(f"/api/customers/{aw.world.mine.pk}").status_code == 403
    task = body(client.get(f"/api/tasks/{aw.world.task_mine.pk}"))
    assert task["phone"] == MASKED_MINE  # still their task, no longer dialable


def test_phone_is_masked_for_supervisors_everywhere(aw: ApiWorld) -> None:
    client = aw.client("supervisor")
    pages = [
        client.get("/api/customers"),
        client.get(f"/api/customers/{aw.world.mine.pk}"),
        client.get("/api/tasks"),
        client.get(f"/api/tasks/{aw.world.task_mine.pk}"),
    ]
    for response in pages:
        text = response.content.decode()
        assert response.status_code == 200
        assert FULL_MINE not in text
        assert "13987654321" not in text
        assert MASKED_MINE in text


def test_customer_detail_is_a_read_that_writes_no_audit_row(aw: ApiWorld) -> None:
    supervisor, agent = aw.client("supervisor"), aw.client("agent1")
    before = AuditLog.objects.count()  # the tokens' own entries
    masked = supervisor.get(f"/api/customers/{aw.world.mine.pk}").json()
    dialable = agent.get(f"/api/customers/{aw.world.mine.pk}").json()  # own open task
    assert (masked["phone"], dialable["phone"]) == (MASKED_MINE, FULL_MINE)
    assert AuditLog.objects.count() == before


def test_agents_get_403_on_rounds_and_imports(aw: ApiWorld) -> None:
    client = aw.client("agent1")
    for path in ("/api/rounds", f"/api/rounds/{aw.world.round.pk}", "/api/imports"):
        assert client.get(path).status_code == 403, path


def test_rounds_carry_treated_and_control_counts(aw: ApiWorld) -> None:
    client = aw.client("admin")
    rounds = body(client.get("/api/rounds"))
    assert rounds["count"] == 1
    row = rounds["items"][0]
    assert (row["treated"], row["control"], row["tasks_open"]) == (4, 0, 4)
    detail = body(client.get(f"/api/rounds/{aw.world.round.pk}"))
    assert detail["treated"] == 4
    assert detail["summary"] == {}


def test_imports_list_shows_summaries_without_server_paths(aw: ApiWorld) -> None:
    data = body(aw.client("supervisor").get("/api/imports"))
    item = data["items"][0]
    assert (item["file_name"], item["rejects_file"]) == (
        "orders-2026-10.csv",
        "orders-2026-10.rejects.csv",
    )
    assert item["summary"]["inserted"] == 9
    assert item["user"] == "admin"


# --- scores, filters, pagination -------------------------------------------------------------
def test_customer_filters_use_the_latest_analysis(aw: ApiWorld) -> None:
    client = aw.client("supervisor")
    lost = body(client.get("/api/customers", {"stage": "lost"}))
    assert [c["external_id"] for c in lost["items"]] == ["C-THEIRS"]
    tier3 = body(client.get("/api/customers", {"tier": 3, "status": "active"}))
    assert {c["external_id"] for c in tier3["items"]} == {"C-X000", "C-X001"}
    assert body(client.get("/api/customers", {"q": "mine"}))["count"] == 1
    assert client.get("/api/customers", {"stage": "gone"}).status_code == 422


def test_scores_are_the_latest_snapshot_rows(aw: ApiWorld) -> None:
    data = body(aw.client("supervisor").get("/api/scores"))
    assert data["as_of"] == "2026-10-31"
    assert data["count"] == 4
    assert data["items"][0]["customer_external_id"] == "C-THEIRS"  # highest churn score first
    mine = body(aw.client("agent1").get("/api/scores"))
    assert {r["customer_external_id"] for r in mine["items"]} == {"C-MINE", "C-X000", "C-X001"}
    history = body(aw.client("agent1").get(f"/api/customers/{aw.world.mine.pk}/scores"))
    assert [r["churn_score"] for r in history["items"]] == [71.0]


def test_lists_are_paginated(aw: ApiWorld) -> None:
    client = aw.client("supervisor")
    first = body(client.get("/api/customers", {"page_size": 3}))
    second = body(client.get("/api/customers", {"page_size": 3, "page": 2}))
    assert (first["count"], first["pages"], len(first["items"]), len(second["items"])) == (
        4,
        2,
        3,
        1,
    )
    seen = {c["id"] for c in first["items"]} | {c["id"] for c in second["items"]}
    assert seen == set(Customer.objects.values_list("pk", flat=True))
    assert body(client.get("/api/customers", {"page": 99}))["items"] == []
    assert client.get("/api/customers", {"page_size": 500}).status_code == 422


def test_list_queries_do_not_grow_with_the_page(aw: ApiWorld) -> None:
    w = aw.world
    for i, c in enumerate(Customer.objects.all()):
        ContactLog.objects.create(
            source_key=f"extra{i}",
            customer=c,
            channel="phone",
            outcome="reached",
            occurred_at=datetime(2026, 9, 2, 9, tzinfo=UTC),
            occurred_date=date(2026, 9, 2),
        )
    Round.objects.create(
        month=date(2026, 12, 1),
        seed=2,
        holdout_share=0.1,
        as_of=w.round.as_of,
        round_start=date(2026, 12, 1),
        round_end=date(2026, 12, 31),
    )
    ImportBatch.objects.create(kind="customers", file_name="c.csv", file_sha256="1" * 64)
    paths = [
        "/api/customers",
        "/api/tasks",
        "/api/contacts",
        "/api/scores",
        "/api/rounds",
        "/api/imports",
    ]
    # An agent's task list also asks the contact gate: a fixed number of queries of its own.
    with CaptureQueriesContext(connection) as asked:
        gate.blocked_tasks(
            CallTask.objects.filter(agent=w.agent1, status="open").values_list(
                "pk", "customer_id", "round_id"
            ),
            on=gate.today(),
        )
    for username in ("supervisor", "agent1"):
        client = aw.client(username)
        client.get("/api/me")  # the token's first use is written once
        for path in paths:
            limit = 7 + (len(asked) if (username, path) == ("agent1", "/api/tasks") else 0)
            counts = []
            for size in (1, 200):
                with CaptureQueriesContext(connection) as queries:
                    response = client.get(path, {"page_size": size})
                assert response.status_code in (200, 403), (path, response.content)
                if response.status_code == 200:
                    assert len(body(response)["items"]) >= min(size, 2), (username, path)
                counts.append(len(queries))
            assert counts[0] == counts[1] <= limit, (username, path, counts)


# --- logging contacts ------------------------------------------------------------------------
def post_contact(client: Client, **data: Any) -> Any:
    return client.post("/api/contacts", data, content_type="application/json")


def test_agent_logs_a_contact_through_the_service(aw: ApiWorld) -> None:
    task = aw.world.task_mine
    response = post_contact(
        aw.client("agent1"),
        task_id=task.pk,
        expected_version=task.version,
        outcome="call_back",
        reason_code="price",
        offer_code="free_delivery",
        notes="Call after six",
    )
    assert response.status_code == 201, response.content
    data = body(response)
    assert data["task"]["version"] == task.version + 1
    assert data["task"]["attempts"] == 1
    assert data["contact"]["task_id"] == task.pk
    assert data["contact"]["agent"] == "agent1"
    attempt = ContactAttempt.objects.get()
    assert (attempt.outcome, attempt.offer_code, attempt.notes) == (
        "call_back",
        "free_delivery",
        "Call after six",
    )
    assert ContactLog.objects.filter(pk=data["contact"]["id"], customer=aw.world.mine).exists()
    listed = body(aw.client("agent1").get("/api/contacts", {"customer_id": aw.world.mine.pk}))
    assert listed["items"][0]["id"] == data["contact"]["id"]


def test_stale_contact_write_is_409_and_saves_nothing(aw: ApiWorld) -> None:
    task = aw.world.task_mine
    client = aw.client("agent1")
    first = post_contact(client, task_id=task.pk, expected_version=1, outcome="not_reached")
    assert first.status_code == 201
    stale = post_contact(client, task_id=task.pk, expected_version=1, outcome="reached")
    assert stale.status_code == 409
    assert body(stale)["code"] == "stale_version"
    assert ContactAttempt.objects.count() == 1
    assert CallTask.objects.get(pk=task.pk).version == 2


def test_contact_not_allowed_is_a_clear_422(aw: ApiWorld) -> None:
    Customer.objects.filter(pk=aw.world.mine.pk).update(do_not_contact=True)
    task = aw.world.task_mine
    response = post_contact(
        aw.client("agent1"), task_id=task.pk, expected_version=1, outcome="reached"
    )
    assert response.status_code == 422
    assert body(response)["code"] == "do_not_contact"
    assert body(response)["detail"]
    assert not ContactAttempt.objects.exists()


def test_contact_codes_must_be_offered(aw: ApiWorld) -> None:
    task = aw.world.task_mine
    client = aw.client("agent1")
    bad_offer = post_contact(
        client, task_id=task.pk, expected_version=1, outcome="reached", offer_code="nope"
    )
    bad_reason = post_contact(
        client, task_id=task.pk, expected_version=1, outcome="reached", reason_code="nope"
    )
    bad_outcome = post_contact(client, task_id=task.pk, expected_version=1, outcome="maybe")
    assert [body(r)["code"] for r in (bad_offer, bad_reason, bad_outcome)] == [
        "invalid_offer",
        "invalid_reason",
        "invalid",
    ]
    assert not ContactAttempt.objects.exists()


def test_an_offer_past_the_rounds_offer_budget_is_a_clear_422(aw: ApiWorld) -> None:
    rnd = aw.world.round
    rnd.summary = {"offers": {"budget": 10.0}}  # the expert advice (15) does not fit, 8 does
    rnd.save(update_fields=["summary"])
    task = aw.world.task_mine
    client = aw.client("agent1")
    dear = post_contact(
        client,
        task_id=task.pk,
        expected_version=1,
        outcome="reached",
        reason_code="price",
        offer_code="expert_advice",
    )
    assert dear.status_code == 422
    assert body(dear)["code"] == "offer_over_budget"
    assert "15.00" in body(dear)["detail"]
    assert not ContactAttempt.objects.exists()
    cheap = post_contact(
        client,
        task_id=task.pk,
        expected_version=1,
        outcome="reached",
        reason_code="price",
        offer_code="free_delivery",
    )
    assert cheap.status_code == 201
    assert ContactAttempt.objects.get().offer_cost == 8.0


def test_only_the_assigned_agent_logs_contacts(aw: ApiWorld) -> None:
    task = aw.world.task_theirs
    for username in ("agent1", "supervisor", "admin"):
        response = post_contact(
            aw.client(username), task_id=task.pk, expected_version=1, outcome="reached"
        )
        assert response.status_code == 403, username
    missing = post_contact(
        aw.client("agent2"), task_id=999999, expected_version=1, outcome="reached"
    )
    assert missing.status_code == 404
    assert not ContactAttempt.objects.exists()


def test_outcomes_in_the_schema_are_the_models(aw: ApiWorld) -> None:
    published = TypeAdapter(schemas.Outcome).json_schema()["enum"]
    assert set(published) == set(ContactOutcome.values)


def test_task_offers_keep_the_menu_order_as_the_planner_stores_it(aw: ApiWorld) -> None:
    """The planner stores the menu best first; rows written without ``menu_rank`` (every
    round planned so far) must not come back sorted by offer code."""
    task = aw.world.task_mine
    task.offer_menu = [
        {"offer_code": "z_voucher", "kind": "voucher", "cost": 20.0, "category_code": "A01"},
        {"offer_code": "a_gift", "kind": "gift", "cost": 5.0, "category_code": None},
    ]
    task.save(update_fields=["offer_menu"])
    data = body(aw.client("agent1").get(f"/api/tasks/{task.pk}"))
    assert [(o["code"], o["rank"]) for o in data["offers"]] == [("z_voucher", 1), ("a_gift", 2)]
    assert data["offers"][0]["cost"] == 20.0
    # The same order in the task list.
    listed = body(aw.client("agent1").get("/api/tasks"))
    mine = next(t for t in listed["items"] if t["id"] == task.pk)
    assert [o["code"] for o in mine["offers"]] == ["z_voucher", "a_gift"]


def test_api_urls_are_namespaced(aw: ApiWorld) -> None:
    assert reverse("api:openapi-json") == "/api/openapi.json"


def test_session_write_with_the_csrf_token_is_accepted(aw: ApiWorld) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(aw.world.agent1)
    browser.get(reverse("calls"))  # the page sets the CSRF cookie, as in the browser
    token = browser.cookies["csrftoken"].value
    payload = {
        "task_id": aw.world.task_mine.pk,
        "expected_version": 1,
        "outcome": "reached",
        "reason_code": "price",  # a reached customer names the leave reason
    }
    response = browser.post(
        "/api/contacts", payload, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 201, response.content


def test_error_detail_follows_the_language_and_the_code_does_not(aw: ApiWorld) -> None:
    zh = Client().get("/api/me", HTTP_ACCEPT_LANGUAGE="zh-hans")
    en = Client().get("/api/me", HTTP_ACCEPT_LANGUAGE="en")
    assert body(zh) == {"code": "unauthorized", "detail": "需要身份验证。"}
    assert body(en) == {"code": "unauthorized", "detail": "Authentication required."}
    assert en["WWW-Authenticate"] == 'Bearer realm="winback"'


def test_a_callback_time_and_questionnaire_answers_go_in_and_come_out(aw: ApiWorld) -> None:
    from datetime import timedelta

    from django.utils import timezone

    task = aw.world.task_mine
    client = aw.client("agent1")
    later = (timezone.localtime() + timedelta(days=2)).replace(hour=15, minute=30, microsecond=0)
    answered = post_contact(
        client,
        task_id=task.pk,
        expected_version=1,
        outcome="call_back",
        callback_at=later.replace(tzinfo=None).isoformat(),  # no offset: business time zone
        answers={"why_stopped": ["waiting"], "comments": "排队太久"},
    )
    assert answered.status_code == 201, answered.content
    data = body(answered)
    stored = {
        "questionnaire": "callback_first",
        "answers": {"why_stopped": ["waiting"], "comments": "排队太久"},
    }
    attempt = ContactAttempt.objects.get()
    assert attempt.answers == stored
    assert attempt.reason_code == "speed"  # the answers name the reason, as on the call page
    assert attempt.callback_at == later
    assert datetime.fromisoformat(data["task"]["callback_at"]) == later
    assert data["task"]["next_due"] == later.date().isoformat()
    assert data["task"]["answers"] == stored
    assert data["contact"]["answers"] == stored
    assert datetime.fromisoformat(data["contact"]["callback_at"]) == later
    read = body(client.get(f"/api/tasks/{task.pk}"))
    assert read["answers"] == stored
    assert datetime.fromisoformat(read["callback_at"]) == later
    listed = body(client.get("/api/contacts", {"customer_id": aw.world.mine.pk}))
    assert listed["items"][0]["answers"] == stored
    # A later contact without answers: the task keeps the answers last recorded.
    again = post_contact(client, task_id=task.pk, expected_version=2, outcome="not_reached")
    assert again.status_code == 201, again.content
    assert body(again)["contact"]["answers"] == {}
    assert body(again)["task"]["answers"] == stored
    assert body(again)["task"]["callback_at"] is None  # no callback pending any more


def test_bad_answers_and_a_past_callback_are_refused_as_the_form_refuses_them(
    aw: ApiWorld,
) -> None:
    task = aw.world.task_mine
    client = aw.client("agent1")
    unknown = post_contact(
        client, task_id=task.pk, expected_version=1, outcome="reached", answers={"nope": "x"}
    )
    option = post_contact(
        client,
        task_id=task.pk,
        expected_version=1,
        outcome="reached",
        answers={"why_stopped": ["no_such_option"]},
    )
    past = post_contact(
        client,
        task_id=task.pk,
        expected_version=1,
        outcome="call_back",
        callback_at="2020-01-01T10:00:00+08:00",
    )
    unanswered = post_contact(client, task_id=task.pk, expected_version=1, outcome="reached")
    shaped = post_contact(
        client, task_id=task.pk, expected_version=1, outcome="reached", answers={"why": 3}
    )
    assert [r.status_code for r in (unknown, option, past, unanswered)] == [422] * 4
    assert [body(r)["code"] for r in (unknown, option, past, unanswered)] == [
        "invalid_answer",
        "invalid_answer",
        "callback_in_past",
        "reason_required",
    ]
    assert body(past)["detail"]
    assert shaped.status_code == 422
    assert body(shaped)["code"] == "invalid"
    for moment in ("0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-12:00"):
        far = post_contact(
            client, task_id=task.pk, expected_version=1, outcome="call_back", callback_at=moment
        )
        assert far.status_code == 422  # was an overflow in the time zone conversion
        assert body(far)["code"] == "invalid"
    assert not ContactAttempt.objects.exists()

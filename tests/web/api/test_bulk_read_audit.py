"""Bulk reads through the API leave one audit row per list request (R13): who, how many rows,
and whether phones were shown in full."""

from __future__ import annotations

from django.test import Client

from winback.store.accounts.models import AuditLog
from winback.store.customers.models import Customer

from .conftest import ApiWorld


def _rows(action_type: str) -> list[AuditLog]:
    return list(AuditLog.objects.filter(action="api_list", object_type=action_type).order_by("pk"))


def test_a_supervisors_customer_list_is_audited_with_masked_phones(aw: ApiWorld) -> None:
    client = aw.client("supervisor")
    first = client.get("/api/customers?page_size=2").json()
    client.get("/api/customers?page=2&page_size=2")
    rows = _rows("customers")
    assert [r.username for r in rows] == ["supervisor", "supervisor"]
    assert rows[0].detail["rows"] == len(first["items"])
    assert rows[0].detail["matched"] == Customer.objects.filter(is_stub=False).count()
    assert rows[0].detail["phones"] == "masked"
    assert not any(Customer.objects.filter(phone=i["phone"]).exists() for i in first["items"])


def test_an_agents_task_list_counts_the_full_phones(aw: ApiWorld) -> None:
    tasks = aw.client("agent1").get("/api/tasks?status=open").json()["items"]
    (row,) = _rows("tasks")
    full = [t for t in tasks if Customer.objects.filter(phone=t["phone"]).exists()]
    assert full, "an agent dials their own customers"
    assert row.detail["phones"] == "full"
    assert row.detail["full_phones"] == len(full)
    assert row.detail["rows"] == len(tasks)


def test_scores_and_contacts_lists_are_audited_and_refusals_are_not(aw: ApiWorld) -> None:
    aw.client("admin").get("/api/scores")
    aw.client("admin").get("/api/contacts")
    assert len(_rows("scores")) == 1
    assert len(_rows("contacts")) == 1
    assert _rows("scores")[0].detail["phones"] == "none"
    before = AuditLog.objects.filter(action="api_list").count()
    assert Client().get("/api/scores").status_code == 401
    assert aw.client("admin").get("/api/scores?tier=x").status_code == 422
    assert AuditLog.objects.filter(action="api_list").count() == before

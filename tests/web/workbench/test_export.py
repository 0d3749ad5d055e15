"""The supervisors' customer-list export: who may, the cap, masking, formula quoting, audit."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from openpyxl import load_workbook

from tests.factories.workbench import World, build_world
from winback.app.customers.export import AUDIT_ACTION
from winback.store.accounts.models import AuditLog, User
from winback.store.customers.models import Customer

pytestmark = pytest.mark.django_db

URL = "/customers/export/"


@pytest.fixture
def world() -> World:
    return build_world(extra_customers=5)


def signed_in(user: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def rows_of(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_the_url_is_the_workbench_export() -> None:
    assert reverse("customers_export") == URL


def test_agents_may_not_export(world: World) -> None:
    response = signed_in(world.agent1).post(URL, {"format": "csv"})
    assert response.status_code == 403
    assert not AuditLog.objects.filter(action=AUDIT_ACTION).exists()


def test_anonymous_is_sent_to_sign_in(world: World) -> None:
    response = Client().get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_staff_export_the_filtered_list_with_masked_phones(world: World, role: str) -> None:
    response = signed_in(getattr(world, role)).post(URL, {"format": "csv", "stage": "silent"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="customers-')
    rows = rows_of(response.content)
    header, body = rows[0], rows[1:]
    assert header[:3] == ["Customer id", "Name", "Phone"]
    assert sorted(r[0] for r in body) == [f"C-X{i:03d}" for i in range(5)]  # only the silent
    assert [r[2] for r in body if r[0] == "C-X000"] == ["137****0000"]
    text = response.content.decode("utf-8-sig")
    for phone in ("13700000000", "13812345678"):
        assert phone not in text


def test_the_export_follows_the_lists_order(world: World) -> None:
    body = rows_of(signed_in(world.supervisor).post(URL).content)[1:]
    # tier first, then the highest churn score
    assert [r[0] for r in body[:2]] == ["C-THEIRS", "C-MINE"]


def test_xlsx_export_is_masked_and_quoted(world: World) -> None:
    Customer.objects.filter(pk=world.mine.pk).update(name='=HYPERLINK("http://x")')
    response = signed_in(world.supervisor).post(URL, {"format": "xlsx", "q": "MINE"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0][:3] == ["Customer id", "Name", "Phone"]
    assert values[1][:3] == ["C-MINE", '\'=HYPERLINK("http://x")', "138****5678"]


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_cells_that_look_like_formulas_are_quoted(world: World, start: str) -> None:
    Customer.objects.filter(pk=world.mine.pk).update(name=f"{start}cmd|' /C calc'!A0")
    body = rows_of(signed_in(world.supervisor).post(URL, {"q": "MINE"}).content)[1:]
    assert body[0][1] == f"'{start}cmd|' /C calc'!A0"


def test_unknown_format_is_refused(world: World) -> None:
    assert signed_in(world.supervisor).post(URL, {"format": "parquet"}).status_code == 400
    assert not AuditLog.objects.filter(action=AUDIT_ACTION).exists()


def test_every_export_is_audited_without_phones(world: World) -> None:
    client = signed_in(world.supervisor)
    client.post(URL, {"format": "csv", "tier": "3", "q": "13812345678"})
    entry = AuditLog.objects.get(action=AUDIT_ACTION)
    assert entry.user == world.supervisor
    assert entry.username == "supervisor"
    assert entry.detail["format"] == "csv"
    assert entry.detail["filters"]["tier"] == 3
    assert entry.detail["rows"] == 0
    assert not entry.flagged
    assert "13812345678" not in str(entry.detail)


@override_settings(WINBACK_EXPORT_MAX_ROWS=4)
def test_exports_are_capped_and_a_capped_export_is_flagged(world: World) -> None:
    response = signed_in(world.supervisor).post(URL)
    body = rows_of(response.content)[1:]
    assert len(body) == 4
    assert response["X-Winback-Matched"] == "7"
    entry = AuditLog.objects.get(action=AUDIT_ACTION)
    assert entry.detail["rows"] == 4
    assert entry.detail["matched"] == 7
    assert entry.flagged
    assert "capped" in entry.detail["flags"]


@override_settings(WINBACK_EXPORT_FLAG_ROWS=3)
def test_a_large_export_is_flagged(world: World) -> None:
    client = signed_in(world.supervisor)
    client.post(URL, {"q": "MINE"})  # one row: ordinary
    client.post(URL, {"stage": "silent"})  # five rows: over the threshold
    small, large = AuditLog.objects.filter(action=AUDIT_ACTION).order_by("pk")
    assert not small.flagged
    assert large.flagged
    assert large.detail["flags"] == ["many_rows"]


@override_settings(WINBACK_EXPORT_FLAG_DAILY=3)
def test_many_exports_in_a_day_are_flagged(world: World) -> None:
    client = signed_in(world.supervisor)
    for _i in range(4):
        assert client.post(URL, {"q": "MINE"}).status_code == 200
    signed_in(world.admin).post(URL, {"q": "MINE"})  # another user's count is their own
    entries = list(AuditLog.objects.filter(action=AUDIT_ACTION).order_by("pk"))
    assert [e.flagged for e in entries] == [False, False, False, True, False]
    assert entries[3].detail["flags"] == ["many_exports_today"]
    assert entries[3].detail["exports_today"] == 4


def test_default_cap_is_five_thousand() -> None:
    from django.conf import settings

    assert settings.WINBACK_EXPORT_MAX_ROWS == 5000


def test_headers_follow_the_users_language(world: World) -> None:
    client = Client()  # the default language: Simplified Chinese
    client.force_login(world.supervisor)
    header = rows_of(client.post(URL).content)[0]
    assert header[:4] == ["客户编号", "姓名", "电话", "阶段"]
    assert "分析日期" in header
    page = client.get(reverse("customers")).content.decode()
    assert "导出 CSV" in page
    assert f'<form method="post" action="{URL}" id="export-form"' in page
    assert 'name="format" value="xlsx"' in page

"""Reports page through the Django test client: months, inline view, downloads, cache, audit."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories.workbench import World, build_world
from winback.app.reports.service import default_path
from winback.store.accounts.models import AuditLog, User
from winback.store.analysis.models import AnalysisRun

pytestmark = pytest.mark.django_db


def signed_in(u: User) -> Client:
    client = Client()
    client.force_login(u)
    return client


@pytest.fixture
def world() -> World:
    return build_world()


def _body(response: object) -> bytes:
    return b"".join(response.streaming_content)  # type: ignore[attr-defined]


def test_agents_are_refused(world: World) -> None:
    agent = signed_in(world.agent1)
    assert agent.get(reverse("reports")).status_code == 403
    assert agent.get(reverse("report", args=["2026-10"])).status_code == 403
    assert agent.get(reverse("report_file", args=["2026-10", "zh", "html"])).status_code == 403


def test_months_with_an_analysis_are_listed(world: World) -> None:
    AnalysisRun.objects.create(as_of=date(2026, 9, 1), customers=2)  # closes August
    page = signed_in(world.supervisor).get(reverse("reports")).content.decode()
    months = [m for m in ("2026-10", "2026-09", "2026-08") if f'data-month="{m}"' in page]
    assert months == ["2026-10", "2026-08"]
    assert page.index('data-month="2026-10"') < page.index('data-month="2026-08"')
    assert signed_in(world.admin).get(reverse("report", args=["2026-09"])).status_code == 404
    assert signed_in(world.admin).get(reverse("report", args=["nonsense"])).status_code == 404


@pytest.mark.slow  # renders the PDF
def test_the_report_is_shown_inline_and_downloaded_in_every_format(world: World) -> None:
    client = signed_in(world.supervisor)
    page = client.get(reverse("report", args=["2026-10"]) + "?lang=en").content.decode()
    assert 'id="report-frame"' in page
    assert "/reports/2026-10/en.html?inline=1" in page

    inline = client.get(reverse("report_file", args=["2026-10", "zh", "html"]) + "?inline=1")
    assert inline.status_code == 200
    assert inline["Content-Type"] == "text/html; charset=utf-8"
    assert "attachment" not in inline.get("Content-Disposition", "")
    assert inline["X-Frame-Options"] == "SAMEORIGIN"
    assert "<html" in _body(inline).decode()[:500].lower()
    assert not AuditLog.objects.filter(action="export_report").exists()  # viewing is no export
    assert default_path(date(2026, 10, 1), "zh", "html").is_file()  # cached

    expected = {
        "html": "text/html; charset=utf-8",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pdf": "application/pdf",
    }
    for fmt, content_type in expected.items():
        response = client.post(reverse("report_file", args=["2026-10", "en", fmt]))
        assert response.status_code == 200, fmt
        assert response["Content-Type"] == content_type
        assert f'filename="winback-report-2026-10-en.{fmt}"' in response["Content-Disposition"]
        body = _body(response)
        assert len(body) > 1000, fmt
        if fmt == "pdf":
            assert body.startswith(b"%PDF")
        if fmt == "xlsx":
            assert zipfile.ZipFile(io.BytesIO(body)).namelist()
        if fmt == "html":
            assert "Monthly" in body.decode() or "monthly" in body.decode()
    audits = AuditLog.objects.filter(action="export_report").order_by("pk")
    assert [(a.user, a.object_id, a.detail["format"]) for a in audits] == [
        (world.supervisor, "2026-10", fmt) for fmt in expected
    ]


def test_a_cached_report_is_reused_until_made_again(world: World) -> None:
    client = signed_in(world.admin)
    url = reverse("report_file", args=["2026-10", "zh", "html"]) + "?inline=1"
    client.get(url)
    path = default_path(date(2026, 10, 1), "zh", "html")
    path.write_text("<html>cached</html>", encoding="utf-8")
    assert _body(client.get(url)) == b"<html>cached</html>"
    assert client.post(reverse("report_refresh", args=["2026-10"])).status_code == 302
    assert not path.exists()
    assert b"cached" not in _body(client.get(url))
    assert client.get(reverse("report_file", args=["2026-10", "fr", "html"])).status_code == 404
    assert client.get(reverse("report_file", args=["2026-10", "zh", "doc"])).status_code == 404

"""A cached report is served only while it is fresh: a new analysis makes it again, and so does a
PDF without the Chinese font (one made on a machine without it); a PDF that cannot embed the
font is refused with a message, never served."""

from __future__ import annotations

import os
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories.workbench import World, build_world
from winback.app.reports import files
from winback.app.reports.service import default_path
from winback.reporting import fonts
from winback.store.accounts.models import User
from winback.store.analysis.models import AnalysisRun

pytestmark = pytest.mark.django_db
MONTH = date(2026, 10, 1)


def signed_in(u: User) -> Client:
    client = Client()
    client.force_login(u)
    return client


def body(response: object) -> bytes:
    return b"".join(response.streaming_content)  # type: ignore[attr-defined]


@pytest.fixture
def world() -> World:
    w = build_world()
    AnalysisRun.objects.update(created_at=timezone.now() - timedelta(hours=1))
    return w


def cache(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    stamp = time.time() - 60  # made a minute ago: after the analysis, before anything new
    os.utime(path, (stamp, stamp))


@pytest.mark.slow
def test_a_new_analysis_makes_the_cached_report_again(world: World) -> None:
    client = signed_in(world.admin)
    url = reverse("report_file", args=["2026-10", "zh", "html"]) + "?inline=1"
    path = default_path(MONTH, "zh", "html")
    cache(path, b"<html>cached</html>")
    assert body(client.get(url)) == b"<html>cached</html>"
    assert "zh.html" in files.report_months()[0].cached

    run = AnalysisRun.objects.get()
    run.save()  # the analysis run again: its time is now
    assert "zh.html" not in files.report_months()[0].cached
    fresh = body(client.get(url))
    assert b"cached" not in fresh
    assert len(fresh) > 1000
    assert body(client.get(url)) == fresh  # and that one is reused


def latin_pdf() -> bytes:
    from weasyprint import HTML

    return bytes(HTML(string="<p>October report</p>").write_pdf())


@pytest.mark.slow
def test_a_cached_pdf_without_the_chinese_font_is_made_again(world: World) -> None:
    path = default_path(MONTH, "zh", "pdf")
    cache(path, latin_pdf())
    assert not files.is_fresh(path, "zh", "pdf")
    response = signed_in(world.supervisor).post(
        reverse("report_file", args=["2026-10", "zh", "pdf"])
    )
    assert response.status_code == 200
    pdf = body(response)
    assert fonts.embedded_fonts(pdf).get("Noto-Sans-CJK-SC") is True
    assert files.is_fresh(path, "zh", "pdf")


def test_a_pdf_that_cannot_embed_the_font_is_refused_with_a_message(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_font(*args: object, **kwargs: object) -> object:
        raise fonts.MissingCJKFont("no Chinese font")

    monkeypatch.setattr(files, "write_report", no_font)
    client = signed_in(world.supervisor)
    client.cookies["django_language"] = "zh-hans"
    response = client.post(reverse("report_file", args=["2026-10", "zh", "pdf"]))
    assert response.status_code == 302
    assert response["Location"] == reverse("report", args=["2026-10"])
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert said
    assert "PDF" in said[0]
    assert not default_path(MONTH, "zh", "pdf").exists()

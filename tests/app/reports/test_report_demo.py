"""The monthly report on a small demo business: real browser, real PDF, figures recounted."""

from __future__ import annotations

import io
import re
import subprocess
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from tests.web.browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.slow  # a demo business, reports in three formats

END = date(2024, 6, 30)
MONTH = date(2024, 6, 1)


@pytest.fixture(scope="module")
def demo_report(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """One demo business for the module (400 customers, 18 months, six simulated rounds)."""
    from django.core.management import call_command

    from winback.app.reports.service import monthly_report
    from winback.cli.demo_cycle import run_demo

    folder = tmp_path_factory.mktemp("report-demo")
    with pytest.MonkeyPatch.context() as patch, django_db_blocker.unblock():
        patch.setenv("WINBACK_DATA_DIR", str(folder / "data"))
        run_demo(
            industry="aesthetics",
            customers=400,
            months=18,
            seed=5,
            out=folder / "demo",
            console=Console(file=io.StringIO(), width=120),
            end_date=END,
        )
        try:
            yield monthly_report(MONTH, n_boot=200)
        finally:
            call_command("flush", interactive=False, verbosity=0)


def _open_in_chromium(path: Path, screenshot: Path) -> tuple[list[str], list[str], str]:
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    failed: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("requestfailed", lambda r: failed.append(r.url))
            page.on(
                "request", lambda r: failed.append(r.url) if not r.url.startswith("file:") else None
            )
            page.goto(path.as_uri(), wait_until="load")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 400, f"the page is wider than a phone: {width}px"
            page.screenshot(path=str(screenshot), full_page=True)
            text = page.inner_text("body")
        finally:
            browser.close()
    return errors, failed, text


@pytest.mark.browser
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("lang", "titles"),
    [
        ("zh", ["结论", "核心指标", "流失原因", "数据质量", "模拟数据"]),
        ("en", ["Verdict", "Headline figures", "Why customers leave", "Data quality", "SIMULATED"]),
    ],
)
def test_html_report_opens_cleanly_in_chromium(
    demo_report: dict[str, Any], lang: str, titles: list[str], tmp_path: Path, artifacts_dir: Path
) -> None:
    from winback.app.reports.service import write_report

    path = write_report(MONTH, lang, "html", tmp_path / f"report-{lang}.html", report=demo_report)
    html = path.read_text(encoding="utf-8")
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", html))
    assert {u for u in urls if not u.startswith("http://www.w3.org/")} == set(), "only namespaces"
    assert "<script" not in html
    assert "<link" not in html
    assert html.count("<svg") >= 12, "every section with data has its chart inline"
    errors, failed, text = _open_in_chromium(path, artifacts_dir / f"report-{lang}.png")
    assert errors == []
    assert failed == []
    for title in titles:
        assert title in text
    assert (artifacts_dir / f"report-{lang}.png").stat().st_size > 50_000


@pytest.mark.django_db
def test_pdf_report_has_chinese_titles_and_an_embedded_cjk_font(
    demo_report: dict[str, Any], tmp_path: Path
) -> None:
    from PIL import Image

    from winback.app.reports.service import write_report

    pdf = write_report(MONTH, "zh", "pdf", tmp_path / "report.pdf", report=demo_report)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True, text=True
    ).stdout
    for title in ("客户挽回月度报告", "结论", "生命周期阶段客户数", "流失原因", "数据质量"):
        assert title in text
    fonts = subprocess.run(
        ["pdffonts", str(pdf)], capture_output=True, check=True, text=True
    ).stdout.splitlines()[2:]
    cjk = [line for line in fonts if "CJK" in line]
    assert cjk, fonts
    assert all(line.split()[-5] == "yes" for line in cjk), "emb column"
    subprocess.run(
        ["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
        check=True,
    )
    page = Image.open(next(tmp_path.glob("page*.png"))).convert("L")
    assert page.width < page.height, "A4 portrait"
    lo, hi = page.getextrema()
    dark = sum(page.histogram()[:128])
    assert hi - lo > 100
    assert dark > 0.002 * page.width * page.height, "page 1 is not blank"


@pytest.mark.django_db
def test_workbook_has_a_sheet_per_table(demo_report: dict[str, Any], tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from winback.app.reports.service import write_report
    from winback.reporting.tables import section_tables

    path = write_report(MONTH, "en", "xlsx", tmp_path / "report.xlsx", report=demo_report)
    book = load_workbook(path, read_only=True)
    tables = [t for section in section_tables(demo_report).values() for t in section]
    assert len(book.sheetnames) == 1 + len(tables)
    causes = book["Rejected by cause"]
    rows = list(causes.iter_rows(min_row=2, values_only=True))
    assert sum(int(r[1]) for r in rows) == demo_report["quality"]["rejected"]


@pytest.mark.django_db
def test_headline_figures_match_the_raw_tables(demo_report: dict[str, Any]) -> None:
    from django.db.models import Count, Sum

    from winback.store.analysis.models import CustomerSnapshot
    from winback.store.customers.models import Order
    from winback.store.imports.models import ImportBatch
    from winback.store.programme.models import ContactAttempt, Round, RoundMember

    # 1. customers by stage at the month's analysis
    assert demo_report["as_of"] == END
    by_stage = dict(
        CustomerSnapshot.objects.filter(as_of=END)
        .values_list("stage")
        .annotate(n=Count("id"))
        .values_list("stage", "n")
    )
    stages = demo_report["stages"]
    reported = {
        r["stage"]: r["customers"] for r in stages.iter_rows(named=True) if r["as_of"] == END
    }
    assert reported == {s: by_stage.get(s, 0) for s in reported}
    assert sum(reported.values()) == CustomerSnapshot.objects.filter(as_of=END).count()

    # 2. newly lost: lost now, not lost at the previous analysis (or not scored then)
    before = demo_report["previous_as_of"]
    assert before == MONTH  # the analysis dated on the 1st closes May
    lost_before = CustomerSnapshot.objects.filter(as_of=before, stage="lost").values("customer")
    newly_lost = (
        CustomerSnapshot.objects.filter(as_of=END, stage="lost")
        .exclude(customer__in=lost_before)
        .count()
    )
    assert demo_report["lost_won"].row(-1, named=True)["newly_lost"] == newly_lost

    # 3. a round's return rates at +30 days, treated and control
    rnd = Round.objects.order_by("round_start").first()
    assert rnd is not None
    window = (rnd.round_start, rnd.round_start + timedelta(days=29))
    buyers = Order.objects.filter(amount_cents__gt=0, order_date__range=window).values(
        "customer_id"
    )
    rates = {}
    for arm in ("treated", "control"):
        members = RoundMember.objects.filter(round=rnd, arm=arm)
        rates[arm] = members.filter(customer_id__in=buyers).count() / members.count()
    looks = demo_report["looks"]  # +30 is a look (progress); the round table is at +90
    row = looks.filter((looks["round_id"] == rnd.pk) & (looks["horizon"] == 30)).row(0, named=True)
    assert row["p_treated"] == pytest.approx(rates["treated"])
    assert row["p_control"] == pytest.approx(rates["control"])

    # 4. contacts made by the agents in the month
    contacts = ContactAttempt.objects.filter(
        occurred_date__gte=MONTH, occurred_date__lte=END
    ).count()
    assert contacts > 0
    assert demo_report["agents"]["contacts"] == contacts

    # 5. rejected rows of the imports
    rejected = ImportBatch.objects.filter(dry_run=False).aggregate(n=Sum("rejected"))["n"]
    assert rejected > 0
    assert demo_report["quality"]["rejected"] == rejected

"""The admin pages in real headless Chromium against a live server: import a GBK file with
Chinese headers and bad rows, watch it run, download the rejects, open the reports."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.factories.workbench import PASSWORD, build_world
from winback.store.accounts.models import AuditLog
from winback.store.customers.models import Order
from winback.store.imports.models import ImportBatch

if TYPE_CHECKING:  # Playwright is imported when a browser test runs, not when tests are collected
    from playwright.sync_api import Page

GOOD_ROWS = 3000
BAD_ROWS = {  # physical row number -> (cells, reason code); the header is row 1
    5: (["VIP0004", "2026-03-01", "一百元", "金卡"], "bad_amount"),
    9: (["VIP0008", "不是日期", "88.00", "银卡"], "bad_date"),
    12: (["", "2026-03-02", "10.00", "银卡"], "missing_required"),
}

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def gbk_orders(path: Path) -> Path:
    """A GBK-encoded orders export with Chinese headers, some rows bad."""
    lines = ["会员号,消费日期,实收金额,会员等级"]
    total = GOOD_ROWS + len(BAD_ROWS)
    good = 0
    for row_number in range(2, total + 2):
        if row_number in BAD_ROWS:
            lines.append(",".join(BAD_ROWS[row_number][0]))
        else:
            good += 1
            day = 1 + good % 28
            lines.append(f"VIP{good % 150:04d},2026-02-{day:02d},{good % 97 + 1}.50,金卡")
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))
    return path


def test_admin_imports_a_gbk_file_downloads_rejects_and_opens_reports(
    live_server: Any,
    browser_page: Page,
    artifacts_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WINBACK_IMPORT_CHUNK_ROWS", "150")  # several chunks: the bar moves
    build_world()
    orders_before = Order.objects.count()
    base, page = live_server.url, browser_page
    shots = artifacts_dir / "workbench"
    shots.mkdir(exist_ok=True)
    source = gbk_orders(tmp_path / "二月订单.csv")

    page.goto(f"{base}/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(f"{base}/dashboard/")

    page.click("nav >> text=导入")
    page.wait_for_url(f"{base}/imports/")
    page.select_option("#id_kind", "orders")
    page.set_input_files("#id_file", str(source))
    page.click("#upload button.primary")
    page.wait_for_selector("#mapping")
    assert page.inner_text("#encoding") == "gb18030"
    fields = {
        row.get_attribute("data-header"): row.get_attribute("data-field")
        for row in page.locator("tr.map-row").all()
    }
    assert fields == {
        "会员号": "customer_id",
        "消费日期": "order_date",
        "实收金额": "amount",
        "会员等级": "",
    }
    assert "会员等级" in page.inner_text("#unknown")
    assert page.locator("#sample tbody tr").count() == 10
    page.screenshot(path=str(shots / "import-preview-zh.png"), full_page=True)

    # the admin overrides one column: the unknown level becomes the coupon code, then back
    page.select_option("select[name=map-3]", "coupon_code")
    page.click("button[value=mapping]")
    page.wait_for_selector("tr.map-row[data-header=会员等级][data-field=coupon_code]")
    page.select_option("select[name=map-3]", "__ignore__")
    page.click("button[value=mapping]")
    page.wait_for_selector("tr.map-row.status-ignored[data-header=会员等级]")

    polls: list[int] = []
    page.on("response", lambda r: polls.append(r.status) if "/progress/" in r.url else None)
    page.click("#run-import")
    page.wait_for_selector("#job")
    page.wait_for_selector('#job[data-status="done"] #summary')
    summary = {
        cell.get_attribute("data-key"): int(cell.inner_text())
        for cell in page.locator("#summary td[data-key]").all()
    }
    assert summary == {
        "read": GOOD_ROWS + len(BAD_ROWS),
        "inserted": GOOD_ROWS,
        "updated": 0,
        "unchanged": 0,
        "rejected": len(BAD_ROWS),
    }
    assert page.locator("#job progress").get_attribute("value") == "100"
    assert Order.objects.count() == orders_before + GOOD_ROWS
    assert ImportBatch.objects.get().summary["ignored_columns"] == ["会员等级"]
    page.screenshot(path=str(shots / "import-done-zh.png"), full_page=True)
    assert all(status == 200 for status in polls)  # every progress poll (if any) answered

    with page.expect_download() as info:
        page.click("#download-rejects")
    download = info.value
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert saved.name.endswith("-orders-rejects.csv")
    rows = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert [(int(r["row_number"]), r["reason_code"]) for r in rows] == [
        (n, reason) for n, (_, reason) in sorted(BAD_ROWS.items())
    ]
    assert [r["实收金额"] for r in rows] == [cells[2] for cells, _ in BAD_ROWS.values()]
    assert all(r["reason"] for r in rows)
    assert AuditLog.objects.filter(action="export_rejects").count() == 1

    page.goto(f"{base}/imports/")
    assert page.locator("tr.batch-row").count() == 1
    assert "二月订单.csv" in page.inner_text("#history")
    page.screenshot(path=str(shots / "import-history-zh.png"), full_page=True)

    page.click("nav >> text=报表")
    page.wait_for_url(f"{base}/reports/")
    assert page.locator("tr.report-month").count() == 1
    page.click("tr.report-month >> text=2026-10")
    page.wait_for_url(f"{base}/reports/2026-10/")
    frame = page.frame_locator("#report-frame")
    frame.locator("body").wait_for()
    assert len(frame.locator("body").inner_text()) > 100
    page.screenshot(path=str(shots / "report-zh.png"), full_page=True)
    with page.expect_download() as report_info:  # a POST button: the download is audited
        page.click('#report-tools button[data-format="xlsx"]')
    assert report_info.value.suggested_filename == "winback-report-2026-10-zh.xlsx"
    assert AuditLog.objects.filter(action="export_report").count() == 1

    page.click("nav >> text=设置")
    page.click("#settings-nav >> text=企业档案")
    page.wait_for_url(f"{base}/settings/profile/")
    assert page.locator("#id_lifecycle__lost_from").input_value() == "120"
    page.screenshot(path=str(shots / "settings-profile-zh.png"), full_page=True)

"""Exports: the import contract's columns, formula-injection guard, audit, round trip."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from openpyxl import load_workbook

from winback.app.imports.data_export import ExportError, export_data
from winback.app.imports.service import import_file
from winback.ingest.export import EXPORT_KINDS
from winback.schema import CONTRACTS
from winback.store.accounts.models import AuditLog
from winback.store.customers.models import Customer, Order

pytestmark = pytest.mark.django_db

FILES = {
    "stores": "store_code,name,city\nS1,总店,上海\nS2,分店,杭州\n",
    "categories": (
        "category_code,name,necessity,replenishment_days\nK1,饮料,必需,7\nK2,零食,非必需,\n"
    ),
    "products": "sku,name,category_code,unit_price\nP1,可乐,K1,3.50\nP2,薯片,K2,8\n",
    "customers": (
        "会员卡号,姓名,手机号,性别,生日,门店,标签,营销同意,勿扰,勿扰日期,备注\n"
        "C1,张三,13800000001,女,1990-05-01,S1,VIP、老客,是,否,,喜欢咖啡\n"
        "C2,李四,,男,,S2,,否,是,2024-02-01,=1+1\n"
        "C3,,,,,,,,,,\n"
    ),
    "orders": (
        "订单号,会员卡号,消费日期,实收金额,门店,渠道,优惠券\n"
        "O1,C1,2024-01-05 10:30:00,128.00,S1,门店,NEW10\n"
        "O2,C2,2024-01-06 23:59:59,(12.50),S2,小程序,\n"
        ",C3,45300.25,9.9,,,\n"
    ),
    "order-lines": (
        "order no,line no,sku,category,qty,amount\nO1,1,P1,K1,2,7.00\nO1,2,P2,K2,1.5,121.00\n"
        "O2,1,P2,K2,-1,-12.50\n"
    ),
    "events": (
        "event id,customer,type,time,referred customer,converted,score,resolved,resolved at\n"
        "E1,C1,推荐,2024-01-07 08:00,C2,是,,,\n"
        "E2,C2,投诉,2024-01-08,,,,是,2024-01-09 12:00\n"
        ",C1,问卷,2024-01-10,,,10,,\n"
    ),
    "contacts": (
        "联系编号,客户编号,联系方式,方向,坐席,结果,联系时间,时长,流失原因,承诺回访日期\n"
        "K1,C1,电话,呼出,小王,接通,2024-02-01 09:00,95,price,2024-03-01\n"
        ",C2,短信,,,未接通,2024-02-02,,,\n"
    ),
}
ORDER = (
    "stores",
    "categories",
    "products",
    "customers",
    "orders",
    "order-lines",
    "events",
    "contacts",
)


def _load_all(tmp_path: Path) -> dict[str, int]:
    stored = {}
    for kind in ORDER:
        path = tmp_path / f"{kind}.csv"
        path.write_text(FILES[kind], encoding="utf-8")
        summary = import_file(kind, path)
        assert summary.rejected == 0, (kind, summary.rejected_by_reason)
        stored[kind] = summary.inserted
    return stored


def test_an_exported_csv_re_imports_without_any_change(tmp_path: Path) -> None:
    stored = _load_all(tmp_path)
    for kind in EXPORT_KINDS:
        out = tmp_path / "export" / f"{kind}.csv"
        summary = export_data(kind, "csv", out)
        assert summary.rows == stored[kind]
        header = out.read_text(encoding="utf-8-sig").splitlines()[0]
        assert header.split(",") == list(CONTRACTS[kind].names)
        again = import_file(kind, out)
        assert (again.read, again.inserted, again.updated, again.rejected) == (
            stored[kind],
            0,
            0,
            0,
        )
        assert again.unchanged == stored[kind]
    assert AuditLog.objects.filter(action="export").count() == len(EXPORT_KINDS)


def test_an_exported_workbook_re_imports_without_any_change(tmp_path: Path) -> None:
    stored = _load_all(tmp_path)
    for kind in ("orders", "customers", "contacts"):
        out = tmp_path / f"{kind}.xlsx"
        export_data(kind, "xlsx", out)
        again = import_file(kind, out)
        assert (again.inserted, again.updated, again.unchanged) == (0, 0, stored[kind])
    sheet = load_workbook(tmp_path / "orders.xlsx").active
    assert sheet is not None
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert (rows[0][2], rows[0][3]) == (dt.datetime(2024, 1, 5, 10, 30), 128.0)  # typed cells


def test_parquet_keeps_types(tmp_path: Path) -> None:
    _load_all(tmp_path)
    out = tmp_path / "orders.parquet"
    export_data("orders", "parquet", out)
    frame = pl.read_parquet(out)
    assert frame.columns == list(CONTRACTS["orders"].names)
    refund = frame.filter(pl.col("order_id") == "O2").row(0, named=True)
    assert refund["amount"] == Decimal("-12.50")
    assert refund["order_date"] == dt.datetime(2024, 1, 6, 23, 59, 59).replace(
        tzinfo=refund["order_date"].tzinfo
    )
    assert str(refund["order_date"].tzinfo) == "Asia/Shanghai"


def test_cells_a_spreadsheet_would_run_are_quoted(tmp_path: Path) -> None:
    customer = Customer.objects.create(
        external_id="-C1",
        name='=HYPERLINK("http://evil.example","click")',
        phone="+8613800000000",
        email="@SUM(1+1)",
        notes="\tcmd",
        channel="-12.50",
    )
    Order.objects.create(
        order_key="O-1",
        customer=customer,
        ordered_at=dt.datetime(2024, 1, 5, tzinfo=dt.UTC),
        order_date=dt.date(2024, 1, 5),
        amount_cents=-1250,
        channel="=cmd|' /C calc'!A0",
    )
    export_data("customers", "csv", tmp_path / "c.csv")
    export_data("orders", "csv", tmp_path / "o.csv")
    rows = list(csv.DictReader(io.StringIO((tmp_path / "c.csv").read_text(encoding="utf-8-sig"))))
    assert rows[0]["customer_id"] == "'-C1"
    assert rows[0]["name"] == '\'=HYPERLINK("http://evil.example","click")'
    assert rows[0]["phone"] == "+8613800000000"  # a plain number cannot carry a formula
    assert rows[0]["email"] == "'@SUM(1+1)"
    assert rows[0]["notes"] == "'\tcmd"
    assert rows[0]["channel"] == "-12.50"
    order = next(csv.DictReader(io.StringIO((tmp_path / "o.csv").read_text(encoding="utf-8-sig"))))
    assert (order["amount"], order["channel"]) == ("-12.50", "'=cmd|' /C calc'!A0")
    export_data("customers", "xlsx", tmp_path / "c.xlsx")
    sheet = load_workbook(tmp_path / "c.xlsx").active
    assert sheet is not None
    cell = sheet["B2"]
    assert (cell.value, cell.data_type) == ('\'=HYPERLINK("http://evil.example","click")', "s")
    back = import_file("customers", tmp_path / "c.csv")
    assert back.unchanged + back.updated == 1
    assert Customer.objects.get().name == '=HYPERLINK("http://evil.example","click")'


def test_every_export_is_audited(tmp_path: Path) -> None:
    export_data("contacts", "csv", tmp_path / "k.csv", reason="monthly review")
    entry = AuditLog.objects.get(action="export")
    assert (entry.object_type, entry.reason) == ("contacts", "monthly review")
    assert entry.detail == {"format": "csv", "rows": 0, "file": str(tmp_path / "k.csv")}
    assert entry.username.startswith("cli:")


def test_unknown_kinds_and_formats_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ExportError):
        export_data("stores", "csv", tmp_path / "s.csv")
    with pytest.raises(ExportError):
        export_data("orders", "json", tmp_path / "o.json")
    assert not AuditLog.objects.exists()

"""The import service against the database (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path

import pytest
from openpyxl import Workbook

from winback.app.imports.service import ImportSummary, file_sha256, import_file
from winback.config import preset
from winback.ingest.messages import FileError, ImportFileError
from winback.store.customers.models import (
    Category,
    ContactLog,
    Customer,
    EngagementEvent,
    Order,
    OrderLine,
    Product,
    Store,
)
from winback.store.imports.models import ImportBatch, ImportStatus

DATA = Path(__file__).resolve().parents[2] / "data"
UTC = dt.UTC
pytestmark = pytest.mark.django_db


def _write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _balanced(s: ImportSummary) -> bool:
    return bool(s.read == s.inserted + s.updated + s.unchanged + s.rejected)


def test_a_gbk_file_with_chinese_headers_and_excel_serials_imports_without_mapping() -> None:
    summary = import_file("orders", DATA / "orders_gbk.csv")
    assert summary.encoding == "gb18030"
    assert summary.mapped_columns == {
        "会员卡号": "customer_id",
        "消费日期": "order_date",
        "实收金额": "amount",
        "门店": "store_code",
    }
    assert summary.unknown_columns == ["备注"]
    assert (summary.read, summary.inserted, summary.rejected) == (5, 4, 1)
    assert summary.rejected_by_reason == {"bad_amount": 1}
    assert summary.stub_customers_created == 3
    assert summary.unresolved_references["store_code"] == 4  # no stores imported yet
    stored = sorted(
        Order.objects.values_list(
            "customer__external_id", "ordered_at", "order_date", "amount_cents"
        )
    )
    assert stored == [
        ("VIP0001", dt.datetime(2024, 1, 4, 16, tzinfo=UTC), dt.date(2024, 1, 5), 123450),
        ("VIP0001", dt.datetime(2024, 1, 19, 16, tzinfo=UTC), dt.date(2024, 1, 20), -1200),
        ("VIP0002", dt.datetime(2024, 1, 5, 4, tzinfo=UTC), dt.date(2024, 1, 5), 8800),
        ("VIP0003", dt.datetime(2024, 2, 1, 10, tzinfo=UTC), dt.date(2024, 2, 1), 6660),
    ]
    assert Order.objects.filter(key_derived=True).count() == 4
    assert set(Customer.objects.values_list("external_id", "is_stub")) == {
        ("VIP0001", True),
        ("VIP0002", True),
        ("VIP0003", True),
    }
    again = import_file("orders", DATA / "orders_gbk.csv")
    assert (again.inserted, again.updated, again.unchanged, again.rejected) == (0, 0, 4, 1)
    assert again.stub_customers_created == 0
    assert Order.objects.count() == 4


def test_a_changed_row_is_updated_and_the_rest_unchanged(tmp_path: Path) -> None:
    header = "order no,customer,date,amount,channel\n"
    rows = [f"O{i},C{i % 3},2024-03-0{i} 10:00,{i}0.00,门店" for i in range(1, 6)]
    first = import_file("orders", _write(tmp_path, "a.csv", header + "\n".join(rows)), chunk_rows=2)
    assert (first.inserted, first.stub_customers_created) == (5, 3)
    rows[2] = "O3,C0,2024-03-03 10:00,33.00,门店"
    second = import_file(
        "orders", _write(tmp_path, "b.csv", header + "\n".join(rows)), chunk_rows=2
    )
    assert (second.inserted, second.updated, second.unchanged) == (0, 1, 4)
    assert Order.objects.get(order_key="O3").amount_cents == 3300
    assert Order.objects.get(order_key="O4").amount_cents == 4000


def test_a_customer_file_completes_stubs(tmp_path: Path) -> None:
    import_file("orders", _write(tmp_path, "o.csv", "customer,date,amount\nC1,2024-01-05,1\n"))
    assert Customer.objects.get(external_id="C1").is_stub
    customers = _write(
        tmp_path, "c.csv", "会员卡号,姓名,性别,标签\nC1,张三,女,VIP、老客\nC2,李四,男,\n"
    )
    summary = import_file("customers", customers)
    assert (summary.inserted, summary.updated) == (1, 1)
    c1 = Customer.objects.get(external_id="C1")
    assert (c1.is_stub, c1.name, c1.gender, c1.tags) == (False, "张三", "F", ["VIP", "老客"])
    assert Customer.objects.get(external_id="C2").consent_marketing is True  # model default
    again = import_file("customers", customers)
    assert (again.updated, again.unchanged) == (0, 2)


def test_the_reject_policy_refuses_orders_of_unknown_customers(tmp_path: Path) -> None:
    Customer.objects.create(external_id="C1")
    path = _write(tmp_path, "o.csv", "customer,date,amount\nC1,2024-01-05,1\nC9,2024-01-05,2\n")
    by_profile = import_file(
        "orders", path, profile=preset("retail", {"unknown_customer_policy": "reject"})
    )
    assert (by_profile.inserted, by_profile.rejected) == (1, 1)
    assert by_profile.rejected_by_reason == {"unknown_customer": 1}
    assert not Customer.objects.filter(external_id="C9").exists()
    by_option = import_file("orders", path, unknown_customer_policy="reject")
    assert by_option.rejected_by_reason == {"unknown_customer": 1}


def test_order_lines_resolve_products_and_categories_and_reject_unknown_orders(
    tmp_path: Path,
) -> None:
    import_file("categories", _write(tmp_path, "k.csv", "品类编号,品类名称,必要性\nK1,饮料,必需\n"))
    import_file(
        "products", _write(tmp_path, "p.csv", "商品编号,商品名称,品类,单价\nP1,可乐,K1,3.5\n")
    )
    import_file(
        "orders",
        _write(tmp_path, "o.csv", "订单号,会员卡号,消费日期,实收金额\nO1,C1,2024-01-05,13\n"),
    )
    lines = _write(
        tmp_path,
        "l.csv",
        "order no,line no,sku,category,qty,amount\n"
        "O1,1,P1,K1,2,7.00\n"
        "O1,2,P404,,1.5,6.00\n"
        "O404,1,P1,K1,1,3.50\n",
    )
    summary = import_file("order-lines", lines)
    assert (summary.inserted, summary.rejected) == (2, 1)
    assert summary.rejected_by_reason == {"unknown_order": 1}
    assert summary.unresolved_references == {"sku": 1, "category_code": 0}
    first, second = OrderLine.objects.order_by("line_no")
    assert (first.product.sku, first.category.code, first.quantity) == ("P1", "K1", 2)
    assert (second.product, second.quantity, second.amount_cents) == (None, 1.5, 600)
    assert Product.objects.get().category == Category.objects.get(code="K1")
    assert Product.objects.get().unit_price_cents == 350
    import_file("products", _write(tmp_path, "p2.csv", "sku,name\nP404,found later\n"))
    again = import_file("order-lines", lines)
    assert (again.updated, again.unchanged) == (1, 1)  # the line's product now resolves
    assert OrderLine.objects.get(line_no=2).product.sku == "P404"


def test_category_parents_resolve_within_the_same_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "k.csv", "category,parent,necessity\nK2,K1,no\nK1,,yes\nK3,NOPE,yes\n")
    summary = import_file("categories", path)
    assert summary.inserted == 3
    parents = dict(Category.objects.values_list("code", "parent__code"))
    assert parents == {"K1": None, "K2": "K1", "K3": None}
    assert Category.objects.get(code="K1").necessity == "necessary"
    assert import_file("categories", path).unchanged == 3


def test_events_and_contacts_import_with_their_choices(tmp_path: Path) -> None:
    Customer.objects.create(external_id="C1")
    Customer.objects.create(external_id="C2")
    events = _write(
        tmp_path,
        "e.csv",
        "客户编号,互动类型,发生时间,被推荐人,是否成交,评分\n"
        "C1,推荐,2024-01-05 10:00,C2,是,\n"
        "C1,问卷,2024-01-06,,,9\n"
        "C1,跳舞,2024-01-07,,,\n",
    )
    summary = import_file("events", events)
    assert (summary.inserted, summary.rejected_by_reason) == (2, {"bad_choice": 1})
    referral = EngagementEvent.objects.get(event_type="referral")
    assert (referral.referred_customer.external_id, referral.referred_bought) == ("C2", True)
    assert referral.occurred_date == dt.date(2024, 1, 5)
    assert EngagementEvent.objects.get(event_type="survey_response").score == 9
    contacts = _write(
        tmp_path,
        "k.csv",
        "客户编号,联系方式,结果,联系时间,坐席,时长\nC1,微信,稍后回电,2024-02-01 09:30,小王,120\n",
    )
    assert import_file("contacts", contacts).inserted == 1
    log = ContactLog.objects.get()
    assert (log.channel, log.outcome, log.direction, log.agent_name) == (
        "wechat",
        "call_back",
        "outbound",
        "小王",
    )
    assert log.duration_seconds == 120


def test_xlsx_and_utf16_tsv_files_import(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["门店编号", "门店名称", "城市"])
    sheet.append(["S1", "总店", "上海"])
    sheet.append(["S2", "分店", "杭州"])
    book.save(tmp_path / "stores.xlsx")
    summary = import_file("stores", tmp_path / "stores.xlsx")
    assert (summary.file_format, summary.sheet, summary.inserted) == ("xlsx", "Sheet", 2)
    tsv = "\ufeffstore\tname\tcity\r\nS3\t新店\t苏州\r\n".encode("utf-16-le")
    path = tmp_path / "stores.tsv"
    path.write_bytes(tsv)
    summary = import_file("stores", path)
    assert (summary.encoding, summary.file_format, summary.inserted) == ("utf-16-le", "tsv", 1)
    assert set(Store.objects.values_list("code", "city")) == {
        ("S1", "上海"),
        ("S2", "杭州"),
        ("S3", "苏州"),
    }


def test_a_dry_run_counts_exactly_but_writes_nothing(tmp_path: Path) -> None:
    path = _write(tmp_path, "o.csv", "customer,date,amount\nC1,2024-01-05,1\nC2,bad,2\n")
    dry = import_file("orders", path, dry_run=True)
    assert (dry.inserted, dry.rejected, dry.stub_customers_created) == (1, 1, 1)
    assert Order.objects.count() == Customer.objects.count() == 0
    assert ImportBatch.objects.get(pk=dry.batch_id).dry_run
    real = import_file("orders", path)
    assert (real.inserted, real.rejected, real.stub_customers_created) == (1, 1, 1)


def test_the_rejects_file_and_the_batch_record(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "c.csv",
        "customer id,gender,consent\nC1,F,yes\nC2,?,yes\nC3,M,perhaps\nC1,M,no\n",
    )
    summary = import_file("customers", path, lang="en")
    assert _balanced(summary)
    assert summary.rejected_by_reason == {"bad_bool": 1, "bad_choice": 1, "duplicate_key": 1}
    assert summary.rejects_file is not None
    rejects = Path(summary.rejects_file)
    assert rejects.parent == tmp_path / "data" / "imports"  # under WINBACK_DATA_DIR
    text = rejects.read_bytes()
    assert text.startswith(b"\xef\xbb\xbf")
    lines = text.decode("utf-8-sig").splitlines()
    assert lines[0] == "row_number,column,reason_code,reason,customer id,gender,consent"
    assert lines[1] == '3,gender,bad_choice,"gender: ? is not one of: F, M",C2,?,yes'
    assert lines[3].startswith("5,customer id,duplicate_key,customer id: duplicate of row 2")
    batch = ImportBatch.objects.get(pk=summary.batch_id)
    assert batch.status == ImportStatus.DONE
    assert (batch.read, batch.inserted, batch.rejected) == (4, 1, 3)
    assert batch.rows_committed == 1
    assert batch.rejects_file == summary.rejects_file


def test_a_refused_file_raises_and_is_recorded_as_failed(tmp_path: Path) -> None:
    path = _write(tmp_path, "o.csv", "customer,amount\nC1,1\n")
    with pytest.raises(ImportFileError) as caught:
        import_file("orders", path, lang="en")
    assert caught.value.code is FileError.MISSING_COLUMNS
    batch = ImportBatch.objects.get()
    assert batch.status == ImportStatus.FAILED
    assert batch.summary["error"] == "missing_columns"
    with pytest.raises(ImportFileError):
        import_file("parcels", path)


def test_a_user_mapping_file_is_applied(tmp_path: Path) -> None:
    path = _write(tmp_path, "o.csv", "Kunde,Datum,Summe,Filiale\nC1,05.01.2024,7,X\n")
    mapping = _write(
        tmp_path,
        "m.json",
        '{"Kunde": "customer_id", "Datum": "order_date", "Summe": "amount", "Filiale": null}',
    )
    summary = import_file("orders", path, mapping=mapping)
    assert summary.inserted == 1
    assert summary.ignored_columns == ["Filiale"]
    assert summary.unknown_columns == []
    assert (summary.date_order, summary.date_order_ambiguous) == ("mdy", True)
    assert Order.objects.get().order_date == dt.date(2024, 5, 1)  # month first by default


def test_an_interrupted_batch_that_cannot_be_resumed_is_closed(tmp_path: Path) -> None:
    path = _write(tmp_path, "o.csv", "customer,date,amount\nC1,2024-01-05,1\n")
    dead_pid = 2**22 + 1  # above Linux's largest process id
    here = socket.gethostname()
    stale = ImportBatch.objects.create(
        kind="orders",
        file_name=str(path),
        file_sha256=file_sha256(path),
        summary={"fingerprint": "from other settings", "pid": dead_pid, "host": here},
    )
    elsewhere = ImportBatch.objects.create(
        kind="orders",
        file_name=str(path),
        file_sha256=file_sha256(path),
        summary={"fingerprint": "?", "pid": dead_pid, "host": "another-app-server"},
    )
    summary = import_file("orders", path)
    assert (summary.resumed, summary.inserted) == (False, 1)
    stale.refresh_from_db()
    assert (stale.status, stale.summary["error"]) == (ImportStatus.FAILED, "interrupted")
    elsewhere.refresh_from_db()
    assert elsewhere.status == ImportStatus.RUNNING  # its process may well be running there


def test_a_do_not_contact_request_survives_every_later_customer_import(tmp_path: Path) -> None:
    first = _write(tmp_path, "c1.csv", "会员卡号,姓名,勿扰\nC1,张三,否\nC2,李四,否\n")
    import_file("customers", first)
    requested = dt.datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    Customer.objects.filter(external_id="C1").update(
        do_not_contact=True, do_not_contact_date=requested, do_not_contact_source="contact"
    )
    assert import_file("customers", first).unchanged == 2
    changed = _write(tmp_path, "c2.csv", "会员卡号,姓名,勿扰\nC1,张三丰,否\nC2,李四,是\n")
    summary = import_file("customers", changed)
    assert summary.updated == 2
    c1 = Customer.objects.get(external_id="C1")
    assert (c1.name, c1.do_not_contact, c1.do_not_contact_source) == ("张三丰", True, "contact")
    assert c1.do_not_contact_date == requested
    assert Customer.objects.get(external_id="C2").do_not_contact is True

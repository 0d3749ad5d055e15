"""The pure pipeline: every reject reason with its row number, keys, hashes, references."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from winback.ingest.decode import ROW
from winback.ingest.keys import KEY, KEY_DERIVED
from winback.ingest.pipeline import (
    ROW_HASH,
    STUB,
    IngestOptions,
    known_frame,
    prepare,
    resolve,
    stub_customer_hash,
    with_row_hash,
)
from winback.ingest.rejects import counts_by_reason, rejects_table, write_rejects
from winback.ingest.validate import CODE, COLUMN, REASON
from winback.schema import RejectReason

EN = IngestOptions(lang="en")
REJECT = IngestOptions(lang="en", unknown_customer_policy="reject")


def _file(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _reasons(frame: pl.DataFrame) -> dict[int, str]:
    return dict(zip(frame[ROW].to_list(), frame[CODE].to_list(), strict=True))


CUSTOMERS = (
    "会员卡号,姓名,手机号,性别,生日,营销同意,备注\n"
    "C1,张三,13800000000,女,1990-05-01,是,ok\n"  # 2 valid
    "C2,李四,1380000000013800000000138000000001380000000,男,1991-01-01,否,\n"  # 3 too long
    "C3,王五,138,X,1992-01-01,是,\n"  # 4 bad choice
    "C4,赵六,138,男,1993-02-30,是,\n"  # 5 bad date
    "C5,钱七,138,男,1994-01-01,maybe,\n"  # 6 bad bool
    ",孙八,138,男,1995-01-01,是,\n"  # 7 missing id
    "C1,张三二,139,女,1990-05-01,是,\n"  # 8 duplicate of row 2
    "C6,周九,138,男\n"  # 9 three fields short
    "C7,吴十,1234567890123456789012345678901234567,Y,1990-13-01,是,\n"  # 10 three problems
    "C8,郑一,138,男,1996-01-01,否,\n"  # 11 valid
)


def test_every_field_level_reason_with_its_physical_row(tmp_path: Path) -> None:
    prepared = prepare("customers", _file(tmp_path, "c.csv", CUSTOMERS), options=EN)
    assert _reasons(prepared.rejects) == {
        3: RejectReason.TOO_LONG,
        4: RejectReason.BAD_CHOICE,
        5: RejectReason.BAD_DATE,
        6: RejectReason.BAD_BOOL,
        7: RejectReason.MISSING_REQUIRED,
        8: RejectReason.DUPLICATE_KEY,
        9: RejectReason.WRONG_COLUMN_COUNT,
        10: RejectReason.TOO_LONG,
    }
    assert prepared.rows[ROW].to_list() == [2, 11]
    assert prepared.read == prepared.rows.height + prepared.rejects.height == 10
    by_row = {r[ROW]: r for r in prepared.rejects.iter_rows(named=True)}
    assert by_row[8][REASON] == "会员卡号: duplicate of row 2 (row 2 kept)"
    assert by_row[9][REASON] == "wrong number of columns: the header has 7, this row has 4"
    several = by_row[10]
    assert several[COLUMN] == "手机号"  # the first problem in field order names the column
    assert several[REASON].split("; ") == [
        "手机号: longer than 32 characters",
        "性别: Y is not one of: F, M",
        "生日: not a recognisable date: 1990-13-01",
    ]


def test_messages_follow_the_language(tmp_path: Path) -> None:
    zh = prepare("customers", _file(tmp_path, "c.csv", CUSTOMERS), options=IngestOptions())
    by_row = dict(zip(zh.rejects[ROW].to_list(), zh.rejects[REASON].to_list(), strict=True))
    assert by_row[7] == "「会员卡号」为必填项，不能为空"
    assert by_row[8] == "「会员卡号」与第2行重复（保留第2行）"


def test_the_rejects_file_holds_reasons_and_original_cells(tmp_path: Path) -> None:
    prepared = prepare("customers", _file(tmp_path, "c.csv", CUSTOMERS), options=EN)
    table = rejects_table(prepared.raw, prepared.rejects)
    out = tmp_path / "rejects.csv"
    write_rejects(table, out)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    back = pl.read_csv(raw[3:], infer_schema=False)
    assert back.columns[:4] == ["row_number", "column", "reason_code", "reason"]
    assert back.columns[4:] == ["会员卡号", "姓名", "手机号", "性别", "生日", "营销同意", "备注"]
    assert back["row_number"].to_list() == ["3", "4", "5", "6", "7", "8", "9", "10"]
    row5 = back.row(2, named=True)
    assert (row5["姓名"], row5["生日"], row5["reason_code"]) == ("赵六", "1993-02-30", "bad_date")
    assert counts_by_reason(prepared.rejects)["too_long"] == 2


def test_references_reject_unknown_customers_and_orders(tmp_path: Path) -> None:
    orders = _file(
        tmp_path,
        "o.csv",
        "order no,customer,date,amount\n"
        "O1,C1,2024-01-05,10\n"  # 2 valid
        "O2,NOBODY,2024-01-05,10\n"  # 3 unknown customer
        "O3,C1,2024-01-05,ten\n"  # 4 bad amount
        "O4,C1,someday,10\n",  # 5 bad date
    )
    prepared = prepare("orders", orders, options=REJECT)
    resolved = resolve(prepared, {"customers": known_frame(["C1"], [7])}, REJECT)
    assert _reasons(resolved.rejects) == {
        3: RejectReason.UNKNOWN_CUSTOMER,
        4: RejectReason.BAD_AMOUNT,
        5: RejectReason.BAD_DATE,
    }
    assert resolved.rows["customer_id__pk"].to_list() == [7]
    lines = _file(
        tmp_path,
        "l.csv",
        "order no,line no,qty,amount\n"
        "O1,1,2,5\n"  # 2 valid
        "O9,1,1,5\n"  # 3 unknown order
        "O1,x,1,5\n"  # 4 bad number (line no)
        "O1,2,lots,5\n"  # 5 bad number (quantity)
        "O1,1,3,6\n",  # 6 duplicate key (O1, 1)
    )
    prepared_lines = prepare("order-lines", lines, options=EN)
    resolved_lines = resolve(prepared_lines, {"orders": known_frame(["O1"], [70])}, EN)
    assert _reasons(resolved_lines.rejects) == {
        3: RejectReason.UNKNOWN_ORDER,
        4: RejectReason.BAD_NUMBER,
        5: RejectReason.BAD_NUMBER,
        6: RejectReason.DUPLICATE_KEY,
    }
    assert resolved_lines.rows["quantity"].to_list() == [2000]


def test_unknown_customers_become_stubs_under_the_default_policy(tmp_path: Path) -> None:
    orders = _file(tmp_path, "o.csv", "customer,date,amount\nC1,2024-01-05,1\nC2,2024-01-06,2\n")
    resolved = resolve(prepare("orders", orders), {"customers": known_frame(["C1"], [1])})
    assert resolved.rejects.height == 0
    assert resolved.rows[STUB].to_list() == [False, True]
    assert resolved.stub_customers.to_list() == ["C2"]


def test_unknown_optional_codes_are_kept_null_and_counted(tmp_path: Path) -> None:
    lines = _file(tmp_path, "l.csv", "order no,sku,category,amount\nO1,S1,K1,1\nO1,S9,K9,2\n")
    resolved = resolve(
        prepare("order-lines", lines),
        {
            "orders": known_frame(["O1"], [1]),
            "products": known_frame(["S1"], [11]),
            "categories": known_frame(["K1"], [21]),
        },
    )
    assert resolved.rows["sku__pk"].to_list() == [11, None]
    assert resolved.unresolved == {"sku": 1, "category_code": 1}


def test_derived_keys_keep_identical_purchases_and_survive_reordering(tmp_path: Path) -> None:
    rows = ["C1,2024-01-05,9.90", "C1,2024-01-05,9.90", "C2,2024-01-06,5"]
    first = prepare("orders", _file(tmp_path, "a.csv", "customer,date,amount\n" + "\n".join(rows)))
    shuffled = "customer,date,amount\n" + "\n".join([rows[2], rows[0], rows[1]])
    second = prepare("orders", _file(tmp_path, "b.csv", shuffled))
    keys = first.rows[KEY].to_list()
    assert len(set(keys)) == 3
    assert first.rows[KEY_DERIVED].all()
    assert keys[0].endswith("-0")
    assert keys[1].endswith("-1")
    assert keys[0].split("-")[0] == keys[1].split("-")[0]
    assert set(second.rows[KEY].to_list()) == set(keys)


def test_order_lines_without_numbers_get_stable_numbers(tmp_path: Path) -> None:
    body = ["O1,S1,10", "O1,S2,20", "O2,S1,10", "O1,S1,10"]
    a = prepare("order-lines", _file(tmp_path, "a.csv", "order no,sku,amount\n" + "\n".join(body)))
    reordered = "order no,sku,amount\n" + "\n".join(reversed(body))
    b = prepare("order-lines", _file(tmp_path, "b.csv", reordered))

    def numbered(prepared: object) -> list[tuple[str, int, str, int]]:
        rows = prepared.rows  # type: ignore[attr-defined]
        return sorted(rows.select("order_id", "line_no", "sku", "amount").iter_rows())

    assert numbered(a) == numbered(b)
    assert sorted(a.rows.filter(pl.col("order_id") == "O1")["line_no"].to_list()) == [1, 2, 3]
    partial = "order no,line no,sku,amount\nO1,5,S1,10\nO1,,S2,20\n"
    c = prepare("order-lines", _file(tmp_path, "c.csv", partial))
    assert c.rows["line_no"].to_list() == [5, 6]  # after the file's explicit numbers


def test_hashes_follow_content_not_layout_or_language(tmp_path: Path) -> None:
    chinese = _file(
        tmp_path, "zh.csv", "会员卡号,实收金额,消费日期\nC1,￥12.50,2024年1月5日\n", "gbk"
    )
    english = _file(tmp_path, "en.csv", "order date,amount,customer id\n2024-01-05,12.5,C1\n")
    changed = _file(tmp_path, "x.csv", "order date,amount,customer id\n2024-01-05,12.51,C1\n")
    known = {"customers": known_frame(["C1"], [1])}
    hashes = [
        resolve(prepare("orders", p), known).rows[ROW_HASH][0] for p in (chinese, english, changed)
    ]
    assert hashes[0] == hashes[1] != hashes[2]
    assert len(hashes[0]) == 32


def test_hashing_chunk_by_chunk_gives_the_whole_file_hashes(tmp_path: Path) -> None:
    rows = "\n".join(
        f"C{i % 4},{i // 3 + 1}.{i % 10}0,2024-01-{i % 28 + 1:02d},S{i % 3}" for i in range(23)
    )
    path = _file(tmp_path, "o.csv", f"customer id,amount,order date,store\n{rows}\n")
    known = {"customers": known_frame(["C1", "C2"], [1, 2]), "stores": known_frame(["S1"], [7])}
    prepared = prepare("orders", path)
    whole = resolve(prepared, known)
    unhashed = resolve(prepared, known, hashed=False)
    assert ROW_HASH not in unhashed.rows.columns
    chunks = [with_row_hash(unhashed.rows.slice(o, 5), "orders") for o in range(0, 23, 5)]
    assert pl.concat(chunks).equals(whole.rows)
    assert whole.rows[ROW_HASH].n_unique() == whole.rows.height == 23


def test_a_stub_has_the_hash_of_a_customer_row_holding_only_its_id(tmp_path: Path) -> None:
    only_ids = _file(tmp_path, "c.csv", "customer id,name\nC1,\n")
    resolved = resolve(prepare("customers", only_ids), {})
    assert resolved.rows[ROW_HASH].to_list() == [stub_customer_hash()]


def test_a_user_mapping_feeds_unrecognised_headers(tmp_path: Path) -> None:
    path = _file(tmp_path, "o.csv", "Kunde;Datum;Betrag\nC1;2024-01-05;3\n")
    mapping = _file(tmp_path, "m.csv", "Kunde,customer_id\nDatum,order_date\nBetrag,amount\n")
    prepared = prepare("orders", path, mapping=mapping)
    assert prepared.raw.delimiter == ";"
    assert prepared.rows["amount"].to_list() == [300]


@pytest.mark.parametrize("kind", ["stores", "categories", "products", "events", "contacts"])
def test_each_kind_prepares_a_minimal_file(kind: str, tmp_path: Path) -> None:
    minimal = {
        "stores": "store_code,name\nS1,总店\n",
        "categories": "category_code,necessity,parent\nK1,必需,\nK2,非必需,K1\n",
        "products": "sku,unit_price,category\nP1,¥9.90,K1\n",
        "events": "customer_id,event_type,date\nC1,推荐,2024-01-05\n",
        "contacts": "customer_id,channel,outcome,time\nC1,电话,未接通,2024-01-05 10:00\n",
    }[kind]
    prepared = prepare(kind, _file(tmp_path, "f.csv", minimal))
    assert prepared.rejects.height == 0
    assert prepared.rows.height == prepared.read >= 1


def test_numbers_must_fit_the_store(tmp_path: Path) -> None:
    events = _file(
        tmp_path,
        "e.csv",
        "customer,type,date,score,\n"
        "C1,survey,2024-01-05,40000,\n"  # 2: beyond a small integer
        "C1,survey,2024-01-05,-5,\n"  # 3: scores may be negative
        "C1,survey,2024-01-05,9,\n",
    )
    contacts = _file(
        tmp_path, "k.csv", "customer,channel,outcome,time,duration\nC1,sms,reached,2024-01-05,-3\n"
    )
    prepared = prepare("events", events)
    assert _reasons(prepared.rejects) == {2: RejectReason.BAD_NUMBER}
    assert prepared.rows["score"].to_list() == [-5, 9]
    assert _reasons(prepare("contacts", contacts).rejects) == {2: RejectReason.BAD_NUMBER}

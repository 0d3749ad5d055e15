"""Header normalisation and mapping: synonyms, units, user mapping files, missing columns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from winback.ingest.headers import load_mapping, map_headers, normalise_label
from winback.ingest.messages import FileError, ImportFileError
from winback.schema import CONTRACTS

ORDERS = CONTRACTS["orders"]


@given(st.text(max_size=40))
def test_normalisation_is_idempotent(text: str) -> None:
    once = normalise_label(text)
    assert normalise_label(once) == once


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Order  Date", "order date"),
        ("ORDER_DATE", "order date"),
        ("ｏｒｄｅｒ－ｄａｔｅ", "order date"),  # full-width letters and hyphen
        (" 会员卡号　", "会员卡号"),  # ideographic space
        ("\ufeffcustomer id", "customer id"),  # a BOM stuck to the first header
        ("E-Mail", "e mail"),
    ],
)
def test_spellings_normalise_to_one_form(raw: str, expected: str) -> None:
    assert normalise_label(raw) == expected


def test_chinese_and_english_synonyms_map_and_unknown_columns_are_reported() -> None:
    headers = ("会员卡号", "消费日期", "实收金额（元）", "ORDER NO", "备注", "")
    mapped = map_headers(headers, ORDERS, non_empty_columns=frozenset({4}))
    assert mapped.fields == {"customer_id": 0, "order_date": 1, "amount": 2, "order_id": 3}
    assert mapped.unknown == ("备注",)  # the unnamed, empty column is not worth reporting


def test_the_left_most_of_two_columns_for_one_field_wins() -> None:
    mapped = map_headers(("customer", "date", "amount", "金额"), ORDERS)
    assert mapped.fields["amount"] == 2
    assert mapped.duplicates == ("金额",)


def test_a_missing_required_column_refuses_the_file_naming_it() -> None:
    with pytest.raises(ImportFileError) as caught:
        map_headers(("会员卡号", "实收金额"), ORDERS)
    assert caught.value.code is FileError.MISSING_COLUMNS
    assert "order_date" in caught.value.message("en")
    assert "会员卡号" in caught.value.message("zh")


def test_a_json_mapping_file_overrides_synonyms_and_can_ignore_columns(tmp_path: Path) -> None:
    path = tmp_path / "mapping.json"
    path.write_text(
        json.dumps({"交易额": "amount", "Kunde": "customer_id", "Tag": "order_date", "金额": ""}),
        encoding="utf-8",
    )
    mapping = load_mapping(path, ORDERS)
    mapped = map_headers(("Kunde", "Tag", "交易额", "金额"), ORDERS, mapping)
    assert mapped.fields == {"customer_id": 0, "order_date": 1, "amount": 2}
    assert mapped.ignored == ("金额",)
    assert mapped.unknown == ()


def test_a_csv_mapping_file_in_gbk_works(tmp_path: Path) -> None:
    path = tmp_path / "mapping.csv"
    path.write_bytes("source_header,field\r\n顾客,customer_id\r\n时间,order_date\r\n".encode("gbk"))
    mapped = map_headers(("顾客", "时间", "金额"), ORDERS, load_mapping(path, ORDERS))
    assert mapped.fields == {"customer_id": 0, "order_date": 1, "amount": 2}


def test_a_mapping_to_an_unknown_field_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mapping.json"
    path.write_text('{"x": "price_total"}', encoding="utf-8")
    with pytest.raises(ImportFileError) as caught:
        load_mapping(path, ORDERS)
    assert caught.value.code is FileError.BAD_MAPPING
    assert "price_total" in caught.value.message("en")


def test_no_two_fields_of_a_contract_share_a_spelling_unnoticed() -> None:
    """A synonym naming two fields of one contract would silently feed only the first."""
    for contract in CONTRACTS.values():
        owners: dict[str, set[str]] = {}
        for f in contract.fields:
            for spelling in (f.name, *f.synonyms):
                owners.setdefault(normalise_label(spelling), set()).add(f.name)
        clashes = {s: names for s, names in owners.items() if len(names) > 1}
        assert clashes == {}, (contract.kind, clashes)

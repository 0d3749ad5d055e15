"""Decoding and splitting delimited files: encodings, delimiters, row numbers, field counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from winback.ingest.decode import NFIELDS, ROW, decode_bytes, read_delimited, read_table
from winback.ingest.messages import FileError, ImportFileError

TEXT = "会员卡号,消费日期,实收金额\nVIP1,2024-01-05,12.50\n"


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + TEXT.encode("utf-8"), "utf-8"),
        (b"\xff\xfe" + TEXT.encode("utf-16-le"), "utf-16-le"),
        (b"\xfe\xff" + TEXT.encode("utf-16-be"), "utf-16-be"),
        (TEXT.encode("gbk"), "gb18030"),
        (TEXT.encode("gb18030"), "gb18030"),
    ],
)
def test_every_supported_encoding_decodes_to_the_same_text(raw: bytes, encoding: str) -> None:
    decoded = decode_bytes(raw)
    assert decoded.encoding == encoding
    assert decoded.data.decode("utf-8") == TEXT


def test_a_file_no_encoding_fits_is_refused_naming_the_byte_offset() -> None:
    prefix = "会员卡号,金额\nA,1\n".encode()
    garbage = bytes(range(0x80, 0x100)) + b"\x00\x01\x02\x03" * 64 + bytes(range(0, 0x20)) * 8
    with pytest.raises(ImportFileError) as caught:
        decode_bytes(prefix + garbage)
    assert caught.value.code is FileError.UNDECODABLE
    assert caught.value.params["offset"] == len(prefix)  # 0x80 is the first byte UTF-8 refuses
    assert str(len(prefix)) in caught.value.message("en")
    assert str(len(prefix)) in caught.value.message("zh")


def test_a_broken_utf16_file_reports_its_offset() -> None:
    raw = b"\xff\xfe" + "ab,c\n".encode("utf-16-le") + b"\x00\xdc"  # lone low surrogate
    with pytest.raises(ImportFileError) as caught:
        decode_bytes(raw)
    assert caught.value.params["offset"] == 12


@pytest.mark.parametrize(("delimiter", "fmt"), [(",", "csv"), ("\t", "tsv"), (";", "csv")])
def test_the_delimiter_is_sniffed(delimiter: str, fmt: str) -> None:
    text = delimiter.join(["a", "b", "c"]) + "\n" + delimiter.join(["1", "x,y", "3"]) + "\n"
    if delimiter == ",":
        text = 'a,b,c\n1,"x,y",3\n'
    table = read_delimited(text.encode())
    assert table.delimiter == delimiter
    assert table.file_format == fmt
    assert table.frame.row(0, named=True)["c1"] == "x,y"


def test_row_numbers_are_physical_lines_and_field_counts_are_exact() -> None:
    text = (
        "id,note,amount\r\n"  # row 1
        "1,plain,10\r\n"  # row 2
        "\r\n"  # row 3: blank, skipped
        '2,"two\r\nlines",20\r\n'  # rows 4-5: one record starting on row 4
        "3,short\r\n"  # row 6: 2 fields
        "4,long,40,extra\r\n"  # row 7: 4 fields
        '5,"say ""hi"", ok",50\r\n'  # row 8: escaped quotes and a comma inside quotes
        "6,,\r\n"  # row 9: trailing empty fields are still 3 fields
    )
    table = read_delimited(text.encode())
    frame = table.frame
    assert table.headers == ("id", "note", "amount")
    assert table.blank_rows == 1
    assert frame[ROW].to_list() == [2, 4, 6, 7, 8, 9]
    assert frame[NFIELDS].to_list() == [3, 3, 2, 4, 3, 3]
    assert frame["c1"].to_list() == ["plain", "two\r\nlines", "short", "long", 'say "hi", ok', None]


def test_a_stray_quote_falls_back_to_the_exact_reader() -> None:
    text = 'id,size,amount\n1,12" screen,10\n2,ok,20\n'
    table = read_delimited(text.encode())
    assert table.frame[ROW].to_list() == [2, 3]
    assert table.frame["c1"].to_list() == ['12" screen', "ok"]
    assert table.frame[NFIELDS].to_list() == [3, 3]


def test_rows_of_only_separators_count_as_blank() -> None:
    table = read_delimited(b"a,b\n1,2\n,\n , \n3,4\n")
    assert table.frame[ROW].to_list() == [2, 5]
    assert table.blank_rows == 2


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"\xef\xbb\xbf\r\n")
    with pytest.raises(ImportFileError) as caught:
        read_table(path)
    assert caught.value.code is FileError.EMPTY_FILE


def test_a_missing_file_and_an_old_excel_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError) as caught:
        read_table(tmp_path / "nope.csv")
    assert caught.value.code is FileError.NOT_FOUND
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    with pytest.raises(ImportFileError) as caught:
        read_table(xls)
    assert caught.value.code is FileError.UNSUPPORTED_FORMAT


def test_utf8_chinese_with_a_damaged_byte_is_refused_not_read_as_gbk() -> None:
    good = "会员卡号,姓名\nVIP1,张三\nVIP2,李四\n".encode()
    damaged = good + b"VIP3,\xff\xfe\n"
    with pytest.raises(ImportFileError) as caught:
        decode_bytes(damaged)
    assert caught.value.params["offset"] == len(good) + 5
    assert decode_bytes(good).encoding == "utf-8"

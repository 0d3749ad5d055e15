"""XLSX reading: typed cells as text, sheet row numbers, zip bombs and XML attacks refused."""

from __future__ import annotations

import datetime as dt
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from winback.ingest.decode import ROW, read_table
from winback.ingest.messages import FileError, ImportFileError
from winback.ingest.xlsx import ZipLimits, check_zip, read_xlsx


def _workbook(path: Path) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "订单"
    sheet.append(["会员卡号", "消费日期", "实收金额", "数量"])
    sheet.append(["VIP1", dt.datetime(2024, 1, 5, 10, 30), 12.5, 2.0])
    sheet.append([None, None, None, None])  # a blank sheet row
    sheet.append(["VIP2", 45296, 1234, True])
    book.save(path)
    return path


def test_cells_become_the_text_a_csv_export_would_hold(tmp_path: Path) -> None:
    table = read_table(_workbook(tmp_path / "orders.xlsx"))
    assert table.file_format == "xlsx"
    assert table.sheet == "订单"
    assert table.headers == ("会员卡号", "消费日期", "实收金额", "数量")
    assert table.blank_rows == 1
    assert table.frame[ROW].to_list() == [2, 4]  # sheet rows, the blank row 3 skipped
    assert table.frame.row(0) == (2, 4, "VIP1", "2024-01-05 10:30:00", "12.5", "2")
    assert table.frame.row(1) == (4, 4, "VIP2", "45296", "1234", "true")


def _bomb(path: Path, size: int) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * size)
    return path


def test_a_zip_bomb_is_refused_before_anything_is_decompressed(tmp_path: Path) -> None:
    bomb = _bomb(tmp_path / "bomb.xlsx", 64 << 20)  # 64 MiB of zeros in about 64 KiB
    assert bomb.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(ImportFileError) as caught:
            read_table(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.code is FileError.ZIP_BOMB
    assert "ratio" in caught.value.message("en")
    assert peak < 4 << 20  # far below the 64 MiB it would expand to


def test_declared_totals_above_the_limit_are_refused(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "fine.xlsx")
    check_zip(path)  # a normal workbook passes
    with pytest.raises(ImportFileError) as caught:
        check_zip(path, ZipLimits(max_total_bytes=1000))
    assert caught.value.code is FileError.ZIP_BOMB


def test_entity_expansion_in_the_sheet_xml_is_refused(tmp_path: Path) -> None:
    good = _workbook(tmp_path / "good.xlsx")
    evil = tmp_path / "evil.xlsx"
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    )
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(evil, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                body = data.decode("utf-8").split("?>", 1)[-1]
                data = (laughs + body.replace("</sheetData>", "</sheetData><!--&lol2;-->")).encode()
            dst.writestr(item, data)
    with pytest.raises(ImportFileError) as caught:
        read_xlsx(evil)
    assert caught.value.code is FileError.UNSAFE_XML


def test_a_damaged_workbook_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"not really a zip" * 10)
    with pytest.raises(ImportFileError) as caught:
        read_table(path)
    assert caught.value.code is FileError.BAD_XLSX

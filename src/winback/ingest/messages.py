"""User-facing messages of the importer, Chinese and English, keyed by code.

The core reports codes (``RejectReason`` for rows, ``FileError`` for whole files); these tables
are the only place their wording lives, so the rejects file, the CLI and the web page say the
same thing. Placeholders are ``{name}`` fields filled per row (vectorised) or per file.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from winback.schema import RejectReason

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")


class FileError(StrEnum):
    """Why a whole file was refused (nothing imported)."""

    NOT_FOUND = "not_found"
    UNKNOWN_KIND = "unknown_kind"
    EMPTY_FILE = "empty_file"
    UNDECODABLE = "undecodable"
    UNSUPPORTED_FORMAT = "unsupported_format"
    BAD_XLSX = "bad_xlsx"
    UNSAFE_XML = "unsafe_xml"
    ZIP_BOMB = "zip_bomb"
    MISSING_COLUMNS = "missing_columns"
    BAD_MAPPING = "bad_mapping"
    MIXED_ENCODING = "mixed_encoding"
    UTF16_NO_BOM = "utf16_no_bom"
    HEADER_TOO_LONG = "header_too_long"
    LINE_TOO_LONG = "line_too_long"
    FILE_TOO_LARGE = "file_too_large"
    WRITE_FAILED = "write_failed"


REJECT_MESSAGES: dict[RejectReason, dict[Lang, str]] = {
    RejectReason.MISSING_REQUIRED: {
        "zh": "「{column}」为必填项，不能为空",
        "en": "{column}: a value is required",
    },
    RejectReason.BAD_DATE: {
        "zh": "「{column}」无法识别的日期：{value}",
        "en": "{column}: not a recognisable date: {value}",
    },
    RejectReason.BAD_AMOUNT: {
        "zh": "「{column}」无法识别的金额：{value}",
        "en": "{column}: not a recognisable amount: {value}",
    },
    RejectReason.BAD_NUMBER: {
        "zh": "「{column}」不是有效的数字：{value}",
        "en": "{column}: not a valid number: {value}",
    },
    RejectReason.BAD_CHOICE: {
        "zh": "「{column}」不是可选的值：{value}（可选：{choices}）",
        "en": "{column}: {value} is not one of: {choices}",
    },
    RejectReason.BAD_BOOL: {
        "zh": "「{column}」无法识别的是/否值：{value}",
        "en": "{column}: not a yes/no value: {value}",
    },
    RejectReason.TOO_LONG: {
        "zh": "「{column}」超过{max_length}个字符",
        "en": "{column}: longer than {max_length} characters",
    },
    RejectReason.CONTROL_CHARACTER: {
        "zh": "「{column}」含有控制字符（如NUL），已拒绝：{value}",
        "en": "{column}: holds a control character (e.g. NUL): {value}",
    },
    RejectReason.DATE_OUT_OF_RANGE: {
        "zh": "「{column}」日期超出允许范围（{earliest}至{latest}）：{value}",
        "en": "{column}: date outside {earliest} .. {latest}: {value}",
    },
    RejectReason.UNKNOWN_CODE: {
        "zh": "「{column}」不在本企业的代码表中（也不是已知的同义词）：{value}",
        "en": "{column}: not a code of this business (nor a known synonym): {value}",
    },
    RejectReason.DUPLICATE_KEY: {
        "zh": "「{column}」与第{first_row}行重复（保留第{first_row}行）",
        "en": "{column}: duplicate of row {first_row} (row {first_row} kept)",
    },
    RejectReason.UNKNOWN_CUSTOMER: {
        "zh": "「{column}」客户不存在：{value}",
        "en": "{column}: unknown customer {value}",
    },
    RejectReason.UNKNOWN_ORDER: {
        "zh": "「{column}」订单不存在：{value}",
        "en": "{column}: unknown order {value}",
    },
    RejectReason.WRONG_COLUMN_COUNT: {
        "zh": "列数不符：表头有{expected}列，此行有{found}列",
        "en": "wrong number of columns: the header has {expected}, this row has {found}",
    },
}

FILE_MESSAGES: dict[FileError, dict[Lang, str]] = {
    FileError.NOT_FOUND: {"zh": "找不到文件：{path}", "en": "file not found: {path}"},
    FileError.UNKNOWN_KIND: {
        "zh": "未知的导入类型：{kind}（可选：{kinds}）",
        "en": "unknown import kind: {kind} (choose one of: {kinds})",
    },
    FileError.EMPTY_FILE: {
        "zh": "文件为空或没有表头",
        "en": "the file is empty or has no header row",
    },
    FileError.UNDECODABLE: {
        "zh": (
            "无法识别文件编码：第{offset}字节（0x{byte}）起既不是UTF-8也不是GBK/GB18030，"
            "也不符合其他常见编码。请另存为UTF-8或GBK后重试"
        ),
        "en": (
            "cannot decode the file: at byte offset {offset} (0x{byte}) it is neither UTF-8 "
            "nor GBK/GB18030, and no other common encoding fits. Save it as UTF-8 or GBK"
        ),
    },
    FileError.UNSUPPORTED_FORMAT: {
        "zh": "不支持的文件格式（{detail}）：请另存为CSV或XLSX",
        "en": "unsupported file format ({detail}): save it as CSV or XLSX",
    },
    FileError.BAD_XLSX: {
        "zh": "无法读取Excel文件：{detail}",
        "en": "cannot read the Excel file: {detail}",
    },
    FileError.UNSAFE_XML: {
        "zh": "Excel文件包含不安全的XML结构（{detail}），已拒绝",
        "en": "the Excel file contains unsafe XML ({detail}) and was refused",
    },
    FileError.ZIP_BOMB: {
        "zh": "Excel文件解压后过大或压缩比异常（{detail}），已拒绝",
        "en": "the Excel file would expand too much ({detail}) and was refused",
    },
    FileError.MISSING_COLUMNS: {
        "zh": "缺少必需的列：{columns}。文件中的列：{found}。可用 --mapping 指定列对应关系",
        "en": (
            "required columns missing: {columns}. Columns in the file: {found}. "
            "Use --mapping to say which column is which"
        ),
    },
    FileError.BAD_MAPPING: {
        "zh": "列映射文件有误：{detail}",
        "en": "the column mapping file is invalid: {detail}",
    },
    FileError.MIXED_ENCODING: {
        "zh": (
            "文件的行使用了不同的编码（UTF-8与GBK混合）：第{line}行与第{first}行不一致。"
            "请统一另存为UTF-8"
        ),
        "en": (
            "the file's rows use different encodings (UTF-8 and GBK mixed): line {line} "
            "disagrees with line {first}. Save the whole file as UTF-8"
        ),
    },
    FileError.UTF16_NO_BOM: {
        "zh": (
            "文件似乎是没有字节顺序标记（BOM）的UTF-16，且无法按UTF-16解码：{detail}。请另存为UTF-8"
        ),
        "en": (
            "the file looks like UTF-16 without a byte-order mark and does not decode as "
            "UTF-16: {detail}. Save it as UTF-8"
        ),
    },
    FileError.HEADER_TOO_LONG: {
        "zh": "第{column}列的表头超过{limit}个字符：{header}",
        "en": "the header of column {column} is longer than {limit} characters: {header}",
    },
    FileError.LINE_TOO_LONG: {
        "zh": "第{line}行超过{limit}字节，单元格过长，已拒绝整个文件（未读入内存）",
        "en": (
            "line {line} is longer than {limit} bytes (a cell far too long); the file was "
            "refused without reading it into memory"
        ),
    },
    FileError.FILE_TOO_LARGE: {
        "zh": "文件过大：{size}字节，上限{limit}字节",
        "en": "the file is too large: {size} bytes, the limit is {limit}",
    },
    FileError.WRITE_FAILED: {
        "zh": "写入数据库失败，本批次已标记为失败：{detail}",
        "en": "writing to the database failed and the batch was marked failed: {detail}",
    },
}


class ImportFileError(Exception):
    """A whole file is refused; ``code`` says why and ``params`` fill the message."""

    def __init__(self, code: FileError, **params: object) -> None:
        self.code = code
        self.params = params
        super().__init__(self.message("en"))

    def message(self, lang: Lang = "zh") -> str:
        return FILE_MESSAGES[self.code][lang].format(**{k: str(v) for k, v in self.params.items()})


def check_lang(lang: str) -> Lang:
    if lang == "zh":
        return "zh"
    if lang == "en":
        return "en"
    raise ValueError(f"language must be 'zh' or 'en', not {lang!r}")

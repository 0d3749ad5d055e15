"""How real exports spell dates, amounts and codes: mixed on purpose, always valid.

Every style produced here is one the importer accepts (see ``docs`` of the ingest layer):
ISO ``2024-01-05 13:45:00``, ``2024/1/5 13:45``, ``20240105``, ``2024年1月5日`` and Excel serial
numbers (days since 1899-12-30, the fraction is the time of day); amounts with or without a
currency sign and thousands separators, refunds as ``-12.50`` or ``(12.50)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import polars as pl

DATETIME_STYLES: tuple[str, ...] = (
    "%Y-%m-%d %H:%M:%S",
    "%Y/%-m/%-d %H:%M",
    "%Y%m%d",
    "%Y年%-m月%-d日",
)
DATE_STYLES: tuple[str, ...] = ("%Y-%m-%d", "%Y/%-m/%-d", "%Y%m%d", "%Y年%-m月%-d日")
EXCEL_EPOCH_OFFSET = 25569  # 1970-01-01 as an Excel serial day (1900 date system)

MONEY_PLAIN, MONEY_GROUPED, MONEY_FULLWIDTH_YUAN, MONEY_FULLWIDTH_GROUPED, MONEY_YEN_GROUPED = (
    range(5)
)
REFUND_MINUS, REFUND_PARENTHESES = 0, 1


def dates(absolute_day: npt.NDArray[np.integer], name: str = "date") -> pl.Series:
    """Absolute days (since 1970-01-01) as a Date series."""
    return pl.Series(name, absolute_day.astype(np.int32)).cast(pl.Date)


def datetimes(
    absolute_day: npt.NDArray[np.integer], minute: npt.NDArray[np.integer], name: str = "at"
) -> pl.Series:
    micros = (absolute_day.astype(np.int64) * 1440 + minute.astype(np.int64)) * 60_000_000
    return pl.Series(name, micros).cast(pl.Datetime("us"))


def styled(values: pl.Series, style: npt.NDArray[np.integer], formats: Sequence[str]) -> pl.Series:
    """``values`` (dates or datetimes) formatted with ``formats[style]`` row by row.

    Each style formats only its own rows (``when/then`` would format every row every way).
    """
    text = pl.repeat(None, len(values), dtype=pl.String, eager=True).alias(values.name)
    for index, fmt in enumerate(formats):
        rows = np.flatnonzero(style == index)
        if rows.size:
            text = text.scatter(rows, values.gather(rows).dt.strftime(fmt))
    return text


def excel_serial(absolute_day: pl.Expr, minute: pl.Expr) -> pl.Expr:
    """Excel serial date-time with six decimals (about 0.1 s); whole days print bare."""
    serial = (absolute_day + EXCEL_EPOCH_OFFSET).cast(pl.String)
    millionths = (minute * 1_000_000 / 1440).round(0).cast(pl.Int64)
    fraction = pl.concat_str([serial, pl.lit("."), millionths.cast(pl.String).str.zfill(6)])
    return pl.when(minute == 0).then(serial).otherwise(fraction)


def concat(*parts: pl.Series | str, name: str = "text") -> pl.Series:
    """Row-wise string concatenation of series and literal strings."""
    exprs = [pl.lit(p) if isinstance(p, str) else p for p in parts]
    return pl.select(pl.concat_str(exprs).alias(name)).to_series()


def _digits(values: npt.NDArray[np.integer], width: int = 0) -> pl.Series:
    text = pl.Series(values).cast(pl.String)
    return text.str.zfill(width) if width else text


def _grouped(yuan: npt.NDArray[np.int64]) -> pl.Series:
    """Whole yuan with thousands separators (below a billion; larger amounts stay plain)."""
    ones = _digits(yuan % 1000, 3)
    thousands = (yuan // 1000) % 1000
    millions = yuan // 1_000_000
    small = concat(_digits(thousands), ",", ones)
    large = concat(_digits(millions), ",", _digits(thousands, 3), ",", ones)
    return pl.select(
        pl.when(pl.Series(millions > 0)).then(large).otherwise(small).alias("grouped")
    ).to_series()


def money(
    cents: npt.NDArray[np.integer],
    style: npt.NDArray[np.integer],
    refund_style: npt.NDArray[np.integer] | int,
    name: str = "amount",
) -> pl.Series:
    """Integer cents as text in the given style; negative amounts use the refund style."""
    size = np.abs(cents.astype(np.int64))
    yuan = size // 100
    fraction = _digits(size % 100, 2)
    text = concat(_digits(yuan), ".", fraction, name=name)
    negative = cents < 0
    wants_groups = np.isin(style, (MONEY_GROUPED, MONEY_FULLWIDTH_GROUPED, MONEY_YEN_GROUPED))
    grouped_rows = np.flatnonzero(
        wants_groups & (yuan >= 1000) & (yuan < 1_000_000_000) & ~negative
    )
    if grouped_rows.size:
        body = concat(_grouped(yuan[grouped_rows]), ".", fraction.gather(grouped_rows))
        text = text.scatter(grouped_rows, body)
    sign_index = np.select(
        [
            style == MONEY_FULLWIDTH_YUAN,
            style == MONEY_FULLWIDTH_GROUPED,
            style == MONEY_YEN_GROUPED,
        ],
        [0, 0, 1],
        -1,
    )
    sign_index = np.where(negative, -1, sign_index)
    signed_rows = np.flatnonzero(sign_index >= 0)
    if signed_rows.size:
        sign = lookup(("￥", "¥"), sign_index[signed_rows], "sign")
        text = text.scatter(signed_rows, concat(sign, text.gather(signed_rows)))
    refund_rows = np.flatnonzero(negative)
    if refund_rows.size:
        parenthesised = (
            np.broadcast_to(refund_style, cents.shape)[refund_rows] == REFUND_PARENTHESES
        )
        plain = text.gather(refund_rows)
        open_ = lookup(("-", "("), parenthesised.astype(np.int64), "open")
        close = lookup(("", ")"), parenthesised.astype(np.int64), "close")
        text = text.scatter(refund_rows, concat(open_, plain, close))
    return text


def lookup(words: Sequence[str], index: npt.NDArray[np.integer], name: str) -> pl.Series:
    """``words[index]`` as a string series; negative indexes become nulls."""
    table = pl.Series(name, [*words, None], dtype=pl.String)
    safe = np.where(index >= 0, index, len(words)).astype(np.int64)
    return table.gather(pl.Series(safe))


def padded_ids(prefix: str, number: npt.NDArray[np.integer], width: int, name: str) -> pl.Series:
    digits = pl.Series(name, number.astype(np.int64)).cast(pl.String).str.zfill(width)
    return (prefix + digits).alias(name)


def choose(rng: np.random.Generator, weights: Sequence[float], size: int) -> npt.NDArray[np.int64]:
    p = np.asarray(weights, dtype=np.float64)
    return rng.choice(p.size, size=size, p=p / p.sum()).astype(np.int64)

"""Cell parsers: round trips written -> parsed for every supported spelling (hypothesis)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from winback.ingest.parse import (
    DateOrder,
    decide_date_order,
    parse_bool,
    parse_choice,
    parse_decimal,
    parse_int,
    parse_list,
    parse_money,
    parse_text,
    parse_timestamp,
)
from winback.schema import CONTACT_OUTCOMES

TZ = "Asia/Shanghai"
EXCEL_EPOCH = dt.datetime(1899, 12, 30)
FULL_WIDTH = str.maketrans("0123456789.,-", "０１２３４５６７８９．，－")


def _series(*values: str | None) -> pl.Series:
    return pl.Series("v", list(values), dtype=pl.String)


def _utc(local: dt.datetime) -> dt.datetime:
    """Business-local wall time -> UTC, by the standard library (independent of Polars)."""
    return local.replace(tzinfo=ZoneInfo(TZ)).astimezone(dt.UTC)


# Later than China's last daylight-saving year (1991), so every wall time exists exactly once.
moments = st.datetimes(min_value=dt.datetime(1992, 1, 1), max_value=dt.datetime(2099, 12, 31))
days = st.dates(min_value=dt.date(1930, 1, 1), max_value=dt.date(2099, 12, 31))


def _serial(moment: dt.datetime) -> str:
    delta = moment - EXCEL_EPOCH
    return repr(delta.days + delta.seconds / 86400)


TIMESTAMP_WRITERS: dict[str, Callable[[dt.datetime], str]] = {
    "iso space": lambda m: m.strftime("%Y-%m-%d %H:%M:%S"),
    "iso T": lambda m: m.strftime("%Y-%m-%dT%H:%M:%S"),
    "iso fraction": lambda m: m.strftime("%Y-%m-%dT%H:%M:%S.%f"),
    "slashes": lambda m: f"{m.year}/{m.month}/{m.day} {m.hour}:{m.minute:02d}:{m.second:02d}",
    "dashes unpadded": lambda m: f"{m.year}-{m.month}-{m.day} {m:%H:%M:%S}",
    "compact": lambda m: m.strftime("%Y%m%d%H%M%S"),
    "chinese": lambda m: f"{m.year}年{m.month}月{m.day}日 {m.hour}时{m.minute}分{m.second}秒",
    "full width": lambda m: m.strftime("%Y-%m-%d %H:%M:%S").translate(FULL_WIDTH),
    "excel serial": _serial,
}


@pytest.mark.parametrize("style", TIMESTAMP_WRITERS)
@given(moment=moments)
def test_timestamps_round_trip_in_every_written_style(style: str, moment: dt.datetime) -> None:
    moment = moment.replace(microsecond=0)
    parsed = parse_timestamp(_series(TIMESTAMP_WRITERS[style](moment)), order="mdy", time_zone=TZ)
    assert parsed.bad.to_list() == [False]
    assert parsed.utc.to_list() == [_utc(moment)]
    assert parsed.local_date.to_list() == [moment.date()]


@given(moment=moments, offset_minutes=st.integers(-12 * 60, 14 * 60).map(lambda m: m - m % 15))
def test_written_utc_offsets_are_honoured(moment: dt.datetime, offset_minutes: int) -> None:
    moment = moment.replace(microsecond=0)
    sign = "+" if offset_minutes >= 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    text = f"{moment:%Y-%m-%dT%H:%M:%S}{sign}{hours:02d}:{minutes:02d}"
    parsed = parse_timestamp(_series(text), order="mdy", time_zone=TZ)
    expected = (moment - dt.timedelta(minutes=offset_minutes)).replace(tzinfo=dt.UTC)
    assert parsed.utc.to_list() == [expected]


DATE_WRITERS: dict[str, Callable[[dt.date], str]] = {
    "iso": lambda d: d.isoformat(),
    "slashes": lambda d: f"{d.year}/{d.month}/{d.day}",
    "dashes unpadded": lambda d: f"{d.year}-{d.month}-{d.day}",
    "dots": lambda d: f"{d.year}.{d.month}.{d.day}",
    "compact": lambda d: d.strftime("%Y%m%d"),
    "chinese": lambda d: f"{d.year}年{d.month}月{d.day}日",
    "excel serial": lambda d: str((d - EXCEL_EPOCH.date()).days),
}


@pytest.mark.parametrize("style", DATE_WRITERS)
@given(day=days)
def test_dates_round_trip_in_every_written_style(style: str, day: dt.date) -> None:
    parsed = parse_timestamp(_series(DATE_WRITERS[style](day)), order="mdy", time_zone=TZ)
    assert parsed.local_date.to_list() == [day]
    assert parsed.utc.to_list() == [_utc(dt.datetime(day.year, day.month, day.day))]


@pytest.mark.parametrize(("order", "template"), [("dmy", "{d}/{m}/{y}"), ("mdy", "{m}/{d}/{y}")])
@given(day=days)
def test_day_month_year_styles_round_trip_once_the_order_is_known(
    order: DateOrder, template: str, day: dt.date
) -> None:
    text = template.format(d=day.day, m=day.month, y=day.year)
    parsed = parse_timestamp(_series(text), order=order, time_zone=TZ)
    assert parsed.local_date.to_list() == [day]


@given(st.lists(days, min_size=1, max_size=20))
def test_the_day_month_order_is_decided_once_from_the_values(sample: list[dt.date]) -> None:
    written = _series(*(f"{d.day:02d}/{d.month:02d}/{d.year}" for d in sample))
    decision = decide_date_order([written], default="mdy")
    if any(d.day > 12 for d in sample):
        assert (decision.order, decision.ambiguous) == ("dmy", False)
        parsed = parse_timestamp(written, order="dmy", time_zone=TZ)
        assert parsed.local_date.to_list() == sample
    else:
        assert (decision.order, decision.ambiguous) == ("mdy", True)


def test_the_order_decision_reports_conflicts_and_files_without_such_dates() -> None:
    conflicting = decide_date_order([_series("13/01/2024", "01/13/2024", "14/02/2024")])
    assert (conflicting.order, conflicting.conflicting) == ("dmy", True)
    assert decide_date_order([_series("2024-01-05", None)]).order is None
    assert decide_date_order([]).order is None


@pytest.mark.parametrize(
    "text",
    ["2024-02-30", "2023-02-29", "2024-13-01", "2024-01-05 25:00", "abc", "2024", "45296x", "1/2"],
)
def test_impossible_or_foreign_dates_are_errors(text: str) -> None:
    parsed = parse_timestamp(_series(text, None), order="mdy", time_zone=TZ)
    assert parsed.bad.to_list() == [True, False]
    assert parsed.utc.to_list() == [None, None]


def test_excel_serial_examples() -> None:
    parsed = parse_timestamp(_series("45292", "45296.5", "45296.75"), order="mdy", time_zone=TZ)
    assert parsed.local_date.to_list() == [
        dt.date(2024, 1, 1),
        dt.date(2024, 1, 5),
        dt.date(2024, 1, 5),
    ]
    assert parsed.utc.to_list()[1] == dt.datetime(2024, 1, 5, 4, tzinfo=dt.UTC)  # noon in UTC+8


def _money_styles(cents: int) -> dict[str, str]:
    sign = "-" if cents < 0 else ""
    yuan, fen = divmod(abs(cents), 100)
    plain = f"{yuan}.{fen:02d}"
    grouped = f"{yuan:,}.{fen:02d}"
    styles = {
        "plain": sign + plain,
        "grouped": sign + grouped,
        "yen": ("-¥" if cents < 0 else "¥") + grouped,
        "full width yen": ("￥-" if cents < 0 else "￥") + grouped,
        "rmb": f"RMB {sign}{plain}",
        "yuan": f"{sign}{plain}元",
        "full width digits": (sign + grouped).translate(FULL_WIDTH),
        "short fraction": sign + (f"{yuan}.{fen // 10}" if fen % 10 == 0 else plain),
        "whole": sign + (str(yuan) if fen == 0 else plain),
    }
    if cents < 0:
        styles["parentheses"] = f"({grouped})"
        styles["yen parentheses"] = f"¥({plain})"
    return styles


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_amounts_round_trip_in_every_written_style(cents: int) -> None:
    styles = _money_styles(cents)
    parsed = parse_money(_series(*styles.values()))
    assert dict(zip(styles, parsed.values.to_list(), strict=True)) == dict.fromkeys(styles, cents)
    assert not parsed.bad.any()


@pytest.mark.parametrize(
    ("text", "cents"),
    [("12.345", 1235), ("12.3449", 1234), ("-0.005", -1), ("33.330000000000005", 3333), (".5", 50)],
)
def test_extra_decimals_round_half_away_from_zero(text: str, cents: int) -> None:
    assert parse_money(_series(text)).values.to_list() == [cents]


@pytest.mark.parametrize("text", ["12,50", "1,23,456", "abc", "-", "(-3)", "1e5", "99999999999999"])
def test_unreadable_amounts_are_errors_not_guesses(text: str) -> None:
    parsed = parse_money(_series(text))
    assert parsed.values.to_list() == [None]
    assert parsed.bad.to_list() == [True]


def test_numbers_quantities_and_their_errors() -> None:
    ints = parse_int(_series("12", "12.0", "1,234", "-1", "1.5", "x", None))
    assert ints.values.to_list() == [12, 12, 1234, None, None, None, None]
    assert ints.bad.to_list() == [False, False, False, True, True, True, False]
    quantities = parse_decimal(_series("1.5", "-2", "0.0005", "１", "many"))
    assert quantities.values.to_list() == [1500, -2000, 1, 1000, None]


def test_yes_no_and_choices_use_the_schema_spellings() -> None:
    flags = parse_bool(_series("是", "否", "TRUE", "n", "1.0", "maybe"))
    assert flags.values.to_list() == [True, False, True, False, True, None]
    assert flags.bad.to_list() == [False] * 5 + [True]
    outcomes = parse_choice(
        _series("未接通", "Call Back", "call_back", "DNC", "lost"), CONTACT_OUTCOMES
    )
    assert outcomes.values.to_list() == [
        "not_reached",
        "call_back",
        "call_back",
        "do_not_contact",
        None,
    ]


def test_text_undoes_spreadsheet_disguises_and_lists_split() -> None:
    assert parse_text(_series("'=SUM(A1)", '="00123"', "'plain")).values.to_list() == [
        "=SUM(A1)",
        "00123",
        "'plain",
    ]
    assert parse_list(_series("a, b；c、d|e", None)).values.to_list() == [
        ["a", "b", "c", "d", "e"],
        None,
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1949-05-01", dt.date(1949, 5, 1)),
        ("01/05/1949", dt.date(1949, 5, 1)),
        ("1986-05-04", dt.date(1986, 5, 4)),
        ("1991-04-14 00:30", dt.date(1991, 4, 14)),
    ],
)
def test_a_day_whose_midnight_was_skipped_by_daylight_saving_still_parses(
    text: str, expected: dt.date
) -> None:
    parsed = parse_timestamp(_series(text), order="dmy", time_zone=TZ)
    assert parsed.local_date.to_list() == [expected]

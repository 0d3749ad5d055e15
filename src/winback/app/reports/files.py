"""The reports page's services: which months have a report, and the report files (R8).

Reports are made by the same code as ``winback report`` (:mod:`winback.app.reports.service`) and
kept where that command writes them (``WINBACK_DATA_DIR/reports/report-YYYY-MM-LANG.FMT``), so
a report made by the monthly job is served as it is, and one made here is there for the CLI.
A cached file is reused until it is stale or an admin or supervisor asks for it to be made
again (after late contacts, for instance). A file is stale when an analysis was run (or run
again) after it was made, and a PDF also when it does not embed the Chinese font (one made on a
machine without it, or with another font than today's): a stale file is made again before it
is served, so a reader never gets yesterday's figures or a PDF of empty boxes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from django.db.models import Max
from django.utils import timezone

from winback import periods
from winback.app.reports.service import FORMATS, LANGS, default_path, write_report
from winback.reporting.fonts import MissingCJKFont, check_pdf
from winback.reporting.metrics import month_key
from winback.store.accounts.models import AuditLog, User
from winback.store.analysis.models import AnalysisRun

CONTENT_TYPES = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class NoReportMonth(LookupError):
    """No analysis closes this month, so there is no report for it."""


@dataclass(frozen=True)
class MonthRow:
    month: date
    key: str  # YYYY-MM
    as_of: date  # the analysis the report is built on
    cached: dict[str, datetime]  # "zh.html" -> when the cached file was made


def report_months() -> list[MonthRow]:
    """Months with an analysis dated inside them (or on the next month's first day), newest
    first: the months ``winback report --month`` can make a report for."""
    latest: dict[str, date] = {}
    for as_of in AnalysisRun.objects.order_by("as_of").values_list("as_of", flat=True):
        latest[month_key(as_of)] = as_of
    rows = []
    for key in sorted(latest, reverse=True):
        month = parse_month(key)
        rows.append(MonthRow(month, key, latest[key], _cached(month)))
    return rows


def parse_month(key: str) -> date:
    try:
        return periods.parse_month(key)
    except ValueError:
        raise NoReportMonth(key) from None


def _latest_analysis() -> float | None:
    """When the newest analysis was made (or made again), as a file-time stamp."""
    made = AnalysisRun.objects.aggregate(made=Max("created_at"))["made"]
    return made.timestamp() if made is not None else None


def is_fresh(path: Path, lang: str, fmt: str, *, check_font: bool = True) -> bool:
    """Whether a cached report file may be served as it is (see the module docstring)."""
    if not path.is_file():
        return False
    latest = _latest_analysis()
    if latest is not None and path.stat().st_mtime < latest:
        return False
    if fmt == "pdf" and check_font:
        try:
            check_pdf(path.read_bytes(), lang)
        except (MissingCJKFont, ValueError, OSError):
            return False
    return True


def _cached(month: date) -> dict[str, datetime]:
    found = {}
    for lang in LANGS:
        for fmt in FORMATS:
            path = default_path(month, lang, fmt)
            if is_fresh(path, lang, fmt, check_font=False):
                stamp = datetime.fromtimestamp(
                    path.stat().st_mtime, tz=timezone.get_current_timezone()
                )
                found[f"{lang}.{fmt}"] = stamp
    return found


def check_month(key: str) -> date:
    month = parse_month(key)
    if not any(row.key == key for row in report_months()):
        raise NoReportMonth(key)
    return month


def report_file(month: date, lang: str, fmt: str) -> Path:
    """The month's report in ``lang`` and ``fmt``: the cached file while it is fresh, else made
    now and cached (a PDF that cannot embed the Chinese font raises
    :class:`~winback.reporting.fonts.MissingCJKFont`)."""
    if lang not in LANGS or fmt not in FORMATS:
        raise NoReportMonth(f"{lang}.{fmt}")
    path = default_path(month, lang, fmt)
    if not is_fresh(path, lang, fmt):
        write_report(month, lang, fmt, path)
    return path


def forget(month: date) -> int:
    """Delete the month's cached files, so the next request makes them again."""
    removed = 0
    for lang in LANGS:
        for fmt in FORMATS:
            path = default_path(month, lang, fmt)
            if path.is_file():
                path.unlink()
                removed += 1
    return removed


def audit_download(user: User, month: date, lang: str, fmt: str, size: int) -> None:
    AuditLog.objects.create(
        user=user,
        username=user.get_username(),
        action="export_report",
        object_type="monthly_report",
        object_id=f"{month:%Y-%m}",
        detail={"lang": lang, "format": fmt, "bytes": size},
    )

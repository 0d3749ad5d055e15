"""Reports page (supervisors and admins): months with a monthly report, the HTML report inline
(zh/en) and downloads as HTML, PDF or XLSX, made on demand and cached; downloads are audited,
so they are POSTs (buttons): a GET never writes (docs/decisions/0013-get-never-writes.md)."""

from __future__ import annotations

import logging
from typing import cast

from csp.decorators import csp_replace
from django.contrib import messages
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponseBase,
    HttpResponseNotAllowed,
)
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from winback.app.accounts.permissions import staff_required
from winback.app.reports import files as svc
from winback.app.reports.service import FORMATS, LANGS, NoAnalysisForMonth
from winback.reporting.fonts import MissingCJKFont
from winback.store.accounts.models import User

logger = logging.getLogger(__name__)


def _default_lang() -> str:
    return "zh" if (get_language() or "zh-hans").startswith("zh") else "en"


@staff_required
@require_GET
def reports(request: HttpRequest) -> HttpResponseBase:
    context = {
        "months": svc.report_months(),
        "formats": FORMATS,
        "languages": (("zh", "中文"), ("en", "English")),
    }
    return render(request, "workbench/reports/reports.html", context)


@staff_required
@require_GET
def report(request: HttpRequest, month: str) -> HttpResponseBase:
    try:
        day = svc.check_month(month)
    except svc.NoReportMonth:
        raise Http404 from None
    lang = request.GET.get("lang") or _default_lang()
    if lang not in ("zh", "en"):
        lang = _default_lang()
    context = {"month": month, "day": day, "lang": lang, "formats": FORMATS}
    return render(request, "workbench/reports/report.html", context)


# The HTML report is a self-contained file (its styles inline, so it opens anywhere once
# downloaded) shown in the reports page's frame: inline styles are allowed for it alone, with
# no script of any kind, and only this site may frame it.
REPORT_CSP = {
    "default-src": ["'none'"],
    "script-src": ["'none'"],
    "style-src": ["'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'", "data:"],
    "connect-src": ["'none'"],
    "frame-src": ["'none'"],
    "frame-ancestors": ["'self'"],
    "form-action": ["'none'"],
}


@staff_required
@require_http_methods(["GET", "POST"])
@xframe_options_sameorigin
@csp_replace(REPORT_CSP)  # type: ignore[arg-type]  # django-csp types a view as (request)
def report_file(request: HttpRequest, month: str, lang: str, fmt: str) -> HttpResponseBase:
    """GET ``?inline=1``: the HTML report in the page's frame (viewing, not exporting).
    POST: the file as a download, with its audit row."""
    try:
        day = svc.check_month(month)
    except svc.NoReportMonth:
        raise Http404 from None
    if lang not in LANGS or fmt not in FORMATS:
        raise Http404
    inline = request.method == "GET"
    if inline and (fmt != "html" or request.GET.get("inline") != "1"):
        return HttpResponseNotAllowed(["POST"])  # a download is audited: the buttons POST
    try:
        path = svc.report_file(day, lang, fmt)
    except NoAnalysisForMonth:
        raise Http404 from None
    except MissingCJKFont as exc:  # never a PDF of empty boxes: say why there is none
        messages.error(
            request,
            _(
                "The PDF was not made: the server has no Chinese font to embed, so its "
                "Chinese text would print as empty boxes. Ask the administrator to install "
                "the font (see the reports documentation)."
            ),
        )
        logger.error("report PDF refused: %s", exc)
        return redirect("report", month=month)
    if not inline:
        svc.audit_download(cast(User, request.user), day, lang, fmt, path.stat().st_size)
    return FileResponse(
        path.open("rb"),
        as_attachment=not inline,
        filename=f"winback-report-{month}-{lang}.{fmt}",
        content_type=svc.CONTENT_TYPES[fmt],
    )


@staff_required
@require_POST
def report_refresh(request: HttpRequest, month: str) -> HttpResponseBase:
    try:
        day = svc.check_month(month)
    except svc.NoReportMonth:
        raise Http404 from None
    svc.forget(day)
    messages.success(request, _("The report will be made again from the current data."))
    return redirect("report", month=month)

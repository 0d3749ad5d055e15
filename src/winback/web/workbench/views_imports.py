"""Import pages (R1): upload, column-mapping preview, background run with progress, summary,
rejects download and the history of import batches. Admins import; supervisors see the history.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from winback.app.accounts.permissions import staff_required
from winback.app.imports import uploads as svc
from winback.ingest.headers import IGNORE
from winback.ingest.messages import ImportFileError
from winback.store.accounts.models import Role, User
from winback.store.imports.models import ImportKind

View = TypeVar("View", bound=Callable[..., HttpResponseBase])
IGNORE_CHOICE = "__ignore__"


def is_admin(user: User) -> bool:
    return bool(user.is_superuser or user.role == Role.ADMIN)


def admin_required(view: View) -> View:
    """Login, then 403 for agents and supervisors: imports and settings are for admins."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not is_admin(cast(User, request.user)):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return cast(View, login_required(wrapped))


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _lang() -> str:
    return "zh" if (get_language() or "zh-hans").startswith("zh") else "en"


class UploadForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("What the file holds"),
        choices=[(k, ImportKind(k).label) for k in svc.UPLOAD_KINDS],
        initial="orders",
    )
    file = forms.FileField(
        label=gettext_lazy("File (CSV, TSV or XLSX)"),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(svc.UPLOAD_SUFFIXES)}),
    )


@staff_required
@require_http_methods(["GET", "POST"])
def imports(request: HttpRequest) -> HttpResponseBase:
    """Upload form (admins) and the import history (admins and supervisors)."""
    admin = is_admin(_user(request))
    form = UploadForm()
    if request.method == "POST":
        if not admin:
            raise PermissionDenied
        try:
            svc.check_upload_size(int(request.META.get("CONTENT_LENGTH") or 0))
        except svc.UploadRefused as exc:
            messages.error(request, exc.message)
            return redirect("imports")
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            uploaded = form.cleaned_data["file"]
            try:
                upload = svc.save_upload(
                    _user(request), form.cleaned_data["kind"], uploaded.name, uploaded.chunks()
                )
            except svc.UploadRefused as exc:
                form.add_error("file", exc.message)
            else:
                return redirect("import_preview", token=upload.token)
    page = svc.history(request.GET.get("page"))
    rows = [(b, svc.display_name(b)) for b in page.object_list]
    context = {"form": form, "admin": admin, "page": page, "rows": rows}
    return render(request, "workbench/imports/imports.html", context)


def _upload(token: str) -> svc.Upload:
    try:
        return svc.load_upload(token)
    except svc.UploadNotFound:
        raise Http404 from None


def _overrides_from(request: HttpRequest, preview: svc.Preview) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for column in preview.columns:
        choice = request.POST.get(f"map-{column.index}", "")
        if choice == IGNORE_CHOICE:
            overrides[column.header] = IGNORE
        elif choice in preview.fields:
            overrides[column.header] = choice
    return overrides


@admin_required
@require_http_methods(["GET", "POST"])
def import_preview(request: HttpRequest, token: str) -> HttpResponseBase:
    """The column mapping the importer will apply; change it, then run the import."""
    upload = _upload(token)
    lang = _lang()
    if request.method == "POST":
        current = svc.preview(upload, lang)
        try:
            upload = svc.set_overrides(upload, _overrides_from(request, current))
        except ImportFileError as exc:
            messages.error(request, exc.message(svc._lang(lang)))
            return redirect("import_preview", token=token)
        if request.POST.get("action") == "run":
            checked = svc.preview(upload, lang)
            if not checked.can_run:
                messages.error(request, _("Map every required column before running the import."))
                return redirect("import_preview", token=token)
            try:
                svc.start_import(
                    upload,
                    _user(request),
                    lang=lang,
                    dry_run=bool(request.POST.get("dry_run")),
                    replace=bool(request.POST.get("replace")),
                )
            except svc.JobBusy:
                messages.error(request, _("This file is being imported already."))
            return redirect(f"{request.path}#job")
        messages.success(request, _("Column mapping updated."))
        return redirect("import_preview", token=token)
    context: dict[str, Any] = {
        "preview": svc.preview(upload, lang),
        "ignore": IGNORE_CHOICE,
        "kind_label": ImportKind(upload.kind).label,
        **_job_context(svc.load_job(upload.token)),
    }
    return render(request, "workbench/imports/preview.html", context)


def _job_context(job: svc.Job | None) -> dict[str, Any]:
    batch = svc.batch_for_upload(job) if job is not None and job.finished else None
    reasons = svc.rejected_by_reason(batch) if batch is not None else []
    return {"job": job, "batch": batch, "reasons": reasons}


@admin_required
@require_GET
def import_progress(request: HttpRequest, token: str) -> HttpResponse:
    """The job's progress bar, or its summary once finished (polled with htmx)."""
    upload = _upload(token)
    job = svc.load_job(upload.token)
    if job is None:  # nothing was started for this upload: no progress to show
        raise Http404
    context = {"preview": None, "upload": upload, **_job_context(job)}
    return render(request, "workbench/imports/_job.html", context)


@admin_required
@require_POST
def import_rejects(request: HttpRequest, batch_id: int) -> FileResponse:
    """Download a batch's rejected rows (row number, reason, original cells); audited."""
    try:
        path, name = svc.rejects_download(
            batch_id, _user(request), reason=request.POST.get("reason", "")
        )
    except svc.NoRejects:
        raise Http404 from None
    return FileResponse(
        path.open("rb"), as_attachment=True, filename=name, content_type="text/csv; charset=utf-8"
    )

"""The import pages' services: upload, column-mapping preview, background run, rejects (R1).

Nothing here parses or writes data itself. The preview maps headers with the importer's own
:func:`winback.ingest.headers.map_headers` (same synonyms, same user mapping file); the run calls
:func:`winback.app.imports.service.import_file`, exactly as ``winback import KIND FILE
--mapping FILE`` does, in a background thread. The thread reports progress into a small JSON
job file next to the upload, which the page polls; a job file is readable by every web worker
process on the host, and a job whose process or thread is gone is shown as interrupted.

Each upload lives in its own folder under ``WINBACK_DATA_DIR/imports/uploads/<token>/``: the
file under its original name, ``upload.json`` (kind, who, when, column overrides),
``mapping.json`` (the overrides in the importer's mapping-file format) and ``job.json``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import socket
import threading
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl
from django.core.paginator import Page, Paginator
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from winback.app.imports.service import import_file
from winback.environment import data_dir, env_int
from winback.ingest.decode import RawTable, read_table
from winback.ingest.headers import IGNORE, load_mapping, map_headers
from winback.ingest.messages import ImportFileError, check_lang
from winback.ingest.pipeline import check_headers, contract_for
from winback.schema import IMPORT_KINDS, ImportContract
from winback.store.accounts.models import AuditLog, User
from winback.store.imports.models import ImportBatch

log = logging.getLogger(__name__)

PREVIEW_ROWS = 10
PREVIEW_CELL_CHARS = 200  # a preview shows the start of a long cell, never all of it
HISTORY_PAGE_SIZE = 50
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_SAFE_NAME = re.compile(r"[^\w.\-]+", re.UNICODE)
# The kinds the upload page offers (stores are imported like the rest, through the CLI too).
UPLOAD_KINDS = IMPORT_KINDS

STATUS_LABELS = {
    "mapped": _("mapped"),
    "unknown": _("unknown, not imported"),
    "duplicate": _("duplicate of an earlier column, not imported"),
    "ignored": _("ignored"),
    "empty": _("empty"),
}

REASON_LABELS = {
    "missing_required": _("a required value is empty"),
    "bad_date": _("not a recognisable date"),
    "bad_amount": _("not a recognisable amount"),
    "bad_number": _("not a valid number"),
    "bad_choice": _("not one of the allowed values"),
    "bad_bool": _("not a yes/no value"),
    "too_long": _("too long"),
    "duplicate_key": _("duplicate key (an earlier row is kept)"),
    "unknown_customer": _("unknown customer"),
    "unknown_order": _("unknown order"),
    "wrong_column_count": _("wrong number of columns"),
    "control_character": _("holds a control character"),
    "date_out_of_range": _("date outside the plausible window"),
    "unknown_code": _("not a code of this business"),
}

# The importer's fields (winback.schema) as the preview names them; a field missing here shows
# its code. Most reuse the models' verbose names, so they are translated once.
FIELD_LABELS = {
    "store_code": _("store code"),
    "name": _("name"),
    "city": _("city"),
    "customer_id": _("customer id"),
    "phone": _("phone"),
    "email": _("e-mail"),
    "gender": _("gender"),
    "birthday": _("birthday"),
    "join_date": _("join date"),
    "channel": _("channel"),
    "decision_style": _("decision style"),
    "tags": _("tags"),
    "consent_marketing": _("consents to marketing"),
    "do_not_contact": _("do not contact"),
    "do_not_contact_date": _("do-not-contact since"),
    "do_not_contact_source": _("do-not-contact source"),
    "notes": _("notes"),
    "category_code": _("category code"),
    "name_en": _("English name"),
    "parent_code": _("parent category code"),
    "necessity": _("necessity"),
    "replenishment_days": _("typical replenishment interval (days)"),
    "sku": _("SKU"),
    "unit_price": _("unit price"),
    "order_id": _("order id"),
    "order_date": _("order date"),
    "amount": _("amount"),
    "coupon_code": _("coupon / offer code"),
    "line_no": _("line number"),
    "quantity": _("quantity"),
    "event_id": _("event id"),
    "event_type": _("event type"),
    "occurred_at": _("occurred at"),
    "referred_customer_id": _("referred customer id"),
    "referred_bought": _("referred customer bought"),
    "campaign_code": _("campaign / event id"),
    "survey_code": _("survey id"),
    "score": _("score"),
    "adopted": _("suggestion adopted"),
    "complaint_category": _("complaint category"),
    "resolved": _("resolved"),
    "resolved_at": _("resolved at"),
    "text": _("text"),
    "contact_id": _("contact id"),
    "direction": _("direction"),
    "agent": _("agent"),
    "outcome": _("outcome"),
    "duration_seconds": _("duration (s)"),
    "reason_code": _("leave reason"),
    "offer_code": _("offer chosen"),
    "promised_return_date": _("promised return date"),
}


def field_label(name: str | None) -> str:
    return str(FIELD_LABELS.get(name, name)) if name else ""


_threads: dict[str, threading.Thread] = {}
_threads_lock = threading.Lock()


class UploadNotFound(LookupError):
    """No upload with this token (or a malformed token)."""


class JobBusy(RuntimeError):
    """The upload's import is already running."""


# --- uploads --------------------------------------------------------------------------------


@dataclass
class Upload:
    token: str
    kind: str
    original_name: str
    file_name: str  # stored name inside the upload folder
    user_id: int | None
    uploaded_at: str
    overrides: dict[str, str] = field(default_factory=dict)  # header -> field ("" = ignore)

    @property
    def folder(self) -> Path:
        return uploads_dir() / self.token

    @property
    def path(self) -> Path:
        return self.folder / self.file_name

    @property
    def mapping_path(self) -> Path | None:
        path = self.folder / "mapping.json"
        return path if self.overrides and path.is_file() else None


def uploads_dir() -> Path:
    return data_dir() / "imports" / "uploads"


def safe_file_name(name: str) -> str:
    """The uploaded file's own name, reduced to safe characters (Chinese letters kept)."""
    base = Path(name.replace("\\", "/")).name
    cleaned = _SAFE_NAME.sub("_", base).strip("._")[:120]
    return cleaned or "upload.csv"


DEFAULT_UPLOAD_MAX_BYTES = 100 * 1024 * 1024
UPLOAD_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx")
# Leading bytes of files that are certainly no table (programs, archives, documents).
_FOREIGN_SIGNATURES = (
    b"MZ",  # Windows program
    b"\x7fELF",
    b"%PDF",
    b"\x1f\x8b",  # gzip
    b"Rar!",
    b"7z\xbc\xaf",
    b"\x89PNG",
    b"\xff\xd8\xff",  # JPEG
)


class UploadRefused(Exception):
    """An upload the importer will not take (too large, not a table); ``message`` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def upload_max_bytes() -> int:
    """The largest upload accepted (``WINBACK_UPLOAD_MAX_BYTES``, default 100 MiB)."""
    return max(env_int("WINBACK_UPLOAD_MAX_BYTES", DEFAULT_UPLOAD_MAX_BYTES), 1)


def check_upload_size(size: int) -> None:
    """Refuse a request body larger than the upload limit before it is read."""
    limit = upload_max_bytes()
    if size > limit:
        raise UploadRefused(_too_large(limit))


def _too_large(limit: int) -> str:
    return str(_("The file is larger than the limit of %(mb)s MB.") % {"mb": _mb(limit)})


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.3g}"


def _check_type(name: str, head: bytes) -> None:
    suffix = Path(name).suffix.lower()
    allowed = ", ".join(UPLOAD_SUFFIXES)
    if suffix not in UPLOAD_SUFFIXES:
        raise UploadRefused(
            str(
                _("Only CSV, TSV, TXT or XLSX files can be imported (%(allowed)s).")
                % {"allowed": allowed}
            )
        )
    is_zip = head.startswith(b"PK\x03\x04")
    if (suffix == ".xlsx") != is_zip or head.startswith(_FOREIGN_SIGNATURES):
        raise UploadRefused(str(_("The file's content is not a CSV, TSV or XLSX table.")))


def save_upload(user: User, kind: str, name: str, chunks: Any) -> Upload:
    """Store an uploaded file (an iterable of byte chunks) and return its upload record.

    Refuses (:class:`UploadRefused`) a name that is not a table's, content that starts like a
    program, archive or document, and anything beyond :func:`upload_max_bytes`: the file is
    written in chunks and deleted the moment it grows past the limit."""
    contract_for(kind)  # refuses unknown kinds with the importer's own error
    limit = upload_max_bytes()
    token = secrets.token_urlsafe(18)
    upload = Upload(
        token=token,
        kind=kind,
        original_name=Path(name.replace("\\", "/")).name[:200],
        file_name=safe_file_name(name),
        user_id=user.pk,
        uploaded_at=timezone.now().isoformat(),
    )
    upload.folder.mkdir(parents=True, exist_ok=True)
    written = 0
    try:
        with upload.path.open("wb") as fh:
            for chunk in chunks:
                if written == 0:
                    _check_type(name, bytes(chunk[:16]))
                written += len(chunk)
                if written > limit:
                    raise UploadRefused(_too_large(limit))
                fh.write(chunk)
        if written == 0:
            _check_type(name, b"")
    except UploadRefused:
        shutil.rmtree(upload.folder, ignore_errors=True)
        raise
    _write_json(upload.folder / "upload.json", asdict(upload))
    return upload


def load_upload(token: str) -> Upload:
    if not TOKEN_PATTERN.match(token):
        raise UploadNotFound(token)
    meta = uploads_dir() / token / "upload.json"
    if not meta.is_file():
        raise UploadNotFound(token)
    data = json.loads(meta.read_text(encoding="utf-8"))
    return Upload(**data)


def set_overrides(upload: Upload, overrides: dict[str, str]) -> Upload:
    """Store the admin's column choices as the importer's mapping file (validated by it)."""
    contract = contract_for(upload.kind)
    clean = {h: f for h, f in overrides.items() if f == IGNORE or f in contract.names}
    upload.overrides = clean
    mapping = upload.folder / "mapping.json"
    if clean:
        _write_json(mapping, clean)
        load_mapping(mapping, contract)  # the importer's own check of the file
    elif mapping.exists():
        mapping.unlink()
    _write_json(upload.folder / "upload.json", asdict(upload))
    return upload


# --- preview --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnPreview:
    index: int
    header: str
    automatic: str | None  # the field the built-in synonyms give
    field: str | None  # the field the import will fill (after the admin's override)
    status: str  # mapped | unknown | duplicate | ignored | empty
    override: str | None  # the admin's choice, None when automatic

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[self.status])

    @property
    def automatic_label(self) -> str:
        return field_label(self.automatic)


@dataclass(frozen=True)
class Preview:
    upload: Upload
    file_format: str = ""
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    rows_in_file: int = 0
    columns: tuple[ColumnPreview, ...] = ()
    mapped: dict[str, str] = field(default_factory=dict)  # header -> field, as the importer
    unknown: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()  # required fields no column feeds
    sample: tuple[tuple[str, ...], ...] = ()
    fields: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    error: str = ""

    @property
    def can_run(self) -> bool:
        return not self.error and not self.missing

    @property
    def field_options(self) -> list[tuple[str, str, bool]]:
        """``(field, label, required)`` for the mapping's choices."""
        return [(f, field_label(f), f in self.required) for f in self.fields]

    @property
    def missing_labels(self) -> list[str]:
        return [field_label(f) for f in self.missing]


def _relaxed(contract: ImportContract) -> ImportContract:
    """The contract without required fields, so every column's mapping can be shown even when
    a required column is missing (reported separately)."""
    return replace(contract, fields=tuple(replace(f, required=False) for f in contract.fields))


def _non_empty(raw: RawTable) -> frozenset[int]:
    # as winback.ingest.pipeline.prepare_table computes it
    return frozenset(
        i for i, c in enumerate(raw.cell_columns) if raw.frame[c].drop_nulls().len() > 0
    )


def preview(upload: Upload, lang: str) -> Preview:
    """What the importer would do with the file's columns, and its first rows."""
    contract = contract_for(upload.kind)
    names = contract.names
    required = tuple(f.name for f in contract.fields if f.required)
    try:
        raw = read_table(upload.path)
        check_headers(raw.headers)
        user_mapping = load_mapping(upload.mapping_path, contract) if upload.mapping_path else None
    except ImportFileError as exc:
        return Preview(upload, fields=names, required=required, error=exc.message(_lang(lang)))
    relaxed = _relaxed(contract)
    non_empty = _non_empty(raw)
    automatic = map_headers(raw.headers, relaxed, None, non_empty_columns=non_empty)
    effective = map_headers(raw.headers, relaxed, user_mapping, non_empty_columns=non_empty)
    auto_by_index = {i: name for name, i in automatic.fields.items()}
    field_by_index = {i: name for name, i in effective.fields.items()}
    columns = []
    for index, header in enumerate(raw.headers):
        target = field_by_index.get(index)
        if target is not None:
            status = "mapped"
        elif header in effective.ignored:
            status = "ignored"
        elif header in effective.duplicates:
            status = "duplicate"
        elif header or index in non_empty:
            status = "unknown"
        else:
            status = "empty"
        columns.append(
            ColumnPreview(
                index=index,
                header=header,
                automatic=auto_by_index.get(index),
                field=target,
                status=status,
                override=upload.overrides.get(header),
            )
        )
    head = raw.frame.head(PREVIEW_ROWS).select(raw.cell_columns)
    cut = head.select(pl.col(c).str.slice(0, PREVIEW_CELL_CHARS) for c in raw.cell_columns)
    sample = tuple(tuple("" if v is None else str(v) for v in row) for row in cut.iter_rows())
    return Preview(
        upload=upload,
        file_format=raw.file_format,
        encoding=raw.encoding,
        delimiter=raw.delimiter,
        sheet=raw.sheet,
        rows_in_file=raw.frame.height,
        columns=tuple(columns),
        mapped=effective.mapped,
        unknown=effective.unknown,
        missing=tuple(f for f in required if f not in effective.fields),
        sample=sample,
        fields=names,
        required=required,
    )


def _lang(lang: str) -> Any:
    return check_lang("zh" if lang.lower().startswith("zh") else "en")


# --- the background run ---------------------------------------------------------------------


@dataclass
class Job:
    token: str
    status: str = "queued"  # queued | running | done | failed | interrupted
    stage: str = ""  # read | write
    done: int = 0
    total: int = 0
    batch_id: int | None = None
    dry_run: bool = False
    error: str = ""
    pid: int = 0
    host: str = ""
    started_at: str = ""
    finished_at: str = ""

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed", "interrupted")

    @property
    def percent(self) -> int:
        """Reading and checking count for the first 10 %, writing for the rest."""
        if self.status == "done":
            return 100
        if self.stage == "write":
            share = self.done / self.total if self.total else 1.0
            return min(99, 10 + int(90 * share))
        if self.stage == "read" and self.total:
            return int(10 * self.done / self.total)
        return 0


def _job_path(token: str) -> Path:
    return uploads_dir() / token / "job.json"


def load_job(token: str) -> Job | None:
    path = _job_path(token)
    if not path.is_file():
        return None
    job = Job(**json.loads(path.read_text(encoding="utf-8")))
    if not job.finished and not _alive(job):
        job.status, job.error = "interrupted", ""
    return job


def _alive(job: Job) -> bool:
    """Whether the process and thread running the job may still be working."""
    if job.host != socket.gethostname():
        return True
    if job.pid == os.getpid():
        with _threads_lock:
            thread = _threads.get(job.token)
        return thread is not None and thread.is_alive()
    try:
        os.kill(job.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _save_job(job: Job) -> None:
    _write_json(_job_path(job.token), asdict(job))


def start_import(
    upload: Upload, user: User, *, lang: str, dry_run: bool = False, replace: bool = False
) -> Job:
    """Start importing the upload in a background thread; returns the queued job."""
    current = load_job(upload.token)
    if current is not None and not current.finished:
        raise JobBusy(upload.token)
    job = Job(
        token=upload.token,
        dry_run=dry_run,
        pid=os.getpid(),
        host=socket.gethostname(),
        started_at=timezone.now().isoformat(),
    )
    _save_job(job)
    thread = threading.Thread(
        target=_run,
        args=(job, upload, user.pk, _lang(lang), replace),
        name=f"winback-import-{upload.token[:8]}",
        daemon=True,
    )
    with _threads_lock:
        _threads[upload.token] = thread
    thread.start()
    return job


def wait_for(token: str, timeout: float = 120.0) -> Job | None:
    """Block until the upload's job thread ends (used by the CLI-less callers and tests)."""
    with _threads_lock:
        thread = _threads.get(token)
    if thread is not None:
        thread.join(timeout)
    return load_job(token)


def _run(job: Job, upload: Upload, user_id: int | None, lang: Any, replace: bool = False) -> None:
    job.status = "running"
    _save_job(job)

    def progress(stage: str, done: int, total: int) -> None:
        job.stage, job.done, job.total = stage, done, total
        _save_job(job)

    try:
        user = User.objects.filter(pk=user_id).first() if user_id is not None else None
        summary = import_file(
            upload.kind,
            upload.path,
            mapping=upload.mapping_path,
            dry_run=job.dry_run,
            lang=lang,
            user=user,
            progress=progress,
            replace=replace,
        )
        job.status, job.batch_id = "done", summary.batch_id
    except ImportFileError as exc:
        job.status, job.error = "failed", exc.message(lang)
        failed = ImportBatch.objects.filter(file_name=str(upload.path)[:500]).order_by("-pk")
        job.batch_id = failed.values_list("pk", flat=True).first()
    except Exception:  # the page must say the import stopped, whatever stopped it
        log.exception("import of upload %s failed", upload.token)
        job.status, job.error = "failed", str(_("The import stopped because of an internal error."))
    finally:
        job.finished_at = timezone.now().isoformat()
        _save_job(job)
        connection.close()  # this thread's own database connection
        with _threads_lock:
            _threads.pop(upload.token, None)


# --- results, history, rejects --------------------------------------------------------------


def batch_for_upload(job: Job) -> ImportBatch | None:
    batch_id = job.batch_id
    if batch_id is None:
        return None
    return ImportBatch.objects.select_related("user").filter(pk=batch_id).first()


def rejected_by_reason(batch: ImportBatch) -> list[tuple[str, str, int]]:
    """``(code, label, rows)`` per reject reason of a finished batch."""
    counts = (batch.summary or {}).get("rejected_by_reason") or {}
    return [
        (code, str(REASON_LABELS.get(code, code)), int(n)) for code, n in sorted(counts.items())
    ]


def history(page_number: str | None) -> Page[ImportBatch]:
    batches = ImportBatch.objects.select_related("user").order_by("-started_at", "-pk")
    return Paginator(batches, HISTORY_PAGE_SIZE).get_page(page_number)


def display_name(batch: ImportBatch) -> str:
    return Path(batch.file_name).name


class NoRejects(LookupError):
    """The batch rejected no row, or its rejects file is gone."""


def rejects_download(batch_id: int, user: User, *, reason: str = "") -> tuple[Path, str]:
    """The batch's rejects file (already guarded against formula injection when written) and
    a download name; every download is written to the audit log like other exports."""
    batch = ImportBatch.objects.filter(pk=batch_id).first()
    if batch is None or not batch.rejects_file:
        raise NoRejects(batch_id)
    path = Path(batch.rejects_file)
    if not path.is_file():
        raise NoRejects(batch_id)
    AuditLog.objects.create(
        user=user,
        username=user.get_username(),
        action="export_rejects",
        object_type="import_batch",
        object_id=str(batch.pk),
        reason=reason[:200],
        detail={"kind": batch.kind, "rows": batch.rejected, "file": path.name},
    )
    return path, f"{batch.pk:06d}-{batch.kind}-rejects.csv"


def _write_json(path: Path, data: Any) -> None:
    """Write to a temporary name first, so a poller never reads half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{threading.get_ident()}.part")
    partial.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    partial.replace(path)

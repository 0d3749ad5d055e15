"""Retention of import files (R13): uploaded files and rejects files hold personal data, so
they are deleted once they are older than the retention period.

:func:`purge_import_files` is a plain use case: ``winback monthly`` calls it through the
retention policy. The batch records stay (counts and summary, no personal data) and say the
rejects file was purged.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.utils import timezone

from winback.app.imports.uploads import load_job, uploads_dir
from winback.environment import data_dir, env_int
from winback.store.imports.models import ImportBatch, ImportStatus

DEFAULT_RETENTION_DAYS = 90


@dataclass(frozen=True)
class PurgeResult:
    cutoff: datetime
    uploads_deleted: int
    rejects_deleted: int
    bytes_freed: int


def import_file_retention_days() -> int:
    """Days uploaded and rejects files are kept (``WINBACK_IMPORT_FILE_RETENTION_DAYS``)."""
    return max(env_int("WINBACK_IMPORT_FILE_RETENTION_DAYS", DEFAULT_RETENTION_DAYS), 0)


def purge_import_files(as_of: datetime | None = None, *, days: int | None = None) -> PurgeResult:
    """Delete upload folders and rejects files older than the retention at ``as_of``.

    An upload counts from when it was uploaded, a rejects file from when its batch finished;
    an upload whose import is still running is kept. Returns what was deleted."""
    now = as_of or timezone.now()
    cutoff = now - timedelta(days=import_file_retention_days() if days is None else days)
    freed = 0
    uploads = 0
    root = uploads_dir()
    if root.is_dir():
        for folder in sorted(p for p in root.iterdir() if p.is_dir()):
            if _uploaded_at(folder) >= cutoff:
                continue
            job = load_job(folder.name)
            if job is not None and not job.finished:
                continue
            freed += _size(folder)
            shutil.rmtree(folder, ignore_errors=True)
            uploads += 1
    rejects = 0
    old = ImportBatch.objects.filter(finished_at__lt=cutoff).exclude(rejects_file="")
    folder = (data_dir() / "imports").resolve()
    for batch in old.exclude(status=ImportStatus.RUNNING):
        path = Path(batch.rejects_file)
        if path.is_file() and path.resolve().is_relative_to(folder):
            freed += path.stat().st_size
            path.unlink()
            rejects += 1
        info = {**(batch.summary or {}), "rejects_file_purged": now.isoformat()}
        ImportBatch.objects.filter(pk=batch.pk).update(rejects_file="", summary=info)
    return PurgeResult(cutoff, uploads, rejects, freed)


def _uploaded_at(folder: Path) -> datetime:
    meta = folder / "upload.json"
    try:
        stamp = json.loads(meta.read_text(encoding="utf-8"))["uploaded_at"]
        return datetime.fromisoformat(stamp)
    except (OSError, ValueError, KeyError, TypeError):
        mtime = folder.stat().st_mtime
        return datetime.fromtimestamp(mtime, tz=timezone.get_current_timezone())


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())

"""The personal-data lifecycle (R13, PIPL): erase a customer, hand a customer their own data,
expire the personal data of customers long gone.

* :func:`erase_customers` removes who the customer is from every table (name, phone, e-mail,
  birthday, tags, notes and free text; their own customer id becomes ``erased-<pk>``), from the
  files in the data folder (uploads and rejects files lose the customer's rows; other files
  that name them are deleted), from every export file the audit log knows of, and deletes the
  cached reports so they are made again. Orders, scores and contacts stay, keyed by the
  internal primary key: past months still add up. The audit keeps a tombstone: the internal
  pk and a keyed hash of the old customer id, which proves an erasure to someone who knows the
  id and tells nobody else anything.
* :func:`export_personal_data` writes everything held about one customer as UTF-8 JSON.
* :func:`apply_retention` (run by ``winback monthly``) erases customers with no activity for
  ``WINBACK_RETENTION_INACTIVE_YEARS`` years and purges old import files.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from winback.app.actors import Actor, Permission, audit, audit_many, require
from winback.app.imports import retention
from winback.environment import data_dir
from winback.store.queries import privacy as store

ERASE_ACTION = "erase_customer"
EXPORT_ACTION = "export_personal_data"
RETENTION_ACTION = "retention"
TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
ENCODINGS = ("utf-8", "gb18030", "utf-16-le", "utf-16-be")
MIN_IDENTIFIER = 3  # shorter texts (a one-letter name) would match everywhere


class UnknownCustomers(LookupError):
    """Some of the ids name no customer."""

    def __init__(self, ids: Sequence[str]) -> None:
        super().__init__(", ".join(ids))
        self.ids = tuple(ids)


@dataclass(frozen=True)
class ErasureResult:
    erased: int
    already_erased: int
    rows: dict[str, int]
    audit_rows: int
    batch_rows: int
    files_rewritten: tuple[str, ...]
    files_deleted: tuple[str, ...]
    reports_deleted: int
    pks: tuple[int, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PersonalDataFile:
    path: str
    orders: int
    contacts: int
    events: int


@dataclass(frozen=True)
class RetentionResult:
    inactive_before: str
    anonymised: int
    import_files: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- identity ---------------------------------------------------------------------------------


def fingerprint(external_id: str) -> str:
    """A keyed hash of a customer id for the tombstone: the same id always gives the same
    fingerprint on this installation, and nobody without the installation's secret can test
    guesses against it."""
    key = ("winback-erasure:" + str(settings.SECRET_KEY)).encode()
    return hmac.new(key, external_id.encode(), hashlib.sha256).hexdigest()


def _needles(ids: pl.DataFrame) -> list[str]:
    """The texts that identify the customers: their own ids, names, phones (as written and as
    bare digits) and e-mails."""
    phones = ids["phone"].fill_null("")
    values = [
        *ids["external_id"].fill_null(""),
        *ids["name"].fill_null(""),
        *ids["email"].fill_null(""),
        *phones,
        *phones.str.replace_all(r"\D", ""),
    ]
    return sorted({v.strip() for v in values if len(v.strip()) >= MIN_IDENTIFIER})


def _scrub_json(value: Any, needles: Sequence[str], pseudonyms: dict[str, str]) -> Any:
    """Every string inside ``value`` with each identifying text replaced."""
    if isinstance(value, str):
        for needle in needles:
            if needle in value:
                value = value.replace(needle, pseudonyms.get(needle, "[erased]"))
        return value
    if isinstance(value, list):
        return [_scrub_json(v, needles, pseudonyms) for v in value]
    if isinstance(value, dict):
        return {
            _scrub_json(k, needles, pseudonyms): _scrub_json(v, needles, pseudonyms)
            for k, v in value.items()
        }
    return value


def _matching(rows: pl.DataFrame, needles: Sequence[str]) -> list[int]:
    """Ids of the rows any of whose text columns contains a needle (Aho-Corasick, one pass)."""
    if rows.height == 0 or not needles:
        return []
    text = [c for c in rows.columns if c != "id"]
    hit = pl.any_horizontal(
        pl.col(c).str.contains_any(list(needles), ascii_case_insensitive=False) for c in text
    )
    return rows.filter(hit)["id"].to_list()


def _scrub_records(needles: list[str], pseudonyms: dict[str, str]) -> tuple[int, int]:
    """Audit rows and import batch summaries that quote an identifier, rewritten."""
    audits = {}
    for pk, object_id, reason, detail in store.audit_objects(
        _matching(store.audit_rows(), needles)
    ):
        audits[pk] = {
            "object_id": _scrub_json(object_id, needles, pseudonyms),
            "reason": _scrub_json(reason, needles, pseudonyms),
            "detail": _scrub_json(detail, needles, pseudonyms),
        }
    batches = {}
    for pk, file_name, summary in store.batch_objects(_matching(store.batch_rows(), needles)):
        batches[pk] = {
            "file_name": _scrub_json(file_name, needles, pseudonyms),
            "summary": _scrub_json(summary, needles, pseudonyms),
        }
    return store.rewrite_audit(audits), store.rewrite_batches(batches)


# --- files ------------------------------------------------------------------------------------


def _encoded(needles: Sequence[str]) -> list[bytes]:
    out: set[bytes] = set()
    for needle in needles:
        for encoding in ENCODINGS:
            try:
                out.add(needle.encode(encoding))
            except UnicodeEncodeError:
                continue
    return sorted(out)


def _contents(path: Path) -> list[bytes]:
    """The bytes to search: the file, and for zip containers (XLSX) every member."""
    raw = path.read_bytes()
    if not zipfile.is_zipfile(io.BytesIO(raw)):
        return [raw]
    parts = [raw]
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        for info in archive.infolist():
            if info.file_size <= 512 * 1024 * 1024:
                parts.append(archive.read(info))
    return parts


def names_customer(path: Path, patterns: Sequence[bytes]) -> bool:
    return any(p in part for part in _contents(path) for p in patterns)


def _decode(raw: bytes) -> str | None:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _without_rows(path: Path, needles: Sequence[str], patterns: Sequence[bytes]) -> bool:
    """Rewrite a delimited text file without the rows that name the customer (UTF-8 with a
    BOM, as our own files); False when it cannot be read as such a file."""
    text = _decode(path.read_bytes())
    if text is None:
        return False
    try:
        frame = pl.read_csv(
            io.StringIO(text),
            infer_schema=False,
            separator="\t" if path.suffix == ".tsv" else ",",
            truncate_ragged_lines=True,
        )
    except pl.exceptions.PolarsError:
        return False
    if frame.width == 0:
        return False
    hit = pl.any_horizontal(
        pl.col(c).fill_null("").str.contains_any(list(needles)) for c in frame.columns
    )
    kept = frame.filter(~hit)
    partial = path.with_name(path.name + ".part")
    with partial.open("wb") as handle:
        handle.write(b"\xef\xbb\xbf")
        kept.write_csv(handle, separator="\t" if path.suffix == ".tsv" else ",")
    if names_customer(partial, patterns):  # e.g. in a header: give up on rewriting
        partial.unlink()
        return False
    partial.replace(path)
    return True


def _export_files() -> list[Path]:
    """Files the audit log says were exported and that still exist (outside the data folder
    too: an operator's ``--out``)."""
    found = []
    for value in store.audit_files():
        path = Path(value)
        if path.is_file():
            found.append(path)
    return found


def _data_files(skip: Iterable[Path]) -> list[Path]:
    skipped = {p.resolve() for p in skip}
    root = data_dir()
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and p.resolve() not in skipped and not _is_database_file(p)
    )


def _is_database_file(path: Path) -> bool:
    from winback.environment import database_url

    db = database_url()
    if db.engine != "sqlite":
        return False
    return str(path.resolve()).startswith(str(Path(db.name).resolve()))


def reports_dir() -> Path:
    return data_dir() / "reports"


def _delete_cached_reports() -> int:
    """Every cached report goes: the next request or ``winback report`` makes it again from
    the erased data (the figures are the same, the names are gone)."""
    folder = reports_dir()
    if not folder.is_dir():
        return 0
    removed = 0
    for path in folder.iterdir():
        if path.is_file():
            path.unlink()
            removed += 1
    return removed


def _scrub_files(needles: list[str]) -> tuple[list[str], list[str], int]:
    reports = _delete_cached_reports()
    patterns = _encoded(needles)
    rewritten: list[str] = []
    deleted: list[str] = []
    candidates = dict.fromkeys([*_data_files([]), *_export_files()])
    for path in candidates:
        if not path.is_file() or not names_customer(path, patterns):
            continue
        if path.suffix.lower() in TEXT_SUFFIXES and _without_rows(path, needles, patterns):
            rewritten.append(str(path))
        else:
            path.unlink()
            deleted.append(str(path))
    return rewritten, deleted, reports


# --- use cases --------------------------------------------------------------------------------


def erase_customers(
    actor: Actor,
    *,
    external_ids: Sequence[str] = (),
    pks: Sequence[int] = (),
    reason: str = "",
) -> ErasureResult:
    """Erase the named customers' identity everywhere; one tombstone per customer."""
    require(actor, Permission.ERASE_PERSONAL_DATA)
    wanted = [i.strip() for i in external_ids if i.strip()]
    ids = store.identities(external_ids=wanted, pks=pks)
    missing = sorted(set(wanted) - set(ids["external_id"].to_list()))
    if missing:
        raise UnknownCustomers(missing)
    return _erase(actor, ids, reason=reason, action=ERASE_ACTION)


def _erase(actor: Actor, ids: pl.DataFrame, *, reason: str, action: str) -> ErasureResult:
    done = store.erased_pks(ids["pk"].to_list())
    todo = ids.filter(~pl.col("pk").is_in(list(done)))
    needles = _needles(todo)
    pseudonyms = {
        i: f"{store.ERASED_PREFIX}{pk}" for pk, i in todo.select("pk", "external_id").iter_rows()
    }
    with transaction.atomic():
        rows = store.erase_rows(todo) if todo.height else {}
        audits, batches = _scrub_records(needles, pseudonyms)
        audit_many(
            actor,
            action,
            (
                (pk, {"fingerprint": fingerprint(external_id or ""), "tables": rows})
                for pk, external_id in todo.select("pk", "external_id").iter_rows()
            ),
            object_type="customer",
            reason=reason[:200],
        )
    rewritten, deleted, reports = _scrub_files(needles) if needles else ([], [], 0)
    store.compact()
    return ErasureResult(
        erased=todo.height,
        already_erased=len(done),
        rows=rows,
        audit_rows=audits,
        batch_rows=batches,
        files_rewritten=tuple(rewritten),
        files_deleted=tuple(deleted),
        reports_deleted=reports,
        pks=tuple(todo["pk"].to_list()),
    )


def export_personal_data(
    actor: Actor, *, external_id: str, out: Path | str, reason: str = ""
) -> PersonalDataFile:
    """Everything held about one customer as a UTF-8 JSON file, audited."""
    require(actor, Permission.EXPORT_PERSONAL_DATA)
    ids = store.identities(external_ids=[external_id])
    if ids.height == 0:
        raise UnknownCustomers([external_id])
    pk = int(ids["pk"][0])
    record = store.personal_record(pk)
    payload = {
        "customer": record,
        "exported_at": timezone.now(),
    }
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(payload, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2) + "\n",
        encoding="utf-8",
    )
    audit(
        actor,
        EXPORT_ACTION,
        object_type="customer",
        object_id=pk,
        reason=reason[:200],
        detail={
            "file": str(out),
            "orders": len(record["orders"]),
            "contacts": len(record["contacts"]),
            "events": len(record["events"]),
            "phones": "full",
        },
    )
    return PersonalDataFile(
        path=str(out),
        orders=len(record["orders"]),
        contacts=len(record["contacts"]),
        events=len(record["events"]),
    )


def inactive_cutoff(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def apply_retention(actor: Actor, *, today: date) -> RetentionResult:
    """The retention policy: customers with no order, event or contact for
    ``WINBACK_RETENTION_INACTIVE_YEARS`` years are anonymised (as an erasure), and import files
    older than their retention are deleted."""
    require(actor, Permission.ERASE_PERSONAL_DATA)
    years = int(settings.WINBACK_RETENTION_INACTIVE_YEARS)
    cutoff = inactive_cutoff(today, years)
    anonymised = 0
    if years > 0:
        pks = store.inactive_customers(cutoff)
        if pks:
            ids = store.identities(pks=pks)
            anonymised = _erase(
                actor,
                ids,
                reason=f"no activity since {cutoff.isoformat()}",
                action=RETENTION_ACTION,
            ).erased
    return RetentionResult(
        inactive_before=cutoff.isoformat(),
        anonymised=anonymised,
        import_files=purge_import_files(actor),
    )


def purge_import_files(actor: Actor) -> dict[str, Any]:
    """The import files' retention: uploads and rejects files older than
    ``WINBACK_IMPORT_FILE_RETENTION_DAYS`` are deleted (:mod:`winback.app.imports.retention`)."""
    require(actor, Permission.IMPORT_DATA)
    result = retention.purge_import_files()
    return {k: str(v) if isinstance(v, datetime) else v for k, v in asdict(result).items()}


@dataclass(frozen=True)
class ErasurePreview:
    """What the workbench's confirm step shows before an erasure."""

    pk: int
    external_id: str
    name: str
    erased: bool
    orders: int
    contacts: int
    events: int


def erasure_preview(actor: Actor, *, pk: int) -> ErasurePreview:
    """The customer an admin is about to erase, and how much history stays (read only)."""
    require(actor, Permission.ERASE_PERSONAL_DATA)
    counts = store.history_counts(pk)
    if counts is None:
        raise UnknownCustomers([str(pk)])
    external_id, name, erased, orders, contacts, events = counts
    return ErasurePreview(pk, external_id, name, erased, orders, contacts, events)

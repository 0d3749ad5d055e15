"""Import service (R1): one call imports one file; the web page, the CLI and the API use it.

The pure pipeline (:mod:`winback.ingest.pipeline`) parses and validates; this module only looks
up keys and writes. Rows are written in chunks (``WINBACK_IMPORT_CHUNK_ROWS``, default 50,000).
Each chunk's inserts, updates, stub customers and the batch checkpoint (``rows_committed`` and
the counts so far) commit in one transaction, so a process killed at any moment leaves whole
chunks only. Running the same import again finds the interrupted batch (same file digest,
same settings, same rows, its process gone) and continues after its checkpoint; whatever
happens, upserts keyed by natural key and decided by content hash make a re-run converge on
exactly the state of an uninterrupted run, and a second import of the same file changes
nothing.

By default an import updates only the columns present in the file (a two-column
do-not-contact file changes that flag and nothing else); ``replace=True`` (``--replace``, the
upload's "replace whole rows" box) makes an updated row take every field of the import contract
from the file (a column the file lacks means "empty", i.e. the model's default), so the stored
row is what the file says and its hash describes it. A file holding every column is a
whole-row import either way. Columns outside the contract (``key_dates``, the customer's
creation time, a contact's agent account) are never touched by an import.

Do-not-contact and withdrawn consent are sticky (:mod:`winback.ingest.consent`): only a row's
later, dated ``reconsent_date`` lifts them. A customer an import makes uncontactable has every
open call task closed at once (status ``closed``; the audit row names the cause and the batch).

Whatever fails once a batch exists (a database error, a bug) ends the batch as ``failed`` with a
one-line reason and is raised as :class:`ImportFileError` (``write_failed``); a batch is left
``running`` only by a process that is killed, and the next run of the same file resumes it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from winback.app.imports.ahead import ahead
from winback.config import BusinessProfile
from winback.environment import data_dir, env_int
from winback.ingest.consent import apply_sticky_consent
from winback.ingest.decode import ROW, read_table
from winback.ingest.headers import UserMapping, load_mapping, normalise_label
from winback.ingest.keys import KEY
from winback.ingest.messages import FileError, ImportFileError, check_lang
from winback.ingest.pipeline import (
    OP,
    PK_SUFFIX,
    RESOLVED_SUFFIX,
    STUB,
    TARGET_ID,
    IngestOptions,
    Prepared,
    Resolved,
    UnknownCustomerPolicy,
    classify,
    contract_for,
    known_frame,
    prepare_table,
    reference_values,
    resolve,
    stub_customer_hash,
    with_row_hash,
)
from winback.ingest.rejects import counts_by_reason, rejects_table, write_rejects
from winback.ingest.validate import LOCAL_DATE_SUFFIX, CodeMap, ValueLimits, short
from winback.programme.inference import PRE_PERIOD_DAYS
from winback.schema import ImportContract
from winback.store import import_writers as writers
from winback.store.accounts.models import AuditLog
from winback.store.customers.models import Customer
from winback.store.imports.models import ImportBatch, ImportStatus
from winback.store.programme.models import CallTask, TaskStatus
from winback.store.queries import rounds as rounds_store

Progress = Callable[[str, int, int], None]
DEFAULT_CHUNK_ROWS = 50_000


@dataclass
class ImportSummary:
    """What an import did. ``read = inserted + updated + unchanged + rejected`` always."""

    kind: str
    file: str
    dry_run: bool = False
    batch_id: int | None = None
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejects_file: str | None = None
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    stub_customers_created: int = 0
    unknown_customer_policy: str = "stub"
    unresolved_references: dict[str, int] = field(default_factory=dict)
    mapped_columns: dict[str, str] = field(default_factory=dict)
    unknown_columns: list[str] = field(default_factory=list)
    duplicate_columns: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    file_format: str = ""
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    date_order: str | None = None
    date_order_ambiguous: bool = False
    date_order_conflicting: bool = False
    blank_rows: int = 0
    time_zone: str = ""
    resumed: bool = False
    replace: bool = False
    partial_columns: list[str] = field(default_factory=list)  # written on update (partial)
    tasks_closed: dict[str, int] = field(default_factory=dict)  # cause -> open tasks closed
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def chunk_rows_setting() -> int:
    rows = env_int("WINBACK_IMPORT_CHUNK_ROWS", DEFAULT_CHUNK_ROWS)
    return max(rows, 1)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def import_file(
    kind: str,
    path: Path | str,
    *,
    mapping: Path | str | None = None,
    dry_run: bool = False,
    lang: str = "zh",
    user: Any = None,
    progress: Progress | None = None,
    profile: BusinessProfile | None = None,
    unknown_customer_policy: UnknownCustomerPolicy | None = None,
    chunk_rows: int | None = None,
    replace: bool = False,
) -> ImportSummary:
    """Import one file of ``kind``; raises :class:`ImportFileError` if the file is refused.

    ``mapping`` names a JSON or CSV file of ``source header -> field``; ``dry_run`` counts
    exactly what would happen and writes nothing but the batch record and the rejects file;
    ``progress(stage, done, total)`` is called with stage "read" and then "write" (rows);
    ``unknown_customer_policy`` overrides the business profile's choice for unknown customers;
    ``replace`` makes an update take every field from the file (default: only its columns).
    """
    clock = _Clock()
    path = Path(path)
    contract = import_contract(kind)
    if profile is None:
        from winback.app.settings.profile import current_profile

        profile = current_profile()
    policy = unknown_customer_policy or _profile_policy(profile)
    options = IngestOptions(
        time_zone=str(settings.TIME_ZONE),
        lang=check_lang(lang),
        unknown_customer_policy=policy,
        limits=value_limits(profile),
    )
    chunk = chunk_rows or chunk_rows_setting()
    report = progress or _no_progress
    report("read", 0, 1)
    try:
        user_mapping = load_mapping(Path(mapping), contract) if mapping else None
        raw = read_table(path)
        sha = file_sha256(path)
        prepared = prepare_table(contract, raw, user_mapping, options)
    except ImportFileError as exc:
        _record_failure(kind, path, dry_run, user, exc)
        raise
    report("read", 1, 1)
    clock.lap("read_and_check")
    batch: ImportBatch | None = None
    try:
        known = _known_references(prepared)
        clock.lap("look_up_references")
        resolved = resolve(prepared, known, options, hashed=False)
        summary = _summary(resolved, path, dry_run, options)
        summary.replace = replace
        present = _partial_fields(prepared, replace)
        if present is not None:
            spec = writers.SPECS[kind]
            summary.partial_columns = spec.present_columns(present)
        clock.lap("resolve_and_hash")
        batch, start = _open_batch(
            resolved, summary, sha, chunk, user_mapping, options, user, replace
        )
        _write_batch(batch, start, resolved, summary, chunk, options, report, clock, present, user)
    except ImportFileError as exc:
        _fail(batch, kind, path, dry_run, user, exc)
        raise
    except Exception as exc:
        failure = ImportFileError(FileError.WRITE_FAILED, detail=one_line(exc))
        _fail(batch, kind, path, dry_run, user, failure)
        raise failure from exc
    return summary


def import_contract(kind: str) -> ImportContract:
    """The import contract of ``kind`` as this business configured it: events accept the
    active event types (settings), not only the built-in ones."""
    contract = contract_for(kind)
    if kind == "events":
        from winback.app.settings.event_types import import_choices

        contract = contract.with_choices("event_type", import_choices())
    return contract


def one_line(exc: BaseException) -> str:
    """An exception as one short line (type and the first line of its message)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return short(f"{type(exc).__name__}: {text}" if text else type(exc).__name__, 200)


def value_limits(profile: BusinessProfile) -> ValueLimits:
    """What the business accepts: its plausible date window, and leave reasons of its
    taxonomy (codes, labels and synonyms; free text matched by the taxonomy's keywords)."""
    from winback.app.settings.rules import current_rules

    earliest, latest = profile.import_date_window(today())
    taxonomy = current_rules().taxonomy
    spellings = {normalise_label(k): v for k, v in taxonomy.spellings().items()}
    keywords = tuple(
        (normalise_label(word), code)
        for lang in ("zh", "en")
        for code, words in taxonomy.keywords(lang).items()
        for word in words
        if normalise_label(word)
    )
    reasons = CodeMap(spellings, keywords)
    return ValueLimits(earliest=earliest, latest=latest, codes={"reason_code": reasons})


def today() -> dt.date:
    from winback.app.settings.profile import current_profile

    return timezone.localtime(timezone.now(), ZoneInfo(current_profile().time_zone)).date()


def _partial_fields(prepared: Prepared, replace: bool) -> frozenset[str] | None:
    """The fields a partial update writes, or None for a whole-row import."""
    present = frozenset(prepared.header_map.fields)
    if replace or present >= set(prepared.contract.names):
        return None
    return present


def _write_batch(
    batch: ImportBatch,
    start: int,
    resolved: Resolved,
    summary: ImportSummary,
    chunk: int,
    options: IngestOptions,
    report: Progress,
    clock: _Clock,
    present: frozenset[str] | None,
    user: Any,
) -> None:
    prepared = resolved.prepared
    dry_run = summary.dry_run
    summary.rejects_file = _write_rejects_file(batch, prepared, resolved)
    ImportBatch.objects.filter(pk=batch.pk).update(
        read=summary.read, rejected=summary.rejected, rejects_file=summary.rejects_file or ""
    )
    clock.lap("rejects_file")
    with writers.bulk_session():
        if dry_run:
            with transaction.atomic():
                _write_all(resolved, batch, summary, start, chunk, options, report, present)
                transaction.set_rollback(True)
        else:
            _write_all(resolved, batch, summary, start, chunk, options, report, present)
    if not dry_run:
        refresh_planner_statistics(resolved.prepared.kind, summary)
        refresh_round_pre_periods(resolved, summary)
        if summary.tasks_closed:
            _audit_closed_tasks(batch, summary, user)
    clock.lap("write")
    summary.timings = clock.laps
    summary.seconds = clock.total()
    _finish(batch, summary)


def _audit_closed_tasks(batch: ImportBatch, summary: ImportSummary, user: Any) -> None:
    AuditLog.objects.create(
        user=user if getattr(user, "pk", None) else None,
        username=getattr(user, "username", "") or "import",
        action="import_closed_tasks",
        object_type="import_batch",
        object_id=str(batch.pk),
        reason="do_not_contact_or_consent",
        detail={"tasks_closed": summary.tasks_closed, "file": short(Path(summary.file).name)},
    )


class _Clock:
    """Seconds spent per phase, reported in the summary."""

    def __init__(self) -> None:
        self.started = self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self.last, 3)
        self.last = now

    def total(self) -> float:
        return round(time.perf_counter() - self.started, 3)


def _open_batch(
    resolved: Resolved,
    summary: ImportSummary,
    sha: str,
    chunk: int,
    mapping: UserMapping | None,
    options: IngestOptions,
    user: Any,
    replace: bool = False,
) -> tuple[ImportBatch, int]:
    """The batch to write under and the row to start from (an interrupted run is resumed)."""
    kind = resolved.prepared.kind
    fingerprint = _fingerprint(resolved, chunk, mapping, options, replace)
    batch = None if summary.dry_run else _resumable_batch(kind, sha, fingerprint)
    if batch is None:
        batch = _new_batch(kind, Path(summary.file), sha, summary.dry_run, user, fingerprint)
        summary.batch_id = batch.pk
        return batch, 0
    summary.resumed = True
    summary.batch_id = batch.pk
    summary.inserted, summary.updated, summary.unchanged = (
        batch.inserted,
        batch.updated,
        batch.unchanged,
    )
    summary.stub_customers_created = int(batch.summary.get("stub_customers_created", 0))
    return batch, batch.rows_committed


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


def _profile_policy(profile: BusinessProfile | None) -> UnknownCustomerPolicy:
    """The business's choice for orders of unknown customers (stored profile by default)."""
    if profile is None:
        from winback.app.settings.profile import current_profile

        profile = current_profile()
    return "reject" if profile.unknown_customer_policy == "reject" else "stub"


def _known_references(prepared: Prepared) -> dict[str, pl.DataFrame]:
    """One query per referenced kind, for exactly the keys this file names."""
    known: dict[str, pl.DataFrame] = {}
    for target, keys in reference_values(prepared).items():
        found_keys, pks = writers.lookup_keys(target, keys)
        known[target] = known_frame(found_keys, pks)
    return known


def _summary(
    resolved: Resolved, path: Path, dry_run: bool, options: IngestOptions
) -> ImportSummary:
    prepared = resolved.prepared
    raw = prepared.raw
    rejected = resolved.rejects.height
    return ImportSummary(
        kind=prepared.kind,
        file=str(path),
        dry_run=dry_run,
        read=prepared.read,
        rejected=rejected,
        rejected_by_reason=counts_by_reason(resolved.rejects),
        unknown_customer_policy=options.unknown_customer_policy,
        unresolved_references=resolved.unresolved,
        mapped_columns={short(k): v for k, v in prepared.header_map.mapped.items()},
        unknown_columns=[short(h) for h in prepared.header_map.unknown],
        duplicate_columns=[short(h) for h in prepared.header_map.duplicates],
        ignored_columns=[short(h) for h in prepared.header_map.ignored],
        file_format=raw.file_format,
        encoding=raw.encoding,
        delimiter=raw.delimiter,
        sheet=raw.sheet,
        date_order=prepared.date_order.order,
        date_order_ambiguous=prepared.date_order.ambiguous,
        date_order_conflicting=prepared.date_order.conflicting,
        blank_rows=raw.blank_rows,
        time_zone=options.time_zone,
    )


def _fingerprint(
    resolved: Resolved,
    chunk: int,
    mapping: UserMapping | None,
    options: IngestOptions,
    replace: bool = False,
) -> str:
    """Identifies the exact sequence of rows to write, so a resume skips the right ones.

    The batch is only resumed for the same file (its digest) read with the same settings, so
    a row's stored content is fixed by its row number and by which of its optional references
    resolved (``<field>__resolved``: the code, or null); the row number, the key and that
    per row are enough (the content hash itself is computed chunk by chunk while writing).
    Whether a required customer existed or is created as a stub changes nothing stored.

    Polars' row hash is fine here (unlike for stored hashes): a fingerprint only has to match
    between an interrupted run and its re-run; after an upgrade it merely stops matching and
    the import starts over, which converges on the same state anyway.
    """
    rows = resolved.rows
    columns = [ROW, *resolved.key_columns]
    columns += [c for c in rows.columns if c.endswith(RESOLVED_SUFFIX)]
    per_row = rows.select(
        pl.concat_str([pl.col(c).cast(pl.String).fill_null("\x00") for c in columns], separator="|")
        .hash(seed=0)
        .alias("h")
    )["h"]
    digest = hashlib.md5(usedforsecurity=False)
    pairs = sorted((mapping.pairs if mapping else {}).items())
    contract = resolved.prepared.contract  # events: the business's event types and spellings
    digest.update(repr((chunk, pairs, options, replace, contract)).encode())
    digest.update(per_row.to_numpy().tobytes())
    return digest.hexdigest()


def _resumable_batch(kind: str, sha: str, fingerprint: str) -> ImportBatch | None:
    """An interrupted import of the same rows whose process is gone.

    Interrupted imports of this file that cannot be continued (other settings, other rows)
    are closed as failed: the new run writes everything they would have.
    """
    candidates = ImportBatch.objects.filter(
        kind=kind, file_sha256=sha, status=ImportStatus.RUNNING, dry_run=False
    ).order_by("-pk")
    resumable = None
    for batch in candidates:
        info = batch.summary or {}
        if _process_alive(info.get("host"), info.get("pid")):
            continue
        if resumable is None and info.get("fingerprint") == fingerprint:
            resumable = batch
            continue
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=ImportStatus.FAILED,
            finished_at=timezone.now(),
            summary={**info, "error": "interrupted"},
        )
    if resumable is not None:
        info = {**(resumable.summary or {}), "pid": os.getpid(), "host": socket.gethostname()}
        ImportBatch.objects.filter(pk=resumable.pk).update(summary=info)
        resumable.summary = info
    return resumable


def _process_alive(host: object, pid: object) -> bool:
    """Whether the process that wrote a batch may still be running (another host: assume so)."""
    if host != socket.gethostname():
        return True
    if not isinstance(pid, int) or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _new_batch(
    kind: str, path: Path, sha: str, dry_run: bool, user: Any, fingerprint: str
) -> ImportBatch:
    return ImportBatch.objects.create(
        kind=kind,
        file_name=str(path)[:500],
        file_sha256=sha,
        dry_run=dry_run,
        user=user if getattr(user, "pk", None) else None,
        summary={"fingerprint": fingerprint, "pid": os.getpid(), "host": socket.gethostname()},
    )


def _fail(
    batch: ImportBatch | None,
    kind: str,
    path: Path,
    dry_run: bool,
    user: Any,
    exc: ImportFileError,
) -> None:
    """End the batch as failed with a one-line reason (a new failed batch if none exists)."""
    if batch is None:
        _record_failure(kind, path, dry_run, user, exc)
        return
    info = {**(batch.summary or {}), **_failure_info(exc)}
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=ImportStatus.FAILED, finished_at=timezone.now(), summary=info
    )


def _failure_info(exc: ImportFileError) -> dict[str, Any]:
    return {
        "error": exc.code.value,
        "params": {k: short(str(v)) for k, v in exc.params.items()},
        "message": short(exc.message("en"), 200),
        "message_zh": short(exc.message("zh"), 200),
    }


def _record_failure(kind: str, path: Path, dry_run: bool, user: Any, exc: ImportFileError) -> None:
    sha = file_sha256(path) if path.is_file() else ""
    ImportBatch.objects.create(
        kind=kind[:16],
        file_name=str(path)[:500],
        file_sha256=sha,
        dry_run=dry_run,
        user=user if getattr(user, "pk", None) else None,
        status=ImportStatus.FAILED,
        finished_at=timezone.now(),
        summary=_failure_info(exc),
    )


def _write_rejects_file(batch: ImportBatch, prepared: Prepared, resolved: Resolved) -> str | None:
    if resolved.rejects.height == 0:
        return None
    folder = data_dir() / "imports"
    path = folder / f"{batch.pk:06d}-{prepared.kind}-rejects.csv"
    write_rejects(rejects_table(prepared.raw, resolved.rejects), path)
    return str(path)


def _write_all(
    resolved: Resolved,
    batch: ImportBatch,
    summary: ImportSummary,
    start: int,
    chunk_rows: int,
    options: IngestOptions,
    report: Progress,
    present: frozenset[str] | None = None,
) -> None:
    """Write the rows chunk by chunk, each chunk and its checkpoint in one transaction.

    A worker thread hashes and converts chunk N+1 while chunk N is written here, on this
    connection; chunks are written and checkpointed in file order, and an error in the worker
    is raised at its chunk. On PostgreSQL, outside a caller's transaction, the worker also
    classifies chunk N+1 against the stored rows and checks its references, on its own
    connection, while chunk N's COPY runs (decision 0061): a file's keys are distinct, so
    chunk N's writes cannot change what chunk N+1 finds.
    """
    kind = resolved.prepared.kind
    spec = writers.SPECS[kind]
    rows = resolved.rows
    total = rows.height
    stub_hash = stub_customer_hash()
    stubs = _StubCustomers()
    pg = writers.vendor() == "postgresql"
    look_ahead = _can_look_ahead(pg)
    report("write", start, total)

    def prepare(offset: int) -> _Chunk:
        chunk = rows.slice(offset, chunk_rows)
        return _prepare_chunk(chunk, spec, kind, options, pg, look_ahead=look_ahead)

    offsets = range(start, total, chunk_rows)
    worker_done = _close_this_threads_connection if look_ahead else None
    with contextlib.closing(ahead(offsets, prepare, on_exit=worker_done)) as chunks:
        for offset, ready in zip(offsets, chunks, strict=True):
            with transaction.atomic():
                counts = _write_chunk(spec, ready, stub_hash, options, present, stubs)
                for cause in ("do_not_contact", "no_consent"):
                    if counts[cause]:
                        closed = summary.tasks_closed.get(cause, 0) + counts[cause]
                        summary.tasks_closed[cause] = closed
                summary.inserted += counts["insert"]
                summary.updated += counts["update"]
                summary.unchanged += counts["unchanged"]
                summary.stub_customers_created += counts["stubs"]
                _checkpoint(batch, summary, offset + ready.rows.height)
            stubs.commit()
            report("write", offset + ready.rows.height, total)
    parents_given = present is None or "parent_code" in present
    if kind == "categories" and parents_given:
        with transaction.atomic():
            writers.set_category_parents(rows.select(KEY, "parent_code"))


def _can_look_ahead(pg: bool) -> bool:
    """Whether a worker may read stored rows on its own connection: it sees only committed
    rows, so not inside a caller's transaction (a dry run, or a test's)."""
    return pg and not connection.in_atomic_block


def _close_this_threads_connection() -> None:
    """Close the calling thread's own database connection (Django keeps one per thread)."""
    connection.close()


@dataclass(frozen=True)
class _Chunk:
    """A chunk of rows to write, hashed; ``db``: all its rows as table columns, when no value
    can change before they are written (no stub customer to fill in, no stored consent);
    ``classified``: the rows with their operation, already matched against the stored rows
    and their references checked (look-ahead on PostgreSQL)."""

    rows: pl.DataFrame
    db: pl.DataFrame | None
    classified: pl.DataFrame | None = None


def _prepare_chunk(
    rows: pl.DataFrame,
    spec: writers.KindSpec,
    kind: str,
    options: IngestOptions,
    pg: bool,
    *,
    look_ahead: bool = False,
) -> _Chunk:
    """What a chunk needs before it is written (runs in the worker thread). With
    ``look_ahead``, a chunk whose rows are fixed is also classified and its references
    checked, on the worker thread's own connection."""
    hashed = with_row_hash(rows, kind)
    fixed = spec.model is not Customer and not hashed[STUB].any()
    if not fixed:
        return _Chunk(hashed, None)
    db = writers.db_frame(hashed, spec, options.time_zone, pg=pg)
    if not look_ahead:
        return _Chunk(hashed, db)
    return _Chunk(hashed, db, _classify_and_check(spec, hashed))


def _classify_and_check(spec: writers.KindSpec, chunk: pl.DataFrame) -> pl.DataFrame:
    """The chunk matched against the stored rows, once every parent its rows to write name
    is known to be stored."""
    classified = classify(chunk, writers.stored_rows(spec, chunk), spec.match)
    writers.check_references(
        spec, _reference_ids(spec, classified.filter(pl.col(OP) != "unchanged"))
    )
    return classified


class _StubCustomers:
    """Stub customers this run has created or found so far (external id -> primary key), so a
    later chunk naming the same customers neither inserts them again nor looks them up.
    What a chunk adds is kept only once the chunk has committed."""

    def __init__(self) -> None:
        self.known = known_frame([], []).rename({"key": "customer_id", "pk": "_stub_pk"})
        self.pending: list[pl.DataFrame] = []

    def commit(self) -> None:
        if self.pending:
            self.known = pl.concat([self.known, *self.pending])
            self.pending = []


def _write_chunk(
    spec: writers.KindSpec,
    ready: _Chunk,
    stub_hash: str,
    options: IngestOptions,
    present: frozenset[str] | None = None,
    stub_customers: _StubCustomers | None = None,
) -> dict[str, int]:
    chunk, db = ready.rows, ready.db
    stubs = 0
    if chunk[STUB].any():
        chunk, stubs = _with_stub_customers(chunk, stub_hash, stub_customers or _StubCustomers())
    classified = ready.classified
    if classified is None:  # not classified ahead: here, in the chunk's transaction
        classified = _classify_and_check(spec, chunk)
    customers = spec.model is Customer
    if customers:
        classified = apply_sticky_consent(
            classified,
            writers.stored_consent(classified[TARGET_ID], options.time_zone),
            today(),
        )
    ops = classified[OP]

    def as_db(mask: pl.Series, which: writers.KindSpec = spec) -> pl.DataFrame:
        if db is not None:
            return db.filter(mask).select(list(which.columns))
        return writers.db_frame(classified.filter(mask), which, options.time_zone)

    inserts = ops == "insert"
    n_inserts = int(inserts.sum())
    if present is None:
        updates = ops == "update"
        writers.insert_rows(spec, as_db(inserts))
        writers.update_rows(
            spec, as_db(updates).with_columns(classified.filter(updates)[TARGET_ID].alias("id"))
        )
        updated = int(updates.sum())
        touched = classified.filter(updates)[TARGET_ID]
    else:
        # A row whose stored hash equals the file's is that very row: nothing to write.
        existing = ops == "update"
        writers.insert_rows(spec, as_db(inserts))
        columns = spec.present_columns(present)
        partial = writers.KindSpec(
            spec.model,
            {c: spec.columns[c] for c in columns},
            on_update=spec.on_update,
            local_midnight=spec.local_midnight,
        )
        frame = as_db(existing, partial)
        ids = classified.filter(existing)[TARGET_ID]
        updated = writers.update_present(spec, frame.with_columns(ids.alias("id")))
        touched = ids
    closed = _close_uncontactable_tasks(touched) if customers else {}
    return {
        "insert": n_inserts,
        "update": updated,
        "unchanged": classified.height - n_inserts - updated,
        "stubs": stubs,
        "do_not_contact": closed.get("do_not_contact", 0),
        "no_consent": closed.get("no_consent", 0),
    }


def _reference_ids(spec: writers.KindSpec, rows: pl.DataFrame) -> pl.DataFrame:
    """The primary keys of the parents the rows to write name, as db columns."""
    return rows.select(
        [
            pl.col(source).alias(column)
            for column, source in spec.columns.items()
            if source.endswith(PK_SUFFIX) and source in rows.columns
        ]
    )


def _close_uncontactable_tasks(customer_ids: pl.Series) -> dict[str, int]:
    """Close the open call tasks of these customers who may no longer be contacted, at once:
    nobody calls them and their phone leaves every call list (cause -> tasks closed)."""
    ids = customer_ids.drop_nulls().to_list()
    if not ids:
        return {}
    open_tasks = CallTask.objects.filter(customer_id__in=ids, status=TaskStatus.OPEN)
    closed = {}
    for cause, condition in (
        ("do_not_contact", {"customer__do_not_contact": True}),
        ("no_consent", {"customer__consent_marketing": False}),
    ):
        closed[cause] = open_tasks.filter(**condition).update(
            status=TaskStatus.CLOSED,
            next_due=None,
            version=F("version") + 1,
            updated_at=timezone.now(),
        )
    return closed


def _with_stub_customers(
    chunk: pl.DataFrame, stub_hash: str, known: _StubCustomers
) -> tuple[pl.DataFrame, int]:
    """Create the chunk's missing customers as stubs and fill in their keys (customers an
    earlier chunk of this run created or found are taken from ``known``)."""
    pk = "customer_id" + PK_SUFFIX
    wanted = chunk.filter(pl.col(STUB))["customer_id"].unique()
    new = wanted.filter(~wanted.is_in(known.known["customer_id"].implode())).sort()
    created = writers.create_stub_customers(new, stub_hash)
    keys, pks = writers.lookup_keys("customers", new)
    found = known_frame(keys, pks).rename({"key": "customer_id", "pk": "_stub_pk"})
    known.pending.append(found)
    ids = pl.concat([known.known, found])
    filled = (
        chunk.join(ids, on="customer_id", how="left", maintain_order="left")
        .with_columns(pl.coalesce(pl.col(pk), pl.col("_stub_pk")).alias(pk))
        .drop("_stub_pk")
    )
    return filled, created


def _checkpoint(batch: ImportBatch, summary: ImportSummary, rows_committed: int) -> None:
    info = {**(batch.summary or {}), "stub_customers_created": summary.stub_customers_created}
    ImportBatch.objects.filter(pk=batch.pk).update(
        rows_committed=rows_committed,
        inserted=summary.inserted,
        updated=summary.updated,
        unchanged=summary.unchanged,
        summary=info,
    )


# Rows written by one import above which PostgreSQL's planner statistics are refreshed.
ANALYZE_AFTER_ROWS = 10_000


def refresh_planner_statistics(kind: str, summary: ImportSummary) -> bool:
    """ANALYZE the tables a large import wrote (PostgreSQL). Until autovacuum gets to them (never,
    where it is off) the planner guesses row counts and may scan every order line for one
    customer's sheet. Returns whether it ran."""
    if connection.vendor != "postgresql":
        return False
    if summary.inserted + summary.updated + summary.stub_customers_created < ANALYZE_AFTER_ROWS:
        return False
    written = [writers.SPECS[kind].model]
    if summary.stub_customers_created:
        from winback.store.customers.models import Customer

        written.append(Customer)
    writers.analyze(written)
    return True


def refresh_round_pre_periods(resolved: Resolved, summary: ImportSummary) -> int:
    """Orders written with dates inside a round's pre-period (data arriving after the round was
    planned) change its members' stored pre-period figures: those rounds' figures are computed
    again from the orders. Returns the rounds refreshed."""
    column = "order_date" + LOCAL_DATE_SUFFIX
    if resolved.prepared.kind != "orders" or summary.inserted + summary.updated == 0:
        return 0
    if column not in resolved.rows.columns:
        return 0
    days = resolved.rows[column].drop_nulls()
    if days.len() == 0:
        return 0
    return rounds_store.refill_pre_periods(
        first=days.min(),  # type: ignore[arg-type]
        last=days.max(),  # type: ignore[arg-type]
        days=PRE_PERIOD_DAYS,
    )


def _finish(batch: ImportBatch, summary: ImportSummary) -> None:
    info = {**(batch.summary or {}), **summary.to_dict()}
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=ImportStatus.DONE,
        finished_at=timezone.now(),
        read=summary.read,
        inserted=summary.inserted,
        updated=summary.updated,
        unchanged=summary.unchanged,
        rejected=summary.rejected,
        rejects_file=summary.rejects_file or "",
        summary=info,
    )

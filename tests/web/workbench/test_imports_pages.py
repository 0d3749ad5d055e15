"""Import pages through the Django test client: roles, mapping preview, background run,
summary, rejects download and history."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tests.factories.workbench import user
from winback.app.imports import uploads as imports_services
from winback.app.imports.service import import_file
from winback.ingest.messages import ImportFileError
from winback.ingest.pipeline import prepare
from winback.ingest.validate import CODE
from winback.store.accounts.models import AuditLog, Role, User
from winback.store.customers.models import Order
from winback.store.imports.models import ImportBatch, ImportStatus

# Chinese headers, GBK; rows 3 and 5 are bad (amount, date);
# "会员等级" is not a known header.
ORDERS_GBK = (
    "会员号,消费日期,实收金额,会员等级\r\n"
    "VIP001,2026-01-05,120.50,金卡\r\n"
    "VIP002,2026-01-06,一百元,银卡\r\n"
    "VIP003,2026-01-07,88,银卡\r\n"
    "VIP004,不是日期,66,金卡\r\n"
    "VIP005,2026-01-09,77,@SUM(A1)\r\n"
).encode("gbk")


def signed_in(u: User) -> Client:
    client = Client()
    client.force_login(u)
    return client


@pytest.fixture
def admin(db: None) -> User:
    return user("boss", Role.ADMIN)


def upload(client: Client, data: bytes, name: str = "订单.csv", kind: str = "orders") -> str:
    response = client.post(
        reverse("imports"), {"kind": kind, "file": SimpleUploadedFile(name, data)}
    )
    assert response.status_code == 302, response.content.decode()[:500]
    return response["Location"].rstrip("/").rsplit("/", 1)[-1]


def run(client: Client, token: str, **extra: str) -> imports_services.Job:
    url = reverse("import_preview", args=[token])
    response = client.post(url, {"action": "run", **extra})
    assert response.status_code == 302
    job = imports_services.wait_for(token, timeout=120)
    assert job is not None
    return job


# --- who may do what --------------------------------------------------------------------------
@pytest.mark.django_db
def test_agents_are_refused_and_supervisors_only_see_the_history(admin: User) -> None:
    agent, supervisor = user("a1", Role.AGENT), user("s1", Role.SUPERVISOR)
    token = upload(signed_in(admin), ORDERS_GBK)
    for url in (reverse("imports"), reverse("import_preview", args=[token])):
        assert signed_in(agent).get(url).status_code == 403
    page = signed_in(supervisor).get(reverse("imports"))
    assert page.status_code == 200
    assert 'id="history"' in page.content.decode()
    assert 'id="upload"' not in page.content.decode()
    assert signed_in(supervisor).get(reverse("import_preview", args=[token])).status_code == 403
    refused = signed_in(supervisor).post(
        reverse("imports"), {"kind": "orders", "file": SimpleUploadedFile("x.csv", ORDERS_GBK)}
    )
    assert refused.status_code == 403
    assert signed_in(supervisor).get(reverse("import_progress", args=[token])).status_code == 403
    assert Client().get(reverse("imports")).status_code == 302  # anonymous: sign in first


# --- preview --------------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_preview_shows_the_mapping_the_importer_applies(admin: User, tmp_path: Path) -> None:
    client = signed_in(admin)
    token = upload(client, ORDERS_GBK)
    page = client.get(reverse("import_preview", args=[token])).content.decode()
    assert 'id="encoding">gb18030<' in page
    assert "会员等级" in page
    assert "VIP004" in page

    preview = imports_services.preview(imports_services.load_upload(token), "zh")
    copy = tmp_path / "same.csv"
    copy.write_bytes(ORDERS_GBK)
    summary = import_file("orders", copy, dry_run=True)
    assert preview.mapped == summary.mapped_columns
    assert preview.mapped == {
        "会员号": "customer_id",
        "消费日期": "order_date",
        "实收金额": "amount",
    }
    assert list(preview.unknown) == summary.unknown_columns == ["会员等级"]
    assert preview.encoding == summary.encoding == "gb18030"
    assert preview.missing == ()
    assert len(preview.sample) == 5
    assert preview.sample[4] == ("VIP005", "2026-01-09", "77", "@SUM(A1)")


@pytest.mark.django_db
def test_an_override_is_shown_and_used_as_the_importers_mapping_file(
    admin: User, tmp_path: Path
) -> None:
    client = signed_in(admin)
    token = upload(client, ORDERS_GBK)
    url = reverse("import_preview", args=[token])
    # column 4 (会员等级) -> coupon_code; column 3 (实收金额) stays automatic
    response = client.post(url, {"action": "mapping", "map-3": "coupon_code"})
    assert response.status_code == 302
    up = imports_services.load_upload(token)
    preview = imports_services.preview(up, "en")
    assert preview.mapped["会员等级"] == "coupon_code"
    assert preview.unknown == ()
    assert up.mapping_path is not None
    copy = tmp_path / "same.csv"
    copy.write_bytes(ORDERS_GBK)
    summary = import_file("orders", copy, mapping=up.mapping_path, dry_run=True)
    assert summary.mapped_columns == preview.mapped
    # ignoring a required column makes the file unrunnable, and the page says which
    client.post(url, {"action": "mapping", "map-1": "__ignore__"})
    preview = imports_services.preview(imports_services.load_upload(token), "en")
    assert preview.missing == ("order_date",)
    assert not preview.can_run
    refused = client.post(url, {"action": "run", "map-1": "__ignore__"})
    assert refused.status_code == 302
    assert imports_services.load_job(token) is None
    page = client.get(url).content.decode()
    missing = page.split('id="missing">', 1)[1].split("</p>", 1)[0]
    assert "下单日期" in missing  # the field's name, not its code
    assert "order_date" not in missing


@pytest.mark.django_db
def test_a_file_the_importer_refuses_is_explained_in_the_preview(admin: User) -> None:
    client = signed_in(admin)
    token = upload(client, b"\x00\x01\x02\xff\xfe\xfa" * 40, name="junk.csv")
    page = client.get(reverse("import_preview", args=[token]))
    assert page.status_code == 200
    assert 'id="file-error"' in page.content.decode()
    assert 'id="run-import"' not in page.content.decode()


@pytest.mark.django_db
def test_unknown_tokens_and_kinds_are_refused(admin: User) -> None:
    client = signed_in(admin)
    assert client.get(reverse("import_preview", args=["..etc..etc..etc..etc"])).status_code == 404
    assert client.get(reverse("import_preview", args=["A" * 24])).status_code == 404
    response = client.post(
        reverse("imports"), {"kind": "nonsense", "file": SimpleUploadedFile("x.csv", b"a,b\n")}
    )
    assert response.status_code == 200  # the form shows the error
    assert "nonsense" in response.content.decode()


# --- run, summary, rejects, history ----------------------------------------------------------
def _rejects_rows(content: bytes) -> list[dict[str, str]]:
    text = content.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.django_db(transaction=True)
def test_run_summary_rejects_download_and_an_idempotent_rerun(tmp_path: Path) -> None:
    admin = user("boss", Role.ADMIN)
    client = signed_in(admin)
    token = upload(client, ORDERS_GBK)
    job = run(client, token)
    assert job.status == "done", job.error
    batch = ImportBatch.objects.get(pk=job.batch_id)
    assert (batch.status, batch.read, batch.inserted, batch.rejected) == (
        ImportStatus.DONE,
        5,
        3,
        2,
    )
    assert batch.user == admin
    assert Order.objects.count() == 3

    fragment = client.get(reverse("import_progress", args=[token])).content.decode()
    assert 'data-status="done"' in fragment
    assert 'data-key="inserted">3<' in fragment
    assert 'data-key="rejected">2<' in fragment
    assert "hx-trigger" not in fragment  # finished: the page stops polling
    assert "无法识别的金额" in fragment  # rejected rows by reason, in the user's language

    response = client.post(reverse("import_rejects", args=[batch.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = _rejects_rows(b"".join(response.streaming_content))  # type: ignore[attr-defined]
    copy = tmp_path / "same.csv"
    copy.write_bytes(ORDERS_GBK)
    expected = prepare("orders", copy).rejects.select("_row", CODE).rows()
    assert [(int(r["row_number"]), r["reason_code"]) for r in rows] == expected
    assert [r["会员号"] for r in rows] == ["VIP002", "VIP004"]
    assert all(r["reason"] for r in rows)
    audit = AuditLog.objects.get(action="export_rejects")
    assert (audit.user, audit.object_id, audit.detail["rows"]) == (admin, str(batch.pk), 2)

    # the same file again: nothing changes
    again = run(client, upload(client, ORDERS_GBK))
    second = ImportBatch.objects.get(pk=again.batch_id)
    assert (second.inserted, second.updated, second.unchanged, second.rejected) == (0, 0, 3, 2)
    assert Order.objects.count() == 3

    history = client.get(reverse("imports")).content.decode()
    assert history.count('class="batch-row"') == 2
    assert "订单.csv" in history


@pytest.mark.django_db(transaction=True)
def test_formula_cells_are_quoted_in_the_rejects_download() -> None:
    admin = user("boss", Role.ADMIN)
    client = signed_in(admin)
    data = ("会员号,消费日期,实收金额\r\n=cmd|' /C calc'!A0,2026-01-05,=1+2\r\n").encode("gbk")
    job = run(client, upload(client, data))
    assert job.status == "done"
    response = client.post(reverse("import_rejects", args=[job.batch_id]))
    rows = _rejects_rows(b"".join(response.streaming_content))  # type: ignore[attr-defined]
    assert rows[0]["会员号"] == "'=cmd|' /C calc'!A0"
    assert rows[0]["实收金额"] == "'=1+2"
    assert rows[0]["row_number"] == "2"


@pytest.mark.django_db(transaction=True)
def test_a_dry_run_writes_nothing_and_a_refused_file_fails_the_job() -> None:
    admin = user("boss", Role.ADMIN)
    client = signed_in(admin)
    job = run(client, upload(client, ORDERS_GBK), dry_run="1")
    assert job.status == "done"
    assert ImportBatch.objects.get(pk=job.batch_id).dry_run
    assert Order.objects.count() == 0

    # a file emptied after the upload: the page refuses to start it ...
    token = upload(client, ORDERS_GBK)
    up = imports_services.load_upload(token)
    up.path.write_bytes(b"")
    client.post(reverse("import_preview", args=[token]), {"action": "run"})
    assert imports_services.load_job(token) is None
    # ... and the service, started anyway, reports the importer's refusal
    imports_services.start_import(up, admin, lang="en")
    failed = imports_services.wait_for(token)
    assert failed is not None
    assert (failed.status, failed.error) == ("failed", "the file is empty or has no header row")
    assert ImportBatch.objects.get(pk=failed.batch_id).status == ImportStatus.FAILED
    fragment = client.get(reverse("import_progress", args=[token])).content.decode()
    assert 'id="import-error"' in fragment


@pytest.mark.django_db
def test_rejects_of_a_batch_without_rejects_are_not_found(admin: User) -> None:
    batch = ImportBatch.objects.create(kind="orders", file_name="x.csv", file_sha256="0" * 64)
    assert signed_in(admin).post(reverse("import_rejects", args=[batch.pk])).status_code == 404
    supervisor = user("s1", Role.SUPERVISOR)
    assert signed_in(supervisor).post(reverse("import_rejects", args=[batch.pk])).status_code == 403


@pytest.mark.django_db
def test_the_history_speaks_the_users_language_and_runs_fixed_queries(admin: User) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def batches(n: int) -> None:
        for i in range(n):
            ImportBatch.objects.create(
                kind="orders", file_name=f"/x/{i}.csv", file_sha256="0" * 64, user=admin
            )

    client = signed_in(admin)
    batches(2)
    with CaptureQueriesContext(connection) as few:
        page = client.get(reverse("imports")).content.decode()
    assert "导入记录" in page
    assert "上传并预览" in page
    batches(20)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("imports"))
    assert len(many) == len(few)
    client.post(reverse("language"), {"language": "en", "next": reverse("imports")})
    english = client.get(reverse("imports")).content.decode()
    assert "Import history" in english
    assert english.count('class="batch-row"') == 22


@pytest.mark.django_db
def test_a_running_job_polls_and_an_orphaned_one_shows_as_interrupted(admin: User) -> None:
    import os
    import socket
    import subprocess
    import threading

    client = signed_in(admin)
    token = upload(client, ORDERS_GBK)
    url = reverse("import_progress", args=[token])
    release = threading.Event()
    worker = threading.Thread(target=release.wait, daemon=True)  # stands in for the import
    worker.start()
    imports_services._threads[token] = worker
    here = {"pid": os.getpid(), "host": socket.gethostname()}
    try:
        imports_services._save_job(
            imports_services.Job(token, status="running", stage="write", done=50, total=100, **here)
        )
        fragment = client.get(url).content.decode()
        assert 'data-status="running"' in fragment
        assert 'hx-trigger="every 700ms"' in fragment
        assert 'value="55"' in fragment  # 10 % reading + half of the 90 % writing
        assert "50 / 100" in fragment
    finally:
        release.set()
        worker.join()
        imports_services._threads.pop(token, None)
    assert 'data-status="interrupted"' in client.get(url).content.decode()  # thread gone

    gone = subprocess.Popen(["true"])
    gone.wait()
    imports_services._save_job(
        imports_services.Job(token, status="running", pid=gone.pid, host=here["host"])
    )
    fragment = client.get(url).content.decode()
    assert 'data-status="interrupted"' in fragment
    assert "hx-trigger" not in fragment


# --- limits and retention ---------------------------------------------------------------------
@pytest.mark.django_db
def test_uploads_over_the_size_limit_or_not_a_table_are_refused_with_a_message(
    admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = signed_in(admin)
    monkeypatch.setenv("WINBACK_UPLOAD_MAX_BYTES", "2048")
    cases = [
        ("big.csv", b"customer_id\n" + b"A\n" * 5000, "文件超过0.00195 MB的上限"),
        ("tool.exe", b"MZ\x90\x00" + bytes(200), "只能导入CSV、TSV、TXT或XLSX文件"),
        ("tool.csv", b"MZ\x90\x00" + bytes(200), "文件内容不是CSV、TSV或XLSX表格"),
        ("fake.xlsx", b"customer_id\nA\n", "文件内容不是CSV、TSV或XLSX表格"),
    ]
    for name, data, expected in cases:
        response = client.post(
            reverse("imports"),
            {"kind": "customers", "file": SimpleUploadedFile(name, data)},
            follow=True,
        )
        assert response.status_code == 200
        assert expected in response.content.decode(), name
        assert len(response.content) < 200_000  # the page never echoes the upload
    uploads = imports_services.uploads_dir()
    assert not uploads.exists() or not any(uploads.iterdir())


@pytest.mark.django_db(transaction=True)
def test_purge_import_files_deletes_uploads_and_rejects_after_the_retention(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from winback.app.imports.retention import purge_import_files

    monkeypatch.setenv("WINBACK_IMPORT_FILE_RETENTION_DAYS", "30")
    client = signed_in(user("boss", Role.ADMIN))
    token = upload(client, "会员卡号,消费日期,实收金额\nVIP1,2024-01-05,10\nVIP2,oops,5\n".encode())
    job = run(client, token)
    batch = ImportBatch.objects.get(pk=job.batch_id)
    rejects = Path(batch.rejects_file)
    folder = imports_services.uploads_dir() / token
    assert rejects.is_file()
    assert folder.is_dir()

    kept = purge_import_files(timezone.now() + timedelta(days=29))
    assert (kept.uploads_deleted, kept.rejects_deleted) == (0, 0)
    assert rejects.is_file()
    assert folder.is_dir()

    purged = purge_import_files(timezone.now() + timedelta(days=31))
    assert (purged.uploads_deleted, purged.rejects_deleted) == (1, 1)
    assert purged.bytes_freed > 0
    assert not rejects.exists()
    assert not folder.exists()
    batch.refresh_from_db()
    assert batch.rejects_file == ""
    assert "rejects_file_purged" in batch.summary


@pytest.mark.django_db
def test_a_failed_batch_shows_its_one_line_reason_in_the_history(
    admin: User, tmp_path: Path
) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"customer_id,name\n" + "A,张三\n".encode() + "B,李四\n".encode("gbk"))
    with pytest.raises(ImportFileError):
        import_file("customers", path)
    client = signed_in(admin)
    chinese = client.get(reverse("imports")).content.decode()
    assert "第3行与第2行不一致" in chinese
    client.post(reverse("language"), {"language": "en", "next": reverse("imports")})
    english = client.get(reverse("imports")).content.decode()
    assert "line 3 disagrees with line 2" in english

"""`winback import KIND FILE`: import one CSV/TSV/XLSX export (R1)."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from winback.cli.common import console, django_setup, out, print_json
from winback.schema import IMPORT_KINDS

ImportKindArg = StrEnum(  # type: ignore[misc]
    "ImportKindArg", {k.replace("-", "_"): k for k in IMPORT_KINDS}
)


class Lang(StrEnum):
    zh = "zh"
    en = "en"


class Policy(StrEnum):
    stub = "stub"
    reject = "reject"


_LABELS = {
    "zh": {
        "read": "读取行数",
        "inserted": "新增",
        "updated": "更新",
        "unchanged": "未变化",
        "rejected": "拒绝",
        "stub_customers_created": "新建占位客户",
        "rejects_file": "拒绝明细文件",
        "unknown_columns": "未识别的列",
        "encoding": "编码",
        "date_order": "日期顺序",
        "dry_run": "试运行（未写入数据库）",
        "title": "导入结果",
        "reading": "读取与校验",
        "writing": "写入",
        "ambiguous": "（无法判断，按默认）",
    },
    "en": {
        "read": "rows read",
        "inserted": "inserted",
        "updated": "updated",
        "unchanged": "unchanged",
        "rejected": "rejected",
        "stub_customers_created": "stub customers created",
        "rejects_file": "rejects file",
        "unknown_columns": "unknown columns",
        "encoding": "encoding",
        "date_order": "day/month order",
        "dry_run": "dry run (nothing written)",
        "title": "Import result",
        "reading": "reading and checking",
        "writing": "writing",
        "ambiguous": " (undecidable, default assumed)",
    },
}


def register(app: typer.Typer, export_app: typer.Typer) -> None:
    @app.command("import")
    def import_command(
        kind: ImportKindArg = typer.Argument(..., help="What the file holds."),
        file: Path = typer.Argument(..., help="CSV, TSV or XLSX file."),
        mapping: Path | None = typer.Option(
            None, "--mapping", help="Column mapping: JSON {header: field} or CSV header,field."
        ),
        dry_run: bool = typer.Option(False, "--dry-run", help="Check and count, write nothing."),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
        lang: Lang | None = typer.Option(
            None, "--lang", help="Language of messages (default: WINBACK_LANGUAGE)."
        ),
        unknown_customers: Policy | None = typer.Option(
            None,
            "--unknown-customers",
            help="Orders of unknown customers: create stubs or reject (default: profile).",
        ),
        replace: bool = typer.Option(
            False,
            "--replace",
            help=(
                "Replace whole rows: columns the file lacks are emptied "
                "(default: update only the file's columns)."
            ),
        ),
    ) -> None:
        """Import a file; rejected rows go to a rejects file, nothing is silently dropped."""
        django_setup()
        from winback.app.imports.service import import_file
        from winback.ingest.messages import ImportFileError, check_lang

        language = lang.value if lang else _default_language()
        labels = _LABELS[language]
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            tasks: dict[str, TaskID] = {}

            def progress(stage: str, done: int, total: int) -> None:
                label = labels["reading"] if stage == "read" else labels["writing"]
                if stage not in tasks:
                    tasks[stage] = bar.add_task(label, total=total)
                bar.update(tasks[stage], completed=done, total=total)

            try:
                summary = import_file(
                    str(kind.value),
                    file,
                    mapping=mapping,
                    dry_run=dry_run,
                    lang=language,
                    progress=progress,
                    unknown_customer_policy=unknown_customers.value if unknown_customers else None,
                    replace=replace,
                )
            except ImportFileError as exc:
                bar.stop()
                message = exc.message(check_lang(language))
                if as_json:
                    print_json({"error": exc.code.value, "message": message})
                else:
                    console.print(f"[red]{message}[/red]")
                raise typer.Exit(2) from None
        if as_json:
            print_json(summary.to_dict())
            return
        _print_summary(summary.to_dict(), labels)


def _default_language() -> str:
    from django.conf import settings

    return "en" if str(settings.LANGUAGE_CODE).lower().startswith("en") else "zh"


def _print_summary(data: dict[str, object], labels: dict[str, str]) -> None:
    table = Table(title=labels["title"] + (f" - {labels['dry_run']}" if data["dry_run"] else ""))
    table.add_column("")
    table.add_column("", justify="right")
    for key in ("read", "inserted", "updated", "unchanged", "rejected", "stub_customers_created"):
        table.add_row(labels[key], f"{data[key]:,}")
    if data.get("encoding"):
        table.add_row(labels["encoding"], str(data["encoding"]))
    if data.get("date_order"):
        suffix = labels["ambiguous"] if data.get("date_order_ambiguous") else ""
        table.add_row(labels["date_order"], f"{data['date_order']}{suffix}")
    unknown = data.get("unknown_columns") or []
    if unknown:
        table.add_row(labels["unknown_columns"], ", ".join(map(str, unknown)))  # type: ignore[call-overload]
    if data.get("rejects_file"):
        table.add_row(labels["rejects_file"], str(data["rejects_file"]))
    out.print(table)
    sys.stdout.flush()

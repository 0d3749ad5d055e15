"""Call lists per agent as CSV and XLSX (R6, R13).

Every row carries the business's own customer id; phones are masked unless the role may see
them (:func:`winback.programme.privacy.phones_for_role`); text cells are guarded against
formula injection; every export leaves an audit entry (without any phone number).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from winback.app.contacts import gate
from winback.programme.contacts import honour_do_not_contact
from winback.programme.menus import OfferMenu
from winback.programme.privacy import phones_for_role
from winback.spreadsheet_safety import guard_frame
from winback.store.accounts.models import AuditLog, User
from winback.store.programme.models import Round
from winback.store.queries import rounds as rounds_store

UTF8_BOM = b"\xef\xbb\xbf"
COLUMNS = (
    "customer_id",
    "name",
    "phone",
    "agent",
    "planned_date",
    "next_due",
    "priority",
    "tier",
    "stage",
    "channel",
    "reason_code",
    "offers",
    "attempts",
    "task_id",
    "version",
)


def call_list(rnd: Round, *, on: date | None = None) -> pl.DataFrame:
    """The round's open tasks of customers the contact gate lets through on ``on`` (default
    today), in call order, phones unmasked."""
    frame = rounds_store.open_tasks(round_id=rnd.pk)
    menus = _menus(rnd)
    allowed = honour_do_not_contact(
        frame, frame.select("customer_pk", "do_not_contact", "consent_marketing")
    )
    allowed = gate.allowed_only(
        allowed.with_columns(round_id=pl.lit(rnd.pk, dtype=pl.Int64)), on=on or gate.today()
    ).drop("round_id")
    return (
        allowed.join(menus, on="task_id", how="left")
        .with_columns(offers=pl.col("offers").fill_null(""))
        .sort(["agent_id", "planned_date", "priority"])
    )


def _menus(rnd: Round) -> pl.DataFrame:
    rows = [
        (pk, " / ".join(OfferMenu.from_json(menu).codes))
        for pk, menu in rnd.tasks.values_list("pk", "offer_menu")
    ]
    return pl.DataFrame(rows, schema={"task_id": pl.Int64(), "offers": pl.String()}, orient="row")


def export_round(
    rnd: Round,
    out_dir: Path,
    *,
    role: str,
    user: User | None = None,
    reason: str = "",
    username: str = "",
) -> list[Path]:
    """Write one CSV and one XLSX call list per agent into ``out_dir``; returns the paths.
    ``username`` is the audit's name for the person (default the user's; the command line
    records ``user via cli:os-user``)."""
    viewer = user.pk if user is not None and role == "agent" else None
    calls = phones_for_role(call_list(rnd), role=role, viewer_agent_id=viewer)
    if role == "agent" and viewer is not None:
        calls = calls.filter(pl.col("agent_id") == viewer)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for (agent_id, agent), part in calls.group_by(["agent_id", "agent"], maintain_order=True):
        table = guard_frame(part.select(COLUMNS).with_columns(pl.col(pl.Date).cast(pl.String)))
        stem = f"round-{rnd.pk}-{rnd.month:%Y-%m}-{agent or agent_id}"
        paths.append(_write_csv(table, out_dir / f"{stem}.csv"))
        paths.append(_write_xlsx(table, out_dir / f"{stem}.xlsx"))
    AuditLog.objects.create(
        user=user,
        username=username or (user.username if user else ""),
        action="export_call_list",
        object_type="round",
        object_id=str(rnd.pk),
        reason=reason,
        detail={
            "role": role,
            "rows": calls.height,
            "files": [p.name for p in paths],
            "dir": str(out_dir.resolve()),
        },
    )
    return paths


def _write_csv(table: pl.DataFrame, path: Path) -> Path:
    with path.open("wb") as handle:
        handle.write(UTF8_BOM)  # spreadsheet programs then read Chinese text as UTF-8
        table.write_csv(handle, line_terminator="\r\n")
    return path


def _write_xlsx(table: pl.DataFrame, path: Path) -> Path:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("calls")
    sheet.append(list(table.columns))
    # openpyxl takes rows one at a time; there is no columnar path into a worksheet.
    for row in table.iter_rows():
        sheet.append(list(row))
    book.save(path)
    return path

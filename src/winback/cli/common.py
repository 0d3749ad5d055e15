"""Helpers shared by CLI commands."""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import Any

import typer
from rich.console import Console

from winback import periods

console = Console(stderr=True)
out = Console()


def django_setup() -> None:
    from winback.store.bootstrap import setup

    setup()


def parse_month(value: str) -> date:
    try:
        return periods.parse_month(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r}: use YYYY-MM") from None


def parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r}: use YYYY-MM-DD") from None


def print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, default=str, sort_keys=True) + "\n")


def os_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def operator(as_user: str | None, permission: str) -> Any:
    """The acting person for a command that hands out personal data: ``--as USER`` must name
    an active workbench user whose role may do it; refused (exit 2) otherwise."""
    from django.core.exceptions import PermissionDenied

    from winback.app.actors import Actor, Permission

    if not as_user:
        console.print("[red]Name the workbench user you act as: --as USER[/red]")
        raise typer.Exit(2)
    try:
        return Actor.operator(as_user, os_user(), Permission(permission))
    except PermissionDenied as exc:
        console.print(f"[red]Refused: {exc}[/red]")
        raise typer.Exit(2) from None


# Options shared by the commands that can run on Apache Spark (analyze, round plan).
SPARK_MASTER_OPTION: Any = typer.Option(
    None,
    "--master",
    help="Spark master: local[*] (default, or spark-submit's), yarn, k8s://https://HOST:PORT.",
)
SPARK_CONF_OPTION: Any = typer.Option(
    [], "--spark-conf", help="Spark setting key=value (repeatable), passed to the session."
)

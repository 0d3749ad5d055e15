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

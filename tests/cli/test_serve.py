"""`winback serve`: static files collected, then gunicorn started in place of the command."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from typer.testing import CliRunner

pytestmark = pytest.mark.django_db


def test_serve_collects_static_files_then_runs_gunicorn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import winback.cli.web as web
    from winback.cli import app

    calls: list[list[str]] = []

    def fake_execv(path: str, args: list[str]) -> Any:
        calls.append(args)
        raise SystemExit(0)

    monkeypatch.setattr("winback.store.bootstrap.setup", lambda migrate=True: None)
    monkeypatch.setattr(web.os, "execv", fake_execv)
    with override_settings(STATIC_ROOT=tmp_path / "static"):
        result = CliRunner().invoke(app, ["serve", "--port", "8123", "--host", "127.0.0.2"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "static" / "workbench" / "htmx.min.js").exists()
    (args,) = calls
    assert args[1:4] == ["-m", "gunicorn", "winback.web.wsgi:application"]
    assert args[args.index("--bind") + 1] == "127.0.0.2:8123"

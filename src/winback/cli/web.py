"""`winback serve`: the web workbench behind gunicorn."""

from __future__ import annotations

import os
import sys

import typer

from winback.cli.common import console

ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss'


def register(app: typer.Typer, export_app: typer.Typer) -> None:
    del export_app
    app.command()(serve)


def serve(
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (0.0.0.0 for all)."),
    workers: int = typer.Option(2, "--workers", help="gunicorn worker processes."),
) -> None:
    """Serve the workbench: migrate, collect static files, then run gunicorn."""
    from winback.store.bootstrap import setup

    setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)
    console.print(
        f"Winback workbench on http://{host}:{port}/ (static files in {settings.STATIC_ROOT})"
    )
    args = [
        sys.executable,
        "-m",
        "gunicorn",
        "winback.web.wsgi:application",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--access-logfile",
        "-",
        # the path without its query string or referrer: a search may hold a phone number
        "--access-logformat",
        ACCESS_LOG_FORMAT,
    ]
    os.execv(sys.executable, args)  # noqa: S606 - fixed argument list, no shell

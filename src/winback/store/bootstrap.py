"""Start Django for the CLI, scripts and benchmarks; create/migrate the database on first use."""

from __future__ import annotations

import os

_ready = False


def setup(migrate: bool = True) -> None:
    """Configure Django once; migrate the database chosen by WINBACK_DATABASE_URL if needed."""
    global _ready
    if _ready:
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "winback.web.settings")
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)
    _ready = True

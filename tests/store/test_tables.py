"""The store's table names: Django's own, and resolved only once Django is set up."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

from django.apps import apps

from winback.store.customers.models import Customer
from winback.store.tables import tables

SRC = Path(__file__).resolve().parents[2] / "src"


def test_every_name_is_the_table_of_an_installed_model() -> None:
    installed = {m._meta.db_table for m in apps.get_models()}
    names = asdict(tables())
    assert set(names.values()) <= installed
    assert len(set(names.values())) == len(names)  # no two fields share a table
    assert names["customer"] == Customer._meta.db_table


def test_sql_modules_import_before_django_is_set_up() -> None:
    # The CLI and the benchmarks import these before django.setup(); the names are read later.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(SRC)
    code = (
        "import winback.store.extract, winback.store.snapshots, winback.store.frames\n"
        "import django.apps\n"
        "assert not django.apps.apps.ready\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr

"""One data gateway: SQL lives in ``winback.store``, and its table names come from the models.

Outside the store (use cases, adapters, the pure core) no string names a Django table and
nothing opens a database cursor. Inside the store, SQL takes its table names from the models'
metadata, never from a literal. The table names are those of every installed model (Django's
own included), so a new model is covered without touching this test. Migrations are exempt:
they are the tables' history, written once.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "winback"
STORE = SRC / "store"


def table_names() -> set[str]:
    from django.apps import apps

    return {str(m._meta.db_table) for m in apps.get_models(include_auto_created=True)}


def table_pattern(names: set[str]) -> re.Pattern[str]:
    # A table name as a whole word: "customers_order" but not "customers_orderline".
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<![\w])({alternatives})(?![\w])")


def sources(root: Path, *, skip: tuple[Path, ...] = ()) -> list[Path]:
    return sorted(
        p
        for p in root.rglob("*.py")
        if "migrations" not in p.parts and not any(p.is_relative_to(s) for s in skip)
    )


def strings(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """Every string constant with its line, f-string parts and docstrings included."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


def table_literals(source: str, pattern: re.Pattern[str], where: str) -> list[str]:
    return [
        f"{where}:{line}: {match.group(1)}"
        for line, text in strings(ast.parse(source))
        for match in pattern.finditer(text)
    ]


def cursor_calls(source: str, where: str) -> list[str]:
    return [
        f"{where}:{node.lineno}: .cursor()"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "cursor"
    ]


def scan(paths: list[Path], check: Callable[[str, str], list[str]]) -> list[str]:
    found: list[str] = []
    for path in paths:
        where = str(path.relative_to(SRC.parent))
        found += check(path.read_text(encoding="utf-8"), where)
    return found


@pytest.fixture(scope="module")
def pattern() -> re.Pattern[str]:
    return table_pattern(table_names())


def test_the_table_list_covers_the_projects_and_djangos_models() -> None:
    names = table_names()
    assert {"customers_order", "programme_calltask", "accounts_user_groups"} <= names
    assert {"django_session", "auth_permission"} <= names


def test_the_scanner_finds_table_names_and_cursors() -> None:
    # The checks below pass only when they find nothing; here they must find something.
    pattern = table_pattern({"customers_order", "accounts_user"})
    source = (
        "SQL = 'SELECT id FROM customers_order o'\n"
        "LINES = f'FROM customers_orderline l JOIN {x} u'\n"
        "OTHER = 'accounts_user_groups'\n"
        "def f(x):\n"
        "    with connection.cursor() as c:\n"
        "        c.execute(f'SELECT 1 FROM accounts_user WHERE id = {x}')\n"
    )
    assert table_literals(source, pattern, "m.py") == [
        "m.py:1: customers_order",
        "m.py:6: accounts_user",
    ]
    assert cursor_calls(source, "m.py") == ["m.py:5: .cursor()"]


def test_outside_the_store_no_string_names_a_table(pattern: re.Pattern[str]) -> None:
    offenders = scan(
        sources(SRC, skip=(STORE,)),
        lambda source, where: table_literals(source, pattern, where),
    )
    assert offenders == [], "SQL belongs in winback.store:\n" + "\n".join(offenders)


def test_outside_the_store_nothing_opens_a_cursor() -> None:
    offenders = scan(sources(SRC, skip=(STORE,)), cursor_calls)
    assert offenders == [], "database access belongs in winback.store:\n" + "\n".join(offenders)


def test_store_sql_takes_table_names_from_the_models(pattern: re.Pattern[str]) -> None:
    offenders = scan(
        sources(STORE),
        lambda source, where: table_literals(source, pattern, where),
    )
    assert offenders == [], "use winback.store.tables (Model._meta.db_table):\n" + "\n".join(
        offenders
    )

"""Benchmarks are scripts outside the test run; at least every name they import must exist, and
every attribute they read from an imported project module, so a move or rename of project code
cannot leave a benchmark broken until someone runs it."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _problems(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules: dict[str, object] = {}
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("winback"):
            module = importlib.import_module(node.module or "")
            for alias in node.names:
                if not hasattr(module, alias.name):
                    try:
                        value = importlib.import_module(f"{node.module}.{alias.name}")
                    except ModuleNotFoundError:
                        problems.append(f"{path.name}:{node.lineno} {node.module}.{alias.name}")
                        continue
                else:
                    value = getattr(module, alias.name)
                modules[alias.asname or alias.name] = value
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and type(modules.get(node.value.id)).__name__ == "module"
            and not hasattr(modules[node.value.id], node.attr)
        ):
            problems.append(f"{path.name}:{node.lineno} {node.value.id}.{node.attr}")
    return problems


def test_every_project_name_a_benchmark_uses_exists() -> None:
    scripts = sorted((ROOT / "benchmarks").glob("*.py"))
    assert len(scripts) >= 5
    problems = [p for script in scripts for p in _problems(script)]
    assert not problems, problems

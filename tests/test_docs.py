"""The documentation keeps up with the code: every command and every setting is described."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def _command_paths(command: Any, prefix: tuple[str, ...] = ()) -> list[str]:
    subcommands = getattr(command, "commands", None)
    if subcommands:
        paths: list[str] = []
        for name, sub in subcommands.items():
            paths += _command_paths(sub, (*prefix, name))
        return paths
    return [" ".join(prefix)]


def test_every_cli_command_is_documented() -> None:
    from winback.cli import app

    commands = _command_paths(typer.main.get_command(app))
    assert len(commands) >= 5, commands
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    missing = [c for c in commands if f"winback {c}" not in text]
    assert not missing, f"commands missing from docs/cli.md: {missing}"


def test_every_setting_is_documented() -> None:
    used: set[str] = set()
    for path in (ROOT / "src").rglob("*.py"):
        used |= set(re.findall(r"\"(WINBACK_[A-Z_]+)\"", path.read_text(encoding="utf-8")))
    assert "WINBACK_DATABASE_URL" in used
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    missing = sorted(name for name in used if f"`{name}`" not in text)
    assert not missing, f"settings missing from docs/configuration.md: {missing}"


def test_readme_opens_with_the_two_commands() -> None:
    head = (ROOT / "README.md").read_text(encoding="utf-8")[:1500]
    assert "make demo" in head
    assert "make test" in head


def test_doc_links_resolve() -> None:
    broken = []
    for md in [ROOT / "README.md", *DOCS.rglob("*.md")]:
        for target in re.findall(r"\]\(([^)#:]+)\)", md.read_text(encoding="utf-8")):
            if not (md.parent / target).exists():
                broken.append(f"{md.relative_to(ROOT)} -> {target}")
    assert not broken, broken


def test_architecture_names_real_modules_and_functions() -> None:
    """Every dotted name docs/architecture.md mentions exists: the walk stays true."""
    import importlib

    text = (DOCS / "architecture.md").read_text(encoding="utf-8")
    names = set(re.findall(r"`(winback(?:\.[A-Za-z_]+)+)", text))
    names |= set(re.findall(r"(?<![\w.`])(winback(?:\.[A-Za-z_]+)+)", text))
    assert len(names) >= 20, names
    missing = []
    for name in sorted(names):
        parts = name.split(".")
        for cut in range(len(parts), 0, -1):
            try:
                obj: Any = importlib.import_module(".".join(parts[:cut]))
            except ModuleNotFoundError:
                continue
            try:
                for attr in parts[cut:]:
                    obj = getattr(obj, attr)
            except AttributeError:
                missing.append(name)
            break
        else:
            missing.append(name)
    assert not missing, f"docs/architecture.md names what does not exist: {missing}"

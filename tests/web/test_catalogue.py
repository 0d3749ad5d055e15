"""The zh-Hans catalogue is complete, current and compiled.

Chinese supervisors and agents must never meet an English sentence because a string was added
to the code and not to the catalogue, left fuzzy, or translated in the .po but not compiled.
``scripts/update-catalogue.sh`` (``make messages``) regenerates and compiles the catalogue.
"""

from __future__ import annotations

import ast
import os
import shutil
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "winback"
SCRIPT = ROOT / "scripts" / "update-catalogue.sh"
MESSAGES = Path("web", "locale", "zh_Hans", "LC_MESSAGES")
PO = PACKAGE / MESSAGES / "django.po"
MO = PO.with_suffix(".mo")
GETTEXT_CALLS = {"_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "pgettext"}


@dataclass(frozen=True)
class Entry:
    msgid: str
    context: str | None
    translations: tuple[str, ...]  # msgstr, or msgstr[0..n] of a plural
    flags: frozenset[str]
    obsolete: bool


def read_po(path: Path) -> list[Entry]:
    """The catalogue's entries (the header included, as msgid "")."""
    entries: list[Entry] = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        fields: dict[str, str] = {}
        flags: set[str] = set()
        key = ""
        obsolete = False
        for line in block.splitlines():
            if line.startswith("#~"):
                obsolete = True
                line = line[2:].strip()
            if line.startswith("|"):  # an obsolete entry's previous msgid
                continue
            if line.startswith("#,"):
                flags.update(flag.strip() for flag in line[2:].split(","))
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                fields[key] += ast.literal_eval(line)
            elif line.strip():
                key, _, literal = line.partition(" ")
                fields[key] = ast.literal_eval(literal)
        if "msgid" in fields:
            translations = tuple(v for k, v in sorted(fields.items()) if k.startswith("msgstr"))
            entries.append(
                Entry(
                    fields["msgid"], fields.get("msgctxt"), translations, frozenset(flags), obsolete
                )
            )
    return entries


def read_mo(path: Path) -> dict[str, str]:
    """A compiled catalogue's messages (GNU .mo format: two tables of (length, offset))."""
    data = path.read_bytes()
    order = "<" if data[:4] == b"\xde\x12\x04\x95" else ">"
    _revision, count, originals, translations = struct.unpack(order + "4I", data[4:20])

    def string(table: int, index: int) -> str:
        length, offset = struct.unpack(
            order + "2I", data[table + 8 * index : table + 8 * index + 8]
        )
        return data[offset : offset + length].decode("utf-8")

    return {string(originals, i): string(translations, i) for i in range(count)}


def msgids(path: Path) -> set[tuple[str | None, str]]:
    return {(e.context, e.msgid) for e in read_po(path) if e.msgid and not e.obsolete}


def test_every_entry_is_translated_and_none_is_fuzzy_or_obsolete() -> None:
    entries = [e for e in read_po(PO) if e.msgid]
    assert len(entries) > 600  # the parser read the catalogue
    untranslated = [e.msgid for e in entries if not all(t.strip() for t in e.translations)]
    fuzzy = [e.msgid for e in entries if "fuzzy" in e.flags]
    obsolete = [e.msgid for e in entries if e.obsolete]
    assert untranslated == [], "translate these, then run scripts/update-catalogue.sh"
    assert fuzzy == [], "check these translations and remove their '#, fuzzy' flag"
    assert obsolete == [], "run scripts/update-catalogue.sh: it drops strings no longer used"


def test_the_catalogue_holds_exactly_the_strings_of_the_code(tmp_path: Path) -> None:
    """The update script, run on a copy of the package, finds the same msgids as the .po."""
    copy = tmp_path / "src" / "winback"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "var"))
    (tmp_path / "scripts").mkdir()
    shutil.copy(SCRIPT, tmp_path / "scripts" / SCRIPT.name)
    env = {**os.environ, "PYTHON": sys.executable, "WINBACK_DATA_DIR": str(tmp_path / "data")}
    subprocess.run(
        ["bash", str(tmp_path / "scripts" / SCRIPT.name)],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    in_code = msgids(copy / MESSAGES / "django.po")
    committed = msgids(PO)
    assert sorted(in_code - committed) == [], "new strings: run scripts/update-catalogue.sh"
    assert sorted(committed - in_code) == [], "strings no longer used: run the script"


def test_the_compiled_catalogue_matches_the_po(tmp_path: Path) -> None:
    compiled = tmp_path / "django.mo"
    subprocess.run(
        ["msgfmt", "--check-format", "--output-file", str(compiled), str(PO)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    expected = read_mo(compiled)
    assert len(expected) > 600
    committed = read_mo(MO)
    stale = sorted(
        m for m in expected.keys() | committed.keys() if expected.get(m) != committed.get(m)
    )
    assert stale == [], "the .mo is stale: run scripts/update-catalogue.sh"


def test_no_translatable_string_hides_in_an_f_string() -> None:
    """xgettext does not look inside f-strings: a gettext call there never reaches the .po."""
    hidden = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fstring in (n for n in ast.walk(tree) if isinstance(n, ast.JoinedStr)):
            for call in (n for n in ast.walk(fstring) if isinstance(n, ast.Call)):
                name = getattr(call.func, "id", getattr(call.func, "attr", ""))
                if name in GETTEXT_CALLS:
                    hidden.append(f"{path.relative_to(PACKAGE)}:{call.lineno}")
    assert hidden == []

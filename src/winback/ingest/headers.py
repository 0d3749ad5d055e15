"""Map a file's header cells to contract fields: synonyms (zh/en) plus a user mapping file.

Headers are compared after normalisation (Unicode NFKC, so full-width letters and digits become
half-width; case folding; runs of spaces and punctuation collapsed to one space). A header
carrying a unit in brackets, e.g. ``实收金额（元）``, matches ``实收金额`` on a second try.
Unknown columns are reported, never fatal; a missing required column refuses the whole file.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from winback.ingest.messages import FileError, ImportFileError
from winback.schema import ImportContract

_PUNCT = re.compile(r"[\s_\-\.\/\\\(\)\[\]\{\}:;,、#·'\"`~!?*+=|<>【】（）：；，。！？《》“”‘’]+")
_BRACKETED = re.compile(r"[\(\[（【][^\)\]）】]*[\)\]）】]")
_INVISIBLE = re.compile("[\ufeff\u200b\u200c\u200d\u2060]")
IGNORE = ""  # a mapping to the empty field name means "ignore this column"


def normalise_label(text: str) -> str:
    """Canonical spelling of a header or a choice value; idempotent (a fixed point)."""
    current = text
    for _ in range(8):
        step = _INVISIBLE.sub("", unicodedata.normalize("NFKC", current)).casefold()
        step = _PUNCT.sub(" ", step).strip()
        if step == current:
            return step
        current = step
    return current


def _shortened(headers: Iterable[str], limit: int = 80) -> str:
    """Headers joined for a message, each and all cut short (no echo of huge input)."""
    cut = [h if len(h) <= limit else h[: limit - 1] + "…" for h in headers]
    text = ", ".join(cut)
    return text if len(text) <= 4 * limit else text[: 4 * limit - 1] + "…"


def _without_units(text: str) -> str:
    return normalise_label(_BRACKETED.sub(" ", unicodedata.normalize("NFKC", text)))


@dataclass(frozen=True)
class HeaderMap:
    """Which source column feeds which field, and what was left over."""

    fields: dict[str, int]  # field name -> column index
    headers: tuple[str, ...]
    unknown: tuple[str, ...] = ()
    duplicates: tuple[str, ...] = ()  # columns naming a field another column already feeds
    ignored: tuple[str, ...] = ()

    def source(self, field_name: str) -> str:
        return self.headers[self.fields[field_name]]

    @property
    def mapped(self) -> dict[str, str]:
        return {self.headers[i]: name for name, i in self.fields.items()}


@dataclass(frozen=True)
class UserMapping:
    """A user's ``source header -> field`` choices (normalised source headers)."""

    pairs: dict[str, str] = field(default_factory=dict)


def synonym_table(contract: ImportContract) -> dict[str, str]:
    """Normalised spelling -> field; a field's own name counts; earlier fields win clashes."""
    table: dict[str, str] = {}
    for f in contract.fields:
        for spelling in (f.name, *f.synonyms):
            table.setdefault(normalise_label(spelling), f.name)
    return table


def load_mapping(path: Path, contract: ImportContract) -> UserMapping:
    """JSON ``{"source": "field"}`` (or a list of pairs) or CSV ``source_header,field``."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportFileError(FileError.BAD_MAPPING, detail=str(exc)) from None
    from winback.ingest.decode import decode_bytes

    text = decode_bytes(raw).data.decode("utf-8")
    pairs = _parse_json_mapping(text) if text.lstrip()[:1] in "{[" else _parse_csv_mapping(text)
    unknown = sorted({f for f in pairs.values() if f != IGNORE and f not in contract.names})
    if unknown:
        raise ImportFileError(
            FileError.BAD_MAPPING,
            detail=f"unknown field(s) {', '.join(unknown)}; fields: {', '.join(contract.names)}",
        )
    return UserMapping({normalise_label(src): dst for src, dst in pairs.items()})


def _parse_json_mapping(text: str) -> dict[str, str]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFileError(FileError.BAD_MAPPING, detail=str(exc)) from None
    items = data.items() if isinstance(data, dict) else data
    try:
        return {str(src): "" if dst is None else str(dst).strip() for src, dst in items}
    except (TypeError, ValueError):
        raise ImportFileError(
            FileError.BAD_MAPPING, detail='use {"source header": "field", ...}'
        ) from None


def _parse_csv_mapping(text: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for row in csv.reader(io.StringIO(text)):
        if not row or not row[0].strip():
            continue
        if len(row) < 2:
            raise ImportFileError(FileError.BAD_MAPPING, detail=f"row {row!r}: need two columns")
        src, dst = row[0].strip(), row[1].strip()
        if (normalise_label(src), normalise_label(dst)) == ("source header", "field"):
            continue
        pairs[src] = dst
    return pairs


def map_headers(
    headers: tuple[str, ...],
    contract: ImportContract,
    mapping: UserMapping | None = None,
    *,
    non_empty_columns: frozenset[int] = frozenset(),
) -> HeaderMap:
    """Assign columns to fields; the left-most column wins when two name the same field."""
    synonyms = synonym_table(contract)
    user = mapping.pairs if mapping else {}
    fields: dict[str, int] = {}
    unknown: list[str] = []
    duplicates: list[str] = []
    ignored: list[str] = []
    for index, header in enumerate(headers):
        key = normalise_label(header)
        target = user.get(key)
        if target is None:
            target = synonyms.get(key) or synonyms.get(_without_units(header))
        if target == IGNORE:
            ignored.append(header)
        elif target is None:
            if header or index in non_empty_columns:
                unknown.append(header or f"#{index + 1}")
        elif target in fields:
            duplicates.append(header)
        else:
            fields[target] = index
    missing = [f.name for f in contract.fields if f.required and f.name not in fields]
    if missing:
        raise ImportFileError(
            FileError.MISSING_COLUMNS,
            columns=", ".join(missing),
            found=_shortened(h for h in headers if h) or "-",
        )
    return HeaderMap(fields, headers, tuple(unknown), tuple(duplicates), tuple(ignored))

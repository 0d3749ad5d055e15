"""The Chinese font the PDF report embeds, and the check that a PDF really embeds it.

A PDF laid out without a CJK font shows every Chinese character as an empty box, and nothing
in WeasyPrint complains: it falls back to whatever font the machine has. So the report names
its font explicitly (an ``@font-face`` rule pointing at a file) and every PDF is checked after
it is made, before it is written or served (:func:`check_pdf`).

Where the font comes from, first found wins:

1. ``WINBACK_CJK_FONT``: a font file (``.otf``/``.ttf``, or a ``.ttc``/``.otc`` collection,
   whose Simplified Chinese face is used);
2. the Noto Sans CJK collection installed with the project (the ``noto-cjk-sans-otc`` package,
   SIL Open Font License 1.1; see ``docs/decisions/0042-cjk-font.md``);
3. the Debian or Fedora Noto Sans CJK / Source Han Sans files, where the machine has them.

A face inside a collection is copied once into a file of its own (WeasyPrint and fontconfig
would otherwise pick the collection's first face, the Japanese one), under
``$XDG_CACHE_HOME/winback/fonts``.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any

FAMILY = "Noto Sans CJK SC"  # the family the report's CSS and charts ask for
ENV = "WINBACK_CJK_FONT"
# Characters every Chinese report shows: a font without them is not a Chinese font.
PROBE = "中文报告客户流失挽回轮次，。：（）"
SYSTEM_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/source-han-sans/SourceHanSansSC-Regular.otf",
)
CJK = re.compile(r"[\u4e00-\u9fff]")


class MissingCJKFont(RuntimeError):
    """No usable Chinese font, or a PDF that does not embed one."""


@dataclass(frozen=True)
class CJKFont:
    path: Path  # a single-face font file
    postscript_name: str  # e.g. NotoSansCJKsc-Regular, the name a PDF's BaseFont carries
    source: str  # where it came from: the setting, the package or the system
    fingerprint: str  # changes when the font file changes

    def css(self) -> str:
        """The ``@font-face`` rule that makes the report's font family this file."""
        return f'@font-face {{ font-family: "{FAMILY}"; src: url("{self.path.as_uri()}"); }}\n'


def _packaged() -> Path | None:
    try:
        import noto_cjk_sans_otc
    except ImportError:
        return None
    path = Path(str(noto_cjk_sans_otc.FONT_PATH))
    return path if path.is_file() else None


def candidates() -> list[tuple[Path, str]]:
    """Font files to try, in order, each with where it came from."""
    found: list[tuple[Path, str]] = []
    configured = os.environ.get(ENV, "").strip()
    if configured:
        return [(Path(configured).expanduser(), ENV)]
    packaged = _packaged()
    if packaged is not None:
        found.append((packaged, "noto-cjk-sans-otc"))
    found.extend((Path(p), "system") for p in SYSTEM_FONTS if Path(p).is_file())
    return found


def find_font() -> CJKFont:
    """The CJK font for PDFs, or :class:`MissingCJKFont` saying how to get one."""
    tried = []
    for path, source in candidates():
        if not path.is_file():
            tried.append(f"{path} ({source}): no such file")
            continue
        stat = path.stat()
        try:
            return _prepare(str(path), source, stat.st_size, stat.st_mtime_ns)
        except MissingCJKFont as exc:
            tried.append(f"{path} ({source}): {exc}")
    raise MissingCJKFont(
        "No Chinese font for the PDF report, so its Chinese text would print as empty boxes. "
        "Install the project again (pip install -e . brings the noto-cjk-sans-otc font package), "
        f"or install fonts-noto-cjk (Debian), or set {ENV} to a Noto Sans CJK SC / Source Han "
        "Sans SC font file. Tried: " + ("; ".join(tried) or "nothing found")
    )


@lru_cache(maxsize=8)
def _prepare(path: str, source: str, size: int, mtime_ns: int) -> CJKFont:
    from fontTools.ttLib import TTCollection, TTFont

    fingerprint = hashlib.sha256(f"{path}|{size}|{mtime_ns}".encode()).hexdigest()[:16]
    with Path(path).open("rb") as f:
        magic = f.read(4)
    if magic == b"ttcf":
        faces = TTCollection(path, lazy=True).fonts
        index = _simplified_face(faces)
        face = faces[index]
        if not _covers(face):
            raise MissingCJKFont("it has no Chinese characters")
        name = str(face["name"].getDebugName(6))
        out = _cache_dir() / f"{name}-{fingerprint}.otf"
        if not out.is_file():
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_name(out.name + f".{os.getpid()}.part")
            face.save(str(tmp))
            tmp.replace(out)
        return CJKFont(out, name, source, fingerprint)
    try:
        font = TTFont(path, lazy=True)
    except Exception as exc:  # not a font file at all
        raise MissingCJKFont(f"not a font file ({exc})") from None
    if not _covers(font):
        raise MissingCJKFont("it has no Chinese characters")
    return CJKFont(Path(path), str(font["name"].getDebugName(6)), source, fingerprint)


def _simplified_face(faces: list[Any]) -> int:
    names = [str(f["name"].getDebugName(6) or "") for f in faces]
    for want in ("CJKsc-Regular", "SC-Regular", "CJKsc", "SC"):
        for i, name in enumerate(names):
            if want in name and "Mono" not in name:
                return i
    return 0


def _covers(font: Any) -> bool:
    cmap = font.getBestCmap() or {}
    return all(ord(ch) in cmap for ch in PROBE)


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "winback" / "fonts"


def embedded_fonts(pdf: bytes) -> dict[str, bool]:
    """Every font a PDF uses, by PostScript name (subset prefix removed): whether it is embedded."""
    from pypdf import PdfReader
    from pypdf.generic import DictionaryObject, IndirectObject

    reader = PdfReader(BytesIO(pdf))
    found: dict[str, bool] = {}
    seen: set[int] = set()

    def resolve(obj: Any) -> Any:
        return obj.get_object() if isinstance(obj, IndirectObject) else obj

    def visit_font(font: DictionaryObject) -> None:
        base = str(font.get("/BaseFont", "")).lstrip("/")
        base = base.split("+", 1)[-1]
        descriptor = resolve(font.get("/FontDescriptor"))
        embedded = isinstance(descriptor, DictionaryObject) and any(
            k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")
        )
        for child in resolve(font.get("/DescendantFonts")) or []:
            child = resolve(child)
            if isinstance(child, DictionaryObject):
                desc = resolve(child.get("/FontDescriptor"))
                embedded = embedded or (
                    isinstance(desc, DictionaryObject)
                    and any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3"))
                )
        if base:
            found[base] = found.get(base, False) or embedded

    def visit_resources(resources: Any) -> None:
        resources = resolve(resources)
        if not isinstance(resources, DictionaryObject) or id(resources) in seen:
            return
        seen.add(id(resources))
        for font in (resolve(resources.get("/Font")) or {}).values():
            font = resolve(font)
            if isinstance(font, DictionaryObject):
                visit_font(font)
        for xobject in (resolve(resources.get("/XObject")) or {}).values():
            xobject = resolve(xobject)
            if isinstance(xobject, DictionaryObject) and "/Resources" in xobject:
                visit_resources(xobject["/Resources"])
        for pattern in (resolve(resources.get("/Pattern")) or {}).values():
            pattern = resolve(pattern)
            if isinstance(pattern, DictionaryObject) and "/Resources" in pattern:
                visit_resources(pattern["/Resources"])

    for page in reader.pages:
        visit_resources(page.get("/Resources"))
    return found


def pdf_text(pdf: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(BytesIO(pdf)).pages)


def check_pdf(pdf: bytes, lang: str, font: CJKFont | None = None) -> None:
    """Raise :class:`MissingCJKFont` unless the PDF embeds a CJK font (the report's, when
    ``font`` is given) and, in Chinese, its text reads back as Chinese."""
    fonts = embedded_fonts(pdf)
    # WeasyPrint names an embedded font after its family ("Noto-Sans-CJK-SC"), other tools
    # after its PostScript name ("NotoSansCJKsc-Regular").
    wanted = {FAMILY.replace(" ", "-"), FAMILY.replace(" ", "")}
    if font is not None:
        wanted.add(font.postscript_name)
    cjk = [
        name
        for name, embedded in fonts.items()
        if embedded and any(name == w or name.startswith(w + "-") for w in wanted)
    ]
    if not cjk:
        raise MissingCJKFont(
            f"The PDF does not embed the Chinese font {FAMILY} "
            f"(it embeds: {', '.join(sorted(fonts)) or 'none'}); "
            "its Chinese text would print as empty boxes, so it is not written or served."
        )
    if lang == "zh" and not CJK.search(pdf_text(pdf)):
        raise MissingCJKFont("The Chinese PDF's text does not read back as Chinese.")


def main() -> int:
    """``python -m winback.reporting.fonts``: which Chinese font PDFs embed, or why none."""
    try:
        font = find_font()
    except MissingCJKFont as exc:
        print(exc)
        return 1
    print(f"{font.postscript_name} ({font.source}): {font.path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

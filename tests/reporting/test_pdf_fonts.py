"""A PDF is never made without the Chinese font embedded (defect: the demo's Chinese PDF was
written before any CJK font was on the machine and showed empty boxes).

Each rendering runs in a child process whose fontconfig knows one folder only, holding a Latin
font (DejaVu Sans): a machine without the Debian CJK fonts. There, the font installed with the
project must give a PDF that embeds it and reads back as Chinese; a Latin font alone must be
refused with a clear message, both when it is configured and when the PDF comes out without
the CJK font.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from winback.reporting import fonts

pytestmark = pytest.mark.slow

LATIN = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
HTML = (
    '<html lang="zh-Hans"><body><h1>二〇二六年十月 月度报告</h1><p>挽回客户 1,234 名，'
    "ROI 12%。</p></body></html>"
)
CHILD = textwrap.dedent(
    """
    import json, sys
    from winback.reporting import fonts
    from winback.reporting.render_pdf import html_to_pdf
    mode, html, out = sys.argv[1], sys.argv[2], sys.argv[3]
    try:
        if mode == "latin-face":  # the report's font replaced by a Latin one, check on
            font = fonts.CJKFont(fonts.Path(sys.argv[4]), "DejaVuSans", "test", "x")
            pdf = html_to_pdf(html, "zh", font)
        else:
            pdf = html_to_pdf(html, "zh")
    except fonts.MissingCJKFont as exc:
        print(json.dumps({"refused": str(exc)}))
        raise SystemExit(0)
    open(out, "wb").write(pdf)
    print(json.dumps({"font": fonts.find_font().source if mode != "latin-face" else ""}))
    """
)


def latin_only_machine(tmp_path: Path) -> dict[str, str]:
    """Environment for a child process whose fontconfig sees DejaVu Sans and nothing else."""
    if not LATIN.is_file():
        pytest.fail("DejaVu Sans is not installed: run `make system-deps` (fonts-dejavu-core)")
    folder = tmp_path / "fonts"
    folder.mkdir()
    shutil.copy(LATIN, folder / LATIN.name)
    conf = tmp_path / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        f"<dir>{folder}</dir><cachedir>{tmp_path / 'fc-cache'}</cachedir></fontconfig>"
    )
    env = {k: v for k, v in os.environ.items() if k != fonts.ENV}
    env["FONTCONFIG_FILE"] = str(conf)
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    return env


def run_child(env: dict[str, str], mode: str, out: Path, *extra: str) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, mode, HTML, str(out), *extra],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    result: dict[str, str] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_the_latin_only_machine_has_no_cjk_font(tmp_path: Path) -> None:
    env = latin_only_machine(tmp_path)
    listed = subprocess.run(
        ["fc-list", ":lang=zh"], env=env, capture_output=True, text=True, check=True
    )
    assert listed.stdout.strip() == ""


def test_the_installed_font_gives_a_chinese_pdf_without_system_cjk_fonts(
    tmp_path: Path,
) -> None:
    packaged = fonts._packaged()
    assert packaged is not None, "the noto-cjk-sans-otc package is a dependency"
    env = latin_only_machine(tmp_path)
    env[fonts.ENV] = str(packaged)  # only the font installed with the project
    out = tmp_path / "report.pdf"
    result = run_child(env, "bundled", out)
    assert "refused" not in result, result
    pdf = out.read_bytes()
    embedded = fonts.embedded_fonts(pdf)
    assert embedded.get("Noto-Sans-CJK-SC") is True, embedded
    text = fonts.pdf_text(pdf)
    assert "月度报告" in text
    assert "挽回客户" in text


def test_a_latin_font_is_refused_when_configured(tmp_path: Path) -> None:
    env = latin_only_machine(tmp_path)
    env[fonts.ENV] = str(LATIN)
    out = tmp_path / "report.pdf"
    result = run_child(env, "configured", out)
    assert "no Chinese characters" in result["refused"]
    assert fonts.ENV in result["refused"]  # the message says how to fix it
    assert not out.exists()


def test_a_pdf_without_the_cjk_font_is_refused(tmp_path: Path) -> None:
    env = latin_only_machine(tmp_path)
    out = tmp_path / "report.pdf"
    result = run_child(env, "latin-face", out, str(LATIN))
    assert "does not embed the Chinese font" in result["refused"], result
    assert not out.exists()


def test_a_latin_font_file_is_not_a_cjk_font(monkeypatch: pytest.MonkeyPatch) -> None:
    if not LATIN.is_file():
        pytest.fail("DejaVu Sans is not installed: run `make system-deps` (fonts-dejavu-core)")
    monkeypatch.setenv(fonts.ENV, str(LATIN))
    with pytest.raises(fonts.MissingCJKFont, match="no Chinese characters"):
        fonts.find_font()
    monkeypatch.setenv(fonts.ENV, "/no/such/font.otf")
    with pytest.raises(fonts.MissingCJKFont, match="no such file"):
        fonts.find_font()


def test_the_collection_face_is_the_simplified_chinese_one() -> None:
    font = fonts.find_font()
    assert font.postscript_name == "NotoSansCJKsc-Regular"
    assert font.path.is_file()

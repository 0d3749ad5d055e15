"""Fail unless every JUnit report exists, ran tests and records no failure or error.

    python3 scripts/junit-gate.py REPORT.xml [REPORT.xml ...]

Standard library only: it runs with the system Python, after `make test`.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def counts(path: Path) -> dict[str, int]:
    root = ET.parse(path).getroot()  # noqa: S314  pytest's own report
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    keys = ("tests", "failures", "errors", "skipped")
    return {k: sum(int(s.get(k, 0)) for s in suites) for k in keys}


def main(paths: list[str]) -> int:
    if not paths:
        print("junit-gate: no report given", file=sys.stderr)
        return 2
    ok = True
    for name in paths:
        path = Path(name)
        if not path.is_file():
            print(f"junit-gate: {path}: missing (the pass did not run)", file=sys.stderr)
            ok = False
            continue
        c = counts(path)
        ran = c["tests"] - c["skipped"]
        print(
            f"junit-gate: {path}: {c['tests']} tests, {ran} ran, {c['skipped']} skipped, "
            f"{c['failures']} failed, {c['errors']} errors"
        )
        if ran <= 0 or c["failures"] or c["errors"]:
            print(f"junit-gate: {path}: refused", file=sys.stderr)
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Peak memory of reading hostile import files: a huge cell, a huge header, and an ordinary
file of the same size for comparison.

Each case runs in a fresh Python process (``winback.ingest.pipeline.prepare``: read, decode,
split, map, validate; no database), and the child's peak resident set size is printed, with
the outcome (rows kept, or the refusal's message cut short). Point ``--src`` at another
checkout's ``src`` to measure it the same way (e.g. before a change). Prints; asserts nothing.

    .venv/bin/python benchmarks/import_limits.py [--mb 200] [--src src]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from winback.ingest.messages import ImportFileError
from winback.ingest.pipeline import prepare
started = time.perf_counter()
try:
    p = prepare(sys.argv[1], Path(sys.argv[2]))
    outcome = f"read {p.read:,} rows, kept {p.rows.height:,}, rejected {p.rejects.height:,}"
except ImportFileError as exc:
    outcome = "refused: " + exc.message("en")[:90]
except Exception as exc:  # what a case does before the limits exist
    outcome = f"crashed: {type(exc).__name__}: {str(exc)[:80]}"
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"peak_mb": round(peak), "seconds": round(time.perf_counter() - started, 2),
                  "outcome": outcome, "message_chars": len(outcome)}))
"""


def _write(folder: Path, mb: int) -> dict[str, tuple[str, Path]]:
    size = mb * 1024 * 1024
    cell = folder / "huge_cell.csv"
    with cell.open("wb") as fh:
        fh.write(b"customer_id,notes\nA1,")
        for _ in range(mb):
            fh.write(b"x" * (1024 * 1024))
        fh.write(b"\nA2,fine\n")
    header = folder / "huge_header.csv"
    with header.open("wb") as fh:
        fh.write(b"customer_id,")
        for _ in range(mb):
            fh.write(b"H" * (1024 * 1024))
        fh.write(b"\nA1,x\n")
    ordinary = folder / "ordinary.csv"
    line = b"C%08d,name,13800000000,note note note note note note note note note note\n"
    per_block = 10_000
    rows = size // len(line % 0)
    with ordinary.open("wb") as fh:
        fh.write(b"customer_id,name,phone,notes\n")
        for start in range(0, rows, per_block):
            fh.write(b"".join(line % i for i in range(start, min(start + per_block, rows))))
    return {
        f"one {mb} MB cell": ("customers", cell),
        f"one {mb} MB header": ("customers", header),
        f"ordinary {mb} MB file": ("customers", ordinary),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--src", type=Path, default=Path(__file__).resolve().parents[1] / "src")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(args.src.resolve())}
    with tempfile.TemporaryDirectory() as tmp:
        cases = _write(Path(tmp), args.mb)
        print(f"source: {args.src.resolve()}")
        print(f"{'case':28s} {'peak RSS':>9s} {'seconds':>8s}  outcome")
        for name, (kind, path) in cases.items():
            done = subprocess.run(
                [sys.executable, "-c", CHILD, kind, str(path)],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                print(
                    f"{name:28s} {'-':>9s} {'-':>8s}  exit {done.returncode}: {done.stderr[-200:]}"
                )
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"{name:28s} {r['peak_mb']:>6d} MB {r['seconds']:>8.2f}  {r['outcome']}")


if __name__ == "__main__":
    main()

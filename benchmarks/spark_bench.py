"""Scale benchmark: generate the data lake at 1M / 3M / 10M customers and analyse it.

For each size the lake is generated once (``winback.simulate.lake.generate_lake``, parallel over
100,000-customer chunks) and cached under ``--cache`` (reused while its manifest matches), then
analysed by

* the DuckDB engine, in-process from ``winback.analytics.lake.read_lake`` (the default engine;
  the pipeline picks DuckDB above 500,000 orders), and
* Spark ``local[2]`` if ``winback.analytics.spark_engine`` is importable (``session``,
  ``read_tables``, ``cut_tables``, ``analyze``; the snapshot is written to Parquet).

Every phase runs in a child process watched with psutil every 0.1 s, so the figures are the
phase's own: wall time, peak RSS of the child (the driver) and, for Spark, of the JVM under it
(local mode runs the executors inside that JVM), and the peak of the whole process tree.
customers/s/core divides by the cores the phase may use (``--workers`` for generation, the
machine's cores for DuckDB, 2 for ``local[2]``); on a shared machine that understates what a
core does, so the CPU time of the phase's process tree (user + system, from the kernel's
accounting of waited-for children, or the sum of the tree's processes' own times sampled with
psutil when larger: PySpark does not wait for its JVM) and customers per CPU second are
printed too, with the 1-minute load average when the phase ended.

    nice python benchmarks/spark_bench.py --sizes 1M --engines duckdb
    nice python benchmarks/spark_bench.py --sizes 1M,3M,10M --cache var/lake-bench --workers 2

Prints one table; ``--json FILE`` also writes the rows. The load average at the start and end is
printed, as the machine may be shared.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
END = date(2026, 10, 31)
MONTHS = 36
SEED = 7
INDUSTRY = "retail"
SPARK_MODULE = "winback.analytics.spark_engine"
MiB = 1024 * 1024
SOURCES = [str(ROOT / "src")]  # --src: where the phases import winback from


@dataclass
class Row:
    size: int
    phase: str  # generate | analyse
    engine: str  # generator | duckdb | spark
    seconds: float
    driver_peak_mib: float
    jvm_peak_mib: float | None
    tree_peak_mib: float
    cores: int
    customers_per_s_per_core: float
    cpu_seconds: float  # user + system of the phase's whole process tree
    detail: dict[str, Any]

    @property
    def customers_per_cpu_second(self) -> float:
        return self.size / self.cpu_seconds if self.cpu_seconds else 0.0


def parse_size(text: str) -> int:
    text = text.strip().upper()
    scale = {"K": 1_000, "M": 1_000_000}.get(text[-1:], 1)
    number = text[:-1] if text[-1:] in "KM" else text
    return int(float(number) * scale)


def label(size: int) -> str:
    return f"{size / 1_000_000:g}M" if size >= 1_000_000 else f"{size / 1_000:g}K"


# -- child phases (run in their own process) -----------------------------------------------


def child_generate(lake_dir: Path, size: int, workers: int) -> dict[str, Any]:
    from winback.simulate.lake import generate_lake

    started = time.perf_counter()
    manifest = generate_lake(INDUSTRY, size, MONTHS, SEED, lake_dir, end_date=END, workers=workers)
    return {
        "seconds": time.perf_counter() - started,
        "rows": {t: c["rows"] for t, c in manifest.tables.items()},
    }


def child_duckdb(lake_dir: Path) -> dict[str, Any]:
    from winback.analytics.lake import read_lake, read_manifest
    from winback.analytics.pipeline import analyze
    from winback.config import preset

    started = time.perf_counter()
    as_of = read_manifest(lake_dir).as_of
    frames = read_lake(lake_dir)
    read = time.perf_counter() - started
    result = analyze(frames, preset(INDUSTRY), as_of)
    return {
        "seconds": time.perf_counter() - started,
        "read_seconds": read,
        "scored": result.scores.height,
        "orders": frames.orders.height,
        "stages": {k: round(v, 2) for k, v in result.timings.items()},
    }


def child_spark(lake_dir: Path, master: str, conf: dict[str, str]) -> dict[str, Any]:
    """Analyse on Spark and write the snapshot to Parquet (what ``--engine spark`` does before
    loading it into the database), so every lazy step runs."""
    import tempfile

    from winback.analytics.lake import read_manifest
    from winback.config import preset

    engine = importlib.import_module(SPARK_MODULE)
    started = time.perf_counter()
    as_of = read_manifest(lake_dir).as_of
    spark = engine.session(master, conf)
    tables = engine.cut_tables(engine.read_tables(spark, lake_dir), as_of)
    result = engine.analyze(tables, preset(INDUSTRY), as_of)
    with tempfile.TemporaryDirectory(prefix="winback-spark-bench-") as folder:
        result.scores.write.mode("overwrite").parquet(folder + "/scores")
        seconds = time.perf_counter() - started
        scored = spark.read.parquet(folder + "/scores").count()
    spark.stop()
    return {
        "seconds": seconds,
        "scored": scored,
        "master": master,
        "stages": dict(result.timings),
    }


# -- the parent: run a phase as a watched child --------------------------------------------


def watch(args: list[str], *, jvm: bool = False) -> tuple[dict[str, Any], float, float, float]:
    """Run ``args`` as a child; return its JSON result and the peak RSS (MiB) of the child, the
    JVM under it and the whole tree. The result gains ``cpu_seconds``: user + system time of
    the child and every descendant it waited for (generator workers, the JVM), which does not
    depend on how busy the machine was."""
    env = {**os.environ, "PYTHONPATH": SOURCES[0]}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env=env)
    root = psutil.Process(proc.pid)
    driver = java = tree = 0
    cpu: dict[int, float] = {}  # last user + system seen per process of the tree
    while proc.poll() is None:
        try:
            own = root.memory_info().rss
            kids = root.children(recursive=True)
            times = root.cpu_times()
            cpu[root.pid] = times.user + times.system
        except psutil.NoSuchProcess:
            break
        sizes = []
        java_now = 0
        for kid in kids:
            try:
                rss = kid.memory_info().rss
                times = kid.cpu_times()
                cpu[kid.pid] = times.user + times.system
                sizes.append(rss)
                if jvm and "java" in kid.name():
                    java_now += rss
            except psutil.NoSuchProcess:
                continue
        driver, java, tree = max(driver, own), max(java, java_now), max(tree, own + sum(sizes))
        time.sleep(0.1)
    out, _ = proc.communicate()
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed with exit {proc.returncode}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(out.strip().splitlines()[-1])
    result.setdefault("wall", wall)
    waited = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # The kernel's count only holds descendants someone waited for; the JVM PySpark starts is
    # not waited for (nor the Python workers under it), so the tree's own times, sampled, are
    # the figure when they are larger (both miss at most the last 0.1 s of a process).
    result["cpu_seconds"] = max(waited, sum(cpu.values()))
    return result, driver / MiB, java / MiB, tree / MiB


def cached(lake_dir: Path, size: int) -> bool:
    from winback.analytics.lake import LakeError, read_manifest

    try:
        manifest = read_manifest(lake_dir)
    except (LakeError, OSError, ValueError, KeyError):
        return False
    extra = manifest.extra
    return bool(
        manifest.rows("customers") == size
        and extra.get("seed") == SEED
        and extra.get("months") == MONTHS
        and manifest.as_of == END
    )


def run(args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    SOURCES[0] = args.src
    me = [sys.executable, str(Path(__file__).resolve())]
    cores = os.cpu_count() or 1
    for size in [parse_size(s) for s in args.sizes.split(",")]:
        lake_dir = Path(args.cache) / f"{INDUSTRY}-{label(size)}-seed{SEED}"
        if args.regenerate or not cached(lake_dir, size):
            result, driver, _, tree = watch(
                [
                    *me,
                    "--phase",
                    "generate",
                    "--lake",
                    str(lake_dir),
                    "--size",
                    str(size),
                    "--workers",
                    str(args.workers),
                ]
            )
            seconds = result["seconds"]
            rows.append(
                Row(
                    size,
                    "generate",
                    "generator",
                    seconds,
                    driver,
                    None,
                    tree,
                    args.workers,
                    size / seconds / args.workers,
                    result["cpu_seconds"],
                    {"rows": result["rows"]},
                )
            )
            print(_line(rows[-1]), flush=True)
        engines = [e for e in args.engines.split(",") if e]
        for engine in engines:
            if engine == "duckdb":
                result, driver, _, tree = watch([*me, "--phase", "duckdb", "--lake", str(lake_dir)])
                used = cores
                jvm_peak = None
            elif engine == "spark":
                if not _importable(SPARK_MODULE, args.src):
                    print(f"spark: {SPARK_MODULE} is not importable here; skipped", flush=True)
                    continue
                conf = [f"--spark-conf={item}" for item in args.spark_conf]
                result, driver, jvm_peak, tree = watch(
                    [
                        *me,
                        "--phase",
                        "spark",
                        "--lake",
                        str(lake_dir),
                        "--master",
                        args.master,
                        *conf,
                    ],
                    jvm=True,
                )
                used = _master_cores(args.master, cores)
            else:
                raise SystemExit(f"unknown engine {engine}")
            seconds = result["seconds"]
            rows.append(
                Row(
                    size,
                    "analyse",
                    engine,
                    seconds,
                    driver,
                    jvm_peak,
                    tree,
                    used,
                    size / seconds / used,
                    result["cpu_seconds"],
                    {k: v for k, v in result.items() if k != "seconds"},
                )
            )
            print(_line(rows[-1]), flush=True)
    return rows


def _importable(module: str, src: str) -> bool:
    probe = [
        sys.executable,
        "-c",
        f"import importlib.util as u; exit(u.find_spec({module!r}) is None)",
    ]
    env = {**os.environ, "PYTHONPATH": src}
    return subprocess.run(probe, env=env, check=False).returncode == 0


def _master_cores(master: str, cores: int) -> int:
    inside = master.removeprefix("local[").removesuffix("]")
    return cores if inside in {"*", "local"} else int(inside)


def _line(row: Row) -> str:
    jvm = "-" if row.jvm_peak_mib is None else f"{row.jvm_peak_mib:,.0f}"
    return (
        f"| {label(row.size)} | {row.phase} | {row.engine} | {row.seconds:,.1f} | "
        f"{row.driver_peak_mib:,.0f} | {jvm} | {row.tree_peak_mib:,.0f} | {row.cores} | "
        f"{row.customers_per_s_per_core:,.0f} | {row.cpu_seconds:,.0f} | "
        f"{row.customers_per_cpu_second:,.0f} | {os.getloadavg()[0]:.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1M", help="comma-separated, e.g. 1M,3M,10M")
    parser.add_argument("--engines", default="duckdb,spark")
    parser.add_argument("--cache", default=str(ROOT / "var" / "lake-bench"))
    parser.add_argument("--workers", type=int, default=2, help="generator processes")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--regenerate", action="store_true", help="ignore a cached lake")
    parser.add_argument(
        "--spark-conf",
        action="append",
        default=["spark.driver.memory=6g"],
        help="key=value for the Spark session (repeatable)",
    )
    parser.add_argument("--src", default=str(ROOT / "src"), help="winback sources for the phases")
    parser.add_argument("--json", default="", help="also write the rows to this file")
    parser.add_argument("--phase", default="", help=argparse.SUPPRESS)
    parser.add_argument("--lake", default="", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        lake_dir = Path(args.lake)
        if args.phase == "generate":
            result = child_generate(lake_dir, args.size, args.workers)
        elif args.phase == "duckdb":
            result = child_duckdb(lake_dir)
        else:
            conf = dict(item.split("=", 1) for item in args.spark_conf)
            result = child_spark(lake_dir, args.master, conf)
        print(json.dumps(result, default=str), flush=True)
        return
    load = os.getloadavg()
    print(
        f"cores {os.cpu_count()}, load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print(
        "| size | phase | engine | wall s | driver peak MiB | JVM peak MiB | tree peak MiB "
        "| cores | customers/s/core | CPU s | customers/CPU s | load |"
    )
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    rows = run(args)
    load = os.getloadavg()
    print(f"load average at end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    for row in rows:
        print(f"{label(row.size)} {row.engine}: {json.dumps(row.detail, default=str)}")
    if args.json:
        Path(args.json).write_text(
            json.dumps([asdict(r) for r in rows], indent=2, default=str) + "\n", encoding="utf-8"
        )


if __name__ == "__main__":
    main()

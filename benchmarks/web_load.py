"""Workbench under load: 20 concurrent users against `winback serve` with 1,000,000 customers.

Builds (once) a PostgreSQL database with the project's own commands — ``winback generate``,
``winback import`` for every generated file, ``winback analyze``, ``winback round plan`` and
the demo sign-ins — then starts ``winback serve`` (gunicorn) on loopback and runs locust
headless against it: agents open their call list, the call pages of their open tasks and the
customer sheets of those tasks; supervisors open the round board, the dashboard and customer
sheets across the base. Prints p50/p95/p99 and error counts per page twice: the response time
the client saw (queueing for a free worker included) and the server time from gunicorn's
access log (``%(L)s``, the worker's time for the request), for the whole run and after the
sign-ins.

A database that is already built (1,000,000 customers, an analysis, a planned round and the
demo agents with open calls) is reused: loading is not timed.

    .venv/bin/python benchmarks/web_load.py [--database-url URL] [--users 20] [--seconds 60]
    .venv/bin/python benchmarks/web_load.py --build-only
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
WINBACK = str(VENV_BIN / "winback")
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/winback_load"
CUSTOMERS = 1_000_000
END_DATE = date(2026, 11, 30)  # fixed so a rebuild gives the same data
ROUND_MONTH = "2026-12"
AGENT_PASSWORD = "winback-demo"  # noqa: S105 - the demo password, on a loopback benchmark
TARGET_P95_MS = 200.0
LOCUSTFILE = Path(__file__).resolve().parent / "web_load_locustfile.py"


def _env(url: str, data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["WINBACK_DATABASE_URL"] = url
    env["WINBACK_DATA_DIR"] = str(data_dir)
    env.setdefault("DJANGO_SETTINGS_MODULE", "winback.web.settings")
    return env


def _run(args: list[str], env: dict[str, str]) -> str:
    shown = args if "-c" not in args else [*args[: args.index("-c")], "-c", "..."]
    print("$", " ".join(shown), flush=True)
    started = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    print(f"  ({time.perf_counter() - started:.0f} s)", flush=True)
    if done.returncode:
        print(done.stdout[-2000:], done.stderr[-2000:], sep="\n", flush=True)
        done.check_returncode()
    return done.stdout


_STATE = """
import json
from winback.store.bootstrap import setup
setup()
from winback.store.customers.models import Customer
from winback.store.analysis.models import AnalysisRun
from winback.store.programme.models import CallTask, Round, TaskStatus
from winback.store.accounts.models import User
print(json.dumps({
    "customers": Customer.objects.count(),
    "analyses": AnalysisRun.objects.count(),
    "rounds": Round.objects.count(),
    "agent_calls": CallTask.objects.filter(
        agent__username="agent1", status=TaskStatus.OPEN).count(),
    "supervisor": User.objects.filter(username="supervisor").exists(),
}))
"""

_USERS = """
import json
from winback.store.bootstrap import setup
setup()
from winback.app.accounts.demo_users import ensure_demo_users
from winback.store.accounts.models import Role, User
from winback.store.programme.models import CallTask, TaskStatus
ensure_demo_users()
# every agent with open calls gets the demo password, so the load spreads over real call lists
agents = User.objects.filter(
    role=Role.AGENT, call_tasks__status=TaskStatus.OPEN).distinct().order_by("username")
names = []
for user in agents:
    user.set_password(%r)
    user.save(update_fields=["password"])
    names.append(user.username)
print(json.dumps(names))
"""


def state(url: str, data_dir: Path) -> dict[str, int]:
    out = subprocess.run(
        [sys.executable, "-c", _STATE],
        env=_env(url, data_dir),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, int] = json.loads(out.strip().splitlines()[-1])
    return result


def is_built(current: dict[str, int], customers: int = CUSTOMERS) -> bool:
    return (
        current["customers"] >= customers
        and current["analyses"] > 0
        and current["rounds"] > 0
        and current["agent_calls"] > 0
        and bool(current["supervisor"])
    )


def ensure_database(url: str, data_dir: Path, months: int, customers: int) -> None:
    """Create the database if missing; build it with the project's commands unless built."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    current = state(url, data_dir)
    print("database:", current, flush=True)
    if is_built(current, customers):
        print("already built: reusing it", flush=True)
    else:
        build(url, data_dir, months, customers, current)
    with psycopg.connect(url, autocommit=True) as conn:
        # `winback import` refreshes the statistics of what it wrote; a database loaded before
        # it did (or written by other means, with autovacuum off) gets them here
        missing = conn.execute(
            "SELECT count(*) FROM pg_stat_user_tables WHERE n_live_tup > 10000 "
            "AND last_analyze IS NULL AND last_autoanalyze IS NULL"
        ).fetchone()
        if missing and missing[0]:
            print(f"ANALYZE ({missing[0]} large tables without planner statistics)", flush=True)
            conn.execute("ANALYZE")


def build(url: str, data_dir: Path, months: int, customers: int, current: dict[str, int]) -> None:
    # the generated order lines of 1,000,000 customers are larger than an import accepts by
    # default (512 MiB)
    env = _env(url, data_dir) | {
        "WINBACK_IMPORT_MAX_FILE_BYTES": os.environ.get(
            "WINBACK_IMPORT_MAX_FILE_BYTES", str(4 << 30)
        )
    }
    started = time.perf_counter()
    sample = data_dir / "sample"
    manifest_path = sample / "manifest.json"
    # the files already imported, so a build stopped half-way goes on where it stopped
    imported_path = data_dir / "imported.txt"
    imported = set(imported_path.read_text().split()) if imported_path.exists() else set()
    if current["customers"] < customers or manifest_path.exists():
        if not manifest_path.exists():
            _run(
                [WINBACK, "generate", "--industry", "retail", "--customers", str(customers),
                 "--months", str(months), "--seed", "7", "--out", str(sample),
                 "--end-date", END_DATE.isoformat()],
                env,
            )  # fmt: skip
        manifest = json.loads(manifest_path.read_text())
        for entry in manifest["files"]:
            if str(entry["path"]) in imported:
                continue
            out = _run(
                [WINBACK, "import", str(entry["kind"]), str(sample / entry["path"]), "--json"],
                env,
            )
            print("  ", out.strip().splitlines()[-1][:300], flush=True)
            with imported_path.open("a") as handle:
                handle.write(f"{entry['path']}\n")
    if current["analyses"] == 0 or current["customers"] < customers:
        _run([WINBACK, "analyze", "--as-of", END_DATE.isoformat()], env)
    if current["rounds"] == 0:
        _run([WINBACK, "round", "plan", "--month", ROUND_MONTH, "--seed", "7"], env)
    agents = _run([sys.executable, "-c", _USERS % AGENT_PASSWORD], env)
    print("agents with open calls:", agents.strip().splitlines()[-1][:300], flush=True)
    print(f"built in {time.perf_counter() - started:.0f} s (not part of the measurement)")
    if is_built(state(url, data_dir), customers) and sample.exists():
        shutil.rmtree(sample)  # the database is kept; the generated files are not needed
        imported_path.unlink(missing_ok=True)


_PLAN = """
import json, sys
from winback.store.bootstrap import setup
setup()
from django.db import connection
from winback.store.accounts.models import Role, User
from winback.store.programme.models import CallTask, Round, TaskStatus
agents = {}
for name in User.objects.filter(
        role=Role.AGENT, call_tasks__status=TaskStatus.OPEN).distinct().values_list(
        "username", flat=True):
    tasks = list(CallTask.objects.filter(
        agent__username=name, status=TaskStatus.OPEN).order_by("next_due", "pk").values_list(
        "pk", "customer_id")[:50])
    agents[name] = {"tasks": [t for t, _c in tasks], "customers": [c for _t, c in tasks]}
mine = {c for agent in agents.values() for c in agent["customers"]}
with connection.cursor() as cursor:  # a spread of customers across the whole base
    cursor.execute(
        "SELECT id FROM customers_customer TABLESAMPLE SYSTEM (1) REPEATABLE (7) LIMIT 5000")
    # the agents' own customers are left out, so the server log tells the two kinds of sheet apart
    customers = [row[0] for row in cursor.fetchall() if row[0] not in mine]
supervisors = list(User.objects.filter(role=Role.SUPERVISOR).values_list("username", flat=True))
# the boards supervisors watch: the rounds with open calls (the planned round of the build)
rounds = list(Round.objects.filter(tasks__status=TaskStatus.OPEN).distinct().order_by(
    "-month", "-pk").values_list("pk", flat=True)[:3])
print(json.dumps({"agents": agents, "customers": customers, "supervisors": supervisors,
                  "rounds": rounds}))
"""


def write_plan(url: str, data_dir: Path, path: Path) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", _PLAN], env=_env(url, data_dir), check=True,
        capture_output=True, text=True,
    ).stdout  # fmt: skip
    plan: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    plan["password"] = AGENT_PASSWORD
    path.write_text(json.dumps(plan))
    return plan


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(url: str, data_dir: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    """`winback serve` (gunicorn) on loopback, DEBUG off, access log to a file."""
    env = _env(url, data_dir) | {"WINBACK_DEBUG": "false", "WINBACK_ENV": "development"}
    log = (data_dir / "serve.log").open("wb")
    server = subprocess.Popen(
        [WINBACK, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=5) as answer:
                if answer.status == 200:
                    return server
        except OSError:
            if server.poll() is not None:
                raise RuntimeError(f"winback serve exited; see {data_dir / 'serve.log'}") from None
            time.sleep(1)
    server.terminate()
    raise RuntimeError("winback serve did not answer within 180 s")


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


def run_locust(port: int, plan: Path, users: int, rate: int, seconds: int, out: Path) -> Path:
    prefix = out / "web_load"
    env = dict(os.environ) | {
        "WINBACK_LOAD_PLAN": str(plan),
        "WINBACK_LOAD_TIMINGS": str(out / "timings.csv"),
    }
    args = [
        str(VENV_BIN / "locust"), "-f", str(LOCUSTFILE), "--headless",
        "-u", str(users), "-r", str(rate), "-t", f"{seconds}s",
        "--host", f"http://127.0.0.1:{port}", "--csv", str(prefix), "--only-summary",
        "--stop-timeout", "10", "--loglevel", "WARNING",
    ]  # fmt: skip
    samples: list[str] = []
    locust = subprocess.Popen(args, env=env)
    while locust.poll() is None:
        samples.append(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
        with contextlib.suppress(subprocess.TimeoutExpired):
            locust.wait(timeout=15)
    (out / "uptime.txt").write_text("\n".join(samples) + "\n")
    print("machine load during the run (uptime every 15 s):")
    for line in samples:
        print("  ", line)
    ones = [float(line.split("load average:")[1].split(",")[0]) for line in samples]
    if ones:
        print(f"load average (1 min) during the run: {min(ones):.1f}-{max(ones):.1f}")
    return Path(f"{prefix}_stats.csv")


def warm_up(port: int, workers: int) -> None:
    """A few sign-in pages per worker first: each gunicorn worker loads the application's
    modules and compiles templates on its first requests, as a server in use has long done."""
    for _i in range(workers * 4):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=30):
            pass


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


# One page's figures: requests, errors, p50, p95, p99 (ms).
Figures = tuple[int, int, float, float, float]
PAGES = (
    "call list",
    "call page",
    "customer sheet (agent)",
    "customer sheet (supervisor)",
    "round board",
    "dashboard",
)
TARGET_PAGES = ("call list", "call page", "customer sheet (agent)", "customer sheet (supervisor)")


def _figures(values: list[tuple[float, int]]) -> Figures:
    times = [v[0] for v in values]
    return (
        len(values),
        sum(v[1] for v in values),
        _percentile(times, 50),
        _percentile(times, 95),
        _percentile(times, 99),
    )


def _signed_in(timings: Path) -> float:
    """When the last sign-in (POST) ended, as the client saw it (epoch seconds)."""
    rows = [line.split(",") for line in timings.read_text().splitlines() if line]
    return max((float(r[0]) for r in rows if r[2] == "login" and r[1] == "POST"), default=0)


def client_times(timings: Path, steady: bool) -> dict[str, Figures]:
    """Per page, the response time the client saw (locust: from sending the request to the
    last byte, queueing for a free gunicorn worker included); ``steady`` keeps only the
    requests sent after the last sign-in had ended."""
    rows = [line.split(",") for line in timings.read_text().splitlines() if line]
    signed_in = _signed_in(timings) if steady else 0.0
    pages: dict[str, list[tuple[float, int]]] = {}
    for end, _method, name, ms, failed in rows:
        if name != "login" and float(end) - float(ms) / 1000 > signed_in:
            pages.setdefault(name, []).append((float(ms), int(failed)))
    return {name: _figures(values) for name, values in sorted(pages.items())}


def steady_state(timings: Path) -> dict[str, Figures]:
    """Per page: requests, errors, p50, p95, p99 of the requests after the last sign-in."""
    return client_times(timings, steady=True)


# `winback serve`'s access log line: ... [time] "METHOD /path HTTP/1.1" status bytes 0.012345s
_ACCESS = re.compile(
    r'\[(?P<t>[^\]]+)\] "(?P<method>[A-Z]+) (?P<path>\S+) [^"]*" (?P<status>\d{3}) \S+ '
    r"(?P<seconds>[0-9.]+)s$"
)
_PATHS = (
    (re.compile(r"^/calls/$"), "call list"),
    (re.compile(r"^/calls/\d+/$"), "call page"),
    (re.compile(r"^/customers/(?P<pk>\d+)/$"), "customer sheet"),
    (re.compile(r"^/rounds/\d+/$"), "round board"),
    (re.compile(r"^/dashboard/$"), "dashboard"),
)


def server_times(
    log: Path, offset: int, agent_customers: set[int], after: float = 0.0
) -> dict[str, Figures]:
    """Per page, the server time from gunicorn's access log (``%(L)s``: from the request
    parsed by a worker to the response written, queueing for a worker not included), read
    from ``offset`` (where the log stood when locust started). A customer sheet is an agent's
    when the customer is one of the agents' planned customers (the supervisors' sample leaves
    them out). With ``after`` (epoch seconds), only requests that certainly started after it:
    the log's time is the end of the request to the second, so a request counts when that
    second minus its duration is later."""
    pages: dict[str, list[tuple[float, int]]] = {}
    with log.open("rb") as handle:
        handle.seek(offset)
        lines = handle.read().decode("utf-8", "replace").splitlines()
    for line in lines:
        match = _ACCESS.search(line)
        if match is None or match["method"] != "GET":
            continue
        seconds = float(match["seconds"])
        if after:
            ended = datetime.strptime(match["t"], "%d/%b/%Y:%H:%M:%S %z").timestamp()
            if ended - seconds <= after:
                continue
        for pattern, name in _PATHS:
            found = pattern.match(match["path"])
            if found is None:
                continue
            if name == "customer sheet":
                kind = "agent" if int(found["pk"]) in agent_customers else "supervisor"
                name = f"customer sheet ({kind})"
            failed = int(match["status"] != "200")
            pages.setdefault(name, []).append((seconds * 1000, failed))
            break
    return {name: _figures(values) for name, values in sorted(pages.items())}


def _cell(figures: Figures | None, index: int) -> str:
    return "" if figures is None else f"{figures[index]:.0f}"


def table(client: dict[str, Figures], server: dict[str, Figures]) -> str:
    """A markdown table: per page, client response time and server time, p50/p95/p99 in ms."""
    lines = [
        "| page | requests (client / server) | errors (client / server) "
        "| client p50 | client p95 | client p99 | server p50 | server p95 | server p99 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in [*PAGES, *sorted(set(client) - set(PAGES))]:
        c, v = client.get(name), server.get(name)
        if c is None and v is None:
            continue
        # the two sides count apart: a request the client sent before the last sign-in may
        # have reached a worker after it
        requests = " / ".join(str(f[0]) if f else "0" for f in (c, v))
        errors = " / ".join(str(f[1]) if f else "0" for f in (c, v))
        lines.append(
            f"| {name} | {requests} | {errors} | {_cell(c, 2)} | {_cell(c, 3)} | {_cell(c, 4)} "
            f"| {_cell(v, 2)} | {_cell(v, 3)} | {_cell(v, 4)} |"
        )
    return "\n".join(lines)


def report(stats: Path, log: Path, offset: int, agent_customers: set[int]) -> bool:
    """Print p50/p95/p99 and errors per page, as the client saw them and as the server spent
    them; True when the targets are met."""
    rows = list(csv.DictReader(stats.open()))
    print()
    print("locust's summary (client response time, whole run):")
    print(
        f"{'page':32} {'requests':>9} {'req/s':>6} {'errors':>7} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'p99 ms':>7}"
    )
    ok = True
    for row in rows:
        name = row["Name"] if row["Name"] != "login" else f"login ({row['Type']})"
        errors = int(row["Failure Count"])
        p95 = float(row["95%"] or 0)
        print(
            f"{name:32} {int(row['Request Count']):>9} {float(row['Requests/s']):>6.1f} "
            f"{errors:>7} {row['50%']:>7} "
            f"{row['95%']:>7} {row['99%']:>7}"
        )
        if errors:
            ok = False
        if name in TARGET_PAGES:
            ok = ok and p95 <= TARGET_P95_MS
    timings = stats.parent / "timings.csv"
    results: dict[str, dict[str, Figures]] = {}
    if timings.exists():
        signed_in = _signed_in(timings)
        results = {
            "client whole": client_times(timings, steady=False),
            "server whole": server_times(log, offset, agent_customers),
            "client steady": client_times(timings, steady=True),
            "server steady": server_times(log, offset, agent_customers, after=signed_in),
        }
        print()
        print("client = response time seen by locust (queueing for a worker included);")
        print("server = gunicorn access log request time (%(L)s), in ms")
        print()
        print("whole run (sign-ins included):")
        print()
        print(table(results["client whole"], results["server whole"]))
        print()
        print("after the last sign-in (steady state):")
        print()
        print(table(results["client steady"], results["server steady"]))
        (stats.parent / "results.json").write_text(json.dumps(results, indent=1))
    print()
    print(f"target: p95 <= {TARGET_P95_MS:.0f} ms on the call list, call page and customer "
          "sheets, 0 errors (client, whole run, sign-ins included):",
          "met" if ok else "NOT met")  # fmt: skip
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("WINBACK_LOAD_URL", DEFAULT_URL))
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/winback-load"))
    parser.add_argument("--customers", type=int, default=CUSTOMERS, help="only for a smoke run")
    parser.add_argument("--months", type=int, default=24, help="history generated per customer")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--spawn-rate", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--build-only", action="store_true")
    args = parser.parse_args()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    ensure_database(args.database_url, args.data_dir, args.months, args.customers)
    if args.build_only:
        return
    out = Path(tempfile.mkdtemp(prefix="winback-web-load-"))
    plan = write_plan(args.database_url, args.data_dir, out / "plan.json")
    agents = plan["agents"]
    assert isinstance(agents, dict)
    agent_customers = {pk for agent in agents.values() for pk in agent["customers"]}
    print(f"{len(agents)} agents with open calls, {len(plan['customers'])} sampled customers, "  # type: ignore[arg-type]
          f"rounds {plan['rounds']}")  # fmt: skip
    port = free_port()
    server = start_server(args.database_url, args.data_dir, port, args.workers)
    log = args.data_dir / "serve.log"
    try:
        print(f"winback serve on 127.0.0.1:{port}, {args.workers} gunicorn workers; "
              f"{args.users} users, spawn rate {args.spawn_rate}/s, {args.seconds} s; "
              f"load before: {loadavg()}", flush=True)  # fmt: skip
        warm_up(port, args.workers)
        offset = log.stat().st_size
        stats = run_locust(port, out / "plan.json", args.users, args.spawn_rate, args.seconds, out)
    finally:
        server.terminate()
        server.wait(timeout=30)
    shutil.copy(log, out / "serve.log")
    ok = report(stats, log, offset, agent_customers)
    print(f"locust CSV files, results.json, the server log and the load samples: {out}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

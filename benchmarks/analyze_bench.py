"""Time `analyze` end to end on a large generated store, stage by stage, and print the figures.

    python benchmarks/analyze_bench.py --customers 1000000

Builds a fresh SQLite store of N customers with about 20 order lines each (NumPy, bulk-loaded
through ADBC; loading is not timed), then runs the analysis service exactly as `winback analyze`
does and prints the time of each stage (extract, the core's own stages, write) and the peak
memory. It also times a straightforward reference on 100,000 of those customers (pandas groupby
summary + scipy fits of BG/NBD and Gamma-Gamma on the plain per-customer log-likelihoods) and
prints how many times slower it is than Winback's summary + fit stages on the same customers.

In the same process as the analysis it then times a floor: reading all five behaviour tables
(customers, orders, order lines, events, contacts; every column) through the same ADBC reader
the extract uses, and nothing else. It prints the analysis's multiple of that floor, the
process's peak RSS (before the floor is read) and the load averages at the start and the end
(the machine may be shared: the figures are only comparable at a similar load).
Target: 1,000,000 customers / 20,000,000 order lines in <= 40 s and <= 4 GiB; at 100,000
customers at most 3x the floor (docs/decisions/0044).

    python benchmarks/analyze_bench.py --customers 100000 --keep       # keeps the database
    python benchmarks/analyze_bench.py --reuse /tmp/winback-bench-.../bench.sqlite3
    python benchmarks/analyze_bench.py --customers 100000 --reuse ... --repeat 5   # medians

With --reuse the measured run is still the date's first analysis: the snapshots and run row an
earlier run left for that date are deleted before the timing starts (their free pages stay in
the file). --reanalyse keeps them, so the write updates the date's rows in place instead.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

END = date(2025, 12, 31)
HISTORY_DAYS = 3 * 365
EPOCH = date(1970, 1, 1)
CATEGORIES = 20
LINES_PER_ORDER = 1.5  # 1 + Poisson(0.5)
TARGET_LINES_PER_CUSTOMER = 20
REFERENCE_CUSTOMERS = 100_000


# --- data -------------------------------------------------------------------------------------


@dataclass
class Store:
    customer_join: np.ndarray  # day index (0 = first day of the history)
    order_customer: np.ndarray  # 0-based customer index, orders sorted by customer then day
    order_day: np.ndarray
    order_cents: np.ndarray
    line_order: np.ndarray  # 0-based order index
    line_category: np.ndarray
    line_cents: np.ndarray
    event_customer: np.ndarray
    event_day: np.ndarray
    contact_customer: np.ndarray
    contact_day: np.ndarray


def generate(customers: int, seed: int = 7) -> Store:
    """Customers who buy at their own Poisson rate until they silently leave (BG/NBD-like)."""
    rng = np.random.default_rng(seed)
    join = rng.integers(0, HISTORY_DAYS - 30, customers)
    left = join + rng.exponential(500.0, customers)
    active = np.minimum(left, HISTORY_DAYS) - join
    rate = rng.gamma(1.5, 1.0, customers)
    # Scale the rates so the base holds about TARGET_LINES_PER_CUSTOMER lines per customer.
    wanted_orders = TARGET_LINES_PER_CUSTOMER / LINES_PER_ORDER
    rate *= (wanted_orders - 1) / float(np.mean(rate * active))
    orders_each = 1 + rng.poisson(rate * active)
    order_customer = np.repeat(np.arange(customers), orders_each)
    offsets = rng.random(order_customer.size) * np.repeat(active, orders_each)
    first = np.r_[0, np.cumsum(orders_each)[:-1]]
    offsets[first] = 0.0  # everyone buys on the day they join
    order_day = (np.repeat(join, orders_each) + offsets).astype(np.int64)
    order = np.lexsort((order_day, order_customer))
    order_customer, order_day = order_customer[order], order_day[order]

    lines_each = 1 + rng.poisson(LINES_PER_ORDER - 1, order_customer.size)
    line_order = np.repeat(np.arange(order_customer.size), lines_each)
    spend_level = rng.lognormal(4.0, 0.6, customers)  # currency units per line
    line_cents = np.repeat(spend_level[order_customer], lines_each) * rng.lognormal(
        0, 0.4, line_order.size
    )
    line_cents = np.maximum(100, (line_cents * 100).astype(np.int64))
    line_category = rng.integers(1, CATEGORIES + 1, line_order.size)
    order_cents = np.add.reduceat(line_cents, np.r_[0, np.cumsum(lines_each)[:-1]])

    events = customers  # about one engagement event per customer
    event_customer = rng.integers(0, customers, events)
    event_day = np.minimum(join[event_customer] + rng.integers(0, 400, events), HISTORY_DAYS - 1)
    contacts = customers // 3
    contact_customer = rng.integers(0, customers, contacts)
    contact_day = np.minimum(
        join[contact_customer] + rng.integers(30, 600, contacts), HISTORY_DAYS - 1
    )
    return Store(
        join,
        order_customer,
        order_day,
        order_cents,
        line_order,
        line_category,
        line_cents,
        event_customer,
        event_day,
        contact_customer,
        contact_day,
    )


def arrow(series: pl.Series) -> pa.Array:
    return series.to_arrow(compat_level=pl.CompatLevel.oldest())


def iso_days(day_index: np.ndarray) -> pa.Array:
    start = (END - timedelta(days=HISTORY_DAYS - 1) - EPOCH).days
    days = pl.Series(day_index + start).cast(pl.Int32).cast(pl.Date)
    return arrow(days.dt.to_string("%Y-%m-%d"))


def iso_times(day_index: np.ndarray) -> pa.Array:
    # Ten in the morning in Shanghai, stored as UTC text the way Django stores it in SQLite.
    start = (END - timedelta(days=HISTORY_DAYS - 1) - EPOCH).days
    days = pl.Series(day_index + start).cast(pl.Int32).cast(pl.Date)
    return arrow(days.dt.to_string("%Y-%m-%d") + " 02:00:00")


def keys(prefix: str, ids: np.ndarray, width: int) -> pa.Array:
    return arrow(prefix + pl.Series(ids).cast(pl.String).str.zfill(width))


def blank(n: int) -> pa.Array:
    return same("", n)


def same(value: str, n: int) -> pa.Array:
    return arrow(pl.repeat(value, n, eager=True))


def tables(store: Store) -> dict[str, pa.Table]:
    n = store.customer_join.size
    n_orders = store.order_customer.size
    n_lines = store.line_order.size
    now = "2026-01-01 00:00:00"
    ids = np.arange(1, n + 1)
    customers = pa.table(
        {
            "id": ids,
            "external_id": keys("C", ids, 8),
            "name": blank(n),
            "phone": blank(n),
            "email": blank(n),
            "gender": blank(n),
            "birthday": pa.nulls(n, pa.string()),
            "join_date": iso_days(store.customer_join),
            "store_id": pa.nulls(n, pa.int64()),
            "channel": blank(n),
            "decision_style": blank(n),
            "tags": same("[]", n),
            "key_dates": same("{}", n),
            "consent_marketing": np.ones(n, dtype=np.int64),
            "do_not_contact": np.zeros(n, dtype=np.int64),
            "do_not_contact_date": pa.nulls(n, pa.string()),
            "do_not_contact_source": blank(n),
            "notes": blank(n),
            "is_stub": np.zeros(n, dtype=np.int64),
            "row_hash": blank(n),
            "created_at": same(now, n),
            "updated_at": same(now, n),
        }
    )
    order_ids = np.arange(1, n_orders + 1)
    orders = pa.table(
        {
            "id": order_ids,
            "order_key": keys("O", order_ids, 9),
            "key_derived": np.zeros(n_orders, dtype=np.int64),
            "customer_id": store.order_customer + 1,
            "ordered_at": iso_times(store.order_day),
            "order_date": iso_days(store.order_day),
            "store_id": pa.nulls(n_orders, pa.int64()),
            "channel": blank(n_orders),
            "coupon_code": blank(n_orders),
            "amount_cents": store.order_cents,
            "row_hash": blank(n_orders),
        }
    )
    starts = np.r_[0, np.flatnonzero(np.diff(store.line_order)) + 1]
    line_no = np.arange(n_lines) - np.repeat(starts, np.diff(np.r_[starts, n_lines])) + 1
    lines = pa.table(
        {
            "id": np.arange(1, n_lines + 1),
            "order_id": store.line_order + 1,
            "line_no": line_no,
            "product_id": pa.nulls(n_lines, pa.int64()),
            "category_id": store.line_category,
            "quantity": np.ones(n_lines, dtype=np.int64),
            "amount_cents": store.line_cents,
            "row_hash": blank(n_lines),
        }
    )
    categories = pa.table(
        {
            "id": np.arange(1, CATEGORIES + 1),
            "code": [f"CAT{i:02d}" for i in range(1, CATEGORIES + 1)],
            "name": [""] * CATEGORIES,
            "name_en": [""] * CATEGORIES,
            "parent_id": pa.nulls(CATEGORIES, pa.int64()),
            "necessity": ["necessary" if i % 2 else "discretionary" for i in range(CATEGORIES)],
            "replenishment_days": [30 if i % 2 else None for i in range(CATEGORIES)],
            "row_hash": [""] * CATEGORIES,
        }
    )
    return {
        "customers_category": categories,
        "customers_customer": customers,
        "customers_order": orders,
        "customers_orderline": lines,
        "customers_engagementevent": events_table(store),
        "customers_contactlog": contacts_table(store),
    }


def events_table(store: Store) -> pa.Table:
    n = store.event_customer.size
    kinds = np.array(["survey_response", "event_attendance", "forum_post", "complaint"])
    kind = kinds[np.arange(n) % kinds.size]
    text = blank(n)
    return pa.table(
        {
            "source_key": keys("E", np.arange(n), 9),
            "key_derived": np.zeros(n, dtype=np.int64),
            "customer_id": store.event_customer + 1,
            "event_type": kind,
            "occurred_at": iso_times(store.event_day),
            "occurred_date": iso_days(store.event_day),
            "referred_customer_id": pa.nulls(n, pa.int64()),
            "referred_external_id": text,
            "referred_bought": pa.nulls(n, pa.int64()),
            "campaign_code": text,
            "survey_code": text,
            "score": pa.array(np.full(n, 8), mask=kind != "survey_response"),
            "adopted": pa.nulls(n, pa.int64()),
            "complaint_category": text,
            "resolved": pa.nulls(n, pa.int64()),
            "resolved_at": pa.nulls(n, pa.string()),
            "text": text,
            "row_hash": text,
        }
    )


def contacts_table(store: Store) -> pa.Table:
    n = store.contact_customer.size
    text = blank(n)
    return pa.table(
        {
            "source_key": keys("K", np.arange(n), 9),
            "key_derived": np.zeros(n, dtype=np.int64),
            "customer_id": store.contact_customer + 1,
            "channel": same("phone", n),
            "direction": same("outbound", n),
            "agent_id": pa.nulls(n, pa.int64()),
            "agent_name": text,
            "outcome": np.array(["reached", "not_reached"])[np.arange(n) % 2],
            "occurred_at": iso_times(store.contact_day),
            "occurred_date": iso_days(store.contact_day),
            "duration_seconds": pa.nulls(n, pa.int64()),
            "reason_code": text,
            "offer_code": text,
            "promised_return_date": pa.nulls(n, pa.string()),
            "notes": text,
            "simulated": np.zeros(n, dtype=np.int64),
            "row_hash": text,
        }
    )


def load(path: Path, frames: dict[str, pa.Table]) -> None:
    """Bulk-load into the migrated tables; indexes are rebuilt once at the end (faster).

    Only while no sqlite3 connection of this process has the file open: the ADBC driver's copy
    of SQLite must not open a file that another copy has open.
    """
    import adbc_driver_sqlite.dbapi as sqlite_dbapi

    conn = sqlite_dbapi.connect(str(path), autocommit=True)
    cursor = conn.cursor()
    cursor.execute("PRAGMA synchronous=OFF")
    names = ", ".join(f"'{name}'" for name in frames)
    cursor.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        f"AND tbl_name IN ({names})"
    )
    indexes = cursor.fetchall()
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    for name, table in frames.items():
        cursor.adbc_ingest(name, table, mode="append")
    for _, sql in indexes:
        cursor.execute(sql)
    cursor.execute("ANALYZE")
    conn.close()


# --- the naive reference ------------------------------------------------------------------------


def reference_fit(store: Store, customers: int) -> tuple[float, float, dict[str, float]]:
    """pandas groupby summary + scipy fits on the plain log-likelihoods; (summary s, fit s)."""
    import pandas as pd
    from scipy import optimize, special

    started = time.perf_counter()
    keep = store.order_customer < customers
    orders = pd.DataFrame(
        {
            "customer": store.order_customer[keep],
            "day": store.order_day[keep],
            "amount": store.order_cents[keep] / 100.0,
        }
    )
    as_of = HISTORY_DAYS - 1
    daily = orders.groupby(["customer", "day"], as_index=False)["amount"].sum()
    grouped = daily.groupby("customer")
    summary = pd.DataFrame(
        {
            "frequency": grouped["day"].count() - 1,
            "first": grouped["day"].min(),
            "last": grouped["day"].max(),
            "total": grouped["amount"].sum(),
            "first_amount": grouped["amount"].first(),
        }
    )
    summary["recency"] = (summary["last"] - summary["first"]) / 7.0
    summary["T"] = (as_of - summary["first"]) / 7.0
    repeat = summary["frequency"] > 0
    summary["monetary"] = 0.0
    summary.loc[repeat, "monetary"] = (
        summary.loc[repeat, "total"] - summary.loc[repeat, "first_amount"]
    ) / summary.loc[repeat, "frequency"]
    summarised = time.perf_counter()

    x = summary["frequency"].to_numpy(float)
    tx = summary["recency"].to_numpy(float)
    big_t = summary["T"].to_numpy(float)

    def bgnbd_nll(log_params: np.ndarray) -> float:
        # Fader, Hardie & Lee (2005), Marketing Science 24(2), eq. 6, per customer.
        r, alpha, a, b = np.exp(log_params)
        a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
        a2 = special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b)
        a2 -= special.gammaln(a + b + x)
        a3 = -(r + x) * np.log(alpha + big_t)
        a4 = np.where(
            x > 0,
            np.log(a) - np.log(np.maximum(b + x - 1, 1e-12)) - (r + x) * np.log(alpha + tx),
            -np.inf,
        )
        return float(-np.sum(a1 + a2 + np.logaddexp(a3, a4)))

    bg = optimize.minimize(bgnbd_nll, np.zeros(4), method="Nelder-Mead", options={"maxiter": 4000})
    m = summary.loc[repeat, "monetary"].to_numpy(float)
    f = x[repeat.to_numpy()]

    def gg_nll(log_params: np.ndarray) -> float:
        # Fader, Hardie & Lee (2005), JMR 42(4), Gamma-Gamma spend model (Colombo & Jiang 1999).
        p, q, v = np.exp(log_params)
        ll = (
            special.gammaln(p * f + q)
            - special.gammaln(p * f)
            - special.gammaln(q)
            + q * np.log(v)
            + (p * f - 1) * np.log(m)
            + p * f * np.log(f)
            - (p * f + q) * np.log(v + f * m)
        )
        return float(-np.sum(ll))

    gg = optimize.minimize(gg_nll, np.zeros(3), method="Nelder-Mead", options={"maxiter": 4000})
    fitted = time.perf_counter()
    params = dict(zip(("r", "alpha", "a", "b"), np.exp(bg.x).round(4).tolist(), strict=True))
    params |= dict(zip(("p", "q", "v"), np.exp(gg.x).round(4).tolist(), strict=True))
    return summarised - started, fitted - summarised, params


# --- the run ------------------------------------------------------------------------------------


def peak_gib(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024 / 1024


def winback_summary_fit(customers: int) -> tuple[float, float]:
    """Winback's counterpart of the reference on the first ``customers`` customers:
    the customer summary (features) and the BG/NBD + Gamma-Gamma fit; (summary s, fit s)."""
    from winback.analytics.features import customer_features
    from winback.analytics.frames import AnalyticsFrames
    from winback.analytics.value import fit_btyd
    from winback.app.analysis.service import adbc_database
    from winback.app.settings.profile import current_profile
    from winback.store.extract import extract_frames

    profile = current_profile()
    with adbc_database() as db:
        frames = extract_frames(db, END, time_zone=profile.time_zone)
    keep = pl.col("customer_pk") <= customers
    subset = AnalyticsFrames(
        customers=frames.customers.filter(keep),
        orders=frames.orders.filter(keep),
        order_lines=frames.order_lines.filter(keep),
        events=frames.events.filter(keep),
        contacts=frames.contacts.filter(keep),
    )
    del frames
    started = time.perf_counter()
    features = customer_features(subset, profile, END)
    summarised = time.perf_counter()
    buyers = features.filter(pl.col("first_purchase").is_not_null())
    fit_btyd(buyers, END, sample_size=buyers.height)
    return summarised - started, time.perf_counter() - summarised


FLOOR_TABLES = ("customer", "order", "order_line", "event", "contact_log")


def floor_seconds() -> float:
    """Seconds to read every column of the five behaviour tables into Arrow, as the extract
    reads (the order lines on their own connection, in parallel), and nothing more."""
    from winback.app.analysis.service import adbc_database
    from winback.store.connect import read_groups
    from winback.store.tables import tables

    names = tables()
    statements = {t: f"SELECT * FROM {getattr(names, t)}" for t in FLOOR_TABLES}
    lines = {"order_line": statements.pop("order_line")}
    started = time.perf_counter()
    with adbc_database() as db:
        frames = read_groups(db, [lines, statements])
    seconds = time.perf_counter() - started
    del frames
    return seconds


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def forget_date(as_of: date) -> int:
    """Delete the snapshots and run row of ``as_of`` (untimed), so the next analysis of that
    date is its first; the number of snapshot rows deleted."""
    from django.db import connection, transaction

    from winback.store.analysis.models import AnalysisRun, CustomerSnapshot

    with transaction.atomic(), connection.cursor() as cursor:
        table = CustomerSnapshot._meta.db_table
        cursor.execute(f"DELETE FROM {table} WHERE as_of = %s", [as_of.isoformat()])
        deleted = int(cursor.rowcount)
        AnalysisRun.objects.filter(as_of=as_of).delete()
    return deleted


def measure(path: Path, reference_n: int, *, reanalyse: bool = False) -> dict[str, Any]:
    """The analysis, in a fresh process so its peak memory is the analysis's own: the stage
    timings of `analyze`, the peaks of the process and of its SQLite reader, the floor, and
    Winback's summary + fit on the reference's customers (``reference_n`` 0: not timed).
    Unless ``reanalyse``, the date's earlier analysis is deleted first (untimed)."""
    os.environ["WINBACK_DATABASE_URL"] = f"sqlite:///{path}"
    from winback.store.bootstrap import setup

    setup()
    from winback.app.analysis.service import analyze

    forgotten = 0 if reanalyse else forget_date(END)

    load_before = load_average()
    cpu = time.process_time()
    run = analyze(END)
    result: dict[str, Any] = {
        "customers": run.customers,
        "timings": run.timings,
        "cpu_s": time.process_time() - cpu,
        "peak_gib": peak_gib(),
        "reader_peak_gib": peak_gib(resource.RUSAGE_CHILDREN),
        "load": f"{load_before} -> {load_average()}",
        "write": (
            "re-analysis" if reanalyse else f"first analysis ({forgotten:,} rows deleted first)"
        ),
    }
    result["floor_s"] = floor_seconds()
    result["floor_load"] = load_average()
    if reference_n:
        result["our_summary"], result["our_fit"] = winback_summary_fit(reference_n)
    return result


def print_repeats(runs: list[dict[str, Any]]) -> None:
    """One line per run (total, floor, multiple, load) and the medians: the floor alone varies
    by a third from one read to the next on a shared machine, so one run's multiple says little."""
    totals = [float(run["timings"].get("total", 0.0)) for run in runs]
    floors = [float(run["floor_s"]) for run in runs]
    multiples = [t / f for t, f in zip(totals, floors, strict=True)]
    print(f"\n{len(runs)} runs, each in a fresh process (the first is detailed above):")
    for k, run in enumerate(runs):
        print(
            f"  run {k + 1}: total {totals[k]:6.2f} s, floor {floors[k]:6.2f} s, "
            f"{multiples[k]:.2f}x, peak {run['peak_gib']:.2f} GiB (load {run['load']})"
        )
    print(
        f"  median: total {float(np.median(totals)):.2f} s, floor {float(np.median(floors)):.2f} "
        f"s, multiple {float(np.median(multiples)):.2f}x (range {min(multiples):.2f}-"
        f"{max(multiples):.2f}x)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the database file")
    parser.add_argument(
        "--reuse", type=Path, help="measure on a database kept by an earlier run (same seed)"
    )
    parser.add_argument(
        "--no-reference", action="store_true", help="skip the pandas/scipy reference"
    )
    parser.add_argument(
        "--reanalyse",
        action="store_true",
        help="keep the date's earlier analysis, so the write updates it (default: delete it first)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="measure N times, each in a fresh process, and print the medians (default 1)",
    )
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    reference_n = 0 if args.no_reference else min(REFERENCE_CUSTOMERS, args.customers)
    if args.measure:
        print(json.dumps(measure(args.measure, reference_n, reanalyse=args.reanalyse)))
        return

    if args.reuse:
        path = args.reuse
        folder = path.parent
        os.environ["WINBACK_DATA_DIR"] = str(folder)
        store: Store | None = generate(args.customers, args.seed) if reference_n else None
        print(f"store: reused {path} ({path.stat().st_size / 2**30:.1f} GiB on disk)")
    else:
        folder = Path(tempfile.mkdtemp(prefix="winback-bench-"))
        path = folder / "bench.sqlite3"
        os.environ["WINBACK_DATABASE_URL"] = f"sqlite:///{path}"
        os.environ["WINBACK_DATA_DIR"] = str(folder)
        from django.db import connections

        from winback.store.bootstrap import setup

        setup()  # creates the tables
        # Django's sqlite3 lets go of the file before the ADBC driver's own SQLite writes to it.
        connections.close_all()
        built = time.perf_counter()
        store = generate(args.customers, args.seed)
        load(path, tables(store))
        print(
            f"store: {args.customers:,} customers, {store.order_customer.size:,} orders, "
            f"{store.line_order.size:,} order lines ({time.perf_counter() - built:.0f} s to "
            f"build, not timed; {path.stat().st_size / 2**30:.1f} GiB on disk)"
        )

    command = [sys.executable, __file__, "--customers", str(args.customers), "--measure", str(path)]
    if args.no_reference:
        command.append("--no-reference")
    if args.reanalyse:
        command.append("--reanalyse")
    runs = []
    for _ in range(max(1, args.repeat)):
        done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    result = runs[0]
    print(
        f"\nanalyze as of {END}: {result['customers']:,} customers, {result['write']} "
        f"(load {result['load']})"
    )
    for stage, seconds in result["timings"].items():
        print(f"  {stage:<24} {seconds:8.2f} s")
    print(f"  {'CPU time':<24} {result['cpu_s']:8.2f} s")
    print(f"  {'peak memory (RSS)':<24} {result['peak_gib']:8.2f} GiB")
    print(f"  {'peak of the SQLite reader':<24} {result['reader_peak_gib']:8.2f} GiB")
    total = result["timings"].get("total", 0.0)
    print(
        f"\nfloor, reading the five tables: {result['floor_s']:.2f} s "
        f"(load {result['floor_load']}); analyze end to end = {total / result['floor_s']:.1f}x "
        "the floor"
    )
    if len(runs) > 1:
        print_repeats(runs)
    if args.keep or args.reuse:
        print(f"database kept at {path}")
    if store is None or not reference_n:
        return

    summary_s, fit_s, params = reference_fit(store, reference_n)
    ours_s = result["our_summary"] + result["our_fit"]
    theirs_s = summary_s + fit_s
    print(f"\nsummary + BG/NBD + Gamma-Gamma fit on {reference_n:,} customers:")
    print(
        f"  winback:   summary {result['our_summary']:.2f} s + fit {result['our_fit']:.2f} s "
        f"= {ours_s:.2f} s"
    )
    print(
        f"  reference: summary {summary_s:.2f} s + fit {fit_s:.2f} s = {theirs_s:.2f} s "
        "(pandas groupby + scipy on the plain per-customer likelihood)"
    )
    print(f"  reference fitted {params}")
    print(f"  ratio reference / winback: {theirs_s / ours_s:.1f}x")
    print(
        f"\nend to end {result['timings'].get('total', 0):.1f} s, "
        f"peak memory {result['peak_gib']:.2f} GiB (+ {result['reader_peak_gib']:.2f} GiB reader)"
    )
    if not (args.keep or args.reuse):
        for file in folder.iterdir():
            file.unlink()
        folder.rmdir()


if __name__ == "__main__":
    sys.exit(main())

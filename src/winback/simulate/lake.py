"""Sample data straight into the data-lake layout (:mod:`winback.analytics.lake`), in parallel.

The customer base is cut into chunks of :data:`CHUNK_CUSTOMERS`; each chunk is simulated on
its own, seeded from ``(seed, chunk number)`` alone, and written as part ``chunk number`` of
every table. The output is therefore the same whatever the number of worker processes: the
workers only decide which chunk is simulated where. A chunk is a whole small business of the
same industry (referrals stay inside the chunk), so a lake of N customers behaves like N/100,000
stores of one chain, which is what the analysis cares about at scale.

Values are the clean values an import of the generated files would store: typed dates,
canonical codes, no bad rows. Walk-in customers are stubs (no join date, store or birthday,
the store's default consent), as the importer creates them. Keys are global: ``customer_pk``
counts customers from 1 across chunks; ``order_pk`` is ``chunk * ORDER_STRIDE + n`` with ``n``
the order's place in time within its chunk, so no chunk needs another's counts.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from winback.analytics import lake
from winback.analytics.frames import TREATMENTS, AnalyticsFrames, empty
from winback.config import preset
from winback.schema import CONTACT_CHANNELS, CONTACT_OUTCOMES
from winback.simulate import exports, formats
from winback.simulate.calendar import window_for
from winback.simulate.engagement import EVENT_CODES
from winback.simulate.exports import World
from winback.simulate.generator import STREAMS, simulate
from winback.simulate.industries import spec_for

CHUNK_CUSTOMERS = 100_000
ORDER_STRIDE = 1_000_000_000  # orders per chunk are far fewer (about 25 per customer at most)
CHANNEL_CODES = [code for code, _ in CONTACT_CHANNELS]
OUTCOME_CODES = [code for code, _ in CONTACT_OUTCOMES]


@dataclass(frozen=True)
class Chunk:
    industry: str
    months: int
    seed: int
    end_date: date
    number: int
    first_pk: int  # customer_pk of the chunk's first customer
    customers: int


def chunks(
    industry: str,
    customers: int,
    months: int,
    seed: int,
    end_date: date,
    size: int = CHUNK_CUSTOMERS,
) -> list[Chunk]:
    return [
        Chunk(industry, months, seed, end_date, k, start + 1, min(size, customers - start))
        for k, start in enumerate(range(0, customers, size))
    ]


def chunk_frames(chunk: Chunk) -> AnalyticsFrames:
    """Simulate one chunk and shape it as the analysis frames (global keys)."""
    spec = spec_for(chunk.industry)
    window = window_for(chunk.end_date, chunk.months)
    sequence = np.random.SeedSequence([chunk.seed, chunk.number])
    seeds = dict(zip(STREAMS, sequence.spawn(len(STREAMS)), strict=True))

    def rng(name: str) -> np.random.Generator:
        return np.random.default_rng(seeds[name])

    world = simulate(spec, window, chunk.customers, chunk.seed, rng).world
    return world_frames(world, chunk, rng("customers_file"))


def world_frames(world: World, chunk: Chunk, rng: np.random.Generator) -> AnalyticsFrames:
    people, orders, epoch, spec = world.people, world.orders, world.window.epoch, world.spec
    n = people.size
    pk = np.arange(chunk.first_pk, chunk.first_pk + n, dtype=np.int64)
    width = max(8, len(str(chunk.first_pk + n)))
    member = ~people.walk_in
    external_id = pl.select(
        pl.when(pl.Series(people.walk_in))
        .then(formats.padded_ids("W", pk, width, "id"))
        .otherwise(formats.padded_ids("C", pk, width, "id"))
    ).to_series()
    birthday_missing = rng.random(n) < (0.6 if spec.company_customers else 0.25)
    customers = pl.DataFrame(
        [
            pl.Series("customer_pk", pk),
            external_id.alias("external_id"),
            _dates(np.where(member, people.join_day + epoch, -1), "join_date"),
            _dates(np.where(member & ~birthday_missing, people.birth_day, -1), "birthday"),
            formats.lookup(
                exports.store_codes(spec), np.where(member, people.home_store, -1), "store_code"
            ),
            pl.Series("is_stub", people.walk_in),
            pl.Series("consent_marketing", world.consent.consent_marketing | people.walk_in),
            pl.Series("do_not_contact", world.consent.do_not_contact & member),
        ]
    )

    sequence = np.lexsort((np.arange(orders.size), orders.minute, orders.day))
    rank = np.empty(orders.size, dtype=np.int64)
    rank[sequence] = np.arange(1, orders.size + 1)
    order_pk = chunk.number * ORDER_STRIDE + rank
    order_date = formats.dates(orders.day + epoch, "order_date")
    at = formats.datetimes(orders.day + epoch, orders.minute)
    coupon = pl.select(exports.coupon_codes(world.coupon_kind, at).alias("c")).to_series()
    order_frame = pl.DataFrame(
        [
            pl.Series("order_pk", order_pk),
            pl.Series("customer_pk", pk[orders.customer]),
            order_date,
            pl.Series("amount_cents", world.order_amount.astype(np.int64)),
            coupon.alias("coupon_code"),
        ]
    )[sequence]

    lines = world.lines
    cats = spec.categories
    line_order = lines.order.astype(np.int64)
    necessity = ["necessary" if c.necessary else "discretionary" for c in cats]
    replenishment = pl.Series([c.replenishment_days for c in cats], dtype=pl.Int64).gather(
        pl.Series(lines.category.astype(np.int64))
    )
    lines_sequence = np.lexsort((lines.line_no, rank[line_order]))
    line_frame = pl.DataFrame(
        [
            pl.Series("order_pk", order_pk[line_order]),
            pl.Series("customer_pk", pk[orders.customer[line_order]]),
            order_date.gather(pl.Series(line_order)),
            formats.lookup([c.code for c in cats], lines.category, "category_code"),
            formats.lookup(necessity, lines.category, "necessity"),
            replenishment.alias("replenishment_days"),
            pl.Series("quantity", lines.quantity.astype(np.float64)),
            pl.Series("amount_cents", lines.amount_cents.astype(np.int64)),
        ]
    )[lines_sequence]

    events = world.events
    resolved_day = np.where(events.resolved_day >= 0, events.resolved_day + epoch, -1)
    event_frame = pl.DataFrame(
        [
            pl.Series("customer_pk", pk[events.customer]),
            formats.lookup(EVENT_CODES, events.kind, "event_type"),
            formats.dates(events.day + epoch, "occurred_date"),
            _optional(np.where(events.referred >= 0, pk[np.maximum(events.referred, 0)], -1)).alias(
                "referred_customer_pk"
            ),
            _flag(events.referred_bought, "referred_bought"),
            _optional(events.score).alias("score"),
            _flag(events.adopted, "adopted"),
            _flag(events.resolved, "resolved"),
            _dates(resolved_day, "resolved_date"),
        ]
    )[np.lexsort((np.arange(events.size), events.minute, events.day))]

    contacts = world.contacts
    contact_frame = pl.DataFrame(
        [
            pl.Series("customer_pk", pk[contacts.customer]),
            formats.dates(contacts.day + epoch, "occurred_date"),
            formats.lookup(CHANNEL_CODES, contacts.channel, "channel"),
            formats.lookup(("outbound", "inbound"), contacts.direction, "direction"),
            formats.lookup(OUTCOME_CODES, contacts.outcome, "outcome"),
        ]
    )[np.lexsort((np.arange(contacts.size), contacts.minute, contacts.day))]
    return AnalyticsFrames(
        customers=customers,
        orders=order_frame,
        order_lines=line_frame,
        events=event_frame,
        contacts=contact_frame,
        treatments=empty(TREATMENTS),
    )


def _dates(absolute_day: np.ndarray[Any, Any], name: str) -> pl.Series:
    """Absolute days as dates; negative days become nulls."""
    return formats.dates(np.maximum(absolute_day, 0), name).scatter(
        np.flatnonzero(absolute_day < 0), None
    )


def _optional(values: np.ndarray[Any, Any]) -> pl.Series:
    series = pl.Series(values.astype(np.int64))
    return series.scatter(np.flatnonzero(values < 0), None)


def _flag(values: np.ndarray[Any, Any], name: str) -> pl.Series:
    return _optional(values).cast(pl.Boolean).alias(name)


def write_chunk(root: Path, chunk: Chunk) -> dict[str, int]:
    """Simulate one chunk and write it as part ``chunk.number`` of every table."""
    frames = chunk_frames(chunk)
    return {
        table: lake.write_part(root, table, chunk.number, getattr(frames, table))
        for table in lake.TABLES
    }


def _work(args: tuple[str, Chunk]) -> dict[str, int]:
    return write_chunk(Path(args[0]), args[1])


def generate_lake(
    industry: str,
    customers: int,
    months: int,
    seed: int,
    out: Path,
    *,
    end_date: date,
    workers: int = 1,
    chunk_customers: int = CHUNK_CUSTOMERS,
    progress: Callable[[int, int], None] | None = None,
) -> lake.LakeManifest:
    """Simulate ``customers`` customers into a lake at ``out``; the manifest is written last.

    The tables depend on the industry, size, months, seed, end date and ``chunk_customers``,
    never on ``workers``.

    Parts left from an earlier, larger lake in ``out`` are removed first.
    """
    if customers < 1:
        raise ValueError("customers must be at least 1")
    if workers < 1:
        raise ValueError("workers must be at least 1")
    spec_for(industry)  # an unknown industry is refused before anything is written
    out = Path(out)
    (out / lake.MANIFEST).unlink(missing_ok=True)
    for table in lake.TABLES:
        for old in lake.part_paths(out, table):
            old.unlink()
    plan = chunks(industry, customers, months, seed, end_date, chunk_customers)
    totals = dict.fromkeys(lake.TABLES, 0)
    done = 0
    if workers == 1 or len(plan) == 1:
        results = map(_work, [(str(out), c) for c in plan])
        for counts in results:
            done += 1
            _add(totals, counts)
            if progress:
                progress(done, len(plan))
    else:
        # Spawned, not forked: Polars' thread pool does not survive a fork.
        with ProcessPoolExecutor(min(workers, len(plan)), mp_context=get_context("spawn")) as pool:
            for counts in pool.map(_work, [(str(out), c) for c in plan]):
                done += 1
                _add(totals, counts)
                if progress:
                    progress(done, len(plan))
    window = window_for(end_date, months)
    manifest = lake.LakeManifest(
        as_of=window.end,
        tables={table: {"rows": totals[table], "parts": len(plan)} for table in lake.TABLES},
        source="generator",
        history_start=window.start,
        time_zone=preset(industry).time_zone,
        industry=industry,
        extra={
            "seed": seed,
            "months": months,
            "chunk_customers": chunk_customers,
        },
    )
    lake.write_manifest(out, manifest)
    return manifest


def _add(totals: dict[str, int], counts: dict[str, int]) -> None:
    for table, rows in counts.items():
        totals[table] += rows

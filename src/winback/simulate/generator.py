"""Sample data with ground truth: the files a business would import, and what really happened.

:func:`generate_dataset` simulates a customer base of one industry over ``months`` months up to
``end_date`` and writes, into ``out``:

=================  ===========  ==========================================================
file               encoding     notes
=================  ===========  ==========================================================
stores.csv         UTF-8        English headers
categories.csv     UTF-8        Chinese headers, necessity 必需/非必需, replenishment days
products.csv       UTF-8        Chinese headers
customers.csv      UTF-8 + BOM  Chinese headers
orders.csv         GBK          Chinese headers, explicit order ids; refunds are separate
                                orders (ids ``RF..``) with negative amounts
order_lines.csv    UTF-8        English headers; lines reference ``order no`` + ``line no``
events.csv         UTF-8        English headers, no id column, times as Excel serials
contacts.xlsx      (workbook)   Chinese headers; ``contacts.csv`` (UTF-8) above 20,000
                                customers
ground_truth.parquet            one row per simulated customer (see below)
manifest.json                   what an importer must make of each file
=================  ===========  ==========================================================

Every file mixes the date and amount spellings real exports use and carries a few bad rows
(about 0.1 %, at least one of each defect kind per transactional file), each an extra row with
exactly one defect. The manifest gives, per file, ``rows`` (data rows), ``valid_rows`` (rows an
importer inserts into an empty database), ``rejected_by_reason`` (reject code -> rows) and
``stub_customers`` (customer ids in orders that the customer file lacks: walk-in customers the
importer creates as stubs).

Ground truth columns (``ground_truth.parquet``):

* ``external_id``, ``in_customer_file`` (False for walk-ins), ``store_code``, ``join_date``
* ``prospect``: registered but never bought; ``first_purchase_date``, ``last_purchase_date``,
  ``purchases`` (purchase orders, refunds excluded)
* ``dropout_date``: the date of the customer's last purchase before leaving for good. The
  customer has no order of any kind (purchase or refund) after it. Null when the customer is
  still active at ``end_date`` (and for prospects).
* ``leave_reason``: a code of :data:`winback.programme.reasons.REASON_CODES` (never
  ``not_found``) for leavers, null otherwise
* ``purchase_rate`` (repeat purchases per day at average seasonality), ``dropout_probability``
  (per purchase), ``latent_value`` (spend multiplier, median about 1), ``engagement``,
  ``satisfaction``, ``price_sensitivity``, ``offer_responsiveness`` (in [0, 1]: how likely an
  offer brings the customer back, lowered for reasons no offer fixes), ``reachability``
  (probability of answering a call), ``preferred_channel``, ``preferred_category``,
  ``secondary_category``, ``decision_style``, ``referred_by``
* ``response``: the world's response level to a win-back call (``realistic`` or ``large``, the
  same on every row; also in the manifest). A simulated call wins back a reached customer with
  :func:`winback.simulate.response.call_lift` of ``offer_responsiveness``, the customer's
  lateness and P(alive) at the round's snapshot, times the presented offer's
  :func:`~winback.simulate.response.offer_multiplier` (see :mod:`winback.simulate.agents`).

The core reads no clock: ``end_date`` must be given (the command line passes the last day of
the previous month).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from winback.schema import IMPORT_ORDER
from winback.simulate import exports, formats
from winback.simulate.calendar import Window, daily_intensity, window_for
from winback.simulate.contacts import consent_flags, simulate_contacts
from winback.simulate.engagement import activity, simulate_events
from winback.simulate.exports import Export, World
from winback.simulate.industries import IndustrySpec, spec_for
from winback.simulate.output import plan_bad_rows, write_csv, write_xlsx
from winback.simulate.population import (
    PREFERRED_CHANNELS,
    FloatArray,
    IntArray,
    Population,
    simulate_population,
)
from winback.simulate.purchases import ALIVE, Orders, coupons, simulate_lines, simulate_orders
from winback.simulate.reasons import TRUE_REASONS, assign_reasons, offer_responsiveness
from winback.simulate.response import DEFAULT_RESPONSE, response_scale
from winback.simulate.vocab import name_pools

StreamFactory = Callable[[str], np.random.Generator]
XLSX_CONTACTS_MAX_CUSTOMERS = 20_000
GROUND_TRUTH = "ground_truth.parquet"
MANIFEST = "manifest.json"
# One independent random stream per step, so changing one step leaves the others unchanged.
STREAMS = (
    "population",
    "orders",
    "reasons",
    "coupons",
    "lines",
    "events",
    "consent",
    "contacts",
    "customers_file",
    "orders_file",
    "lines_file",
    "events_file",
    "contacts_file",
    "bad_rows",
)


@dataclass(frozen=True)
class Simulation:
    world: World
    referrer_of: IntArray
    responsiveness: FloatArray
    products: pl.DataFrame


def generate_dataset(
    industry: str,
    customers: int,
    months: int,
    seed: int,
    out: Path,
    end_date: date | None = None,
    response: str = DEFAULT_RESPONSE,
) -> dict[str, Any]:
    """Simulate, write the import files and the ground truth into ``out``; return the manifest.

    ``response`` is the world's response level to a win-back call (``realistic`` or
    ``large``): recorded in the manifest and the ground truth, it changes no generated file.

    ``end_date`` is required (the argument is optional only to keep call sites readable):
    nothing in the core reads the clock, so pass e.g.
    :func:`winback.simulate.calendar.last_day_of_previous_month` of today.
    """
    if end_date is None:
        raise ValueError(
            "end_date is required: pass the last day of the history, e.g. "
            "last_day_of_previous_month(today)"
        )
    if customers < 1:
        raise ValueError("customers must be at least 1")
    response_scale(response)  # an unknown level is refused before anything is written
    spec = spec_for(industry)
    window = window_for(end_date, months)
    seeds = dict(zip(STREAMS, np.random.SeedSequence(seed).spawn(len(STREAMS)), strict=True))

    def rng(name: str) -> np.random.Generator:
        return np.random.default_rng(seeds[name])

    sim = simulate(spec, window, customers, seed, rng)
    out.mkdir(parents=True, exist_ok=True)
    files = [
        _write(export, out, rng("bad_rows"), datetime.combine(end_date, datetime.min.time()))
        for export in _exports(sim, customers, rng)
    ]
    if [f["kind"] for f in files] != list(IMPORT_ORDER):
        raise AssertionError("exports must follow schema.IMPORT_ORDER")
    ground_truth(sim).with_columns(response=pl.lit(response, dtype=pl.String)).write_parquet(
        out / GROUND_TRUTH
    )
    manifest: dict[str, Any] = {
        "industry": industry,
        "seed": seed,
        "customers": customers,
        "months": months,
        "start_date": window.start.isoformat(),
        "end_date": window.end.isoformat(),
        "files": files,
        "ground_truth": GROUND_TRUTH,
        "response": response,
    }
    (out / MANIFEST).write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return manifest


def simulate(
    spec: IndustrySpec, window: Window, customers: int, seed: int, rng: StreamFactory
) -> Simulation:
    end_epoch = window.epoch + window.days - 1
    people = simulate_population(rng("population"), spec, customers, window.days, end_epoch)
    orders = simulate_orders(rng("orders"), spec, people, daily_intensity(window, spec))
    reason = assign_reasons(rng("reasons"), spec, people, orders.dropout_day != ALIVE)
    coupon_kind, discount = coupons(rng("coupons"), people, orders)
    table, products = exports.catalogue(spec)
    lines, amount = simulate_lines(rng("lines"), spec, people, table, orders, discount)
    events, referrer_of = simulate_events(
        rng("events"), spec, people, orders.dropout_day, reason, window.days, window.epoch
    )
    consent = consent_flags(rng("consent"), people, orders.dropout_day, reason, window.days)
    pools = name_pools(seed)
    contacts = simulate_contacts(
        rng("contacts"),
        spec,
        people,
        activity(people, orders.dropout_day, window.days),
        consent,
        orders.dropout_day,
        reason,
        len(pools.agents),
        window.days,
    )
    world = World(
        spec=spec,
        window=window,
        people=people,
        catalogue=table,
        orders=orders,
        order_amount=amount,
        coupon_kind=coupon_kind,
        lines=lines,
        events=events,
        contacts=contacts,
        consent=consent,
        pools=pools,
        external_id=exports.external_ids(people),
        reason=reason,
    )
    return Simulation(world, referrer_of, offer_responsiveness(people, reason), products)


def _exports(sim: Simulation, customers: int, rng: StreamFactory) -> list[Export]:
    world = sim.world
    layout = exports.order_layout(rng("orders_file"), world)
    as_xlsx = customers <= XLSX_CONTACTS_MAX_CUSTOMERS
    return [
        exports.stores_export(world.spec),
        exports.categories_export(world.spec),
        exports.products_export(sim.products),
        exports.customers_export(rng("customers_file"), world),
        exports.orders_export(rng("orders_file"), world, layout),
        exports.lines_export(rng("lines_file"), world, layout),
        exports.events_export(rng("events_file"), world),
        exports.contacts_export(rng("contacts_file"), world, as_xlsx),
    ]


def _write(export: Export, out: Path, rng: np.random.Generator, stamp: datetime) -> dict[str, Any]:
    bad = plan_bad_rows(rng, export.good_rows, export.recipes)
    path = out / export.filename
    if export.is_xlsx:
        frame = next(export.chunks())
        rows = write_xlsx(path, frame, bad, export.headers, export.kind, stamp)
    else:
        assert export.encoding is not None
        rows = write_csv(path, export.chunks(), bad, export.headers, export.encoding)
    if rows != export.good_rows + len(bad):
        raise AssertionError(f"{export.filename}: wrote {rows} rows, planned {export.good_rows}")
    return {
        "kind": export.kind,
        "path": export.filename,
        "format": "xlsx" if export.is_xlsx else "csv",
        "encoding": export.encoding,
        "rows": rows,
        "valid_rows": export.good_rows,
        "rejected_by_reason": dict(sorted(Counter(b.reason.value for b in bad).items())),
        "stub_customers": export.stub_customers or 0,
    }


def ground_truth(sim: Simulation) -> pl.DataFrame:
    world = sim.world
    people: Population = world.people
    orders: Orders = world.orders
    epoch = world.window.epoch
    spec = world.spec
    category_codes = [c.code for c in spec.categories]
    buyer = ~people.prospect
    left = orders.dropout_day != ALIVE
    first = np.where(buyer, people.join_day, -1)
    referrer = sim.referrer_of
    return pl.DataFrame(
        [
            world.external_id.alias("external_id"),
            pl.Series("in_customer_file", ~people.walk_in),
            formats.lookup(exports.store_codes(spec), people.home_store, "store_code"),
            formats.dates(people.join_day + epoch, "join_date"),
            pl.Series("prospect", people.prospect),
            _optional_dates(first, epoch, "first_purchase_date"),
            _optional_dates(orders.last_purchase_day, epoch, "last_purchase_date"),
            pl.Series("purchases", orders.purchases),
            _optional_dates(np.where(left, orders.dropout_day, -1), epoch, "dropout_date"),
            formats.lookup(TRUE_REASONS, world.reason, "leave_reason"),
            pl.Series("purchase_rate", people.rate),
            pl.Series("dropout_probability", people.dropout_p),
            pl.Series("latent_value", people.value),
            pl.Series("engagement", people.engagement),
            pl.Series("satisfaction", people.satisfaction),
            pl.Series("price_sensitivity", people.price_sensitivity),
            pl.Series("offer_responsiveness", sim.responsiveness),
            pl.Series("reachability", people.reachability),
            formats.lookup(PREFERRED_CHANNELS, people.preferred_channel, "preferred_channel"),
            formats.lookup(category_codes, people.preferred_category, "preferred_category"),
            formats.lookup(category_codes, people.secondary_category, "secondary_category"),
            formats.lookup(
                ("rational", "emotional"), people.emotional.astype(np.int64), "decision_style"
            ),
            world.external_id.gather(pl.Series(np.maximum(referrer, 0)))
            .scatter(np.flatnonzero(referrer < 0), None)
            .alias("referred_by"),
        ]
    )


def _optional_dates(day: IntArray, epoch: int, name: str) -> pl.Series:
    return formats.dates(np.maximum(day, 0) + epoch, name).scatter(np.flatnonzero(day < 0), None)

"""Per-customer features as of a date, from every behaviour stream (R1, R2, R3).

Only rows dated on or before ``as_of`` are read, so features for a past date are exactly what
the system would have seen then (R12). The feature code is written once as Narwhals
expressions and runs on DuckDB (the default, embedded), Polars or Spark; dates
enter as integer day numbers (days since 1970-01-01) so that date arithmetic is plain integer
arithmetic on every engine. Every aggregate is an integer sum, count, min, max or median, and
the few floating-point results are computed from those integers in one fixed order, so the
engines agree bit for bit and repeated runs are identical.

Windows: "last 365" is (as_of - 365, as_of], "prior 365" is (as_of - 730, as_of - 365].
A purchase day is a day with at least one order of positive amount; refunds (negative
amounts) reduce spend but do not undo the visit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from itertools import pairwise
from typing import Any, Literal

import duckdb
import narwhals as nw
import polars as pl

from winback.analytics.frames import AnalyticsFrames
from winback.analytics.threads import analysis_threads
from winback.config import BusinessProfile

Backend = Literal["duckdb", "polars"]

EPOCH = date(1970, 1, 1)
YEAR_DAYS = 365
CONTACT_WINDOW_DAYS = 90
ENGAGEMENT_STREAMS: tuple[str, ...] = (
    "referral",
    "forum_post",
    "forum_reply",
    "qa_answer",
    "event_attendance",
    "survey_response",
    "suggestion",
)
STREAMS: tuple[str, ...] = (*ENGAGEMENT_STREAMS, "complaint")

_INT = pl.Int64()
_FLOAT = pl.Float64()
_DATE = pl.Date()


def _stream_columns() -> dict[str, pl.DataType]:
    columns: dict[str, pl.DataType] = {}
    for stream in STREAMS:
        columns[f"{stream}_n"] = _INT
        columns[f"{stream}_n_365"] = _INT
        columns[f"{stream}_last"] = _DATE
    return columns


# The feature frame's contract: one row per customer known on the as-of date.
FEATURES: dict[str, pl.DataType] = {
    "customer_pk": _INT,
    "first_purchase": _DATE,  # null: never bought (prospect)
    "last_purchase": _DATE,
    "n_purchases": _INT,  # distinct purchase days, all time
    "n_purchases_365": _INT,
    "n_purchases_prev_365": _INT,
    "spend_cents": _INT,  # net of refunds, all time
    "spend_365_cents": _INT,
    "spend_prev_365_cents": _INT,
    "spend_necessary_cents": _INT,
    "spend_discretionary_cents": _INT,
    "spend_unclassified_cents": _INT,  # orders without lines, lines without a necessity flag
    "spend_necessary_365_cents": _INT,
    "spend_discretionary_365_cents": _INT,
    "spend_unclassified_365_cents": _INT,
    "repeat_spend_mean_cents": _FLOAT,  # mean net spend of purchase days after the first
    "interval_mean_days": _FLOAT,
    "interval_median_days": _FLOAT,
    "interval_cv": _FLOAT,  # needs at least two intervals
    "expected_interval_days": _FLOAT,  # personal rhythm shrunk toward the business prior
    "days_since_last": _INT,
    "lateness": _FLOAT,  # days since last / expected interval
    "has_prior_year": pl.Boolean(),  # first purchase before the prior-365 window ends
    "frequency_trend_pct": _FLOAT,  # last 365 vs prior 365; null without a prior year
    "spend_trend_pct": _FLOAT,
    "categories_365": _INT,
    "categories_prev_365": _INT,
    "category_trend": _INT,
    **_stream_columns(),
    "referral_converted_n": _INT,
    "referred_spend_365_cents": _INT,
    "survey_score_mean": _FLOAT,
    "survey_score_latest": _FLOAT,
    "suggestion_adopted_n": _INT,
    "suggestion_adopted_n_365": _INT,
    "complaint_open_n": _INT,
    "complaint_oldest_open": _DATE,
    "engagement_n_365": _INT,
    "engagement_n_prev_365": _INT,
    "engagement_last": _DATE,
    "contacts_outbound_90": _INT,
    "contacts_unanswered_90": _INT,
    "tenure_days": _INT,
}


def day_number(day: date) -> int:
    """Days since 1970-01-01: the integer form every engine computes with."""
    return (day - EPOCH).days


def customer_features(
    frames: AnalyticsFrames,
    profile: BusinessProfile,
    as_of: date,
    *,
    backend: Backend = "duckdb",
    only: pl.Series | None = None,
) -> pl.DataFrame:
    """One row per customer known on ``as_of`` (``FEATURES`` columns), sorted by customer_pk.

    A customer is known when they joined on or before ``as_of`` (or the join date is unknown)
    or bought on or before it. ``only`` restricts the work to the given customer keys (a
    sample), filtered inside the engine; referred customers outside it then count as unknown.
    For several dates over the same frames, :class:`FeatureSource` prepares the streams once.
    """
    with FeatureSource(frames, backend=backend) as source:
        return source.features(profile, as_of, only=only)


class FeatureSource:
    """The behaviour streams prepared once for features at any number of as-of dates.

    The costly work that does not depend on the date is done here, once: the columns cast and
    dates turned into day numbers, the tables handed to the engine, and each customer's
    purchase sequence (the gap to the previous purchase day and the first day, a sort of every
    order by customer and day). :meth:`features` then runs only the date's filters and
    aggregates. The per-date results are exactly those of a fresh :func:`customer_features`:
    cutting a customer's day-ordered orders at a date keeps a prefix of the sequence, whose gaps
    and first day are the same as in the whole sequence.
    """

    def __init__(self, frames: AnalyticsFrames, *, backend: Backend = "duckdb") -> None:
        prepared = _prepare(frames)
        prepared["orders"] = (
            _sequenced(nw.from_native(prepared["orders"].lazy())).collect("polars").to_native()
        )
        self._sequenced_orders: pl.DataFrame = prepared["orders"]
        # The query only groups by the lines' category and tests it for null, and compares
        # their necessity with two words: dictionary codes (4 bytes a line instead of a
        # 16-byte string view) group and compare the same way, in less memory, and let the
        # caller's strings go (docs/decisions/0057).
        prepared["lines"] = prepared["lines"].with_columns(
            pl.col("category_code").cast(pl.Categorical).to_physical(),
            pl.col("necessity").cast(pl.Categorical),
        )
        # Where the key ranges of the scoring date's parts start (docs/decisions/0057).
        self._range_starts = _range_starts(
            prepared["customers"]["customer_pk"], prepared["lines"].height
        )
        self._closed = False
        self._connection = _duckdb() if backend == "duckdb" else None
        self._tables = {name: _lazy(df, self._connection) for name, df in prepared.items()}

    def __enter__(self) -> FeatureSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def concurrent(self) -> bool:
        """Whether :meth:`features` may run for several dates at once, from several threads:
        the Polars engine's lazy frames over immutable tables may; a DuckDB connection serves
        one query at a time."""
        return self._connection is None

    def close(self) -> None:
        """Close the engine's connection and let go of the prepared streams (the source can no
        longer be read; results already taken stay valid)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        self._tables = {}
        self._sequenced_orders = self._sequenced_orders.clear()
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this feature source is closed")

    def _parts_by_range(
        self, tables: dict[str, nw.LazyFrame[Any]], day: int
    ) -> dict[str, nw.LazyFrame[Any]]:
        """The query's parts (:func:`_parts`) aggregated one at a time, those over the orders
        and order lines by ranges of customer keys (docs/decisions/0057).

        In one query Polars builds every part's intermediate tables side by side: the
        conditional columns and groups over all orders and all order lines. Aggregated one
        part and one key range at a time, only a range's share of one part is alive at once.
        Each customer's rows fall in one range and every aggregate is per customer, so the
        ranges' results, put together, are the rows of the whole; the streams read across
        customers (the referred customers' orders) are aggregated whole. The joins then read
        the small per-customer results, so the values are the one query's."""
        pk = nw.col("customer_pk")
        collected: dict[str, list[pl.DataFrame]] = {name: [] for name in _RANGED_PARTS}
        bounds: list[int | None] = [None, *self._range_starts, None]
        for low, high in pairwise(bounds):
            ranged = dict(tables)
            for name in ("orders", "lines"):
                table = tables[name]
                if low is not None:
                    table = table.filter(pk >= low)
                if high is not None:
                    table = table.filter(pk < high)
                ranged[name] = table
            for name, part in _parts(ranged, day, _RANGED_PARTS).items():
                collected[name].append(part.collect("polars").to_native())
        parts = {
            name: nw.from_native(pl.concat(frames).lazy()) for name, frames in collected.items()
        }
        rest = [name for name in _PARTS if name not in _RANGED_PARTS]
        for name, part in _parts(tables, day, rest).items():
            parts[name] = nw.from_native(part.collect("polars").to_native().lazy())
        return parts

    def purchase_days(self) -> pl.DataFrame:
        """Distinct (customer_pk, day) with an order of positive amount, over all dates: the
        rows of :func:`winback.analytics.value.purchase_days`, read off the purchase sequence
        (the first purchase and each later one on a new day) instead of hashing every order;
        the row order is not part of the result. Orders without a date are left out."""
        self._check_open()
        gap = pl.col("gap")
        first_of_day = pl.col("is_purchase") & (gap.is_null() | (gap > 0))
        return self._sequenced_orders.filter(first_of_day & pl.col("day").is_not_null()).select(
            pl.col("customer_pk"), pl.col("day").cast(pl.Date)
        )

    def features(
        self,
        profile: BusinessProfile,
        as_of: date,
        *,
        only: pl.Series | None = None,
        columns: Sequence[str] | None = None,
    ) -> pl.DataFrame:
        """:func:`customer_features` as of ``as_of`` (``only``: the same restriction).

        ``columns``: only these ``FEATURES`` columns (and ``customer_pk``), in the contract's
        order; the engine then computes only what they need, and each value is the one the
        full query gives."""
        self._check_open()
        tables = self._tables
        if only is not None:
            keys = _lazy(pl.DataFrame({"customer_pk": only.cast(pl.Int64)}), self._connection)
            tables = {n: t.join(keys, on="customer_pk", how="semi") for n, t in tables.items()}
        day = day_number(as_of)
        parts = None
        if columns is None and self._connection is None:
            parts = self._parts_by_range(tables, day)
        query = _features_query(tables, profile, day, parts)
        wanted = None
        if columns is not None:
            wanted = {"customer_pk", *columns}
            unknown = sorted(wanted - set(FEATURES))
            if unknown:
                raise ValueError(f"not feature columns: {', '.join(unknown)}")
            names = query.collect_schema().names()
            query = query.select([n for n in names if n.removesuffix("_day") in wanted])
        return _finish(query.collect("polars").to_native(), wanted)


def features_lazy(
    tables: dict[str, nw.LazyFrame[Any]], profile: BusinessProfile, as_of: date
) -> nw.LazyFrame[Any]:
    """The feature query over prepared tables on any Narwhals lazy backend (the Spark engine,
    :mod:`winback.analytics.spark_engine`, hands PySpark frames): ``PREPARED`` tables in,
    ``FEATURES`` columns out with dates still as ``*_day`` integers (see :func:`finish`)."""
    return _features_query(tables, profile, day_number(as_of))


def finish(result: pl.DataFrame) -> pl.DataFrame:
    """A collected :func:`features_lazy` result in the ``FEATURES`` contract, sorted by key."""
    return _finish(result)


# Order lines per key range when a date's parts are aggregated by ranges of customer keys.
RANGE_LINES = 10_000_000


def _range_starts(keys: pl.Series, lines: int, per_range: int | None = None) -> list[int]:
    """The first key of every key range but the first: as many ranges as it takes to hold
    about ``per_range`` (default ``RANGE_LINES``) order lines each (one range on smaller
    bases), cut at quantiles of the customers' keys so each holds about as many customers."""
    per_range = per_range or RANGE_LINES
    if lines <= per_range:
        return []
    ordered = keys.drop_nulls().unique().sort()
    ranges = min(-(-lines // per_range), len(ordered))
    starts = [ordered[len(ordered) * i // ranges] for i in range(1, ranges)]
    return sorted({int(start) for start in starts})


def _duckdb() -> duckdb.DuckDBPyConnection:
    """An in-memory connection; row order is never relied on (results are sorted by key)."""
    connection = duckdb.connect()
    connection.execute("SET preserve_insertion_order = false")
    connection.execute(f"SET threads = {analysis_threads()}")
    return connection


def _prepare(frames: AnalyticsFrames) -> dict[str, pl.DataFrame]:
    """The columns the features read, with dates as Int32 day numbers named ``*_day``."""

    def days(column: str, name: str) -> pl.Expr:
        return pl.col(column).cast(pl.Int32).alias(name)

    # PREPARED below spells the same columns for engines that read them elsewhere (Spark).
    return {
        "customers": frames.customers.select(
            pl.col("customer_pk").cast(pl.Int64), days("join_date", "join_day")
        ),
        "orders": frames.orders.select(
            pl.col("customer_pk").cast(pl.Int64),
            days("order_date", "day"),
            pl.col("amount_cents").cast(pl.Int64),
        ),
        "lines": frames.order_lines.select(
            pl.col("customer_pk").cast(pl.Int64),
            days("order_date", "day"),
            pl.col("category_code").cast(pl.String),
            pl.col("necessity").cast(pl.String),
            pl.col("amount_cents").cast(pl.Int64),
        ),
        "events": frames.events.select(
            pl.col("customer_pk").cast(pl.Int64),
            pl.col("event_type").cast(pl.String),
            days("occurred_date", "day"),
            pl.col("referred_customer_pk").cast(pl.Int64),
            pl.col("referred_bought").cast(pl.Boolean),
            pl.col("score").cast(pl.Int64),
            pl.col("adopted").cast(pl.Boolean),
            pl.col("resolved").cast(pl.Boolean),
            days("resolved_date", "resolved_day"),
        ),
        "contacts": frames.contacts.select(
            pl.col("customer_pk").cast(pl.Int64),
            days("occurred_date", "day"),
            pl.col("direction").cast(pl.String),
            pl.col("outcome").cast(pl.String),
        ),
    }


# The prepared tables the feature query reads: name -> {column: kind}, kind "int" (Int64),
# "day" (Int32 day number), "str" or "bool". The order of _prepare's selects.
PREPARED: dict[str, dict[str, str]] = {
    "customers": {"customer_pk": "int", "join_day": "day"},
    "orders": {"customer_pk": "int", "day": "day", "amount_cents": "int"},
    "lines": {
        "customer_pk": "int",
        "day": "day",
        "category_code": "str",
        "necessity": "str",
        "amount_cents": "int",
    },
    "events": {
        "customer_pk": "int",
        "event_type": "str",
        "day": "day",
        "referred_customer_pk": "int",
        "referred_bought": "bool",
        "score": "int",
        "adopted": "bool",
        "resolved": "bool",
        "resolved_day": "day",
    },
    "contacts": {"customer_pk": "int", "day": "day", "direction": "str", "outcome": "str"},
}


def _lazy(frame: pl.DataFrame, connection: duckdb.DuckDBPyConnection | None) -> nw.LazyFrame[Any]:
    if connection is None:
        return nw.from_native(frame.lazy())
    # The newest Arrow level keeps Polars' string views: no copy of the string columns.
    return nw.from_native(
        connection.from_arrow(frame.to_arrow(compat_level=pl.CompatLevel.newest()))
    )


def _finish(result: pl.DataFrame, columns: set[str] | None = None) -> pl.DataFrame:
    """Day numbers back to dates (``x_day`` -> ``x``), the contract's order and types
    (``columns``: only those of the contract)."""
    renames = {c: c.removesuffix("_day") for c in result.columns if c.endswith("_day")}
    dated = result.with_columns(pl.col(list(renames)).cast(pl.Date)).rename(renames)
    contract = (
        FEATURES.items()
        if columns is None
        else ((c, t) for c, t in FEATURES.items() if c in columns)
    )
    finished = dated.select([pl.col(c).cast(t) for c, t in contract])
    keys = finished["customer_pk"]
    if keys.null_count() == 0 and keys.is_sorted():
        # Already in key order (the customers' order, kept by the joins): a sort would only
        # copy every column of a frame of every customer (docs/decisions/0057).
        return finished
    return finished.sort("customer_pk")


def _count(condition: nw.Expr) -> nw.Expr:
    # when/otherwise(0) so that an empty group sums to 0 on every engine (DuckDB gives NULL);
    # the cast keeps DuckDB from widening integer sums to 128 bits (slow to hand over).
    return nw.when(condition).then(1).otherwise(0).sum().cast(nw.Int64)


def _sum_if(condition: nw.Expr, value: nw.Expr) -> nw.Expr:
    return nw.when(condition).then(value).otherwise(0).sum().cast(nw.Int64)


class _Windows:
    """The as-of date's windows as expressions over a ``day`` column."""

    def __init__(self, as_of_day: int) -> None:
        self.as_of = as_of_day
        day = nw.col("day")
        self.upto = day <= as_of_day
        self.last_365 = day > as_of_day - YEAR_DAYS
        self.prior_365 = (day > as_of_day - 2 * YEAR_DAYS) & (day <= as_of_day - YEAR_DAYS)


# The feature query's parts, in the order they are joined to the customers; those read only
# each customer's own orders and order lines may be aggregated by ranges of customer keys.
_PARTS = ("purchases", "lines", "categories", "events", "referrals", "surveys", "contacts")
_RANGED_PARTS = ("purchases", "lines", "categories")


def _parts(
    tables: dict[str, nw.LazyFrame[Any]], as_of_day: int, names: Sequence[str] = _PARTS
) -> dict[str, nw.LazyFrame[Any]]:
    """The per-customer aggregates the feature query joins to the customers, by stream
    (``names``: only these)."""
    w = _Windows(as_of_day)
    build = {
        "purchases": lambda: _purchase_features(tables["orders"], w),
        "lines": lambda: _line_features(tables["lines"], w),
        "categories": lambda: _category_features(tables["lines"], w),
        "events": lambda: _event_features(tables["events"], w),
        "referrals": lambda: _referral_features(tables["events"], tables["orders"], w),
        "surveys": lambda: _latest_survey(tables["events"], w),
        "contacts": lambda: _contact_features(tables["contacts"], w),
    }
    return {name: build[name]() for name in names}


def _features_query(
    tables: dict[str, nw.LazyFrame[Any]],
    profile: BusinessProfile,
    as_of_day: int,
    parts: dict[str, nw.LazyFrame[Any]] | None = None,
) -> nw.LazyFrame[Any]:
    """The feature query; ``parts``: the :func:`_parts` of these tables and date, already
    computed (the query then only joins them to the customers and derives the rest)."""
    if parts is None:
        parts = _parts(tables, as_of_day)
        join = _join
    else:
        join = _join_in_order
    purchases = parts["purchases"]
    base = join(tables["customers"], purchases)
    base = base.filter(
        nw.col("join_day").is_null()
        | (nw.col("join_day") <= as_of_day)
        | ~nw.col("first_purchase_day").is_null()
    )
    joined = base
    for name in _PARTS[1:]:
        joined = join(joined, parts[name])
    keep_null = {"customer_pk", "interval_median_days", "latest_score_sum", "latest_score_n"}
    counts = [
        c for c in joined.collect_schema().names() if not c.endswith("_day") and c not in keep_null
    ]
    joined = joined.with_columns(nw.col(counts).fill_null(0))
    return _derived(joined, profile, as_of_day)


def _join(left: nw.LazyFrame[Any], right: nw.LazyFrame[Any]) -> nw.LazyFrame[Any]:
    return left.join(right, on="customer_pk", how="left")


def _join_in_order(left: nw.LazyFrame[Any], right: nw.LazyFrame[Any]) -> nw.LazyFrame[Any]:
    """:func:`_join` on Polars, keeping the customers' order: when they come in key order (as
    read from the database) the result needs no sort, which would copy every column."""
    native = left.to_native().join(
        right.to_native(), on="customer_pk", how="left", maintain_order="left"
    )
    return nw.from_native(native)


def _sequenced(orders: nw.LazyFrame[Any]) -> nw.LazyFrame[Any]:
    """Each order with its place in the customer's purchase sequence, over all dates.

    Orders with a positive amount are ordered by day within each customer (refunds within
    theirs); ``gap`` is the days since the previous row (0: a second order on the same day,
    null: the first), ``first_day`` the sequence's first day. Both depend only on the rows
    before, so they hold unchanged for the orders on or before any as-of date.
    """
    day = nw.col("day")
    ordered = orders.with_columns(is_purchase=nw.col("amount_cents") > 0)
    return ordered.with_columns(
        gap=day.diff().over("customer_pk", "is_purchase", order_by="day"),
        first_day=day.cum_min().over("customer_pk", "is_purchase", order_by="day"),
    )


def _purchase_features(orders: nw.LazyFrame[Any], w: _Windows) -> nw.LazyFrame[Any]:
    """Spend by window, purchase days and the intervals between them, in one ordered pass.

    Orders with a positive amount are sorted by day within each customer; a gap of 0 is a
    second order on the same day, so purchase days are the first row and every positive gap.
    ``orders`` may already carry the sequence (:func:`_sequenced`, computed once over all
    dates); else it is computed here on the orders up to the as-of date.
    """
    day, amount = nw.col("day"), nw.col("amount_cents")
    if "gap" in orders.collect_schema().names():
        ordered = orders.filter(w.upto)
    else:
        ordered = _sequenced(orders.filter(w.upto))
    bought, gap = nw.col("is_purchase"), nw.col("gap")
    new_day = bought & (gap.is_null() | (gap > 0))
    repeat_day = bought & (gap > 0)
    return ordered.group_by("customer_pk").agg(
        amount.sum().cast(nw.Int64).alias("spend_cents"),
        _sum_if(w.last_365, amount).alias("spend_365_cents"),
        _sum_if(w.prior_365, amount).alias("spend_prev_365_cents"),
        _count(new_day).alias("n_purchases"),
        _count(new_day & w.last_365).alias("n_purchases_365"),
        _count(new_day & w.prior_365).alias("n_purchases_prev_365"),
        nw.when(bought).then(day).min().alias("first_purchase_day"),
        nw.when(bought).then(day).max().alias("last_purchase_day"),
        _sum_if(bought & (day > nw.col("first_day")), amount).alias("repeat_spend"),
        _count(repeat_day).alias("gap_n"),
        _sum_if(repeat_day, gap * gap).alias("gap_sum_sq"),
        nw.when(repeat_day).then(gap).median().alias("interval_median_days"),
    )


def _line_features(lines: nw.LazyFrame[Any], w: _Windows) -> nw.LazyFrame[Any]:
    """Necessary / discretionary spend by customer (lines without a flag stay unclassified)."""
    amount, necessity = nw.col("amount_cents"), nw.col("necessity")
    necessary, discretionary = necessity == "necessary", necessity == "discretionary"
    return (
        lines.filter(w.upto)
        .group_by("customer_pk")
        .agg(
            _sum_if(necessary, amount).alias("spend_necessary_cents"),
            _sum_if(discretionary, amount).alias("spend_discretionary_cents"),
            _sum_if(necessary & w.last_365, amount).alias("spend_necessary_365_cents"),
            _sum_if(discretionary & w.last_365, amount).alias("spend_discretionary_365_cents"),
        )
    )


def _category_features(lines: nw.LazyFrame[Any], w: _Windows) -> nw.LazyFrame[Any]:
    """Distinct categories bought in the last 365 days and in the 365 before.

    Grouped by (customer, category) rather than ``unique()``: Narwhals renders ``unique`` on
    DuckDB as a window over the whole input, several times slower than a hash group-by.
    """
    day = nw.col("day")
    per_category = (
        lines.filter(w.upto & (day > w.as_of - 2 * YEAR_DAYS))
        .filter(~nw.col("category_code").is_null())
        .group_by("customer_pk", "category_code")
        .agg(day.max().alias("last"), day.min().alias("first"))
    )
    return per_category.group_by("customer_pk").agg(
        _count(nw.col("last") > w.as_of - YEAR_DAYS).alias("categories_365"),
        _count(nw.col("first") <= w.as_of - YEAR_DAYS).alias("categories_prev_365"),
    )


def _resolved_by(as_of_day: int) -> nw.Expr:
    """A complaint counts as resolved on the as-of date when its resolution date has passed
    (or, with no date recorded, when it is flagged resolved)."""
    resolved_day = nw.col("resolved_day")
    dated = ~resolved_day.is_null() & (resolved_day <= as_of_day)
    undated = resolved_day.is_null() & nw.col("resolved").fill_null(value=False)
    return dated | undated


def _event_features(events: nw.LazyFrame[Any], w: _Windows) -> nw.LazyFrame[Any]:
    day, kind = nw.col("day"), nw.col("event_type")
    aggs: list[nw.Expr] = []
    for stream in STREAMS:
        is_stream = kind == stream
        aggs += [
            _count(is_stream).alias(f"{stream}_n"),
            _count(is_stream & w.last_365).alias(f"{stream}_n_365"),
            nw.when(is_stream).then(day).max().alias(f"{stream}_last_day"),
        ]
    engaged = kind.is_in(ENGAGEMENT_STREAMS)
    adopted = (kind == "suggestion") & nw.col("adopted").fill_null(value=False)
    complaint_open = (kind == "complaint") & ~_resolved_by(w.as_of)
    scored = (kind == "survey_response") & ~nw.col("score").is_null()
    aggs += [
        _count(engaged & w.last_365).alias("engagement_n_365"),
        _count(engaged & w.prior_365).alias("engagement_n_prev_365"),
        nw.when(engaged).then(day).max().alias("engagement_last_day"),
        _count(adopted).alias("suggestion_adopted_n"),
        _count(adopted & w.last_365).alias("suggestion_adopted_n_365"),
        _count(complaint_open).alias("complaint_open_n"),
        nw.when(complaint_open).then(day).min().alias("complaint_oldest_open_day"),
        _sum_if(scored, nw.col("score")).alias("score_sum"),
        _count(scored).alias("score_n"),
    ]
    return events.filter(w.upto).group_by("customer_pk").agg(*aggs)


def _referral_features(
    events: nw.LazyFrame[Any], orders: nw.LazyFrame[Any], w: _Windows
) -> nw.LazyFrame[Any]:
    """Referrals that converted by the as-of date, and what the referred customers spent.

    A referral converts when the referred customer (if known) has an order with a positive
    amount on or before the as-of date; when the referred customer is not in the data, the
    recorded flag decides. Only the referred customers' orders are read (a semi-join).
    """
    referrals = events.filter(w.upto & (nw.col("event_type") == "referral"))
    referred_keys = (
        referrals.filter(~nw.col("referred_customer_pk").is_null())
        .group_by("referred_customer_pk")
        .agg(nw.len().alias("times"))
        .select(nw.col("referred_customer_pk").alias("customer_pk"))
    )
    referred = (
        orders.filter(w.upto)
        .join(referred_keys, on="customer_pk", how="semi")
        .group_by("customer_pk")
        .agg(
            _count(nw.col("amount_cents") > 0).alias("referred_orders"),
            _sum_if(w.last_365, nw.col("amount_cents")).alias("referred_spend_365"),
        )
        .rename({"customer_pk": "referred_customer_pk"})
    )
    known = ~nw.col("referred_customer_pk").is_null()
    converted = (known & (nw.col("referred_orders").fill_null(0) > 0)) | (
        ~known & nw.col("referred_bought").fill_null(value=False)
    )
    spend = nw.when(nw.col("referred_spend_365") > 0).then(nw.col("referred_spend_365"))
    return (
        referrals.join(referred, on="referred_customer_pk", how="left")
        .group_by("customer_pk")
        .agg(
            _count(converted).alias("referral_converted_n"),
            _sum_if(converted, spend.otherwise(0)).alias("referred_spend_365_cents"),
        )
    )


def _latest_survey(events: nw.LazyFrame[Any], w: _Windows) -> nw.LazyFrame[Any]:
    """Score of the latest survey answer (the mean when several fall on that day)."""
    surveys = events.filter(
        w.upto & (nw.col("event_type") == "survey_response") & ~nw.col("score").is_null()
    )
    latest = surveys.with_columns(latest=nw.col("day").max().over("customer_pk")).filter(
        nw.col("day") == nw.col("latest")
    )
    return latest.group_by("customer_pk").agg(
        nw.col("score").sum().cast(nw.Int64).alias("latest_score_sum"),
        nw.len().cast(nw.Int64).alias("latest_score_n"),
    )


def _contact_features(contacts: nw.LazyFrame[Any], w: _Windows) -> nw.LazyFrame[Any]:
    recent = contacts.filter(
        w.upto
        & (nw.col("day") > w.as_of - CONTACT_WINDOW_DAYS)
        & (nw.col("direction") == "outbound")
    )
    return recent.group_by("customer_pk").agg(
        nw.len().cast(nw.Int64).alias("contacts_outbound_90"),
        _count(nw.col("outcome") == "not_reached").alias("contacts_unanswered_90"),
    )


def _ratio_pct(current: str, prior: str) -> nw.Expr:
    cur, pre = nw.col(current), nw.col(prior)
    return nw.when(nw.col("has_prior_year") & (pre > 0)).then((cur - pre) * 100 / pre)


def _derived(
    features: nw.LazyFrame[Any], profile: BusinessProfile, as_of_day: int
) -> nw.LazyFrame[Any]:
    """Rhythm, lateness, trends and the spend split, from the integer aggregates."""
    first, last, gap_n = nw.col("first_purchase_day"), nw.col("last_purchase_day"), nw.col("gap_n")
    span = last - first
    strength, prior = profile.prior_strength, profile.expected_return_days
    # Shrinkage toward the business prior: prior_strength pseudo-intervals of length
    # expected_return_days are pooled with the customer's own intervals (their sum is span).
    pooled = nw.when(gap_n + strength > 0).then((span + strength * prior) / (gap_n + strength))
    variance_num = gap_n * nw.col("gap_sum_sq") - span * span
    stage1 = features.with_columns(
        expected_interval_days=nw.when(~first.is_null()).then(pooled.otherwise(prior)),
        days_since_last=as_of_day - last,
        has_prior_year=~first.is_null() & (first <= as_of_day - YEAR_DAYS),
        interval_mean_days=nw.when(gap_n > 0).then(span / gap_n),
        interval_var=nw.when(gap_n > 1).then(variance_num / (gap_n * (gap_n - 1))),
        repeat_spend_mean_cents=nw.when(gap_n > 0).then(nw.col("repeat_spend") / gap_n),
        tenure_days=as_of_day - nw.min_horizontal(nw.col("join_day"), first),
        spend_unclassified_cents=nw.col("spend_cents")
        - nw.col("spend_necessary_cents")
        - nw.col("spend_discretionary_cents"),
        spend_unclassified_365_cents=nw.col("spend_365_cents")
        - nw.col("spend_necessary_365_cents")
        - nw.col("spend_discretionary_365_cents"),
        category_trend=nw.col("categories_365") - nw.col("categories_prev_365"),
        survey_score_mean=nw.when(nw.col("score_n") > 0).then(
            nw.col("score_sum") / nw.col("score_n")
        ),
        survey_score_latest=nw.col("latest_score_sum") / nw.col("latest_score_n"),
    )
    stage2 = stage1.with_columns(
        lateness=nw.col("days_since_last") / nw.col("expected_interval_days"),
        interval_cv=nw.when(nw.col("interval_mean_days") > 0).then(
            nw.col("interval_var").sqrt() / nw.col("interval_mean_days")
        ),
        frequency_trend_pct=_ratio_pct("n_purchases_365", "n_purchases_prev_365"),
        spend_trend_pct=_ratio_pct("spend_365_cents", "spend_prev_365_cents"),
    )
    # Only the contract's columns leave the engine (dates still as day numbers).
    return stage2.select([f"{c}_day" if t == _DATE else c for c, t in FEATURES.items()])

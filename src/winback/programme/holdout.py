"""The random control group: stratified, reproducible, recorded with its seed (R6, R7).

Method: stratified systematic sampling. Customers are sorted by stratum (tier, stage, and any
balancing keys) and, within a stratum, by a uniform random key; a random start ``o`` in [0, 1)
is drawn and the customer at sorted position ``i`` joins the control group when
``floor((i + 1) * share + o) > floor(i * share + o)``. Hence

* every customer's chance of being held out is exactly ``share`` (so treated and control are
  comparable without reweighting: a plain difference of means is unbiased), and
* every contiguous run of ``m`` sorted customers - every stratum in particular - holds
  ``floor(m * share)`` or ``ceil(m * share)`` control customers, whatever the seed.

(Cochran, *Sampling Techniques*, 3rd ed. 1977, ch. 8: systematic sampling; with a random
within-stratum order it is stratified random sampling with proportional allocation.)
The random numbers are drawn in ``customer_pk`` order from ``numpy.random.default_rng(seed)``,
so the same customers and the same seed always give the same control group, whatever the row
order of the input.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from winback import vocabulary

ARMS = vocabulary.ARMS
DEFAULT_STRATA = ("tier", "stage")


def assign_holdout(
    frame: pl.DataFrame,
    *,
    share: float,
    seed: int,
    strata: Sequence[str] = DEFAULT_STRATA,
    balance: Sequence[str] = (),
) -> pl.DataFrame:
    """Add ``arm`` ("treated" | "control") and ``stratum`` (e.g. ``"2|lost"``) columns.

    ``frame`` needs ``customer_pk`` (unique) and the ``strata`` columns. ``balance`` columns
    refine the order inside a stratum (e.g. the required agent seniority) so the control group
    also mirrors them, without changing the strata the sizes are guaranteed for.
    """
    if not 0.0 <= share < 1.0:
        raise ValueError("the holdout share must be in [0, 1)")
    if frame["customer_pk"].n_unique() != frame.height:
        raise ValueError("customer_pk must be unique in the holdout frame")
    rng = np.random.default_rng(seed)
    offset = float(rng.random())
    ordered = frame.sort("customer_pk").with_columns(
        _u=pl.Series(rng.random(frame.height), dtype=pl.Float64)
    )
    keys = [*strata, *balance, "_u"]
    ordered = ordered.sort(keys, nulls_last=True).with_columns(
        _i=pl.int_range(pl.len(), dtype=pl.Int64)
    )
    upper = ((pl.col("_i") + 1) * share + offset).floor()
    lower = (pl.col("_i") * share + offset).floor()
    stratum = pl.concat_str(
        [pl.col(c).cast(pl.String).fill_null("-") for c in strata], separator="|"
    )
    return (
        ordered.with_columns(
            arm=pl.when(upper > lower).then(pl.lit("control")).otherwise(pl.lit("treated")),
            stratum=stratum if strata else pl.lit("all"),
        )
        .drop("_u", "_i")
        .sort("customer_pk")
    )


def strata_sizes(assigned: pl.DataFrame) -> pl.DataFrame:
    """Customers per stratum and arm: ``stratum``, ``treated``, ``control``, ``total``."""
    return (
        assigned.group_by("stratum")
        .agg(
            treated=(pl.col("arm") == "treated").sum().cast(pl.Int64),
            control=(pl.col("arm") == "control").sum().cast(pl.Int64),
        )
        .with_columns(total=pl.col("treated") + pl.col("control"))
        .sort("stratum")
    )


# --- the global holdout ------------------------------------------------------------------------

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """The SplitMix64 finaliser (Steele, Lea & Flood 2014): a fixed, well-mixed 64-bit hash."""
    with np.errstate(over="ignore"):
        z = (x + np.uint64(0x9E3779B97F4A7C15)) & _MASK
        z = ((z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK
        z = ((z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _MASK
        return z ^ (z >> np.uint64(31))


def global_holdout_key(customer_pk: Sequence[int] | np.ndarray, seed: int) -> np.ndarray:
    """A uniform number in [0, 1) per customer, fixed by the customer's id and the seed."""
    ids = np.asarray(customer_pk, dtype=np.int64).astype(np.uint64)
    mixed = _splitmix64(
        ids ^ _splitmix64(np.full(ids.shape, seed, dtype=np.int64).astype(np.uint64))
    )
    return (mixed >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def in_global_holdout(
    customer_pk: Sequence[int] | np.ndarray, *, share: float, seed: int | None
) -> np.ndarray:
    """Whether each customer belongs to the global holdout: a fixed ``share`` of the whole base
    that the programme never contacts. Deterministic per customer (a hash of the id and the
    seed), so a customer who arrives later is assigned by the same rule, and the same
    customers stay held out for as long as the share and the seed stay."""
    if not 0.0 <= share < 1.0:
        raise ValueError("the global holdout share must be in [0, 1)")
    ids = np.asarray(customer_pk, dtype=np.int64)
    if share == 0.0 or seed is None:
        return np.zeros(ids.shape, dtype=bool)
    return global_holdout_key(ids, seed) < share

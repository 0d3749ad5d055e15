"""Top signals: built only for the rows that list them, the same JSON as building every
indicator's object for every buyer and picking from them (the first way of doing it)."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest

from winback.analytics.features import customer_features
from winback.analytics.indicators import CODES
from winback.analytics.signals import NOT_LISTED, TOP, payloads, present, top_signals
from winback.config import preset

from .conftest import AS_OF
from .synth import synth_history

_TRIGGER_BONUS = 1e6


def _every_object_then_pick(
    frame: pl.DataFrame,
    contributions: np.ndarray,
    triggered: np.ndarray,
    profile: Any,
    as_of_expr: pl.Expr,
) -> pl.Series:
    conditions = present(profile) | dict.fromkeys(NOT_LISTED, pl.lit(value=False))
    shown = frame.select([conditions[c].fill_null(value=False).alias(c) for c in CODES])
    is_present = shown.to_numpy().astype(bool)
    eligible = (is_present & (contributions > 0)) | triggered
    priority = np.where(eligible, contributions + _TRIGGER_BONUS * triggered, -np.inf)
    order = np.argsort(-priority, axis=1, kind="stable")[:, :TOP]
    chosen = np.take_along_axis(priority, order, axis=1)
    slots = np.where(np.isfinite(chosen), order, -1)
    texts = payloads(as_of_expr) | dict.fromkeys(NOT_LISTED, pl.lit(None, dtype=pl.String))
    columns = frame.select([texts[c].alias(f"_s{j}") for j, c in enumerate(CODES)])
    slot_frame = pl.DataFrame({f"_slot{k}": slots[:, k] for k in range(TOP)})
    combined = pl.concat([columns, slot_frame], how="horizontal")

    def slot_text(k: int) -> pl.Expr:
        expr: Any = pl.when(pl.lit(value=False)).then(pl.lit(None, dtype=pl.String))
        for j in range(len(CODES)):
            expr = expr.when(pl.col(f"_slot{k}") == j).then(pl.col(f"_s{j}"))
        return expr.otherwise(pl.lit(None, dtype=pl.String))

    joined = pl.concat_str([slot_text(k) for k in range(TOP)], separator=",", ignore_nulls=True)
    return combined.select(
        pl.concat_str([pl.lit("["), joined.fill_null(""), pl.lit("]")]).alias("top_signals")
    )["top_signals"]


@pytest.mark.parametrize("seed", [3, 11])
def test_objects_built_where_listed_equal_every_object_then_picked(seed: int) -> None:
    profile = preset("retail")
    features = customer_features(synth_history(500, seed=seed).frames, profile, AS_OF)
    rng = np.random.default_rng(seed)
    buyers = features.filter(pl.col("first_purchase").is_not_null())
    buyers = buyers.with_columns(
        p_alive=pl.Series(rng.random(buyers.height)), early_warning=pl.lit(value=False)
    )
    n = buyers.height
    # Rounded contributions give ties, which the declared order breaks.
    contributions = np.round(rng.normal(0, 1, (n, len(CODES))), 1)
    triggered = rng.random((n, len(CODES))) < 0.05
    as_of = pl.lit(AS_OF)
    got = top_signals(buyers, contributions, triggered, profile, as_of)
    expected = _every_object_then_pick(buyers, contributions, triggered, profile, as_of)
    assert got.to_list() == expected.to_list()
    listed = got.str.count_matches('"code"')
    assert listed.max() == TOP
    assert (listed == 0).any()

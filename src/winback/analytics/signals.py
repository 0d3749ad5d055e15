"""Each customer's top signals (R2, R9): up to three warning signs as a deterministic JSON list.

A signal is an indicator (other than the BTYD inputs few_repeats, long_tenure and
btyd_no_return, which are never listed) that pushes this customer's churn score up
(w_j z_j > 0) and is actually present in the raw data (e.g. spend really fell), or that
triggered the early warning; triggered ones come first, then by contribution (ties: declared
order). Each is an object with the code first and named values, e.g.
[{"code":"late_vs_rhythm","days_late":42,"usual_interval_days":12},{"code":"spend_down","pct":60}]
Built with Polars string expressions, so no Python loop over customers.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from numpy.typing import NDArray

from winback.analytics.indicators import CODES
from winback.config import BusinessProfile

TOP = 3
_TRIGGER_BONUS = 1e6
_SLICE_ROWS = 100_000
# The BTYD inputs shape the score but are never listed as signs of their own: what they say
# reaches staff as long_silence, late_vs_rhythm and low_p_alive.
NOT_LISTED: tuple[str, ...] = ("few_repeats", "long_tenure", "btyd_no_return")


def _int(expr: pl.Expr) -> pl.Expr:
    return expr.round(0).cast(pl.Int64, strict=False).cast(pl.String)


def _one_decimal(expr: pl.Expr) -> pl.Expr:
    return expr.round(1).cast(pl.String)


def _quoted(expr: pl.Expr) -> pl.Expr:
    return pl.concat_str([pl.lit('"'), expr.cast(pl.String), pl.lit('"')])


def _json(code: str, **values: pl.Expr) -> pl.Expr:
    parts: list[pl.Expr] = [pl.lit(f'{{"code":"{code}"')]
    for name, value in values.items():
        parts += [pl.lit(f',"{name}":'), value]
    parts.append(pl.lit("}"))
    return pl.concat_str(parts)


def _pair(current: str, prior: str) -> dict[str, pl.Expr]:
    return {"last_365": _int(pl.col(current)), "prior_365": _int(pl.col(prior))}


def signal_fields(
    as_of_expr: pl.Expr, survey_mean: float | None = None
) -> dict[str, dict[str, pl.Expr]]:
    """Indicator code -> the named values its signal carries (over the scoring frame); every
    code but :data:`NOT_LISTED`."""
    days, interval = pl.col("days_since_last"), pl.col("expected_interval_days")
    spend, prior_spend = pl.col("spend_365_cents"), pl.col("spend_prev_365_cents")
    latest = pl.col("survey_score_latest")
    return {
        "long_silence": {"days": _int(days)},
        "late_vs_rhythm": {
            "days_late": _int((days - interval).clip(lower_bound=0)),
            "usual_interval_days": _int(interval),
        },
        "low_p_alive": {"p_alive_pct": _int(pl.col("p_alive") * 100)},
        "frequency_down": _pair("n_purchases_365", "n_purchases_prev_365"),
        "spend_down": {"pct": _int((prior_spend - spend) * 100 / prior_spend)},
        "category_narrowing": _pair("categories_365", "categories_prev_365"),
        "engagement_down": _pair("engagement_n_365", "engagement_n_prev_365"),
        "engagement_silence": {
            "days": _int((as_of_expr - pl.col("engagement_last")).dt.total_days()),
            "last": _quoted(pl.col("engagement_last")),
        },
        "unanswered_contacts": {"count_90d": _int(pl.col("contacts_unanswered_90"))},
        "open_complaint": {
            "count": _int(pl.col("complaint_open_n")),
            "since": _quoted(pl.col("complaint_oldest_open")),
        },
        "low_satisfaction": {
            "latest_score": _one_decimal(latest),
            "mean_score": _one_decimal(mean_survey(survey_mean)),
        },
    }


def mean_survey(survey_mean: float | None = None) -> pl.Expr:
    """The buyers' mean latest survey score: over the frame at hand, or ``survey_mean`` when
    the frame is one batch of many (the Spark engine passes the mean of all buyers)."""
    if survey_mean is None:
        return pl.col("survey_score_latest").mean()
    return pl.lit(survey_mean, dtype=pl.Float64)


def payloads(as_of_expr: pl.Expr, survey_mean: float | None = None) -> dict[str, pl.Expr]:
    """Indicator code -> its JSON object (string) over the scoring frame."""
    fields = signal_fields(as_of_expr, survey_mean)
    return {code: _json(code, **f) for code, f in fields.items()}


def present(profile: BusinessProfile, survey_mean: float | None = None) -> dict[str, pl.Expr]:
    """Indicator code -> is the warning sign really there (not just below average)?"""
    prior_year = pl.col("has_prior_year")
    latest = pl.col("survey_score_latest")
    return {
        "long_silence": pl.col("days_since_last") >= profile.lifecycle.silent_from,
        "late_vs_rhythm": pl.col("lateness") > 1,
        "low_p_alive": pl.col("p_alive") < 0.5,
        "frequency_down": prior_year & (pl.col("n_purchases_365") < pl.col("n_purchases_prev_365")),
        "spend_down": prior_year & (pl.col("spend_365_cents") < pl.col("spend_prev_365_cents")),
        "category_narrowing": prior_year
        & (pl.col("categories_365") < pl.col("categories_prev_365")),
        "engagement_down": pl.col("engagement_n_365") < pl.col("engagement_n_prev_365"),
        "engagement_silence": pl.col("engagement_last").is_not_null(),
        "unanswered_contacts": pl.col("contacts_unanswered_90") > 0,
        "open_complaint": pl.col("complaint_open_n") > 0,
        "low_satisfaction": latest < mean_survey(survey_mean),
    }


def _slots(
    is_present: NDArray[np.bool_],
    contributions: NDArray[np.float64],
    triggered: NDArray[np.bool_],
) -> NDArray[np.int64]:
    """Per row, the indicator indices listed (at most TOP, best first; -1: none)."""
    eligible = (is_present & (contributions > 0)) | triggered
    priority = np.where(eligible, contributions + _TRIGGER_BONUS * triggered, -np.inf)
    order = np.argsort(-priority, axis=1, kind="stable")[:, :TOP]
    chosen = np.take_along_axis(priority, order, axis=1)
    slots: NDArray[np.int64] = np.where(np.isfinite(chosen), order, -1)
    return slots


def top_signals(
    frame: pl.DataFrame,
    contributions: NDArray[np.float64],
    triggered: NDArray[np.bool_],
    profile: BusinessProfile,
    as_of_expr: pl.Expr,
    survey_mean: float | None = None,
) -> pl.Series:
    """JSON lists for the rows of ``frame`` (buyers, with p_alive); matrices in CODES order."""
    conditions = present(profile, survey_mean) | dict.fromkeys(NOT_LISTED, pl.lit(value=False))
    shown = frame.select([conditions[c].fill_null(value=False).alias(c) for c in CODES])
    is_present = shown.to_numpy().astype(bool) if frame.height else np.zeros((0, len(CODES)), bool)
    # Row by row, in slices: the (rows x indicators) temporaries stay small on large bases.
    slots = np.empty((frame.height, TOP), dtype=np.int64)
    for start in range(0, frame.height, _SLICE_ROWS):
        rows = slice(start, start + _SLICE_ROWS)
        slots[rows] = _slots(is_present[rows], contributions[rows], triggered[rows])

    # Each JSON object is built only for the rows that list it (at most TOP of the codes per
    # row), from the rows' own columns: the payloads are row by row, except the mean survey
    # score, taken once over the whole frame as before.
    if survey_mean is None and frame.height:
        survey_mean = frame.select(mean_survey()).item()
    texts = payloads(as_of_expr, survey_mean)
    lazy = frame.lazy()
    slot_texts = []
    for k in range(TOP):
        # A code is listed at most once per row: each object is built once, for its rows.
        where: list[NDArray[np.int64]] = []
        pieces: list[pl.Series] = []
        for j, code in enumerate(CODES):
            listed = slots[:, k] == j
            if code in texts and listed.any():
                where.append(np.flatnonzero(listed))
                text = lazy.filter(pl.Series(listed)).select(texts[code]).collect()
                pieces.append(text.to_series())
        column = pl.repeat(None, frame.height, dtype=pl.String, eager=True).alias(f"_t{k}")
        if pieces:
            column = column.scatter(np.concatenate(where), pl.concat(pieces))
        slot_texts.append(column)
    joined = pl.concat_str(pl.all(), separator=",", ignore_nulls=True)
    result = pl.DataFrame(slot_texts).select(
        pl.concat_str([pl.lit("["), joined.fill_null(""), pl.lit("]")]).alias("top_signals")
    )
    return result["top_signals"]

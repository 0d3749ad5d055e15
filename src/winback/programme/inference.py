"""Decision-grade measurement: small-sample intervals, CUPED, pooling and the programme verdict.

The pieces, each with its source:

* **Difference of mean spend** (:func:`mean_diff_interval`). Spend per customer is mostly zero
  with a log-normal tail among returners, and control groups can be ~30 customers. Candidates:
  Welch's t (Welch 1947, *Biometrika* 34), the percentile bootstrap (Efron & Tibshirani 1993,
  ch. 13), BCa (Efron 1987, *JASA* 82:171-185), the studentised bootstrap (bootstrap-t;
  DiCiccio & Efron 1996, *Statistical Science* 11:189-228) and Welch's t with each arm's
  variance floored at the pooled variance (``"welch_floor"``). They were chosen between by
  simulation (``benchmarks/interval_choice.py``, decision 0015); the default is
  :data:`DEFAULT_INTERVAL`.
* **CUPED** (:func:`cuped`): Deng, Xu, Kohavi & Walker (2013), "Improving the sensitivity of
  online controlled experiments by utilizing pre-experiment data", WSDM. ``y - (x - mean x)
  theta`` with ``theta`` the least-squares slope of ``y`` on the pre-period covariates, fitted
  on both arms together; the variance of the adjusted mean is ``(1 - R^2)`` of the raw one.
* **Return-rate difference**: the Newcombe hybrid score interval
  (:func:`winback.programme.attribution.newcombe_interval`, Newcombe 1998).
* **Net margin and ROI of a round** (:func:`round_estimate`): both are affine transforms of the
  revenue difference because the cost is known, so their intervals are the revenue interval
  transformed. Accounting (decision 0016): spend is what customers paid, net of any discount;
  the incremental margin is ``n_treated x gross_margin x revenue difference``; the cost is agent
  time + non-price offer costs (gifts, free services, points, perks) + ``(1 - gross_margin)`` x
  the discounts granted (:func:`round_cost`). A discount of ``D`` on list price ``L`` leaves a
  margin of ``L (g - d) = g (L - D) - (1 - g) D``: ``g x D`` of it is already missing from the
  spend, so only ``(1 - g) D`` is a further cost. Subtracting ``D`` in full counts ``g x D``
  twice.
* **Stratified pooling** (:func:`pool_rounds`): each round is read at its own pre-registered
  horizon only, and the rounds' differences are combined with weights = the round's treated
  size (the programme's total effect is ``sum n_t,r x d_r``), never by summing raw counts of
  rounds with different control shares (Cochran 1977, ch. 5, stratified estimation).
* **Always-valid monthly looks** (:func:`confidence_sequence`, :func:`net_margin_sequence`): the
  normal-mixture mSPRT confidence sequence of Johari, Koomen, Pekelis & Walsh (2017/2022),
  "Always valid inference: continuous monitoring of A/B tests", *Operations Research* 70(3);
  Howard, Ramdas, McAuliffe & Sekhon (2021), "Time-uniform, nonparametric, nonasymptotic
  confidence sequences", *Annals of Statistics* 49(2). With estimate ``m`` of variance ``V`` and
  mixing variance ``tau^2``, the set ``|m - theta| <= sqrt(V (V + tau^2) / tau^2 x
  (2 log(1/alpha) + log((V + tau^2) / V)))`` holds the truth at every look at once with
  probability ``>= 1 - alpha``.
* **The verdict** (:func:`programme_verdict`): ``continue`` when the always-valid lower bound of
  the pooled net margin is above zero, ``stop`` when its upper bound is below zero, otherwise
  ``not_yet_known`` with the customers (and months at the current pace) still needed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np
import polars as pl
from numpy.typing import ArrayLike, NDArray
from scipy.stats import norm
from scipy.stats import t as student_t

from winback.programme.attribution import newcombe_interval

FloatArray = NDArray[np.float64]
IntervalMethod = Literal["welch", "welch_floor", "percentile", "bca", "studentized"]
INTERVAL_METHODS: tuple[str, ...] = ("welch", "welch_floor", "percentile", "bca", "studentized")
DEFAULT_INTERVAL: IntervalMethod = "welch_floor"
POOLING = "stratified by round, weights = treated size (Cochran 1977)"
SEQUENTIAL_METHOD = "normal-mixture mSPRT confidence sequence (Johari et al. 2022)"
DISCOUNT_KINDS = ("percent_off", "voucher", "bundle")  # lower the price paid: already in spend
DECISIONS = ("continue", "stop", "not_yet_known")
# The mixing variance is tuned so the sequence is tightest at this many monthly rounds.
TAU_TUNED_ROUNDS = 6
# CUPED covariates: each member's net spend and purchase days in this many days before the
# round (stored on the member when the round is planned).
PRE_PERIOD_DAYS = 90


def pre_period_window(round_start: date) -> dict[str, date]:
    """The pre-period of a round starting on ``round_start``: the ``PRE_PERIOD_DAYS`` days
    before it, as ``start``/``end`` keywords."""
    return {
        "start": round_start - timedelta(days=PRE_PERIOD_DAYS),
        "end": round_start - timedelta(days=1),
    }


MIN_CONTROLS = 30  # fewer matured control customers than this: never a decision


# --- difference of means ----------------------------------------------------------------------


def _alpha(level: float) -> float:
    if not 0.0 < level < 1.0:
        raise ValueError("confidence level must be in (0, 1)")
    return 1.0 - level


def mean_diff_interval(
    treated: ArrayLike,
    control: ArrayLike,
    *,
    seed: int,
    level: float = 0.95,
    n_boot: int = 2000,
    method: IntervalMethod = DEFAULT_INTERVAL,
    chunk_elements: int = 4_000_000,
) -> tuple[float, float, float]:
    """``mean(treated) - mean(control)`` and its two-sided interval at ``level``.

    ``method`` is one of :data:`INTERVAL_METHODS`; the bootstrap methods resample each arm
    independently ``n_boot`` times in chunks of at most ``chunk_elements`` drawn indices (memory
    stays bounded for rounds of 100k treated). NaNs when an arm is empty.
    """
    est, lo, hi, _ = mean_diff_summary(
        treated,
        control,
        seed=seed,
        level=level,
        n_boot=n_boot,
        method=method,
        chunk_elements=chunk_elements,
    )
    return est, lo, hi


def mean_diff_summary(
    treated: ArrayLike,
    control: ArrayLike,
    *,
    seed: int,
    level: float = 0.95,
    n_boot: int = 2000,
    method: IntervalMethod = DEFAULT_INTERVAL,
    chunk_elements: int = 4_000_000,
) -> tuple[float, float, float, float]:
    """As :func:`mean_diff_interval`, plus the variance of the estimate the method implies
    (the analytic variance for the t methods, the bootstrap variance otherwise), for pooling."""
    alpha = _alpha(level)
    if method not in INTERVAL_METHODS:
        raise ValueError(f"unknown interval method {method!r}; one of {INTERVAL_METHODS}")
    t = np.asarray(treated, dtype=np.float64).ravel()
    c = np.asarray(control, dtype=np.float64).ravel()
    nan = float("nan")
    if t.size == 0 or c.size == 0:
        return nan, nan, nan, nan
    est = float(t.mean() - c.mean())
    if method in ("welch", "welch_floor"):
        w_lo, w_hi, w_var = welch_from_moments(
            t.size,
            float(t.mean()),
            _var(t),
            c.size,
            float(c.mean()),
            _var(c),
            level=level,
            floor=method == "welch_floor",
        )
        return est, float(w_lo), float(w_hi), float(w_var)
    rng = np.random.default_rng(seed)
    mt, vt = _boot_moments(t, n_boot, rng, chunk_elements)
    mc, vc = _boot_moments(c, n_boot, rng, chunk_elements)
    diffs = mt - mc
    boot_var = float(diffs.var(ddof=1)) if n_boot > 1 else 0.0
    lo: float
    hi: float
    if method == "percentile":
        q = np.quantile(diffs, [alpha / 2, 1 - alpha / 2])
        lo, hi = float(q[0]), float(q[1])
    elif method == "bca":
        lo, hi = _bca(diffs, est, t, c, alpha)
    else:  # studentized
        se = math.sqrt(_var(t) / t.size + _var(c) / c.size)
        se_star = np.sqrt(vt / t.size + vc / c.size)
        with np.errstate(divide="ignore", invalid="ignore"):
            tstar = (diffs - est) / se_star
        tstar = tstar[np.isfinite(tstar)]
        if se == 0.0 or tstar.size == 0:
            lo = hi = est
        else:
            q = np.quantile(tstar, [alpha / 2, 1 - alpha / 2])
            lo, hi = est - float(q[1]) * se, est - float(q[0]) * se
    return est, float(lo), float(hi), boot_var


def _var(x: FloatArray) -> float:
    return float(x.var(ddof=1)) if x.size > 1 else 0.0


def welch_from_moments(
    n_t: ArrayLike,
    mean_t: ArrayLike,
    var_t: ArrayLike,
    n_c: ArrayLike,
    mean_c: ArrayLike,
    var_c: ArrayLike,
    *,
    level: float = 0.95,
    floor: bool = True,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Welch's t interval for ``mean_t - mean_c`` from each arm's size, mean and variance
    (vectorised). With ``floor`` each arm's variance is first raised to the pooled variance
    ``((n_t - 1) var_t + (n_c - 1) var_c) / (n_t + n_c - 2)``: a small control group with no
    (or few) returners then borrows the treated arm's spread instead of claiming none.
    Degrees of freedom by Welch-Satterthwaite. Returns ``(low, high, variance)``.
    """
    alpha = _alpha(level)
    nt = np.asarray(n_t, dtype=np.float64)
    nc = np.asarray(n_c, dtype=np.float64)
    vt = np.asarray(var_t, dtype=np.float64)
    vc = np.asarray(var_c, dtype=np.float64)
    if floor:
        with np.errstate(divide="ignore", invalid="ignore"):
            pooled = ((nt - 1) * vt + (nc - 1) * vc) / (nt + nc - 2)
        pooled = np.nan_to_num(pooled, nan=0.0)
        vt, vc = np.maximum(vt, pooled), np.maximum(vc, pooled)
    with np.errstate(divide="ignore", invalid="ignore"):
        at, ac = vt / nt, vc / nc
        var = at + ac
        df = var**2 / (at**2 / np.maximum(nt - 1, 1) + ac**2 / np.maximum(nc - 1, 1))
    df = np.where(np.isfinite(df) & (df > 0), df, np.maximum(nt + nc - 2, 1))
    half = student_t.ppf(1 - alpha / 2, df) * np.sqrt(var)
    d = np.asarray(mean_t, dtype=np.float64) - np.asarray(mean_c, dtype=np.float64)
    return d - half, d + half, var


def _boot_moments(
    values: FloatArray, n_boot: int, rng: np.random.Generator, chunk_elements: int
) -> tuple[FloatArray, FloatArray]:
    n = values.size
    rows = max(1, chunk_elements // n)
    means = np.empty(n_boot, dtype=np.float64)
    variances = np.empty(n_boot, dtype=np.float64)
    for start in range(0, n_boot, rows):
        b = min(rows, n_boot - start)
        draw = values[rng.integers(0, n, size=(b, n))]
        means[start : start + b] = draw.mean(axis=1)
        variances[start : start + b] = draw.var(axis=1, ddof=1) if n > 1 else 0.0
    return means, variances


def _bca(
    diffs: FloatArray, est: float, t: FloatArray, c: FloatArray, alpha: float
) -> tuple[float, float]:
    """BCa endpoints (Efron 1987): bias correction from the share of bootstrap differences
    below the estimate, acceleration from the two-sample jackknife influence values
    (Efron & Tibshirani 1993, eq. 14.15 generalised to two samples)."""
    below = (np.sum(diffs < est) + 0.5 * np.sum(diffs == est)) / diffs.size
    below = min(max(below, 1.0 / (diffs.size + 1)), 1.0 - 1.0 / (diffs.size + 1))
    z0 = float(norm.ppf(below))
    ut = (t - t.mean()) / t.size
    uc = -(c - c.mean()) / c.size
    s2 = float(np.sum(ut**2) + np.sum(uc**2))
    acc = float(np.sum(ut**3) + np.sum(uc**3)) / (6.0 * s2**1.5) if s2 > 0 else 0.0
    z = norm.ppf([alpha / 2, 1 - alpha / 2])
    adj = norm.cdf(z0 + (z0 + z) / (1 - acc * (z0 + z)))
    lo, hi = np.quantile(diffs, np.clip(adj, 0.0, 1.0))
    return float(lo), float(hi)


# --- CUPED ------------------------------------------------------------------------------------


def cuped(y: ArrayLike, x_pre: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """CUPED adjustment (Deng, Xu, Kohavi & Walker 2013): ``(theta, adjusted_y)``.

    ``x_pre`` holds one pre-period covariate (1-D) or several (2-D, one column each, e.g.
    pre-period spend and visits). ``theta`` is the least-squares slope of ``y`` on the centred
    covariates over *all* customers of the round (both arms, as the covariates precede the
    treatment); with several covariates this is the regression version. ``adjusted_y = y -
    (x - mean x) theta`` has the same mean as ``y``, so passing the treated and control parts
    of it to :func:`mean_diff_interval` estimates the same difference with variance reduced by
    ``1 - R^2``. Null (NaN) covariate values are replaced by their column mean (no adjustment
    for that customer); a column without variance gets ``theta = 0``; never NaN.
    """
    ya = np.asarray(y, dtype=np.float64).ravel()
    xa = np.asarray(x_pre, dtype=np.float64)
    if xa.ndim == 1:
        xa = xa[:, None]
    if xa.ndim != 2 or xa.shape[0] != ya.size:
        raise ValueError("x_pre must have one row per customer")
    theta = np.zeros(xa.shape[1], dtype=np.float64)
    if ya.size < 3 or not np.all(np.isfinite(ya)):
        return theta, ya.copy()
    finite = np.isfinite(xa)
    counts = finite.sum(axis=0)
    sums = np.where(finite, xa, 0.0).sum(axis=0)
    means = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
    centred = np.where(finite, xa - means, 0.0)
    scale = centred.std(axis=0)
    usable = scale > 1e-12 * np.maximum(1.0, np.abs(means))
    if not usable.any():
        return theta, ya.copy()
    xs = centred[:, usable] / scale[usable]
    coef, *_ = np.linalg.lstsq(xs, ya - ya.mean(), rcond=None)
    coef = np.where(np.isfinite(coef), coef, 0.0)
    theta[usable] = coef / scale[usable]
    return theta, ya - centred @ theta


# --- one round --------------------------------------------------------------------------------


def round_cost(
    *,
    agent_cost: float,
    redeemed_offers: pl.DataFrame | None = None,
    gross_margin: float,
) -> float:
    """A round's cost net of what the spend already shows (see the module docstring).

    ``redeemed_offers`` has one row per redeemed offer with ``kind`` and ``offer_cost``: a
    discount kind (:data:`DISCOUNT_KINDS`) lowered the price paid, so only ``(1 -
    gross_margin)`` of it is added (the goods given below list price); other kinds (gifts, free
    services, points, perks) are not in the spend and count in full.
    """
    if redeemed_offers is None or redeemed_offers.height == 0:
        return float(agent_cost)
    frame = redeemed_offers.select(
        is_discount=pl.col("kind").is_in(list(DISCOUNT_KINDS)).fill_null(False),
        cost=pl.col("offer_cost").cast(pl.Float64).fill_null(0.0),
    )
    discount = float(frame.filter(pl.col("is_discount"))["cost"].sum())
    other = float(frame.filter(~pl.col("is_discount"))["cost"].sum())
    return float(agent_cost) + other + (1.0 - gross_margin) * discount


@dataclass(frozen=True)
class RoundEstimate:
    """One round read at its pre-registered horizon. Money is in currency units; ``revenue_*``
    is per customer (treated minus control), ``margin``/``net`` are totals for the round."""

    n_treated: int
    n_control: int
    returned_treated: int
    returned_control: int
    return_diff: float
    return_low: float
    return_high: float
    return_var: float
    revenue_diff: float
    revenue_low: float
    revenue_high: float
    revenue_var: float
    revenue_diff_unadjusted: float
    revenue_low_unadjusted: float
    revenue_high_unadjusted: float
    revenue_var_unadjusted: float
    cuped: bool
    cuped_theta: tuple[float, ...]
    gross_margin: float
    incremental_margin: float
    margin_low: float
    margin_high: float
    cost: float
    net: float
    net_low: float
    net_high: float
    roi: float | None
    roi_low: float | None
    roi_high: float | None
    level: float
    interval_method: str

    @property
    def revenue_width(self) -> float:
        return self.revenue_high - self.revenue_low

    @property
    def revenue_width_unadjusted(self) -> float:
        return self.revenue_high_unadjusted - self.revenue_low_unadjusted

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["cuped_theta"] = list(self.cuped_theta)
        out["revenue_width"] = self.revenue_width
        out["revenue_width_unadjusted"] = self.revenue_width_unadjusted
        return {k: _clean(v) for k, v in out.items()}


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def round_estimate(
    frame: pl.DataFrame,
    *,
    cost: float,
    gross_margin: float,
    seed: int,
    level: float = 0.95,
    n_boot: int = 2000,
    method: IntervalMethod = DEFAULT_INTERVAL,
    covariates: Sequence[str] = ("pre_spend", "pre_visits"),
) -> RoundEstimate:
    """Effects of one round with intervals, from its per-customer frame.

    ``frame`` has ``arm`` (``treated``/``control``), ``came_back`` (bool), ``spend`` (paid, net
    of discounts) and optionally the pre-period ``covariates`` (used for CUPED when present).
    ``cost`` is the round's known cost from :func:`round_cost`. Net margin ``= n_treated x
    gross_margin x revenue difference - cost`` and ROI ``= net / cost``; as ``cost``,
    ``n_treated`` and ``gross_margin`` are known, their intervals are the revenue interval's
    endpoints put through the same affine maps (ROI only when ``cost > 0``).
    """
    arm = frame["arm"].cast(pl.String)
    is_t = (arm == "treated").to_numpy()
    is_c = (arm == "control").to_numpy()
    came = frame["came_back"].cast(pl.Boolean).fill_null(False).to_numpy()
    spend = frame["spend"].cast(pl.Float64).fill_null(0.0).to_numpy()
    n_t, n_c = int(is_t.sum()), int(is_c.sum())
    x_t, x_c = int(came[is_t].sum()), int(came[is_c].sum())
    d, lo, hi = (float(v) for v in newcombe_interval(x_t, n_t, x_c, n_c, level))
    return_var = float(_agresti_caffo_var(x_t, n_t, x_c, n_c))

    raw = mean_diff_summary(
        spend[is_t], spend[is_c], seed=seed, level=level, n_boot=n_boot, method=method
    )
    present = [c for c in covariates if c in frame.columns]
    theta: tuple[float, ...] = ()
    adjusted = raw
    if present and n_t and n_c:
        keep = is_t | is_c
        x = frame.select(pl.col(c).cast(pl.Float64) for c in present).to_numpy()[keep]
        th, y_adj = cuped(spend[keep], x)
        theta = tuple(float(v) for v in th)
        if np.any(th != 0.0):
            sub_t = is_t[keep]
            adjusted = mean_diff_summary(
                y_adj[sub_t], y_adj[~sub_t], seed=seed, level=level, n_boot=n_boot, method=method
            )
    rev, rev_lo, rev_hi, rev_var = adjusted
    scale = n_t * gross_margin
    margin, m_lo, m_hi = scale * rev, scale * rev_lo, scale * rev_hi
    net, n_lo, n_hi = margin - cost, m_lo - cost, m_hi - cost
    roi = (net / cost, n_lo / cost, n_hi / cost) if cost > 0 else (None, None, None)
    return RoundEstimate(
        n_treated=n_t,
        n_control=n_c,
        returned_treated=x_t,
        returned_control=x_c,
        return_diff=d,
        return_low=lo,
        return_high=hi,
        return_var=return_var,
        revenue_diff=rev,
        revenue_low=rev_lo,
        revenue_high=rev_hi,
        revenue_var=rev_var,
        revenue_diff_unadjusted=raw[0],
        revenue_low_unadjusted=raw[1],
        revenue_high_unadjusted=raw[2],
        revenue_var_unadjusted=raw[3],
        cuped=adjusted is not raw,
        cuped_theta=theta,
        gross_margin=float(gross_margin),
        incremental_margin=margin,
        margin_low=m_lo,
        margin_high=m_hi,
        cost=float(cost),
        net=net,
        net_low=n_lo,
        net_high=n_hi,
        roi=roi[0],
        roi_low=roi[1],
        roi_high=roi[2],
        level=level,
        interval_method=method,
    )


def _agresti_caffo_var(x_t: ArrayLike, n_t: ArrayLike, x_c: ArrayLike, n_c: ArrayLike) -> Any:
    """Variance of ``p_t - p_c`` with one success and one failure added to each arm (Agresti &
    Caffo 2000, *The American Statistician* 54): never zero, even with no returners."""
    nt = np.asarray(n_t, dtype=np.float64)
    nc = np.asarray(n_c, dtype=np.float64)
    pt = (np.asarray(x_t, dtype=np.float64) + 1) / (nt + 2)
    pc = (np.asarray(x_c, dtype=np.float64) + 1) / (nc + 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        return pt * (1 - pt) / nt + pc * (1 - pc) / nc


# --- pooling and the always-valid sequence ----------------------------------------------------

ROUND_ROW_COLUMNS = (
    "n_treated",
    "n_control",
    "returned_treated",
    "returned_control",
    "return_diff",
    "return_var",
    "revenue_diff",
    "revenue_var",
    "cost",
    "gross_margin",
)


def rounds_frame(rounds: pl.DataFrame | Sequence[RoundEstimate]) -> pl.DataFrame:
    """One row per round with :data:`ROUND_ROW_COLUMNS`, from estimates or a frame of them."""
    if isinstance(rounds, pl.DataFrame):
        missing = [c for c in ROUND_ROW_COLUMNS if c not in rounds.columns]
        if missing:
            raise ValueError(f"rounds frame lacks {missing}")
        frame = rounds
    else:
        frame = pl.DataFrame(
            [{c: getattr(r, c) for c in ROUND_ROW_COLUMNS} for r in rounds],
            schema={c: pl.Float64() for c in ROUND_ROW_COLUMNS},
        )
    return frame.select(pl.col(c).cast(pl.Float64) for c in ROUND_ROW_COLUMNS).filter(
        (pl.col("n_treated") > 0) & (pl.col("n_control") > 0)
    )


@dataclass(frozen=True)
class PooledEstimate:
    """Rounds pooled with weights = treated size. Rates and revenue are per treated customer;
    ``incremental_margin``, ``cost`` and ``net`` are totals; ``*_var`` their variances."""

    rounds: int
    n_treated: int
    n_control: int
    return_diff: float
    return_var: float
    revenue_diff: float
    revenue_var: float
    incremental_margin: float
    cost: float
    net: float
    net_var: float

    @property
    def net_per_treated(self) -> float:
        return self.net / self.n_treated if self.n_treated else float("nan")

    @property
    def net_per_treated_var(self) -> float:
        return self.net_var / self.n_treated**2 if self.n_treated else float("nan")


def pool_rounds(rounds: pl.DataFrame | Sequence[RoundEstimate]) -> PooledEstimate:
    """Stratified pooling: ``sum_r w_r d_r / sum_r w_r`` with ``w_r = n_treated,r`` for the
    return-rate and revenue differences (variance ``sum w_r^2 var_r / (sum w_r)^2``, rounds are
    independent); net margin = ``sum_r (n_t,r x g_r x rev_r - cost_r)`` with variance ``sum_r
    (n_t,r g_r)^2 var_r``. The caller passes one row per round, at its pre-registered horizon."""
    f = rounds_frame(rounds)
    if f.height == 0:
        nan = float("nan")
        return PooledEstimate(0, 0, 0, nan, nan, nan, nan, 0.0, 0.0, 0.0, nan)
    w = f["n_treated"].to_numpy()
    g = f["gross_margin"].to_numpy()
    total = float(w.sum())

    def pooled(col: str) -> tuple[float, float]:
        d = f[col].to_numpy()
        v = f[col.replace("_diff", "_var")].to_numpy()
        return float((w * d).sum() / total), float((w**2 * v).sum() / total**2)

    ret, ret_var = pooled("return_diff")
    rev, rev_var = pooled("revenue_diff")
    scale = w * g
    margin = float((scale * f["revenue_diff"].to_numpy()).sum())
    cost = float(f["cost"].sum())
    return PooledEstimate(
        rounds=f.height,
        n_treated=int(total),
        n_control=int(f["n_control"].sum()),
        return_diff=ret,
        return_var=ret_var,
        revenue_diff=rev,
        revenue_var=rev_var,
        incremental_margin=margin,
        cost=cost,
        net=margin - cost,
        net_var=float((scale**2 * f["revenue_var"].to_numpy()).sum()),
    )


def mixture_halfwidth(variance: ArrayLike, tau2: ArrayLike, *, level: float = 0.95) -> FloatArray:
    """Half-width of the normal-mixture (mSPRT) confidence sequence at a look where the
    estimate has ``variance`` (vectorised): ``sqrt(V (V + tau2) / tau2 x (2 log(1/alpha) +
    log((V + tau2) / V)))``. It is the set where the mixture likelihood ratio with a N(0, tau2)
    mixing distribution stays below 1/alpha (Johari et al. 2022; the normal-mixture boundary of
    Howard et al. 2021)."""
    alpha = _alpha(level)
    v = np.asarray(variance, dtype=np.float64)
    t2 = np.asarray(tau2, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        h2 = v * (v + t2) / t2 * (2.0 * math.log(1.0 / alpha) + np.log((v + t2) / v))
    return np.where(v > 0, np.sqrt(h2), np.where(v == 0, 0.0, np.nan))


def tuned_tau2(
    first_variance: float, *, level: float = 0.95, rounds: int = TAU_TUNED_ROUNDS
) -> float:
    """Mixing variance fixed from the first round's variance so that the sequence is tightest
    when ``rounds`` similar rounds have matured: the estimate's variance is then about
    ``V_1 / rounds`` and the width at variance ``V`` is smallest for ``tau2 = V x (2 log(1/alpha)
    + log(1 + 2 log(1/alpha)))``, the closed-form approximation of Howard et al. (2021); it is
    within 0.01% of the numerically narrowest width."""
    alpha = _alpha(level)
    k = 2.0 * math.log(1.0 / alpha)
    return float(first_variance) / rounds * (k + math.log(1.0 + k))


def confidence_sequence(
    estimate: float, variance: float, *, tau2: float, level: float = 0.95
) -> tuple[float, float, float, str]:
    """``(estimate, low, high, method)`` of the always-valid interval at one look."""
    h = float(mixture_halfwidth(variance, tau2, level=level))
    return estimate, estimate - h, estimate + h, SEQUENTIAL_METHOD


def net_margin_sequence(
    rounds: pl.DataFrame | Sequence[RoundEstimate],
    *,
    level: float = 0.95,
    tau2: float | None = None,
) -> tuple[float, float, float, str]:
    """Pooled net margin (total, currency units) with its always-valid interval.

    The sequence runs on the net margin per treated customer (a weighted mean of the rounds'
    effects, comparable from look to look) and is scaled back to the total. ``tau2`` (per
    treated customer squared) defaults to :func:`tuned_tau2` of the first round's variance, so
    it does not move as rounds are added."""
    f = rounds_frame(rounds)
    p = pool_rounds(f)
    if p.rounds == 0:
        nan = float("nan")
        return nan, nan, nan, SEQUENTIAL_METHOD
    t2 = tau2 if tau2 is not None else _default_tau2(f, level)
    est, lo, hi, name = confidence_sequence(
        p.net_per_treated, p.net_per_treated_var, tau2=t2, level=level
    )
    n = p.n_treated
    return est * n, lo * n, hi * n, name


def _default_tau2(f: pl.DataFrame, level: float) -> float:
    """:func:`tuned_tau2` of the first round (in the caller's order) with a positive variance
    of its net margin per treated customer; it stays put as later rounds are added."""
    v = (f["gross_margin"] ** 2 * f["revenue_var"]).to_numpy()
    positive = v[np.isfinite(v) & (v > 0)]
    return tuned_tau2(float(positive[0]), level=level) if positive.size else 1.0


# --- the verdict ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    decision: str  # one of DECISIONS
    reason: str  # why: "lower_bound_above_zero", "upper_bound_below_zero", "interval_spans_zero",
    #              "no_matured_rounds", "too_few_controls"
    rounds: int
    n_treated: int
    n_control: int
    return_diff: float | None
    return_low: float | None
    return_high: float | None
    revenue_diff: float | None
    revenue_low: float | None
    revenue_high: float | None
    incremental_margin: float | None
    cost: float | None
    net: float | None
    net_low: float | None
    net_high: float | None
    roi: float | None
    roi_low: float | None
    roi_high: float | None
    needed_controls: int | None
    needed_treated: int | None
    months_needed: int | None
    level: float
    tau2: float | None
    interval_method: str
    pooling: str
    sequential_method: str

    def to_dict(self) -> dict[str, Any]:
        return {k: _clean(v) for k, v in asdict(self).items()}


def programme_verdict(
    rounds: pl.DataFrame | Sequence[RoundEstimate],
    *,
    level: float = 0.95,
    tau2: float | None = None,
    hoped_effect: float | None = None,
    controls_per_month: float | None = None,
    min_controls: int = MIN_CONTROLS,
    interval_method: str = DEFAULT_INTERVAL,
) -> Verdict:
    """Is the programme worth continuing? One row (or :class:`RoundEstimate`) per matured round.

    ``continue`` when the always-valid lower bound of the pooled net margin (incremental margin
    minus cost) is above zero, ``stop`` when its upper bound is below zero, ``not_yet_known``
    otherwise, and always with no matured round or fewer than ``min_controls`` control
    customers. For ``not_yet_known``, ``needed_controls`` (and ``needed_treated`` at the current
    split) are the additional customers after which the always-valid interval would exclude
    zero if the net margin per treated customer stayed at its estimate; when the estimate is
    within one standard error of zero, ``hoped_effect`` (net margin per treated customer) is
    used instead, and without it nothing is promised. ``months_needed`` divides by
    ``controls_per_month``. Return-rate and revenue intervals are pooled fixed-sample (normal)
    intervals at ``level``; the net-margin and ROI intervals are always-valid.
    """
    f = rounds_frame(rounds)
    p = pool_rounds(f)
    empty: dict[str, Any] = dict(
        rounds=p.rounds,
        n_treated=p.n_treated,
        n_control=p.n_control,
        level=level,
        interval_method=interval_method,
        pooling=POOLING,
        sequential_method=SEQUENTIAL_METHOD,
    )
    if p.rounds == 0:
        return Verdict(
            decision="not_yet_known",
            reason="no_matured_rounds",
            **_blank(),
            needed_controls=None,
            needed_treated=None,
            months_needed=None,
            tau2=None,
            **empty,
        )
    t2 = tau2 if tau2 is not None else _default_tau2(f, level)
    z = float(norm.ppf(0.5 + level / 2))
    est, lo, hi, _ = confidence_sequence(
        p.net_per_treated, p.net_per_treated_var, tau2=t2, level=level
    )
    n = p.n_treated
    if p.n_control < min_controls:
        decision, reason = "not_yet_known", "too_few_controls"
    elif lo > 0:
        decision, reason = "continue", "lower_bound_above_zero"
    elif hi < 0:
        decision, reason = "stop", "upper_bound_below_zero"
    else:
        decision, reason = "not_yet_known", "interval_spans_zero"
    needed_c = needed_t = months = None
    if decision == "not_yet_known":
        needed_c, needed_t = _needed(p, est, t2, level, hoped_effect, min_controls)
        if needed_c is not None and controls_per_month and controls_per_month > 0:
            months = math.ceil(needed_c / controls_per_month)
    cost = p.cost
    rd_se = math.sqrt(p.return_var)
    rv_se = math.sqrt(p.revenue_var)
    return Verdict(
        decision=decision,
        reason=reason,
        return_diff=p.return_diff,
        return_low=p.return_diff - z * rd_se,
        return_high=p.return_diff + z * rd_se,
        revenue_diff=p.revenue_diff,
        revenue_low=p.revenue_diff - z * rv_se,
        revenue_high=p.revenue_diff + z * rv_se,
        incremental_margin=p.incremental_margin,
        cost=cost,
        net=est * n,
        net_low=lo * n,
        net_high=hi * n,
        roi=est * n / cost if cost > 0 else None,
        roi_low=lo * n / cost if cost > 0 else None,
        roi_high=hi * n / cost if cost > 0 else None,
        needed_controls=needed_c,
        needed_treated=needed_t,
        months_needed=months,
        tau2=t2,
        **empty,
    )


def _blank() -> dict[str, Any]:
    keys = (
        "return_diff",
        "return_low",
        "return_high",
        "revenue_diff",
        "revenue_low",
        "revenue_high",
        "incremental_margin",
        "cost",
        "net",
        "net_low",
        "net_high",
        "roi",
        "roi_low",
        "roi_high",
    )
    return dict.fromkeys(keys)


def _needed(
    p: PooledEstimate,
    est: float,
    tau2: float,
    level: float,
    hoped_effect: float | None,
    min_controls: int,
) -> tuple[int | None, int | None]:
    """Additional (controls, treated) at the current split for the always-valid interval to
    exclude zero at the planning effect; the variance scales as 1 / customers."""
    v0 = p.net_per_treated_var
    if not (v0 > 0 and math.isfinite(v0)):
        return None, None
    effect = abs(est)
    if effect <= math.sqrt(v0):
        if hoped_effect is None or hoped_effect <= 0:
            return None, None
        effect = float(hoped_effect)
    if float(mixture_halfwidth(v0, tau2, level=level)) < effect:
        factor = 1.0
    else:
        # Smallest k >= 1 with halfwidth(v0 / k) < effect: the half-width grows with V.
        lo_k, hi_k = 1.0, 2.0
        while float(mixture_halfwidth(v0 / hi_k, tau2, level=level)) >= effect:
            lo_k, hi_k = hi_k, hi_k * 2.0
            if hi_k > 1e12:
                return None, None
        for _ in range(60):
            mid = math.sqrt(lo_k * hi_k)
            if float(mixture_halfwidth(v0 / mid, tau2, level=level)) >= effect:
                lo_k = mid
            else:
                hi_k = mid
        factor = hi_k
    extra_c = max(math.ceil(p.n_control * (factor - 1.0)), min_controls - p.n_control, 0)
    ratio = p.n_treated / p.n_control if p.n_control else 0.0
    return int(extra_c), math.ceil(extra_c * ratio)


def verdict_inputs(estimates: Mapping[str, RoundEstimate]) -> pl.DataFrame:
    """A frame with one row per round (keyed by the mapping's keys, e.g. the round month) and
    every :class:`RoundEstimate` field: the per-round table and :func:`programme_verdict`'s
    input in one."""
    rows = [{"round": k, **e.to_dict()} for k, e in estimates.items()]
    return pl.DataFrame(rows, infer_schema_length=None)

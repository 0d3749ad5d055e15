"""Who does a call move? An X-learner on past rounds' treated and control outcomes (R6).

Every round keeps a randomised control group, so each past round is a small experiment: its
treated and control members were drawn from the same candidates, and whether each came back
within the primary horizon (90 days) is known once the round has matured. The **X-learner**
(Kunzel, Sekhon, Bickel & Yu 2019, "Metalearners for estimating heterogeneous treatment
effects using machine learning", *PNAS* 116(10):4156-4165, sec. "X-learner") turns them into a
predicted individual uplift ``tau(x) = P(return | called, x) - P(return | not called, x)``:

1. outcome models ``mu_0`` on the control members and ``mu_1`` on the treated members
   (L2-regularised logistic regressions fitted by Newton-Raphson / IRLS);
2. imputed effects: ``D_1 = Y - mu_0(x)`` for the treated, ``D_0 = mu_1(x) - Y`` for the
   controls;
3. effect models ``tau_1`` on ``D_1`` (treated) and ``tau_0`` on ``D_0`` (controls), ridge
   regressions with the penalty ``var(D) / EFFECT_PRIOR_SD^2``: the imputed effects of a
   binary outcome are mostly noise (variance about ``p (1 - p)``, 0.1-0.2) around effects of a
   few points, so a weight is a priori small (:data:`EFFECT_PRIOR_SD`, 1.5 points per standard
   deviation of a feature);
4. ``tau(x) = g tau_0(x) + (1 - g) tau_1(x)`` with ``g`` the propensity, here known by design:
   the rounds' treated share (about 0.9). The X-learner suits this split: ``tau_1`` leans on
   ``mu_0``, fitted on the few controls, so it gets the small weight ``1 - g``; ``tau_0`` leans
   on ``mu_1``, fitted on the many treated.

**Features** (:data:`FEATURES`), from the snapshot the round was planned on, standardised with
the training rows' mean and deviation: ``log_lateness = log(days_since_last /
expected_interval_days)`` (how many of their own intervals late) and its square (an effect that
peaks between "sure things" and "lost causes"), ``p_alive`` and its product with
``log_lateness``, ``churn`` (``churn_probability``, else ``churn_score / 100``), ``log(1 +
clv_365)``, tier 1-4 and stage silent / sleeping / lost one-hots (tier 5 and stage active are
the reference). A missing lateness reads as on time (0) with ``lateness_missing = 1``; a missing
``p_alive`` reads as 0.5, a missing churn figure as 0.5, a missing value as 0.

**Shrinkage** toward the measured segments: the model's prediction is blended with the
segment (stage x tier) estimate of :func:`winback.programme.uplift_feedback.shrunk_uplift`
(the programme average for a segment never measured)::

    uplift = w tau(x) + (1 - w) theta_segment,   w = n_control / (n_control + SHRINK_CONTROLS)

``n_control`` counts the control outcomes the model was trained on: the controls are what the
imputed effects of ``tau_0`` and the outcome model ``mu_0`` are made of, and they are the
scarce arm. With :data:`SHRINK_CONTROLS` = 200 a model trained on 200 control outcomes counts
half, on 600 three quarters.

**Which policy** (:func:`decide`, names as :mod:`winback.programme.targeting`): the model
when at least :data:`MIN_MODEL_ROUNDS` (2) matured rounds and :data:`MIN_MODEL_CONTROLS` (200)
control outcomes are known (two rounds, so the model can be checked round against round by
cross-fitting) *and* that check shows it ranks better than chance: the Qini coefficient of its
cross-fitted predictions has a 95% interval above 0. Else the measured segments when any
segment has both arms; else the stage priors.

**Honest cross-fitting by round** (:func:`cross_fitted`): each member's prediction comes from a
model trained on the *other* rounds only, so its own outcome never enters its score; the Qini
of those predictions (:mod:`winback.programme.qini`) is an out-of-sample check.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import polars as pl

from winback.programme.frames import Contract
from winback.programme.qini import QiniResult, qini
from winback.programme.targeting import UPLIFT_PREDICTIONS, Targeting
from winback.programme.uplift_feedback import shrunk_uplift

FloatArray = npt.NDArray[np.float64]

MIN_MODEL_ROUNDS: Final = 2
MIN_MODEL_CONTROLS: Final = 200
QINI_RESAMPLES: Final = 1000
QINI_SEED: Final = 0
SHRINK_CONTROLS: Final = 200.0
LOGISTIC_L2: Final = 1.0  # penalty on the standardised weights, log-likelihood (sum) scale
# Prior standard deviation of an effect model's weight on a standardised feature: one standard
# deviation of a feature moves the predicted uplift by about this much (1.5 points). The ridge
# penalty is the noise-to-prior variance ratio, lambda = var(D) / EFFECT_PRIOR_SD^2.
EFFECT_PRIOR_SD: Final = 0.015
NEWTON_STEPS: Final = 50
NEWTON_TOL: Final = 1e-8
TIERS: Final = (1, 2, 3, 4)  # tier 5 is the reference
STAGES: Final = ("silent", "sleeping", "lost")  # active is the reference
FEATURES: Final = (
    "log_lateness",
    "log_lateness_sq",
    "lateness_missing",
    "p_alive",
    "p_alive_x_log_lateness",
    "churn",
    "log_clv",
    *(f"tier_{t}" for t in TIERS),
    *(f"stage_{s}" for s in STAGES),
)

# What a customer is described by: the snapshot columns the features are built from.
UPLIFT_FEATURES = Contract(
    "uplift features",
    required={"customer_pk": pl.Int64(), "stage": pl.String(), "tier": pl.Int64()},
    optional={
        "days_since_last": (pl.Int64(), None),
        "expected_interval_days": (pl.Float64(), None),
        "p_alive": (pl.Float64(), None),
        "churn_probability": (pl.Float64(), None),
        "churn_score": (pl.Float64(), None),
        "clv_365": (pl.Float64(), None),
    },
)
# One row per member of a matured round: its features (as planned) and its outcome.
UPLIFT_TRAINING = Contract(
    "uplift training rows",
    required={
        **UPLIFT_FEATURES.required,
        "round_id": pl.Int64(),
        "arm": pl.String(),  # "treated" | "control"
        "returned": pl.Boolean(),  # came back within the primary horizon
    },
    optional=dict(UPLIFT_FEATURES.optional),
)


def feature_matrix(frame: pl.DataFrame) -> FloatArray:
    """The raw (unstandardised) feature matrix, columns in :data:`FEATURES` order."""
    f = UPLIFT_FEATURES.conform(frame)
    days = pl.col("days_since_last").cast(pl.Float64).clip(lower_bound=0.5)
    interval = pl.col("expected_interval_days").clip(lower_bound=1.0)
    raw_late = (days / interval).log()
    late = raw_late.fill_null(0.0).fill_nan(0.0)
    alive = pl.col("p_alive").fill_nan(None).fill_null(0.5).clip(0.0, 1.0)
    churn = (
        pl.coalesce(pl.col("churn_probability"), pl.col("churn_score") / 100.0)
        .fill_nan(None)
        .fill_null(0.5)
        .clip(0.0, 1.0)
    )
    exprs: list[pl.Expr] = [
        late.alias("log_lateness"),
        (late * late).alias("log_lateness_sq"),
        raw_late.is_null().cast(pl.Float64).alias("lateness_missing"),
        alive.alias("p_alive"),
        (alive * late).alias("p_alive_x_log_lateness"),
        churn.alias("churn"),
        pl.col("clv_365")
        .fill_nan(None)
        .fill_null(0.0)
        .clip(lower_bound=0.0)
        .log1p()
        .alias("log_clv"),
        *(
            (pl.col("tier") == t).fill_null(False).cast(pl.Float64).alias(f"tier_{t}")
            for t in TIERS
        ),
        *(
            (pl.col("stage") == s).fill_null(False).cast(pl.Float64).alias(f"stage_{s}")
            for s in STAGES
        ),
    ]
    out: FloatArray = f.select(exprs).to_numpy().astype(np.float64)
    return out.reshape(f.height, len(FEATURES))


def _sigmoid(z: FloatArray) -> FloatArray:
    out: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * z))
    return out


def fit_logistic(x: FloatArray, y: FloatArray, l2: float) -> FloatArray:
    """L2-regularised logistic regression by Newton-Raphson (IRLS); ``x`` holds an intercept
    column first, which is not penalised. Returns the coefficients."""
    n, k = x.shape
    penalty = np.full(k, l2)
    penalty[0] = 0.0
    rate = float(np.clip(y.mean(), 1e-4, 1 - 1e-4)) if n else 0.5
    beta = np.zeros(k)
    beta[0] = np.log(rate / (1.0 - rate))
    for _ in range(NEWTON_STEPS):
        p = _sigmoid(x @ beta)
        grad = x.T @ (p - y) + penalty * beta
        w = np.maximum(p * (1.0 - p), 1e-9)
        hess = (x * w[:, None]).T @ x + np.diag(penalty) + 1e-9 * np.eye(k)
        step = np.linalg.solve(hess, grad)
        beta = beta - step
        if float(np.max(np.abs(step))) < NEWTON_TOL:
            break
    return beta


def fit_ridge(x: FloatArray, y: FloatArray, l2: float) -> FloatArray:
    """Ridge regression; ``x`` holds an unpenalised intercept column first. As the posterior
    mean under a normal prior ``N(0, s^2)`` on the weights and noise variance ``sigma^2``, the
    penalty is ``sigma^2 / s^2`` (Hoerl & Kennard 1970; Hastie, Tibshirani & Friedman 2009,
    sec. 3.4.1)."""
    k = x.shape[1]
    penalty = np.full(k, l2)
    penalty[0] = 0.0
    beta = np.linalg.solve(x.T @ x + np.diag(penalty) + 1e-9 * np.eye(k), x.T @ y)
    return np.asarray(beta, dtype=np.float64)


def _design(raw: FloatArray, center: FloatArray, scale: FloatArray) -> FloatArray:
    z = (raw - center) / scale
    return np.hstack([np.ones((raw.shape[0], 1)), z])


def segment_of() -> pl.Expr:
    """A customer's uplift segment, ``"stage|tier"`` (as the planner keys it)."""
    return pl.concat_str(
        [pl.col("stage").cast(pl.String), pl.col("tier").cast(pl.String)], separator="|"
    )


def segment_counts(rows: pl.DataFrame) -> pl.DataFrame:
    """Treated and control sizes and returns per segment (``stage|tier``)."""
    treated = pl.col("arm") == "treated"
    control = pl.col("arm") == "control"
    return (
        rows.with_columns(segment=segment_of())
        .group_by("segment")
        .agg(
            n_treated=treated.sum().cast(pl.Int64),
            n_control=control.sum().cast(pl.Int64),
            returned_treated=(treated & pl.col("returned")).sum().cast(pl.Int64),
            returned_control=(control & pl.col("returned")).sum().cast(pl.Int64),
        )
        .sort("segment")
    )


@dataclass(frozen=True)
class UpliftModel:
    """A fitted X-learner with its shrinkage toward the measured segments."""

    center: tuple[float, ...]
    scale: tuple[float, ...]
    mu0: tuple[float, ...]
    mu1: tuple[float, ...]
    tau0: tuple[float, ...]
    tau1: tuple[float, ...]
    propensity: float  # g: treated share of the training rows
    rounds: tuple[int, ...]
    n_treated: int
    n_control: int
    shrink_weight: float  # w: the model's share of the blended prediction
    segments: Mapping[str, float] = field(default_factory=dict)  # stage|tier -> shrunk uplift
    segment_average: float = 0.0
    features: tuple[str, ...] = FEATURES

    @property
    def version(self) -> str:
        """A stable hash of the coefficients and the training rounds."""
        text = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]

    def model_uplift(self, frame: pl.DataFrame) -> tuple[FloatArray, FloatArray]:
        """The X-learner's ``tau(x)`` (unshrunk) and ``mu_0(x)`` for each row of ``frame``."""
        x = _design(feature_matrix(frame), np.array(self.center), np.array(self.scale))
        g = self.propensity
        tau = g * (x @ np.array(self.tau0)) + (1.0 - g) * (x @ np.array(self.tau1))
        return np.clip(tau, -1.0, 1.0), _sigmoid(x @ np.array(self.mu0))

    def predict(self, frame: pl.DataFrame) -> pl.DataFrame:
        """UPLIFT_PREDICTIONS for ``frame`` (UPLIFT_FEATURES columns): the blended uplift and
        the predicted chance of coming back without a call."""
        f = UPLIFT_FEATURES.conform(frame)
        tau, p0 = self.model_uplift(f)
        seg = f.select(
            segment_of().replace_strict(
                dict(self.segments), default=self.segment_average, return_dtype=pl.Float64
            )
        ).to_series()
        w = self.shrink_weight
        uplift = w * tau + (1.0 - w) * seg.to_numpy()
        return UPLIFT_PREDICTIONS.conform(
            pl.DataFrame(
                {"customer_pk": f["customer_pk"], "uplift": uplift, "p_untreated": p0},
                schema={
                    "customer_pk": pl.Int64(),
                    "uplift": pl.Float64(),
                    "p_untreated": pl.Float64(),
                },
            )
        )

    def to_json(self) -> dict[str, Any]:
        def r(values: Sequence[float]) -> list[float]:
            return [round(float(v), 10) for v in values]

        return {
            "learner": "x_learner",
            "features": list(self.features),
            "center": r(self.center),
            "scale": r(self.scale),
            "mu0": r(self.mu0),
            "mu1": r(self.mu1),
            "tau0": r(self.tau0),
            "tau1": r(self.tau1),
            "propensity": round(self.propensity, 10),
            "rounds": list(self.rounds),
            "n_treated": self.n_treated,
            "n_control": self.n_control,
            "shrink_weight": round(self.shrink_weight, 10),
            "segments": {k: round(float(v), 10) for k, v in sorted(self.segments.items())},
            "segment_average": round(self.segment_average, 10),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> UpliftModel:
        if data.get("learner") != "x_learner" or tuple(data["features"]) != FEATURES:
            raise ValueError("not an X-learner on this feature basis")
        return cls(
            center=tuple(data["center"]),
            scale=tuple(data["scale"]),
            mu0=tuple(data["mu0"]),
            mu1=tuple(data["mu1"]),
            tau0=tuple(data["tau0"]),
            tau1=tuple(data["tau1"]),
            propensity=float(data["propensity"]),
            rounds=tuple(int(r) for r in data["rounds"]),
            n_treated=int(data["n_treated"]),
            n_control=int(data["n_control"]),
            shrink_weight=float(data["shrink_weight"]),
            segments={str(k): float(v) for k, v in data["segments"].items()},
            segment_average=float(data["segment_average"]),
        )


def shrink_weight(n_control: int, shrink_controls: float = SHRINK_CONTROLS) -> float:
    """The model's share of the blended prediction (module doc)."""
    if shrink_controls <= 0:
        return 1.0
    return n_control / (n_control + shrink_controls)


def fit_uplift(
    rows: pl.DataFrame,
    *,
    logistic_l2: float = LOGISTIC_L2,
    effect_prior_sd: float = EFFECT_PRIOR_SD,
    shrink_controls: float = SHRINK_CONTROLS,
) -> UpliftModel:
    """Fit the X-learner on ``rows`` (UPLIFT_TRAINING: one row per member of a matured round).
    Raises ``ValueError`` when an arm is empty. Same rows give the same model."""
    r = UPLIFT_TRAINING.conform(rows).filter(pl.col("arm").is_in(["treated", "control"]))
    r = r.sort(["round_id", "customer_pk"])
    treated = (r["arm"] == "treated").to_numpy()
    if treated.all() or not treated.any():
        raise ValueError("an uplift model needs treated and control outcomes")
    y = r["returned"].cast(pl.Float64).to_numpy()
    raw = feature_matrix(r)
    center = raw.mean(axis=0)
    scale = raw.std(axis=0)
    scale = np.where(scale > 1e-9, scale, 1.0)
    x = _design(raw, center, scale)
    xt, yt, xc, yc = x[treated], y[treated], x[~treated], y[~treated]
    mu0 = fit_logistic(xc, yc, logistic_l2)
    mu1 = fit_logistic(xt, yt, logistic_l2)
    d1 = yt - _sigmoid(xt @ mu0)
    d0 = _sigmoid(xc @ mu1) - yc
    tau1 = fit_ridge(xt, d1, float(np.var(d1)) / effect_prior_sd**2)
    tau0 = fit_ridge(xc, d0, float(np.var(d0)) / effect_prior_sd**2)
    shrunk = shrunk_uplift(segment_counts(r), "segment")
    n_control = int((~treated).sum())
    return UpliftModel(
        center=tuple(float(v) for v in center),
        scale=tuple(float(v) for v in scale),
        mu0=tuple(float(v) for v in mu0),
        mu1=tuple(float(v) for v in mu1),
        tau0=tuple(float(v) for v in tau0),
        tau1=tuple(float(v) for v in tau1),
        propensity=float(treated.mean()),
        rounds=tuple(int(v) for v in r["round_id"].unique().sort()),
        n_treated=int(treated.sum()),
        n_control=n_control,
        shrink_weight=shrink_weight(n_control, shrink_controls),
        segments={str(k): float(v) for k, v in shrunk.select("segment", "uplift").iter_rows()},
        segment_average=float(shrunk["average"][0]) if shrunk.height else 0.0,
    )


def choose_policy(
    rows: pl.DataFrame,
    *,
    min_rounds: int = MIN_MODEL_ROUNDS,
    min_controls: int = MIN_MODEL_CONTROLS,
) -> str:
    """``uplift_model``, ``measured_segments`` or ``stage_priors`` for these training rows
    (module doc)."""
    r = UPLIFT_TRAINING.conform(rows)
    controls = int((r["arm"] == "control").sum())
    treated = int((r["arm"] == "treated").sum())
    if r["round_id"].n_unique() >= min_rounds and controls >= min_controls and treated > 0:
        return "uplift_model"
    counts = segment_counts(r)
    if counts.filter((pl.col("n_treated") > 0) & (pl.col("n_control") > 0)).height:
        return "measured_segments"
    return "stage_priors"


def cross_fitted(rows: pl.DataFrame, **fit_options: float) -> pl.DataFrame:
    """Each member's prediction from a model fitted on the other rounds only: ``customer_pk``,
    ``round_id``, ``arm``, ``returned``, ``uplift``, ``p_untreated``. A round whose other rounds
    hold no treated or no control outcome is left out (nothing honest to predict it with)."""
    r = UPLIFT_TRAINING.conform(rows)
    parts = []
    for round_id in sorted(r["round_id"].unique().to_list()):  # a handful of rounds
        train = r.filter(pl.col("round_id") != round_id)
        arms = set(train["arm"].unique().to_list())
        if not {"treated", "control"} <= arms:
            continue
        held = r.filter(pl.col("round_id") == round_id)
        model = fit_uplift(train, **fit_options)
        predicted = model.predict(held)
        parts.append(
            held.select("customer_pk", "round_id", "arm", "returned").with_columns(
                uplift=predicted["uplift"], p_untreated=predicted["p_untreated"]
            )
        )
    if not parts:
        return pl.DataFrame(
            schema={
                "customer_pk": pl.Int64(),
                "round_id": pl.Int64(),
                "arm": pl.String(),
                "returned": pl.Boolean(),
                "uplift": pl.Float64(),
                "p_untreated": pl.Float64(),
            }
        )
    return pl.concat(parts)


@dataclass(frozen=True)
class Decision:
    """The policy a round uses, and why (:func:`decide`)."""

    policy: str
    reason: str  # no_measured_round | too_few_outcomes | qini_not_above_zero | qini_above_zero
    model: UpliftModel | None = None
    qini: QiniResult | None = None
    crossed_rounds: int = 0


def decide(
    rows: pl.DataFrame,
    *,
    min_rounds: int = MIN_MODEL_ROUNDS,
    min_controls: int = MIN_MODEL_CONTROLS,
    resamples: int = QINI_RESAMPLES,
    seed: int = QINI_SEED,
    require_evidence: bool = True,
    fit_options: Mapping[str, float] | None = None,
) -> Decision:
    """The targeting policy for these training rows, with its evidence.

    With enough outcomes (:func:`choose_policy`) the model still has to *show* it ranks better
    than chance out of sample: the Qini coefficient of its predictions cross-fitted by round
    must have its bootstrap interval's lower end above 0. Otherwise the round falls back to the
    measured segments (or the stage priors), and the decision keeps the Qini that was read.
    ``require_evidence=False`` skips that check (for measuring what the check costs);
    ``fit_options`` go to :func:`fit_uplift` (for measuring other settings)."""
    options = dict(fit_options or {})
    r = UPLIFT_TRAINING.conform(rows)
    policy = choose_policy(r, min_rounds=min_rounds, min_controls=min_controls)
    if policy != "uplift_model":
        reason = "too_few_outcomes" if r.height else "no_measured_round"
        return Decision(policy=policy, reason=reason)
    crossed = cross_fitted(r, **options)
    fallback = choose_policy(r, min_rounds=10**9, min_controls=10**9)
    if crossed.is_empty() or crossed["arm"].n_unique() < 2:
        return Decision(policy=fallback, reason="too_few_outcomes")
    evidence = qini(
        crossed["uplift"].to_numpy(),
        (crossed["arm"] == "treated").to_numpy(),
        crossed["returned"].to_numpy(),
        resamples=resamples,
        seed=seed,
    )
    rounds = int(crossed["round_id"].n_unique())
    if require_evidence and (evidence.low is None or evidence.low <= 0.0):
        return Decision(
            policy=fallback, reason="qini_not_above_zero", qini=evidence, crossed_rounds=rounds
        )
    return Decision(
        policy="uplift_model",
        reason="qini_above_zero",
        model=fit_uplift(r, **options),
        qini=evidence,
        crossed_rounds=rounds,
    )


def targeting_from(
    rows: pl.DataFrame,
    candidates: pl.DataFrame,
    *,
    random_share: float,
    segments_measured: bool,
    min_rounds: int = MIN_MODEL_ROUNDS,
    min_controls: int = MIN_MODEL_CONTROLS,
    resamples: int = QINI_RESAMPLES,
    require_evidence: bool = True,
    fit_options: Mapping[str, float] | None = None,
) -> Targeting:
    """The round's :class:`~winback.programme.targeting.Targeting` from the matured rounds'
    training rows (UPLIFT_TRAINING) and the round's candidates (UPLIFT_FEATURES rows):
    :func:`decide`, then the model's predictions for the candidates when it is used.
    ``segments_measured`` says whether the measured segments hold any figure (else the stage
    priors serve). The product (``winback.app.rounds.targeting``) and the targeting benchmark
    both call this one rule."""
    r = UPLIFT_TRAINING.conform(rows)
    decision = decide(
        r,
        min_rounds=min_rounds,
        min_controls=min_controls,
        resamples=resamples,
        require_evidence=require_evidence,
        fit_options=fit_options,
    )
    treated = int((r["arm"] == "treated").sum())
    detail: dict[str, Any] = {
        "reason": decision.reason,
        "training_rounds": sorted(int(v) for v in r["round_id"].unique()),
        "treated_outcomes": treated,
        "control_outcomes": r.height - treated,
        "min_rounds": min_rounds,
        "min_controls": min_controls,
        "qini": (
            {"rounds": decision.crossed_rounds, **decision.qini.to_json()}
            if decision.qini is not None
            else None
        ),
    }
    model = decision.model
    if model is None:
        policy = decision.policy
        if policy == "measured_segments" and not segments_measured:
            policy = "stage_priors"
        return Targeting(policy=policy, random_share=random_share, detail=detail)
    detail["shrink_weight"] = round(model.shrink_weight, 6)
    detail["model"] = model.to_json()
    return Targeting(
        policy="uplift_model",
        random_share=random_share,
        model_version=model.version,
        predictions=model.predict(candidates),
        detail=detail,
    )

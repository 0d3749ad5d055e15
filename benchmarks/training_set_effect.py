"""What learning the churn weights from the programme's own customers does, and what the
training rules change; prints the figures behind docs/decisions/0027.

    WINBACK_DATABASE_URL=sqlite:////path/to/demo.sqlite3 \
        python benchmarks/training_set_effect.py [--as-of 2026-11-30]

Reads a store with win-back rounds (``winback demo`` builds one: aesthetics, 5,000 customers,
six monthly rounds) as of the date of its latest analysis and compares, on the training set of
the churn score (indicators as of ``as_of - horizon``, label "no purchase in the horizon"):

  (c) keep_all     every training buyer, the programme ignored (before this change);
  (a) strict       leave out customers treated by a round starting in (training_as_of, as_of];
  (a) chosen       leave out customers treated by a round reaching the training period
                   (winback.analytics.training_set: started by as_of, ended after
                   training_as_of - 90 days: its calls fall in the contact indicators' window or
                   its returns in the label window);
  (b) covariate    every training buyer plus an "untreated" indicator (1 - treated), fitted with
                   the others and held at 1 (nobody treated) when scoring.

For each: the weights, and out-of-fold (5 folds by the pipeline's key hash) AUC, expected
calibration error (10 equal-count bins) and calibration slope (logistic regression of the label
on the score's log-odds) on the customers the programme did not touch, and on the control arm
alone (drawn at random from the same candidates as the treated, then left alone). Then the real
pipeline with and without the rule: weights, and customers whose status or side of the score's
cut-off (50) changes. Last, where the unanswered-contacts indicator's calls come from.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import expit, logit

FOLDS = 5
BINS = 10
L2 = 0.01  # the churn model's ridge penalty (winback.analytics.churn.L2_PENALTY)
GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # the pipeline's key hash (winback.analytics.sampling)
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def fold_of(keys: NDArray[np.int64]) -> NDArray[np.int64]:
    hashed = keys.astype(np.uint64) * GOLDEN
    return ((hashed >> np.uint64(40)) % np.uint64(FOLDS)).astype(np.int64)


def ece(p: FloatArray, y: BoolArray) -> float:
    order = np.argsort(p, kind="stable")
    total = 0.0
    for chunk in np.array_split(order, min(BINS, p.size)):
        total += chunk.size * abs(float(p[chunk].mean()) - float(y[chunk].mean()))
    return total / p.size


def slope(p: FloatArray, y: BoolArray) -> float:
    """Calibration slope: b in logit P(y) = a + b logit(p) (1 is perfect, < 1 too extreme)."""
    x = logit(np.clip(p, 1e-6, 1 - 1e-6))
    t = y.astype(np.float64)

    def loss(theta: FloatArray) -> tuple[float, FloatArray]:
        eta = theta[0] + theta[1] * x
        r = expit(eta) - t
        value = float(np.sum(np.logaddexp(0.0, eta) - t * eta))
        return value, np.array([r.sum(), (r * x).sum()])

    return float(minimize(loss, np.array([0.0, 1.0]), jac=True, method="L-BFGS-B").x[1])


def fit_with_covariate(z: FloatArray, u: FloatArray, y: BoolArray) -> tuple[float, FloatArray]:
    """The churn model's fit (ridge logistic, indicator weights >= 0) plus a free weight on the
    standardised "untreated" column ``u``; returns intercept and weights (indicators, then u)."""
    design = np.column_stack([z, u])
    t = y.astype(np.float64)
    n, k = design.shape

    def objective(theta: FloatArray) -> tuple[float, FloatArray]:
        b, w = theta[0], theta[1:]
        eta = b + design @ w
        value = float(np.mean(np.logaddexp(0.0, eta) - t * eta) + 0.5 * L2 * (w @ w))
        r = (expit(eta) - t) / n
        return value, np.concatenate([[r.sum()], design.T @ r + L2 * w])

    start = np.zeros(k + 1)
    start[0] = float(logit(np.clip(t.mean(), 1e-6, 1 - 1e-6)))
    bounds: list[tuple[float | None, float | None]] = [(None, None)]
    bounds += [(0.0, None)] * (k - 1) + [(None, None)]
    theta = minimize(objective, start, jac=True, method="L-BFGS-B", bounds=bounds).x
    return float(theta[0]), np.asarray(theta[1:], dtype=np.float64)


def report(name: str, p: FloatArray, y: BoolArray) -> dict[str, Any]:
    from winback.analytics.metrics import roc_auc

    return {
        "set": name,
        "n": int(y.size),
        "churn_rate": round(float(y.mean()), 3),
        "mean_score": round(float(p.mean()), 3),
        "auc": round(roc_auc(p, y) or float("nan"), 3),
        "ece": round(ece(p, y), 3),
        "slope": round(slope(p, y), 2),
    }


def training_data(frames: Any, profile: Any, as_of: date, horizon: int) -> dict[str, Any]:
    """The pipeline's training set with every buyer kept, and who the programme touched."""
    from winback.analytics.features import customer_features
    from winback.analytics.indicators import model_inputs, raw_values
    from winback.analytics.pipeline import purchasers
    from winback.analytics.training_set import control_customers, touched_customers
    from winback.analytics.value import fit_btyd, p_alive

    start = as_of - timedelta(days=horizon)
    features = customer_features(frames, profile, start)
    buyers = features.filter(pl.col("first_purchase").is_not_null())
    keys = buyers["customer_pk"]
    y = (~keys.is_in(purchasers(frames.orders, start, as_of).implode())).to_numpy()
    alive = p_alive(fit_btyd(buyers, start), buyers, start)
    buyers = buyers.with_columns(pl.Series("p_alive", alive, dtype=pl.Float64))
    inputs = model_inputs(raw_values(buyers, start))
    t = frames.treatments
    treated = t.filter(pl.col("arm") == "treated")
    strict = treated.filter((pl.col("round_start") > start) & (pl.col("round_start") <= as_of))
    return {
        "start": start,
        "keys": keys.to_numpy(),
        "y": y.astype(bool),
        "inputs": inputs,
        "strict": keys.is_in(strict["customer_pk"].implode()).to_numpy(),
        "touched": keys.is_in(touched_customers(t, start, as_of).implode()).to_numpy(),
        "control": keys.is_in(control_customers(t, start, as_of).implode()).to_numpy(),
        "unanswered": buyers["contacts_unanswered_90"].fill_null(0).to_numpy(),
    }


def cross_validated(data: dict[str, Any], rule: str) -> tuple[FloatArray, dict[str, float]]:
    """Out-of-fold churn probabilities for every training buyer, and the full-data weights."""
    from winback.analytics.churn import fit_churn_model
    from winback.analytics.indicators import CODES

    x, y, folds = data["inputs"], data["y"], fold_of(data["keys"])
    keep = {
        "keep_all": np.ones(y.size, dtype=bool),
        "strict": ~data["strict"],
        "chosen": ~data["touched"],
        "covariate": np.ones(y.size, dtype=bool),
    }[rule]
    untreated = (~data["touched"]).astype(np.float64)
    out = np.zeros(y.size)

    def fit(train: BoolArray) -> tuple[Any, dict[str, float]]:
        if rule != "covariate":
            model = fit_churn_model(x[train], y[train])
            return model.probability, dict(model.weights)
        center, scale = x[train].mean(axis=0), x[train].std(axis=0)
        scale = np.where(scale <= 1e-9, 1.0, scale)
        u_center, u_scale = untreated[train].mean(), untreated[train].std() or 1.0
        b, w = fit_with_covariate(
            (x[train] - center) / scale, (untreated[train] - u_center) / u_scale, y[train]
        )

        def probability(rows: FloatArray) -> FloatArray:
            # Scored as if nobody were treated: the untreated indicator held at 1.
            eta = b + ((rows - center) / scale) @ w[:-1] + w[-1] * (1.0 - u_center) / u_scale
            result: FloatArray = expit(eta)
            return result

        weights = {c: round(float(v), 6) for c, v in zip(CODES, w[:-1], strict=True)}
        weights["untreated"] = round(float(w[-1]), 6)
        return probability, weights

    for k in range(FOLDS):
        probability, _ = fit(keep & (folds != k))
        out[folds == k] = probability(x[folds == k])
    _, weights = fit(keep)
    return out, weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--as-of", type=date.fromisoformat, default=None)
    args = parser.parse_args()
    os.environ.setdefault("WINBACK_LANGUAGE", "en")
    from winback.store.bootstrap import setup

    setup(migrate=False)
    from winback.analytics.frames import TREATMENTS, empty
    from winback.analytics.indicators import CODES
    from winback.analytics.pipeline import churn_horizon, conformed, run_analysis
    from winback.app.analysis.service import extract
    from winback.app.settings.profile import current_profile
    from winback.store.analysis.models import AnalysisRun

    profile = current_profile()
    as_of = args.as_of or AnalysisRun.objects.order_by("-as_of").values_list("as_of", flat=True)[0]
    horizon = churn_horizon(profile)
    frames = conformed(extract(as_of, profile.time_zone))
    data = training_data(frames, profile, as_of, horizon)
    y, touched, control = data["y"], data["touched"], data["control"]
    print(f"store: {profile.industry}, as of {as_of}, horizon {horizon} d, ", end="")
    print(f"training_as_of {data['start']}")
    print(
        f"training buyers {y.size}; treated by a round starting in the label window "
        f"{int(data['strict'].sum())}; treated by a round reaching the training period "
        f"{int(touched.sum())}; control arm {int((control & ~touched).sum())}"
    )
    print(
        "label (no purchase in the horizon): "
        f"untouched {y[~touched].mean():.3f}, treated {y[touched].mean():.3f}, "
        f"control {y[control & ~touched].mean():.3f}"
    )

    weights: dict[str, dict[str, float]] = {}
    rows = []
    for rule in ("keep_all", "strict", "chosen", "covariate"):
        p, weights[rule] = cross_validated(data, rule)
        rows.append({"rule": rule, **report("untouched", p[~touched], y[~touched])})
        in_control = control & ~touched
        rows.append({"rule": rule, **report("control arm", p[in_control], y[in_control])})
        rows.append({"rule": rule, **report("treated", p[touched], y[touched])})
    with pl.Config(tbl_rows=40, tbl_cols=12, tbl_width_chars=140):
        print("\nout-of-fold metrics (5 folds):")
        print(pl.DataFrame(rows))
        names = [*CODES, "untreated"]
        table = pl.DataFrame(
            {"indicator": names} | {rule: [w.get(n) for n in names] for rule, w in weights.items()}
        )
        print("\nweights fitted on the whole training set:")
        print(table)

    # The real pipeline, with the rule and with the programme ignored.
    started = time.perf_counter()
    chosen = run_analysis(frames, profile, as_of)
    seconds = time.perf_counter() - started
    blind = run_analysis(replace(frames, treatments=empty(TREATMENTS)), profile, as_of)
    a, c = chosen.scores, blind.scores
    moved = int((a["status"] != c["status"]).sum())
    crossed = int(((a["churn_score"] >= 50) != (c["churn_score"] >= 50)).sum())
    print(f"\npipeline with the rule: {seconds:.1f} s; model notes:")
    print({k: v for k, v in chosen.model.items() if k.startswith("training")})
    print(f"customers scored {a.height}; status changed {moved}; across the 50 cut-off {crossed}")
    print("status counts, rule vs ignored:", chosen.counts["status"], blind.counts["status"])
    print("held-out AUC (pipeline's own fold: untouched vs everyone), rule vs ignored:", end=" ")
    print(
        chosen.backtest["scores"]["churn_score"]["roc_auc"],
        blind.backtest["scores"]["churn_score"]["roc_auc"],
    )
    print("pipeline weights, rule vs ignored:")
    for code in CODES:
        print(f"  {code:20s} {chosen.weights[code]:8.3f} {blind.weights[code]:8.3f}")

    # Where the unanswered-contacts indicator's calls come from.
    contacts = frames.contacts
    start = data["start"]
    window = contacts.filter(
        (pl.col("occurred_date") > start - timedelta(days=90))
        & (pl.col("occurred_date") <= start)
        & (pl.col("outcome") == "not_reached")
        & (pl.col("direction") == "outbound")
    )
    rounds = frames.treatments.filter(pl.col("arm") == "treated")
    programme = window.join(rounds, on="customer_pk").filter(
        pl.col("occurred_date").is_between(pl.col("round_start"), pl.col("round_end"))
    )
    from_programme = programme.select("customer_pk", "occurred_date").unique().height
    kept_keys = pl.Series(data["keys"][~data["touched"]])
    kept_programme = programme.filter(pl.col("customer_pk").is_in(kept_keys.implode()))
    unanswered = data["unanswered"]
    print(
        f"\nunanswered outbound contacts in the 90 days before training_as_of: {window.height}, "
        f"of them during a round the customer was treated in: {from_programme}; "
        f"of those, on customers the rule keeps: {kept_programme.height}"
    )
    print(
        "training buyers with unanswered_contacts > 0: "
        f"touched {int((unanswered[touched] > 0).sum())} of {int(touched.sum())}, "
        f"untouched {int((unanswered[~touched] > 0).sum())} of {int((~touched).sum())}"
    )
    from winback.analytics.metrics import roc_auc

    single = unanswered.astype(np.float64)
    print(
        "unanswered_contacts alone, AUC: untouched "
        f"{roc_auc(single[~touched], y[~touched])}, treated {roc_auc(single[touched], y[touched])}"
    )

    # Scoring with the indicator counted only from contacts outside the customer's rounds.
    during = (
        contacts.with_row_index("row")
        .join(rounds, on="customer_pk")
        .filter(pl.col("occurred_date").is_between(pl.col("round_start"), pl.col("round_end")))
    )["row"].unique()
    outside = contacts.with_row_index("row").filter(~pl.col("row").is_in(during.implode()))
    quiet = run_analysis(replace(frames, contacts=outside.drop("row")), profile, as_of)
    q = quiet.scores
    print(
        f"contacts during the customer's own treated round: {during.len()} of {contacts.height}; "
        "scoring without them: status changed "
        f"{int((a['status'] != q['status']).sum())}, across the 50 cut-off "
        f"{int(((a['churn_score'] >= 50) != (q['churn_score'] >= 50)).sum())}, "
        f"weights changed {sum(chosen.weights[c] != quiet.weights[c] for c in CODES)}"
    )


if __name__ == "__main__":
    main()

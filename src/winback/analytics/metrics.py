"""Scoring metrics for binary outcomes, in NumPy (R2 audit, R12 backtest).

ROC-AUC is the Mann-Whitney statistic with average ranks for ties (Hanley & McNeil 1982);
PR-AUC is average precision over distinct thresholds (the step-wise area used by
scikit-learn); the Brier score is the mean squared error of a probability (Brier 1950).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.stats import rankdata

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def roc_auc(score: FloatArray, label: BoolArray) -> float | None:
    """P(score of a random positive > score of a random negative), ties counting half."""
    return roc_auc_of_ranks(rankdata(score), label)


def roc_auc_of_ranks(ranks: FloatArray, label: BoolArray) -> float | None:
    """:func:`roc_auc` from the scores' average ranks (``scipy.stats.rankdata``), for a caller
    that needs the ranks for something else too."""
    positives = int(label.sum())
    negatives = label.size - positives
    if positives == 0 or negatives == 0:
        return None
    rank_sum = float(ranks[label].sum())
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def pr_auc(score: FloatArray, label: BoolArray) -> float | None:
    """Average precision: sum over distinct thresholds of precision x recall increment."""
    positives = int(label.sum())
    if positives == 0:
        return None
    order = np.argsort(-score, kind="stable")
    sorted_score, sorted_label = score[order], label[order]
    # The last row of each group of equal scores is where a threshold stops.
    ends = np.flatnonzero(np.r_[sorted_score[1:] != sorted_score[:-1], True])
    true_pos = np.cumsum(sorted_label)[ends]
    predicted = ends + 1
    precision = true_pos / predicted
    recall = true_pos / positives
    increments = np.diff(np.r_[0.0, recall])
    return float(np.sum(increments * precision))


def lift_at(score: FloatArray, label: BoolArray, share: float = 0.1) -> float | None:
    """Positive rate among the top ``share`` by score, divided by the overall rate.

    Ties at the cut are broken by position, so the result is deterministic.
    """
    base = float(label.mean()) if label.size else 0.0
    if base == 0.0:
        return None
    top = max(1, int(np.ceil(share * label.size)))
    order = np.argsort(-score, kind="stable")[:top]
    return float(label[order].mean()) / base


def brier(probability: FloatArray, label: BoolArray) -> float | None:
    if label.size == 0:
        return None
    return float(np.mean((probability - label.astype(np.float64)) ** 2))


def calibration_table(
    probability: FloatArray, label: BoolArray, bins: int = 10
) -> list[dict[str, float | int]]:
    """Equal-count bins of the predicted probability: mean predicted vs observed rate."""
    if label.size == 0:
        return []
    order = np.argsort(probability, kind="stable")
    rows: list[dict[str, float | int]] = []
    for number, chunk in enumerate(np.array_split(order, min(bins, label.size)), start=1):
        rows.append(
            {
                "bin": number,
                "n": int(chunk.size),
                "mean_predicted": round(float(probability[chunk].mean()), 6),
                "observed": round(float(label[chunk].mean()), 6),
            }
        )
    return rows


def binary_report(
    score: FloatArray, label: BoolArray, probability: FloatArray | None
) -> dict[str, object]:
    """The backtest's metrics for one score; Brier and calibration only for probabilities."""

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 6)

    return {
        "roc_auc": rounded(roc_auc(score, label)),
        "pr_auc": rounded(pr_auc(score, label)),
        "lift_top10": rounded(lift_at(score, label, 0.1)),
        "brier": rounded(brier(probability, label)) if probability is not None else None,
        "calibration": calibration_table(probability, label) if probability is not None else None,
    }


def compare_scores(
    label: BoolArray,
    churn_probability: FloatArray,
    days_since_last: FloatArray,
    p_alive: FloatArray | None,
) -> dict[str, object]:
    """The churn score against the recency-only and 1 - P(alive) baselines (R12).

    ``label`` is True for customers who did not buy within the horizon. The churn score's
    Brier score and calibration use score / 100 as the probability of that.
    """
    churn = binary_report(churn_probability, label, churn_probability)
    scores: dict[str, object] = {
        "churn_score": churn,
        "recency": binary_report(days_since_last, label, None),
        "p_alive": binary_report(1 - p_alive, label, 1 - p_alive) if p_alive is not None else None,
    }
    return {
        "customers": int(label.size),
        "positives": int(label.sum()),
        "base_rate": round(float(label.mean()), 6) if label.size else None,
        "scores": scores,
        "calibration": churn["calibration"],
    }


def expected_calibration_error(
    probability: FloatArray, label: BoolArray, bins: int = 10
) -> float | None:
    """ECE: over equal-count bins of the prediction, the customers' share times
    |mean predicted - observed rate|, summed (Naeini et al. 2015, equal-mass variant)."""
    n = label.size
    if n == 0:
        return None
    order = np.argsort(probability, kind="stable")
    count = min(bins, n)
    # The same bins as calibration_table (np.array_split: the first n % count bins one larger).
    sizes = np.full(count, n // count)
    sizes[: n % count] += 1
    which = np.repeat(np.arange(count), sizes)
    predicted = np.bincount(which, weights=probability[order], minlength=count)
    observed = np.bincount(which, weights=label[order].astype(np.float64), minlength=count)
    return float(np.sum(np.abs(predicted - observed)) / n)


def calibration_slope(
    probability: FloatArray, label: BoolArray, iterations: int = 50
) -> dict[str, float] | None:
    """Logistic regression of the label on logit(p) (Cox 1958): slope 1 and intercept 0 are
    perfect calibration; a slope below 1 means predictions too extreme, above 1 too timid.
    Newton-Raphson on the two parameters; None when a class is missing or the fit diverges."""
    positives = int(label.sum())
    if positives == 0 or positives == label.size:
        return None
    clipped = np.clip(probability, 1e-6, 1 - 1e-6)
    x = np.log(clipped / (1 - clipped))
    design = np.column_stack([np.ones_like(x), x])
    y = label.astype(np.float64)
    beta = np.zeros(2)
    for _ in range(iterations):  # over iterations, each one vectorised over customers
        mu = 1 / (1 + np.exp(-(design @ beta)))
        weight = mu * (1 - mu)
        hessian = design.T @ (design * weight[:, None])
        gradient = design.T @ (y - mu)
        try:
            step = np.linalg.solve(hessian, gradient)
        except np.linalg.LinAlgError:
            return None
        beta = beta + step
        if not np.all(np.isfinite(beta)):
            return None
        if np.max(np.abs(step)) < 1e-9:
            break
    return {"slope": float(beta[1]), "intercept": float(beta[0])}


def bootstrap_intervals(
    score: FloatArray,
    label: BoolArray,
    probability: FloatArray | None,
    *,
    resamples: int = 500,
    seed: int = 0,
    level: float = 0.95,
    max_cells: int = 4_000_000,
) -> dict[str, list[float] | None]:
    """Percentile bootstrap intervals of ROC-AUC, PR-AUC and (for a probability) Brier."""
    samples = bootstrap_samples(
        score, label, probability, resamples=resamples, seed=seed, max_cells=max_cells
    )
    tail = 100 * (1 - level) / 2

    def interval(values: FloatArray | None) -> list[float] | None:
        if values is None:
            return None
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            return None
        low, high = np.percentile(finite, [tail, 100 - tail])
        return [round(float(low), 6), round(float(high), 6)]

    return {name: interval(values) for name, values in samples.items()}


def bootstrap_samples(
    score: FloatArray,
    label: BoolArray,
    probability: FloatArray | None,
    *,
    resamples: int = 500,
    seed: int = 0,
    max_cells: int = 4_000_000,
) -> dict[str, FloatArray | None]:
    """ROC-AUC, PR-AUC and Brier of each bootstrap resample (NaN where a class is missing).

    These metrics depend on a resample only through how many customers it holds of each cell
    (score, probability, label), so a resample is one multinomial draw of n over the cells,
    with the cells' shares as probabilities: the same distribution as drawing n customers with
    replacement, at the cost of the number of distinct cells (a score rounded to 2 decimals has
    at most about 20,000) instead of n. Resamples go in blocks of at most ``max_cells``.
    """
    n = label.size
    if n == 0 or resamples < 1:
        return {"roc_auc": None, "pr_auc": None, "brier": None}
    prob = probability if probability is not None else np.zeros(n)
    order = np.lexsort((label, prob, score))
    s, p, y = score[order], prob[order], label[order]
    starts = np.flatnonzero(np.r_[True, (s[1:] != s[:-1]) | (p[1:] != p[:-1]) | (y[1:] != y[:-1])])
    sizes = np.diff(np.r_[starts, n])
    rng = np.random.default_rng(seed)
    block = max(1, min(resamples, max_cells // starts.size))
    parts: list[dict[str, FloatArray]] = []
    for first in range(0, resamples, block):  # blocks of resamples, vectorised inside
        size = min(block, resamples - first)
        counts = rng.multinomial(n, sizes / n, size=size).astype(np.float64)
        parts.append(weighted_metrics(s[starts], y[starts], p[starts], counts))
    return {
        "roc_auc": np.concatenate([part["roc_auc"] for part in parts]),
        "pr_auc": np.concatenate([part["pr_auc"] for part in parts]),
        "brier": np.concatenate([part["brier"] for part in parts])
        if probability is not None
        else None,
    }


def weighted_metrics(
    score: FloatArray, label: BoolArray, probability: FloatArray, weights: FloatArray
) -> dict[str, FloatArray]:
    """ROC-AUC, PR-AUC and Brier for each row of ``weights`` (rows x customers; a customer
    with weight k counts k times). Ties in score count half (AUC) and share a threshold (AP)."""
    order = np.argsort(score, kind="stable")
    ranked = score[order]
    y = label[order].astype(np.float64)
    w = weights[:, order]
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    pos = w * y
    pos_group = np.add.reduceat(pos, starts, axis=1)
    neg_group = np.add.reduceat(w - pos, starts, axis=1)
    total_pos, total_neg = pos_group.sum(axis=1), neg_group.sum(axis=1)
    below = np.cumsum(neg_group, axis=1) - neg_group
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = np.sum(pos_group * (below + 0.5 * neg_group), axis=1) / (total_pos * total_neg)
        # Average precision: thresholds from the highest score group down.
        above_pos = np.cumsum(pos_group[:, ::-1], axis=1)
        above_all = np.cumsum((pos_group + neg_group)[:, ::-1], axis=1)
        precision = np.where(above_all > 0, above_pos / above_all, 0.0)
        ap = np.sum(precision * pos_group[:, ::-1], axis=1) / total_pos
        brier_score = (w @ ((probability[order] - y) ** 2)) / w.sum(axis=1)
    return {
        "roc_auc": np.where((total_pos > 0) & (total_neg > 0), auc, np.nan),
        "pr_auc": np.where(total_pos > 0, ap, np.nan),
        "brier": brier_score,
    }

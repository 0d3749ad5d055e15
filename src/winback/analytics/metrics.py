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
    positives = int(label.sum())
    negatives = label.size - positives
    if positives == 0 or negatives == 0:
        return None
    ranks = rankdata(score)
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

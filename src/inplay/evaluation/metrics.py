"""Scoring rules and calibration error for 3-class (H, D, A) probabilities.

Metrics take ``y`` (codes 0=H, 1=D, 2=A or the letters) and ``P`` (an ``(n, 3)`` array in
H, D, A order):

* :func:`log_loss`: mean negative log probability of the observed result;
* :func:`brier`: multiclass Brier score, mean over rows of ``sum_k (p_k - o_k)^2`` (0..2);
* :func:`rps`: ranked probability score for the ordered outcome H < D < A, mean over rows of
  ``sum_{k=1}^{2} (P_k - O_k)^2 / 2`` with cumulative ``P`` and ``O`` (0..1);
* :func:`accuracy`: share of rows whose most probable class is the result;
* :func:`ece`: expected calibration error, class-wise, 10 equal-width bins
  (:func:`reliability_table` gives the reliability diagram data);
* :func:`top_label_ece`: the calibration error of the most probable class only, 5 equal-width
  bins, as Robberechts, Van Haaren & Davis (KDD 2021) report it
  (:func:`top_label_reliability` gives its diagram data). Both ECEs take row weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from inplay.models import CLASSES, encode_result

__all__ = [
    "METRICS",
    "LOWER_IS_BETTER",
    "ROW_METRICS",
    "log_loss",
    "brier",
    "rps",
    "accuracy",
    "score",
    "ece",
    "class_ece",
    "reliability_table",
    "top_label_ece",
    "top_label_reliability",
]

METRICS: tuple[str, ...] = ("log_loss", "brier", "rps", "accuracy")
"""Metric names, in table order. Lower is better for all but ``accuracy``."""
LOWER_IS_BETTER = ("log_loss", "brier", "rps")
"""Metrics where lower is better."""
_LOG_EPS = 1e-15


def _check(y: Any, p: Any) -> tuple[np.ndarray, np.ndarray]:
    codes = encode_result(y).ravel()
    probs = np.asarray(p, dtype=float)
    if probs.ndim != 2 or probs.shape[1] != 3:
        raise ValueError(f"probabilities must have shape (n, 3); got {probs.shape}")
    if probs.shape[0] != codes.shape[0]:
        raise ValueError(f"{codes.shape[0]} labels but {probs.shape[0]} probability rows")
    if codes.size == 0:
        raise ValueError("no rows to score")
    return codes, probs


def _one_hot(codes: np.ndarray) -> np.ndarray:
    out = np.zeros((codes.size, 3))
    out[np.arange(codes.size), codes] = 1.0
    return out


def _row_log_loss(codes: np.ndarray, probs: np.ndarray) -> np.ndarray:
    return -np.log(np.clip(probs[np.arange(codes.size), codes], _LOG_EPS, 1.0))


def _row_brier(codes: np.ndarray, probs: np.ndarray) -> np.ndarray:
    return ((probs - _one_hot(codes)) ** 2).sum(axis=1)


def _row_rps(codes: np.ndarray, probs: np.ndarray) -> np.ndarray:
    cum_p = np.cumsum(probs, axis=1)[:, :2]
    cum_o = np.cumsum(_one_hot(codes), axis=1)[:, :2]
    return ((cum_p - cum_o) ** 2).sum(axis=1) / 2.0


def _row_correct(codes: np.ndarray, probs: np.ndarray) -> np.ndarray:
    return (probs.argmax(axis=1) == codes).astype(float)


ROW_METRICS = {
    "log_loss": _row_log_loss,
    "brier": _row_brier,
    "rps": _row_rps,
    "accuracy": _row_correct,
}
"""Per-row value of each metric of :data:`METRICS`: ``fn(codes, probs) -> (n,) array``."""


def log_loss(y: Any, p: Any) -> float:
    """Mean negative log probability of the observed result (natural log).

    Args:
        y: Results as codes 0/1/2 or letters H/D/A.
        p: ``(n, 3)`` probabilities in H, D, A order.

    Returns:
        The log loss; probabilities are clipped at 1e-15 so it is always finite.
    """
    codes, probs = _check(y, p)
    return float(_row_log_loss(codes, probs).mean())


def brier(y: Any, p: Any) -> float:
    """Multiclass Brier score: mean over rows of ``sum_k (p_k - onehot_k)^2`` (0 best, 2 worst).

    Args:
        y: Results as codes 0/1/2 or letters H/D/A.
        p: ``(n, 3)`` probabilities in H, D, A order.

    Returns:
        The Brier score.
    """
    codes, probs = _check(y, p)
    return float(_row_brier(codes, probs).mean())


def rps(y: Any, p: Any) -> float:
    """Ranked probability score for the ordered outcome H < D < A (0 best, 1 worst).

    Mean over rows of ``0.5 * sum_{k=1}^{2} (P_k - O_k)^2`` where ``P`` and ``O`` are the
    cumulative forecast and observation.

    Args:
        y: Results as codes 0/1/2 or letters H/D/A.
        p: ``(n, 3)`` probabilities in H, D, A order.

    Returns:
        The RPS.
    """
    codes, probs = _check(y, p)
    return float(_row_rps(codes, probs).mean())


def accuracy(y: Any, p: Any) -> float:
    """Share of rows whose most probable class (ties: first in H, D, A) is the result.

    Args:
        y: Results as codes 0/1/2 or letters H/D/A.
        p: ``(n, 3)`` probabilities in H, D, A order.

    Returns:
        The accuracy in [0, 1].
    """
    codes, probs = _check(y, p)
    return float(_row_correct(codes, probs).mean())


def score(y: Any, p: Any) -> dict[str, float]:
    """Return every metric of :data:`METRICS` as a dict.

    Args:
        y: Results as codes 0/1/2 or letters H/D/A.
        p: ``(n, 3)`` probabilities in H, D, A order.

    Returns:
        ``{"log_loss": ..., "brier": ..., "rps": ..., "accuracy": ...}``.
    """
    codes, probs = _check(y, p)
    return {name: float(fn(codes, probs).mean()) for name, fn in ROW_METRICS.items()}


def ece(y: Any, p: Any, n_bins: int = 10, weights: Any | None = None) -> float:
    """Expected calibration error, class-wise, with equal-width bins.

    For each class k, the rows are binned by ``p_k`` into ``n_bins`` bins of [0, 1]; the class
    error is the row-weighted mean over bins of ``|mean p_k - share of rows whose result is k|``.
    The ECE is the mean of the three class errors (0 = perfectly calibrated).

    Args:
        y: Results as codes 0/1/2 or letters H/D/A.
        p: ``(n, 3)`` probabilities in H, D, A order.
        n_bins: Number of bins.
        weights: Optional non-negative row weights (``None``: every row the same).

    Returns:
        The ECE in [0, 1].
    """
    return float(np.mean(list(class_ece(y, p, n_bins, weights).values())))


def class_ece(y: Any, p: Any, n_bins: int = 10, weights: Any | None = None) -> dict[str, float]:
    """Calibration error of each class (see :func:`ece`), keyed ``H``, ``D``, ``A``."""
    table = reliability_table(y, p, n_bins, weights)
    errors = {}
    for label, part in table.groupby("outcome", sort=False):
        w = part["weight"] / part["weight"].sum()
        errors[str(label)] = float((w * (part["mean_p"] - part["observed"]).abs()).sum())
    return errors


def _row_weights(weights: Any | None, n: int) -> np.ndarray:
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (n,) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("weights must be one non-negative number per row, not all zero")
    return w


def reliability_table(y: Any, p: Any, n_bins: int = 10, weights: Any | None = None) -> pd.DataFrame:
    """Reliability diagram data: forecast against observed frequency, per class and bin.

    Args:
        y: Results as codes 0/1/2 or letters H/D/A.
        p: ``(n, 3)`` probabilities in H, D, A order.
        n_bins: Number of equal-width bins of [0, 1].
        weights: Optional non-negative row weights (``None``: every row the same).

    Returns:
        One row per class and non-empty bin: ``outcome`` (H/D/A), ``bin`` (0..n_bins-1),
        ``mean_p``, ``observed`` (both weighted), ``n_rows`` and ``weight`` (the bin's total
        weight; equal to ``n_rows`` without weights).
    """
    codes, probs = _check(y, p)
    w = _row_weights(weights, codes.size)
    rows = []
    for k, label in enumerate(CLASSES):
        pk = probs[:, k]
        idx = np.minimum((pk * n_bins).astype(int), n_bins - 1)
        hit = (codes == k).astype(float)
        n = np.bincount(idx, minlength=n_bins)
        wsum = np.bincount(idx, weights=w, minlength=n_bins)
        sum_p = np.bincount(idx, weights=w * pk, minlength=n_bins)
        sum_o = np.bincount(idx, weights=w * hit, minlength=n_bins)
        for b in np.flatnonzero(wsum > 0):
            rows.append(
                {
                    "outcome": label,
                    "bin": int(b),
                    "mean_p": sum_p[b] / wsum[b],
                    "observed": sum_o[b] / wsum[b],
                    "n_rows": int(n[b]),
                    "weight": float(wsum[b]),
                }
            )
    return pd.DataFrame(rows)


def top_label_reliability(
    y: Any, p: Any, n_bins: int = 5, weights: Any | None = None
) -> pd.DataFrame:
    """Reliability of the most probable class: its probability against how often it happened.

    Each row's top-label confidence is ``max(p)``; rows are binned by it into ``n_bins``
    equal-width bins of [0, 1], and each bin compares the (weighted) mean confidence with the
    (weighted) share of rows whose result is that most probable class.

    Args:
        y: Results as codes 0/1/2 or letters H/D/A.
        p: ``(n, 3)`` probabilities in H, D, A order.
        n_bins: Number of equal-width bins.
        weights: Optional non-negative row weights (e.g. so that every competition counts
            equally); ``None`` weighs rows equally.

    Returns:
        One row per non-empty bin: ``bin``, ``confidence``, ``observed``, ``weight`` (share of
        the total weight) and ``n_rows``.
    """
    codes, probs = _check(y, p)
    w = _row_weights(weights, codes.size)
    top = probs.argmax(axis=1)
    conf = probs[np.arange(codes.size), top]
    idx = np.minimum((conf * n_bins).astype(int), n_bins - 1)
    wsum = np.bincount(idx, weights=w, minlength=n_bins)
    csum = np.bincount(idx, weights=w * conf, minlength=n_bins)
    osum = np.bincount(idx, weights=w * (top == codes), minlength=n_bins)
    n = np.bincount(idx, minlength=n_bins)
    rows = [
        {
            "bin": int(b),
            "confidence": csum[b] / wsum[b],
            "observed": osum[b] / wsum[b],
            "weight": wsum[b] / wsum.sum(),
            "n_rows": int(n[b]),
        }
        for b in np.flatnonzero(wsum > 0)
    ]
    return pd.DataFrame(rows, columns=["bin", "confidence", "observed", "weight", "n_rows"])


def top_label_ece(y: Any, p: Any, n_bins: int = 5, weights: Any | None = None) -> float:
    """Top-label expected calibration error (see :func:`top_label_reliability`).

    The weight-averaged ``|confidence - observed|`` over the bins: 0 when the most probable
    class happens exactly as often as its probability says, in every bin.

    Args:
        y: Results as codes 0/1/2 or letters H/D/A.
        p: ``(n, 3)`` probabilities in H, D, A order.
        n_bins: Number of equal-width bins (5, as in Robberechts et al. 2021).
        weights: Optional row weights.

    Returns:
        The ECE in [0, 1].
    """
    table = top_label_reliability(y, p, n_bins, weights)
    return float((table["weight"] * (table["confidence"] - table["observed"]).abs()).sum())

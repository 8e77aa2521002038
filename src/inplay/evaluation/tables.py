"""Comparison tables over out-of-fold predictions: overall, per clock bin, per group, paired.

Every table has one row per model (and group) with the metrics of :mod:`.metrics` and, when
the baseline is present, the percent improvement over it on the same rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from inplay.config import ConfigError
from inplay.evaluation.metrics import (
    LOWER_IS_BETTER,
    METRICS,
    ROW_METRICS,
    class_ece,
    score,
)
from inplay.models import CLASSES, PROB_COLUMNS, encode_result

__all__ = [
    "BASELINE",
    "metrics_table",
    "clock_bins",
    "metrics_by_bin",
    "metrics_by_group",
    "metrics_by_state",
    "metrics_by_competition",
    "calibration_table",
    "paired_comparison",
]

BASELINE = "scoreboard"
"""The model that relative improvements are measured against."""


def _group_metrics(group: pd.DataFrame) -> pd.Series:
    values = score(group["result"].to_numpy(), group[list(PROB_COLUMNS)].to_numpy())
    values["n_rows"] = len(group)
    values["n_matches"] = group["match_id"].nunique()
    return pd.Series(values)


def _add_relative(table: pd.DataFrame, keys: list[str], baseline: str = BASELINE) -> pd.DataFrame:
    """Add ``<metric>_vs_<baseline>_pct``: percent improvement over the baseline (+ = better)."""
    if baseline not in set(table["model"]):
        return table
    base = table[table["model"] == baseline].set_index(keys) if keys else None
    for metric in LOWER_IS_BETTER:
        col = f"{metric}_vs_{baseline}_pct"
        if keys:
            ref = (
                table[keys]
                .merge(
                    base[[metric]].rename(columns={metric: "_ref"}).reset_index(),
                    on=keys,
                    how="left",
                )["_ref"]
                .to_numpy()
            )
        else:
            ref = float(table.loc[table["model"] == baseline, metric].iloc[0])
        table[col] = 100.0 * (ref - table[metric].to_numpy()) / ref
    return table


def metrics_table(oof: pd.DataFrame, baseline: str = BASELINE) -> pd.DataFrame:
    """Overall metrics of each model over all out-of-fold rows.

    Args:
        oof: Output of :func:`grouped_cv_predictions`.
        baseline: Model to compare against; when it is present, columns
            ``<metric>_vs_<baseline>_pct`` give the percent improvement (positive = better).

    Returns:
        One row per model (in the order of first appearance): ``model``, ``log_loss``,
        ``brier``, ``rps``, ``accuracy``, ``n_rows``, ``n_matches`` and the relative columns.
    """
    order = list(pd.unique(oof["model"]))
    rows = [
        {"model": name, **_group_metrics(oof[oof["model"] == name]).to_dict()} for name in order
    ]
    table = pd.DataFrame(rows)
    table[["n_rows", "n_matches"]] = table[["n_rows", "n_matches"]].astype(int)
    return _add_relative(table, [], baseline)


def clock_bins(clock: Any, width: float = 15.0) -> pd.Series:
    """Label each clock value with its bin ``[a, b)``; 90 goes in the last bin ``[75, 90]``.

    Args:
        clock: Regulation clock values in [0, 90].
        width: Bin width in minutes.

    Returns:
        A series of string labels such as ``"[0,15)"`` and ``"[75,90]"``.
    """
    c = np.clip(np.asarray(clock, dtype=float), 0.0, 90.0)
    n_bins = int(np.ceil(90.0 / width))
    idx = np.minimum((c // width).astype(int), n_bins - 1)
    labels = []
    for i in range(n_bins):
        lo, hi = i * width, min((i + 1) * width, 90.0)
        close = "]" if i == n_bins - 1 else ")"
        labels.append(f"[{lo:g},{hi:g}{close}")
    return pd.Series(np.array(labels)[idx], index=getattr(clock, "index", None))


def metrics_by_bin(oof: pd.DataFrame, width: float = 15, baseline: str = BASELINE) -> pd.DataFrame:
    """Metrics of each model per clock bin (``[0,15)``, ``[15,30)``, ..., ``[75,90]``).

    Args:
        oof: Output of :func:`grouped_cv_predictions`.
        width: Bin width in minutes.
        baseline: Model to compare against, as in :func:`metrics_table`.

    Returns:
        One row per model and bin: ``model``, ``bin``, ``bin_start``, the metrics, ``n_rows``,
        ``n_matches`` and the relative columns; sorted by model order then bin.
    """
    order = list(pd.unique(oof["model"]))
    labels = clock_bins(oof["clock"].to_numpy(), width)
    starts = np.minimum(
        (np.clip(oof["clock"].to_numpy(dtype=float), 0, 90) // width) * width,
        (np.ceil(90.0 / width) - 1) * width,
    )
    frame = oof.assign(bin=labels.to_numpy(), bin_start=starts)
    rows = []
    for name in order:
        sub = frame[frame["model"] == name]
        for (label, start), group in sub.groupby(["bin", "bin_start"], sort=False):
            rows.append(
                {
                    "model": name,
                    "bin": label,
                    "bin_start": float(start),
                    **_group_metrics(group).to_dict(),
                }
            )
    table = pd.DataFrame(rows)
    table["_order"] = table["model"].map({m: i for i, m in enumerate(order)})
    table = table.sort_values(["_order", "bin_start"]).drop(columns="_order")
    table = table.reset_index(drop=True)
    table[["n_rows", "n_matches"]] = table[["n_rows", "n_matches"]].astype(int)
    return _add_relative(table, ["bin"], baseline)


def metrics_by_group(oof: pd.DataFrame, key: str, baseline: str = BASELINE) -> pd.DataFrame:
    """Metrics of each model per value of an OOF column (e.g. ``game_state``).

    Args:
        oof: Output of :func:`grouped_cv_predictions`.
        key: The column to group by.
        baseline: Model to compare against, as in :func:`metrics_table`.

    Returns:
        One row per model and group value: ``model``, ``key``, the metrics, ``n_rows``,
        ``n_matches`` and the relative columns.
    """
    order = list(pd.unique(oof["model"]))
    rows = []
    for name in order:
        sub = oof[oof["model"] == name]
        for value, group in sub.groupby(key, sort=True):
            rows.append({"model": name, key: value, **_group_metrics(group).to_dict()})
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table[["n_rows", "n_matches"]] = table[["n_rows", "n_matches"]].astype(int)
    return _add_relative(table, [key], baseline)


def metrics_by_state(oof: pd.DataFrame, baseline: str = BASELINE) -> pd.DataFrame:
    """Metrics per game state: ``level``, ``one-goal``, ``two+`` and ``red card`` (any shown).

    The first three split every row by the current margin; ``red card`` is the subset of rows
    after a red card (which are also in one of the three).

    Args:
        oof: Output of :func:`grouped_cv_predictions`.
        baseline: Model to compare against.

    Returns:
        As :func:`metrics_by_group`, with the group in column ``state``.
    """
    margin = oof.assign(state=oof["game_state"])
    red = oof[oof["red_card"].astype(bool)].assign(state="red card")
    return metrics_by_group(pd.concat([margin, red], ignore_index=True), "state", baseline)


def metrics_by_competition(oof: pd.DataFrame, baseline: str = BASELINE) -> pd.DataFrame:
    """Metrics per competition (``competition_id``); see :func:`metrics_by_group`."""
    return metrics_by_group(oof, "competition_id", baseline)


def calibration_table(oof: pd.DataFrame, n_bins: int = 10) -> pd.DataFrame:
    """ECE of each model over its out-of-fold rows (:func:`ece`).

    Args:
        oof: Output of :func:`grouped_cv_predictions`.
        n_bins: Number of bins.

    Returns:
        ``model``, ``ece`` and the per-class errors ``ece_H``, ``ece_D``, ``ece_A``.
    """
    rows = []
    for name in pd.unique(oof["model"]):
        sub = oof[oof["model"] == name]
        y, p = sub["result"].to_numpy(), sub[list(PROB_COLUMNS)].to_numpy()
        per_class = class_ece(y, p, n_bins)
        row = {"model": name, "ece": float(np.mean(list(per_class.values())))}
        row.update({f"ece_{label}": per_class[label] for label in CLASSES})
        rows.append(row)
    return pd.DataFrame(rows)


def _row_values(oof: pd.DataFrame, name: str, metric: str) -> pd.DataFrame:
    """``match_id`` and the per-row ``metric`` (column ``v``) of one model's rows."""
    sub = oof[oof["model"] == name]
    codes = encode_result(sub["result"].to_numpy())
    return pd.DataFrame(
        {
            "match_id": sub["match_id"].to_numpy(),
            "v": ROW_METRICS[metric](codes, sub[list(PROB_COLUMNS)].to_numpy()),
        }
    )


def _match_mean_diff(ref: pd.DataFrame, cur: pd.DataFrame) -> tuple[float, float, int]:
    """Row-weighted mean of ``cur - ref``, its standard error over matches, and the matches."""
    diff = pd.DataFrame({"match_id": ref["match_id"], "d": cur["v"] - ref["v"]})
    per_match = diff.groupby("match_id")["d"].agg(["sum", "count"])
    n = len(per_match)
    mean = float(per_match["sum"].sum() / per_match["count"].sum())
    # Ratio-estimator standard error over matches (matches have similar row counts).
    resid = per_match["sum"] - mean * per_match["count"]
    se = float(np.sqrt((resid**2).sum() / max(n - 1, 1) / n) / per_match["count"].mean())
    return mean, se, n


def paired_comparison(
    oof: pd.DataFrame, baseline: str = BASELINE, metric: str = "log_loss"
) -> pd.DataFrame:
    """Per-model difference from the baseline, with a standard error that respects matches.

    Rows of a match are dependent, so the per-row differences are averaged within each match
    first and the standard error is that of the mean over matches.

    Args:
        oof: Output of :func:`grouped_cv_predictions`.
        baseline: Reference model.
        metric: One of :data:`METRICS`.

    Returns:
        One row per other model: ``model``, ``baseline``, ``metric``, ``mean_diff`` (model minus
        baseline, row-weighted), ``se`` (over matches), ``z``, ``n_matches``. Empty when the
        baseline is absent.
    """
    if metric not in ROW_METRICS:
        raise ConfigError(f"unknown metric {metric!r}; valid: {', '.join(METRICS)}")
    models = list(pd.unique(oof["model"]))
    if baseline not in models:
        return pd.DataFrame(
            columns=["model", "baseline", "metric", "mean_diff", "se", "z", "n_matches"]
        )
    ref = _row_values(oof, baseline, metric)
    rows = []
    for name in models:
        if name == baseline:
            continue
        mean, se, n = _match_mean_diff(ref, _row_values(oof, name, metric))
        rows.append(
            {
                "model": name,
                "baseline": baseline,
                "metric": metric,
                "mean_diff": mean,
                "se": se,
                "z": mean / se if se > 0 else float("nan"),
                "n_matches": n,
            }
        )
    return pd.DataFrame(rows)

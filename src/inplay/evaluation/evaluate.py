"""Scoring rules and match-grouped cross-validation for the outcome models.

Every snapshot of a match shares the match's label, so rows of one match are strongly
dependent. Cross-validation therefore splits **by match**: all rows of a match are in the same
fold, and every model is fitted on the same folds so their scores can be compared row by row.

Metrics take ``y`` (codes 0=H, 1=D, 2=A or the letters) and ``P`` (an ``(n, 3)`` array in
H, D, A order):

* :func:`log_loss`: mean negative log probability of the observed result;
* :func:`brier`: multiclass Brier score, mean over rows of ``sum_k (p_k - o_k)^2`` (0..2);
* :func:`rps`: ranked probability score for the ordered outcome H < D < A, mean over rows of
  ``sum_{k=1}^{2} (P_k - O_k)^2 / 2`` with cumulative ``P`` and ``O`` (0..1);
* :func:`accuracy`: share of rows whose most probable class is the result;
* :func:`ece`: expected calibration error, class-wise, 10 equal-width bins (reported beside
  the others; :func:`reliability_figure` draws the reliability diagrams).

Splits (:func:`split_folds`): grouped K-fold by match (the default), leave one competition out,
or one forward split in time (train on matches before a date, test on the rest). Tables: overall,
per 15-minute bin, per game state (level, one-goal, two+ margin, after a red card) and per
competition, each with the improvement over the scoreboard baseline fitted on the same folds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from inplay.config import ConfigError
from inplay.models import CLASSES, PROB_COLUMNS, _json_safe, encode_result, make_model

__all__ = [
    "METRICS",
    "BASELINE",
    "DEFAULT_MODELS",
    "log_loss",
    "brier",
    "rps",
    "accuracy",
    "score",
    "read_snapshot_table",
    "match_folds",
    "grouped_cv_predictions",
    "metrics_table",
    "metrics_by_bin",
    "paired_comparison",
    "SPLITS",
    "game_state",
    "split_folds",
    "metrics_by_group",
    "metrics_by_state",
    "metrics_by_competition",
    "ece",
    "class_ece",
    "reliability_table",
    "calibration_table",
    "reliability_figure",
    "EvaluationResult",
    "with_priors",
    "odds_comparison",
    "evaluate",
]

METRICS: tuple[str, ...] = ("log_loss", "brier", "rps", "accuracy")
"""Metric names, in table order. Lower is better for all but ``accuracy``."""
_LOWER_IS_BETTER = ("log_loss", "brier", "rps")
BASELINE = "scoreboard"
"""The model that relative improvements are measured against."""
DEFAULT_MODELS: tuple[str, ...] = ("climatology", "scoreboard", "state_mnlogit")
_LOG_EPS = 1e-15


# --------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------


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


_ROW_METRICS = {
    "log_loss": _row_log_loss,
    "brier": _row_brier,
    "rps": _row_rps,
    "accuracy": _row_correct,
}


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
    return {name: float(fn(codes, probs).mean()) for name, fn in _ROW_METRICS.items()}


# --------------------------------------------------------------------------------------------
# Grouped cross-validation
# --------------------------------------------------------------------------------------------


def read_snapshot_table(source: pd.DataFrame | str | Path) -> pd.DataFrame:
    """Return a snapshot frame from a DataFrame or a parquet/CSV path.

    Args:
        source: A DataFrame (returned as is) or a path to ``.parquet`` or ``.csv``.

    Returns:
        The snapshot frame.

    Raises:
        ConfigError: The path does not exist.
    """
    if isinstance(source, pd.DataFrame):
        return source
    path = Path(source)
    if not path.is_file():
        raise ConfigError(
            f"no snapshot table at {path}; build it first (e.g. `inplay dataset`) or pass "
            "--snapshots PATH"
        )
    if path.suffix == ".csv":
        return pd.read_csv(path)
    return pd.read_parquet(path)


def match_folds(match_ids: Iterable[Any], n_splits: int = 5, seed: int = 0) -> dict[Any, int]:
    """Assign each match to one of ``n_splits`` folds at random (balanced sizes).

    Args:
        match_ids: Match ids (duplicates are fine).
        n_splits: Number of folds, at least 2.
        seed: Seed of the shuffle.

    Returns:
        ``{match_id: fold}`` with folds ``0 .. n_splits - 1``.

    Raises:
        ConfigError: ``n_splits`` is below 2 or above the number of matches.
    """
    unique = np.array(sorted(pd.unique(pd.Series(list(match_ids)))))
    if n_splits < 2:
        raise ConfigError(f"n_splits={n_splits} must be at least 2")
    if n_splits > unique.size:
        raise ConfigError(f"n_splits={n_splits} is more than the {unique.size} matches")
    rng = np.random.default_rng(seed)
    order = rng.permutation(unique.size)
    folds = np.empty(unique.size, dtype=int)
    folds[order] = np.arange(unique.size) % n_splits
    return {
        m.item() if isinstance(m, np.generic) else m: int(f)
        for m, f in zip(unique, folds, strict=True)
    }


_REQUIRED = ("match_id", "clock", "competition_id", "result")


SPLITS: tuple[str, ...] = ("match", "competition", "time")
"""How :func:`grouped_cv_predictions` splits: grouped K-fold by match, leave one competition
out, or one forward split in time (train before a date, test from it on)."""


def game_state(df: pd.DataFrame) -> pd.Series:
    """Label each snapshot with its game state: ``level``, ``one-goal`` or ``two+`` margin.

    Args:
        df: Snapshot rows with ``reg_home_goals``/``reg_away_goals`` (or ``home_goals``/
            ``away_goals``).

    Returns:
        A string series indexed like ``df``.
    """
    h = "reg_home_goals" if "reg_home_goals" in df.columns else "home_goals"
    a = "reg_away_goals" if "reg_away_goals" in df.columns else "away_goals"
    margin = (df[h] - df[a]).abs().to_numpy()
    labels = np.where(margin == 0, "level", np.where(margin == 1, "one-goal", "two+"))
    return pd.Series(labels, index=df.index)


def _red_card(df: pd.DataFrame) -> np.ndarray:
    cols = [c for c in ("home_red_cards", "away_red_cards") if c in df.columns]
    if not cols:
        return np.zeros(len(df), dtype=bool)
    return (df[cols].fillna(0).sum(axis=1) > 0).to_numpy()


def split_folds(
    df: pd.DataFrame,
    split: str = "match",
    n_splits: int = 5,
    seed: int = 0,
    cutoff: str | None = None,
) -> np.ndarray:
    """Fold of each row; ``-1`` marks rows only ever used for training.

    Args:
        df: Snapshot rows with ``match_id`` (and ``competition_id`` or ``match_date``).
        split: ``"match"`` (grouped K-fold, :func:`match_folds`), ``"competition"`` (one fold
            per competition) or ``"time"`` (fold 0 = matches on or after ``cutoff``, the rest
            train only).
        n_splits: Folds of the ``"match"`` split.
        seed: Seed of the ``"match"`` split.
        cutoff: ``YYYY-MM-DD`` of the ``"time"`` split (default: the median match date).

    Returns:
        An ``int`` array, one fold per row; rows of one match always share a fold.

    Raises:
        ConfigError: Unknown split, or a column the split needs is missing.
    """
    if split == "match":
        fold_of = match_folds(df["match_id"], n_splits=n_splits, seed=seed)
        return df["match_id"].map(fold_of).to_numpy(dtype=int)
    if split == "competition":
        comps = sorted(pd.unique(df["competition_id"]))
        if len(comps) < 2:
            raise ConfigError("leave-one-competition-out needs at least two competitions")
        return df["competition_id"].map({c: i for i, c in enumerate(comps)}).to_numpy(dtype=int)
    if split == "time":
        if "match_date" not in df.columns or df["match_date"].isna().all():
            raise ConfigError(
                "the time split needs 'match_date' (see inplay.data.ratings.attach_priors)"
            )
        dates = df["match_date"].astype(str)
        if cutoff is None:
            cutoff = str(df.drop_duplicates("match_id")["match_date"].astype(str).median())
        fold = np.where(dates.to_numpy() >= cutoff, 0, -1)
        if (fold == 0).all() or (fold == -1).all():
            raise ConfigError(f"cutoff {cutoff} leaves no training or no test match")
        return fold
    raise ConfigError(f"unknown split {split!r}; valid: {', '.join(SPLITS)}")


def grouped_cv_predictions(
    df: pd.DataFrame,
    model_names: Sequence[str] = DEFAULT_MODELS,
    n_splits: int = 5,
    seed: int = 0,
    split: str = "match",
    cutoff: str | None = None,
) -> pd.DataFrame:
    """Out-of-fold predictions of each model, folds split by match (never by row).

    With ``split="match"`` each match goes to exactly one fold (:func:`match_folds`); for every
    fold, every model is fitted on the other folds' rows and predicts the fold's rows. So each
    row is predicted exactly once per model, by a model that never saw its match. Other splits
    (:func:`split_folds`) hold out whole competitions, or every match from a date on.

    Args:
        df: Snapshot rows with ``match_id``, ``clock``, ``competition_id`` and ``result``
            (plus the prior columns of :func:`inplay.data.ratings.attach_priors` if the models
            use them).
        model_names: Registry names (see :data:`inplay.models.MODELS`).
        n_splits: Number of folds of the ``"match"`` split.
        seed: Seed of the fold assignment.
        split: ``"match"``, ``"competition"`` or ``"time"``.
        cutoff: First test date of the ``"time"`` split.

    Returns:
        A long frame, one row per predicted snapshot and model: ``match_id``, ``clock``,
        ``competition_id``, ``result``, ``fold``, ``model``, ``p_home``, ``p_draw``, ``p_away``,
        ``game_state`` (:func:`game_state`), ``red_card`` (a red card shown so far).

    Raises:
        ConfigError: A required column is missing or a model name is unknown.
    """
    missing = [c for c in _REQUIRED if c not in df.columns]
    if missing:
        raise ConfigError(f"snapshot table lacks column(s) {missing}")
    for name in model_names:
        make_model(name)  # fail early on unknown names
    data = df.reset_index(drop=True)
    fold = split_folds(data, split, n_splits=n_splits, seed=seed, cutoff=cutoff)
    base = data[list(_REQUIRED)].copy()
    base["fold"] = fold
    base["game_state"] = game_state(data).to_numpy() if "reg_home_goals" in data else "level"
    base["red_card"] = _red_card(data)
    tested = fold >= 0
    folds = sorted(set(fold[tested].tolist()))

    parts: list[pd.DataFrame] = []
    for name in model_names:
        probs = np.full((len(data), 3), np.nan)
        for k in folds:
            test = fold == k
            model = make_model(name).fit(data.loc[~test])
            probs[test] = model.predict_proba(data.loc[test])
        part = base.copy()
        part["model"] = name
        part[list(PROB_COLUMNS)] = probs
        parts.append(part[tested])
    out = pd.concat(parts, ignore_index=True)
    return out[
        [
            "match_id",
            "clock",
            "competition_id",
            "result",
            "fold",
            "model",
            *PROB_COLUMNS,
            "game_state",
            "red_card",
        ]
    ]


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
    for metric in _LOWER_IS_BETTER:
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


def ece(y: Any, p: Any, n_bins: int = 10) -> float:
    """Expected calibration error, class-wise, with equal-width bins.

    For each class k, the rows are binned by ``p_k`` into ``n_bins`` bins of [0, 1]; the class
    error is the row-weighted mean over bins of ``|mean p_k - share of rows whose result is k|``.
    The ECE is the mean of the three class errors (0 = perfectly calibrated).

    Args:
        y: Results as codes 0/1/2 or letters H/D/A.
        p: ``(n, 3)`` probabilities in H, D, A order.
        n_bins: Number of bins.

    Returns:
        The ECE in [0, 1].
    """
    return float(np.mean(list(class_ece(y, p, n_bins).values())))


def class_ece(y: Any, p: Any, n_bins: int = 10) -> dict[str, float]:
    """Calibration error of each class (see :func:`ece`), keyed ``H``, ``D``, ``A``."""
    table = reliability_table(y, p, n_bins)
    errors = {}
    for label, part in table.groupby("outcome", sort=False):
        w = part["n_rows"] / part["n_rows"].sum()
        errors[str(label)] = float((w * (part["mean_p"] - part["observed"]).abs()).sum())
    return errors


def reliability_table(y: Any, p: Any, n_bins: int = 10) -> pd.DataFrame:
    """Reliability diagram data: forecast against observed frequency, per class and bin.

    Args:
        y: Results as codes 0/1/2 or letters H/D/A.
        p: ``(n, 3)`` probabilities in H, D, A order.
        n_bins: Number of equal-width bins of [0, 1].

    Returns:
        One row per class and non-empty bin: ``outcome`` (H/D/A), ``bin`` (0..n_bins-1),
        ``mean_p``, ``observed``, ``n_rows``.
    """
    codes, probs = _check(y, p)
    rows = []
    for k, label in enumerate(CLASSES):
        pk = probs[:, k]
        idx = np.minimum((pk * n_bins).astype(int), n_bins - 1)
        hit = (codes == k).astype(float)
        n = np.bincount(idx, minlength=n_bins)
        sum_p = np.bincount(idx, weights=pk, minlength=n_bins)
        sum_o = np.bincount(idx, weights=hit, minlength=n_bins)
        for b in np.flatnonzero(n):
            rows.append(
                {
                    "outcome": label,
                    "bin": int(b),
                    "mean_p": sum_p[b] / n[b],
                    "observed": sum_o[b] / n[b],
                    "n_rows": int(n[b]),
                }
            )
    return pd.DataFrame(rows)


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


def reliability_figure(oof: pd.DataFrame, models: Sequence[str] | None = None, n_bins: int = 10):
    """Plotly reliability diagrams: one panel per outcome, one line per model.

    Args:
        oof: Output of :func:`grouped_cv_predictions`.
        models: Models to draw (default: all in ``oof``).
        n_bins: Number of equal-width bins.

    Returns:
        A ``plotly.graph_objects.Figure``; marker size follows the rows in each bin, and the
        legend names each model with its ECE.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from inplay.reporting.plots import add_credit

    names = list(models) if models is not None else list(pd.unique(oof["model"]))
    fig = make_subplots(rows=1, cols=3, subplot_titles=["home win", "draw", "away win"])
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]
    for i, name in enumerate(names):
        sub = oof[oof["model"] == name]
        y, p = sub["result"].to_numpy(), sub[list(PROB_COLUMNS)].to_numpy()
        table = reliability_table(y, p, n_bins)
        err = ece(y, p, n_bins)
        for k, label in enumerate(CLASSES):
            part = table[table["outcome"] == label]
            fig.add_trace(
                go.Scatter(
                    x=part["mean_p"],
                    y=part["observed"],
                    mode="lines+markers",
                    name=f"{name} (ECE {err:.3f})",
                    legendgroup=name,
                    showlegend=k == 0,
                    line={"color": palette[i % len(palette)]},
                    marker={"size": 4 + 10 * np.sqrt(part["n_rows"] / part["n_rows"].max())},
                    hovertemplate="forecast %{x:.3f}<br>observed %{y:.3f}<extra>"
                    + name
                    + "</extra>",
                ),
                row=1,
                col=k + 1,
            )
    for k in range(3):
        fig.add_trace(
            go.Scatter(
                x=[0, 1],
                y=[0, 1],
                mode="lines",
                line={"dash": "dot", "color": "#999"},
                showlegend=False,
                hoverinfo="skip",
            ),
            row=1,
            col=k + 1,
        )
        fig.update_xaxes(title_text="forecast probability", range=[0, 1], row=1, col=k + 1)
    fig.update_yaxes(title_text="observed frequency", range=[0, 1], row=1, col=1)
    fig.update_layout(
        title="Reliability (out-of-fold, grouped by match)",
        height=380,
        margin={"b": 80},
    )
    return add_credit(fig, y=-0.28)


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
    if metric not in _ROW_METRICS:
        raise ConfigError(f"unknown metric {metric!r}; valid: {', '.join(METRICS)}")
    models = list(pd.unique(oof["model"]))
    if baseline not in models:
        return pd.DataFrame(
            columns=["model", "baseline", "metric", "mean_diff", "se", "z", "n_matches"]
        )

    def per_row(name: str) -> pd.DataFrame:
        sub = oof[oof["model"] == name]
        codes = encode_result(sub["result"].to_numpy())
        return pd.DataFrame(
            {
                "match_id": sub["match_id"].to_numpy(),
                "v": _ROW_METRICS[metric](codes, sub[list(PROB_COLUMNS)].to_numpy()),
            }
        )

    ref = per_row(baseline)
    rows = []
    for name in models:
        if name == baseline:
            continue
        cur = per_row(name)
        diff = pd.DataFrame({"match_id": ref["match_id"], "d": cur["v"] - ref["v"]})
        per_match = diff.groupby("match_id")["d"].agg(["sum", "count"])
        n = len(per_match)
        mean = float(per_match["sum"].sum() / per_match["count"].sum())
        # Ratio-estimator standard error over matches (matches have similar row counts).
        resid = per_match["sum"] - mean * per_match["count"]
        se = float(np.sqrt((resid**2).sum() / max(n - 1, 1) / n) / per_match["count"].mean())
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


# --------------------------------------------------------------------------------------------
# One call
# --------------------------------------------------------------------------------------------


@dataclass
class EvaluationResult:
    """Everything :func:`evaluate` measured.

    Attributes:
        oof: Out-of-fold predictions (:func:`grouped_cv_predictions`).
        overall: Overall metrics per model (:func:`metrics_table`) with the ``ece`` column.
        by_bin: Metrics per model and 15-minute bin (:func:`metrics_by_bin`).
        comparison: Log-loss difference from the baseline with match-level standard errors
            (:func:`paired_comparison`).
        settings: ``n_splits``, ``seed``, split, models, matches, rows and competitions.
        by_state: Metrics per model and game state (:func:`metrics_by_state`).
        by_competition: Metrics per model and competition (:func:`metrics_by_competition`).
        calibration: ECE per model (:func:`calibration_table`).
    """

    oof: pd.DataFrame
    overall: pd.DataFrame
    by_bin: pd.DataFrame
    comparison: pd.DataFrame = field(default_factory=pd.DataFrame)
    settings: dict[str, Any] = field(default_factory=dict)
    by_state: pd.DataFrame = field(default_factory=pd.DataFrame)
    by_competition: pd.DataFrame = field(default_factory=pd.DataFrame)
    calibration: pd.DataFrame = field(default_factory=pd.DataFrame)

    def metrics_for(self, model: str) -> dict[str, float]:
        """Return the overall metrics of one model as a dict (e.g. for a model card)."""
        row = self.overall[self.overall["model"] == model]
        if row.empty:
            raise ConfigError(f"model {model!r} was not evaluated")
        return {k: v for k, v in _json_safe(row.iloc[0].to_dict()).items() if k != "model"}

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict of the settings and tables (not the per-row predictions)."""
        return _json_safe(
            {
                "settings": self.settings,
                "classes": list(CLASSES),
                "overall": self.overall.to_dict(orient="records"),
                "by_bin": self.by_bin.to_dict(orient="records"),
                "by_state": self.by_state.to_dict(orient="records"),
                "by_competition": self.by_competition.to_dict(orient="records"),
                "calibration": self.calibration.to_dict(orient="records"),
                "comparison": self.comparison.to_dict(orient="records"),
            }
        )


def with_priors(df: pd.DataFrame, data_dir: Path | str | None = None) -> pd.DataFrame:
    """Join the pre-match priors (:mod:`inplay.data.ratings`) onto a snapshot table if possible.

    A table that already has ``elo_diff`` is returned as is. Otherwise the match lists of the
    StatsBomb folder (``data_dir``, default ``INPLAY_DATA_DIR``) give teams, dates and Elo
    ratings, and the odds folder (``INPLAY_ODDS_DIR`` or ``odds/`` beside it) closing odds.
    When the folder is missing or lists none of the table's matches, the table comes back
    unchanged (the models then run without a prior).

    Args:
        df: Snapshot rows with ``match_id``.
        data_dir: StatsBomb open-data folder.

    Returns:
        The table, with the prior columns when they could be found.
    """
    from inplay import config
    from inplay.data.ratings import attach_priors, match_priors
    from inplay.data.statsbomb import StatsBombData

    if "elo_diff" in df.columns:
        return df
    try:
        data = StatsBombData(data_dir if data_dir is not None else config.statsbomb_dir())
        priors = match_priors(data)
    except (ConfigError, OSError, ValueError):
        return df
    if not set(pd.unique(df["match_id"])) & set(priors["match_id"]):
        return df
    return attach_priors(df, priors)


def odds_comparison(
    df: pd.DataFrame,
    model_names: Sequence[str],
    n_splits: int = 5,
    seed: int = 0,
) -> pd.DataFrame:
    """Grouped-CV metrics on the matches that have closing odds, with the baseline.

    Every model (and the baseline) is fitted on the usual folds of *all* matches; only the
    rows of matches with ``odds_home`` are scored.

    Args:
        df: Snapshot rows with the prior columns (:func:`with_priors`).
        model_names: Models to compare.
        n_splits: Match-grouped folds.
        seed: Seed of the folds.

    Returns:
        :func:`metrics_table` plus ``ece`` on those matches; empty when no match has odds.
    """
    if "odds_home" not in df.columns or df["odds_home"].isna().all():
        return pd.DataFrame()
    names = list(dict.fromkeys([BASELINE, *model_names]))
    oof = grouped_cv_predictions(df, names, n_splits=n_splits, seed=seed)
    sub = oof[oof["match_id"].isin(set(df.loc[df["odds_home"].notna(), "match_id"]))]
    return metrics_table(sub).merge(calibration_table(sub)[["model", "ece"]], on="model")


def _matches_with_odds(data: pd.DataFrame) -> int:
    if "odds_home" not in data.columns:
        return 0
    return int(data.loc[data["odds_home"].notna(), "match_id"].nunique())


def evaluate(
    df: pd.DataFrame | str | Path,
    model_names: Sequence[str] = DEFAULT_MODELS,
    n_splits: int = 5,
    seed: int = 0,
    bin_width: float = 15,
    split: str = "match",
    cutoff: str | None = None,
    priors: bool = True,
) -> EvaluationResult:
    """Cross-validation of several models on a snapshot table, split by match.

    Args:
        df: Snapshot rows, or a path to a parquet/CSV snapshot table.
        model_names: Registry names of the models to compare (the baseline is added when
            missing, so every model is compared with it on the same rows).
        n_splits: Number of match-grouped folds.
        seed: Seed of the fold assignment.
        bin_width: Width of the clock bins of :attr:`EvaluationResult.by_bin`.
        split: ``"match"`` (grouped K-fold), ``"competition"`` (leave one out) or ``"time"``.
        cutoff: First test date of the ``"time"`` split.
        priors: Join the pre-match priors when the table lacks them (:func:`with_priors`).

    Returns:
        The :class:`EvaluationResult`.
    """
    data = read_snapshot_table(df)
    if priors:
        data = with_priors(data)
    names = list(model_names)
    if BASELINE not in names:
        names.insert(0, BASELINE)
    oof = grouped_cv_predictions(
        data, names, n_splits=n_splits, seed=seed, split=split, cutoff=cutoff
    )
    settings = {
        "n_splits": n_splits if split == "match" else int(oof["fold"].nunique()),
        "split": split,
        "cutoff": cutoff,
        "seed": seed,
        "models": names,
        "baseline": BASELINE,
        "bin_width": bin_width,
        "n_matches": int(data["match_id"].nunique()),
        "n_test_matches": int(oof["match_id"].nunique()),
        "n_rows": len(data),
        "competitions": sorted(int(c) for c in pd.unique(data["competition_id"])),
        "priors": bool("elo_diff" in data.columns),
        "matches_with_odds": _matches_with_odds(data),
    }
    calibration = calibration_table(oof)
    overall = metrics_table(oof).merge(calibration[["model", "ece"]], on="model", how="left")
    return EvaluationResult(
        oof=oof,
        overall=overall,
        by_bin=metrics_by_bin(oof, width=bin_width),
        comparison=paired_comparison(oof),
        settings=settings,
        by_state=metrics_by_state(oof),
        by_competition=metrics_by_competition(oof),
        calibration=calibration,
    )

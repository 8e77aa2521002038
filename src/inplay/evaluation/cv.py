"""Match-grouped cross-validation: fold assignment and out-of-fold predictions.

Every snapshot of a match shares the match's label, so rows of one match are strongly
dependent. Cross-validation therefore splits **by match**: all rows of a match are in the same
fold, and every model is fitted on the same folds so their scores can be compared row by row.
Splits (:func:`split_folds`): grouped K-fold by match (the default), leave one competition out,
or one forward split in time (train on matches before a date, test on the rest). The fold
assignment is the one of :mod:`inplay.models.folds`, which the models' inner folds share.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from inplay.config import ConfigError
from inplay.models import DEFAULT_MODELS, PROB_COLUMNS, make_model
from inplay.models.folds import grouped_folds, match_fold_numbers

__all__ = [
    "SPLITS",
    "match_folds",
    "game_state",
    "split_folds",
    "grouped_cv_predictions",
]

_REQUIRED = ("match_id", "clock", "competition_id", "result")
_OOF_COLUMNS = (
    *_REQUIRED,
    "fold",
    "model",
    *PROB_COLUMNS,
    "game_state",
    "red_card",
    "goals",
)

SPLITS: tuple[str, ...] = ("match", "competition", "time")
"""How :func:`grouped_cv_predictions` splits: grouped K-fold by match, leave one competition
out, or one forward split in time (train before a date, test from it on)."""


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
    unique, folds = match_fold_numbers(match_ids, n_splits, seed)
    return {
        m.item() if isinstance(m, np.generic) else m: int(f)
        for m, f in zip(unique, folds, strict=True)
    }


def game_state(df: pd.DataFrame) -> pd.Series:
    """Label each snapshot with its game state: ``level``, ``one-goal`` or ``two+`` margin.

    Args:
        df: Snapshot rows with ``reg_home_goals``/``reg_away_goals`` (or ``home_goals``/
            ``away_goals``).

    Returns:
        A string series indexed like ``df``.
    """
    h, a = _goal_columns(df) or ("home_goals", "away_goals")
    margin = (df[h] - df[a]).abs().to_numpy()
    labels = np.where(margin == 0, "level", np.where(margin == 1, "one-goal", "two+"))
    return pd.Series(labels, index=df.index)


def _red_card(df: pd.DataFrame) -> np.ndarray:
    cols = [c for c in ("home_red_cards", "away_red_cards") if c in df.columns]
    if not cols:
        return np.zeros(len(df), dtype=bool)
    return (df[cols].fillna(0).sum(axis=1) > 0).to_numpy()


def _goal_columns(df: pd.DataFrame) -> tuple[str, str] | None:
    """The home and away goal columns: regulation goals if present, else goals, else None."""
    for h, a in (("reg_home_goals", "reg_away_goals"), ("home_goals", "away_goals")):
        if h in df.columns and a in df.columns:
            return h, a
    return None


def _goals(df: pd.DataFrame) -> np.ndarray:
    """Regulation goals scored so far in each row (both sides; 0 without goal columns)."""
    columns = _goal_columns(df)
    if columns is None:
        return np.zeros(len(df), dtype=int)
    return (df[columns[0]].fillna(0) + df[columns[1]].fillna(0)).to_numpy(dtype=int)


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
        return grouped_folds(df["match_id"], n_splits, seed)
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
            match_dates = np.sort(df.drop_duplicates("match_id")["match_date"].astype(str))
            cutoff = str(match_dates[len(match_dates) // 2])  # the median date (a string)
        fold = np.where(dates.to_numpy() >= cutoff, 0, -1)
        if (fold == 0).all() or (fold == -1).all():
            raise ConfigError(f"cutoff {cutoff} leaves no training or no test match")
        return fold
    raise ConfigError(f"unknown split {split!r}; valid: {', '.join(SPLITS)}")


def _oof_frame(data: pd.DataFrame, fold: np.ndarray) -> pd.DataFrame:
    """The label columns of the out-of-fold frame, before the model and probabilities."""
    base = data[list(_REQUIRED)].copy()
    base["fold"] = fold
    base["game_state"] = game_state(data).to_numpy() if "reg_home_goals" in data else "level"
    base["red_card"] = _red_card(data)
    base["goals"] = _goals(data)
    return base


def _oof_probabilities(data: pd.DataFrame, name: str, fold: np.ndarray) -> np.ndarray:
    """Probabilities of model ``name`` for every tested row, fitted without the row's fold."""
    probs = np.full((len(data), 3), np.nan)
    for k in sorted(set(fold[fold >= 0].tolist())):
        test = fold == k
        model = make_model(name).fit(data.loc[~test])
        probs[test] = model.predict_proba(data.loc[test])
    return probs


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
        ``game_state`` (:func:`game_state`), ``red_card`` (a red card shown so far), ``goals``
        (regulation goals so far, both sides).

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
    base = _oof_frame(data, fold)
    parts: list[pd.DataFrame] = []
    for name in model_names:
        part = base.copy()
        part["model"] = name
        part[list(PROB_COLUMNS)] = _oof_probabilities(data, name, fold)
        parts.append(part[fold >= 0])
    return pd.concat(parts, ignore_index=True)[list(_OOF_COLUMNS)]

"""Match-grouped fold assignment, shared by the models' inner cross-validation and evaluation.

Rows of one match share its result, so every split keeps all rows of a match in one fold. The
matches (sorted) are shuffled with one seeded permutation, and the fold of a match is its
position modulo the number of folds, which keeps the folds balanced.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from inplay.config import ConfigError

__all__ = ["match_fold_numbers", "grouped_folds"]


def match_fold_numbers(
    match_ids: Iterable[Any], n_splits: int, seed: int = 0, *, deal: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Assign each distinct match to one of ``n_splits`` balanced folds at random.

    A seeded permutation of the sorted matches is drawn. With ``deal`` (evaluation's
    cross-validation), it is the shuffled order in which matches are dealt to the folds
    round-robin; without it (the models' inner folds, e.g. for out-of-fold calibration), it is
    each match's random rank, taken modulo ``n_splits``. Both are kept as they are so that
    fold assignments, and hence fitted models and scores, stay reproducible.

    Args:
        match_ids: Match ids (duplicates are fine).
        n_splits: Number of folds, at least 2.
        seed: Seed of the permutation.
        deal: Deal the shuffled matches round-robin (``True``) or use the permutation as ranks.

    Returns:
        The sorted distinct match ids and the fold (``0 .. n_splits - 1``) of each.

    Raises:
        ConfigError: ``n_splits`` is below 2 or above the number of matches.
    """
    unique = np.unique(np.asarray(list(match_ids)))
    if n_splits < 2:
        raise ConfigError(f"n_splits={n_splits} must be at least 2")
    if n_splits > unique.size:
        raise ConfigError(f"n_splits={n_splits} is more than the {unique.size} matches")
    perm = np.random.default_rng(seed).permutation(unique.size)
    rank = np.argsort(perm) if deal else perm  # argsort of a permutation is its inverse
    return unique, (rank % n_splits).astype(int)


def grouped_folds(
    match_ids: Iterable[Any], n_splits: int, seed: int = 0, *, deal: bool = True
) -> np.ndarray:
    """Fold number of each row, all rows of a match in one fold (:func:`match_fold_numbers`).

    Args:
        match_ids: The match id of each row.
        n_splits: Number of folds, at least 2.
        seed: Seed of the permutation.
        deal: As in :func:`match_fold_numbers`.

    Returns:
        An ``int`` array, one fold per row.
    """
    ids = np.asarray(list(match_ids))
    unique, folds = match_fold_numbers(ids, n_splits, seed, deal=deal)
    return folds[np.searchsorted(unique, ids)]

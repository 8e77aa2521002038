"""The one match-grouped fold assignment shared by the models and the evaluation."""

import numpy as np
import pandas as pd
import pytest

from inplay.config import ConfigError
from inplay.evaluation.cv import match_folds, split_folds
from inplay.models import grouped_folds, match_fold_numbers

IDS = np.repeat(np.array([17, 3, 99, 42, 8, 61, 25, 70, 5, 33, 12]), 4)


def ranked(ids: np.ndarray, k: int, seed: int) -> np.ndarray:
    """The models' inner folds as first written: each match's random rank modulo k."""
    unique = np.unique(ids)
    perm = np.random.default_rng(seed).permutation(len(unique))
    fold_of = dict(zip(unique, perm % k, strict=True))
    return np.array([fold_of[m] for m in ids])


def dealt(ids: np.ndarray, k: int, seed: int) -> dict:
    """Evaluation's folds as first written: shuffled matches dealt round-robin."""
    unique = np.unique(ids)
    order = np.random.default_rng(seed).permutation(len(unique))
    folds = np.empty(len(unique), dtype=int)
    folds[order] = np.arange(len(unique)) % k
    return {int(m): int(f) for m, f in zip(unique, folds, strict=True)}


@pytest.mark.parametrize(("k", "seed"), [(2, 0), (3, 0), (4, 1), (5, 7)])
def test_both_assignments_are_unchanged(k: int, seed: int) -> None:
    assert np.array_equal(grouped_folds(IDS, k, seed, deal=False), ranked(IDS, k, seed))
    assert match_folds(IDS, k, seed) == dealt(IDS, k, seed)
    rows = split_folds(pd.DataFrame({"match_id": IDS}), "match", n_splits=k, seed=seed)
    assert np.array_equal(rows, [dealt(IDS, k, seed)[m] for m in IDS])


def test_folds_are_balanced_and_keep_matches_whole() -> None:
    unique, folds = match_fold_numbers(IDS, 3)
    assert list(unique) == sorted(set(IDS))
    assert sorted(np.bincount(folds).tolist()) == [3, 4, 4]
    rows = grouped_folds(IDS, 3)
    for m in unique:
        assert len(set(rows[IDS == m])) == 1


def test_fold_count_is_checked() -> None:
    with pytest.raises(ConfigError):
        match_fold_numbers(IDS, 1)
    with pytest.raises(ConfigError):
        match_fold_numbers(IDS[:8], 3)

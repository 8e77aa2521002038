"""The retrain's promotion rule: held-out matches and the paired test over matches."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from inplay.mlops.retrain import holdout_ids, match_log_loss, paired_test


def test_holdout_is_deterministic_share_sized_and_independent_of_the_other_matches():
    ids = list(range(10_000, 11_000))
    held = holdout_ids(ids, share=0.3)
    assert holdout_ids(ids, share=0.3) == held
    assert 250 <= len(held) <= 350
    subset = ids[::7]
    assert holdout_ids(subset, share=0.3) == held & set(subset)
    assert holdout_ids(ids, share=0.0) == set()
    assert holdout_ids(ids, share=1.0) == set(ids)


def test_p_value_is_the_one_sided_paired_t_test_by_hand():
    champion = pd.Series([1.0, 1.1, 0.9, 1.2], index=[1, 2, 3, 4])
    challenger = champion + np.array([-0.1, -0.2, -0.1, -0.2])
    result = paired_test(champion, challenger, alpha=0.05, min_matches=2)
    # differences: mean -0.15, sd sqrt(4 * 0.05**2 / 3), t = mean / (sd / 2) on 3 df
    sd = math.sqrt(4 * 0.05**2 / 3)
    assert result.mean_diff == pytest.approx(-0.15)
    assert result.se == pytest.approx(sd / 2)
    t = -0.15 / (sd / 2)
    # Student t with 3 df: CDF(t) = 1/2 + (1/pi) * (atan(t/sqrt3) + sqrt3 t / (3 + t^2))
    x = t / math.sqrt(3)
    p = 0.5 + (math.atan(x) + x / (1 + x * x)) / math.pi
    assert result.p_value == pytest.approx(p, rel=1e-9)
    assert result.promote and result.n_matches == 4
    assert "better" in result.reason and "4 held-out matches" in result.reason


def test_better_on_average_but_not_significant_is_rejected():
    rng = np.random.default_rng(0)
    champion = pd.Series(rng.uniform(0.8, 1.2, 30), index=range(30))
    challenger = champion + rng.normal(-0.001, 0.05, 30)  # noise swamps a tiny gain
    result = paired_test(champion, challenger, alpha=0.05)
    assert not result.promote
    assert result.p_value >= 0.05


def test_clearly_better_is_promoted_and_worse_or_equal_is_not():
    rng = np.random.default_rng(1)
    champion = pd.Series(rng.uniform(0.8, 1.2, 30), index=range(30))
    better = champion - 0.05 + rng.normal(0, 0.01, 30)
    assert paired_test(champion, better, alpha=0.05).promote
    assert not paired_test(champion, champion + 0.05, alpha=0.05).promote
    same = paired_test(champion, champion.copy(), alpha=0.05)
    assert not same.promote and same.p_value == 1.0


def test_too_few_matches_are_rejected_with_the_reason():
    champion = pd.Series([1.0, 1.0, 1.0], index=[1, 2, 3])
    result = paired_test(champion, champion - 0.5, alpha=0.05, min_matches=10)
    assert not result.promote
    assert "too few held-out matches" in result.reason and result.n_matches == 3
    assert result.figures()["p_value"] is None


def test_only_matches_both_models_scored_are_paired():
    champion = pd.Series([1.0, 1.0, 1.0], index=[1, 2, 3])
    challenger = pd.Series([0.9, 0.9], index=[2, 3])
    result = paired_test(champion, challenger, alpha=0.05, min_matches=2)
    assert result.n_matches == 2
    assert sorted(result.per_match["match_id"]) == [2, 3]


def test_match_log_loss_averages_rows_within_each_match():
    rows = pd.DataFrame({"match_id": [7, 7, 8], "result": ["H", "H", "A"]})
    probs = np.array([[0.5, 0.25, 0.25], [0.25, 0.5, 0.25], [0.2, 0.2, 0.6]])
    losses = match_log_loss(rows, probs)
    assert losses[7] == pytest.approx((-math.log(0.5) - math.log(0.25)) / 2)
    assert losses[8] == pytest.approx(-math.log(0.6))

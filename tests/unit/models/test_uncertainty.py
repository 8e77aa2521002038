"""Parameter-uncertainty bands of the goal-rate model (inplay.models.uncertainty)."""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd
import pytest
from synthetic import make_snapshots

from inplay.config import ConfigError
from inplay.models import load_model, save_model
from inplay.models.base import PROB_COLUMNS as PROBS
from inplay.models.calibration import Calibrator
from inplay.models.goal_rate import GoalRateModel
from inplay.models.uncertainty import (
    BAND_COLUMNS,
    UncalibratedGoalRate,
    binned_coverage,
    calibrator_draws,
    coverage_summary,
    probability_band,
    sample_parameters,
    simulate_matches,
    simulation_coverage,
    simulation_states,
    true_probabilities,
    width_by_minute,
)
from inplay.reporting.bands import add_probability_band, band_edges
from inplay.reporting.plots import CREDIT, win_probability_figure


@pytest.fixture(scope="module")
def snaps() -> pd.DataFrame:
    return make_snapshots(n_matches=24, seed=3)


@pytest.fixture(scope="module")
def calibrated(snaps) -> GoalRateModel:
    """The shipped model (calibrator on: 24 matches are enough for its 4 inner folds)."""
    model = GoalRateModel().fit(snaps)
    assert model.calibrator_ is not None
    return model


def _mean_width(band: pd.DataFrame) -> float:
    cols = ["p_home", "p_draw", "p_away"]
    return float(np.mean([(band[f"{c}_hi"] - band[f"{c}_lo"]).mean() for c in cols]))


def test_fit_keeps_a_symmetric_covariance_with_zeros_for_dropped_columns(calibrated):
    cov = calibrated.cov_
    p = len(calibrated.params_)
    assert cov.shape == (p, p)
    np.testing.assert_allclose(cov, cov.T)
    # no odds in the rows: the odds columns never vary, are dropped, and get no variance
    features = ["const", *calibrated.features]
    for name in ("odds_prior", "odds_prior_t"):
        j = features.index(name)
        assert calibrated.params_[j] == 0.0
        assert not cov[j].any()
    assert np.all(np.diag(cov)[np.diag(cov) != 0] > 0)


def test_a_single_match_still_fits_with_the_plain_covariance():
    # one match is one cluster: a clustered covariance is undefined, the plain one is kept
    model = UncalibratedGoalRate().fit(simulate_matches(1, seed=0, every=5))
    assert np.isfinite(model.cov_).all() and model.cov_[0, 0] > 0


def test_band_contains_the_point_prediction(calibrated, snaps):
    rows = snaps[snaps["match_id"] < 1010]
    band = probability_band(calibrated, rows, draws=100)
    assert list(band.index) == list(rows.index)
    for col in ("p_home", "p_draw", "p_away"):
        assert (band[f"{col}_lo"] <= band[col] + 1e-12).all()
        assert (band[col] <= band[f"{col}_hi"] + 1e-12).all()
    np.testing.assert_allclose(band[["p_home", "p_draw", "p_away"]], calibrated.predict_proba(rows))
    assert _mean_width(band) > 0


def test_band_is_reproducible_and_narrows_with_level(calibrated, snaps):
    rows = snaps[snaps["match_id"] == 1000]
    a = probability_band(calibrated, rows, draws=50, seed=7)
    b = probability_band(calibrated, rows, draws=50, seed=7)
    pd.testing.assert_frame_equal(a, b)
    narrow = probability_band(calibrated, rows, level=0.5, draws=50, seed=7)
    assert _mean_width(narrow) < _mean_width(a)


def test_zero_covariance_gives_a_zero_width_band(calibrated, snaps):
    rows = snaps[snaps["match_id"] == 1001]
    fixed = GoalRateModel()
    fixed.__dict__.update(calibrated.__dict__)
    fixed.cov_ = np.zeros_like(calibrated.cov_)
    band = probability_band(fixed, rows, draws=20, calibrator_uncertainty=False)
    for col in ("p_home", "p_draw", "p_away"):
        np.testing.assert_allclose(band[f"{col}_lo"], band[col], atol=1e-12)
        np.testing.assert_allclose(band[f"{col}_hi"], band[col], atol=1e-12)
    # The calibrator's own uncertainty alone gives a band around the same point.
    only_calibrator = probability_band(fixed, rows, draws=50)
    assert _mean_width(only_calibrator) > 0
    pd.testing.assert_frame_equal(only_calibrator[list(PROBS)], band[list(PROBS)])


def test_calibrator_keeps_a_covariance_clustered_by_match(calibrated, snaps):
    calibrator = calibrated.calibrator_
    k = calibrator.params_.size
    assert calibrator.cov_.shape == (k, k)
    np.testing.assert_allclose(calibrator.cov_, calibrator.cov_.T)
    assert (np.diag(calibrator.cov_) > 0).all()
    # its draws are centred on the fitted parameters, in the covariance's order
    draws = calibrator_draws(calibrated, 2000, seed=3)
    mean = np.mean([c.params_ for c in draws], axis=0)
    sd = np.sqrt(np.diag(calibrator.cov_)).reshape(calibrator.params_.shape, order="F")
    assert (np.abs(mean - calibrator.params_) < 4 * sd / np.sqrt(2000)).all()
    # the same rows without match groups: no covariance, and the band holds it fixed
    rng = np.random.default_rng(5)
    p = rng.dirichlet([2.0, 2.0, 2.0], 90)
    plain = Calibrator().fit(p, np.linspace(0, 1, 90), np.arange(90) % 3)
    assert plain.cov_ is None
    fixed = copy.copy(calibrated)
    fixed.calibrator_ = plain
    assert calibrator_draws(fixed, 10) is None


def test_the_calibrators_uncertainty_widens_the_band(calibrated, snaps):
    rows = snaps[snaps["match_id"] == 1003]
    both = probability_band(calibrated, rows, draws=100)
    glm_only = probability_band(calibrated, rows, draws=100, calibrator_uncertainty=False)
    assert _mean_width(both) > _mean_width(glm_only)


def test_sample_parameters_leaves_zero_variance_coordinates_at_the_mean():
    mean = np.array([1.0, 2.0, 3.0])
    cov = np.diag([4.0, 0.0, 1.0])
    draws = sample_parameters(mean, cov, 4000, seed=1)
    assert (draws[:, 1] == 2.0).all()
    # sd 2 and 1: the sample sd of 4000 normals is within 5 % of it (its own sd is ~1.1 %)
    np.testing.assert_allclose(draws[:, [0, 2]].std(axis=0), [2.0, 1.0], rtol=0.05)


def test_band_narrows_with_more_training_matches():
    states = simulation_states()
    small = UncalibratedGoalRate().fit(simulate_matches(60, seed=11, every=5))
    large = UncalibratedGoalRate().fit(simulate_matches(240, seed=12, every=5))
    w_small = _mean_width(probability_band(small, states, draws=100))
    w_large = _mean_width(probability_band(large, states, draws=100))
    # standard errors shrink like 1/sqrt(matches): 4x the matches, about half the width;
    # 0.75 leaves room for the noise of two fits
    assert w_large < 0.75 * w_small


def test_saved_model_keeps_its_covariance(tmp_path, calibrated):
    save_model(calibrated, tmp_path, data_info={"matches": 24})
    loaded = load_model(tmp_path / calibrated.name)
    np.testing.assert_array_equal(loaded.cov_, calibrated.cov_)


def test_model_saved_without_covariance_still_loads_and_predicts(tmp_path, calibrated, snaps):
    old = GoalRateModel()
    old.__dict__.update({k: v for k, v in calibrated.__dict__.items() if k != "cov_"})
    del old.cov_  # as pickled before cov_ existed: __init__ is not run on unpickling
    save_model(old, tmp_path, data_info={"matches": 24})
    loaded = load_model(tmp_path / old.name)
    assert not hasattr(loaded, "cov_")
    rows = snaps[snaps["match_id"] == 1002]
    np.testing.assert_allclose(loaded.predict_proba(rows), calibrated.predict_proba(rows))
    with pytest.raises(ConfigError, match="refit"):
        probability_band(loaded, rows)


def test_true_probabilities_by_hand():
    # clock 80: 90 - 80 + 4 = 14 minutes left; level Elo: home scores 1.5/96 and away 1.15/96
    # goals a minute, so mu_h = 14 * 1.5 / 96 = 0.21875 and mu_a = 14 * 1.15 / 96.
    mu_h, mu_a = 14 * 1.5 / 96, 14 * 1.15 / 96
    rows = pd.DataFrame(
        {"clock": [80.0, 80.0], "home_goals": [0, 1], "away_goals": [0, 0], "elo_diff": 0.0}
    )
    p = true_probabilities(rows)
    # 0-0: a draw if both score the same: e^-(mu_h + mu_a) * sum (mu_h mu_a)^k / k!^2
    draw = math.exp(-(mu_h + mu_a)) * sum(
        (mu_h * mu_a) ** k / math.factorial(k) ** 2 for k in range(8)
    )
    # 1-0: the away side wins only by outscoring by 2+; it draws by scoring exactly one more:
    # e^-(mu_h + mu_a) * sum mu_h^k mu_a^(k+1) / (k! (k+1)!)
    draw_10 = math.exp(-(mu_h + mu_a)) * sum(
        mu_h**k * mu_a ** (k + 1) / (math.factorial(k) * math.factorial(k + 1)) for k in range(8)
    )
    assert p[0, 1] == pytest.approx(draw, abs=1e-12)
    assert p[1, 1] == pytest.approx(draw_10, abs=1e-12)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)


def test_simulated_matches_are_consistent():
    sim = simulate_matches(30, seed=2, every=1)
    assert len(sim) == 30 * 91
    for _, match in sim.groupby("match_id"):
        assert (match["home_goals"].diff().dropna() >= 0).all()
        last = match.iloc[-1]
        sign = np.sign(last["home_goals"] - last["away_goals"])
        assert match["result"].iloc[0] == {1: "H", 0: "D", -1: "A"}[sign]


def test_simulation_coverage_is_near_the_level():
    frame = simulation_coverage(n_matches=100, replications=8, draws=60, every=5, seed=0)
    assert len(frame) == 8 * 27 * 3
    coverage = frame["covered"].mean()
    # 80 % bands. The 81 state-outcomes of one replication share one fit, so the coverage of 8
    # replications varies like ~8 draws: per-replication sd about 0.25 (measured 0.2-0.3), so a
    # standard error near 0.09; 0.55..0.95 is about 2.5 of them. The plain GLM covariance that
    # ignores the within-match dependence covers ~0.13 and fails this test.
    assert 0.55 <= coverage <= 0.95
    summary = coverage_summary(frame)
    assert list(summary["outcome"]) == ["A", "D", "H"]
    assert (summary["mean_width"] > 0).all()


def _hand_frame() -> pd.DataFrame:
    """Four rows: two at p_home 0.15 (a home win and an away win), two at 0.55 (two home wins)."""
    return pd.DataFrame(
        {
            "match_id": [1, 2, 3, 4],
            "clock": [0.0, 45.0, 45.0, 80.0],
            "result": ["H", "A", "H", "H"],
            "p_home": [0.15, 0.15, 0.55, 0.55],
            "p_home_lo": [0.10, 0.12, 0.50, 0.52],
            "p_home_hi": [0.20, 0.22, 0.60, 0.62],
            "p_draw": [0.35, 0.35, 0.25, 0.25],
            "p_draw_lo": [0.30, 0.30, 0.20, 0.20],
            "p_draw_hi": [0.40, 0.40, 0.30, 0.30],
            "p_away": [0.50, 0.50, 0.20, 0.20],
            "p_away_lo": [0.45, 0.45, 0.15, 0.15],
            "p_away_hi": [0.55, 0.55, 0.25, 0.25],
        }
    )


def test_binned_coverage_by_hand():
    table = binned_coverage(_hand_frame(), bins=10).set_index(["outcome", "bin"])
    low, high = table.loc[("H", 1)], table.loc[("H", 5)]
    # bin [0.1, 0.2): one home win in two, mean interval 0.11..0.21: 0.5 is outside
    assert (low["rows"], low["observed"], low["inside"]) == (2, 0.5, False)
    assert low["lo_mean"] == pytest.approx(0.11) and low["hi_mean"] == pytest.approx(0.21)
    # one row per match: the clustered se is the binomial one, sqrt(0.5 * 0.5 / 2)
    assert low["observed_se"] == pytest.approx(math.sqrt(0.25 / 2))
    assert low["gap_se"] == pytest.approx((0.5 - 0.21) / math.sqrt(0.25 / 2))
    # bin [0.5, 0.6): two home wins in two (observed 1) against 0.51..0.61: outside
    assert (high["rows"], high["observed"], high["inside"]) == (2, 1.0, False)
    # draws: never happened, predicted 0.25-0.35 -> observed 0 outside; away [0.5, 0.6) 1/2
    # inside 0.45..0.55
    assert table.loc[("A", 5), "observed"] == 0.5 and bool(table.loc[("A", 5), "inside"])


def test_binned_coverage_clusters_the_standard_error_by_match():
    # one bin, two matches of two rows each: a home win (match 1) and an away win (match 2).
    # observed 0.5; residuals +0.5, +0.5 (match 1), -0.5, -0.5 (match 2); match sums +1, -1:
    # se = sqrt(1 + 1) / 4 = 0.3536 (the binomial one, taking 4 independent rows, is 0.25).
    # The interval 0.10..0.20 misses 0.5 by 0.30, i.e. 0.30 / 0.3536 = 0.849 standard errors.
    frame = pd.concat([_hand_frame().iloc[[0]]] * 4, ignore_index=True)
    frame["match_id"] = [1, 1, 2, 2]
    frame["result"] = ["H", "H", "A", "A"]
    frame["p_home_lo"], frame["p_home_hi"] = 0.10, 0.20
    row = binned_coverage(frame).set_index(["outcome", "bin"]).loc[("H", 1)]
    assert row["observed_se"] == pytest.approx(math.sqrt(2) / 4)
    assert row["gap_se"] == pytest.approx(0.30 / (math.sqrt(2) / 4))
    assert row["matches"] == 2 and not row["inside"]


def test_width_by_minute_by_hand():
    out = width_by_minute(_hand_frame(), minutes=(0, 45)).set_index("clock")
    assert list(out.index) == [0.0, 45.0]
    assert out.loc[0.0, "rows"] == 1 and out.loc[45.0, "rows"] == 2
    assert out.loc[0.0, "width_home"] == pytest.approx(0.10)
    assert out.loc[45.0, "width_home"] == pytest.approx(0.10)  # (0.10 + 0.10) / 2
    assert out.loc[45.0, "width_away"] == pytest.approx(0.10)


def test_band_on_the_win_probability_figure_keeps_the_credit(calibrated, snaps):
    rows = snaps[snaps["match_id"] == 1003].assign(home_team="Home", away_team="Away")
    results = rows.join(calibrated.predict_frame(rows))
    fig = win_probability_figure(results, 1003)
    n = len(fig.data)
    band = rows.join(probability_band(calibrated, rows, draws=30)[list(BAND_COLUMNS)])
    add_probability_band(fig, band, 1003)
    assert len(fig.data) == n + 4
    assert [t.fill for t in fig.data[n:]] == [None, "tonexty", None, "tonexty"]
    edges = band_edges(band.sort_values("event_index"))
    np.testing.assert_allclose(fig.data[n + 1].y, edges["home"][1])
    np.testing.assert_allclose(
        fig.data[n + 2].y, 1.0 - band.sort_values("event_index")["p_away_hi"]
    )
    assert sum(a.text == CREDIT for a in fig.layout.annotations) == 1

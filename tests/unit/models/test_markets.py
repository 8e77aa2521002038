"""Goal markets from a final-score grid (inplay.models.markets), hand-checked."""

import math

import numpy as np
import pandas as pd
import pytest
from synthetic import make_snapshots

from inplay.config import ConfigError
from inplay.evaluation.backtest import market_model
from inplay.models import GoalRateModel, make_model
from inplay.models.markets import (
    MARKET_COLUMNS,
    ScoreClockBaseline,
    btts_probability,
    expected_goals,
    market_columns,
    market_frame,
    next_goal_probabilities,
    over_probabilities,
    score_grid,
    top_scores,
)


def _grid(hg: int, ag: int, lh: float, la: float, max_goals: int = 10) -> np.ndarray:
    return score_grid([hg], [ag], [lh], [la], max_goals)


def test_over_lines_at_nil_nil_match_the_poisson_total_by_hand():
    # At 0-0 the final total is Poisson(lh + la) = Poisson(1.5):
    # P(total <= 1) = e^-1.5 (1 + 1.5); P(total <= 2) adds e^-1.5 1.5^2 / 2 = 1.125 e^-1.5;
    # P(total <= 3) adds e^-1.5 1.5^3 / 6 = 0.5625 e^-1.5.
    over = over_probabilities(_grid(0, 0, 1.0, 0.5))[0]
    e = math.exp(-1.5)
    assert over[0] == pytest.approx(1 - 2.5 * e, abs=1e-9)
    assert over[1] == pytest.approx(1 - 3.625 * e, abs=1e-9)
    assert over[2] == pytest.approx(1 - 4.1875 * e, abs=1e-9)


def test_over_lines_count_the_goals_already_scored():
    # 1-1 after the final whistle of regulation (no goal to come): total 2, over 1.5 only.
    assert over_probabilities(_grid(1, 1, 0.0, 0.0))[0].tolist() == [1.0, 0.0, 0.0]
    # 2-0 with one side to score: over 2.5 = P(at least one more) = 1 - e^-(0.3 + 0.2).
    over = over_probabilities(_grid(2, 0, 0.3, 0.2))[0]
    assert over[0] == pytest.approx(1.0)
    assert over[1] == pytest.approx(1 - math.exp(-0.5), abs=1e-9)


def test_over_lines_are_ordered_on_any_state():
    rng = np.random.default_rng(3)
    n = 200
    grid = score_grid(
        rng.integers(0, 5, n), rng.integers(0, 5, n), rng.uniform(0, 4, n), rng.uniform(0, 4, n)
    )
    over = over_probabilities(grid)
    assert (over[:, 0] >= over[:, 1] - 1e-12).all() and (over[:, 1] >= over[:, 2] - 1e-12).all()
    assert np.allclose(grid.sum(axis=(1, 2)), 1.0)


def test_btts_by_hand():
    # Both have scored: decided whatever is to come.
    assert btts_probability(_grid(1, 2, 0.7, 0.4))[0] == pytest.approx(1.0)
    # 0-0: both must score: (1 - e^-lh)(1 - e^-la).
    expected = (1 - math.exp(-0.8)) * (1 - math.exp(-0.6))
    assert btts_probability(_grid(0, 0, 0.8, 0.6))[0] == pytest.approx(expected, abs=1e-9)
    # 1-0: only the away side has to score.
    assert btts_probability(_grid(1, 0, 0.8, 0.6))[0] == pytest.approx(1 - math.exp(-0.6))


def test_next_goal_by_hand_and_sums_to_one():
    p = next_goal_probabilities([1.0, 0.0, 0.0], [0.5, 0.3, 0.0])
    e = math.exp(-1.5)
    # P(none) = e^-1.5, P(home) = 1 / 1.5 of the rest.
    assert p[0].tolist() == pytest.approx([2 / 3 * (1 - e), e, 1 / 3 * (1 - e)])
    # Only the away side can score.
    assert p[1].tolist() == pytest.approx([0.0, math.exp(-0.3), 1 - math.exp(-0.3)])
    # Nothing to come: no next goal.
    assert p[2].tolist() == [0.0, 1.0, 0.0]
    assert np.allclose(p.sum(axis=1), 1.0)


def test_expected_goals_add_the_rates_to_the_score():
    # The tail past 10 goals is below 1e-6 for these rates.
    assert expected_goals(_grid(2, 1, 0.9, 0.4))[0] == pytest.approx([2.9, 1.4], abs=1e-6)


def test_top_scores_by_hand():
    # 0-0 with lh = 0.5, la = 0.2: each score h-a has e^-0.7 0.5^h 0.2^a / (h! a!), so
    # 0-0 (1), 1-0 (0.5), 0-1 (0.2), 2-0 (0.125), 1-1 (0.1) times e^-0.7.
    top = top_scores(_grid(0, 0, 0.5, 0.2), k=5)
    scores = list(zip(top["home_goals"], top["away_goals"], strict=True))
    assert scores == [(0, 0), (1, 0), (0, 1), (2, 0), (1, 1)]
    factors = np.array([1.0, 0.5, 0.2, 0.125, 0.1])
    assert top["p"].to_numpy() == pytest.approx(factors * math.exp(-0.7))
    assert top["rank"].tolist() == [1, 2, 3, 4, 5] and (top["row"] == 0).all()


def test_market_frame_columns_and_decided_row():
    frame = market_frame(_grid(2, 1, 0.0, 0.0), [0.0], [0.0], index=["r"])
    assert list(frame.columns) == list(MARKET_COLUMNS)
    # 2-1 with nothing to come: over 1.5 and 2.5 yes, over 3.5 no, both scored, no next goal.
    assert frame.loc["r"].tolist() == [1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 2.0, 1.0]


def _rows(clock, period, hg, ag, match_id=1) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "match_id": match_id,
            "clock": clock,
            "period": period,
            "reg_home_goals": hg,
            "reg_away_goals": ag,
        }
    )


def test_baseline_rates_by_hand():
    # Match 1 ends 2-1, match 2 0-0; rows at clock 0 and 90 of each. Remaining minutes
    # (stoppage included): 90 + 4 + 2 = 96 at clock 0, 4 at clock 90: 200 in all. Goals
    # still to come over the rows: home 2 (match 1 at 0), away 1.
    train = pd.concat(
        [_rows([0.0, 90.0], [1, 2], [0, 2], [0, 1], 1), _rows([0.0, 90.0], [1, 2], 0, 0, 2)]
    )
    base = ScoreClockBaseline().fit(train)
    assert base.rate_home_ == pytest.approx(2 / 200)
    assert base.rate_away_ == pytest.approx(1 / 200)
    # At clock 45 (first half) 45 + 4 + 2 = 51 minutes remain; in extra time none.
    lh, la = base.remaining_rates(_rows([45.0, 90.0], [1, 3], [1, 1], [0, 1]))
    assert lh.tolist() == pytest.approx([0.51, 0.0]) and la.tolist() == pytest.approx([0.255, 0])
    markets = base.market_columns(_rows([45.0, 90.0], [1, 3], [1, 1], [0, 1]))
    assert markets["p_btts"].tolist() == pytest.approx([1 - math.exp(-0.255), 1.0])


def test_baseline_needs_match_ids_and_a_fit():
    with pytest.raises(ConfigError, match="match_id"):
        ScoreClockBaseline().fit(_rows([0.0], [1], [0], [0]).drop(columns="match_id"))
    with pytest.raises(ConfigError, match="not fitted"):
        ScoreClockBaseline().remaining_rates(_rows([0.0], [1], [0], [0]))


@pytest.fixture(scope="module")
def snaps() -> pd.DataFrame:
    return make_snapshots(n_matches=24, seed=5, extra_time_share=1.0)


@pytest.fixture(scope="module")
def rate_model(snaps):
    model = make_model("goal_rate")
    model.calibrate = False  # the calibrator never touches the score grid
    return model.fit(snaps)


def test_goal_rate_grid_is_the_grid_of_its_remaining_rates(rate_model, snaps):
    rows = snaps.iloc[::37]
    lh, la = rate_model.remaining_rates(rows)
    mine = score_grid(rows["reg_home_goals"], rows["reg_away_goals"], lh, la)
    assert np.allclose(rate_model.score_distribution(rows), mine, atol=1e-12)


def test_goal_rate_markets_after_regulation_are_decided(rate_model, snaps):
    extra = snaps[snaps["period"] >= 3]
    assert len(extra) > 0
    markets = market_columns(rate_model, extra)
    total = extra["reg_home_goals"] + extra["reg_away_goals"]
    assert (markets["p_over_2_5"] == (total > 2.5)).all()
    both = (extra["reg_home_goals"] > 0) & (extra["reg_away_goals"] > 0)
    assert (markets["p_btts"] == both).all()
    assert (markets["p_next_none"] == 1.0).all()
    assert (markets["exp_home_goals"] == extra["reg_home_goals"]).all()


def test_goal_rate_markets_are_probabilities(rate_model, snaps):
    markets = market_columns(rate_model, snaps)
    p = markets[list(MARKET_COLUMNS[:7])].to_numpy()
    assert ((p >= 0) & (p <= 1)).all()
    assert np.allclose(markets[["p_next_home", "p_next_none", "p_next_away"]].sum(axis=1), 1)
    assert (markets["p_over_1_5"] >= markets["p_over_2_5"] - 1e-12).all()
    assert (markets["exp_home_goals"] >= snaps["reg_home_goals"] - 1e-9).all()


def test_backtest_markets_come_from_a_goal_rate_model(rate_model, snaps):
    # The chosen model when it has a score grid; else a goal_rate fitted on the same rows.
    assert market_model(rate_model, snaps) is rate_model
    logit = make_model("scoreboard").fit(snaps)
    rates = market_model(logit, snaps)
    assert isinstance(rates, GoalRateModel) and rates.fitted
    assert rates.n_train_rows == logit.n_train_rows


def test_top_scores_of_predictions_come_back_from_the_expected_final_score():
    from inplay.models.markets import expected_goals, score_grid, top_scores_of_predictions

    # 1-0 with 0.4 and 0.9 goals to come: the published expected final score is the grid's.
    grid = score_grid([1], [0], [0.4], [0.9])
    exp_home, exp_away = expected_goals(grid)[0]
    frame = pd.DataFrame(
        {"home_goals": [1, 2], "away_goals": [0, 2], "exp_home_goals": [exp_home, None],
         "exp_away_goals": [exp_away, None]}, index=[7, 8]
    )  # fmt: skip
    top = top_scores_of_predictions(frame, k=3)
    assert top["row"].tolist() == [7, 7, 7]  # the row without markets is left out
    # By hand, with q = P(1-0) = e^-0.4 e^-0.9 = 0.2725: P(1-1) = 0.9 q = 0.2453,
    # P(1-2) = 0.9^2 / 2 q = 0.1104, P(2-0) = 0.4 q = 0.1090, P(2-1) = 0.36 q = 0.0981.
    assert list(zip(top["home_goals"], top["away_goals"], strict=True)) == [(1, 0), (1, 1), (1, 2)]
    assert top["p"].iloc[0] == pytest.approx(np.exp(-1.3), rel=1e-6)
    assert top_scores_of_predictions(frame.loc[[8]]).empty  # no markets (a model without rates)

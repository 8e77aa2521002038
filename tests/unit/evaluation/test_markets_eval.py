"""Out-of-fold evaluation of the goal markets (inplay.evaluation.markets)."""

import math

import numpy as np
import pandas as pd
import pytest
from synthetic import make_snapshots

from inplay.config import ConfigError
from inplay.evaluation.markets import (
    MARKETS,
    evaluate_markets,
    market_outcomes,
    market_predictions,
    market_scores,
)


def _match(match_id: int, home: list[int], away: list[int]) -> pd.DataFrame:
    n = len(home)
    return pd.DataFrame(
        {
            "match_id": match_id,
            "clock": np.arange(n, dtype=float),
            "period": 1,
            "reg_home_goals": home,
            "reg_away_goals": away,
        }
    )


def test_outcomes_by_hand_in_any_row_order():
    # Match 1: 0-0, 0-0, 1-0, 1-0, 1-1, 1-1. Match 2: 0-0 then 1-1 within one minute.
    rows = pd.concat(
        [_match(1, [0, 0, 1, 1, 1, 1], [0, 0, 0, 0, 1, 1]), _match(2, [0, 1], [0, 1])],
        ignore_index=True,
    )
    shuffled = rows.sample(frac=1.0, random_state=0)
    out = market_outcomes(shuffled).loc[rows.index]
    # Next goal: home (before 1-0), away (before 1-1), none after; match 2 order unknown (-1).
    assert out["next_goal"].tolist() == [0, 0, 2, 2, 1, 1, -1, 1]
    assert out["final_home"].tolist() == [1] * 6 + [1, 1]
    # Total 2: over 1.5 only; both scored.
    assert out["over_1_5"].tolist() == [1] * 8
    assert out["over_2_5"].tolist() == [0] * 8
    assert out["btts"].tolist() == [1] * 8


def test_scores_by_hand():
    # Two rows of one market at p = 0.8: it happened once, not the other time.
    # Log loss (-ln 0.8 - ln 0.2) / 2; Brier (0.2^2 + 0.8^2) / 2 = 0.34.
    oof = pd.DataFrame(
        {
            "model": "m",
            "p_over_1_5": [0.8, 0.8],
            "over_1_5": [1, 0],
            "p_over_2_5": 0.5,
            "over_2_5": 0,
            "p_over_3_5": 0.5,
            "over_3_5": 0,
            "p_btts": 0.5,
            "btts": 0,
            "p_next_home": [1.0, 0.5],
            "p_next_none": [0.0, 0.25],
            "p_next_away": [0.0, 0.25],
            "next_goal": [0, -1],
            "p_exact": [0.25, 0.5],
            "exact_brier": [0.5, 0.5],
        }
    )
    scores = market_scores(oof).set_index("market")
    assert scores.loc["over_1_5", "log_loss"] == pytest.approx(-(math.log(0.8) + math.log(0.2)) / 2)
    assert scores.loc["over_1_5", "brier"] == pytest.approx(0.34)
    # One bin holds both rows: |0.8 - 1/2| = 0.3.
    assert scores.loc["over_1_5", "ece"] == pytest.approx(0.3)
    # The unknown next goal is left out; the known one was certain and right.
    assert scores.loc["next_goal", "n_rows"] == 1
    assert scores.loc["next_goal", "log_loss"] == pytest.approx(0.0, abs=1e-9)
    assert scores.loc["exact_score", "log_loss"] == pytest.approx(
        -(math.log(0.25) + math.log(0.5)) / 2
    )


@pytest.fixture(scope="module")
def snaps() -> pd.DataFrame:
    return make_snapshots(n_matches=24, seed=7, extra_time_share=1.0)


@pytest.fixture(scope="module")
def result(snaps):
    return evaluate_markets(snaps, n_splits=2)


def test_every_regulation_row_is_predicted_once_per_model(result, snaps):
    oof = result.oof
    regulation = int((snaps["period"] <= 2).sum())
    assert result.settings["models"] == ["score_clock", "goal_rate"]
    assert oof.groupby("model").size().tolist() == [regulation, regulation]
    assert not oof.duplicated(["model", "match_id", "clock"]).any()
    # A row's fold never saw its match: every match sits in exactly one fold.
    assert (oof.groupby("match_id")["fold"].nunique() == 1).all()


def test_tables_side_by_side(result):
    table = result.table.set_index("market")
    assert table.index.tolist() == list(MARKETS)
    for model in ("score_clock", "goal_rate"):
        assert np.isfinite(table[f"log_loss_{model}"]).all()
        assert (table[f"brier_{model}"] >= 0).all()
    gain = table["log_loss_score_clock"] - table["log_loss_goal_rate"]
    assert np.allclose(table["log_loss_gain_goal_rate"], gain)
    rel = result.reliability
    assert set(rel["market"]) == set(MARKETS) - {"exact_score"}
    assert set(rel.loc[rel["market"] == "next_goal", "outcome"]) == {"home", "none", "away"}
    assert rel["mean_p"].between(0, 1).all() and rel["observed"].between(0, 1).all()


def test_a_model_without_a_score_grid_is_refused(snaps):
    with pytest.raises(ConfigError, match="score distribution"):
        market_predictions(snaps, ["scoreboard"], n_splits=2)


def test_a_goal_in_stoppage_time_counts_in_the_final_score_and_the_next_goal():
    from inplay.evaluation.markets import market_outcomes

    # Minute rows end 1-0 at 90:00; the away side equalised at 90+2 (final regulation 1-1).
    rows = pd.DataFrame(
        {
            "match_id": 1,
            "clock": [0.0, 60.0, 90.0],
            "period": [1, 2, 2],
            "home_goals": [0, 1, 1],
            "away_goals": [0, 0, 0],
            "reg_final_home_goals": 1,
            "reg_final_away_goals": 1,
        }
    )
    out = market_outcomes(rows)
    assert out[["final_home", "final_away"]].iloc[0].tolist() == [1, 1]
    assert out["btts"].tolist() == [1, 1, 1]
    # 0-0 at kick-off: home scored next; after 60' and at 90': the stoppage-time away goal.
    assert out["next_goal"].tolist() == [0, 2, 2]

"""The travel baselines (``skellam``, ``scoreboard_xg``) and the neutral-venue column."""

import copy

import numpy as np
import pandas as pd
import pytest
from synthetic import make_snapshots, with_teams

from inplay.data.ratings import EloRatings, match_priors, neutral_venue
from inplay.models import EPS, GoalRateModel, make_model, prepare_snapshots


@pytest.fixture(scope="module")
def snaps() -> pd.DataFrame:
    return with_teams(make_snapshots(n_matches=60, seed=5, strength=1.5), 8, 0, "2021-01-01")


@pytest.fixture(scope="module")
def fitted(snaps) -> dict:
    return {name: make_model(name).fit(snaps) for name in ("skellam", "scoreboard_xg")}


@pytest.fixture(scope="module")
def skellam(fitted) -> GoalRateModel:
    return fitted["skellam"]


def live_row(clock: float, home: int, away: int, **extra) -> pd.DataFrame:
    """One live-style request row (no match statistics)."""
    return pd.DataFrame(
        {"clock": [clock], "home_goals": [home], "away_goals": [away], **extra}, index=[0]
    )


# ---- skellam and scoreboard_xg -------------------------------------------------------------


@pytest.mark.parametrize("name", ["skellam", "scoreboard_xg"])
def test_travel_baselines_give_probabilities(snaps, fitted, name):
    model = fitted[name]
    assert model.name == name and model.fitted
    rows = snaps.iloc[::37]
    p = model.predict_proba(rows)
    assert p.shape == (len(rows), 3)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    assert (p >= EPS * 0.99).all()
    frame = model.predict_frame(rows)
    assert frame.columns.tolist() == ["p_home", "p_draw", "p_away"]
    assert frame.index.equals(rows.index)
    # a two-goal home lead late on is a likely home win, a two-goal deficit a likely away win
    ahead = model.predict_proba(live_row(80.0, 2, 0))[0]
    behind = model.predict_proba(live_row(80.0, 0, 2))[0]
    assert ahead[0] > 0.8 and behind[2] > 0.8


def test_skellam_reads_only_home_and_red_cards(snaps, skellam):
    assert skellam.features == ["is_home", "red_for", "red_against"]
    assert skellam.calibrator_ is None
    assert skellam.uses_prior is False
    coefs = skellam.summary()["coefficients"]
    assert list(coefs) == ["const", "is_home", "red_for", "red_against"]
    assert skellam.summary()["calibrated"] is False
    # the synthetic home side scores more (rate 1.45 e^0.1 vs 1.15 per 90 minutes)
    assert coefs["is_home"] > 0
    # xG, shots and possession change nothing
    base = live_row(30.0, 1, 1)
    busy = live_row(
        30.0, 1, 1, home_xg=2.5, away_xg=0.1, home_shots_on_target=8, home_possession=75.0
    )
    np.testing.assert_allclose(skellam.predict_proba(base), skellam.predict_proba(busy))


def test_skellam_home_lead_late_is_near_certain(skellam):
    p = skellam.predict_proba(live_row(85.0, 2, 0))[0]
    assert p[0] > 0.9
    assert p[0] > skellam.predict_proba(live_row(60.0, 2, 0))[0, 0]  # less time for a comeback


def test_skellam_red_cards_act_on_the_right_side(skellam):
    # the synthetic red cards do not change the rates, so set the effects by hand:
    # a side with a man sent off scores less, its opponent more
    model = copy.deepcopy(skellam)
    model.params_[1 + model.features.index("red_for")] = -0.5
    model.params_[1 + model.features.index("red_against")] = 0.3
    level = model.predict_proba(live_row(30.0, 0, 0))[0]
    home_red = model.predict_proba(live_row(30.0, 0, 0, home_red_cards=1))[0]
    away_red = model.predict_proba(live_row(30.0, 0, 0, away_red_cards=1))[0]
    assert home_red[0] < level[0] < away_red[0]
    assert home_red[2] > level[2] > away_red[2]


# ---- neutral venue -------------------------------------------------------------------------


def test_neutral_venue_removes_home_advantage(snaps):
    model = make_model("goal_rate").fit(snaps)
    model.calibrator_ = None  # test the rate model itself
    idx = 1 + model.features.index("is_home")
    if model.params_[idx] <= 0:
        model.params_[idx] = 0.25
    assert model.summary()["coefficients"]["is_home"] > 0
    rows = snaps[snaps["clock"].isin([0.0, 20.0, 50.0, 80.0])].iloc[:12]
    home = model.predict_proba(rows.assign(neutral=0.0))
    neutral = model.predict_proba(rows.assign(neutral=1.0))
    assert (neutral[:, 0] < home[:, 0]).all()
    assert (neutral[:, 2] > home[:, 2]).all()
    # without the column, rows are at home
    assert "neutral" not in rows.columns
    np.testing.assert_array_equal(model.predict_proba(rows), home)
    # a level state at a neutral venue is symmetric; at home it is not
    sym = model.predict_proba(live_row(10.0, 0, 0, neutral=1.0))[0]
    assert sym[0] == pytest.approx(sym[2], abs=1e-12)
    at_home = model.predict_proba(live_row(10.0, 0, 0))[0]
    assert at_home[0] > at_home[2]


def test_neutral_venue_in_skellam(skellam):
    home = skellam.predict_proba(live_row(10.0, 0, 0))[0]
    neutral = skellam.predict_proba(live_row(10.0, 0, 0, neutral=1.0))[0]
    assert neutral[0] < home[0]
    assert neutral[0] == pytest.approx(neutral[2], abs=1e-12)


def test_prepare_snapshots_neutral_column():
    rows = pd.DataFrame({"clock": [5.0, 6.0, 7.0], "home_goals": [0, 1, 1], "away_goals": 0})
    assert prepare_snapshots(rows)["neutral"].tolist() == [0.0, 0.0, 0.0]
    given = prepare_snapshots(rows.assign(neutral=[1.0, 0.0, 1.0]))["neutral"]
    assert given.tolist() == [1.0, 0.0, 1.0]
    assert given.dtype == float
    # booleans (live requests) and missing values
    flags = prepare_snapshots(rows.assign(neutral=[True, False, True]))["neutral"]
    assert flags.tolist() == [1.0, 0.0, 1.0]
    gaps = prepare_snapshots(rows.assign(neutral=[np.nan, 1.0, None]))["neutral"]
    assert gaps.tolist() == [0.0, 1.0, 0.0]


def test_match_priors_neutral_column():
    matches = pd.DataFrame(
        {
            "match_id": [31, 32, 33],
            "match_date": ["2022-11-20", "2022-11-21", "2021-05-01"],
            "competition_id": [43, 43, 11],
            "season_id": [106, 106, 90],
            "competition": ["FIFA World Cup", "FIFA World Cup", "La Liga"],
            "home_team": ["Qatar", "England", "Barcelona"],
            "away_team": ["Ecuador", "Iran", "Sevilla"],
            "home_score": [0, 6, 2],
            "away_score": [2, 2, 1],
            "neutral": [True, True, False],
        }
    )
    priors = match_priors(matches=matches, odds_dir=False)
    assert priors["match_id"].tolist() == [31, 32, 33]
    assert priors["neutral"].dtype == float
    assert priors["neutral"].tolist() == [1.0, 1.0, 0.0]
    assert priors[["odds_home", "odds_draw", "odds_away"]].isna().all().all()
    floats = match_priors(matches=matches.assign(neutral=[0.0, 1.0, 0.0]), odds_dir=False)
    assert floats["neutral"].tolist() == [0.0, 1.0, 0.0]
    absent = match_priors(matches=matches.drop(columns=["neutral"]), odds_dir=False)
    assert absent["neutral"].tolist() == [0.0, 0.0, 0.0]
    # the Elo prior is still there: every team is new, so each difference is 0
    assert priors["elo_diff"].tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize(
    ("competition", "stage", "neutral"),
    [
        ("FIFA World Cup", "Group Stage", True),
        ("Women's World Cup", "Final", True),
        ("UEFA Euro", None, True),
        ("Champions League", "Final", True),
        ("Champions League", None, True),  # StatsBomb's Champions League data: finals only
        ("Champions League", "Group Stage", False),
        ("UEFA Europa League", "Round of 16", False),
        ("La Liga", None, False),
        ("FA Women's Super League", "Regular Season", False),
    ],
)
def test_neutral_venue(competition, stage, neutral):
    assert neutral_venue(competition, stage) is neutral


def test_elo_treats_a_missing_venue_as_home():
    # Regression: a NaN 'neutral' counted as neutral in the Elo update (bool(nan) is True)
    # while the models read it as a home match.
    def table(neutral):
        return pd.DataFrame(
            {
                "match_id": [1, 2],
                "match_date": ["2020-01-01", "2020-01-08"],
                "home_team": ["A", "A"],
                "away_team": ["B", "B"],
                "home_score": [1, 1],
                "away_score": [0, 0],
                "neutral": neutral,
            }
        )

    missing = EloRatings().run(table([np.nan, np.nan]))["elo_diff"].iloc[1]
    home = EloRatings().run(table([False, False]))["elo_diff"].iloc[1]
    neutral = EloRatings().run(table([True, True]))["elo_diff"].iloc[1]
    assert missing == pytest.approx(home)
    assert missing != pytest.approx(neutral)

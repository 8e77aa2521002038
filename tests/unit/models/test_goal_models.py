"""Goal-rate and boosted models, pre-match priors (Elo, closing odds) and the backtest."""

import numpy as np
import pandas as pd
import pytest
from fixtures_statsbomb import make_event, make_match, write_open_data
from synthetic import make_snapshots, with_teams

from inplay.data.ratings import EloRatings, attach_priors, demargin, match_priors
from inplay.evaluation.backtest import BACKTEST_COLUMNS, backtest
from inplay.evaluation.evaluate import log_loss
from inplay.models import (
    BoostedModel,
    Calibrator,
    GoalRateModel,
    load_model,
    make_model,
    remaining_minutes,
    save_model,
)


@pytest.fixture(scope="module")
def snaps() -> pd.DataFrame:
    return with_teams(make_snapshots(n_matches=100, seed=11, strength=1.5))


@pytest.fixture(scope="module")
def rate_model(snaps) -> GoalRateModel:
    return make_model("goal_rate").fit(snaps)


def small_boosted(name: str = "boosted") -> BoostedModel:
    model = make_model(name)
    model.params = {**BoostedModel.params, "max_iter": 20, "min_samples_leaf": 100}
    return model


# ---- ratings -----------------------------------------------------------------------------


def test_elo_update_is_zero_sum_and_margin_weighted():
    elo = EloRatings(k=20, home_advantage=0)
    elo.update("A", "B", 1, 0)
    assert elo.rating("A") == pytest.approx(1510) and elo.rating("B") == pytest.approx(1490)
    big = EloRatings(k=20, home_advantage=0)
    big.update("A", "B", 3, 0)
    assert big.rating("A") - 1500 == pytest.approx(10 * (11 + 3) / 8)
    draw = EloRatings(k=20, home_advantage=60)
    draw.update("A", "B", 1, 1)  # the home side was expected to win: a draw costs it
    assert draw.rating("A") < 1500 < draw.rating("B")
    assert draw.rating("A") + draw.rating("B") == pytest.approx(3000)


def test_elo_uses_only_earlier_matches():
    matches = pd.DataFrame(
        {
            "match_id": [3, 1, 2],
            "match_date": ["2020-01-03", "2020-01-01", "2020-01-02"],
            "home_team": ["A", "A", "B"],
            "away_team": ["B", "B", "A"],
            "home_score": [0, 5, 0],
            "away_score": [9, 0, 1],
        }
    )
    rated = EloRatings().run(matches).set_index("match_id")
    assert rated.loc[1, "elo_diff"] == 0  # first match: nobody known yet
    assert rated.loc[2, "elo_diff"] < 0  # B lost match 1 (only that counts)
    # changing a later result changes nothing before it
    later = matches.assign(home_score=[9, 5, 0], away_score=[0, 0, 1])
    again = EloRatings().run(later).set_index("match_id")
    assert again.loc[[1, 2, 3], "elo_diff"].tolist() == rated.loc[[1, 2, 3], "elo_diff"].tolist()


def test_demargin_power_method():
    p = demargin(np.array([[2.0, 3.4, 4.0], [1.1, 12.0, 30.0], [np.nan, 3.0, 3.0]]))
    assert np.allclose(p[:2].sum(axis=1), 1.0)
    assert np.isnan(p[2]).all()
    raw = 1 / np.array([1.1, 12.0, 30.0])
    # the long shot loses more than its proportional share of the margin
    assert p[1, 2] < raw[2] / raw.sum()
    fair = demargin(np.array([[2.0, 4.0, 4.0]]))
    np.testing.assert_allclose(fair, [[0.5, 0.25, 0.25]], atol=1e-8)


def test_match_priors_and_attach(tmp_path):
    matches = [
        make_match(1, "A", "B", 2, 0, match_date="2020-01-01"),
        make_match(2, "B", "A", 0, 0, match_date="2020-01-08"),
    ]
    root = write_open_data(tmp_path / "sb", matches, {1: [], 2: []})
    odds = tmp_path / "odds"
    odds.mkdir()
    (odds / "statsbomb_laliga_match_map.csv").write_text("match_id,PSCH,PSCD,PSCA\n2,3.0,3.2,2.5\n")
    from inplay.data.statsbomb import StatsBombData

    priors = match_priors(StatsBombData(root), odds_dir=odds).set_index("match_id")
    assert priors.loc[1, "elo_diff"] == 0
    assert priors.loc[2, "elo_diff"] < 0  # B lost the first match
    assert np.isnan(priors.loc[1, "odds_home"]) and priors.loc[2, "odds_away"] == 2.5
    snaps = pd.DataFrame({"match_id": [2, 1, 2], "clock": [0.0, 5.0, 6.0]}, index=[7, 8, 9])
    joined = attach_priors(snaps, priors.reset_index())
    assert list(joined.index) == [7, 8, 9]
    assert joined["home_team"].tolist() == ["B", "A", "B"]
    assert joined.loc[7, "odds_home"] == 3.0


# ---- goal-rate model ---------------------------------------------------------------------


def test_remaining_minutes_counts_stoppage():
    left = remaining_minutes([0, 45, 46, 90])
    assert left[0] == pytest.approx(96) and left[1] == pytest.approx(51)
    assert left[2] == pytest.approx(48) and left[3] == pytest.approx(4)


def test_goal_rate_probabilities_and_score_distribution(snaps, rate_model):
    rows = snaps[snaps["clock"].isin([0, 30, 60, 89])]
    p = rate_model.predict_proba(rows)
    assert np.allclose(p.sum(axis=1), 1.0)
    grid = rate_model.score_distribution(rows, max_goals=10)
    assert grid.shape == (len(rows), 11, 11)
    np.testing.assert_allclose(grid.sum(axis=(1, 2)), 1.0, atol=1e-9)
    # a final score below the current one is impossible
    row = rows.iloc[-1]
    hg, ag = int(row["reg_home_goals"]), int(row["reg_away_goals"])
    assert grid[-1, :hg, :].sum() == 0 and grid[-1, :, :ag].sum() == 0
    # the uncalibrated H/D/A follows from the score grid
    h = np.tril(np.ones((11, 11)), -1)  # home goals > away goals
    raw = rate_model._raw_predict(
        __import__("inplay.models", fromlist=["prepare_snapshots"]).prepare_snapshots(
            rate_model._with_prior(rows)
        )
    )
    np.testing.assert_allclose((grid * h).sum(axis=(1, 2)), raw[:, 0], atol=1e-6)


def test_goal_rate_late_lead_and_time_decay(rate_model, snaps):
    row = snaps[snaps["clock"] == 89].iloc[[0]].copy()
    row[["reg_home_goals", "reg_away_goals", "home_goals", "away_goals"]] = [2, 0, 2, 0]
    assert rate_model.predict_proba(row)[0, 0] > 0.95
    level = snaps[snaps["clock"] == 89].iloc[[0]].copy()
    level[["reg_home_goals", "reg_away_goals", "home_goals", "away_goals"]] = [1, 1, 1, 1]
    assert rate_model.predict_proba(level)[0, 1] > 0.7


def test_prior_weight_fades_with_time(snaps):
    model = make_model("goal_rate").fit(snaps)
    assert model.params_ is not None
    prior = model.features.index("prior") + 1
    model.params_[prior] = 0.8  # a clear prior effect on the scoring rates ...
    model.params_[prior + 1] = 0.0  # ... that stays the same per minute of play
    model.calibrator_ = None
    base = snaps[(snaps["match_id"] == snaps["match_id"].iloc[0])].copy()
    base[["reg_home_goals", "reg_away_goals", "home_goals", "away_goals"]] = 0
    base[["home_possession", "away_possession"]] = 50.0
    base[["home_xg", "away_xg", "home_shots_on_target", "away_shots_on_target"]] = 0
    strong = base.assign(elo_diff=300.0)
    even = base.assign(elo_diff=0.0)
    gap = model.predict_proba(strong)[:, 0] - model.predict_proba(even)[:, 0]
    assert gap[0] > 0.1
    assert gap[80] < gap[45] < gap[0]


def test_live_rows_use_ratings_learned_at_fit(snaps, rate_model):
    assert rate_model.ratings_ is not None and rate_model.ratings_.ratings
    best = max(rate_model.ratings_.ratings, key=rate_model.ratings_.ratings.get)
    worst = min(rate_model.ratings_.ratings, key=rate_model.ratings_.ratings.get)
    request = (
        snaps[snaps["clock"] == 0].iloc[[0]].drop(columns=["home_team", "away_team", "match_date"])
    )
    plain = rate_model.predict_proba(request)
    named = rate_model.predict_proba(request.assign(home_team=best, away_team=worst))
    flipped = rate_model.predict_proba(request.assign(home_team=worst, away_team=best))
    unknown = rate_model.predict_proba(request.assign(home_team="x", away_team="y"))
    np.testing.assert_allclose(unknown, plain)
    if rate_model.summary()["coefficients"]["prior"] > 0:
        assert named[0, 0] > plain[0, 0] > flipped[0, 0]


def test_goal_rate_beats_scoreboard_out_of_sample():
    train = make_snapshots(n_matches=200, seed=21, strength=2.0)
    test = make_snapshots(n_matches=100, seed=22, strength=2.0)
    y = test["result"].to_numpy()
    ll = {
        name: log_loss(y, make_model(name).fit(train).predict_proba(test))
        for name in ("scoreboard", "goal_rate")
    }
    assert ll["goal_rate"] < ll["scoreboard"]


def test_odds_model_uses_odds(snaps):
    probs = np.where(snaps["result"].to_numpy()[:, None] == np.array(["H", "D", "A"]), 0.6, 0.2)
    odds = 1.0 / (probs * 1.05)
    with_odds = snaps.assign(odds_home=odds[:, 0], odds_draw=odds[:, 1], odds_away=odds[:, 2])
    a = make_model("goal_rate_odds").fit(with_odds)
    b = make_model("goal_rate").fit(with_odds)
    # the odds here are informative, so only the odds model's predictions move with them
    y = with_odds["result"].to_numpy()
    assert log_loss(y, a.predict_proba(with_odds)) < log_loss(y, b.predict_proba(with_odds))
    np.testing.assert_allclose(
        b.predict_proba(with_odds), b.predict_proba(with_odds.drop(columns=["odds_home"]))
    )


def test_calibrator_fixes_overconfidence():
    rng = np.random.default_rng(0)
    true = rng.dirichlet([2, 2, 2], size=4000)
    y = np.array([rng.choice(3, p=p) for p in true])
    sharp = true**3 / (true**3).sum(axis=1, keepdims=True)  # overconfident
    t = rng.uniform(0, 1, size=len(y))
    cal = Calibrator().fit(sharp, t, y)
    assert log_loss(y, cal.transform(sharp, t)) < log_loss(y, sharp) - 0.02


# ---- boosted -----------------------------------------------------------------------------


def test_boosted_fits_predicts_and_roundtrips(tmp_path, snaps):
    model = small_boosted().fit(snaps)
    p = model.predict_proba(snaps.head(200))
    assert p.shape == (200, 3) and np.allclose(p.sum(axis=1), 1.0)
    assert model.calibrator_ is not None
    assert model.summary()["calibrated"]
    out = save_model(model, tmp_path, data_info={})
    # Equal to the last bits but one: a different batch size may sum in another order.
    np.testing.assert_allclose(
        load_model(out).predict_proba(snaps.head(50)), p[:50], rtol=1e-12, atol=1e-15
    )


# ---- backtest ----------------------------------------------------------------------------


def _folder(root, first_id: int, n: int, date0: str, final: bool = False) -> None:
    """``n`` league matches; with ``final`` the last one is a cup final (a knockout match)."""
    matches, events = [], {}
    rng = np.random.default_rng(first_id)
    for i in range(n):
        mid = first_id + i
        home, away = f"T{i % 5}", f"T{(i + 1 + i // 5) % 5}"
        if home == away:
            away = "T9"
        date = (pd.Timestamp(date0) + pd.Timedelta(days=i)).strftime("%Y-%m-%d")
        evs = [make_event(1, "Half Start", home, period=1, minute=0)]
        hg = ag = 0
        for k, minute in enumerate(sorted(rng.choice(np.arange(2, 88), size=4, replace=False))):
            team = home if rng.random() < 0.55 else away
            goal = rng.random() < 0.35
            hg += goal and team == home
            ag += goal and team == away
            period = 1 if minute < 45 else 2
            evs.append(
                make_event(
                    10 + k,
                    "Shot",
                    team,
                    period=period,
                    minute=int(minute),
                    outcome="Goal" if goal else "Saved",
                    xg=0.3,
                )
            )
        evs.append(make_event(99, "Half Start", home, period=2, minute=45))
        evs.sort(key=lambda e: (e["period"], e["timestamp"]))
        stage = "Final" if final and i == n - 1 else "Regular Season"
        matches.append(
            make_match(mid, home, away, int(hg), int(ag), match_date=date, competition_id=37,
                       season_id=4, stage=stage)
        )  # fmt: skip
        events[mid] = evs
    write_open_data(root, matches, events)


def test_backtest_writes_one_row_per_test_match_minute(tmp_path):
    _folder(tmp_path / "train", 100, 30, "2020-01-01")
    _folder(tmp_path / "test", 500, 4, "2020-03-01", final=True)
    out = tmp_path / "bt.csv"
    frame = backtest(
        tmp_path / "train", tmp_path / "test", "goal_rate", out=out, workers=1, progress=False
    )
    written = pd.read_csv(out)
    assert list(written.columns) == list(BACKTEST_COLUMNS)
    assert len(written) == 4 * 91 == len(frame)
    assert sorted(written["match_id"].unique()) == [500, 501, 502, 503]
    assert (written.groupby("match_id")["minute"].apply(list) == [list(range(91))] * 4).all()
    p = written[["p_home", "p_draw", "p_away"]].to_numpy()
    assert np.allclose(p.sum(axis=1), 1.0)
    markets = written[["p_over_1_5", "p_over_2_5", "p_over_3_5", "p_btts"]].to_numpy()
    assert np.isfinite(markets).all() and (markets >= 0).all() and (markets <= 1).all()
    assert (markets[:, 0] >= markets[:, 1] - 1e-12).all()
    assert (markets[:, 1] >= markets[:, 2] - 1e-12).all()
    # Who goes through: the final (503) only, at every minute; the league matches: empty.
    advance = written.set_index("match_id")["p_advance_home"]
    assert advance.drop(503).isna().all()
    final = written[written["match_id"] == 503]
    assert final["p_advance_home"].between(0, 1).all()
    # In regulation P(advance) = P(win) + P(draw) x (a level match's chance after 90 minutes,
    # 1/2 by symmetry: both sides get the same extra-time rate and kick conversion).
    expected = final["p_home"] + 0.5 * final["p_draw"]
    assert np.allclose(final["p_advance_home"], expected, atol=1e-9)

"""Win probability added, hand-checked on football cases with a stub model of known outputs.

The stub model: with s = 0.2 * gd - 0.1 * red_diff + XG * xg_diff + CLOCK * clock * gd (gd the
regulation goal difference, the diffs home minus away), p = (0.4 + s, 0.3, 0.3 - s). So the
home team's expected points are 3 * (0.4 + s) + 0.3 = 1.5 + 3 s and the away team's
3 * (0.3 - s) + 0.3 = 1.2 - 3 s: a regulation goal moves them by +-0.6 (plus its xG term).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fixtures_statsbomb import make_event
from synthetic import make_snapshots

from inplay.evaluation.wpa import (
    WPA_COLUMNS,
    event_states,
    event_wpa,
    expected_points,
    match_wpa,
    player_wpa,
    top_moments,
)
from inplay.models import make_model

HOME, AWAY = "Home FC", "Away FC"


class StubModel:
    """Known probabilities (see the module docstring)."""

    def __init__(self, xg: float = 0.0, clock: float = 0.0) -> None:
        self.xg, self.clock = xg, clock

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        gd = df["reg_home_goals"] - df["reg_away_goals"]
        s = (
            0.2 * gd
            - 0.1 * (df["home_red_cards"] - df["away_red_cards"])
            + self.xg * (df["home_xg"] - df["away_xg"])
            + self.clock * df["clock"] * gd
        ).to_numpy(dtype=float)
        return np.column_stack([0.4 + s, np.full(len(s), 0.3), 0.3 - s])


def ev(index: int, type_name: str, team: str, player: str | None = None, **kw) -> dict:
    """A StatsBomb event, with a player when named."""
    extra = {"player": {"id": index, "name": player}} if player else {}
    return make_event(index, type_name, team, **kw, **extra)


def kick_off() -> list[dict]:
    return [ev(1, "Half Start", HOME), ev(2, "Pass", HOME, "Passer", minute=1)]


def wpa(events: list[dict], model=None) -> pd.DataFrame:
    return match_wpa(model or StubModel(), events, 7, HOME, AWAY)


def row(frame: pd.DataFrame, index: int) -> pd.Series:
    return frame.set_index("event_index").loc[index]


def test_expected_points_are_three_per_win_one_per_draw():
    # (0.5, 0.3, 0.2): home 3 * 0.5 + 0.3 = 1.8, away 3 * 0.2 + 0.3 = 0.9.
    assert expected_points(np.array([[0.5, 0.3, 0.2]]))[0] == pytest.approx([1.8, 0.9])


def test_goal_gives_the_scorer_the_change_of_his_team():
    events = [
        *kick_off(),
        ev(3, "Shot", HOME, "Scorer", minute=10, xg=0.3, outcome="Goal"),
        ev(4, "Pass", AWAY, "Restart", minute=11),
    ]
    frame = wpa(events, StubModel(xg=0.1))
    goal = row(frame, 3)
    # s goes from 0 to 0.2 * 1 + 0.1 * 0.3 = 0.23: home +3 * 0.23 = 0.69, away -0.69.
    assert goal["player"] == "Scorer" and goal["team"] == HOME
    assert goal["wpa"] == pytest.approx(0.69)
    assert goal["wpa_home"] == pytest.approx(0.69)
    assert goal["wpa_away"] == pytest.approx(-0.69)
    # A pass changes no count: exactly nothing (the stub ignores the clock here).
    assert row(frame, 4)["wpa"] == 0.0
    assert list(frame.columns[: len(WPA_COLUMNS)]) == list(WPA_COLUMNS)


def test_away_goal_is_positive_for_the_away_scorer():
    events = [*kick_off(), ev(3, "Shot", AWAY, "Visitor", minute=20, xg=0.5, outcome="Goal")]
    goal = row(wpa(events), 3)
    # gd -1: s = -0.2, away expected points +0.6, home -0.6.
    assert goal["wpa"] == pytest.approx(0.6)
    assert goal["wpa_home"] == pytest.approx(-0.6)


def test_red_card_is_negative_for_the_sent_off_player():
    events = [
        *kick_off(),
        ev(3, "Foul Committed", AWAY, "Villain", minute=30, card="Red Card"),
        ev(4, "Bad Behaviour", HOME, "Hothead", minute=40, card="Second Yellow"),
    ]
    frame = wpa(events)
    # An away red: red_diff -1, s = +0.1: away -0.3, home +0.3. Then a home red: back to 0.
    assert row(frame, 3)["player"] == "Villain"
    assert row(frame, 3)["wpa"] == pytest.approx(-0.3)
    assert row(frame, 3)["wpa_home"] == pytest.approx(0.3)
    assert row(frame, 4)["wpa"] == pytest.approx(-0.3)


def penalty(outcome: str, index: int = 3, period: int = 1) -> list[dict]:
    """A home penalty at 60' (StatsBomb xG 0.78) and the away goalkeeper's event after it."""
    keeper = {"type": {"name": "Penalty Saved" if outcome == "Saved" else "Penalty Conceded"}}
    return [
        ev(
            index,
            "Shot",
            HOME,
            "Taker",
            period=period,
            minute=60,
            xg=0.78,
            outcome=outcome,
            shot_type="Penalty",
        ),
        ev(
            index + 1,
            "Goal Keeper",
            AWAY,
            "Keeper",
            period=period,
            minute=60,
            second=1,
            goalkeeper=keeper,
        ),
    ]


def test_saved_penalty_goes_to_the_goalkeeper():
    frame = wpa([*kick_off(), *penalty("Saved")], StubModel(xg=0.1))
    # Before the kick: 0.78 * xP(goal) + 0.22 * xP(miss). The save leaves xP(miss), so the
    # away team gains 0.78 * (xP_away(miss) - xP_away(goal)) = 0.78 * 3 * 0.2 = 0.468 (the xG
    # term is in both states and cancels).
    keeper = row(frame, 4)
    assert keeper["player"] == "Keeper" and keeper["team"] == AWAY
    assert keeper["wpa"] == pytest.approx(0.468)
    assert keeper["wpa_home"] == pytest.approx(-0.468)
    assert row(frame, 3)["wpa"] == 0.0  # the shooter: credit moved to the keeper


def test_penalty_off_target_costs_the_shooter():
    frame = wpa([*kick_off(), *penalty("Off T")], StubModel(xg=0.1))
    # The same -0.78 * 0.6 = -0.468 for the home team, credited to the shooter.
    assert row(frame, 3)["player"] == "Taker"
    assert row(frame, 3)["wpa"] == pytest.approx(-0.468)
    assert row(frame, 4)["wpa"] == 0.0


def test_scored_penalty_earns_what_was_not_expected():
    frame = wpa([*kick_off(), *penalty("Goal")])
    # (1 - 0.78) * 0.6 = 0.132; the other 0.78 * 0.6 = 0.468 is the award, in the context.
    assert row(frame, 3)["wpa"] == pytest.approx(0.132)
    assert row(frame, 3)["context_home"] == pytest.approx(0.468)


def test_penalty_award_is_charged_to_the_foul_that_gave_it_away():
    foul = ev(3, "Foul Committed", AWAY, "Fouler", minute=59, foul_committed={"penalty": True})
    frame = wpa([*kick_off(), foul, *penalty("Goal", index=4)])
    # Before the kick the away team expects 0.78 * (1.2 - 0.6) + 0.22 * 1.2 = 1.2 - 0.468:
    # the foul costs it 0.468; the taker still earns (1 - 0.78) * 0.6 = 0.132; no context left.
    assert row(frame, 3)["wpa"] == pytest.approx(-0.468)
    assert row(frame, 3)["wpa_home"] == pytest.approx(0.468)
    assert row(frame, 4)["wpa"] == pytest.approx(0.132)
    assert row(frame, 4)["context_home"] == pytest.approx(0.0)


def test_own_goal_is_charged_to_the_own_goal_scorer():
    events = [
        *kick_off(),
        ev(3, "Own Goal Against", AWAY, "Unlucky", minute=25),
        ev(4, "Own Goal For", HOME, minute=25),
    ]
    frame = wpa(events)
    # The home team's goal: s = +0.2, away -0.6, charged to the away player who put it in.
    assert row(frame, 3)["player"] == "Unlucky"
    assert row(frame, 3)["wpa"] == pytest.approx(-0.6)
    assert row(frame, 3)["wpa_home"] == pytest.approx(0.6)
    assert row(frame, 4)["wpa"] == 0.0 and row(frame, 4)["wpa_home"] == 0.0


def full_match() -> list[dict]:
    return [
        *kick_off(),
        ev(3, "Shot", HOME, "Scorer", minute=10, xg=0.3, outcome="Goal"),
        ev(4, "Foul Committed", AWAY, "Villain", minute=30, card="Red Card"),
        ev(5, "Own Goal Against", HOME, "Unlucky", minute=50, period=2),
        ev(6, "Own Goal For", AWAY, minute=50, period=2),
        ev(7, "Substitution", AWAY, "Tired", minute=60, period=2),
        *penalty("Saved", index=8, period=2),
        ev(10, "Shot", AWAY, "Late", minute=88, period=2, xg=0.2, outcome="Goal"),
        ev(11, "Pass", HOME, "Passer", minute=93, period=2),
        ev(12, "Shot", HOME, "Extra", minute=100, period=3, xg=0.4, outcome="Goal"),
        ev(13, "Pass", AWAY, "Passer2", minute=110, period=4),
    ]


def test_match_sums_to_final_minus_initial_expected_points():
    events = full_match()
    frame = wpa(events, StubModel(xg=0.05, clock=0.001))
    regulation = frame[frame["period"] <= 2]
    # Kick-off: s = 0, home 1.5, away 1.2; the final is the state after the last regulation event.
    for side, initial in (("home", 1.5), ("away", 1.2)):
        total = (frame[f"wpa_{side}"] + frame[f"context_{side}"]).sum()
        assert total == pytest.approx(regulation[f"xp_{side}"].iloc[-1] - initial)
    extra_time = frame[frame["period"] >= 3]
    assert len(extra_time) == 2
    assert (extra_time[["wpa", "wpa_home", "context_home", "context_away"]] == 0).all().all()
    assert row(frame, 7)["wpa"] == 0.0  # a substitution changes no count


def test_player_and_competition_sums():
    events = [
        *kick_off(),
        ev(3, "Shot", HOME, "Scorer", minute=10, xg=0.3, outcome="Goal"),
        ev(4, "Shot", HOME, "Scorer", minute=70, period=2, xg=0.3, outcome="Goal"),
        ev(5, "Foul Committed", AWAY, "Villain", minute=80, period=2, card="Red Card"),
    ]
    states = pd.concat(
        [event_states(events, match_id, HOME, AWAY, {"competition": "Cup"}) for match_id in (1, 2)]
    )
    frame = event_wpa(states, StubModel())
    per_match = player_wpa(frame)
    # Two goals: +0.6 each; the away red card: -0.3 for Villain.
    scorer = per_match[(per_match["player"] == "Scorer") & (per_match["match_id"] == 1)]
    assert scorer["wpa"].item() == pytest.approx(1.2)
    assert scorer["events"].item() == 2
    per_cup = player_wpa(frame, by=("competition",))
    # "Half Start" has no player: left out; "Passer" made no count change: 0.
    assert per_cup["player"].tolist() == ["Scorer", "Passer", "Villain"]
    assert per_cup["wpa"].tolist() == pytest.approx([2.4, 0.0, -0.6])
    assert per_cup.set_index("player").loc["Villain", "matches"] == 2


def test_top_moments_are_the_largest_in_size():
    frame = wpa(full_match())
    top = top_moments(frame, 7, n=3)
    sizes = top["wpa"].abs().tolist()
    assert sizes == sorted(sizes, reverse=True) and len(top) == 3
    # Goals and the own goal are worth 0.6, the saved penalty 0.468, the red card 0.3.
    assert sizes == pytest.approx([0.6, 0.6, 0.6])
    with pytest.raises(ValueError):
        top_moments(frame, 99)


def test_a_fitted_model_rewards_a_goal():
    model = make_model("scoreboard").fit(make_snapshots(n_matches=15, seed=3))
    events = [*kick_off(), ev(3, "Shot", HOME, "Scorer", minute=70, xg=0.3, outcome="Goal")]
    goal = row(wpa(events, model), 3)
    # The scoreboard logit reads the score and the clock only: a 1-0 lead at 70' is worth more.
    assert goal["wpa"] > 0.3 and goal["wpa_away"] < 0


def test_prediction_swings_rank_the_published_predictions_by_their_change():
    from inplay.evaluation.wpa import prediction_swings

    rows = [  # (event_index, minute, type, p_home, p_draw, p_away, home_goals, away_goals)
        (1, 0, "Pass", 0.40, 0.30, 0.30, 0, 0),
        (2, 10, "Shot", 0.70, 0.20, 0.10, 1, 0),  # +0.30 home, -0.20 away: 1.5 * 0.5 = 0.75
        (3, 20, "Pass", 0.70, 0.20, 0.10, 1, 0),  # no change: left out
        (4, 30, "Shot", 0.50, 0.30, 0.20, 1, 1),  # -0.20 home, +0.10 away: 1.5 * 0.3 = 0.45
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "event_index",
            "minute",
            "event_type",
            "p_home",
            "p_draw",
            "p_away",
            "home_goals",
            "away_goals",
        ],
    ).assign(period=1, elapsed_seconds=lambda f: f["minute"] * 60.0, home_team="H", away_team="A")
    swings = prediction_swings(frame.iloc[::-1], n=5)  # any order in, match order used
    assert swings["team"].tolist() == ["H", "A"]
    assert swings["gain"].tolist() == pytest.approx([0.75, 0.45])
    assert swings["minute"].tolist() == [10, 30]
    assert prediction_swings(frame.head(1)).empty

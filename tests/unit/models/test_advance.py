"""P(advance) in knockout matches: hand-checked shoot-outs, extra time and regulation."""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pandas as pd
import pytest

from inplay.data.statsbomb import Match
from inplay.evaluation.advance import binary_scores
from inplay.features.shootout import ShootoutState
from inplay.models.advance import (
    AdvanceParams,
    advance_column,
    et_minutes_left,
    extra_time_probability,
    is_knockout,
    knockout_match_ids,
    p_advance,
    shootout_win_probability,
)

# No goals in extra time: the level score always goes to the shoot-out.
NO_GOALS = AdvanceParams(et_rate_home=0.0, et_rate_away=0.0, kick_home=0.75, kick_away=0.75)


# --- knockout detection ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "expected"),
    [
        ("Final", True),
        ("3rd Place Final", True),
        ("Quarter-finals", True),
        ("Round of 16", True),
        ("round of 32", True),
        ("Group Stage", False),
        ("Regular Season", False),
        (None, False),
    ],
)
def test_is_knockout(stage: str | None, expected: bool) -> None:
    assert is_knockout(stage) is expected


def match(match_id: int, date: str, home: str, away: str, stage: str, season: int = 1) -> Match:
    """A match-list entry with only what knockout detection reads."""
    return Match(match_id, 72, season, "Cup", "2019", date, None, home, away, 1, 2, 0, 0, stage)


def test_tournament_matches_listed_as_league_rounds_after_three_group_games() -> None:
    # Four teams play a round robin (3 matches each), then a "Regular Season" match between two
    # teams with 3 played each (a mislabelled knockout), then a listed final. A league season
    # with no knockout stage keeps its 4th-round matches as league matches.
    pairs = [("A", "B"), ("C", "D"), ("A", "C"), ("B", "D"), ("A", "D"), ("B", "C")]
    group = [match(i, f"2019-06-0{i}", h, a, "Regular Season") for i, (h, a) in enumerate(pairs)]
    semi = match(10, "2019-06-20", "A", "B", "Regular Season")
    final = match(11, "2019-06-30", "A", "C", "Final")
    league = [match(20 + m.match_id, m.match_date, m.home_team, m.away_team, m.competition_stage,
                    season=2) for m in [*group, semi]]  # fmt: skip
    assert knockout_match_ids([*group, semi, final, *league]) == {10, 11}


# --- shoot-out -------------------------------------------------------------------------------


@cache
def kick_by_kick(ht: int, hs: int, at: int, as_: int, home_next: bool, ph: float, pa: float):
    """An independent reference: the shoot-out kick by kick, stopping as the rules say.

    First five rounds: stop when one side cannot catch up even scoring all its remaining kicks
    of the five. Then sudden death: a level score after a whole round starts another one, won
    by home with s = ph (1 - pa) / (ph (1 - pa) + pa (1 - ph)) (one side scores, the other not).
    """
    if ht <= 5 and at <= 5:
        if hs + (5 - ht) < as_:
            return 0.0
        if as_ + (5 - at) < hs:
            return 1.0
    if ht == at and ht >= 5:
        if hs != as_:
            return float(hs > as_)
        win, lose = ph * (1 - pa), pa * (1 - ph)
        return win / (win + lose)
    if home_next:
        return ph * kick_by_kick(ht + 1, hs + 1, at, as_, False, ph, pa) + (1 - ph) * kick_by_kick(
            ht + 1, hs, at, as_, False, ph, pa
        )
    return pa * kick_by_kick(ht, hs, at + 1, as_ + 1, True, ph, pa) + (1 - pa) * kick_by_kick(
        ht, hs, at + 1, as_, True, ph, pa
    )


def test_level_before_any_kick_is_even_when_both_sides_convert_alike() -> None:
    # By symmetry (same conversion, the order does not change the winner): 0.5.
    assert shootout_win_probability(ShootoutState(), 0.75) == pytest.approx(0.5, abs=1e-12)


def test_home_five_of_five_against_away_three_of_four_is_won() -> None:
    # Away missed 1 of 4: at most 4 after its last kick, home has 5.
    assert shootout_win_probability(ShootoutState(5, 5, 4, 3), 0.75) == 1.0
    assert shootout_win_probability(ShootoutState(4, 3, 5, 5), 0.75) == 0.0


def test_away_needs_its_last_kick_to_survive() -> None:
    # Home 4 of 5, away 3 of 4: away must score its fifth (0.8) to level at 4-4, then sudden
    # death. Equal conversion: s = 0.5, so P(home) = 0.2 + 0.8 * 0.5 = 0.6.
    assert shootout_win_probability(ShootoutState(5, 4, 4, 3), 0.8) == pytest.approx(0.6)
    # Home 0.8, away 0.6: s = 0.8 * 0.4 / (0.8 * 0.4 + 0.6 * 0.2) = 0.32 / 0.44 = 8 / 11,
    # P(home) = 0.4 + 0.6 * 8 / 11 = 0.4 + 4.8 / 11.
    got = shootout_win_probability(ShootoutState(5, 4, 4, 3), 0.8, 0.6)
    assert got == pytest.approx(0.4 + 4.8 / 11)


@pytest.mark.parametrize(
    "state",
    [(0, 0, 0, 0), (1, 1, 1, 0), (2, 1, 1, 1), (3, 3, 3, 1), (4, 2, 4, 3), (6, 5, 5, 5)],
)
@pytest.mark.parametrize("home_first", [True, False])
def test_matches_the_kick_by_kick_recursion(state: tuple, home_first: bool) -> None:
    ht, hs, at, as_ = state
    if ht != at:  # who kicks next follows from the counts
        home_first = ht > at
    home_next = (ht == at) == home_first
    expected = kick_by_kick(ht, hs, at, as_, home_next, 0.8, 0.65)
    assert shootout_win_probability(ShootoutState(*state), 0.8, 0.65) == pytest.approx(expected)


# --- extra time ------------------------------------------------------------------------------


def test_level_extra_time_without_goals_is_the_shootout() -> None:
    p_so = shootout_win_probability(ShootoutState(), 0.8, 0.7)
    got = extra_time_probability(0, 32.0, NO_GOALS, p_so)
    assert got == pytest.approx([p_so])
    # The same through p_advance, in period 3 and at the end of regulation (a sure draw).
    params = AdvanceParams(0.0, 0.0, kick_home=0.8, kick_away=0.7)
    assert p_advance(0, 1, 0, period=3, elapsed_seconds=5500, params=params) == pytest.approx(p_so)
    assert p_advance(0.0, 1.0, 0.0, period=2, params=params) == pytest.approx(p_so)


def test_minutes_left_in_extra_time() -> None:
    params = AdvanceParams(et_stoppage_first=1.0, et_stoppage_second=2.0)
    # Regulation: 15 + 1 + 15 + 2 = 33; 10 min into period 3: 16 - 10 + 17 = 23;
    # 119th minute (period 4, 14 min in): 17 - 14 = 3; past the end: 0; shoot-out: 0.
    got = et_minutes_left([2, 3, 4, 4, 5], [4000, 6000, 7140, 9000, 0], params)
    assert got == pytest.approx([33, 23, 3, 0, 0])


def test_leading_two_one_in_the_119th_minute_nearly_always_advances() -> None:
    # 3 minutes left at 0.01 goals per side-minute: X, Y ~ Poisson(0.03). Home advances unless
    # away scores 2+ more than home (lose), and goes to the shoot-out (0.5) at Y = X + 1:
    # P(Y = X + 1) ~ e^-0.06 (0.03 + 0.03^3 / 2) ~ 0.028265, P(Y >= X + 2) ~ e^-0.06 * 0.03^2 / 2
    # ~ 0.000424, so P = 1 - 0.000424 - 0.028265 / 2 ~ 0.98544.
    params = AdvanceParams(0.01, 0.01, 1.0, 2.0, kick_home=0.7, kick_away=0.7)
    got = p_advance(0, 0, 0, period=4, goal_diff=1, elapsed_seconds=7140, params=params)
    lam = 0.03
    pois = [math.exp(-lam) * lam**k / math.factorial(k) for k in range(12)]
    level = sum(pois[x] * pois[x + 1] for x in range(11))
    lose = sum(pois[x] * pois[y] for x in range(12) for y in range(x + 2, 12))
    assert got == pytest.approx(1 - lose - 0.5 * level, abs=1e-9)
    assert got == pytest.approx(0.98544, abs=1e-5)


def test_after_the_end_zero_or_one() -> None:
    params = AdvanceParams()
    won_in_et = p_advance(0, 0, 0, period=4, goal_diff=1, elapsed_seconds=9000, params=params)
    lost_on_kicks = p_advance(0, 0, 0, period=5, shootout=ShootoutState(5, 3, 5, 4))
    assert (won_in_et, lost_on_kicks) == (1.0, 0.0)


# --- regulation and the column ---------------------------------------------------------------


def test_regulation_adds_half_the_draw_when_sides_are_alike() -> None:
    # Equal ET rates and kicks: from a level 90 minutes each side is as likely: 0.5 + 0.3 / 2.
    assert p_advance(0.5, 0.3, 0.2, period=2, params=AdvanceParams()) == pytest.approx(0.65)


def test_column_nan_for_matches_that_can_end_drawn() -> None:
    rows = pd.DataFrame(
        {
            "period": [2, 2, 3],
            "elapsed_seconds": [3000.0, 3000.0, 5500.0],
            "home_goals": [1, 1, 1],
            "away_goals": [1, 1, 1],
            "competition_stage": ["Group Stage", "Final", "Regular Season"],
        }
    )
    probs = np.array([[0.4, 0.4, 0.2]] * 3)
    got = advance_column(rows, probs, NO_GOALS)
    assert np.isnan(got[0]) and np.isnan(got[2])
    assert got[1] == pytest.approx(0.4 + 0.4 * 0.5)


def test_fit_from_a_table() -> None:
    # Two matches: 3 regulation goals in 2 sides x (95 + 97) minutes, r = 3 / 384 per
    # side-minute. One went to extra time: 1 goal in 2 sides x (16 + 17) = 66 side-minutes;
    # with 66 prior side-minutes: (1 + 66 r) / (66 + 66) = (1 + 198 / 384) / 132.
    # Stoppage 1 and 2; kicks: 7 of 10 scored, (7 + 1) / (10 + 2) = 2 / 3.
    table = pd.DataFrame(
        {
            "reg_home_goals": [2, 0],
            "reg_away_goals": [0, 1],
            "reg_minutes": [95.0, 97.0],
            "et": [False, True],
            "et_home_goals": [0, 1],
            "et_away_goals": [0, 0],
            "et_first_minutes": [0.0, 16.0],
            "et_second_minutes": [0.0, 17.0],
            "so_home_taken": [0, 5],
            "so_home_scored": [0, 4],
            "so_away_taken": [0, 5],
            "so_away_scored": [0, 3],
        }
    )
    params = AdvanceParams.fit(table, prior_minutes=66.0)
    assert params.et_rate_home == pytest.approx((1 + 198 / 384) / 132)
    assert params.et_rate_away == params.et_rate_home
    assert (params.et_stoppage_first, params.et_stoppage_second) == pytest.approx((1.0, 2.0))
    assert params.kick_home == pytest.approx(2 / 3)


def test_binary_scores_by_hand() -> None:
    # p = 0.8 for a 1 and 0.8 for a 0: log loss (-ln 0.8 - ln 0.2) / 2, Brier (0.04 + 0.64) / 2;
    # both in bin 8: mean p 0.8, observed 0.5, ECE 0.3.
    got = binary_scores(np.array([1, 0]), np.array([0.8, 0.8]))
    assert got["log_loss"] == pytest.approx(-(math.log(0.8) + math.log(0.2)) / 2)
    assert got["brier"] == pytest.approx(0.34)
    assert got["ece"] == pytest.approx(0.3)

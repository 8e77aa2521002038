"""Hand-checked football rules: each rule function alone, then through MatchState."""

from __future__ import annotations

import pytest
from fixtures_statsbomb import make_event

from inplay.errors import DataError
from inplay.features import EventError, MatchState, rules
from inplay.features.events import parse_timestamp, read_head, read_shot

H, A = "Home FC", "Away FC"


# --- goals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_name", "outcome", "goals"),
    [
        ("shot", "goal", 1),
        ("shot", "saved", 0),
        ("shot", "off t", 0),
        ("own goal for", None, 1),  # counted for the benefiting side
        ("own goal against", None, 0),  # the same goal seen by the conceding side
        ("pass", None, 0),
    ],
)
def test_goals_scored(type_name, outcome, goals):
    assert rules.goals_scored(type_name, outcome) == goals


def test_on_target_outcomes():
    assert [rules.is_on_target(o) for o in ("goal", "saved", "saved to post")] == [True] * 3
    assert [rules.is_on_target(o) for o in ("post", "off t", "blocked", "wayward", None)] == [
        False
    ] * 5


def test_penalty_shot_type():
    assert rules.is_penalty("penalty")
    assert not rules.is_penalty("open play")
    assert not rules.is_penalty(None)


# --- periods, shoot-out, extra time ----------------------------------------------------------


def test_periods():
    assert [rules.is_regulation(p) for p in (1, 2, 3, 4)] == [True, True, False, False]
    assert [rules.is_shootout(p) for p in (1, 2, 3, 4, 5)] == [False] * 4 + [True]
    assert [rules.period_offset(p) for p in (1, 2, 3, 4, 5)] == [0, 2700, 5400, 6300, 0]


def test_default_minute():
    assert rules.default_minute(1, 59.9) == 0
    assert rules.default_minute(2, 60.0) == 46
    assert rules.default_minute(3, 125.0) == 92
    assert rules.default_minute(4, 0.0) == 105


def test_regulation_clock_and_elapsed_seconds():
    assert rules.regulation_clock(1, 90.0) == 1.5
    assert rules.regulation_clock(1, 47 * 60.0) == 45.0  # first-half stoppage time
    assert rules.regulation_clock(2, 30.0) == 45.5
    assert rules.regulation_clock(2, 50 * 60.0) == 90.0
    assert rules.regulation_clock(3, 10.0) == 90.0  # extra time
    assert rules.elapsed_seconds(2, 30.0) == 2730.0
    assert rules.elapsed_seconds(4, 1.5) == 6301.5


def test_minute_cutoff():
    assert rules.minute_cutoff(0) == (1, 0.0)
    assert rules.minute_cutoff(45) == (1, 2700.0)
    assert rules.minute_cutoff(46) == (2, 60.0)
    assert rules.minute_cutoff(90) == (2, 2700.0)


# --- cards, possession, result ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("cards", "counts"),
    [
        ([None, None], (0, 0)),
        (["yellow card", None], (0, 1)),
        (["second yellow", None], (1, 0)),  # a second yellow is a red card
        ([None, "red card"], (1, 0)),
        (["red card", "yellow card"], (1, 1)),
        (["yellow", "red"], (0, 0)),  # only StatsBomb's names count
    ],
)
def test_card_counts(cards, counts):
    assert rules.card_counts(cards) == counts


def test_possession_shares():
    assert rules.possession_shares(0.0, 0.0) == (50.0, 50.0)
    assert rules.possession_shares(30.0, 10.0) == (75.0, 25.0)
    assert rules.possession_shares(1.0, 2.0) == (33.33, 66.67)
    assert rules.possession_shares(5.0, 0.0) == (100.0, 0.0)


def test_result_letter():
    assert [rules.result_letter(*s) for s in ((2, 1), (1, 1), (0, 3))] == ["H", "D", "A"]


# --- events ----------------------------------------------------------------------------------


def test_event_error_is_a_data_error_and_a_value_error():
    with pytest.raises(DataError):
        parse_timestamp("1:2")
    with pytest.raises(ValueError):
        parse_timestamp(12)
    assert parse_timestamp("01:02:03.500") == 3723.5


def test_read_head_derives_a_missing_minute():
    event = make_event(7, "Pass", H, period=2, minute=47, second=5)
    del event["minute"]
    head = read_head(event)
    assert (head.index, head.period, head.seconds, head.minute) == (7, 2, 125.0, 47)
    assert (head.type_name, head.team) == ("pass", H)


def test_read_shot_skips_the_shootout_and_checks_other_shots():
    shootout = make_event(9, "Shot", H, period=5, minute=120, outcome="Goal")
    shootout["shot"] = None
    assert read_shot(shootout, read_head(shootout)) == (None, 0.0)
    bad = make_event(10, "Shot", H, minute=3, xg=0.2)
    bad["shot"]["statsbomb_xg"] = 1.5
    with pytest.raises(EventError, match=r"not in \[0, 1\]"):
        read_shot(bad, read_head(bad))


# --- the rules through MatchState ------------------------------------------------------------


def apply_all(events: list[dict]) -> tuple[MatchState, list[str]]:
    state = MatchState(1, H, A)
    return state, [state.apply(e) for e in events]


def test_own_goal_counts_for_the_other_side():
    state, _ = apply_all(
        [
            make_event(1, "Own Goal Against", H, minute=10),
            make_event(2, "Own Goal For", A, minute=10),
        ]
    )
    row = state.features()
    assert (row["home_goals"], row["away_goals"]) == (0, 1)
    assert (row["reg_home_goals"], row["reg_away_goals"]) == (0, 1)


def test_shootout_goal_does_not_count():
    state, outcomes = apply_all(
        [
            make_event(1, "Shot", H, minute=30, outcome="Goal", xg=0.4),
            make_event(2, "Shot", A, period=5, minute=120, outcome="Goal", xg=0.76),
        ]
    )
    row = state.features()
    assert outcomes == ["applied", "kick"]  # the kick counts in the shoot-out state only
    assert (row["home_goals"], row["away_goals"], row["away_shots"], row["away_xg"]) == (1, 0, 0, 0)
    assert state.ignored_events == 1


def test_extra_time_goal_counts_but_not_in_regulation():
    state, _ = apply_all(
        [
            make_event(1, "Shot", H, minute=30, outcome="Goal", xg=0.4),
            make_event(2, "Shot", A, period=2, minute=80, outcome="Goal", xg=0.3),
            make_event(3, "Own Goal For", H, period=3, minute=95),
            make_event(4, "Shot", A, period=4, minute=110, outcome="Goal", xg=0.5),
        ]
    )
    row = state.features()
    assert (row["home_goals"], row["away_goals"]) == (2, 2)
    assert (row["reg_home_goals"], row["reg_away_goals"]) == (1, 1)
    assert state.regulation_score == (1, 1)
    assert (row["period"], row["clock"]) == (4, 90.0)


def test_second_yellow_is_a_red_card():
    state, _ = apply_all(
        [
            make_event(1, "Foul Committed", H, minute=20, card="Yellow Card"),
            make_event(2, "Foul Committed", H, minute=60, period=2, card="Second Yellow"),
            make_event(3, "Bad Behaviour", A, minute=70, period=2, card="Red Card"),
        ]
    )
    row = state.features()
    assert (row["home_yellow_cards"], row["home_red_cards"]) == (1, 1)
    assert (row["away_yellow_cards"], row["away_red_cards"]) == (0, 1)


def test_duplicated_event_changes_nothing():
    goal = make_event(5, "Shot", H, minute=30, outcome="Goal", xg=0.4)
    state, outcomes = apply_all([goal, dict(goal), goal])
    assert outcomes == ["applied", "duplicate", "duplicate"]
    row = state.features()
    assert (row["home_goals"], row["home_shots"], row["home_xg"], row["n_events"]) == (1, 1, 0.4, 1)
    assert state.duplicates == 2


def test_penalty_xg_is_left_out_of_non_penalty_xg():
    state, _ = apply_all(
        [
            make_event(1, "Shot", H, minute=30, outcome="Goal", xg=0.76, shot_type="Penalty"),
            make_event(2, "Shot", H, minute=31, outcome="Saved", xg=0.1),
        ]
    )
    row = state.features()
    assert (row["home_xg"], row["home_np_xg"], row["home_shots_on_target"]) == (0.86, 0.1, 2)

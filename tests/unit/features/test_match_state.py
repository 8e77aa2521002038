"""Hand-checked match-state cases: every expected number below was worked out by hand."""

from __future__ import annotations

import random

import pytest
from fixtures_statsbomb import make_event

from inplay.config import PREDICTION_REQUEST_FIELDS
from inplay.features import (
    FEATURE_COLUMNS,
    EventError,
    MatchState,
    features_upto,
    iter_event_snapshots,
    minute_snapshots,
    prediction_request,
    regulation_result,
    sort_events,
)
from inplay.features.shootout import ShootoutState

H, A = "Home FC", "Away FC"


def ev(index, type_name, team, **kw):
    return make_event(index, type_name, team, **kw)


@pytest.fixture
def match_events() -> list[dict]:
    """A match with every rule in it (see the comments for what each event should do)."""
    return [
        ev(1, "Starting XI", H),
        ev(2, "Starting XI", A),
        ev(3, "Half Start", H),
        ev(4, "Pass", H, minute=0, second=10),
        ev(5, "Shot", H, minute=5, xg=0.3, outcome="Goal"),  # 1-0
        ev(6, "Pass", A, minute=6),
        ev(7, "Own Goal Against", A, minute=10),  # the same goal seen by the conceding side
        ev(8, "Own Goal For", H, minute=10),  # 2-0: own goal counted once
        ev(9, "Shot", A, minute=20, xg=0.2, outcome="Saved to Post"),  # on target
        ev(10, "Shot", A, minute=21, xg=0.05, outcome="Post"),  # not on target
        ev(11, "Shot", H, minute=22, xg=0.05, outcome="Saved Off Target"),  # not on target
        ev(12, "Foul Committed", A, minute=30, card="Yellow Card"),
        ev(13, "Foul Committed", A, minute=44, card="Second Yellow"),  # red
        ev(14, "Shot", A, minute=46, second=30, xg=0.5, outcome="Goal"),  # 45+1:30, 2-1
        ev(15, "Half End", H, minute=47),
        ev(16, "Half Start", H, period=2, minute=45),
        ev(17, "Bad Behaviour", H, period=2, minute=60, card="Red Card"),  # red
        ev(18, "Shot", H, period=2, minute=80, xg=0.76, outcome="Goal", shot_type="Penalty"),
        ev(19, "Half End", H, period=2, minute=94),
        ev(20, "Shot", A, period=3, minute=95, xg=0.4, outcome="Goal"),  # extra time: 3-2
        ev(21, "Shot", H, period=5, minute=121, xg=0.76, outcome="Goal"),  # shoot-out: ignored
        ev(22, "Shot", A, period=5, minute=121, xg=0.76, outcome="Saved"),  # shoot-out: ignored
    ]


def final_state(events: list[dict]) -> MatchState:
    state = MatchState(1, H, A)
    for event in events:
        state.apply(event)
    return state


def test_hand_checked_match(match_events):
    state = final_state(sort_events(match_events))
    f = state.features()
    assert (f["home_goals"], f["away_goals"]) == (3, 2)  # extra time counts in the score
    assert (f["reg_home_goals"], f["reg_away_goals"]) == (3, 1)  # periods 1-2 only
    assert (f["home_shots"], f["away_shots"]) == (3, 4)  # events 5, 11, 18 / 9, 10, 14, 20
    assert (f["home_shots_on_target"], f["away_shots_on_target"]) == (2, 3)
    assert f["home_xg"] == pytest.approx(0.3 + 0.05 + 0.76)
    assert f["away_xg"] == pytest.approx(0.2 + 0.05 + 0.5 + 0.4)
    assert f["home_np_xg"] == pytest.approx(0.35)  # the penalty is left out
    assert (f["home_red_cards"], f["away_red_cards"]) == (1, 1)  # straight red, second yellow
    assert f["away_yellow_cards"] == 1
    assert state.ignored_events == 2  # shoot-out kicks
    assert f["period"] == 3 and f["clock"] == 90.0
    assert regulation_result(match_events, H, A) == "H"


def test_request_has_the_eleven_fields(match_events):
    f = features_upto(match_events, 1, H, A, upto_index=8)
    request = prediction_request(f)
    assert tuple(request) == PREDICTION_REQUEST_FIELDS
    assert (request["home_goals"], request["away_goals"]) == (2, 0)
    assert request["current_minute"] == 10
    assert set(FEATURE_COLUMNS) == set(f)
    assert request["home_possession"] + request["away_possession"] == pytest.approx(100.0)


def test_features_upto_unknown_index(match_events):
    with pytest.raises(KeyError, match="index 999"):
        features_upto(match_events, 1, H, A, upto_index=999)


def test_possession_is_time_share_within_periods():
    events = [
        ev(1, "Pass", H, minute=0, possession_team=H),
        ev(2, "Pass", A, minute=1, possession_team=A),  # home had 0:00-1:00 = 60 s
        ev(3, "Pass", H, minute=4, possession_team=H),  # away had 1:00-4:00 = 180 s
        ev(4, "Half End", H, minute=5, possession_team=H),  # home had 4:00-5:00 = 60 s
        ev(5, "Half Start", A, period=2, minute=45, possession_team=A),  # no time across periods
        ev(6, "Pass", H, period=2, minute=45, second=30, possession_team=H),  # away +30 s
    ]
    state = final_state(events[:4])
    assert state.possession() == (40.0, 60.0)  # 120 s v 180 s
    state = final_state(events)
    home = round(100 * 120 / 330, 2)
    assert state.possession() == (home, round(100 - home, 2))
    assert MatchState(1, H, A).possession() == (50.0, 50.0)  # nothing seen yet


def test_stoppage_time_and_minute_snapshots(match_events):
    rows = minute_snapshots(match_events, 1, H, A)
    assert len(rows) == 91 and [r["clock"] for r in rows] == [float(m) for m in range(91)]
    by_minute = {r["clock"]: r for r in rows}
    # The first-half stoppage goal (45+1:30) is not in minute 45, but is in minute 46.
    assert (by_minute[45]["home_goals"], by_minute[45]["away_goals"]) == (2, 0)
    assert (by_minute[46]["home_goals"], by_minute[46]["away_goals"]) == (2, 1)
    assert by_minute[46]["period"] == 2
    # The penalty at 80:00 (period-2 timestamp 35:00) counts from minute 80 on.
    assert by_minute[79]["home_goals"] == 2 and by_minute[80]["home_goals"] == 3
    # Extra time never enters a regulation minute.
    assert by_minute[90]["away_goals"] == 1 and by_minute[90]["away_shots"] == 3


def test_clock_in_stoppage_and_extra_time():
    state = MatchState(1, H, A)
    state.apply(ev(1, "Pass", H, minute=47))  # first-half stoppage
    assert state.clock == 45.0 and state.current_minute == 47
    state.apply(ev(2, "Pass", H, period=2, minute=45))
    assert state.clock == 45.0 and state.current_minute == 45
    state.apply(ev(3, "Pass", H, period=2, minute=93))
    assert state.clock == 90.0
    state.apply(ev(4, "Pass", H, period=3, minute=100))
    assert state.clock == 90.0 and state.period == 3


def test_duplicates_change_nothing(match_events):
    once = final_state(sort_events(match_events))
    twice = MatchState(1, H, A)
    for event in sort_events(match_events):
        assert twice.apply(event) != "duplicate"
        assert twice.apply(dict(event)) == "duplicate"
    assert twice.features() == once.features()
    assert twice.duplicates == len(match_events)


def test_out_of_order_events_keep_counts(match_events):
    ordered = final_state(sort_events(match_events)).features()
    shuffled = list(match_events)
    random.Random(7).shuffle(shuffled)
    state = final_state(shuffled)
    f = state.features()
    counted = [
        c for c in FEATURE_COLUMNS if c.endswith(("goals", "shots", "_target", "xg", "cards"))
    ]
    assert {c: f[c] for c in counted} == {c: ordered[c] for c in counted}
    assert state.late_events > 0


def test_late_event_does_not_move_the_clock_back():
    state = MatchState(1, H, A)
    assert state.apply(ev(2, "Pass", H, minute=30)) == "applied"
    assert state.apply(ev(1, "Shot", A, minute=20, xg=0.4, outcome="Goal")) == "late"
    f = state.features()
    assert f["away_goals"] == 1 and f["away_xg"] == pytest.approx(0.4)
    assert f["current_minute"] == 30 and f["clock"] == 30.0


def test_shootout_only_is_ignored():
    state = MatchState(1, H, A)
    assert state.apply(ev(1, "Shot", H, period=5, minute=120, outcome="Goal")) == "kick"
    assert state.apply(ev(2, "Pass", A, period=5, minute=120)) == "ignored"
    f = state.features()
    assert f["home_goals"] == 0 and f["home_shots"] == 0 and f["n_events"] == 0
    # The kick is counted in the shoot-out state only: home took one and scored it, first.
    assert state.shootout == ShootoutState(1, 1, 0, 0, home_first=True)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda e: e.pop("team"), "team.name"),
        (lambda e: e.update(team={"name": "Nobody FC"}), "neither"),
        (lambda e: e.update(timestamp="soon"), "timestamp"),
        (lambda e: e.update(index="7"), "index"),
        (lambda e: e.update(period=9), "period"),
        (lambda e: e["shot"].update(statsbomb_xg=float("nan")), "statsbomb_xg"),
        (lambda e: e["shot"].update(statsbomb_xg="high"), "statsbomb_xg"),
        (lambda e: e.pop("shot"), "shot"),
        (lambda e: e.update(type={}), "type.name"),
    ],
)
def test_bad_events_raise_and_leave_state_unchanged(change, message):
    state = MatchState(1, H, A)
    state.apply(ev(1, "Pass", H, minute=1))
    before = state.features()
    bad = ev(2, "Shot", H, minute=2, xg=0.2, outcome="Goal")
    change(bad)
    with pytest.raises(EventError, match=message):
        state.apply(bad)
    assert state.features() == before
    assert state.apply(ev(2, "Pass", H, minute=3)) == "applied"  # index 2 not burnt


def test_event_snapshots_one_row_per_applied_event(match_events):
    rows = list(iter_event_snapshots(match_events + [dict(match_events[4])], 1, H, A))
    assert len(rows) == len(match_events) - 2  # shoot-out kicks and the duplicate skipped
    assert [r["n_events"] for r in rows] == list(range(1, len(rows) + 1))
    assert rows[-1]["event_index"] == 20

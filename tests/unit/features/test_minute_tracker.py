"""MinuteTracker: minute snapshots returned one event at a time, checked by hand."""

from __future__ import annotations

import random

import pytest
from fixtures_statsbomb import long_match, make_event

from inplay.features import (
    EventError,
    MatchState,
    MinuteTracker,
    minute_snapshots,
    parse_timestamp,
    sort_events,
)
from inplay.features.rules import minute_cutoff

H, A = "Home FC", "Away FC"


def ev(index: int, type_name: str, team: str = H, **kw) -> dict:
    return make_event(index, type_name, team, **kw)


def push_all(tracker: MinuteTracker, events: list[dict]) -> list[list[dict]]:
    """What each push returned, in push order."""
    return [tracker.push(e) for e in events]


def minutes(rows: list[dict]) -> list[int]:
    return [r["current_minute"] for r in rows]


def reference_snapshots(events: list[dict], match_id: int) -> list[dict]:
    """The definition, computed the slow way: minute m = the state after every regulation
    event at or before ``minute_cutoff(m)``, fed afresh for each minute."""
    ordered = [e for e in sort_events(events) if e["period"] <= 2]
    rows = []
    for minute in range(91):
        state = MatchState(match_id, H, A)
        for e in ordered:
            if (e["period"], parse_timestamp(e["timestamp"])) <= minute_cutoff(minute):
                state.apply(e)
        row = state.features()
        row.update(clock=float(minute), current_minute=minute, period=1 if minute <= 45 else 2)
        rows.append(row)
    return rows


def test_event_exactly_at_a_minute_mark_is_in_that_minute():
    tracker = MinuteTracker(1, H, A)
    got = push_all(
        tracker,
        [
            ev(1, "Pass", minute=0),  # 0:00: minute 0 is not final yet
            ev(2, "Shot", minute=10, xg=0.4, outcome="Goal"),  # 10:00 makes 0..9 final
            ev(3, "Pass", A, minute=10, second=1),  # 10:01 makes 10 final, goal in it
        ],
    )
    assert [minutes(r) for r in got] == [[], list(range(10)), [10]]
    assert [r["home_goals"] for r in got[1]] == [0] * 10
    assert got[1][0]["event_index"] == 1 and got[1][9]["n_events"] == 1
    assert got[2][0]["home_goals"] == 1 and got[2][0]["event_index"] == 2
    assert tracker.next_minute == 11 and not tracker.regulation_over


def test_gap_of_several_minutes_repeats_the_state():
    tracker = MinuteTracker(1, H, A)
    got = push_all(
        tracker, [ev(1, "Pass", minute=1, second=30), ev(2, "Pass", minute=6, second=30)]
    )
    # 1:30 makes minute 0 and 1 final; 6:30 makes 2..6 final, all with the 1:30 state.
    assert [minutes(r) for r in got] == [[0, 1], [2, 3, 4, 5, 6]]
    assert {r["event_index"] for r in got[1]} == {1}
    assert [r["clock"] for r in got[1]] == [2.0, 3.0, 4.0, 5.0, 6.0]
    assert got[1][0] is not got[1][1]  # a fresh dict per minute


def test_second_half_starting_before_45_minutes_of_the_first():
    tracker = MinuteTracker(1, H, A)
    got = push_all(
        tracker,
        [
            ev(1, "Shot", minute=39, xg=0.3, outcome="Goal"),
            ev(2, "Half End", minute=40),  # first half ends at 40:00: makes 0..39 final
            ev(3, "Half Start", period=2, minute=45),  # period-2 0:00: 40..45 are final
            ev(4, "Pass", period=2, minute=46),  # 1:00 into period 2: minute 46 not yet
            ev(5, "Pass", period=2, minute=47),  # 2:00: minute 46 final
        ],
    )
    assert [minutes(r) for r in got] == [
        list(range(39)),
        [39],
        [40, 41, 42, 43, 44, 45],
        [],
        [46],
    ]
    assert [r["period"] for r in got[2]] == [1] * 6 and got[4][0]["period"] == 2
    assert got[2][-1]["home_goals"] == 1 and got[2][-1]["event_index"] == 2


def test_first_half_stoppage_time_is_in_minute_46_not_45():
    tracker = MinuteTracker(1, H, A)
    got = push_all(
        tracker,
        [
            ev(1, "Pass", minute=44, second=50),
            ev(2, "Shot", A, minute=46, second=30, xg=0.5, outcome="Goal"),  # 45+1:30
            ev(3, "Half End", minute=47),
            ev(4, "Half Start", period=2, minute=45),
            ev(5, "Pass", period=2, minute=46, second=1),  # 1:01 into period 2
        ],
    )
    assert [minutes(r) for r in got] == [list(range(45)), [45], [], [], [46]]
    assert got[1][0]["away_goals"] == 0  # minute 45 = 45:00 of the first half
    assert got[4][0]["away_goals"] == 1  # minute 46 holds the stoppage-time goal


def test_period_3_ends_regulation_without_being_applied():
    tracker = MinuteTracker(1, H, A)
    got = push_all(
        tracker,
        [
            ev(1, "Shot", A, period=2, minute=75, xg=0.2, outcome="Goal"),  # 30:00 in
            ev(2, "Shot", H, period=2, minute=92, xg=0.2, outcome="Goal"),  # stoppage 1-1
            ev(3, "Shot", A, period=3, minute=95, xg=0.4, outcome="Goal"),  # extra time
        ],
    )
    # 30:00 makes 0..74 final; 47:00 makes 75..90 final (minute 90 = 45:00, before the
    # stoppage goal); the period-3 event then has nothing left to return.
    assert [minutes(r) for r in got] == [list(range(75)), list(range(75, 91)), []]
    assert (got[1][-1]["home_goals"], got[1][-1]["away_goals"]) == (0, 1)
    assert tracker.regulation_over and tracker.result == "D"
    assert tracker.state.features()["away_goals"] == 1  # the extra-time goal not applied
    assert tracker.push(ev(4, "Pass", period=3, minute=96)) == [] and tracker.finish() == []


def test_period_3_returns_every_remaining_minute():
    tracker = MinuteTracker(1, H, A)
    first = tracker.push(ev(1, "Pass", period=2, minute=75))  # 30:00 into period 2
    rest = tracker.push(ev(2, "Half Start", period=3, minute=90))
    assert minutes(first) == list(range(75)) and minutes(rest) == list(range(75, 91))
    assert tracker.regulation_over and tracker.next_minute == 91


def test_match_end_marker_ends_regulation():
    tracker = MinuteTracker(1, H, A)
    last = ev(1, "Shot", H, period=2, minute=65, xg=0.3, outcome="Goal")  # 20:00 into period 2
    marker = {**last, "index": 2, "type": {"id": 0, "name": "Match End"}}
    marker.pop("shot")
    assert minutes(tracker.push(last)) == list(range(65))
    assert not tracker.regulation_over and tracker.result is None
    rest = tracker.push(marker)  # same clock as the last event: ends regulation anyway
    assert minutes(rest) == list(range(65, 91))
    assert [r["home_goals"] for r in rest] == [1] * 26
    assert tracker.regulation_over and tracker.result == "H"


def test_finish_twice_and_pushes_after_it():
    tracker = MinuteTracker(1, H, A)
    assert minutes(tracker.push(ev(1, "Pass", minute=3))) == [0, 1, 2]
    rest = tracker.finish()
    assert minutes(rest) == list(range(3, 91)) and rest[0]["event_index"] == 1
    assert tracker.finish() == [] and tracker.push(ev(2, "Pass", minute=4)) == []
    assert tracker.state.n_events == 1 and tracker.regulation_over


def test_finish_without_any_event_gives_91_empty_minutes():
    rows = MinuteTracker(7, H, A).finish()
    assert minutes(rows) == list(range(91))
    assert {(r["match_id"], r["n_events"], r["home_goals"]) for r in rows} == {(7, 0, 0)}


def test_bad_event_raises_and_loses_no_row():
    tracker = MinuteTracker(1, H, A)
    tracker.push(ev(1, "Pass", minute=1))
    with pytest.raises(EventError):
        tracker.push(ev(2, "Pass", "Nobody FC", minute=5))  # unknown team
    with pytest.raises(EventError):
        tracker.push({"index": 3, "period": 1, "timestamp": "bad"})
    with pytest.raises(EventError):
        tracker.push({"index": 4, "period": 3})  # ends regulation only once checked
    assert tracker.next_minute == 1 and not tracker.regulation_over
    assert minutes(tracker.push(ev(5, "Pass", minute=4))) == [1, 2, 3]


def test_duplicate_and_late_events_follow_match_state():
    tracker = MinuteTracker(1, H, A)
    goal = ev(2, "Shot", minute=2, xg=0.3, outcome="Goal")
    got = push_all(
        tracker,
        [
            ev(1, "Pass", minute=5),
            ev(3, "Shot", A, minute=1, xg=0.1, outcome="Goal"),  # late: joins minute 5 on
            goal,
            goal,  # duplicate: nothing
            ev(4, "Pass", minute=6, second=1),
        ],
    )
    assert [minutes(r) for r in got] == [[0, 1, 2, 3, 4], [], [], [], [5, 6]]
    assert (got[4][0]["home_goals"], got[4][0]["away_goals"]) == (1, 1)
    assert tracker.state.duplicates == 1 and tracker.state.late_events == 2


@pytest.mark.parametrize("seed", [1, 2])
def test_minute_snapshots_equal_the_definition_and_the_tracker(seed: int):
    events = long_match(H, A, seed)  # two halves, goals, cards, stoppage time
    events.append(ev(len(events) + 1, "Shot", A, period=3, minute=95, outcome="Goal"))
    rows = minute_snapshots(random.Random(seed).sample(events, len(events)), 5, H, A)
    assert rows == reference_snapshots(events, 5)
    tracker = MinuteTracker(5, H, A)
    streamed = [row for e in sort_events(events) for row in tracker.push(e)]
    assert streamed + tracker.finish() == rows and minutes(rows) == list(range(91))

"""Minute snapshots, offline and streamed, on whole real matches (skipped without the data)."""

from __future__ import annotations

import pytest

from inplay.data.statsbomb import Match, StatsBombData, shared_data_dir
from inplay.features import MinuteTracker, minute_snapshots, sort_events
from inplay.live.replay import matchday

pytestmark = pytest.mark.shared_data


def _sample(data: StatsBombData) -> list[Match]:
    """Every World Cup knockout match (most extra time and shoot-outs) and 3 of each other
    competition, spread over its seasons."""
    matches = data.matches()
    chosen = [m for m in matches if m.competition_id == 43 and m.competition_stage != "Group Stage"]
    for competition in sorted({m.competition_id for m in matches} - {43}):
        listed = [m for m in matches if m.competition_id == competition]
        chosen += listed[:: max(1, len(listed) // 3)][:3]
    return chosen


@pytest.fixture(scope="module")
def real_matches() -> list[tuple[Match, list[dict]]]:
    root = shared_data_dir()
    if root is None:
        pytest.skip("StatsBomb shared data not found (set INPLAY_DATA_DIR)")
    data = StatsBombData(root)
    return list(data.iter_events(_sample(data), progress=False))


def _streamed(match: Match, events: list[dict]) -> list[dict]:
    """Feed the tracker one event at a time, then finish."""
    tracker = MinuteTracker(match.match_id, match.home_team, match.away_team)
    rows = [row for event in events for row in tracker.push(event)]
    return rows + tracker.finish()


def test_tracker_equals_minute_snapshots_on_real_matches(real_matches) -> None:
    assert len(real_matches) >= 40
    assert len({m.competition_id for m, _ in real_matches}) == 6
    extra_time = 0
    for match, events in real_matches:
        offline = minute_snapshots(events, match.match_id, match.home_team, match.away_team)
        assert [r["current_minute"] for r in offline] == list(range(91))
        assert _streamed(match, sort_events(events)) == offline, match.match_id
        replayed = [event for _, _, event in matchday([(match, events)], end_markers=True)]
        assert replayed[-1]["type"]["name"] == "Match End"
        assert _streamed(match, replayed) == offline, match.match_id
        extra_time += any(e["period"] >= 3 for e in events)
    assert extra_time >= 5  # the end of regulation at a period-3 event is exercised


def test_replay_rows_are_returned_once_regulation_is_over(real_matches) -> None:
    """In replay order the 91st row comes with the first event after regulation (period 3 or
    the end marker), never later."""
    for match, events in real_matches[:6]:
        tracker = MinuteTracker(match.match_id, match.home_team, match.away_team)
        for _, _, event in matchday([(match, events)], end_markers=True):
            tracker.push(event)
            if event["period"] >= 3 or event["type"]["name"] == "Match End":
                break
            assert not tracker.regulation_over
        assert tracker.regulation_over and tracker.next_minute == 91
        assert tracker.finish() == []

"""The feature code on every real match (skipped when the StatsBomb data is absent)."""

from __future__ import annotations

import pytest

from inplay.data.statsbomb import StatsBombData, shared_data_dir
from inplay.features import MatchState, sort_events

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def real() -> StatsBombData:
    root = shared_data_dir()
    if root is None:
        pytest.skip("StatsBomb shared data not found (set INPLAY_DATA_DIR)")
    return StatsBombData(root)


def test_scores_from_events_equal_listed_scores(real: StatsBombData) -> None:
    """Goals after the last period-2 event are the regulation score, for every match.

    The match lists' scores include extra time and exclude shoot-outs, so: without extra time
    the regulation score equals the listed one; with extra time the match was level after 90
    minutes and the score after period 4 equals the listed one.
    """
    problems = []
    extra_time = shootouts = 0
    for match, events in real.iter_events(real.matches(), progress=True):
        state = MatchState(match.match_id, match.home_team, match.away_team)
        regulation = None
        for event in sort_events(events):
            state.apply(event)
            if event["period"] <= 2:
                regulation = (state.features()["home_goals"], state.features()["away_goals"])
        final = state.features()
        listed = (match.home_score, match.away_score)
        periods = {e["period"] for e in events}
        own_for = sum(e["type"]["name"] == "Own Goal For" for e in events)
        own_against = sum(e["type"]["name"] == "Own Goal Against" for e in events)
        if 3 in periods:
            extra_time += 1
            if regulation[0] != regulation[1]:
                problems.append((match.match_id, "extra time after an unlevel 90", regulation))
        elif regulation != listed:
            problems.append((match.match_id, "regulation", regulation, listed))
        if (final["home_goals"], final["away_goals"]) != listed:
            problems.append((match.match_id, "final", final, listed))
        if (final["reg_home_goals"], final["reg_away_goals"]) != regulation:
            problems.append((match.match_id, "reg goals", final, regulation))
        if own_for != own_against:
            problems.append((match.match_id, "own goals", own_for, own_against))
        shootouts += 5 in periods
    assert real.bad_files == []
    assert problems == []
    # SOURCE.md of the shared data: 15 matches went to extra time, 11 to a shoot-out.
    assert (extra_time, shootouts) == (15, 11)

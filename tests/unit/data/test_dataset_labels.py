"""Training labels: the regulation result counts goals scored in stoppage time."""

from __future__ import annotations

from fixtures_statsbomb import make_event

from inplay.data.dataset import build_match_rows
from inplay.data.statsbomb import Match


def _match() -> Match:
    return Match(
        match_id=7,
        match_date="2022-11-20",
        kick_off=None,
        competition_id=43,
        competition="FIFA World Cup",
        season_id=106,
        season="2022",
        home_team="Lions FC",
        away_team="Tigers FC",
        home_team_id=1,
        away_team_id=2,
        home_score=1,
        away_score=1,
        competition_stage="Group Stage",
    )


def test_an_equaliser_in_stoppage_time_makes_the_label_a_draw():
    events = [
        make_event(1, "Half Start", "Lions FC", period=1, minute=0),
        make_event(2, "Shot", "Lions FC", period=1, minute=30, outcome="Goal"),
        make_event(3, "Half End", "Lions FC", period=1, minute=45, second=30),
        make_event(4, "Half Start", "Lions FC", period=2, minute=45),
        # 90+2: after the minute-90 snapshot (the state at 90:00, 1-0).
        make_event(5, "Shot", "Tigers FC", period=2, minute=92, outcome="Goal"),
        make_event(6, "Half End", "Lions FC", period=2, minute=94),
    ]
    minute_rows, event_rows = build_match_rows(_match(), events)
    assert len(minute_rows) == 91
    last = minute_rows[-1]
    assert (last["reg_home_goals"], last["reg_away_goals"]) == (1, 0)  # 90:00
    assert {row["result"] for row in minute_rows + event_rows} == {"D"}
    assert {(r["reg_final_home_goals"], r["reg_final_away_goals"]) for r in minute_rows} == {(1, 1)}

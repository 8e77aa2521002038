"""The replay schedule: matches interleaved on one clock, each in match-clock order."""

from __future__ import annotations

import orjson
from fixtures_statsbomb import make_event, make_match

from inplay.data.statsbomb import Match
from inplay.live.replay import encode_event, match_timeline, matchday


def match(match_id: int, home: str, away: str) -> Match:
    return Match.from_statsbomb(make_match(match_id, home, away))


def events(home: str, away: str, minutes: list[int]) -> list[dict]:
    return [
        make_event(i + 1, "Pass", home if i % 2 else away, minute=m) for i, m in enumerate(minutes)
    ]


def test_timeline_puts_periods_back_to_back():
    evs = [
        make_event(1, "Pass", "A", minute=10),
        make_event(2, "Pass", "A", minute=47),  # first-half stoppage: 47:00 of period 1
        make_event(3, "Pass", "A", period=2, minute=45),  # 00:00 of period 2
        make_event(4, "Pass", "A", period=2, minute=50),
    ]
    times = [t for t, _ in match_timeline(list(reversed(evs)))]
    assert times == [600.0, 47 * 60.0, 47 * 60.0, 47 * 60.0 + 300.0]
    # With a half-time break the second half starts later.
    times = [t for t, _ in match_timeline(evs, break_seconds=900)]
    assert times[2] == 47 * 60.0 + 900


def test_matchday_interleaves_and_keeps_each_match_in_order():
    a, b = match(1, "A1", "A2"), match(2, "B1", "B2")
    day = list(matchday([(a, events("A1", "A2", [0, 5, 30])), (b, events("B1", "B2", [1, 20]))]))
    assert [(m.match_id, e["index"]) for _, m, e in day] == [(1, 1), (2, 1), (1, 2), (2, 2), (1, 3)]
    assert [t for t, _, _ in day] == sorted(t for t, _, _ in day)
    # Each event keeps its own match (no mix-up between the interleaved streams).
    for _, m, e in day:
        assert e["team"]["name"][0] == ("A" if m.match_id == 1 else "B")


def test_stagger_delays_later_kickoffs():
    a, b = match(1, "A1", "A2"), match(2, "B1", "B2")
    day = list(matchday([(a, events("A1", "A2", [0])), (b, events("B1", "B2", [0]))], stagger=60))
    assert [(t, m.match_id) for t, m, _ in day] == [(0.0, 1), (60.0, 2)]


def test_encoded_message_is_the_event_plus_match_fields():
    m = match(7, "Home", "Away")
    event = make_event(3, "Shot", "Home", minute=12, xg=0.2, outcome="Saved")
    key, value = encode_event(event, m, sent_at=123.5)
    body = orjson.loads(value)
    assert key == b"7"
    assert {k: body[k] for k in event} == event
    assert (body["match_id"], body["home_team"], body["away_team"], body["sent_at"]) == (
        7,
        "Home",
        "Away",
        123.5,
    )

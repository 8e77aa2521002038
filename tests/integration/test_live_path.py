"""Replay -> broker -> scorer, against a real broker (embedded, or KAFKA_BOOTSTRAP_SERVERS)."""

from __future__ import annotations

import base64
import uuid

import orjson
import pandas as pd
import pytest
from fixtures_statsbomb import make_event, make_match, write_open_data

from inplay.data.statsbomb import StatsBombData, shared_data_dir
from inplay.features import FEATURE_COLUMNS, iter_event_snapshots, minute_snapshots
from inplay.kafka import io as kafka_io
from inplay.live import messages
from inplay.live.replay import replay
from inplay.live.scorer import Scorer
from inplay.models import make_model

pytestmark = pytest.mark.kafka


def synthetic_match(match_id: int, home: str, away: str) -> list[dict]:
    """A short match: two goals, a red card, a stoppage-time event and a shoot-out kick."""
    events = [
        make_event(1, "Starting XI", home),
        make_event(2, "Starting XI", away),
        make_event(3, "Half Start", home),
    ]
    index = 4
    for minute in range(0, 46, 3):
        team = home if minute % 2 else away
        events.append(make_event(index, "Pass", team, minute=minute, second=5))
        index += 1
    events += [
        make_event(index, "Shot", home, minute=20, xg=0.4, outcome="Goal"),
        make_event(index + 1, "Foul Committed", away, minute=30, card="Red Card"),
        make_event(index + 2, "Pass", away, minute=47),
        make_event(index + 3, "Half Start", home, period=2, minute=45),
        make_event(index + 4, "Shot", away, period=2, minute=70, xg=0.2, outcome="Goal"),
        make_event(index + 5, "Pass", home, period=2, minute=91),
        make_event(index + 6, "Shot", home, period=5, minute=121, outcome="Goal"),
    ]
    return events


@pytest.fixture
def mini_data(tmp_path) -> StatsBombData:
    matches = [make_match(101, "Home FC", "Away FC", 1, 1), make_match(102, "Red FC", "Blue FC")]
    events = {
        101: synthetic_match(101, "Home FC", "Away FC"),
        102: synthetic_match(102, "Red FC", "Blue FC"),
    }
    return StatsBombData(write_open_data(tmp_path / "opendata", matches, events))


@pytest.fixture
def simple_model(mini_data):
    rows = []
    for match in mini_data.matches():
        for row in minute_snapshots(
            mini_data.events(match.match_id), match.match_id, match.home_team, match.away_team
        ):
            rows.append({**row, "result": "H" if match.match_id == 101 else "D"})
    return make_model("climatology").fit(pd.DataFrame(rows))


def topic_set(fresh_topics) -> dict[str, str]:
    events, requests, results, monitoring = fresh_topics(
        "events", "requests", "results", "monitoring"
    )
    return {
        "events_topic": events,
        "requests_topic": requests,
        "results_topic": results,
        "monitoring_topic": monitoring,
    }


def produce(bootstrap: str, topic: str, messages: list[tuple[bytes, bytes]]) -> None:
    producer = kafka_io.make_producer(bootstrap)
    for key, value in messages:
        producer.send(topic, key=key, value=value)
    producer.flush()
    producer.close()


def decoded(records, kind: str | None = None) -> list[dict]:
    """The messages, each checked against its kind's schema (monitoring: by its ``kind``)."""
    bodies = [orjson.loads(r.value) for r in records]
    for body in bodies:
        messages.validate(kind or body.get("kind"), body)
    return bodies


POISON = [
    (b"101", b"this is not json"),
    (b"101", b"[1, 2, 3]"),
    (b"999", b'{"match_id": 999, "index": 1}'),  # no teams and never seen: unknown match
    (b"101", b'{"match_id": "101", "home_team": "Home FC", "away_team": "Away FC"}'),
    (
        b"998",
        orjson.dumps(
            {
                **make_event(1, "Shot", "Nobody FC", minute=5),
                "match_id": 998,
                "home_team": "Home FC",
                "away_team": "Away FC",
            }
        ),
    ),
    (b"101", b'{"match_id": 101, "home_team": "Home FC", "away_team": "Away FC", "xg": NaN}'),
    (  # a well-formed event, but match 101 already ended (the replay sent its end marker)
        b"101",
        orjson.dumps(
            {
                **make_event(500, "Pass", "Home FC", period=2, minute=93),
                "match_id": 101,
                "home_team": "Home FC",
                "away_team": "Away FC",
            }
        ),
    ),
]


def test_replay_score_quarantine_and_commit(kafka_bootstrap, fresh_topics, mini_data, simple_model):
    topics = topic_set(fresh_topics)
    matches = mini_data.matches()
    stats = replay(
        mini_data, matches, topic=topics["events_topic"], bootstrap=kafka_bootstrap, progress=False
    )
    n_events = sum(len(mini_data.events(m.match_id)) for m in matches)
    assert stats.events == n_events and stats.matches == 2
    produce(kafka_bootstrap, topics["events_topic"], POISON)

    group = f"test-scorer-{uuid.uuid4().hex[:8]}"
    scorer = Scorer(
        simple_model, bootstrap=kafka_bootstrap, group_id=group, stats_interval=1.0, **topics
    )
    result = scorer.run(idle_timeout=8, progress=False)

    # Counts reconcile: every message is scored, ignored (shoot-out), an end-of-match marker
    # or quarantined.
    assert stats.markers == 2
    assert result.consumed == n_events + stats.markers + len(POISON)
    assert result.quarantined == len(POISON)
    assert result.ignored == 2  # one shoot-out kick per match
    assert result.ended == 2
    assert result.scored == n_events - 2
    assert result.consumed == (
        result.scored + result.ignored + result.quarantined + result.duplicates + result.ended
    )
    assert scorer.states == {}  # both matches ended: their state was evicted

    # Quarantined messages carry a reason and the original bytes.
    monitoring = decoded(kafka_io.read_topic(topics["monitoring_topic"], kafka_bootstrap))
    quarantined = [m for m in monitoring if m["kind"] == "quarantine"]
    assert sorted(base64.b64decode(m["value_base64"]) for m in quarantined) == sorted(
        v for _, v in POISON
    )
    reasons = " | ".join(m["reason"] for m in quarantined)
    for expected in (
        "not JSON",
        "not a JSON object",
        "unknown match 999",
        "match_id",
        "Nobody FC",
        "match 101 already ended",
    ):
        assert expected in reasons
    assert any(m["kind"] == "stats" and m["quarantined"] == len(POISON) for m in monitoring)

    # Predictions: keyed by match id, probabilities sum to 1, in match order per partition.
    records = kafka_io.read_topic(topics["results_topic"], kafka_bootstrap)
    assert len(records) == result.scored
    by_match: dict[int, list[int]] = {}
    for record in records:
        body = messages.validate("prediction_result", record.value)
        assert record.key == str(body["match_id"]).encode()
        assert body["p_home"] + body["p_draw"] + body["p_away"] == pytest.approx(1.0, abs=1e-5)
        assert body["model_version"] == scorer.model_version
        by_match.setdefault(body["match_id"], []).append(body["event_index"])
    for match in matches:
        expected = [
            r["event_index"]
            for r in iter_event_snapshots(
                mini_data.events(match.match_id), match.match_id, match.home_team, match.away_team
            )
        ]
        assert by_match[match.match_id] == expected

    requests = decoded(
        kafka_io.read_topic(topics["requests_topic"], kafka_bootstrap), "prediction_request"
    )
    assert len(requests) == result.scored  # each checked against the request schema

    # Offsets were committed: a new worker in the same group has nothing left to do.
    again = Scorer(simple_model, bootstrap=kafka_bootstrap, group_id=group, **topics).run(
        idle_timeout=5, progress=False
    )
    assert again.consumed == 0


def test_max_events_stops_the_worker(kafka_bootstrap, fresh_topics, mini_data, simple_model):
    topics = topic_set(fresh_topics)
    replay(
        mini_data,
        mini_data.matches(),
        topic=topics["events_topic"],
        bootstrap=kafka_bootstrap,
        progress=False,
    )
    scorer = Scorer(
        simple_model, bootstrap=kafka_bootstrap, group_id=f"g-{uuid.uuid4().hex[:8]}", **topics
    )
    assert scorer.run(max_events=10, idle_timeout=20, progress=False).consumed == 10


def test_replay_max_events_and_message_shape(kafka_bootstrap, fresh_topics, mini_data):
    (topic,) = fresh_topics("events")
    stats = replay(
        mini_data,
        mini_data.matches(),
        topic=topic,
        bootstrap=kafka_bootstrap,
        max_events=7,
        progress=False,
    )
    assert stats.events == 7
    records = kafka_io.read_topic(topic, kafka_bootstrap)
    assert len(records) == 7
    for record in records:
        body = orjson.loads(record.value)
        assert record.key == str(body["match_id"]).encode()
        assert {
            "id",
            "index",
            "period",
            "timestamp",
            "type",
            "team",
            "home_team",
            "away_team",
            "sent_at",
        } <= set(body)


@pytest.mark.shared_data
def test_live_features_equal_offline_features(kafka_bootstrap, fresh_topics, simple_model):
    """Three whole real matches: the requests the scorer publishes equal the offline rows."""
    root = shared_data_dir()
    if root is None:
        pytest.skip("StatsBomb shared data not found (set INPLAY_DATA_DIR)")
    data = StatsBombData(root)
    # The 2022 World Cup final (extra time, shoot-out), a 2018 final and a WSL match.
    wanted = [3869685, 8658, 19714]
    matches = [m for m in data.matches(match_ids=wanted)]
    if len(matches) < 3:
        matches = data.matches()[:3]
    topics = topic_set(fresh_topics)
    replay(data, matches, topic=topics["events_topic"], bootstrap=kafka_bootstrap, progress=False)
    scorer = Scorer(
        simple_model, bootstrap=kafka_bootstrap, group_id=f"g-{uuid.uuid4().hex[:8]}", **topics
    )
    stats = scorer.run(idle_timeout=10, progress=False)
    assert stats.quarantined == 0

    live: dict[int, list[dict]] = {}
    requests = kafka_io.read_topic(topics["requests_topic"], kafka_bootstrap, timeout=60)
    for body in decoded(requests, "prediction_request"):
        live.setdefault(body["match_id"], []).append({c: body[c] for c in FEATURE_COLUMNS})
    assert sorted(live) == sorted(m.match_id for m in matches)
    for match in matches:
        events = data.events(match.match_id)
        offline = list(
            iter_event_snapshots(events, match.match_id, match.home_team, match.away_team)
        )
        # A knockout match's shoot-out kicks are scored live (the state before the shoot-out
        # with the kick's index); the offline rows skip them.
        kicks = {e["index"] for e in events if e["period"] == 5 and e["type"]["name"] == "Shot"}
        rows = [r for r in live[match.match_id] if r["event_index"] not in kicks]
        assert len(live[match.match_id]) - len(rows) == len(kicks)  # these are knockout
        assert len(rows) == len(offline)
        assert rows == offline, f"match {match.match_id} differs"

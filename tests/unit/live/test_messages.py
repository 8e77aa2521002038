"""The message kinds of the live path: committed schemas, validation, what the scorer builds."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import orjson
import pytest

from inplay.features import FEATURE_COLUMNS, MatchState
from inplay.kafka.clients import Record
from inplay.live import messages
from inplay.live.batch import BatchScorer
from inplay.live.stats import ScoreStats, keep_latest_stats, percentiles, stats_body

SCHEMAS = Path(__file__).resolve().parents[3] / "docs" / "schemas"


def test_committed_schemas_are_the_generated_ones(tmp_path):
    """docs/schemas is generated: `python -m inplay.live.messages --write docs/schemas`."""
    written = messages.write_schemas(tmp_path)
    assert sorted(p.name for p in SCHEMAS.glob("*.schema.json")) == sorted(p.name for p in written)
    for path in written:
        committed = SCHEMAS / path.name
        assert committed.read_text() == path.read_text(), (
            f"{committed} is stale: run `python -m inplay.live.messages --write docs/schemas`"
        )


def test_every_schema_is_a_valid_schema():
    for kind in messages.KINDS:
        schema = messages.schema(kind)
        jsonschema.validators.validator_for(schema).check_schema(schema)
        assert schema["required"] == list(messages.KINDS[kind].names)


def test_request_fields_are_the_feature_columns_the_teams_and_the_venue():
    assert messages.REQUEST.names == (
        *FEATURE_COLUMNS,
        "home_team",
        "away_team",
        "neutral",
        "knockout",
    )


class _Model:
    version = "fixed-1"

    def predict_proba(self, frame):
        import numpy as np

        return np.tile([0.5, 0.3, 0.2], (len(frame), 1))


def _event(index: int, **extra) -> dict:
    return {
        "index": index,
        "period": 1,
        "timestamp": f"00:{index:02d}:00.000",
        "minute": index,
        "second": 0,
        "type": {"id": 30, "name": "Pass"},
        "team": {"id": 1, "name": "Home"},
        "match_id": 5,
        "home_team": "Home",
        "away_team": "Away",
        "sent_at": 1.0,
        **extra,
    }


def _scored() -> tuple[BatchScorer, list[tuple[str, bytes, bytes]]]:
    scorer = BatchScorer(
        _Model(), requests_topic="req", results_topic="res", monitoring_topic="mon"
    )
    records = [Record("ev", 0, n, b"5", orjson.dumps(_event(n + 1))) for n in range(3)]
    records.append(Record("ev", 0, 3, b"5", b"not json"))
    return scorer, scorer.process(records)


def test_what_the_scorer_builds_fits_the_schemas():
    scorer, out = _scored()
    kinds = {"req": "prediction_request", "res": "prediction_result", "mon": "quarantine"}
    for topic, _key, value in out:
        messages.validate(kinds[topic], value)
    assert [t for t, _, _ in out].count("res") == 3
    body = stats_body(
        scorer.stats,
        worker="w",
        model_version="fixed-1",
        interval=1.0,
        consumed_then=0,
        lag={"0": 1},
        live_matches=1,
        partitions=[0],
        client="kafka-python",
    )
    assert messages.validate("stats", body)["consumed"] == 4


def test_result_message_has_the_table_order_and_sums_to_one():
    state = MatchState(5, "Home", "Away")
    state.apply(_event(1))
    probs = messages.rounded_probabilities([0.3333333, 0.3333333, 0.3333334])
    body = messages.result_message(
        state.features(),
        _event(1),
        probs,
        model_version="m",
        latency_ms=None,
        processing_ms=0.1,
        scored_at=2.0,
    )
    assert tuple(body) == messages.RESULT.names
    assert sum(probs) == pytest.approx(1.0, abs=1e-9)
    messages.validate("prediction_result", body)


@pytest.mark.parametrize(
    ("kind", "change"),
    [
        ("prediction_result", {"p_home": "0.5"}),  # a string
        ("prediction_result", {"p_home": 1.5}),  # above 1
        ("prediction_result", {"event_index": None}),
        ("prediction_request", {"home_goals": 1.5}),
        ("quarantine", {"kind": "stats"}),
        ("quarantine", {"offset": "3"}),
    ],
)
def test_bad_messages_are_rejected(kind, change):
    _scorer, out = _scored()
    topic = {"prediction_result": "res", "prediction_request": "req", "quarantine": "mon"}[kind]
    body = orjson.loads(next(v for t, _, v in out if t == topic))
    messages.validate(kind, body)
    with pytest.raises(jsonschema.ValidationError):
        messages.validate(kind, {**body, **change})


def test_missing_fields_and_non_objects_are_rejected():
    _scorer, out = _scored()
    body = orjson.loads(next(v for t, _, v in out if t == "res"))
    del body["scored_at"]
    with pytest.raises(jsonschema.ValidationError, match="scored_at"):
        messages.validate("prediction_result", body)
    with pytest.raises(jsonschema.ValidationError):
        messages.validate("stats", b"[1, 2]")
    with pytest.raises(KeyError):
        messages.validate("no-such-kind", {})


def test_decode():
    assert messages.decode(b'{"a": 1}') == {"a": 1}
    assert messages.decode(b"[1]") is None
    assert messages.decode(b"nope") is None
    assert messages.decode(None) is None


def test_keep_latest_stats_keeps_the_newest_per_worker():
    latest: dict[str, dict] = {}
    first = {"kind": "stats", "worker": "a", "at": 10.0}
    assert keep_latest_stats(latest, first) is None
    assert keep_latest_stats(latest, {"kind": "stats", "worker": "a", "at": 5.0}) is None
    assert latest["a"] is first  # an older message read late is not kept
    newer = {"kind": "stats", "worker": "a", "at": 11.0}
    assert keep_latest_stats(latest, newer) is first and latest["a"] is newer
    assert keep_latest_stats(latest, {"kind": "quarantine", "worker": "a"}) is None
    keep_latest_stats(latest, {"kind": "stats", "worker": "b", "at": 1.0})
    assert sorted(latest) == ["a", "b"]


def test_percentiles():
    assert percentiles([]) == {"p50": None, "p95": None, "p99": None}
    assert percentiles([1.0, float("nan"), 3.0], (50,)) == {"p50": 2.0}
    assert percentiles([1.0, 2.0, 4.0], (100,), digits=1) == {"p100": 4.0}
    assert ScoreStats().as_dict()["latency_ms"] == {"p50": None, "p95": None, "p99": None}

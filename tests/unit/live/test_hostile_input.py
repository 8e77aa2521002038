"""Hostile input at the edge: each bad record is quarantined with a clear reason, nothing else is
lost, and the worker's memory stays bounded.

Every case goes through ``Scorer.process``, the entry the worker's run loop uses (no broker),
between two good events of the same match, which must both still be scored.
"""

from __future__ import annotations

import base64
import hashlib
import tracemalloc

import numpy as np
import orjson
import pytest
from fixtures_statsbomb import make_event

from inplay import config
from inplay.kafka.clients import Record
from inplay.live import messages
from inplay.live.parse import DEFAULT_MAX_EVENT_BYTES, MIN_MAX_EVENT_BYTES, max_event_bytes
from inplay.live.scorer import Scorer

MATCH = 5
KEY = b"5"
MIB = 2**20


class _Fixed:
    """A model that always says 50/30/20 (the probabilities do not matter here)."""

    version = "fixed-1"

    def predict_proba(self, frame):
        return np.tile([0.5, 0.3, 0.2], (len(frame), 1))


def event(index: int, **extra) -> dict:
    """A valid pass of match 5 (Home v Away) at minute ``index``."""
    return {
        **make_event(index, "Pass", "Home", minute=index),
        "match_id": MATCH,
        "home_team": "Home",
        "away_team": "Away",
        **extra,
    }


def padded(index: int, size: int) -> bytes:
    """A valid event of exactly ``size`` bytes (a long string field fills it up)."""
    bare = len(orjson.dumps(event(index, pad="")))
    value = orjson.dumps(event(index, pad="x" * (size - bare)))
    assert len(value) == size
    return value


def nested(depth: int) -> bytes:
    """A valid event with an object ``depth`` levels deep in one field."""
    inner = b'{"a":' * depth + b"1" + b"}" * depth
    return orjson.dumps(event(2))[:-1] + b',"deep":' + inner + b"}"


def make_scorer() -> Scorer:
    """A scoring worker as the run loop has it, fed by hand (no broker)."""
    return Scorer(
        _Fixed(),
        events_topic="ev",
        results_topic="res",
        requests_topic="req",
        monitoring_topic="mon",
    )


@pytest.fixture
def scorer(monkeypatch) -> Scorer:
    monkeypatch.delenv("INPLAY_MAX_EVENT_BYTES", raising=False)
    monkeypatch.delenv("INPLAY_SETTINGS_FILE", raising=False)
    return make_scorer()


def around(key: bytes | None, value: bytes | None, index: int = 2) -> list[Record]:
    """Good event ``index - 1``, the record under test, good event ``index + 1``."""
    return [
        Record("ev", 0, 0, KEY, orjson.dumps(event(index - 1))),
        Record("ev", 0, 1, key, value),
        Record("ev", 0, 2, KEY, orjson.dumps(event(index + 1))),
    ]


_JSON_TYPES = {"string": str, "integer": int, "number": int | float, "boolean": bool}


def fits_quarantine_schema(body: dict) -> None:
    """The quarantine kind's fields, in order, with their JSON types (test_messages.py checks
    the same messages with jsonschema, whose import alone takes seconds)."""
    assert tuple(body) == messages.QUARANTINE.names
    for field in messages.QUARANTINE.fields:
        value = body[field.name]
        if value is None and field.nullable:
            continue
        assert isinstance(value, _JSON_TYPES[field.type]), field.name
        assert field.type == "boolean" or not isinstance(value, bool), field.name


def quarantined(scorer: Scorer, key: bytes | None, value: bytes | None) -> dict:
    """Process the record between two good ones; its quarantine message (checked)."""
    out = scorer.process(around(key, value))
    results = [orjson.loads(v) for topic, _, v in out if topic == "res"]
    assert [r["event_index"] for r in results] == [1, 3]  # nothing lost around it
    for topic, kafka_key, _ in out:
        assert kafka_key == KEY or topic == "mon"
    (body,) = [orjson.loads(v) for topic, _, v in out if topic == "mon"]
    (quarantine_key,) = [k for topic, k, _ in out if topic == "mon"]
    stats = scorer.stats
    assert (stats.consumed, stats.scored, stats.quarantined) == (3, 2, 1)
    fits_quarantine_schema(body)
    raw = value or b""
    assert body["value_bytes"] == len(raw)
    assert body["value_sha256"] == hashlib.sha256(raw).hexdigest()
    assert body["offset"] == 1
    message_size = len(orjson.dumps(body)) + len(quarantine_key)
    assert message_size <= max_event_bytes()  # it fits where the record did
    return body


# -- each hostile record: its exact reason -----------------------------------------------------


def test_a_10_mb_event_is_refused_by_its_size_unparsed(scorer):
    value = padded(2, 10 * MIB)
    body = quarantined(scorer, KEY, value)
    assert body["reason"] == (
        f"event too large: {10 * MIB} bytes, over the limit of {DEFAULT_MAX_EVENT_BYTES} "
        "(INPLAY_MAX_EVENT_BYTES)"
    )
    # The copy is the first tenth of the limit; size and hash stand for the whole value.
    copy = base64.b64decode(body["value_base64"])
    assert body["value_truncated"] and copy == value[: DEFAULT_MAX_EVENT_BYTES // 10]
    assert body["value"] == copy.decode()
    assert dict(scorer.stats.reasons) == {"event too large": 1}


@pytest.mark.parametrize(
    "value",
    [b"[" * 10_000 + b"]" * 10_000, nested(10_000)],
    ids=["array", "object-in-event"],
)
def test_json_nested_10000_deep_is_refused_as_nested_too_deep(scorer, value):
    body = quarantined(scorer, KEY, value)
    # orjson stops at depth 1024: the array's 1025th "[" is its character 1024 (0-based).
    # The event case stops later, in its "deep" field: only the prefix and position differ.
    assert body["reason"].startswith(
        "nested too deep: JSON arrays/objects over 1024 levels deep (depth limit exceeded: "
    )
    if value.startswith(b"["):
        assert body["reason"].endswith("line 1 column 1026 (char 1025))")
    assert not body["value_truncated"]  # 20,000 bytes: under a tenth of the limit
    assert base64.b64decode(body["value_base64"]) == value
    assert dict(scorer.stats.reasons) == {"nested too deep": 1}


def test_an_event_nested_as_deep_as_the_parser_allows_is_scored(scorer):
    # 1,023 levels in a field plus the event object itself: 1,024, orjson's limit.
    out = scorer.process(around(KEY, nested(1023)))
    assert [orjson.loads(v)["event_index"] for t, _, v in out if t == "res"] == [1, 2, 3]


def test_invalid_utf8_is_refused_with_the_offset_of_the_first_bad_byte(scorer):
    value = orjson.dumps(event(2)).replace(b'"Home"', b'"\xff\xfeHome"', 1)
    body = quarantined(scorer, KEY, value)
    offset = value.index(b"\xff")
    assert body["reason"] == f"invalid text: byte 0xff at offset {offset} is not UTF-8"
    assert base64.b64decode(body["value_base64"]) == value  # the bytes themselves are kept
    assert dict(scorer.stats.reasons) == {"invalid text": 1}


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        (b"../../etc", "b'../../etc' (9 bytes)"),
        (b"\xff\xfe", "b'\\xff\\xfe' (2 bytes)"),
        (b"k" * 1024, f"b'{'k' * 32}'... (1024 bytes)"),
        (b"", "b'' (0 bytes)"),
        (b"-5", "b'-5' (2 bytes)"),
        (b"05", "b'05' (2 bytes)"),  # not how the replay writes 5: another partition
        (b"5 ", "b'5 ' (2 bytes)"),
        (b"1" * 20, f"b'{'1' * 20}' (20 bytes)"),  # over int64's 19 digits
    ],
    ids=["path", "not-utf8", "1kb", "empty", "negative", "leading-zero", "space", "20-digits"],
)
def test_a_key_that_is_not_a_match_id_is_refused(scorer, key, shown):
    body = quarantined(scorer, key, orjson.dumps(event(2)))
    assert body["reason"] == f"key is not a match id: {shown}"
    assert dict(scorer.stats.reasons) == {"key is not a match id": 1}


def test_a_hostile_key_is_bounded_in_the_quarantine_message(scorer):
    key = b"k" * 1024
    out = scorer.process(around(key, orjson.dumps(event(2))))
    ((kafka_key, value),) = [(k, v) for topic, k, v in out if topic == "mon"]
    assert kafka_key == b"quarantine"  # over QUARANTINE_KEY_BYTES: not echoed as the key
    assert orjson.loads(value)["key"] == "k" * messages.QUARANTINE_KEY_BYTES


def test_a_key_naming_another_match_is_refused(scorer):
    # Key 7 puts the event on match 7's partition; its state lives on match 5's.
    body = quarantined(scorer, b"7", orjson.dumps(event(2)))
    assert body["reason"] == f"key 7 is not the event's match id {MATCH}"
    assert dict(scorer.stats.reasons) == {"key … is not the event's match id …": 1}
    assert scorer.partition_of == {MATCH: ("ev", 0)}


def test_a_record_without_a_key_is_scored_and_keyed_by_its_match(scorer):
    out = scorer.process(around(None, orjson.dumps(event(2))))
    assert [k for t, k, _ in out if t == "res"] == [KEY, KEY, KEY]
    assert scorer.stats.quarantined == 0


# -- the limit -----------------------------------------------------------------------------------


def test_the_limit_is_a_setting_and_applies_to_the_byte(scorer, monkeypatch):
    limit = 100_000
    monkeypatch.setenv("INPLAY_MAX_EVENT_BYTES", str(limit))
    out = scorer.process(around(KEY, padded(2, limit)))
    assert [orjson.loads(v)["event_index"] for t, _, v in out if t == "res"] == [1, 2, 3]
    body = quarantined(make_scorer(), KEY, padded(2, limit + 1))
    assert body["reason"] == (
        f"event too large: {limit + 1} bytes, over the limit of {limit} (INPLAY_MAX_EVENT_BYTES)"
    )


@pytest.mark.parametrize("value", ["65535", "0", "-1"])
def test_a_limit_below_the_minimum_fails_naming_the_setting(monkeypatch, value):
    monkeypatch.setenv("INPLAY_MAX_EVENT_BYTES", value)
    with pytest.raises(config.ConfigError, match=r"^INPLAY_MAX_EVENT_BYTES=.* is below 65536"):
        max_event_bytes()


@pytest.mark.parametrize("limit", [MIN_MAX_EVENT_BYTES, DEFAULT_MAX_EVENT_BYTES])
@pytest.mark.parametrize("size_over_limit", [-1, 1, 9 * MIB])
def test_the_worst_quarantine_message_still_fits_under_the_limit(
    scorer, monkeypatch, limit, size_over_limit
):
    """Control bytes cost 6 bytes of JSON escape each in ``value``, 4/3 in ``value_base64``."""
    monkeypatch.setenv("INPLAY_MAX_EVENT_BYTES", str(limit))
    value = b"\x00" * (limit + size_over_limit)
    key = b"\x01" * messages.QUARANTINE_KEY_BYTES  # not a match id: echoed, escaped
    body = quarantined(scorer, key, value)
    assert body["reason"].startswith("key is not a match id: ")
    assert body["value_truncated"]
    assert base64.b64decode(body["value_base64"]) == value[: limit // 10]


# -- memory ----------------------------------------------------------------------------------


def test_twenty_10_mb_events_cost_less_memory_than_one(scorer):
    """The scorer copies no large value: only the bounded quarantine copy of each.

    The 20 arrive in 20 batches (each between two good events); the worker publishes a batch's
    messages and drops them before the next poll, as here. A batch's quarantine message holds
    the first 104,857 bytes of the value (a tenth of 1 MiB) as text and as base64: 245,110
    bytes, which tracemalloc counts at orjson's reserved output buffer, about 2 MiB (measured:
    2.4 MiB peak per batch, the same for the 1st and the 20th). Parsing or copying the value
    once would add its 10 MiB (before the size check the scorer parsed it: 130 MiB peak for
    one such event), so a peak under one value's size is generous and still fails on any copy.
    """
    big = padded(2, 10 * MIB)  # one buffer: the consumer's own, allocated before the scorer
    batches = [
        [
            Record("ev", 0, 3 * n, KEY, orjson.dumps(event(2 * n + 1))),
            Record("ev", 0, 3 * n + 1, KEY, big),
            Record("ev", 0, 3 * n + 2, KEY, orjson.dumps(event(2 * n + 2))),
        ]
        for n in range(20)
    ]
    quarantine_sizes = []
    tracemalloc.start()
    try:
        for batch in batches:
            out = scorer.process(batch)
            quarantine_sizes += [len(v) for t, _, v in out if t == "mon"]
            del out  # published
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < len(big), f"peak {peak / MIB:.1f} MiB"
    assert (scorer.stats.quarantined, scorer.stats.scored) == (20, 40)
    # Text 104,857 + base64 4 * ceil(104,857 / 3) = 139,812, plus under 1 KB for the rest.
    assert len(quarantine_sizes) == 20
    assert all(104_857 + 139_812 < size < 104_857 + 139_812 + 1024 for size in quarantine_sizes)

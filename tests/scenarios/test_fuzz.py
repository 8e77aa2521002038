"""Property-based fuzzing of the scorer's input: bad event messages never stop it.

The generator mixes two sources, both seeded (the same seed gives the same messages for a given
source tree: hypothesis also draws literals it finds in the project's loaded modules):

* a hypothesis strategy of fuzzed messages: random bytes, truncated JSON, JSON that is not an
  object, tombstones, invalid UTF-8, ``NaN``/``Infinity`` tokens, every field with a wrong type
  or an absurd value (huge integers, negative, out of range) or missing, missing or conflicting
  teams, and copies of valid events of a few matches (duplicates, out of order, after the end);
* a stream of whole valid matches, several at a time, with duplicates, swapped (late) events,
  end markers and events after the end (hypothesis favours the values it drew before, so it
  would make nearly every valid event a duplicate: a seeded ``random`` plays the matches).

They go through one :class:`~inplay.live.scorer.Scorer`:

* :func:`test_fuzzed_messages_never_stop_the_scorer` feeds exactly 10,000 messages to
  ``Scorer.process`` in batches (no Kafka) and checks every batch;
* :func:`test_fuzzed_messages_through_kafka` sends 2,000 messages of the same generator (another
  seed) and two more valid matches through a real broker to a running worker thread.

Both record their figures with :func:`inplay.reporting.reliability.record` (``fuzz-unit``,
``fuzz-kafka``).
"""

from __future__ import annotations

import base64
import copy
import functools
import json
import math
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from fixtures_statsbomb import make_event
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from synthetic import make_snapshots

from inplay import config
from inplay.features import MAX_INDEX, MAX_MINUTE
from inplay.kafka import io as kafka_io
from inplay.kafka.clients import Record, make_producer_client
from inplay.live.messages import RESULT_EXTRAS
from inplay.live.scorer import Scorer
from inplay.models import make_model
from inplay.reporting import reliability

UNIT_MESSAGES = 10_000
KAFKA_MESSAGES = 2_000
FUZZ_SEED = 20_240_611

# "Hot" matches get half the valid events (duplicates, late events); "cold" ones few each, and
# only the ending ones get an end-of-match marker (later events: quarantined "already ended").
HOT_MATCHES = tuple(range(7001, 7006))
COLD_MATCHES = tuple(range(7101, 7301))
ENDING_MATCHES = COLD_MATCHES[:60]
# Matches of the valid stream get ids from here on.
STREAM_FIRST_MATCH = 8_100_001
# Matches sent in order through Kafka next to the fuzz: never produced by the generator.
KAFKA_VALID_MATCHES = (987_654_321, 987_654_322)


def teams(match_id: int) -> tuple[str, str]:
    """Home and away team of a generated match."""
    return f"Home {match_id}", f"Away {match_id}"


@functools.cache
def match_events(match_id: int) -> tuple[dict[str, Any], ...]:
    """A short valid match (index order = clock order), shoot-out kick included, no end marker."""
    home, away = teams(match_id)
    rng = random.Random(match_id)
    events = [
        make_event(1, "Starting XI", home),
        make_event(2, "Starting XI", away),
        make_event(3, "Half Start", home),
    ]
    index = 4
    phases = ((1, range(0, 47, 2)), (2, range(45, 93, 2)), (3, (95, 101)), (4, (110,)))
    for period, minutes in phases:
        for minute in minutes:
            team = rng.choice((home, away))
            other = away if team == home else home
            roll = rng.random()
            common = {"period": period, "minute": minute, "second": rng.randrange(60)}
            if roll < 0.2:
                event = make_event(
                    index,
                    "Shot",
                    team,
                    xg=round(rng.uniform(0.01, 0.8), 3),
                    outcome=rng.choice(["Goal", "Saved", "Off T", "Saved to Post", "Blocked"]),
                    shot_type=rng.choice(["Open Play", "Open Play", "Penalty"]),
                    **common,
                )
            elif roll < 0.25:
                card = rng.choice(["Yellow Card", "Second Yellow", "Red Card"])
                event = make_event(index, "Foul Committed", team, card=card, **common)
            elif roll < 0.27:
                event = make_event(index, "Own Goal For", team, **common)
            else:
                possession = rng.choice((team, other))
                event = make_event(index, "Pass", team, possession_team=possession, **common)
            events.append(event)
            index += 1
    events.append(make_event(index, "Shot", home, period=5, minute=121, outcome="Goal"))
    return tuple({**e, "match_id": match_id, "home_team": home, "away_team": away} for e in events)


def end_marker(match_id: int) -> dict[str, Any]:
    """The replay's end-of-match marker for a generated match."""
    last = match_events(match_id)[-1]
    home, away = teams(match_id)
    return {
        "id": f"inplay-match-end-{match_id}",
        "index": last["index"] + 1,
        "period": last["period"],
        "timestamp": last["timestamp"],
        "minute": last["minute"],
        "second": last["second"],
        "type": {"id": 0, "name": "Match End"},
        "team": {"id": 1, "name": home},
        "inplay_synthetic": True,
        "match_id": match_id,
        "home_team": home,
        "away_team": away,
    }


# -- the generator ---------------------------------------------------------------------------


QUARANTINE, ACCEPT, ANY = "quarantine", "accept", "any"


@dataclass(frozen=True)
class Msg:
    """One generated message: its kind, key and value, and what the scorer must do with it.

    ``expect`` is :data:`QUARANTINE` (bad input), :data:`ACCEPT` (valid: scored, ignored,
    counted as a duplicate or as the end of a match, never quarantined) or :data:`ANY`.
    """

    kind: str
    key: bytes | None
    value: bytes | None
    expect: str


DELETE = object()

HUGE = (
    2**31,
    2**53 + 1,
    2**63 - 1,
    2**63,
    2**64 - 1,
    2**64,
    2**70,
    -(2**63),
    -(2**70),
    10**400,
    1e308,
    -1e308,
    1.7976931348623157e308,
    5e-324,
)

# Bad values for every field, on top of the generic ones below.
FIELD_VALUES: dict[tuple[str, ...], tuple[Any, ...]] = {
    ("match_id",): ("7001", 7001.0, True, False, None, -1, 0, "NaN", [7001], {"id": 7001}),
    ("index",): ("5", -1, -(2**63), 0, 1.5, None, True, [1], "NaN"),
    ("period",): (0, 5, 9, -1, 3, 4, "1", 1.0, None, True),
    ("minute",): ("10", -5, 10.5, None, True, 10**6, 2**31),
    ("second",): ("x", -1, None, 61, 1e9),
    ("timestamp",): (
        "",
        "00:00",
        "aa:bb:cc",
        "00:00:nan",
        "00:00:inf",
        "-1:00:00.000",
        "99999999:59:59.999",
        "00:00:1e308",
        "00:59:1.7e308",
        "00:99:00.000",
        "00:00:99.000",
        "1_0:00:00.000",
        " 1:00:00",
        0,
        None,
        "00:00:00.000",
        "01:30:00.000",
    ),
    ("type",): (None, "Shot", {}, {"name": None}, {"name": 16}, [], {"id": 16}),
    ("type", "name"): (
        "Shot",
        "shot",
        "Own Goal For",
        "Match End",
        "match end",
        "Goal",
        "",
        "Penalty",
        "Teleport",
        None,
        16,
    ),
    ("team",): (None, "Home 7001", {}, {"name": None}, {"name": 5}, [1, 2], {"id": 1}),
    ("team", "name"): ("Nobody FC", "", None, 5, "home 7001", "Away 7002"),
    ("possession_team",): (None, "x", {"name": "Nobody"}, {"name": 5}, {}, []),
    ("possession_team", "name"): ("Nobody", None, 5, ""),
    ("shot",): (None, {}, "shot", [], {"statsbomb_xg": 0.1}),
    ("shot", "statsbomb_xg"): (
        math.nan,
        math.inf,
        -math.inf,
        "NaN",
        "0.1",
        -0.1,
        1.5,
        1e308,
        2**70,
        None,
        True,
        0,
        1,
        0.0,
        1.0,
    ),
    ("shot", "outcome"): (None, {}, "Goal", {"name": None}, {"name": "Unknown Outcome"}),
    ("shot", "outcome", "name"): ("Goal", "goal", "Unknown", "", None, 1),
    ("shot", "type"): (None, "Penalty", {"name": "Penalty"}, {"name": 5}),
    ("foul_committed",): (None, "Red Card", [], {"card": "Red Card"}),
    ("foul_committed", "card", "name"): ("Red Card", "Second Yellow", "Yellow Card", None, 3),
    ("bad_behaviour", "card"): ({"name": "Red Card"}, "Red Card", None, [], 3),
    ("home_team",): (None, 5, "", "Other FC", ["x"], {"name": "x"}, "Home 7001" * 2000),
    ("away_team",): (None, 5, "", "Other FC", ["x"], {"name": "x"}, "Away 7001"),
    ("sent_at",): (math.nan, math.inf, "now", -1e308, 1e308, None, True, 2**70, -(2**63)),
}
PATHS = tuple(FIELD_VALUES)
NUMERIC_PATHS = (
    ("match_id",),
    ("index",),
    ("period",),
    ("minute",),
    ("second",),
    ("shot", "statsbomb_xg"),
    ("sent_at",),
)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=8,
)
bad_values = st.one_of(
    json_values,
    st.sampled_from(HUGE),
    st.floats(),  # NaN and infinities included: json.dumps writes them as NaN/Infinity tokens
    st.just(DELETE),
)


def encode(obj: Any) -> bytes:
    """JSON bytes as a lax producer writes them: big integers kept, NaN/Infinity as tokens."""
    return json.dumps(obj, allow_nan=True, ensure_ascii=False).encode("utf-8", "surrogatepass")


def set_path(event: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """Set (or, with :data:`DELETE`, remove) ``event[path[0]][path[1]]...``, creating dicts."""
    node = event
    for name in path[:-1]:
        if not isinstance(node.get(name), dict):
            node[name] = {}
        node = node[name]
    if value is DELETE:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value


def key_of(obj: Any) -> bytes | None:
    """The key a producer would use: the match id when there is an integer one."""
    if isinstance(obj, dict) and type(obj.get("match_id")) is int:
        return str(obj["match_id"]).encode()
    return None


@st.composite
def valid_event(draw: st.DrawFn, shots: bool = False) -> dict[str, Any]:
    """A copy of a valid event of a hot or cold match (a shot with ``shots``)."""
    match_id = draw(st.sampled_from(HOT_MATCHES) | st.sampled_from(COLD_MATCHES))
    events = match_events(match_id)
    if shots:
        events = tuple(e for e in events if e["type"]["name"] == "Shot")
    return copy.deepcopy(events[draw(st.integers(0, len(events) - 1))])


def _random_bytes(draw: st.DrawFn, kind: str) -> Msg:
    return Msg(
        kind, draw(st.none() | st.binary(max_size=8)), draw(st.binary(max_size=80)), QUARANTINE
    )


def _tombstone(draw: st.DrawFn, kind: str) -> Msg:
    return Msg(kind, draw(st.none() | st.binary(max_size=8)), None, QUARANTINE)


def _non_object(draw: st.DrawFn, kind: str) -> Msg:
    value = draw(json_values.filter(lambda v: not isinstance(v, dict)))
    return Msg(kind, None, encode(value), QUARANTINE)


def _end_marker(draw: st.DrawFn, kind: str) -> Msg:
    event = end_marker(draw(st.sampled_from(ENDING_MATCHES)))
    return Msg(kind, key_of(event), orjson.dumps(event), ANY)


def _valid(draw: st.DrawFn, kind: str, event: dict) -> Msg:
    return Msg(kind, key_of(event), orjson.dumps(event), ANY)


def _truncated(draw: st.DrawFn, kind: str, event: dict) -> Msg:
    raw = orjson.dumps(event)
    return Msg(kind, key_of(event), raw[: draw(st.integers(0, len(raw) - 1))], QUARANTINE)


def _bad_utf8(draw: st.DrawFn, kind: str, event: dict) -> Msg:
    raw = orjson.dumps(event).replace(b'"Home ', b'"\xff\xfe', 1)
    return Msg(kind, key_of(event), raw, QUARANTINE)


def _nan_token(draw: st.DrawFn, kind: str, event: dict) -> Msg:
    set_path(event, draw(st.sampled_from(NUMERIC_PATHS)), draw(st.sampled_from(NAN_TOKENS)))
    return Msg(kind, key_of(event), encode(event), QUARANTINE)


def _missing_teams(draw: st.DrawFn, kind: str, event: dict) -> Msg:
    for name in draw(st.sampled_from([("home_team",), ("away_team",), ("home_team", "away_team")])):
        set_path(event, (name,), draw(st.sampled_from([DELETE, None, 5, ["x"]])))
    return Msg(kind, key_of(event), encode(event), QUARANTINE)


def _wrong_teams(draw: st.DrawFn, kind: str, event: dict) -> Msg:
    event["home_team"], event["away_team"] = teams(event["match_id"] + 100_000)
    return Msg(kind, key_of(event), encode(event), QUARANTINE)


def _same_teams(draw: st.DrawFn, kind: str, event: dict) -> Msg:
    event["home_team"] = event["away_team"] = event["team"]["name"]
    return Msg(kind, key_of(event), encode(event), QUARANTINE)


def _huge(draw: st.DrawFn, kind: str, event: dict) -> Msg:
    path = draw(st.sampled_from(NUMERIC_PATHS))
    set_path(event, path, draw(st.sampled_from(HUGE)))
    return Msg(kind, key_of(event), encode(event), ANY)


def _bad_field(draw: st.DrawFn, kind: str, event: dict) -> Msg:
    """One to three fields get a wrong type or value, or go missing."""
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        set_path(event, path, draw(st.sampled_from(FIELD_VALUES[path]) | bad_values))
    return Msg(kind, key_of(event) or draw(st.none() | st.binary(max_size=4)), encode(event), ANY)


# Kinds built without a valid event, and kinds that spoil one (drawn first).
_RAW_KINDS = {
    "random_bytes": _random_bytes,
    "tombstone": _tombstone,
    "non_object": _non_object,
    "end_marker": _end_marker,
}
_EVENT_KINDS = {
    "valid": _valid,
    "truncated": _truncated,
    "bad_utf8": _bad_utf8,
    "nan_token": _nan_token,
    "missing_teams": _missing_teams,
    "wrong_teams": _wrong_teams,
    "same_teams": _same_teams,
    "huge": _huge,
    "bad_field": _bad_field,
}


@st.composite
def messages(draw: st.DrawFn) -> Msg:
    """One fuzzed event message (see the module docstring for the kinds)."""
    kind = draw(st.sampled_from(KINDS))
    if kind in _RAW_KINDS:
        return _RAW_KINDS[kind](draw, kind)
    event = draw(valid_event(shots=draw(st.booleans())))
    return _EVENT_KINDS[kind](draw, kind, event)


NAN_TOKENS = (math.nan, math.inf, -math.inf)
# Kind weights: a kind listed n times is drawn n times as often.
KINDS = (
    ("valid",) * 4
    + ("bad_field",) * 8
    + ("huge",) * 2
    + ("random_bytes", "truncated", "non_object", "nan_token", "missing_teams", "wrong_teams")
    + ("same_teams", "bad_utf8", "tombstone", "end_marker")
)

batches = st.lists(messages(), min_size=10, max_size=60)

FUZZ_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    database=None,
    phases=(Phase.generate,),  # the scorer keeps state across examples: shrinking would mislead
    suppress_health_check=list(HealthCheck),
)


class MatchStream:
    """Valid events of whole matches, six at a time, mostly in order (seeded, endless).

    Kinds: ``stream`` (the next event of a live match), ``stream_duplicate`` (an event sent
    before), ``stream_swapped`` (sent ahead of the one before it, which then arrives late),
    ``stream_end`` (the end marker) and ``stream_after_end`` (an event of an ended match).
    """

    def __init__(self, seed_value: int, live: int = 6) -> None:
        self.rng = random.Random(seed_value)
        self.next_id = STREAM_FIRST_MATCH
        self.n_live = live
        self.live: list[tuple[int, list[dict[str, Any]], list[dict[str, Any]]]] = []
        self.ended: list[int] = []

    def _msg(self, kind: str, event: dict[str, Any], expect: str) -> Msg:
        return Msg(kind, key_of(event), orjson.dumps(event), expect)

    def __next__(self) -> Msg:
        while len(self.live) < self.n_live:
            match_id, self.next_id = self.next_id, self.next_id + 1
            self.live.append((match_id, [*match_events(match_id), end_marker(match_id)], []))
        roll = self.rng.random()
        if roll < 0.02 and self.ended:
            match_id = self.rng.choice(self.ended)
            late_index = end_marker(match_id)["index"] + 1 + self.rng.randrange(100)
            event = {**self.rng.choice(match_events(match_id)), "index": late_index}
            return self._msg("stream_after_end", event, QUARANTINE)
        live = self.rng.choice(self.live)
        match_id, todo, sent = live
        if roll < 0.07 and sent:
            return self._msg("stream_duplicate", self.rng.choice(sent), ACCEPT)
        kind = "stream"
        if roll < 0.12 and len(todo) > 2:  # never the end marker (the last one)
            event, kind = todo.pop(1), "stream_swapped"
        else:
            event = todo.pop(0)
        sent.append(event)
        if not todo:
            self.live.remove(live)
            self.ended.append(match_id)
            kind = "stream_end"
        return self._msg(kind, event, ACCEPT)


def fuzz(total: int, seed_value: int, sink: Callable[[list[Msg]], None]) -> int:
    """Hand ``sink`` batches of exactly ``total`` messages in all; returns the hypothesis runs.

    Each batch is one hypothesis example (10-60 fuzzed messages) with half as many messages of
    the valid stream slipped in between (in their order).
    """
    stream = MatchStream(seed_value)
    rng = random.Random(seed_value)
    left = total

    def take(batch: list[Msg]) -> None:
        nonlocal left
        if left <= 0:
            return
        extra = [next(stream) for _ in range(len(batch) // 2)]
        slots = [True] * len(extra) + [False] * len(batch)
        rng.shuffle(slots)
        sources = iter(extra), iter(batch)
        mixed = [next(sources[0] if slot else sources[1]) for slot in slots][:left]
        left -= len(mixed)
        sink(mixed)

    runs = 0
    while left > 0:
        # A mixed batch has at least 15 messages: left / 15 examples suffice.
        @seed(seed_value + runs)
        @settings(FUZZ_SETTINGS, max_examples=max(1, min(200, -(-left // 15))))
        @given(batch=batches)
        def run(batch: list[Msg]) -> None:
            take(batch)

        run()
        runs += 1
    return runs


def generate(total: int, seed_value: int) -> list[Msg]:
    """Exactly ``total`` messages, the same ones for the same seed."""
    out: list[Msg] = []
    fuzz(total, seed_value, out.extend)
    return out


STREAM_KINDS = ("stream", "stream_duplicate", "stream_swapped", "stream_end", "stream_after_end")


# -- checks ----------------------------------------------------------------------------------

RESULTS, REQUESTS, MONITORING = "fuzz-results", "fuzz-requests", "fuzz-monitoring"


def counted(stats) -> int:
    """Messages the statistics account for (late events are scored: not counted twice)."""
    return stats.scored + stats.quarantined + stats.duplicates + stats.ignored + stats.ended


def check_numbers(body: dict[str, Any], optional: tuple[str, ...] = ()) -> None:
    """Every value is a team name, an event type, the venue flag or a finite number."""
    for name, value in body.items():
        if value is None and name in optional:
            continue
        if isinstance(value, str) and name in ("home_team", "away_team", "model_version"):
            continue
        if name == "event_type" and isinstance(value, str):
            continue
        if name in ("neutral", "knockout") and isinstance(value, bool):
            continue
        assert isinstance(value, int | float) and not isinstance(value, bool), (name, body)
        assert math.isfinite(value), (name, body)


def check_result(body: dict[str, Any]) -> None:
    """A published prediction: plausible ids, finite probabilities in [0, 1] summing to 1."""
    # Who goes through (knockout matches) and the goal markets (models with rates) may be null.
    check_numbers(body, optional=("latency_ms", *RESULT_EXTRAS))
    assert type(body["match_id"]) is int and 0 < body["match_id"] < 2**63, body
    assert type(body["event_index"]) is int and 0 <= body["event_index"] <= MAX_INDEX, body
    assert 0 <= body["minute"] <= MAX_MINUTE and 0.0 <= body["clock"] <= 90.0, body
    probs = [body["p_home"], body["p_draw"], body["p_away"]]
    for p in probs:
        assert isinstance(p, float) and 0.0 <= p <= 1.0, body
    assert abs(sum(probs) - 1.0) <= 1e-6, body


def broker_name() -> str:
    """How the figures name the broker the Kafka test ran on."""
    bootstrap = config.env_str("KAFKA_BOOTSTRAP_SERVERS")
    return f"Kafka at {bootstrap}" if bootstrap else "embedded (Tansu)"


@pytest.fixture(scope="module")
def model():
    """A real fitted model that reads the whole state (goals, xG, cards, possession, clock)."""
    return make_model("state_mnlogit").fit(make_snapshots(60, seed=5))


class UnitRun:
    """One Scorer fed batch by batch; every batch is checked on its own and against the run."""

    def __init__(self, model) -> None:
        self.scorer = Scorer(
            model,
            events_topic="fuzz-events",
            results_topic=RESULTS,
            requests_topic=REQUESTS,
            monitoring_topic=MONITORING,
        )
        self.fed = 0
        self.kinds: Counter = Counter()
        self.predictions: set[tuple[int, int]] = set()
        self.result_messages = 0
        self.quarantine_messages = 0

    def feed(self, batch: list[Msg]) -> None:
        records = [
            Record("fuzz-events", 0, self.fed + n, m.key, m.value) for n, m in enumerate(batch)
        ]
        stats = self.scorer.stats
        before = (stats.consumed, stats.scored, stats.quarantined, counted(stats))
        out = self.scorer.process(records)  # never raises
        self.fed += len(batch)
        self.kinds.update(m.kind for m in batch)

        consumed, scored, quarantined, accounted = (
            now - then
            for now, then in zip(
                (stats.consumed, stats.scored, stats.quarantined, counted(stats)),
                before,
                strict=True,
            )
        )
        assert consumed == accounted == len(batch)
        assert stats.consumed == counted(stats) == self.fed
        assert stats.late <= stats.scored
        by_topic = Counter(topic for topic, _, _ in out)
        assert set(by_topic) <= {RESULTS, REQUESTS, MONITORING}
        assert by_topic[RESULTS] == by_topic[REQUESTS] == scored
        assert by_topic[MONITORING] == quarantined

        quarantined_offsets = set()
        for topic, _key, value in out:
            body = orjson.loads(value)
            if topic == MONITORING:
                assert body["kind"] == "quarantine"
                assert isinstance(body["reason"], str) and body["reason"].strip()
                record = records[body["offset"] - records[0].offset]
                assert body["offset"] not in quarantined_offsets
                quarantined_offsets.add(body["offset"])
                assert base64.b64decode(body["value_base64"]) == (record.value or b"")
            elif topic == REQUESTS:
                check_numbers(body)
            elif topic == RESULTS:
                check_result(body)
                key = (body["match_id"], body["event_index"])
                assert key not in self.predictions, f"{key} scored twice"
                self.predictions.add(key)
        self.result_messages += by_topic[RESULTS]
        self.quarantine_messages += by_topic[MONITORING]
        for record, message in zip(records, batch, strict=True):
            if message.expect == QUARANTINE:
                assert record.offset in quarantined_offsets, message
            elif message.expect == ACCEPT:
                assert record.offset not in quarantined_offsets, message


def test_fuzzed_messages_never_stop_the_scorer(model):
    """10,000 fuzzed messages through one scorer: no exception, every message accounted for."""
    started = time.perf_counter()
    run = UnitRun(model)
    runs = fuzz(UNIT_MESSAGES, FUZZ_SEED, run.feed)
    seconds = time.perf_counter() - started

    stats = run.scorer.stats
    assert run.fed == stats.consumed == UNIT_MESSAGES
    assert stats.scored == run.result_messages == len(run.predictions)
    assert stats.quarantined == run.quarantine_messages == sum(stats.reasons.values())
    # Reasons are counted by category: junk values must not make new keys (memory, stats size).
    assert len(stats.reasons) <= 50, sorted(stats.reasons)
    # Every kind was generated, and every outcome happened.
    assert set(run.kinds) == set(KINDS) | set(STREAM_KINDS)
    for name in ("scored", "quarantined", "duplicates", "late", "ignored", "ended"):
        assert getattr(stats, name) > 0, name
    lost = UNIT_MESSAGES - (
        len(run.predictions)
        + run.quarantine_messages
        + stats.duplicates
        + stats.ignored
        + stats.ended
    )
    assert lost == 0
    reliability.record(
        "fuzz-unit",
        {
            "trials": 1,
            "events": UNIT_MESSAGES,
            "predictions": len(run.predictions),
            "lost": lost,
            "duplicates": run.result_messages - len(run.predictions),
            "quarantined": run.quarantine_messages,
            "duplicate_events": stats.duplicates,
            "late_events": stats.late,
            "shootout_ignored": stats.ignored,
            "matches_ended": stats.ended,
            "reasons": dict(stats.reasons.most_common()),
            "kinds": dict(run.kinds.most_common()),
            "seconds": round(seconds, 1),
        },
        title="Fuzzed event messages (hypothesis) through Scorer.process, one worker, no Kafka",
        broker="none (Scorer.process in-process)",
        client="none",
        passed=True,
        notes=(
            f"{UNIT_MESSAGES:,} messages of {len(run.kinds)} kinds from {runs} seeded "
            "hypothesis runs: batches of 10-60 fuzzed messages (random bytes, truncated JSON, "
            "non-objects, NaN tokens, wrong types and absurd values in every field, missing or "
            "conflicting teams, copies of valid events) with half as many events of whole valid "
            "matches in between (duplicates, swapped, end markers, events after the end). "
            "Checked after every batch: no exception, consumed == scored + quarantined + "
            "duplicates + ignored + ended, one result and one request per scored event, one "
            "quarantine message (reason, original bytes) per quarantined one, bad input always "
            "quarantined and valid input never, finite probabilities in [0, 1] summing to 1. "
            "'duplicates' counts extra copies of published predictions (none); "
            "'duplicate_events' the repeated input events dropped."
        ),
    )


# -- through a real broker -------------------------------------------------------------------


def valid_match(match_id: int) -> list[tuple[bytes | None, bytes]]:
    """A whole match in order, end marker included, as (key, value)."""
    events = [*match_events(match_id), end_marker(match_id)]
    return [(key_of(e), orjson.dumps({**e, "sent_at": time.time()})) for e in events]


@pytest.mark.kafka
def test_fuzzed_messages_through_kafka(kafka_bootstrap, fresh_topics, model):
    """2,000 fuzzed messages and two valid matches through a broker to a running worker."""
    started = time.perf_counter()
    fuzzed = [
        m
        for m in generate(KAFKA_MESSAGES, FUZZ_SEED + 1)
        if not any(str(i).encode() in (m.value or b"") for i in KAFKA_VALID_MATCHES)
    ]
    valid = [valid_match(match_id) for match_id in KAFKA_VALID_MATCHES]
    # Interleave: the valid matches keep their order (one key, one partition).
    rng = random.Random(FUZZ_SEED)
    slots = [None] * len(fuzzed) + [n for n, match in enumerate(valid) for _ in match]
    rng.shuffle(slots)
    fuzz_iter, valid_iters = iter(fuzzed), [iter(match) for match in valid]
    sent: list[tuple[bytes | None, bytes]] = []
    for slot in slots:
        if slot is None:
            message = next(fuzz_iter)
            sent.append((message.key, message.value or b""))
        else:
            sent.append(next(valid_iters[slot]))

    events, requests, results, monitoring = fresh_topics("events", "requests", "results", "mon")
    producer = make_producer_client(kafka_bootstrap)
    for key, value in sent:
        producer.send(events, key, value)
    producer.flush()
    producer.close()

    scorer = Scorer(
        model,
        bootstrap=kafka_bootstrap,
        group_id=f"fuzz-{uuid.uuid4().hex[:8]}",
        events_topic=events,
        requests_topic=requests,
        results_topic=results,
        monitoring_topic=monitoring,
        stats_interval=2.0,
    )
    errors: list[BaseException] = []

    def work() -> None:
        try:
            scorer.run(idle_timeout=120, progress=False)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while scorer.stats.consumed < len(sent) and thread.is_alive():
        assert time.monotonic() < deadline, f"consumed {scorer.stats.consumed} of {len(sent)}"
        time.sleep(0.2)
    assert thread.is_alive() and not errors, errors
    scorer.stop()
    thread.join(timeout=60)
    assert not thread.is_alive() and not errors, errors

    stats = scorer.stats
    assert stats.consumed == counted(stats) == len(sent)
    predictions: Counter = Counter()
    for record in kafka_io.read_topic(results, kafka_bootstrap, timeout=60):
        body = orjson.loads(record.value)
        check_result(body)
        predictions[(body["match_id"], body["event_index"])] += 1
    quarantine = [
        body
        for body in (
            orjson.loads(r.value) for r in kafka_io.read_topic(monitoring, kafka_bootstrap)
        )
        if body.get("kind") == "quarantine"
    ]
    read = sum(predictions.values())
    assert len(predictions) == stats.scored, f"{read} results read, {len(predictions)} distinct"
    assert len(quarantine) == stats.quarantined
    # Quarantined bytes are bytes that were sent; every must-quarantine message is among them.
    sent_values = Counter(value for _, value in sent)
    quarantined_values = Counter(base64.b64decode(q["value_base64"]) for q in quarantine)
    assert all(reason["reason"] for reason in quarantine)
    assert not quarantined_values - sent_values
    must = Counter(m.value or b"" for m in fuzzed if m.expect == QUARANTINE)
    assert not must - quarantined_values
    accepted = {m.value for m in fuzzed if m.expect == ACCEPT}
    assert not accepted & set(quarantined_values)
    # The valid matches lost nothing: every non-shoot-out event has a prediction.
    for match_id, match in zip(KAFKA_VALID_MATCHES, valid, strict=True):
        expected = {
            orjson.loads(v)["index"]
            for _, v in match
            if orjson.loads(v)["period"] < 5 and orjson.loads(v)["type"]["name"] != "Match End"
        }
        assert {i for m, i in predictions if m == match_id} == expected

    lost = len(sent) - (
        len(predictions) + len(quarantine) + stats.duplicates + stats.ignored + stats.ended
    )
    assert lost == 0
    reliability.record(
        "fuzz-kafka",
        {
            "trials": 1,
            "events": len(sent),
            "predictions": len(predictions),
            "lost": lost,
            "duplicates": sum(predictions.values()) - len(predictions),
            "quarantined": len(quarantine),
            "generated_messages": len(fuzzed),
            "kinds": dict(Counter(m.kind for m in fuzzed).most_common()),
            "valid_match_events": sum(len(m) for m in valid),
            "duplicate_events": stats.duplicates,
            "late_events": stats.late,
            "shootout_ignored": stats.ignored,
            "matches_ended": stats.ended,
            "reasons": dict(stats.reasons.most_common()),
            "seconds": round(time.perf_counter() - started, 1),
        },
        title="Fuzzed event messages and two valid matches through a broker to a running worker",
        broker=broker_name(),
        passed=True,
        notes=(
            f"{len(fuzzed):,} generated messages (the fuzz-unit generator, another seed: fuzzed "
            "ones and a valid stream) interleaved with two more valid matches "
            f"({sum(len(m) for m in valid)} messages, end markers included) on a "
            f"{config.TOPIC_PARTITIONS}-partition topic, one Scorer thread. The worker stayed "
            "alive; its counts reconcile; distinct predictions on the results topic == scored; "
            "quarantine messages on the monitoring topic == quarantined, each with a reason and "
            "bytes that were sent (every bad one, no valid one); both extra matches got every "
            "prediction."
        ),
    )


def test_generator_is_deterministic():
    """The same seed gives the same messages (the Kafka test relies on it)."""
    assert generate(50, FUZZ_SEED) == generate(50, FUZZ_SEED)

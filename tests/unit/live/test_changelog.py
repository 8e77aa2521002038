"""The state changelog's pure parts: a state survives encoding, an index names its records,
and a store skips the events a restored state already holds (the Kafka part is in
tests/integration/test_scoring_service.py, on both brokers and both clients)."""

from __future__ import annotations

import orjson
from fixtures_statsbomb import long_match

from inplay.features import MatchState
from inplay.kafka.clients import Record
from inplay.live.changelog import INDEX_KEY, Changelog, _runs, decode_state, encode_state
from inplay.live.state import MatchStore
from inplay.live.stats import ScoreStats


def _state_after(events: list[dict]) -> MatchState:
    state = MatchState(7, "Lions", "Tigers")
    for event in events:
        state.apply(event)
    return state


def test_a_decoded_state_equals_the_original_and_goes_on_the_same():
    events = long_match("Lions", "Tigers", seed=3)
    half = len(events) // 2
    original = _state_after(events[:half])
    restored, offset = decode_state(encode_state(original, 41))
    assert offset == 41
    assert restored == original  # every field: counts, sides, seen indexes, possession
    for event in events[half:]:
        assert restored.apply(dict(event)) == original.apply(dict(event))
        assert restored.features() == original.features()


def test_runs_are_inclusive_and_sorted():
    assert _runs({5, 1, 2, 3, 9, 10}) == [[1, 3], [5, 5], [9, 10]]
    assert _runs(set()) == []


class _Producer:
    """Numbers each partition's records as a broker would (a changelog partition per int)."""

    def __init__(self) -> None:
        self.log: dict[int, list[tuple[bytes, bytes | None]]] = {}

    def send(self, _topic, key, value, partition=None):
        self.log.setdefault(partition, []).append((key, value))

    def send_tracked(self, topic, key, value, partition):
        self.send(topic, key, value, partition)
        offset = len(self.log[partition]) - 1
        return lambda: offset


def test_an_index_names_each_live_matchs_latest_record_and_the_ended():
    changelog, producer = Changelog("cl"), _Producer()
    a, b = MatchState(1, "H", "A"), MatchState(2, "H", "A")
    changelog.send(producer, {0: {1: (a, 10), 2: (b, 11)}}, {0: [1, 2]})
    changelog.confirm()
    changelog.send(producer, {0: {2: (b, 12), 3: 13}}, {0: [1, 2]})  # 2 changed, 3 ended
    changelog.confirm()
    records = producer.log[0]
    index_at = len(records) - 1
    assert records[index_at][0] == INDEX_KEY
    index = orjson.loads(records[index_at][1])
    places = {m: (o if o >= 0 else index_at + o) for m, o in index["live"]}
    assert records[places[1]][0] == b"1" and places[1] == 0  # unchanged: its first record
    assert records[places[2]][0] == b"2" and places[2] == index_at - 2  # this batch's
    assert index["ended"] == [[3, 13]]
    assert records[index_at - 1] == (b"3", None)  # the ended match's tombstone
    assert changelog.offsets == {1: 0, 2: index_at - 2}


def test_a_store_skips_what_a_restored_state_holds_and_applies_the_rest():
    events = long_match("Lions", "Tigers", seed=1)
    key = b"7"

    def record(n: int) -> Record:
        body = {**events[n], "match_id": 7, "home_team": "Lions", "away_team": "Tigers"}
        return Record("ev", 0, 100 + n, key, orjson.dumps(body))

    store = MatchStore(ScoreStats())
    for n in range(20):
        store.apply(record(n))
    restored = MatchStore(ScoreStats())
    state, offset = decode_state(encode_state(store.states[7], store.last_offset[7]))
    restored.states[7], restored.partition_of[7] = state, ("ev", 0)
    restored.replayed[("ev", 0, key)] = offset
    for n in range(15, 20):  # read again after a rebalance: already in the state
        assert restored.apply(record(n)) == ("duplicate", None, None)
    for n in range(20, 40):
        assert restored.apply(record(n))[0] == store.apply(record(n))[0]
    assert restored.states[7] == store.states[7]
    assert not restored.replayed  # passed: forgotten
    changes, live = restored.take_changes()
    assert live == {0: [7]} and changes[0][7] == (restored.states[7], 139)


def test_lag_comes_from_the_latest_fetch_without_asking_the_broker():
    """Asking (watermarks) waits behind a fetch the broker holds open: every stats message
    delayed the events behind it by up to the fetch wait per partition (p95 ~250 ms at real
    time on Apache Kafka)."""
    from inplay.live.io import partition_lag

    class Fetched:
        def cached_end(self, tp):
            return {("ev", 0): 10, ("ev", 1): None}[tp]

        def watermarks(self, tp):
            raise AssertionError("a request to the broker")

        position = watermarks

    assert partition_lag(Fetched(), {("ev", 0): 7, ("ev", 1): 3}) == {"0": 3}

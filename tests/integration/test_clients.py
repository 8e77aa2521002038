"""Both Kafka clients behind the seam (inplay.kafka.clients), against a real broker.

Every test runs once per client: kafka-python always, confluent-kafka when installed. What the
embedded broker (Tansu) and Apache Kafka answer differently (end offsets count record batches on
Tansu) is only asserted where both agree.
"""

from __future__ import annotations

import importlib.util
import threading
import time
import uuid

import pytest

from inplay.config import ConfigError
from inplay.kafka.clients import (
    ConsumerClient,
    Record,
    make_consumer_client,
    make_producer_client,
)

pytestmark = pytest.mark.kafka

HAVE_CONFLUENT = importlib.util.find_spec("confluent_kafka") is not None
CLIENTS = [
    "kafka-python",
    pytest.param(
        "confluent",
        marks=pytest.mark.skipif(not HAVE_CONFLUENT, reason="confluent-kafka is not installed"),
    ),
]


@pytest.fixture(params=CLIENTS)
def client(request: pytest.FixtureRequest) -> str:
    return request.param


def produce(bootstrap: str, client: str, topic: str, messages: list[tuple[bytes, bytes]]) -> None:
    producer = make_producer_client(bootstrap, client)
    try:
        for key, value in messages:
            producer.send(topic, key, value)
        producer.flush(30)
    finally:
        producer.close()


def drain(consumer: ConsumerClient, n: int, timeout: float = 20.0) -> list[Record]:
    """Poll until ``n`` records arrived (or ``timeout``); fail if more arrive in a short wait."""
    records: list[Record] = []
    deadline = time.monotonic() + timeout
    while len(records) < n and time.monotonic() < deadline:
        records.extend(consumer.poll(500, 0.5))
    assert len(records) == n, f"read {len(records)} records, expected {n}"
    return records


def group() -> str:
    return f"inplay-test-clients-{uuid.uuid4().hex[:8]}"


def test_roundtrip_and_per_key_order(kafka_bootstrap: str, client: str, fresh_topics) -> None:
    (topic,) = fresh_topics("events")
    keys = [b"m1", b"m2", b"m3", b"m4"]
    sent = [(keys[i % 4], f"{keys[i % 4].decode()}-{i:04d}".encode()) for i in range(400)]
    produce(kafka_bootstrap, client, topic, sent)

    consumer = make_consumer_client(None, kafka_bootstrap, client)
    try:
        assert consumer.name == client
        consumer.assign([(topic, p) for p in range(3)])
        records = drain(consumer, len(sent))
    finally:
        consumer.close()

    assert sorted((r.key, r.value) for r in records) == sorted(sent)
    assert all(r.topic == topic and r.timestamp_ms for r in records)
    for key in keys:
        mine = [r for r in records if r.key == key]
        assert len({r.partition for r in mine}) == 1, "one key, one partition"
        mine.sort(key=lambda r: r.offset)
        assert [r.value for r in mine] == [v for k, v in sent if k == key], "per-key order"


def test_group_assign_commit_resume(kafka_bootstrap: str, client: str, fresh_topics) -> None:
    (topic,) = fresh_topics("events")
    first = [(f"k{i % 5}".encode(), f"a{i}".encode()) for i in range(30)]
    produce(kafka_bootstrap, client, topic, first)
    gid = group()
    parts = [(topic, p) for p in range(3)]

    assigned: list[list[tuple[str, int]]] = []
    consumer = make_consumer_client(gid, kafka_bootstrap, client)
    try:
        assert consumer.committed(parts) == {p: None for p in parts}
        consumer.subscribe([topic], on_assign=assigned.append)
        records = drain(consumer, len(first), timeout=30)
        assert assigned and assigned[-1] == parts
        assert sorted(consumer.assignment()) == parts
        # Commit one partition explicitly, the others at their current positions.
        explicit = records[0].partition
        ends = {
            p: max(r.offset for r in records if r.partition == p) + 1
            for p in {r.partition for r in records}
        }
        consumer.commit({(topic, explicit): ends[explicit]})
        assert consumer.committed([(topic, explicit)]) == {(topic, explicit): ends[explicit]}
        consumer.commit()
        committed = consumer.committed(parts)
        for p, end in ends.items():
            assert committed[(topic, p)] == end == consumer.position((topic, p))
    finally:
        consumer.close()

    second = [(f"k{i % 5}".encode(), f"b{i}".encode()) for i in range(12)]
    produce(kafka_bootstrap, client, topic, second)
    again = make_consumer_client(gid, kafka_bootstrap, client)
    try:
        again.subscribe([topic])
        resumed = drain(again, len(second), timeout=30)
        time.sleep(0.5)
        assert again.poll(500, 0.5) == [], "nothing before the committed offsets is re-read"
    finally:
        again.close()
    assert sorted(r.value for r in resumed) == sorted(v for _, v in second)


def test_seek_position_watermarks(kafka_bootstrap: str, client: str, fresh_topics) -> None:
    (topic,) = fresh_topics("one", partitions=1)
    tp = (topic, 0)
    produce(kafka_bootstrap, client, topic, [(b"k", f"v{i}".encode()) for i in range(10)])

    consumer = make_consumer_client(None, kafka_bootstrap, client)
    try:
        assert consumer.partitions_for(topic) == [0]
        low, end = consumer.watermarks(tp)
        # Apache Kafka answers 10; the embedded broker counts record batches (>= 1).
        assert low == 0 and 1 <= end <= 10

        consumer.assign([tp])
        assert consumer.assignment() == [tp]
        consumer.seek(tp, 4)  # straight after assign: librdkafka needs a re-assign for this
        assert consumer.position(tp) == 4
        records = drain(consumer, 6)
        assert [r.offset for r in records] == list(range(4, 10))
        assert [r.value for r in records] == [f"v{i}".encode() for i in range(4, 10)]
        assert consumer.position(tp) == 10 >= end

        consumer.seek(tp, 1)
        assert consumer.position(tp) == 1
        assert [r.offset for r in drain(consumer, 9)] == list(range(1, 10))
        # The end as of the latest fetch, known without a request (the scorer's lag); the
        # embedded broker's fetches tell the true end (its offset look-up counts batches).
        assert consumer.cached_end(tp) == 10
    finally:
        consumer.close()


def test_partitions_for(kafka_bootstrap: str, client: str, fresh_topics) -> None:
    (topic,) = fresh_topics("three")
    consumer = make_consumer_client(None, kafka_bootstrap, client)
    try:
        assert consumer.partitions_for(topic) == [0, 1, 2]
        assert consumer.partitions_for(f"inplay-test-missing-{uuid.uuid4().hex}") == []
    finally:
        consumer.close()


def test_unreachable_is_a_config_error(client: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_TIMEOUT_MS", "1000")
    with pytest.raises(ConfigError, match="KAFKA_BOOTSTRAP_SERVERS"):
        make_producer_client("127.0.0.1:1", client)
    with pytest.raises(ConfigError, match="KAFKA_BOOTSTRAP_SERVERS"):
        make_consumer_client("g", "127.0.0.1:1", client)


def test_two_consumers_split_partitions(kafka_bootstrap: str, client: str, fresh_topics) -> None:
    (topic,) = fresh_topics("split")
    everything = {(topic, p) for p in range(3)}
    gid = group()
    stop = threading.Event()
    errors: list[BaseException] = []
    revoked: list[list[tuple[str, int]]] = []
    # Each consumer is used from its own thread only (confluent-kafka consumers must not be
    # called from two threads at once); the threads publish what they hold.
    held: list[set[tuple[str, int]]] = [set(), set()]

    first = make_consumer_client(gid, kafka_bootstrap, client)
    second = make_consumer_client(gid, kafka_bootstrap, client)

    def on_revoke(parts: list[tuple[str, int]]) -> None:
        revoked.append(parts)
        first.commit()  # the scorer's pattern: commit before the partitions go

    def run(n: int, consumer: ConsumerClient, **callbacks) -> None:
        try:
            consumer.subscribe([topic], **callbacks)
            while not stop.is_set():
                consumer.poll(100, 0.2)
                held[n] = set(consumer.assignment())
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            consumer.close()

    def wait_for(condition, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not errors and not condition():
            time.sleep(0.1)

    threads = [
        threading.Thread(target=run, args=(0, first), kwargs={"on_revoke": on_revoke}),
        threading.Thread(target=run, args=(1, second)),
    ]
    try:
        threads[0].start()
        wait_for(lambda: held[0] == everything)
        assert held[0] == everything, held
        threads[1].start()

        def split() -> bool:
            a, b = held
            return bool(a and b and not a & b and a | b == everything)

        wait_for(split)
        a, b = held
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert not errors, errors
    assert a and b, (a, b)
    assert not a & b
    assert a | b == everything
    # Cooperative-sticky: the first consumer gave up only what moved to the second.
    assert revoked and revoked[0] == sorted(b)

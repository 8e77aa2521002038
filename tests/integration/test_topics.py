"""Topic creation and description against a real broker; table formatting."""

from __future__ import annotations

import contextlib

import pytest

from inplay import config
from inplay.kafka import io as kafka_io
from inplay.kafka import topics


@pytest.fixture
def topic_names(kafka_bootstrap: str, unique_topic_prefix: str):
    """Test-unique names for topics that the test creates itself; deleted afterwards."""
    names = [f"{unique_topic_prefix}-{suffix}" for suffix in ("events", "results")]
    yield names
    admin = kafka_io.make_admin(kafka_bootstrap)
    with contextlib.suppress(Exception):
        admin.delete_topics(names)
    admin.close()


@pytest.mark.kafka
def test_create_topics_is_idempotent(kafka_bootstrap: str, topic_names: list[str]) -> None:
    first = topics.create_topics(kafka_bootstrap, topics=topic_names)
    assert first == {name: "created" for name in topic_names}

    second = topics.create_topics(kafka_bootstrap, topics=topic_names)
    assert second == {name: "exists" for name in topic_names}

    rows = topics.describe_topics(kafka_bootstrap, topics=topic_names)
    assert [row["name"] for row in rows] == topic_names
    for row in rows:
        assert row["exists"] is True
        assert row["partitions"] == config.TOPIC_PARTITIONS == 3
        assert row["replication"] == config.TOPIC_REPLICATION
        assert row["messages"] == 0


@pytest.mark.kafka
def test_partition_mismatch_is_reported_not_fatal(kafka_bootstrap: str, fresh_topics) -> None:
    (two,) = fresh_topics("two", partitions=2)
    result = topics.create_topics(kafka_bootstrap, topics=[two], partitions=3)
    assert result == {two: "exists (2 partitions, expected 3)"}
    (row,) = topics.describe_topics(kafka_bootstrap, topics=[two])
    assert row["partitions"] == 2


@pytest.mark.kafka
def test_describe_counts_messages_and_missing_topics(kafka_bootstrap: str, fresh_topics) -> None:
    (topic,) = fresh_topics("counted")
    missing = f"{topic}-missing"
    producer = kafka_io.make_producer(kafka_bootstrap, linger_ms=0)
    for i in range(5):
        producer.send(topic, value=b"x", partition=i % 3)
        producer.flush(timeout=10)  # one record per batch, so end offsets count records
    producer.close()

    rows = topics.describe_topics(kafka_bootstrap, topics=[topic, missing])
    assert rows == [
        {"name": topic, "partitions": 3, "replication": 1, "messages": 5, "exists": True},
        {"name": missing, "partitions": 0, "replication": 0, "messages": 0, "exists": False},
    ]
    admin = kafka_io.make_admin(kafka_bootstrap)
    try:
        assert missing not in admin.list_topics()  # describing did not auto-create it
    finally:
        admin.close()


def test_format_table() -> None:
    rows = [
        {"name": "live_football_events", "partitions": 3, "messages": 1200, "exists": True},
        {"name": "x", "partitions": 3, "messages": 7, "exists": False},
    ]
    lines = topics.format_table(rows).splitlines()
    assert lines[0].split() == ["name", "partitions", "messages", "exists"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert lines[2].split() == ["live_football_events", "3", "1200", "True"]
    assert lines[3].split() == ["x", "3", "7", "False"]
    # Numbers are right-aligned: their last digits line up.
    assert lines[2].index("1200") + 3 == lines[3].index("7")


def test_format_table_empty() -> None:
    assert topics.format_table([]) == "(no topics)"

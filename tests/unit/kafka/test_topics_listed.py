"""create_topics returns only once the cluster's metadata lists the new topics.

Apache Kafka answers CreateTopics before every broker's metadata lists the topic; a describe
straight after creating the six topics once found five (notebook 00 in CI). The lag is the
broker's, so this test stands in for the admin client to make it happen on demand.
"""

from __future__ import annotations

import pytest

from inplay.errors import BrokerError
from inplay.kafka import io as kafka_io
from inplay.kafka import topics


class LaggingAdmin:
    """Creates topics at once but lists each only after ``lag`` more metadata requests."""

    def __init__(self, lag: int) -> None:
        self.lag = lag
        self.created: dict[str, int] = {}  # name -> metadata requests still to come
        self.partitions: dict[str, int] = {}

    def list_topics(self):
        listed = [name for name, left in self.created.items() if left <= 0]
        self.created = {name: left - 1 for name, left in self.created.items()}
        return listed

    def describe_topics(self, names):
        return [
            {
                "name": name,
                "error_code": 0,
                "partitions": [{"partition_index": i} for i in range(self.partitions[name])],
            }
            for name in names
        ]

    def create_topics(self, new_topics):
        for topic in new_topics:
            self.created[topic.name] = self.lag
            self.partitions[topic.name] = topic.num_partitions

    def close(self):
        pass


def test_waits_until_the_new_topics_are_listed(monkeypatch):
    admin = LaggingAdmin(lag=3)
    monkeypatch.setattr(kafka_io, "make_admin", lambda bootstrap=None: admin)
    outcome = topics.create_topics("broker:9092", ["a", "b"], partitions=3)
    assert outcome == {"a": "created", "b": "created"}
    assert set(admin.list_topics()) == {"a", "b"}  # listed by the time create_topics returned


def test_names_the_topics_never_listed(monkeypatch):
    admin = LaggingAdmin(lag=10**9)
    monkeypatch.setattr(kafka_io, "make_admin", lambda bootstrap=None: admin)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_TIMEOUT_MS", "200")
    with pytest.raises(BrokerError, match=r"\['a'\].*KAFKA_BOOTSTRAP_TIMEOUT_MS"):
        topics.create_topics("broker:9092", ["a"], partitions=3)

"""The narrow seam between inplay and a Kafka client library.

The scorer (and anything else that streams) talks to these two small interfaces only. Two
implementations exist: :mod:`inplay.kafka.clients.kafka_python` (the default, pure Python) and
:mod:`inplay.kafka.clients.confluent` (librdkafka, ``pip install inplay[fast]``), chosen by the
``INPLAY_KAFKA_CLIENT`` setting.

Conventions shared by both:

* a partition is a ``(topic, partition)`` tuple;
* an offset given to :meth:`ConsumerClient.commit` or :meth:`ConsumerClient.seek` is the next
  offset to read (Kafka's convention);
* errors that mean "the cluster cannot be reached" become :class:`inplay.config.ConfigError`
  naming ``KAFKA_BOOTSTRAP_SERVERS``; a message the broker did not acknowledge makes
  :meth:`ProducerClient.flush` raise :class:`DeliveryError`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = [
    "FETCH_MAX_WAIT_MS",
    "Record",
    "TopicPartition",
    "DeliveryError",
    "ProducerClient",
    "ConsumerClient",
]

# How long a fetch may wait on the broker for data, for both clients' consumers. The libraries'
# 500 ms is what a live event can wait on the embedded broker (it holds a fetch to its maximum
# wait even when data has arrived), and librdkafka queues offset and watermark look-ups behind a
# waiting fetch on the same connection.
FETCH_MAX_WAIT_MS = 100

TopicPartition = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Record:
    """One consumed message, the same whichever client read it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int | None = None


class DeliveryError(RuntimeError):
    """The broker did not acknowledge one or more produced messages."""


class ProducerClient(ABC):
    """Produce bytes to topics; :meth:`flush` returns only when every message is acknowledged."""

    name: str = "base"

    @abstractmethod
    def send(
        self, topic: str, key: bytes | None, value: bytes | None, partition: int | None = None
    ) -> None:
        """Queue one message (asynchronous).

        Args:
            topic: Where to.
            key: The message key (the default partitioner hashes it).
            value: The bytes, or None for a tombstone (compacted topics forget the key).
            partition: Write to this partition instead of the key's.
        """

    @abstractmethod
    def send_tracked(
        self, topic: str, key: bytes | None, value: bytes | None, partition: int
    ) -> Callable[[], int | None]:
        """Like :meth:`send`, and tell where the message went.

        Returns:
            A function that gives the message's offset once :meth:`flush` has returned (None
            if it was not delivered).
        """

    @abstractmethod
    def flush(self, timeout: float = 60.0) -> None:
        """Wait until every queued message is acknowledged.

        Raises:
            DeliveryError: a message failed, or the timeout passed with messages outstanding.
        """

    @abstractmethod
    def close(self, timeout: float | None = None) -> None:
        """Flush what is queued and release the client.

        Args:
            timeout: the longest wait for queued messages (None: until they are delivered).
                What is still queued then is dropped, with a warning.
        """


class ConsumerClient(ABC):
    """Consume in a group (subscribe) or on explicit partitions (assign); commit by hand."""

    name: str = "base"

    @abstractmethod
    def subscribe(
        self,
        topics: Sequence[str],
        on_assign: Callable[[list[TopicPartition]], None] | None = None,
        on_revoke: Callable[[list[TopicPartition]], None] | None = None,
    ) -> None:
        """Join the group for ``topics``; the callbacks run inside :meth:`poll`.

        ``on_revoke`` runs before partitions are taken away (commit there if needed);
        ``on_assign`` runs after new partitions are given, before their records are returned.
        Both receive only the partitions that changed: group consumers use the
        cooperative-sticky assignor, so a rebalance moves only the partitions that must move
        and the others keep being read.
        """

    @abstractmethod
    def assign(self, partitions: Sequence[TopicPartition]) -> None:
        """Read these partitions without a group."""

    @abstractmethod
    def poll(self, max_records: int = 500, timeout: float = 0.5) -> list[Record]:
        """Return up to ``max_records`` records (possibly none) within about ``timeout`` s."""

    @abstractmethod
    def commit(self, offsets: dict[TopicPartition, int] | None = None) -> None:
        """Commit synchronously: ``offsets`` (next offset to read) or the current positions."""

    @abstractmethod
    def committed(self, partitions: Sequence[TopicPartition]) -> dict[TopicPartition, int | None]:
        """The group's committed offset per partition (None when nothing was committed)."""

    @abstractmethod
    def assignment(self) -> list[TopicPartition]:
        """The partitions this consumer holds now."""

    @abstractmethod
    def position(self, partition: TopicPartition) -> int:
        """The next offset this consumer will read from ``partition``."""

    @abstractmethod
    def seek(self, partition: TopicPartition, offset: int) -> None:
        """Make the next read of ``partition`` start at ``offset``."""

    @abstractmethod
    def watermarks(self, partition: TopicPartition) -> tuple[int, int]:
        """(first offset, end offset) of a partition as the broker reports them."""

    @abstractmethod
    def cached_end(self, partition: TopicPartition) -> int | None:
        """The end offset of an assigned partition as of its latest fetch, asking nobody.

        None when no fetch has told it yet. Unlike :meth:`watermarks` it sends no request, so
        it never waits behind a fetch that the broker holds open for new data.
        """

    @abstractmethod
    def partitions_for(self, topic: str) -> list[int]:
        """The partition numbers of ``topic`` (empty if it does not exist)."""

    def topic_exists(self, topic: str) -> bool:
        """Whether ``topic`` exists now, asking the cluster (not a cached answer)."""
        return bool(self.partitions_for(topic))

    @abstractmethod
    def close(self) -> None:
        """Leave the group (if any) and release the client. Does not commit."""

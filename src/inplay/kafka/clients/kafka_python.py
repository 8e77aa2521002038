"""The seam implemented with kafka-python (pure Python; the default client).

Built with :func:`inplay.kafka.io.make_producer` / :func:`inplay.kafka.io.make_consumer`, so the
settings (``config.producer_settings`` etc.) and the "cannot reach the cluster" error are the
same as everywhere else in inplay.

kafka-python 3 runs its network IO, heartbeats and rebalance listeners on a background IO thread,
while the thread that called ``poll`` waits. A listener there must not call blocking consumer
methods (kafka-python refuses), so the callbacks given to :meth:`KafkaPythonConsumer.subscribe`
run on a short-lived helper thread that the IO loop awaits: they run while ``poll`` is blocked
(as the seam promises) and may call :meth:`KafkaPythonConsumer.commit` and the like.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Sequence

from kafka import KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KafkaTopicPartition
from kafka.consumer.subscription_state import AsyncConsumerRebalanceListener
from kafka.coordinator.assignors.cooperative_sticky import CooperativeStickyAssignor
from kafka.errors import KafkaError, KafkaTimeoutError
from kafka.future import Future as KafkaFuture
from kafka.structs import OffsetAndMetadata

from inplay.kafka import io as kafka_io
from inplay.kafka.auth import access_denied, refusal
from inplay.kafka.clients.base import (
    FETCH_MAX_WAIT_MS,
    ConsumerClient,
    DeliveryError,
    ProducerClient,
    Record,
    TopicPartition,
)

__all__ = ["KafkaPythonProducer", "KafkaPythonConsumer"]

Callback = Callable[[list[TopicPartition]], None]

log = logging.getLogger(__name__)


def _tp(partition: TopicPartition) -> KafkaTopicPartition:
    return KafkaTopicPartition(partition[0], int(partition[1]))


def _pairs(partitions) -> list[TopicPartition]:
    return sorted((tp.topic, tp.partition) for tp in partitions)


class KafkaPythonProducer(ProducerClient):
    """A kafka-python producer with inplay's producer settings.

    Idempotent (kafka-python 3's default with ``acks=all``), so retries neither duplicate nor
    reorder messages within a partition.

    Args:
        bootstrap: ``host:port[,host:port]``.

    Raises:
        inplay.config.ConfigError: the cluster cannot be reached (names
            ``KAFKA_BOOTSTRAP_SERVERS``).
    """

    name = "kafka-python"

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self._producer: KafkaProducer = kafka_io.make_producer(bootstrap)
        self._errors: list[tuple[str, BaseException]] = []
        self._lock = threading.Lock()

    def _failed(self, topic: str, exc: BaseException) -> None:
        with self._lock:
            self._errors.append((topic, exc))

    def _send(self, topic: str, key: bytes | None, value: bytes | None, partition: int | None):
        try:
            future = self._producer.send(topic, key=key, value=value, partition=partition)
        except KafkaError as exc:
            denied = refusal(exc, "WRITE", topic=topic)
            if denied is not None:
                raise denied from None
            raise
        return future.add_errback(self._failed, topic)

    def send(
        self, topic: str, key: bytes | None, value: bytes | None, partition: int | None = None
    ) -> None:
        """Queue one message (asynchronous); a failure surfaces in :meth:`flush`.

        Raises:
            inplay.kafka.auth.AccessDenied: the ACLs do not let this principal write ``topic``.
        """
        self._send(topic, key, value, partition)

    def send_tracked(
        self, topic: str, key: bytes | None, value: bytes | None, partition: int
    ) -> Callable[[], int | None]:
        """Queue one message; the returned function gives its offset after :meth:`flush`."""
        future = self._send(topic, key, value, partition)

        def offset() -> int | None:
            return int(future.value.offset) if future.is_done and future.succeeded() else None

        return offset

    def flush(self, timeout: float = 60.0) -> None:
        """Wait until every queued message is acknowledged.

        Raises:
            DeliveryError: a message failed, or ``timeout`` passed with messages outstanding.
            inplay.kafka.auth.AccessDenied: the ACLs refused a message (not worth retrying).
        """
        try:
            self._producer.flush(timeout=timeout)
        except KafkaTimeoutError as exc:
            raise DeliveryError(f"messages still unacknowledged after {timeout} s: {exc}") from exc
        with self._lock:
            errors, self._errors = self._errors, []
        for topic, exc in errors:
            denied = refusal(exc, "WRITE", topic=topic)
            if denied is not None:
                raise denied from None
        if errors:
            raise DeliveryError(
                f"{len(errors)} message(s) not acknowledged; first error: {errors[0][1]!r}"
            ) from errors[0][1]

    def close(self, timeout: float | None = None) -> None:
        """Flush what is queued (at most ``timeout`` s) and release the client."""
        try:
            self._producer.close(timeout=timeout)
        except KafkaTimeoutError as exc:
            # kafka-python stops before its sender thread when the flush times out; stop it
            # too, or it retries the undeliverable messages for as long as the process lives.
            log.warning("closing the producer, undelivered messages dropped: %s", exc)
            sender = getattr(self._producer, "_sender", None)
            if sender is not None:
                sender.force_close()


class _Listener(AsyncConsumerRebalanceListener):
    """Runs the seam's callbacks on a helper thread that kafka-python's IO loop awaits."""

    def __init__(
        self, consumer: KafkaConsumer, on_assign: Callback | None, on_revoke: Callback | None
    ) -> None:
        self._consumer = consumer
        self._on_assign = on_assign
        self._on_revoke = on_revoke

    async def _call(self, callback: Callback | None, partitions) -> None:
        pairs = _pairs(partitions)
        if callback is None or not pairs:
            return
        done = KafkaFuture()
        loop = self._consumer._net  # the IO loop: completes `done` on its own thread

        def work() -> None:
            try:
                callback(pairs)
            except BaseException as exc:  # noqa: BLE001 - re-raised by kafka-python from poll
                loop.call_soon_threadsafe(lambda exc=exc: done.failure(exc))
            else:
                loop.call_soon_threadsafe(lambda: done.success(None))

        threading.Thread(target=work, name="inplay-rebalance", daemon=True).start()
        await done

    async def on_partitions_revoked(self, revoked) -> None:
        await self._call(self._on_revoke, revoked)

    async def on_partitions_assigned(self, assigned) -> None:
        await self._call(self._on_assign, assigned)

    async def on_partitions_lost(self, lost) -> None:
        # Like confluent-kafka without an on_lost callback: lost partitions are revoked too.
        await self._call(self._on_revoke, lost)


class KafkaPythonConsumer(ConsumerClient):
    """A kafka-python consumer with inplay's consumer settings and manual commits.

    Args:
        bootstrap: ``host:port[,host:port]``.
        group_id: consumer group, or None for a consumer that only :meth:`assign` s.
        instance_id: a stable ``group.instance.id`` (static membership): a member that
            restarts with it within the session timeout gets its partitions back without a
            rebalance of the group.

    Raises:
        inplay.config.ConfigError: the cluster cannot be reached (names
            ``KAFKA_BOOTSTRAP_SERVERS``).
    """

    name = "kafka-python"

    def __init__(
        self, bootstrap: str, group_id: str | None, instance_id: str | None = None
    ) -> None:
        self.bootstrap = bootstrap
        self.group_id = group_id
        self._admin = None  # for topic_exists, made when first needed
        group: dict = {}
        if group_id is not None:
            # Incremental rebalancing: only the partitions that move are revoked.
            group["partition_assignment_strategy"] = (CooperativeStickyAssignor,)
            if instance_id:
                group["group_instance_id"] = instance_id  # static membership
        self._consumer: KafkaConsumer = kafka_io.make_consumer(
            group_id=group_id,
            bootstrap=bootstrap,
            enable_auto_commit=False,
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
            **group,
        )

    def _need_group(self, what: str) -> None:
        if self.group_id is None:
            raise ValueError(f"{what} needs a consumer group (this consumer has group_id=None)")

    def subscribe(
        self,
        topics: Sequence[str],
        on_assign: Callback | None = None,
        on_revoke: Callback | None = None,
    ) -> None:
        """Join the group for ``topics``; the callbacks run while :meth:`poll` waits.

        The cooperative-sticky assignor revokes only the partitions that move.
        """
        self._need_group("subscribe()")
        self._consumer.subscribe(
            list(topics), listener=_Listener(self._consumer, on_assign, on_revoke)
        )

    def assign(self, partitions: Sequence[TopicPartition]) -> None:
        """Read these partitions without a group."""
        self._consumer.assign([_tp(p) for p in partitions])

    def poll(self, max_records: int = 500, timeout: float = 0.5) -> list[Record]:
        """Return up to ``max_records`` records (possibly none) within about ``timeout`` s.

        Raises:
            inplay.kafka.auth.AccessDenied: the ACLs refused reading a topic or the group.
        """
        try:
            batches = self._consumer.poll(timeout_ms=int(timeout * 1000), max_records=max_records)
        except KafkaError as exc:
            denied = refusal(exc, "READ", group=self.group_id)
            if denied is not None:
                raise denied from None
            raise
        if not batches:
            self._check_authorized()
        return [
            Record(r.topic, r.partition, r.offset, r.key, r.value, r.timestamp)
            for records in batches.values()
            for r in records
        ]

    def _check_authorized(self) -> None:
        """Raise for assigned topics the cluster's metadata marks unauthorized.

        kafka-python waits forever for the leader of such a partition instead of failing.
        """
        cluster = getattr(getattr(self._consumer, "_client", None), "cluster", None)
        refused = set(getattr(cluster, "unauthorized_topics", None) or ())
        refused &= {tp.topic for tp in self._consumer.assignment()}
        if refused:
            raise access_denied(29, "READ", ", ".join(sorted(refused)))

    def commit(self, offsets: dict[TopicPartition, int] | None = None) -> None:
        """Commit synchronously: ``offsets`` (next offset to read) or the current positions."""
        self._need_group("commit()")
        try:
            if offsets is None:
                self._consumer.commit()
            elif offsets:
                self._consumer.commit(
                    {_tp(p): OffsetAndMetadata(int(o), "", -1) for p, o in offsets.items()}
                )
        except KafkaError as exc:
            denied = refusal(exc, "READ", group=self.group_id)
            if denied is not None:
                raise denied from None
            raise

    def committed(self, partitions: Sequence[TopicPartition]) -> dict[TopicPartition, int | None]:
        """The group's committed offset per partition (None when nothing was committed)."""
        self._need_group("committed()")
        out: dict[TopicPartition, int | None] = {}
        for p in partitions:
            offset = self._consumer.committed(_tp(p))
            out[(p[0], int(p[1]))] = None if offset is None or offset < 0 else int(offset)
        return out

    def assignment(self) -> list[TopicPartition]:
        """The partitions this consumer holds now."""
        return _pairs(self._consumer.assignment() or ())

    def position(self, partition: TopicPartition) -> int:
        """The next offset this consumer will read from ``partition`` (must be assigned)."""
        offset = self._consumer.position(_tp(partition))
        if offset is None:
            raise KafkaError(f"no position for {partition} (offset lookup timed out)")
        return int(offset)

    def seek(self, partition: TopicPartition, offset: int) -> None:
        """Make the next read of ``partition`` start at ``offset`` (must be assigned)."""
        self._consumer.seek(_tp(partition), int(offset))

    def watermarks(self, partition: TopicPartition) -> tuple[int, int]:
        """(first offset, end offset) of a partition as the broker reports them."""
        tp = _tp(partition)
        low = self._consumer.beginning_offsets([tp])[tp]
        high = self._consumer.end_offsets([tp])[tp]
        return int(low), int(high)

    def cached_end(self, partition: TopicPartition) -> int | None:
        """The end offset of an assigned partition as of its latest fetch (no request)."""
        high = self._consumer.highwater(_tp(partition))
        return None if high is None else int(high)

    def partitions_for(self, topic: str) -> list[int]:
        """The partition numbers of ``topic`` (empty if it does not exist)."""
        return sorted(self._consumer.partitions_for_topic(topic) or ())

    def topic_exists(self, topic: str) -> bool:
        """Whether ``topic`` exists now, asked with a fresh metadata request.

        Not ``KafkaConsumer.topics()``: while the broker is down that answers from a stale or
        empty cache instead of failing.

        Raises:
            inplay.config.ConfigError: the cluster cannot be reached.
        """
        if self._admin is None:  # one admin client, kept: the scorer asks every few seconds
            self._admin = kafka_io.make_admin(self.bootstrap, bootstrap_timeout_ms=3000)
        try:
            return topic in self._admin.list_topics()
        except Exception:
            self._close_admin()  # a fresh one next time
            raise

    def _close_admin(self) -> None:
        if self._admin is not None:
            with contextlib.suppress(Exception):
                self._admin.close()
            self._admin = None

    def close(self) -> None:
        """Leave the group (if any) and release the client. Does not commit."""
        self._close_admin()
        with contextlib.suppress(Exception):
            self._consumer.close(autocommit=False)

"""The seam implemented with confluent-kafka (librdkafka; ``pip install -e '.[fast]'``).

inplay's settings (:func:`inplay.config.producer_settings`, ``consumer_settings``,
``security_settings``, ``client_settings``) are translated to librdkafka's names:

=========================  ======================================================
inplay (environment)       librdkafka
=========================  ======================================================
KAFKA_ACKS                 ``acks``
KAFKA_RETRIES              ``retries``
KAFKA_BATCH_SIZE           ``batch.size`` (bytes per partition batch)
KAFKA_LINGER_MS            ``linger.ms``
KAFKA_COMPRESSION_TYPE     ``compression.type``
KAFKA_BUFFER_MEMORY        ``queue.buffering.max.kbytes`` (bytes / 1024)
KAFKA_AUTO_OFFSET_RESET    ``auto.offset.reset``
KAFKA_SESSION_TIMEOUT_MS   ``session.timeout.ms``
KAFKA_HEARTBEAT_...        ``heartbeat.interval.ms``
KAFKA_SECURITY_PROTOCOL    ``security.protocol``
KAFKA_SASL_MECHANISM       ``sasl.mechanism``
KAFKA_SASL_USERNAME/...    ``sasl.username`` / ``sasl.password``
KAFKA_SSL_CAFILE           ``ssl.ca.location``
KAFKA_SSL_CERTFILE/KEYFILE ``ssl.certificate.location`` / ``ssl.key.location``
KAFKA_SSL_KEY_PASSWORD     ``ssl.key.password``
=========================  ======================================================

Consumers never auto-commit (``enable.auto.commit=false``); producers are idempotent
(``enable.idempotence=true``) whenever ``acks`` is ``all``. librdkafka connects lazily, so both
constructors ask the cluster for metadata within ``KAFKA_BOOTSTRAP_TIMEOUT_MS`` and turn a
failure into :class:`inplay.config.ConfigError` naming ``KAFKA_BOOTSTRAP_SERVERS``.
librdkafka's own log lines go to the ``inplay.kafka.clients.confluent`` logger.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    OFFSET_END,
    OFFSET_INVALID,
    TIMESTAMP_NOT_AVAILABLE,
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
)
from confluent_kafka import TopicPartition as CTopicPartition

from inplay import config
from inplay.kafka import io as kafka_io
from inplay.kafka.auth import AccessDenied, refusal
from inplay.kafka.clients.base import (
    FETCH_MAX_WAIT_MS,
    ConsumerClient,
    DeliveryError,
    ProducerClient,
    Record,
    TopicPartition,
)

__all__ = ["ConfluentProducer", "ConfluentConsumer", "producer_config", "consumer_config"]

log = logging.getLogger(__name__)


class _ClientLog:
    """One client's librdkafka log: passed on to this module's logger, its FATAL line kept.

    After a fatal error (e.g. the ACLs refused an idempotent producer id) confluent-kafka's
    ``flush`` can fail with a bare ``SystemError`` before the error callback ran (seen in CI
    under load); librdkafka has logged the reason by then. confluent-kafka calls the
    ``logger`` setting's ``log`` method, so each producer keeps its own line.
    """

    def __init__(self) -> None:
        self.fatal = ""

    def log(self, level: int, msg: str, *args: Any) -> None:
        """Log one librdkafka line (confluent-kafka's call: ``"%s [%s] %s", fac, name, text``)."""
        log.log(level, msg, *args)
        text = msg % args if args else msg
        if level >= logging.CRITICAL and ("FATAL" in text or "Fatal error" in text):
            self.fatal = text


def _is_fatal(exc: BaseException) -> bool:
    """Whether ``exc`` is how confluent-kafka reports a producer's fatal error."""
    if isinstance(exc, SystemError):
        return True
    err = exc.args[0] if isinstance(exc, KafkaException) and exc.args else None
    return isinstance(err, KafkaError) and (err.code() == KafkaError._FATAL or err.fatal())


Callback = Callable[[list[TopicPartition]], None]

# Error codes of librdkafka that are not worth stopping a consumer for: it retries by itself.
_SKIP = {KafkaError._PARTITION_EOF}
_TRANSIENT = {
    KafkaError._TRANSPORT,
    KafkaError._ALL_BROKERS_DOWN,
    KafkaError._TIMED_OUT,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
    KafkaError._UNKNOWN_PARTITION,
    KafkaError._UNKNOWN_TOPIC,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.NOT_LEADER_FOR_PARTITION,
}


def _security() -> dict[str, Any]:
    names = {
        "security_protocol": "security.protocol",
        "sasl_mechanism": "sasl.mechanism",
        "sasl_plain_username": "sasl.username",
        "sasl_plain_password": "sasl.password",
        "ssl_cafile": "ssl.ca.location",
        "ssl_certfile": "ssl.certificate.location",
        "ssl_keyfile": "ssl.key.location",
        "ssl_password": "ssl.key.password",
    }
    return {names[k]: v for k, v in config.security_settings().items() if k in names}


def _timeout_s() -> float:
    return config.client_settings()["bootstrap_timeout_ms"] / 1000.0


def producer_config(bootstrap: str) -> dict[str, Any]:
    """The librdkafka producer settings translated from inplay's (see the module docstring)."""
    s = config.producer_settings()
    acks = "all" if s["acks"] in ("all", -1) else str(s["acks"])
    conf: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        "acks": acks,
        "retries": s["retries"],
        "batch.size": s["batch_size"],
        "linger.ms": s["linger_ms"],
        "compression.type": s["compression_type"] or "none",
        "queue.buffering.max.kbytes": max(1, s["buffer_memory"] // 1024),
        # Idempotence needs acks=all; with it retries neither duplicate nor reorder.
        "enable.idempotence": acks == "all",
        "logger": log,
    }
    conf.update(_security())
    return conf


def consumer_config(
    bootstrap: str, group_id: str | None, instance_id: str | None = None
) -> dict[str, Any]:
    """The librdkafka consumer settings translated from inplay's (see the module docstring).

    A group consumer uses the cooperative-sticky assignor (a rebalance revokes only the
    partitions that move) and, given ``instance_id``, static membership.
    """
    s = config.consumer_settings()
    conf: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        # librdkafka needs a group id even to assign(); a group-less consumer gets a private one
        # that it never commits to.
        "group.id": group_id or f"inplay-nogroup-{uuid.uuid4().hex}",
        "enable.auto.commit": False,
        "auto.offset.reset": s["auto_offset_reset"],
        "session.timeout.ms": s["session_timeout_ms"],
        "heartbeat.interval.ms": s["heartbeat_interval_ms"],
        # librdkafka's 500 ms made every watermarks() call take about 330 ms.
        "fetch.wait.max.ms": FETCH_MAX_WAIT_MS,
        "logger": log,
    }
    if group_id is not None:
        conf["partition.assignment.strategy"] = "cooperative-sticky"
        if instance_id:
            conf["group.instance.id"] = instance_id
    conf.update(_security())
    return conf


def _probe(client: Producer | Consumer, bootstrap: str) -> None:
    """Ask for cluster metadata; ConfigError naming KAFKA_BOOTSTRAP_SERVERS when unreachable."""
    try:
        client.list_topics(timeout=_timeout_s())
    except KafkaException as exc:
        denied = refusal(exc, "WRITE" if isinstance(client, Producer) else "READ")
        if denied is not None:
            raise denied from None
        raise kafka_io.unreachable_error(bootstrap, exc) from exc


_SEEK_TOO_EARLY = (KafkaError._STATE, KafkaError._OUTDATED)
"""librdkafka's refusals of a seek made before the freshly assigned partition has started."""


def _ctp(partition: TopicPartition, offset: int | None = None) -> CTopicPartition:
    if offset is None:
        return CTopicPartition(partition[0], int(partition[1]))
    return CTopicPartition(partition[0], int(partition[1]), int(offset))


def _pairs(partitions: list[CTopicPartition]) -> list[TopicPartition]:
    return sorted((tp.topic, tp.partition) for tp in partitions)


def _raise_partition_errors(partitions: list[CTopicPartition] | None) -> None:
    for tp in partitions or ():
        if tp.error is not None:
            raise KafkaException(tp.error)


def _logical_start() -> int:
    """Where a group-less consumer starts a partition: ``KAFKA_AUTO_OFFSET_RESET``."""
    early = config.consumer_settings()["auto_offset_reset"] == "earliest"
    return OFFSET_BEGINNING if early else OFFSET_END


def _reassign(consumer: Consumer, seeked: dict, key: TopicPartition, offset: int) -> None:
    """A group-less consumer's seek: assign again, ``key`` at ``offset``.

    The others stay where they are (or were sought, or start). A seek straight after assign()
    would race with the partition's start.
    """
    current = consumer.assignment()
    positions = {(tp.topic, tp.partition): tp.offset for tp in consumer.position(current)}
    positions.update({k: v for k, v in seeked.items() if positions.get(k, -1) < 0})
    positions[key] = int(offset)
    start = _logical_start()
    consumer.assign([_ctp(p, o if o >= 0 else start) for p, o in positions.items()])


def _past_seeks(seeked: dict[TopicPartition, int], records: list[Record]) -> list[Record]:
    """Drop records before a sought offset; a partition read at or past it leaves ``seeked``.

    After a group-less seek (a re-assign) librdkafka has delivered records from before the
    sought offset (seen in CI: a seek back to offset 1 read offset 0 first, on both brokers;
    a fetch returns whole record batches); a seek means the next read starts there.
    """
    kept = []
    for r in records:
        key = (r.topic, r.partition)
        sought = seeked.get(key)
        if sought is not None and 0 <= r.offset < sought:
            continue
        seeked.pop(key, None)
        kept.append(r)
    return kept


def _check_authorized(client: ConfluentConsumer) -> None:
    """Raise for a topic assigned since the last check that the ACLs hide from this principal.

    librdkafka only logs it and waits forever for the partitions' leaders.
    """
    topics, client._unchecked = getattr(client, "_unchecked", set()), set()
    for topic in sorted(topics):
        try:
            meta = client._consumer.list_topics(topic, timeout=_timeout_s()).topics.get(topic)
        except KafkaException:
            continue  # unreachable: librdkafka retries, and says so
        err = getattr(meta, "error", None)
        if err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED:
            raise refusal(KafkaException(err), "READ", topic=topic) or KafkaException(err)


class ConfluentProducer(ProducerClient):
    """A confluent-kafka producer with inplay's producer settings, idempotent with acks=all.

    Args:
        bootstrap: ``host:port[,host:port]``.

    Raises:
        inplay.config.ConfigError: the cluster cannot be reached (names
            ``KAFKA_BOOTSTRAP_SERVERS``).
    """

    name = "confluent"
    #: How long a fatal error waits for librdkafka to say why (its callbacks are queued).
    reason_wait_s = 5.0

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self._fatal: KafkaError | None = None
        self._last_topic: str | None = None
        # A fatal error (e.g. no right to an idempotent producer id) is kept for flush(); left
        # to confluent-kafka it is raised inside the next delivery callback instead.
        self._log = _ClientLog()
        self._producer = Producer(
            {**producer_config(bootstrap), "error_cb": self._on_error, "logger": self._log}
        )
        _probe(self._producer, bootstrap)
        self._errors: list[KafkaError] = []
        self._lock = threading.Lock()
        self._unserved = 0
        self._denied: Exception | None = None

    def _on_error(self, err: KafkaError) -> None:
        if err.fatal():
            self._fatal = err
        else:
            log.warning("producer: %s (librdkafka retries)", err)

    def _raise_fatal(self, exc: Exception, topic: str | None) -> None:
        """Raise what a failed send or flush means: the ACLs' refusal when it is one.

        A fatal error (e.g. the ACLs refused an idempotent producer id) surfaces as code
        ``_FATAL`` ("Local: Fatal error") from ``produce``, or as a bare ``SystemError`` (a
        callback ran with its exception pending), often before librdkafka's error callback and
        its FATAL log line were served (both seen in CI under load). They are served first,
        within a deadline; the fatal error kept by :meth:`_on_error`, or the logged line, then
        says why.
        """
        fatal = _is_fatal(exc)
        if fatal:
            self._serve_until_explained()
        denied = refusal(exc, "WRITE", topic=topic)
        if denied is None and self._fatal is not None:
            denied = refusal(KafkaException(self._fatal), "WRITE", topic=topic)
        if denied is None and fatal:
            logged = self._log.fatal and refusal(
                RuntimeError(self._log.fatal), "WRITE", topic=topic
            )
            denied = self._denied or logged or None
        if denied is not None:
            raise denied from None
        if fatal and self._fatal is not None:
            raise KafkaException(self._fatal) from None
        raise exc

    def _serve_until_explained(self) -> None:
        """Serve librdkafka's queued callbacks until a fatal error's reason has arrived."""
        deadline = time.monotonic() + self.reason_wait_s
        while self._fatal is None and self._denied is None:
            if self._log.fatal or time.monotonic() >= deadline:
                return
            try:
                self._producer.poll(0.1)
            except (KafkaException, SystemError):
                pass  # the callbacks of a failed producer may raise; what they kept counts

    def _delivered(self, err: KafkaError | None, msg: Any) -> None:
        # Runs inside flush()/poll() on the caller's thread; no lock: after a fatal error
        # confluent-kafka calls it with an exception pending, and a lock taken then is never
        # released.
        if err is not None:
            self._errors.append(err)
            if self._denied is None:
                self._denied = refusal(KafkaException(err), "WRITE", topic=msg.topic())

    def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None = None,
        on_delivery: Callable[[KafkaError | None, Any], None] | None = None,
    ) -> None:
        """Queue one message (asynchronous); a failure surfaces in :meth:`flush`."""
        extra = {} if partition is None else {"partition": int(partition)}
        self._last_topic = topic
        try:
            while True:
                try:
                    self._producer.produce(
                        topic, value, key, on_delivery=on_delivery or self._delivered, **extra
                    )
                    break
                except BufferError:
                    # The local queue is full (queue.buffering.max.*): let librdkafka send some.
                    self._producer.poll(0.05)
            self._unserved += 1
            if self._unserved >= 1000:  # serve delivery reports now and then, not per message
                self._producer.poll(0)
                self._unserved = 0
        except (KafkaException, SystemError) as exc:  # a fatal error, e.g. no producer id
            self._raise_fatal(exc, topic)

    def send_tracked(
        self, topic: str, key: bytes | None, value: bytes | None, partition: int
    ) -> Callable[[], int | None]:
        """Queue one message; the returned function gives its offset after :meth:`flush`."""
        box: list[int] = []

        def delivered(err: KafkaError | None, msg: Any) -> None:
            self._delivered(err, msg)
            if err is None:
                box.append(int(msg.offset()))

        self.send(topic, key, value, partition, on_delivery=delivered)
        return lambda: box[-1] if box else None

    def flush(self, timeout: float = 60.0) -> None:
        """Wait until every queued message is acknowledged.

        Raises:
            DeliveryError: a message failed, or ``timeout`` passed with messages outstanding.
            inplay.kafka.auth.AccessDenied: the ACLs refused a message (not worth retrying).
        """
        try:
            remaining = self._producer.flush(timeout)
        except (KafkaException, SystemError) as exc:  # a fatal error, raised in a callback
            self._raise_fatal(exc, self._last_topic)
        self._unserved = 0
        with self._lock:
            errors, self._errors = self._errors, []
            denied, self._denied = self._denied, None
        if self._fatal is not None:
            exc = KafkaException(self._fatal)
            denied = denied or refusal(exc, "WRITE", topic=self._last_topic)
            if denied is None:
                raise exc
        if denied is not None:
            raise denied
        if remaining > 0:
            raise DeliveryError(f"{remaining} message(s) still unacknowledged after {timeout} s")
        if errors:
            raise DeliveryError(f"{len(errors)} message(s) not acknowledged; first: {errors[0]}")

    def close(self, timeout: float | None = None) -> None:
        """Flush what is queued (at most ``timeout`` s) and release the client."""
        try:
            if timeout is None:
                self.flush()
            else:
                try:
                    self.flush(timeout)
                except (DeliveryError, AccessDenied, KafkaException, SystemError) as exc:
                    log.warning("closing the producer, undelivered messages dropped: %s", exc)
        finally:
            self._producer = None  # librdkafka's producer is released when collected


class ConfluentConsumer(ConsumerClient):
    """A confluent-kafka consumer with inplay's consumer settings and manual commits.

    Args:
        bootstrap: ``host:port[,host:port]``.
        group_id: consumer group, or None for a consumer that only :meth:`assign` s.
        instance_id: a stable ``group.instance.id`` (static membership).

    Raises:
        inplay.config.ConfigError: the cluster cannot be reached (names
            ``KAFKA_BOOTSTRAP_SERVERS``).
    """

    name = "confluent"

    def __init__(
        self, bootstrap: str, group_id: str | None, instance_id: str | None = None
    ) -> None:
        self.bootstrap = bootstrap
        self.group_id = group_id
        self._reset = config.consumer_settings()["auto_offset_reset"]
        self._consumer = Consumer(consumer_config(bootstrap, group_id, instance_id))
        try:
            _probe(self._consumer, bootstrap)
        except Exception:
            self._consumer.close()
            raise
        self._manual = False
        self._metadata: Producer | None = None  # for topic_exists, made when first needed
        # librdkafka forgets the position after seek() until the next record is fetched.
        self._seeked: dict[TopicPartition, int] = {}

    def _need_group(self, what: str) -> None:
        if self.group_id is None:
            raise ValueError(f"{what} needs a consumer group (this consumer has group_id=None)")

    def subscribe(
        self,
        topics: Sequence[str],
        on_assign: Callback | None = None,
        on_revoke: Callback | None = None,
    ) -> None:
        """Join the group for ``topics``; the callbacks run inside :meth:`poll`.

        With the cooperative-sticky assignor only the partitions that move are revoked; librdkafka
        adds (removes) the changed partitions itself after the callback.
        """
        self._need_group("subscribe()")

        def assigned(_consumer: Consumer, partitions: list[CTopicPartition]) -> None:
            self._seeked.clear()
            pairs = _pairs(partitions)
            if on_assign is not None and pairs:
                on_assign(pairs)

        def revoked(_consumer: Consumer, partitions: list[CTopicPartition]) -> None:
            self._seeked.clear()
            pairs = _pairs(partitions)
            if on_revoke is not None and pairs:
                on_revoke(pairs)

        self._manual = False
        self._consumer.subscribe(list(topics), on_assign=assigned, on_revoke=revoked)

    def assign(self, partitions: Sequence[TopicPartition]) -> None:
        """Read these partitions without a group."""
        self._manual = True
        self._seeked.clear()
        self._unchecked = {topic for topic, _ in partitions}
        if getattr(self, "group_id", None) is None:
            # Never ask the private group for committed offsets (ACLs may not allow it).
            self._consumer.assign([_ctp(p, _logical_start()) for p in partitions])
            return
        self._consumer.assign([_ctp(p) for p in partitions])

    def poll(self, max_records: int = 500, timeout: float = 0.5) -> list[Record]:
        """Return up to ``max_records`` records (possibly none) within about ``timeout`` s.

        Raises:
            confluent_kafka.KafkaException: a fatal or non-retriable consumer error.
        """
        # consume(n, timeout) waits until n messages or the timeout, which at a live pace
        # means always waiting the whole timeout. Wait for the first message only, then take
        # what is already fetched, like kafka-python's poll.
        first = self._consumer.poll(timeout)
        if first is None:
            _check_authorized(self)  # once per assign()
            return []
        messages = [first]
        if max_records > 1:
            messages.extend(self._consumer.consume(max_records - 1, 0))
        out: list[Record] = []
        append = out.append
        for m in messages:
            err = m.error()
            if err is not None:
                self._error(err, m.topic())
                continue
            ts_type, ts = m.timestamp()
            append(
                Record(
                    m.topic(),
                    m.partition(),
                    m.offset(),
                    m.key(),
                    m.value(),
                    None if ts_type == TIMESTAMP_NOT_AVAILABLE else ts,
                )
            )
        if self._seeked and out:
            out = _past_seeks(self._seeked, out)
        return out

    def _error(self, err: KafkaError, topic: str | None = None) -> None:
        code = err.code()
        if code in _SKIP:
            return
        if code == KafkaError.GROUP_AUTHORIZATION_FAILED and self.group_id is None:
            return  # the private group of an assign-only consumer is never used
        if not err.fatal() and (code in _TRANSIENT or err.retriable()):
            log.warning("consumer: %s (librdkafka retries)", err)
            return
        exc = KafkaException(err)
        raise refusal(exc, "READ", topic=topic, group=self.group_id) or exc

    def commit(self, offsets: dict[TopicPartition, int] | None = None) -> None:
        """Commit synchronously: ``offsets`` (next offset to read) or the current positions."""
        self._need_group("commit()")
        try:
            if offsets is None:
                result = self._consumer.commit(asynchronous=False)
            elif offsets:
                result = self._consumer.commit(
                    offsets=[_ctp(p, o) for p, o in offsets.items()], asynchronous=False
                )
            else:
                return
        except KafkaException as exc:
            if exc.args and exc.args[0].code() == KafkaError._NO_OFFSET:
                return  # nothing consumed since the last commit: nothing to do
            denied = refusal(exc, "READ", group=self.group_id)
            if denied is not None:
                raise denied from None
            raise
        try:
            _raise_partition_errors(result)
        except KafkaException as exc:
            denied = refusal(exc, "READ", group=self.group_id)
            if denied is not None:
                raise denied from None
            raise

    def committed(self, partitions: Sequence[TopicPartition]) -> dict[TopicPartition, int | None]:
        """The group's committed offset per partition (None when nothing was committed)."""
        self._need_group("committed()")
        if not partitions:
            return {}
        result = self._consumer.committed([_ctp(p) for p in partitions], timeout=_timeout_s())
        _raise_partition_errors(result)
        return {(tp.topic, tp.partition): (tp.offset if tp.offset >= 0 else None) for tp in result}

    def assignment(self) -> list[TopicPartition]:
        """The partitions this consumer holds now."""
        return _pairs(self._consumer.assignment())

    def position(self, partition: TopicPartition) -> int:
        """The next offset this consumer will read from ``partition``.

        A seek target not read past yet first (librdkafka may report the old one for a moment
        after a re-assign); else librdkafka's, the committed offset, or the start or end.
        """
        key = (partition[0], int(partition[1]))
        if key in self._seeked:  # sought and nothing read since: librdkafka's may be the old one
            return self._seeked[key]
        offset = self._consumer.position([_ctp(key)])[0].offset
        if offset >= 0:
            return offset
        if self.group_id is not None:
            committed = self.committed([key])[key]
            if committed is not None:
                return committed
        low, high = self.watermarks(key)
        return low if self._reset == "earliest" else high

    def seek(self, partition: TopicPartition, offset: int) -> None:
        """Make the next read of ``partition`` start at ``offset`` (must be assigned)."""
        key = (partition[0], int(partition[1]))
        if getattr(self, "group_id", None) is None:
            _reassign(self._consumer, self._seeked, key, offset)  # no race with the start
            self._seeked[key] = int(offset)
            return
        try:
            self._consumer.seek(_ctp(key, offset))
        except KafkaException as exc:
            # Right after assign() librdkafka has not started the partition and refuses to seek
            # ("Erroneous state"), or the partition's start superseded the seek ("Outdated",
            # seen once in CI on Apache Kafka): assign again with the offset, keeping the
            # others' positions.
            if not exc.args or exc.args[0].code() not in _SEEK_TOO_EARLY:
                raise
            current = self._consumer.assignment()
            if key not in _pairs(current):
                raise
            positions = {
                (tp.topic, tp.partition): tp.offset for tp in self._consumer.position(current)
            }
            positions.update({k: v for k, v in self._seeked.items() if positions.get(k, -1) < 0})
            positions[key] = int(offset)
            self._consumer.assign(
                [_ctp(p, o if o >= 0 else OFFSET_INVALID) for p, o in positions.items()]
            )
        self._seeked[key] = int(offset)

    def watermarks(self, partition: TopicPartition) -> tuple[int, int]:
        """(first offset, end offset) of a partition as the broker reports them."""
        low, high = self._consumer.get_watermark_offsets(
            _ctp(partition), timeout=_timeout_s(), cached=False
        )
        return int(low), int(high)

    def cached_end(self, partition: TopicPartition) -> int | None:
        """The end offset of an assigned partition as of its latest fetch (no request)."""
        _low, high = self._consumer.get_watermark_offsets(_ctp(partition), cached=True)
        return int(high) if high >= 0 else None

    def partitions_for(self, topic: str) -> list[int]:
        """The partition numbers of ``topic`` (empty if it does not exist)."""
        metadata = self._consumer.list_topics(topic, timeout=_timeout_s())
        found = metadata.topics.get(topic)
        if found is None or found.error is not None:
            return []
        return sorted(found.partitions)

    def topic_exists(self, topic: str) -> bool:
        """Whether ``topic`` exists now, asked on a connection of its own.

        Not the consumer's: the broker answers a connection's requests in order, so a metadata
        request would wait behind a fetch held open for new data (up to the fetch wait).
        """
        if self._metadata is None:
            self._metadata = Producer(producer_config(self.bootstrap))
        metadata = self._metadata.list_topics(topic, timeout=_timeout_s())
        found = metadata.topics.get(topic)
        return found is not None and found.error is None and bool(found.partitions)

    def close(self) -> None:
        """Leave the group (if any) and release the client. Does not commit."""
        self._metadata = None
        self._consumer.close()

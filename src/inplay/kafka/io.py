"""Kafka clients (kafka-python) built from inplay's settings.

Where the broker is: ``KAFKA_BOOTSTRAP_SERVERS`` when set, else the embedded broker started with
``inplay broker start`` (see :mod:`inplay.brokers.embedded`). Producers and consumers exchange
raw bytes; callers serialise.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka import errors as kafka_errors
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaConnectionError, KafkaTimeoutError

from inplay import config
from inplay.brokers import embedded as broker
from inplay.brokers import process
from inplay.config import ConfigError

__all__ = [
    "bootstrap_servers",
    "ensure_broker",
    "make_producer",
    "make_consumer",
    "make_admin",
    "read_topic",
    "end_offsets",
    "BrokerDataLost",
    "lost_topics_error",
    "embedded_identity",
    "unreachable_error",
]

BOOTSTRAP_ENV = "KAFKA_BOOTSTRAP_SERVERS"

# A failed bootstrap: kafka-python 3.x raises KafkaTimeoutError ("Unable to bootstrap from ...");
# 2.x raised NoBrokersAvailable, which 3.x no longer defines.
_BOOTSTRAP_ERRORS: tuple[type[Exception], ...] = tuple(
    {
        KafkaTimeoutError,
        KafkaConnectionError,
        getattr(kafka_errors, "NoBrokersAvailable", KafkaTimeoutError),
    }
)


def bootstrap_servers(state_file: Path | str | None = None) -> str:
    """Return the Kafka bootstrap servers to use.

    Order: ``KAFKA_BOOTSTRAP_SERVERS`` if set, else the running embedded broker.

    Args:
        state_file: The embedded broker's state file; ``config.BROKER_STATE_FILE`` when None.

    Raises:
        ConfigError: neither is available.
    """
    env = config.env_str(BOOTSTRAP_ENV)
    if env:
        return env
    info = broker.status(state_file)
    if info is not None:
        return info.bootstrap
    raise ConfigError(
        "No Kafka broker: start the embedded one with `inplay broker start`, "
        f"or set {BOOTSTRAP_ENV}=host:port"
    )


def ensure_broker(state_file: Path | str | None = None) -> str:
    """Return the bootstrap servers, starting the embedded broker when none is configured.

    Args:
        state_file: The embedded broker's state file; ``config.BROKER_STATE_FILE`` when None.

    Raises:
        ConfigError: ``KAFKA_BOOTSTRAP_SERVERS`` is unset and the embedded broker is unavailable.
    """
    env = config.env_str(BOOTSTRAP_ENV)
    if env:
        return env
    return broker.start(state_file).bootstrap


def unreachable_error(bootstrap: str, exc: Exception) -> ConfigError:
    """The one-line error for a cluster that cannot be reached (names KAFKA_BOOTSTRAP_SERVERS).

    With SASL/PLAIN configured, a refused login is told apart (it names the credentials).
    """
    from inplay.kafka.auth import first_address, login_error

    refused = login_error(bootstrap)
    if refused:
        return ConfigError(f"Kafka authentication failed: {refused}.")
    env = config.env_str(BOOTSTRAP_ENV)
    if env and env == bootstrap:
        where = f"{BOOTSTRAP_ENV}={bootstrap!r}"
    else:
        where = f"{bootstrap!r} ({BOOTSTRAP_ENV} is {'set to ' + repr(env) if env else 'unset'})"
    address = first_address(bootstrap)
    if address is not None and process.port_open(address[1], timeout=1.0, host=address[0]):
        protocol = config.security_settings().get("security_protocol") or "PLAINTEXT"
        return ConfigError(
            f"The Kafka port {where} accepts connections but no Kafka session could be set "
            f"up with KAFKA_SECURITY_PROTOCOL={protocol}: {exc}. If the listener needs "
            "authentication or TLS, set KAFKA_SECURITY_PROTOCOL (SASL_PLAINTEXT, SASL_SSL, "
            "SSL), KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD (or "
            "INPLAY_SETTINGS_FILE); otherwise check that this is a Kafka port."
        )
    return ConfigError(
        f"Cannot reach a Kafka broker at {where}: {exc}. Start the embedded broker with "
        f"`inplay broker start`, start your cluster, or set {BOOTSTRAP_ENV}=host:port to a "
        "reachable one."
    )


class BrokerDataLost(ConfigError):
    """Topics this client was using are gone: the broker lost its data or they were deleted."""


def embedded_identity(bootstrap: str) -> tuple[int, float] | None:
    """(pid, start time) of the embedded broker if ``bootstrap`` is it, else None."""
    info = broker.status()
    if info is None or info.bootstrap != bootstrap:
        return None
    return info.pid, info.started_at


def lost_topics_error(
    bootstrap: str, topics: list[str], restarted_at: float | None = None
) -> BrokerDataLost:
    """The error for a broker that lost the topics a client was using.

    The embedded broker (Tansu) keeps everything in memory: when it restarts, every topic,
    record and committed offset is gone (and a client asking for a topic may get an empty
    new one). Waiting would hang forever, so clients that notice stop with this error, which
    says what happened and what to do.

    Args:
        bootstrap: The cluster the client uses.
        topics: The topics that no longer exist (may be empty when the restart was seen).
        restarted_at: When the embedded broker restarted under the client (epoch seconds), if
            that is how the loss was noticed.
    """
    names = ", ".join(repr(t) for t in topics)
    if restarted_at is not None:
        when = time.strftime("%H:%M:%S", time.localtime(restarted_at))
        return BrokerDataLost(
            f"the embedded broker at {bootstrap} was restarted at {when}: it keeps everything "
            "in memory, so its topics, events and committed offsets are gone. Run `inplay "
            "topics create`, then replay the matches again (or use a persistent Kafka: "
            "KAFKA_BOOTSTRAP_SERVERS)."
        )
    return BrokerDataLost(
        f"topic(s) {names} vanished from {bootstrap} while in use: they were deleted or the "
        "broker lost its data (an in-memory broker that restarted?). Recreate them with "
        "`inplay topics create` and replay the matches again."
    )


def _supported(cls: type, settings: dict[str, Any]) -> dict[str, Any]:
    """Drop inplay settings this kafka-python version does not know.

    ``buffer_memory`` (a setting of the replaced system) was removed in kafka-python 3.x.
    Only inplay's own settings are filtered; explicit overrides are passed on unchanged, so a
    misspelt override still fails loudly.
    """
    known = getattr(cls, "DEFAULT_CONFIG", None)
    if not known:
        return settings
    return {key: value for key, value in settings.items() if key in known}


def _build(cls: type, bootstrap: str, settings: dict[str, Any]) -> Any:
    try:
        return cls(bootstrap_servers=bootstrap, **settings)
    except _BOOTSTRAP_ERRORS as exc:
        raise unreachable_error(bootstrap, exc) from exc


def make_producer(bootstrap: str | None = None, **overrides: Any) -> KafkaProducer:
    """Create a producer with inplay's producer and security settings.

    Keys and values are bytes (no serialisers) unless ``overrides`` set some.

    Args:
        bootstrap: ``host:port[,host:port]``; :func:`bootstrap_servers` when None.
        **overrides: Any KafkaProducer setting, applied last.

    Raises:
        ConfigError: no broker is configured or it cannot be reached.
    """
    bootstrap = bootstrap or bootstrap_servers()
    defaults = {
        **config.producer_settings(),
        **config.security_settings(),
        **config.client_settings(),
    }
    settings = {**_supported(KafkaProducer, defaults), **overrides}
    return _build(KafkaProducer, bootstrap, settings)


def make_consumer(
    *topics: str,
    group_id: str | None,
    bootstrap: str | None = None,
    **overrides: Any,
) -> KafkaConsumer:
    """Create a consumer with inplay's consumer and security settings.

    Auto-commit is off unless ``overrides`` turn it on.

    Args:
        *topics: Topics to subscribe to; none to ``assign`` partitions later.
        group_id: Consumer group, or None for a group-less consumer.
        bootstrap: ``host:port[,host:port]``; :func:`bootstrap_servers` when None.
        **overrides: Any KafkaConsumer setting, applied last.

    Raises:
        ConfigError: no broker is configured or it cannot be reached.
    """
    bootstrap = bootstrap or bootstrap_servers()
    defaults = {
        **config.consumer_settings(),
        **config.security_settings(),
        **config.client_settings(),
    }
    settings = {
        **_supported(KafkaConsumer, defaults),
        "enable_auto_commit": False,
        "group_id": group_id,
        # Reading never creates a topic: a topic that vanished (a restarted in-memory broker)
        # must be noticed, not silently replaced by an empty one-partition copy.
        "allow_auto_create_topics": False,
        **overrides,
    }
    consumer = _build(KafkaConsumer, bootstrap, settings)
    if topics:
        consumer.subscribe(list(topics))
    return consumer


def make_admin(bootstrap: str | None = None, **overrides: Any) -> KafkaAdminClient:
    """Create an admin client with inplay's security settings.

    Args:
        bootstrap: ``host:port[,host:port]``; :func:`bootstrap_servers` when None.
        **overrides: Any KafkaAdminClient setting, applied last.

    Raises:
        ConfigError: no broker is configured or it cannot be reached.
    """
    bootstrap = bootstrap or bootstrap_servers()
    settings = {
        **_supported(KafkaAdminClient, {**config.security_settings(), **config.client_settings()}),
        **overrides,
    }
    return _build(KafkaAdminClient, bootstrap, settings)


def _partitions(consumer: KafkaConsumer, topic: str, timeout: float) -> list[TopicPartition]:
    """Partitions of ``topic``; empty if the topic does not exist (after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        parts = consumer.partitions_for_topic(topic)
        if parts:
            return [TopicPartition(topic, p) for p in sorted(parts)]
        if time.monotonic() >= deadline:
            return []
        time.sleep(0.1)


def end_offsets(topic: str, bootstrap: str | None = None) -> dict[int, int]:
    """Return the end offset (the next offset to be written) of each partition of ``topic``.

    Args:
        topic: Topic name.
        bootstrap: ``host:port[,host:port]``; :func:`bootstrap_servers` when None.

    Returns:
        Partition number -> end offset; empty if the topic does not exist. On Apache Kafka this
        is the number of records ever written to the partition. The embedded broker (Tansu
        0.6.0) instead answers the base offset of the partition's last record batch + 1, which
        is lower when the producer batched several records.

    Raises:
        ConfigError: no broker is configured or it cannot be reached.
    """
    consumer = make_consumer(group_id=None, bootstrap=bootstrap, allow_auto_create_topics=False)
    try:
        parts = _partitions(consumer, topic, timeout=1.0)
        if not parts:
            return {}
        return {tp.partition: off for tp, off in consumer.end_offsets(parts).items()}
    finally:
        consumer.close()


DRAIN_POLL_SECONDS = 0.3  # read_topic: an empty poll this long means nothing is left buffered


def _assign_from_beginning(
    consumer: KafkaConsumer, topic: str, timeout: float
) -> dict[TopicPartition, int]:
    """Assign the non-empty partitions of ``topic`` from their beginning.

    Returns:
        Their end offsets when reading began, by partition; empty when the topic does not
        exist or holds nothing.
    """
    parts = _partitions(consumer, topic, timeout=timeout)
    if not parts:
        return {}
    ends = {tp: end for tp, end in consumer.end_offsets(parts).items() if end > 0}
    if ends:
        consumer.assign(sorted(ends, key=lambda tp: tp.partition))
        consumer.seek_to_beginning()
    return ends


def _reached_end(
    consumer: KafkaConsumer, todo: set[TopicPartition], ends: dict[TopicPartition, int]
) -> set[TopicPartition]:
    """The partitions of ``todo`` whose position reached their end offset in ``ends``.

    They are not paused: kafka-python drops the fetched records of a paused partition, and a
    poll returns at most max_poll_records, so the rest of the last batch may still be waiting
    in the consumer.
    """
    done: set[TopicPartition] = set()
    for tp in todo:
        try:
            position = consumer.position(tp, timeout_ms=1000)
        except KafkaTimeoutError:
            continue
        if position is not None and position >= ends[tp]:
            done.add(tp)
    return done


def read_topic(
    topic: str,
    bootstrap: str | None = None,
    timeout: float = 10.0,
    group_id: str | None = None,
) -> list[ConsumerRecord]:
    """Read every record of ``topic``, from the beginning up to its current end.

    Partitions are ``assign``-ed (no group membership, nothing committed); ``group_id`` is only
    passed on to the consumer. Reading stops when every partition reached the end offset it had
    when reading began and then a poll of :data:`DRAIN_POLL_SECONDS` returned nothing more, or
    after ``timeout`` seconds (then the records read so far are returned). Records of the batches
    fetched last are all returned, so records produced while reading may be included.

    Args:
        topic: Topic name.
        bootstrap: ``host:port[,host:port]``; :func:`bootstrap_servers` when None.
        timeout: Seconds to read at most.
        group_id: Optional group id for the consumer.

    Returns:
        The records, ordered by partition then offset; empty if the topic does not exist.

    Raises:
        ConfigError: no broker is configured or it cannot be reached.
    """
    deadline = time.monotonic() + timeout
    consumer = make_consumer(
        group_id=group_id,
        bootstrap=bootstrap,
        allow_auto_create_topics=False,
        enable_auto_commit=False,
    )
    records: list[ConsumerRecord] = []
    try:
        ends = _assign_from_beginning(consumer, topic, timeout=min(1.0, timeout))
        todo = set(ends)
        while (remaining := deadline - time.monotonic()) > 0 and ends:
            # Once every partition reached its end, drain what was fetched but not yet returned
            # (on Tansu the reported end is only the start of the last batch) until a short
            # poll returns nothing.
            draining = not todo
            wait = DRAIN_POLL_SECONDS if draining else 1.0
            batch = consumer.poll(timeout_ms=int(min(remaining, wait) * 1000))
            for recs in batch.values():
                # Not cut at the end offset: fetches return whole batches, and Tansu (the
                # embedded broker) reports the end offset of a partition as the base offset of
                # its last batch + 1, so the last batch would otherwise be truncated.
                records.extend(recs)
            if draining and not batch:
                break
            todo -= _reached_end(consumer, todo, ends)
    finally:
        with contextlib.suppress(Exception):
            consumer.close()
    records.sort(key=lambda r: (r.partition, r.offset))
    return records

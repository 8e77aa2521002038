"""Kafka clients behind one narrow seam (see :mod:`inplay.kafka.clients.base`).

``INPLAY_KAFKA_CLIENT`` picks the implementation: ``kafka-python`` (default) or ``confluent``
(librdkafka; ``pip install -e .[fast]``).
"""

from __future__ import annotations

from inplay import config
from inplay.kafka.clients.base import (
    ConsumerClient,
    DeliveryError,
    ProducerClient,
    Record,
    TopicPartition,
)

__all__ = [
    "CLIENTS",
    "ConsumerClient",
    "DeliveryError",
    "ProducerClient",
    "Record",
    "TopicPartition",
    "client_name",
    "make_consumer_client",
    "make_producer_client",
    "next_offsets",
    "transient_error",
]

CLIENTS = ("kafka-python", "confluent")


def next_offsets(records: list[Record]) -> dict[TopicPartition, int]:
    """What to commit after handling ``records``: per partition, the offset after its last one."""
    offsets: dict[TopicPartition, int] = {}
    for record in records:
        tp = (record.topic, record.partition)
        offsets[tp] = max(offsets.get(tp, 0), record.offset + 1)
    return offsets


def transient_error(exc: BaseException) -> bool:
    """Whether ``exc`` is a client error worth retrying (a broker down or moving), either library.

    kafka-python marks such errors ``retriable``; confluent-kafka wraps a ``KafkaError`` whose
    ``retriable()`` says so (or whose code is a transport failure).
    """
    if isinstance(exc, DeliveryError):
        return True
    if getattr(exc, "retriable", False) is True:  # kafka-python
        return True
    err = exc.args[0] if getattr(exc, "args", None) else None
    check = getattr(err, "retriable", None)
    if callable(check):  # confluent_kafka.KafkaError
        try:
            from confluent_kafka import KafkaError as CKafkaError
        except ImportError:  # pragma: no cover - confluent is an optional extra
            return bool(check())
        transport = {CKafkaError._TRANSPORT, CKafkaError._ALL_BROKERS_DOWN, CKafkaError._TIMED_OUT}
        return bool(check()) or err.code() in transport
    return False


def client_name(name: str | None = None) -> str:
    """The client to use: ``name``, else ``INPLAY_KAFKA_CLIENT``, else ``kafka-python``.

    Raises:
        config.ConfigError: an unknown name, or ``confluent`` without confluent-kafka installed.
    """
    chosen = (name or config.env_str("INPLAY_KAFKA_CLIENT", "kafka-python")).lower()
    if chosen in {"confluent-kafka", "librdkafka"}:
        chosen = "confluent"
    if chosen not in CLIENTS:
        raise config.ConfigError(
            f"INPLAY_KAFKA_CLIENT={chosen!r} is not one of {', '.join(CLIENTS)}."
        )
    if chosen == "confluent":
        try:
            import confluent_kafka  # noqa: F401
        except ImportError:
            raise config.ConfigError(
                "INPLAY_KAFKA_CLIENT=confluent needs the confluent-kafka package: "
                "pip install -e '.[fast]' (or unset INPLAY_KAFKA_CLIENT for kafka-python)."
            ) from None
    return chosen


def make_producer_client(bootstrap: str | None = None, client: str | None = None) -> ProducerClient:
    """A producer with inplay's producer settings, from the chosen client library."""
    from inplay.kafka.io import bootstrap_servers

    bootstrap = bootstrap or bootstrap_servers()
    if client_name(client) == "confluent":
        from inplay.kafka.clients.confluent import ConfluentProducer

        return ConfluentProducer(bootstrap)
    from inplay.kafka.clients.kafka_python import KafkaPythonProducer

    return KafkaPythonProducer(bootstrap)


def make_consumer_client(
    group_id: str | None,
    bootstrap: str | None = None,
    client: str | None = None,
    instance_id: str | None = None,
) -> ConsumerClient:
    """A consumer (manual commits) with inplay's consumer settings, from the chosen library.

    Args:
        group_id: The consumer group (None: a consumer that only assigns partitions).
        bootstrap: ``host:port[,host:port]`` (default: the configured broker).
        client: ``kafka-python`` or ``confluent`` (default ``INPLAY_KAFKA_CLIENT``).
        instance_id: A stable ``group.instance.id`` for static membership (see
            :class:`~inplay.kafka.clients.kafka_python.KafkaPythonConsumer`).
    """
    from inplay.kafka.io import bootstrap_servers

    bootstrap = bootstrap or bootstrap_servers()
    if client_name(client) == "confluent":
        from inplay.kafka.clients.confluent import ConfluentConsumer

        return ConfluentConsumer(bootstrap, group_id, instance_id)
    from inplay.kafka.clients.kafka_python import KafkaPythonConsumer

    return KafkaPythonConsumer(bootstrap, group_id, instance_id)

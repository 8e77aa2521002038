"""Kafka clients behind one narrow seam (see :mod:`inplay.clients.base`).

``INPLAY_KAFKA_CLIENT`` picks the implementation: ``kafka-python`` (default) or ``confluent``
(librdkafka; ``pip install -e .[fast]``).
"""

from __future__ import annotations

from inplay import config
from inplay.clients.base import (
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
]

CLIENTS = ("kafka-python", "confluent")


def next_offsets(records: list[Record]) -> dict[TopicPartition, int]:
    """What to commit after handling ``records``: per partition, the offset after its last one."""
    offsets: dict[TopicPartition, int] = {}
    for record in records:
        tp = (record.topic, record.partition)
        offsets[tp] = max(offsets.get(tp, 0), record.offset + 1)
    return offsets


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
    from inplay.kafka_io import bootstrap_servers

    bootstrap = bootstrap or bootstrap_servers()
    if client_name(client) == "confluent":
        from inplay.clients.confluent import ConfluentProducer

        return ConfluentProducer(bootstrap)
    from inplay.clients.kafka_python import KafkaPythonProducer

    return KafkaPythonProducer(bootstrap)


def make_consumer_client(
    group_id: str | None, bootstrap: str | None = None, client: str | None = None
) -> ConsumerClient:
    """A consumer (manual commits) with inplay's consumer settings, from the chosen library."""
    from inplay.kafka_io import bootstrap_servers

    bootstrap = bootstrap or bootstrap_servers()
    if client_name(client) == "confluent":
        from inplay.clients.confluent import ConfluentConsumer

        return ConfluentConsumer(bootstrap, group_id)
    from inplay.clients.kafka_python import KafkaPythonConsumer

    return KafkaPythonConsumer(bootstrap, group_id)

"""Refusals recognised whatever shape the client library gives them."""

from __future__ import annotations

import pytest

from inplay.kafka.auth import denied_code


def test_librdkafka_fatal_errors_are_recognised_by_their_text():
    confluent_kafka = pytest.importorskip("confluent_kafka")
    KafkaError, KafkaException = confluent_kafka.KafkaError, confluent_kafka.KafkaException
    # An idempotent producer refused its producer id: librdkafka raises code _FATAL and names
    # the refusal only in the text (a CI run failed on it with a bare error).
    fatal = KafkaError(KafkaError._FATAL, "Fatal error: Broker: Cluster authorization failed")
    assert denied_code(KafkaException(fatal)) == 31
    assert denied_code(KafkaException(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED))) == 29
    assert denied_code(RuntimeError("GROUP_AUTHORIZATION_FAILED: not-mine")) == 30
    assert denied_code(KafkaException(KafkaError(KafkaError._TRANSPORT, "broker down"))) is None

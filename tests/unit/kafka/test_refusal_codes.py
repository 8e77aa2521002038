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


def test_a_bare_system_error_after_a_logged_fatal_refusal_is_an_access_denied(monkeypatch):
    pytest.importorskip("confluent_kafka")
    import logging
    import time
    from types import SimpleNamespace

    from inplay.kafka.auth import AccessDenied
    from inplay.kafka.clients import confluent

    monkeypatch.setenv("KAFKA_SASL_USERNAME", "dashboard")
    producer = SimpleNamespace(_fatal=None, _denied=None, _created=time.monotonic())
    # Seen in CI: flush() failed with a bare SystemError before the error callback ran; the
    # reason was only in librdkafka's FATAL log line.
    with pytest.raises(SystemError):  # nothing logged since the producer was made: as it is
        confluent.ConfluentProducer._raise_fatal(producer, SystemError("NULL"), "results")
    confluent.log.log(
        logging.CRITICAL,
        "FATAL [rdkafka#producer-1] [thrd:main]: Fatal error: Broker: Cluster authorization "
        "failed: Failed to acquire idempotence PID",
    )
    with pytest.raises(AccessDenied, match="WRITE on topic 'results'"):
        confluent.ConfluentProducer._raise_fatal(producer, SystemError("NULL"), "results")

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


def _failed_producer(on_poll=None):
    """A ConfluentProducer after a fatal error, its librdkafka handle replaced by ``poll``."""
    import time
    from types import SimpleNamespace

    from inplay.kafka.clients import confluent

    producer = object.__new__(confluent.ConfluentProducer)
    producer._fatal, producer._denied, producer._log = None, None, confluent._ClientLog()
    producer._producer = SimpleNamespace(poll=on_poll or (lambda timeout: time.sleep(timeout)))
    producer.reason_wait_s = 0.3
    return producer


def test_a_bare_system_error_after_a_logged_fatal_refusal_is_an_access_denied(monkeypatch):
    pytest.importorskip("confluent_kafka")
    import logging

    from inplay.kafka.auth import AccessDenied

    monkeypatch.setenv("KAFKA_SASL_USERNAME", "dashboard")
    producer = _failed_producer()
    # Seen in CI: flush() failed with a bare SystemError before the error callback ran; the
    # reason was only in librdkafka's FATAL log line. With nothing logged, it stays as it is.
    with pytest.raises(SystemError):
        producer._raise_fatal(SystemError("NULL"), "results")
    line = "[thrd:main]: Fatal error: Broker: Cluster authorization failed: Failed to acquire"
    other = _failed_producer()  # another producer's fatal line is not this one's reason
    other._log.log(logging.CRITICAL, "%s [%s] %s", "FATAL", "rdkafka#producer-2", line)
    with pytest.raises(SystemError):
        producer._raise_fatal(SystemError("NULL"), "results")
    producer._log.log(logging.CRITICAL, "%s [%s] %s", "FATAL", "rdkafka#producer-1", line)
    with pytest.raises(AccessDenied, match="WRITE on topic 'results'"):
        producer._raise_fatal(SystemError("NULL"), "results")


def test_a_fatal_produce_is_explained_once_the_queued_error_callback_is_served(monkeypatch):
    confluent_kafka = pytest.importorskip("confluent_kafka")
    KafkaError, KafkaException = confluent_kafka.KafkaError, confluent_kafka.KafkaException
    from inplay.kafka.auth import AccessDenied

    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "dashboard")
    # Seen in CI (mutual TLS, confluent): produce() raised "_FATAL: Local: Fatal error" while
    # librdkafka's error callback with the reason still waited in its queue for a poll().
    reason = KafkaError(
        KafkaError.CLUSTER_AUTHORIZATION_FAILED, "Broker: Cluster authorization failed", fatal=True
    )
    polls = []

    def poll(timeout):
        polls.append(timeout)
        if len(polls) == 2:  # served on the second poll
            producer._on_error(reason)
        return 0

    producer = _failed_producer(poll)
    local = KafkaException(KafkaError(KafkaError._FATAL, "Unable to produce message"))
    with pytest.raises(AccessDenied, match="User:dashboard WRITE on topic 'results'"):
        producer._raise_fatal(local, "results")
    assert len(polls) == 2
    # A fatal error that is no refusal stays what it is, after the deadline.
    other = _failed_producer()
    with pytest.raises(KafkaException, match="Unable to produce"):
        other._raise_fatal(local, "results")

"""A private Apache Kafka on the JVM for tests that restart it or add listeners (``jvm`` mark)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from inplay import config


@contextmanager
def private_apache_kafka(folder: Path, **start_options: Any) -> Iterator[Any]:
    """Start an Apache Kafka of its own in ``folder`` (state file, log) and stop it after.

    Skips the test when the jars or Java are missing. ``start_options`` go to
    :func:`inplay.brokers.apache.start` (e.g. ``sasl_users``, ``tls``).

    Yields:
        The :class:`inplay.brokers.apache.KafkaInfo` of the running broker; its state file is
        ``folder / "kafka.json"``.
    """
    from inplay.brokers import apache as apache_kafka

    if not apache_kafka.jars_available():
        pytest.skip("no Apache Kafka jars (python -m inplay.brokers.apache jars)")
    try:
        apache_kafka.java_command()
    except config.ConfigError as exc:
        pytest.skip(str(exc))
    state = folder / "kafka.json"
    info = apache_kafka.start(state, **start_options)
    try:
        yield info
    finally:
        apache_kafka.stop(state)

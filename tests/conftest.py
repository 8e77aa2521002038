"""Shared fixtures. Kafka tests run against KAFKA_BOOTSTRAP_SERVERS or a private embedded broker."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import uuid
from collections.abc import Callable, Iterator

import pytest

from inplay import config
from inplay.brokers import embedded as broker

# Every fit (inplay fit, notebook 03, fit_models) logs to MLflow: the test session gets a store
# of its own (a fresh SQLite file, inherited by the notebooks' kernels), never the repo's.
if not os.environ.get("MLFLOW_TRACKING_URI"):
    _store = tempfile.mkdtemp(prefix="inplay-test-mlflow-")
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{_store}/mlflow.db"

# ---------------------------------------------------------------------------------------------
# Kafka

BROKER_FIXTURES = frozenset({"kafka_bootstrap", "fresh_topics"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses a broker fixture is a ``kafka`` test, marked or not.

    CI runs ``-m 'not kafka'`` once and ``-m kafka`` on both brokers and with both clients, so
    a broker test without the marker would silently run on one broker only.
    """
    for item in items:
        if BROKER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.kafka)


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap servers: KAFKA_BOOTSTRAP_SERVERS if set, else a private embedded broker."""
    env = config.env_str("KAFKA_BOOTSTRAP_SERVERS")
    if env:
        yield env
        return
    try:
        broker.resolve_binary()
    except config.ConfigError as exc:
        pytest.skip(f"no Kafka broker available: {exc}")
    state_file = tmp_path_factory.mktemp("broker") / "broker.json"
    info = broker.start(state_file=state_file)
    try:
        yield info.bootstrap
    finally:
        broker.stop(state_file=state_file)


@pytest.fixture
def unique_topic_prefix(request: pytest.FixtureRequest) -> str:
    """A topic-name prefix unique to this test run and test (safe on a shared cluster)."""
    name = re.sub(r"[^A-Za-z0-9]+", "-", request.node.name).strip("-")[:40]
    return f"inplay-test-{uuid.uuid4().hex[:8]}-{name}"


@pytest.fixture
def fresh_topics(
    kafka_bootstrap: str, unique_topic_prefix: str
) -> Iterator[Callable[..., list[str]]]:
    """Return ``make(*suffixes, partitions=3) -> names``: creates test-unique topics.

    The topics are deleted (best effort) when the test ends.
    """
    from kafka.admin import NewTopic

    from inplay.kafka import io as kafka_io

    admin = kafka_io.make_admin(kafka_bootstrap)
    created: list[str] = []

    def make(*suffixes: str, partitions: int = config.TOPIC_PARTITIONS) -> list[str]:
        names = [f"{unique_topic_prefix}-{s}" for s in suffixes or ("t",)]
        admin.create_topics([NewTopic(n, partitions, config.TOPIC_REPLICATION) for n in names])
        created.extend(names)
        return names

    yield make
    with contextlib.suppress(Exception):
        if created:
            admin.delete_topics(created)
    admin.close()

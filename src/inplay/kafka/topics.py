"""Create and describe inplay's Kafka topics (idempotently)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Sequence
from typing import Any

from kafka import TopicPartition
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from inplay import config
from inplay.config import ConfigError
from inplay.errors import BrokerError
from inplay.kafka import io as kafka_io

__all__ = [
    "create_topics",
    "delete_topics",
    "describe_topics",
    "format_table",
    "missing_topics",
    "missing_topics_error",
    "require_topics",
]


def _existing_partitions(admin: Any, names: Sequence[str]) -> dict[str, dict]:
    """Map each existing topic among ``names`` to its description from the admin client."""
    present = set(admin.list_topics())
    wanted = [name for name in names if name in present]
    if not wanted:
        return {}
    described = admin.describe_topics(wanted)
    return {
        d["name"]: d for d in described if d.get("error_code", 0) == 0 and d.get("name") in present
    }


def _replication(description: dict) -> int:
    partitions = description.get("partitions") or []
    if not partitions:
        return 0
    return max(len(p.get("replica_nodes") or []) for p in partitions)


def _wait_until_listed(admin: Any, names: list[str], partitions: int) -> None:
    """Wait until the cluster's metadata lists every new topic with all its partitions.

    The broker answers CreateTopics once the controller has the topic; its metadata may list
    it a moment later (seen on Apache Kafka 4.1: a describe straight after creating six topics
    found five). So creation returns only once a describe would see them all.

    Raises:
        BrokerError: not all listed within ``KAFKA_BOOTSTRAP_TIMEOUT_MS``; names those missing.
    """
    timeout_s = config.client_settings()["bootstrap_timeout_ms"] / 1000.0
    deadline = time.monotonic() + timeout_s
    while True:
        listed = _existing_partitions(admin, names)
        missing = [
            name
            for name in names
            if len((listed.get(name) or {}).get("partitions") or []) < partitions
        ]
        if not missing:
            return
        if time.monotonic() > deadline:
            raise BrokerError(
                f"topics {missing} were created but the cluster's metadata did not list them "
                f"(with {partitions} partitions) within {timeout_s:.0f} s "
                "(KAFKA_BOOTSTRAP_TIMEOUT_MS); check the broker's log"
            )
        time.sleep(0.05)  # polling interval of the condition above, not a synchronisation


def create_topics(
    bootstrap: str | None = None,
    topics: Iterable[str] = config.TOPICS,
    partitions: int = config.TOPIC_PARTITIONS,
    replication: int = config.TOPIC_REPLICATION,
    configs: dict[str, str] | None = None,
) -> dict[str, str]:
    """Create the topics that do not exist yet; leave existing ones untouched.

    Args:
        bootstrap: ``host:port[,host:port]``; :func:`inplay.kafka.io.bootstrap_servers` when None.
        topics: Topic names.
        partitions: Partition count for new topics.
        replication: Replication factor for new topics.
        configs: Topic settings for new topics (e.g. ``{"cleanup.policy": "compact"}``).

    Returns:
        Topic -> ``"created"`` or ``"exists"``; an existing topic whose partition count differs
        is reported as ``"exists (2 partitions, expected 3)"``.

    Raises:
        ConfigError: no broker is configured or it cannot be reached.
        BrokerError: created topics did not show in the cluster's metadata in time.
    """
    names = list(dict.fromkeys(topics))
    admin = kafka_io.make_admin(bootstrap)
    result: dict[str, str] = {}
    try:
        existing = _existing_partitions(admin, names)
        for name in names:
            if name in existing:
                continue
            try:
                admin.create_topics(
                    [NewTopic(name, partitions, replication, topic_configs=configs or {})]
                )
                result[name] = "created"
            except TopicAlreadyExistsError:
                existing.update(_existing_partitions(admin, [name]))
        created = [name for name, outcome in result.items() if outcome == "created"]
        if created:
            _wait_until_listed(admin, created, partitions)
        for name, description in existing.items():
            count = len(description.get("partitions") or [])
            if count == partitions:
                result[name] = "exists"
            else:
                result[name] = f"exists ({count} partitions, expected {partitions})"
    finally:
        with contextlib.suppress(Exception):
            admin.close()
    return {name: result.get(name, "exists") for name in names}


def delete_topics(bootstrap: str | None, names: Iterable[str]) -> bool:
    """Delete topics, best effort (scratch topics of benchmarks); never raises.

    Returns:
        True if the broker accepted the deletion, False otherwise.
    """
    try:
        admin = kafka_io.make_admin(bootstrap)
    except Exception:  # noqa: BLE001 - best effort
        return False
    try:
        admin.delete_topics(list(names))
        return True
    except Exception:  # noqa: BLE001 - best effort
        return False
    finally:
        with contextlib.suppress(Exception):
            admin.close()


def describe_topics(
    bootstrap: str | None = None,
    topics: Iterable[str] = config.TOPICS,
) -> list[dict]:
    """Describe the topics: partitions, replication factor and message count.

    Args:
        bootstrap: ``host:port[,host:port]``; :func:`inplay.kafka.io.bootstrap_servers` when None.
        topics: Topic names.

    Returns:
        One dict per topic, in the given order, with keys ``name``, ``partitions``,
        ``replication``, ``messages`` (sum of the partitions' end offsets) and ``exists``.
        Missing topics have zeros and ``exists`` False. On the embedded broker ``messages``
        undercounts batched writes (see :func:`inplay.kafka.io.end_offsets`).

    Raises:
        ConfigError: no broker is configured or it cannot be reached.
    """
    names = list(dict.fromkeys(topics))
    bootstrap = bootstrap or kafka_io.bootstrap_servers()
    admin = kafka_io.make_admin(bootstrap)
    try:
        existing = _existing_partitions(admin, names)
    finally:
        with contextlib.suppress(Exception):
            admin.close()

    offsets: dict[str, int] = {}
    parts = [
        TopicPartition(name, p["partition_index"])
        for name, description in existing.items()
        for p in description.get("partitions") or []
    ]
    if parts:
        consumer = kafka_io.make_consumer(
            group_id=None, bootstrap=bootstrap, allow_auto_create_topics=False
        )
        try:
            for tp, end in consumer.end_offsets(parts).items():
                offsets[tp.topic] = offsets.get(tp.topic, 0) + int(end)
        finally:
            with contextlib.suppress(Exception):
                consumer.close()

    rows = []
    for name in names:
        description = existing.get(name)
        rows.append(
            {
                "name": name,
                "partitions": len(description.get("partitions") or []) if description else 0,
                "replication": _replication(description) if description else 0,
                "messages": offsets.get(name, 0),
                "exists": description is not None,
            }
        )
    return rows


def missing_topics(bootstrap: str | None, names: Iterable[str]) -> list[str]:
    """The topics among ``names`` that do not exist on the cluster, in the given order.

    Raises:
        ConfigError: no broker is configured or it cannot be reached.
    """
    admin = kafka_io.make_admin(bootstrap)
    try:
        present = set(admin.list_topics())
    finally:
        with contextlib.suppress(Exception):
            admin.close()
    return [name for name in dict.fromkeys(names) if name not in present]


def missing_topics_error(
    topics: dict[str, str],
    missing: Iterable[str],
    where: str,
    create_hint: str = "inplay topics create",
) -> ConfigError | None:
    """The one-line error for topics that do not exist, or None when none is missing.

    Args:
        topics: Setting that names the topic (e.g. ``"--events-topic"``) -> topic name.
        missing: The names among ``topics`` that do not exist (see :func:`missing_topics`).
        where: How to name the cluster in the message, e.g. ``"KAFKA_BOOTSTRAP_SERVERS=..."``.
        create_hint: The command that creates the pipeline topics on this cluster; topics
            other than the six pipeline topics are added to it as ``--topic NAME`` (``inplay
            topics create --topic NAME`` creates both).
    """
    gone = set(missing)
    named = [(setting, name) for setting, name in topics.items() if name in gone]
    if not named:
        return None
    what = ", ".join(f"{name!r} (setting {setting})" for setting, name in named)
    custom = list(dict.fromkeys(name for _, name in named if name not in config.TOPICS))
    command = create_hint + "".join(f" --topic {name}" for name in custom)
    one = len({name for _, name in named}) == 1
    return ConfigError(
        f"{'topic' if one else 'topics'} {what} {'does' if one else 'do'} not exist on {where}: "
        f"create {'it' if one else 'them'} with `{command}`, or name an existing topic."
    )


def require_topics(
    bootstrap: str | None,
    topics: dict[str, str],
    where: str | None = None,
    create_hint: str = "inplay topics create",
) -> None:
    """Fail with one clear line unless every topic exists (rather than wait on it forever).

    A consumer subscribed to a missing topic waits for it without a word, and a broker that
    auto-creates topics would make one with its own partition count; so commands check first.

    Args:
        bootstrap: The cluster; :func:`inplay.kafka.io.bootstrap_servers` when None.
        topics: Setting that names the topic (e.g. ``"--events-topic"``) -> topic name.
        where: How to name the cluster in the message (default: its address).
        create_hint: See :func:`missing_topics_error`.

    Raises:
        ConfigError: a topic does not exist (the message names the topic, its setting and
            how to create it), or the cluster cannot be reached.
    """
    bootstrap = bootstrap or kafka_io.bootstrap_servers()
    error = missing_topics_error(
        topics, missing_topics(bootstrap, topics.values()), where or bootstrap, create_hint
    )
    if error is not None:
        raise error


def format_table(rows: Sequence[dict]) -> str:
    """Format dicts with the same keys as an aligned plain-text table.

    Args:
        rows: The rows, e.g. from :func:`describe_topics`. Column order follows the first row.

    Returns:
        The table, header first; ``"(no topics)"`` when ``rows`` is empty.
    """
    if not rows:
        return "(no topics)"
    columns = list(rows[0])
    cells = [[str(row.get(col, "")) for col in columns] for row in rows]
    widths = [max(len(col), *(len(line[i]) for line in cells)) for i, col in enumerate(columns)]
    numeric = [
        all(
            isinstance(row.get(col), int | float) and not isinstance(row.get(col), bool)
            for row in rows
        )
        for col in columns
    ]

    def fmt(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    lines = [fmt(columns), fmt(["-" * w for w in widths])]
    lines.extend(fmt(line) for line in cells)
    return "\n".join(lines)

"""Apache Kafka's own console consumer reads what inplay wrote: a client that is not ours.

Runs only when KAFKA_BOOTSTRAP_SERVERS points at an Apache Kafka 4.x broker and the Apache
Kafka jars are in inplay's cache (``python -m inplay.brokers.apache jars``); `.ci/run` starts one
with ``python -m inplay.brokers.apache start``. Skipped, with the reason, otherwise.
"""

from __future__ import annotations

import subprocess
import uuid
from dataclasses import dataclass

import orjson
import pandas as pd
import pytest
from fixtures_statsbomb import make_match, write_open_data
from test_live_path import synthetic_match

from inplay import config
from inplay.brokers import apache as apache_kafka
from inplay.config import ConfigError
from inplay.data.statsbomb import StatsBombData
from inplay.features import iter_event_snapshots, minute_snapshots, sort_events
from inplay.kafka import io as kafka_io
from inplay.live.replay import replay
from inplay.live.scorer import Scorer
from inplay.models import make_model

CONSOLE_CONSUMER = "org.apache.kafka.tools.consumer.ConsoleConsumer"


def _apache_kafka_bootstrap() -> tuple[str | None, str]:
    """``(bootstrap, "")`` if KAFKA_BOOTSTRAP_SERVERS is Apache Kafka 4.x, else ``(None, why)``."""
    bootstrap = config.env_str("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        return None, "KAFKA_BOOTSTRAP_SERVERS is unset (python -m inplay.brokers.apache start)"
    if not apache_kafka.jars_available():
        return None, (
            f"the Apache Kafka {apache_kafka.kafka_version()} jars are not in "
            f"{apache_kafka.libs_dir()} (python -m inplay.brokers.apache jars)"
        )
    try:
        apache_kafka.java_command()
    except ConfigError as exc:
        return None, str(exc)
    try:
        admin = kafka_io.make_admin(bootstrap)
    except ConfigError as exc:
        return None, str(exc)
    try:
        # ApiVersions: Apache Kafka 4.x answers as 4.x; the embedded broker (Tansu) as 3.9.
        version = admin._client.check_version()
        cluster = admin.describe_cluster()
    finally:
        admin.close()
    if tuple(version) < (4, 0) or str(cluster.get("cluster_id", "")).startswith("tansu"):
        return None, (
            f"KAFKA_BOOTSTRAP_SERVERS={bootstrap} is not Apache Kafka 4.x (API versions of "
            f"{'.'.join(map(str, version))}, cluster id {cluster.get('cluster_id')!r})"
        )
    return bootstrap, ""


@pytest.fixture(scope="module")
def apache_bootstrap() -> str:
    bootstrap, why = _apache_kafka_bootstrap()
    if bootstrap is None:
        pytest.skip(f"no Apache Kafka broker: {why}")
    return bootstrap


@dataclass
class Line:
    partition: int
    offset: int
    key: str
    value: dict


def console_consume(bootstrap: str, topic: str, expected: int) -> list[Line]:
    """Read ``topic`` from the beginning with Kafka's ConsoleConsumer (its own JVM)."""
    cmd = [
        apache_kafka.java_command(),
        "-Xmx256m",
        "-XX:+UseSerialGC",
        "-cp",
        apache_kafka.classpath(),
        CONSOLE_CONSUMER,
        "--bootstrap-server",
        bootstrap,
        "--topic",
        topic,
        "--from-beginning",
        "--max-messages",
        str(expected),
        "--timeout-ms",
        "20000",
        "--group",
        f"console-{uuid.uuid4().hex[:8]}",
        "--property",
        "print.key=true",
        "--property",
        "print.partition=true",
        "--property",
        "print.offset=true",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert f"Processed a total of {expected} messages" in out.stderr, out.stderr
    lines = []
    for raw in out.stdout.splitlines():
        partition, offset, key, value = raw.split("\t", 3)
        assert partition.startswith("Partition:") and offset.startswith("Offset:"), raw
        lines.append(
            Line(
                partition=int(partition.removeprefix("Partition:")),
                offset=int(offset.removeprefix("Offset:")),
                key=key,
                value=orjson.loads(value),
            )
        )
    return lines


def by_match(lines: list[Line], field: str) -> dict[int, list[int]]:
    """Per match: ``field`` in offset order, after checking key, partition and offsets."""
    seen: dict[int, list[Line]] = {}
    for line in lines:
        assert line.key == str(line.value["match_id"]), "key is not the match id"
        seen.setdefault(line.value["match_id"], []).append(line)
    result = {}
    for match_id, rows in seen.items():
        assert len({r.partition for r in rows}) == 1, f"match {match_id} spans partitions"
        offsets = [r.offset for r in rows]
        assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)
        result[match_id] = [r.value[field] for r in rows]
    return result


@pytest.mark.apache_kafka
@pytest.mark.kafka
def test_console_consumer_reads_replay_and_predictions(apache_bootstrap, fresh_topics, tmp_path):
    matches = [make_match(101, "Home FC", "Away FC", 1, 1), make_match(102, "Red FC", "Blue FC")]
    events = {
        101: synthetic_match(101, "Home FC", "Away FC"),
        102: synthetic_match(102, "Red FC", "Blue FC"),
    }
    data = StatsBombData(write_open_data(tmp_path / "opendata", matches, events))
    rows = []
    for match in data.matches():
        for row in minute_snapshots(
            data.events(match.match_id), match.match_id, match.home_team, match.away_team
        ):
            rows.append({**row, "result": "H" if match.match_id == 101 else "D"})
    model = make_model("climatology").fit(pd.DataFrame(rows))

    names = fresh_topics("events", "requests", "results", "monitoring")
    roles = ("events_topic", "requests_topic", "results_topic", "monitoring_topic")
    topics = dict(zip(roles, names, strict=True))
    stats = replay(
        data,
        data.matches(),
        topic=topics["events_topic"],
        bootstrap=apache_bootstrap,
        progress=False,
    )
    n_events = sum(len(events[m]) for m in events)
    assert stats.events == n_events and stats.markers == len(events)
    n_messages = stats.messages  # the events plus one end-of-match marker per match
    scored = Scorer(
        model, bootstrap=apache_bootstrap, group_id=f"g-{uuid.uuid4().hex[:8]}", **topics
    ).run(idle_timeout=8, progress=False)
    assert scored.consumed == n_messages and scored.quarantined == 0
    assert scored.ended == len(events)

    # Events: every one, each match in one partition in match-clock order, then its end marker.
    lines = console_consume(apache_bootstrap, topics["events_topic"], n_messages)
    assert len(lines) == n_messages
    got = by_match(lines, "index")
    for match in data.matches():
        clock_order = [e["index"] for e in sort_events(data.events(match.match_id))]
        assert got[match.match_id] == clock_order + [max(clock_order) + 1]

    # Results: one per scored event, in the order the match's events happened.
    lines = console_consume(apache_bootstrap, topics["results_topic"], scored.scored)
    got = by_match(lines, "event_index")
    for match in data.matches():
        expected = [
            r["event_index"]
            for r in iter_event_snapshots(
                data.events(match.match_id), match.match_id, match.home_team, match.away_team
            )
        ]
        assert got[match.match_id] == expected
    for line in lines:
        p = line.value
        assert p["p_home"] + p["p_draw"] + p["p_away"] == pytest.approx(1.0, abs=1e-5)

    # On Apache Kafka, end offsets count records (the embedded broker counts batches).
    ends = kafka_io.end_offsets(topics["events_topic"], apache_bootstrap)
    assert sum(ends.values()) == n_messages


# ---------------------------------------------------------------------------------------------
# The launcher itself, without a broker.


def test_cluster_id_and_server_properties(tmp_path):
    cluster_id = apache_kafka._cluster_id()
    assert len(cluster_id) == 22 and "=" not in cluster_id
    # An id starting with "-" reads as an option to the storage tool: such draws are skipped.
    draws = iter([b"\xf8" + bytes(15), b"\x00" + bytes(15)])  # "-A..." then "AA..."
    assert apache_kafka._cluster_id(lambda n: next(draws)) == "A" * 22
    props = dict(
        line.split("=", 1)
        for line in apache_kafka._server_properties(tmp_path, 9092, 9093).splitlines()
    )
    assert props["controller.quorum.bootstrap.servers"] == "127.0.0.1:9093"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    assert props["process.roles"] == "broker,controller"
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert props["log.dirs"] == str(tmp_path / "kraft")


def test_version_setting_and_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("INPLAY_KAFKA_CACHE", str(tmp_path))
    monkeypatch.setenv("INPLAY_KAFKA_VERSION", "4.0.1")
    assert apache_kafka.libs_dir() == tmp_path / "kafka-4.0.1" / "libs"
    assert not apache_kafka.jars_available()
    monkeypatch.setenv("INPLAY_KAFKA_VERSION", "3.9.1")
    with pytest.raises(ConfigError, match="INPLAY_KAFKA_VERSION"):
        apache_kafka.kafka_version()


def test_stale_state_file_is_removed(tmp_path):
    state = tmp_path / "apache-kafka.json"
    state.write_text(
        orjson.dumps(
            {
                "pid": 2**22 + 12345,  # above pid_max on Linux: no such process
                "port": 1,
                "controller_port": 2,
                "version": "4.1.0",
                "data_dir": str(tmp_path / "inplay-kafka-x"),
                "log_file": str(tmp_path / "log"),
                "started_at": 0,
                "startup_seconds": 0,
            }
        ).decode()
    )
    assert apache_kafka.status(state) is None
    assert not state.exists()
    assert apache_kafka.stop(state) is False
    assert apache_kafka.main(["status", "--state-file", str(state)]) == 1

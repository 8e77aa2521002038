"""Fault injection: scoring workers killed, brokers restarted, an in-memory broker that forgets.

The Apache Kafka tests start their own single-node Apache Kafka on the JVM (they restart it),
whatever KAFKA_BOOTSTRAP_SERVERS says, and skip without its jars
(``python -m inplay.brokers.apache jars``). The embedded-broker test starts its own Tansu. Each
test records its figures with :mod:`inplay.reporting.reliability` (``docs/RELIABILITY.md``).

Every prediction is checked against the same events scored offline by the same code: a
prediction after a fault must equal the one without it.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
import traceback
import uuid

import numpy as np
import orjson
import pandas as pd
import pytest
from fixtures_statsbomb import long_match, make_match, write_open_data
from jvm_broker import private_apache_kafka

from inplay import config
from inplay.data.statsbomb import StatsBombData
from inplay.features import minute_snapshots
from inplay.kafka import io as kafka_io
from inplay.kafka.clients import client_name, make_consumer_client
from inplay.kafka.clients.base import Record
from inplay.live.replay import encode_event, replay
from inplay.live.scorer import Scorer, percentiles
from inplay.models import make_model, save_model
from inplay.reporting import reliability

pytestmark = [pytest.mark.faults, pytest.mark.kafka]

TIMING = ("latency_ms", "processing_ms", "scored_at")
N_MATCHES = 50


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def apache(tmp_path_factory):
    """A private Apache Kafka on the JVM: (state file, bootstrap, version)."""
    folder = tmp_path_factory.mktemp("apache")
    with private_apache_kafka(folder) as info:
        yield folder / "kafka.json", info.bootstrap, info.version


@pytest.fixture(scope="module")
def league(tmp_path_factory) -> StatsBombData:
    """50 synthetic matches of ~186 events each (goals, shots, cards), like a matchday."""
    matches, events = [], {}
    for n in range(N_MATCHES):
        match_id = 5000 + n
        home, away = f"Home {n} FC", f"Away {n} FC"
        matches.append(make_match(match_id, home, away))
        events[match_id] = long_match(home, away, seed=100 + n)
    return StatsBombData(write_open_data(tmp_path_factory.mktemp("league50"), matches, events))


@pytest.fixture(scope="module")
def model(league):
    rows = []
    for n, match in enumerate(league.matches()[:12]):
        snaps = minute_snapshots(
            league.events(match.match_id), match.match_id, match.home_team, match.away_team
        )
        rows += [{**r, "result": "HDA"[n % 3]} for r in snaps]
    return make_model("scoreboard").fit(pd.DataFrame(rows))


@pytest.fixture(scope="module")
def expected(league, model) -> dict[tuple[int, int], dict]:
    """Every prediction of the league scored offline, in order, by the scorer's own code."""
    scorer = Scorer(model)
    out = {}
    for match in league.matches():
        records = []
        for offset, event in enumerate(league.events(match.match_id)):
            key, value = encode_event(event, match)
            records.append(Record("events", 0, offset, key, value))
        for topic, _key, value in scorer.process(records):
            if topic == scorer.results_topic:
                body = orjson.loads(value)
                out[(body["match_id"], body["event_index"])] = body
    return out


# -- helpers -----------------------------------------------------------------------------------


class Watcher:
    """Reads a results topic from the start in the background, noting when each record came."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap, self.topic = bootstrap, topic
        self.arrivals: list[tuple[float, dict]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._ready = threading.Event()

    def _run(self) -> None:
        consumer = make_consumer_client(None, self.bootstrap)
        try:
            parts = [(self.topic, p) for p in range(config.TOPIC_PARTITIONS)]
            consumer.assign(parts)
            for tp in parts:
                consumer.seek(tp, 0)
            self._ready.set()
            while not self._stop.is_set():
                try:
                    records = consumer.poll(max_records=2000, timeout=0.3)
                except Exception:  # noqa: BLE001 - broker restarting: poll again
                    time.sleep(0.5)
                    continue
                now = time.monotonic()
                self.arrivals += [(now, orjson.loads(r.value)) for r in records]
        finally:
            consumer.close()

    def __enter__(self) -> Watcher:
        self._thread.start()
        self._ready.wait(30)
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(30)

    def keys(self) -> set[tuple[int, int]]:
        return {(b["match_id"], b["event_index"]) for _, b in list(self.arrivals)}

    def wait_for(self, n_keys: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.keys()) >= n_keys:
                return True
            time.sleep(0.5)
        return False

    def first_after(self, moment: float) -> float | None:
        for at, _ in list(self.arrivals):
            if at > moment:
                return at
        return None


def check_predictions(arrivals: list[tuple[float, dict]], expected: dict) -> dict:
    """Lost, duplicate and wrong predictions against the offline ones."""
    copies: dict[tuple[int, int], list[dict]] = {}
    for _, body in arrivals:
        copies.setdefault((body["match_id"], body["event_index"]), []).append(body)
    lost = sorted(set(expected) - set(copies))
    unexpected = sorted(set(copies) - set(expected))
    wrong = []
    for key, bodies in copies.items():
        want = expected.get(key)
        for body in bodies:
            if want is not None and any(
                abs(body[p] - want[p]) > 1e-9 for p in ("p_home", "p_draw", "p_away")
            ):
                wrong.append(key)
            if any(body[f] != want[f] for f in ("home_goals", "away_goals", "home_xg")):
                wrong.append(key)
    latencies = [b["latency_ms"] for _, b in arrivals if b.get("latency_ms") is not None]
    return {
        "predictions": len(copies),
        "lost": len(lost),
        "lost_examples": lost[:5],
        "unexpected": len(unexpected),
        "duplicates": sum(len(b) - 1 for b in copies.values()),
        "wrong": sorted(set(wrong))[:5],
        "p99_latency_ms": percentiles(latencies)["p99"],
    }


def replay_thread(league, bootstrap: str, speed: float, topic: str = config.TOPIC_EVENTS):
    box: dict = {}

    def run() -> None:
        try:
            box["stats"] = replay(
                league,
                league.matches(),
                speed=speed,
                topic=topic,
                bootstrap=bootstrap,
                progress=False,
            )
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            box["error"] = exc
            box["traceback"] = traceback.format_exc()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box


def count_events(bootstrap: str, topic: str) -> tuple[int, int]:
    """(records, distinct (match_id, index)) on the events topic."""
    keys, n = set(), 0
    for record in kafka_io.read_topic(topic, bootstrap, timeout=60):
        body = orjson.loads(record.value)
        n += 1
        keys.add((body.get("match_id"), body.get("index"), body.get("type", {}).get("name")))
    return n, len(keys)


# -- a scoring worker killed 20 times -----------------------------------------------------------


@pytest.mark.jvm
def test_worker_sigkill_20_times_loses_nothing(apache, league, model, expected, tmp_path):
    """SIGKILL the worker at random moments of a 50-match replay, 20 times, restarting it."""
    from inplay.kafka import topics

    _state, bootstrap, version = apache
    topics.create_topics(bootstrap)  # the worker CLI uses the default topic names
    model_dir = save_model(model, tmp_path / "models", data_info={"matches": 12}, metrics=None)
    group = f"sigkill-{uuid.uuid4().hex[:6]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_")}
    env.update(INPLAY_PROGRESS="0", INPLAY_KAFKA_CLIENT=client_name())
    log_dir = tmp_path / "workers"
    log_dir.mkdir()

    def worker(n: int, *extra: str) -> subprocess.Popen:
        cmd = [sys.executable, "-m", "inplay.cli", "score", "--kafka-broker", bootstrap]
        # One stable group.instance.id: a restarted worker takes its old place at once.
        cmd += ["--model", str(model_dir), "--group", group, "--instance-id", "worker", *extra]
        out = open(log_dir / f"worker-{n}.log", "wb")  # noqa: SIM115 - closed with the process
        return subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)

    rng = random.Random(20)
    kills: list[float] = []
    during_replay = 0
    t0 = time.monotonic()
    with Watcher(bootstrap, config.TOPIC_RESULTS) as watcher:
        # ~92 match minutes at 40x: the replay lasts about 140 s, the kills about as long.
        thread, box = replay_thread(league, bootstrap, speed=40.0)
        for n in range(20):
            proc = worker(n)
            time.sleep(rng.uniform(2.0, 7.0))  # a random moment: joining, rebuilding, scoring
            during_replay += thread.is_alive()
            proc.kill()
            proc.wait(30)
            kills.append(time.monotonic())
        final = worker(99, "--idle-timeout", "20")
        thread.join(300)
        assert "error" not in box, box.get("traceback")
        complete = watcher.wait_for(len(expected), timeout=240)
        final.wait(240)
        time.sleep(1.0)
        figures = check_predictions(watcher.arrivals, expected)
        recoveries = [(at - k) for k in kills if (at := watcher.first_after(k)) is not None]
    sent = box["stats"]
    tail = (log_dir / "worker-99.log").read_text(errors="replace")[-2000:]
    assert final.returncode == 0, tail
    passed = complete and figures["lost"] == 0 and not figures["wrong"]
    reliability.record(
        "worker-sigkill",
        {
            "trials": len(kills),
            "events": sent.events,
            "predictions": figures["predictions"],
            "lost": figures["lost"],
            "duplicates": figures["duplicates"],
            "quarantined": 0,
            "recovery_s": round(max(recoveries), 2) if recoveries else None,
            "p99_latency_ms": figures["p99_latency_ms"],
            "matches": N_MATCHES,
            "median_recovery_s": round(float(np.median(recoveries)), 2) if recoveries else None,
            "wrong_predictions": len(figures["wrong"]),
            "kills_while_replaying": during_replay,
            "seconds": round(time.monotonic() - t0, 1),
        },
        title="scoring worker SIGKILLed at random moments of a 50-match replay, restarted",
        broker=f"Apache Kafka {version}",
        passed=passed,
        notes="Recovery: seconds from the kill to the next prediction published (a new worker "
        "process starts, takes the dead member's place in the group at once with the same "
        "group.instance.id (static membership), restores its matches' states from the "
        "changelog, and scores). Duplicates: predictions published "
        "again for events the killed worker had scored but not committed; every copy equals "
        "the offline prediction for its (match_id, event index).",
    )
    assert complete, f"not every event was scored: {figures}"
    assert figures["lost"] == 0, figures
    assert figures["unexpected"] == 0, figures
    assert not figures["wrong"], figures
    assert sent.events == len(expected)


# -- the broker restarted under a running replay ------------------------------------------------


@pytest.mark.jvm
def test_broker_restarts_lose_nothing(apache, league, model, expected):
    """Restart Apache Kafka 3 times during a replay (SIGTERM, SIGTERM, SIGKILL)."""
    from inplay.brokers import apache as apache_kafka
    from inplay.kafka import topics

    state, bootstrap, version = apache
    tag = uuid.uuid4().hex[:6]
    names = {
        "events_topic": f"restart-{tag}-events",
        "requests_topic": f"restart-{tag}-requests",
        "results_topic": f"restart-{tag}-results",
        "monitoring_topic": f"restart-{tag}-monitoring",
    }
    topics.create_topics(bootstrap, topics=list(names.values()))
    scorer = Scorer(
        model, bootstrap=bootstrap, group_id=f"restart-{tag}", stats_interval=2.0, **names
    )
    box: dict = {}

    def score() -> None:
        try:
            scorer.run(progress=False)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            box["error"] = exc
            box["traceback"] = traceback.format_exc()

    worker = threading.Thread(target=score, daemon=True)
    t0 = time.monotonic()
    restarts = []
    with Watcher(bootstrap, names["results_topic"]) as watcher:
        worker.start()
        thread, replayed = replay_thread(league, bootstrap, speed=60.0, topic=names["events_topic"])
        for n, kill in enumerate((False, False, True)):
            time.sleep(12.0)
            down = time.monotonic()
            info = apache_kafka.restart(state, kill=kill, down_seconds=2.0)
            up = time.monotonic()
            restarts.append({"kill": kill, "down_s": round(up - down, 1), "up": up, "n": n})
            assert info.bootstrap == bootstrap
        thread.join(300)
        complete = watcher.wait_for(len(expected), timeout=180)
        scorer.stop()
        worker.join(60)
        figures = check_predictions(watcher.arrivals, expected)
        recoveries = [
            at - r["up"] for r in restarts if (at := watcher.first_after(r["up"])) is not None
        ]
    assert "error" not in replayed, replayed.get("traceback")
    assert "error" not in box, box.get("traceback")
    sent = replayed["stats"]
    records, distinct = count_events(bootstrap, names["events_topic"])
    passed = complete and figures["lost"] == 0 and records == sent.messages
    reliability.record(
        "broker-restart",
        {
            "trials": len(restarts),
            "events": sent.events,
            "predictions": figures["predictions"],
            "lost": figures["lost"] + max(0, sent.messages - distinct),
            "duplicates": figures["duplicates"],
            "quarantined": scorer.stats.quarantined,
            "recovery_s": round(max(recoveries), 2) if recoveries else None,
            "p99_latency_ms": figures["p99_latency_ms"],
            "events_on_topic": records,
            "producer_duplicates": records - distinct,
            "broker_down_s": [r["down_s"] for r in restarts],
            "publish_retries": scorer.stats.publish_retries,
            "commit_failures": scorer.stats.commit_failures,
            "seconds": round(time.monotonic() - t0, 1),
        },
        title="Apache Kafka restarted 3 times during a 50-match replay (SIGTERM, SIGTERM, SIGKILL)",
        broker=f"Apache Kafka {version}",
        passed=passed,
        notes="Producer (replay) and scoring worker run on through each restart on their own "
        "(idempotent producer with acks=all; the worker re-sends an unacknowledged batch and "
        "re-reads an uncommitted one). Recovery: seconds from the broker answering again to "
        "the next prediction published. lost counts events missing from the topic and events "
        "without a prediction.",
    )
    assert complete, f"not every event was scored: {figures}"
    assert records == sent.messages, "the replay's events on the topic (idempotent producer)"
    assert distinct == sent.messages
    assert figures["lost"] == 0 and not figures["wrong"], figures


# -- the embedded broker forgets everything when it restarts ----------------------------------


def test_restarted_embedded_broker_is_detected(tmp_path, league, model, monkeypatch):
    """The in-memory broker restarts: the worker stops with a clear error instead of waiting."""
    from inplay.brokers import embedded as broker
    from inplay.kafka import topics
    from inplay.kafka.io import BrokerDataLost

    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        pytest.skip("the embedded broker's test (runs when KAFKA_BOOTSTRAP_SERVERS is unset)")
    state = tmp_path / "broker.json"
    monkeypatch.setattr(config, "BROKER_STATE_FILE", state)  # this broker is "the" embedded one
    try:
        info = broker.start(state_file=state)
        bootstrap, port = info.bootstrap, info.port
        topics.create_topics(bootstrap)
        scorer = Scorer(model, bootstrap=bootstrap, group_id="forgetful", stats_interval=1.0)
        box: dict = {}

        def score() -> None:
            try:
                scorer.run(progress=False)
            except BaseException as exc:  # noqa: BLE001 - examined below
                box["error"] = exc

        worker = threading.Thread(target=score, daemon=True)
        worker.start()
        match = league.matches()[0]
        replay(league, [match], bootstrap=bootstrap, progress=False)
        deadline = time.monotonic() + 60
        while scorer.stats.scored < 100 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert scorer.stats.scored >= 100

        broker.stop(state_file=state)
        restarted_at = time.monotonic()
        broker.start(state_file=state, port=port)
        worker.join(60)
        detected_s = time.monotonic() - restarted_at
        alive = worker.is_alive()
        scorer.stop()
        error = box.get("error")
        reliability.record(
            "embedded-broker-restart",
            {
                "trials": 1,
                "events": scorer.stats.consumed,
                "predictions": scorer.stats.scored,
                "recovery_s": round(detected_s, 1),
                "detected": isinstance(error, BrokerDataLost),
            },
            title="the embedded (in-memory) broker restarts under a running worker",
            broker="embedded (Tansu)",
            passed=isinstance(error, BrokerDataLost) and not alive,
            notes="recovery_s here: seconds until the worker stopped with the error "
            f"(instead of waiting forever). The error: {error}",
        )
        assert not alive, "the worker kept waiting on a broker that lost its topics"
        assert isinstance(error, BrokerDataLost), repr(error)
        text = str(error)
        assert "embedded broker" in text and "in memory" in text
        assert "inplay topics create" in text and "\n" not in text
    finally:
        broker.stop(state_file=state)

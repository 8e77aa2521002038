"""The scoring service under consumer groups: rebalances, order, duplicates, match ends.

The rebalance test runs against a real broker; the rest feed records straight into
``Scorer.process`` (a pure function of the records), with no Kafka at all.
"""

from __future__ import annotations

import threading
import time
import uuid

import orjson
import pandas as pd
import pytest
from fixtures_statsbomb import long_match, make_event, make_match, write_open_data
from kafka.coordinator.assignors.cooperative_sticky import CooperativeStickyAssignor

from inplay.data.statsbomb import StatsBombData
from inplay.features import minute_snapshots
from inplay.features.events import MATCH_END
from inplay.kafka import io as kafka_io
from inplay.kafka.clients import Record, make_producer_client
from inplay.live import messages
from inplay.live import state as match_store
from inplay.live.replay import encode_event, matchday
from inplay.live.scorer import Scorer, _idle_over
from inplay.models import make_model

TEAMS = [
    ("Lions", "Tigers"),
    ("Bears", "Wolves"),
    ("Hawks", "Owls"),
    ("Foxes", "Hares"),
    ("Eagles", "Crows"),
    ("Sharks", "Seals"),
]


@pytest.fixture(scope="module")
def league(tmp_path_factory) -> StatsBombData:
    matches, events = [], {}
    for n, (home, away) in enumerate(TEAMS):
        match_id = 300 + n
        matches.append(make_match(match_id, home, away))
        events[match_id] = long_match(home, away, seed=n)
    return StatsBombData(write_open_data(tmp_path_factory.mktemp("league"), matches, events))


@pytest.fixture(scope="module")
def model(league):
    rows = []
    for n, match in enumerate(league.matches()):
        snaps = minute_snapshots(
            league.events(match.match_id), match.match_id, match.home_team, match.away_team
        )
        rows += [{**r, "result": "HDA"[n % 3]} for r in snaps]
    return make_model("scoreboard").fit(pd.DataFrame(rows))


def topic_set(fresh_topics, tag: str) -> dict[str, str]:
    events, requests, results, monitoring = fresh_topics(
        f"{tag}-events", f"{tag}-requests", f"{tag}-results", f"{tag}-monitoring"
    )
    return {
        "events_topic": events,
        "requests_topic": requests,
        "results_topic": results,
        "monitoring_topic": monitoring,
    }


def send(bootstrap: str, topic: str, items) -> None:
    producer = make_producer_client(bootstrap)
    for _t, match, event in items:
        key, value = encode_event(event, match)
        producer.send(topic, key, value)
    producer.flush()
    producer.close()


def wait_for(condition, what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def start(scorer: Scorer) -> threading.Thread:
    thread = threading.Thread(
        target=scorer.run, kwargs={"idle_timeout": 300, "progress": False}, daemon=True
    )
    thread.start()
    return thread


KIND_OF = {"results_topic": "prediction_result", "requests_topic": "prediction_request"}


def by_key(bootstrap: str, topic: str, kind: str) -> dict[tuple[int, int], list[dict]]:
    """Every message of a results or requests topic, checked against its schema, by key."""
    out: dict[tuple[int, int], list[dict]] = {}
    for record in kafka_io.read_topic(topic, bootstrap, timeout=60):
        body = messages.validate(kind, record.value)
        body.pop("latency_ms", None), body.pop("processing_ms", None), body.pop("scored_at", None)
        out.setdefault((body["match_id"], body["event_index"]), []).append(body)
    return out


@pytest.mark.kafka
def test_rebalance_gives_the_same_predictions(kafka_bootstrap, fresh_topics, league, model):
    """Workers join and leave mid-replay; every prediction equals the single-worker one."""
    loaded = [(m, league.events(m.match_id)) for m in league.matches()]
    schedule = list(matchday(loaded, end_markers=True))
    thirds = [schedule[: len(schedule) // 3], schedule[len(schedule) // 3 : 2 * len(schedule) // 3]]
    thirds.append(schedule[2 * len(schedule) // 3 :])

    # Reference: one worker, the whole replay.
    ref = topic_set(fresh_topics, "ref")
    send(kafka_bootstrap, ref["events_topic"], schedule)
    single = Scorer(model, bootstrap=kafka_bootstrap, group_id=f"ref-{uuid.uuid4().hex[:6]}", **ref)
    single.run(idle_timeout=8, progress=False)
    assert single.stats.consumed == len(schedule)

    # The same replay in three parts while workers join and leave.
    topics = topic_set(fresh_topics, "rb")
    group = f"rb-{uuid.uuid4().hex[:6]}"
    workers = [Scorer(model, bootstrap=kafka_bootstrap, group_id=group, **topics) for _ in range(3)]
    a, b, c = workers
    consumed = lambda *ws: sum(w.stats.consumed for w in ws)  # noqa: E731
    all_parts = {(topics["events_topic"], p) for p in range(3)}

    send(kafka_bootstrap, topics["events_topic"], thirds[0])
    thread_a = start(a)
    wait_for(lambda: consumed(a) == len(thirds[0]), "worker A to score the first third")

    thread_b = start(b)  # B joins: A gives up partitions, B restores their matches
    wait_for(
        lambda: a.assigned and b.assigned and set(a.assigned) | set(b.assigned) == all_parts,
        "A and B to share the partitions",
    )
    send(kafka_bootstrap, topics["events_topic"], thirds[1])
    wait_for(lambda: consumed(a, b) == len(thirds[0]) + len(thirds[1]), "the second third")

    a.stop()  # A leaves: B takes every partition
    thread_a.join(timeout=60)
    wait_for(lambda: set(b.assigned) == all_parts, "B to take every partition")
    thread_c = start(c)  # C joins
    wait_for(
        lambda: b.assigned and c.assigned and set(b.assigned) | set(c.assigned) == all_parts,
        "B and C to share the partitions",
    )
    send(kafka_bootstrap, topics["events_topic"], thirds[2])
    wait_for(lambda: consumed(a, b, c) == len(schedule), "the last third")
    b.stop(), c.stop()
    thread_b.join(timeout=60), thread_c.join(timeout=60)

    # State really came from the changelog: B took over A's matches mid-match, and C (if its
    # partitions hold matches; the keys may hash onto fewer than 3) restored before scoring,
    # each reading one changelog record per live match it took over (and one index per
    # partition), not the partitions' history.
    assert b.stats.restored > 0
    assert c.stats.consumed == 0 or c.stats.restored > 0
    for w in workers:
        assert w.stats.rebuilt == 0, "a partition was re-read although its changelog had states"
        assert w.stats.changelog_reads <= w.stats.restored + w.stats.restored_partitions
        assert w.stats.publish_retries == 0  # e.g. a producer waiting for the changelog's metadata
    assert sum(w.stats.quarantined for w in workers) == 0
    for name in ("results_topic", "requests_topic"):
        expected = by_key(kafka_bootstrap, ref[name], KIND_OF[name])
        got = by_key(kafka_bootstrap, topics[name], KIND_OF[name])
        assert set(got) == set(expected)
        for key, copies in got.items():
            # At-least-once: a prediction may come twice, but every copy is the same.
            for copy in copies:
                assert copy == expected[key][0], f"{name} {key} differs after rebalances"


def changelog_records(bootstrap: str, scorer: Scorer) -> int:
    return len(kafka_io.read_topic(scorer.store.changelog.topic, bootstrap, timeout=60))


def live_after(part) -> int:
    """Matches started and not ended in a part of a schedule."""
    started = {match.match_id for _t, match, _e in part}
    ended = {m.match_id for _t, m, e in part if e["type"]["name"].lower() == MATCH_END}
    return len(started - ended)


def assert_as_one_worker(bootstrap: str, fresh_topics, model, schedule, topics) -> None:
    """Every request and result on ``topics`` equals what one worker publishes."""
    ref = topic_set(fresh_topics, "ref")
    send(bootstrap, ref["events_topic"], schedule)
    single = Scorer(model, bootstrap=bootstrap, group_id=f"ref-{uuid.uuid4().hex[:6]}", **ref)
    single.run(idle_timeout=8, progress=False)
    for name in ("results_topic", "requests_topic"):
        expected = by_key(bootstrap, ref[name], KIND_OF[name])
        got = by_key(bootstrap, topics[name], KIND_OF[name])
        assert set(got) == set(expected)
        assert all(c == expected[k][0] for k, copies in got.items() for c in copies)


@pytest.mark.kafka
def test_restore_reads_one_changelog_record_per_live_match(
    kafka_bootstrap, fresh_topics, league, model
):
    """A worker taking over restores each live match from one changelog record, not history.

    A scores the first half in small batches (many changelog records per match) and stops; B
    restores every partition, then scores the second half exactly as one worker would.
    """
    loaded = [(m, league.events(m.match_id)) for m in league.matches()]
    schedule = list(matchday(loaded, end_markers=True))
    half = len(schedule) // 2
    topics = topic_set(fresh_topics, "cl")
    group = f"cl-{uuid.uuid4().hex[:6]}"
    a, b = (Scorer(model, bootstrap=kafka_bootstrap, group_id=group, **topics) for _ in "ab")
    send(kafka_bootstrap, topics["events_topic"], schedule[:half])
    a.run(max_events=half, max_records=20, progress=False)
    live = live_after(schedule[:half])
    assert live > 0 and a.stats.publish_retries == 0
    send(kafka_bootstrap, topics["events_topic"], schedule[half:])
    b.run(idle_timeout=8, progress=False)

    assert b.stats.consumed == len(schedule) - half  # only the events after the commit
    assert b.stats.restored == live and b.stats.rebuilt == 0
    assert b.stats.changelog_reads == live + b.stats.restored_partitions  # states + one index
    assert changelog_records(kafka_bootstrap, b) > 3 * b.stats.changelog_reads
    assert_as_one_worker(kafka_bootstrap, fresh_topics, model, schedule, topics)


@pytest.mark.kafka
def test_partitions_without_changelog_are_rebuilt_then_written(
    kafka_bootstrap, fresh_topics, league, model
):
    """Offsets committed without a changelog (changelog=False): rebuilt from the events, and
    the rebuilt states reach the changelog, so the next worker restores them."""
    loaded = [(m, league.events(m.match_id)) for m in league.matches()]
    schedule = list(matchday(loaded, end_markers=True))
    cut = [len(schedule) // 3, 2 * len(schedule) // 3]
    topics = topic_set(fresh_topics, "nocl")
    group = f"nocl-{uuid.uuid4().hex[:6]}"
    send(kafka_bootstrap, topics["events_topic"], schedule[: cut[0]])
    old = Scorer(model, bootstrap=kafka_bootstrap, group_id=group, changelog=False, **topics)
    old.run(max_events=cut[0], progress=False)
    send(kafka_bootstrap, topics["events_topic"], schedule[cut[0] : cut[1]])
    new = Scorer(model, bootstrap=kafka_bootstrap, group_id=group, **topics)
    new.run(max_events=cut[1] - cut[0], progress=False)
    assert new.stats.rebuilt > 0 and new.stats.restored == 0
    send(kafka_bootstrap, topics["events_topic"], schedule[cut[1] :])
    after = Scorer(model, bootstrap=kafka_bootstrap, group_id=group, **topics)
    after.run(idle_timeout=8, progress=False)
    assert after.stats.rebuilt == 0
    assert after.stats.restored == live_after(schedule[: cut[1]]) > 0
    assert_as_one_worker(kafka_bootstrap, fresh_topics, model, schedule, topics)


# -- pure tests: records straight into Scorer.process ----------------------------------------


class _Model:
    version = "fixed-1"

    def predict_proba(self, frame):
        import numpy as np

        return np.tile([0.5, 0.3, 0.2], (len(frame), 1))


def records(match_id: int, events: list[dict], start_offset: int = 0) -> list[Record]:
    out = []
    for n, event in enumerate(events):
        body = {**event, "match_id": match_id, "home_team": "Home", "away_team": "Away"}
        out.append(Record("ev", 0, start_offset + n, str(match_id).encode(), orjson.dumps(body)))
    return out


def results(out) -> list[dict]:
    """The result messages of a process() output; every message is checked by its schema."""
    kinds = {"results": "prediction_result", "req": "prediction_request"}
    bodies = [(t, orjson.loads(v)) for t, _, v in out]
    for topic, body in bodies:
        messages.validate(kinds.get(topic) or body["kind"], body)
    return [body for topic, body in bodies if topic == "results"]


def scorer() -> Scorer:
    return Scorer(
        _Model(),
        events_topic="ev",
        results_topic="results",
        requests_topic="req",
        monitoring_topic="mon",
    )


def test_duplicates_and_late_events_are_counted_not_rescored():
    s = scorer()
    evs = [make_event(i, "Pass", "Home", minute=i) for i in range(1, 6)]
    late = make_event(6, "Shot", "Away", minute=2, xg=0.3, outcome="Goal")
    out = s.process(records(1, evs + [evs[2], late]))
    assert [r["event_index"] for r in results(out)] == [1, 2, 3, 4, 5, 6]
    assert s.stats.duplicates == 1 and s.stats.late == 1
    assert results(out)[-1]["away_goals"] == 1 and results(out)[-1]["minute"] == 5


def test_match_end_evicts_state_and_later_events_are_quarantined():
    s = scorer()
    evs = [make_event(i, "Pass", "Home", minute=i) for i in range(1, 4)]
    end = {**make_event(4, "Match End", "Home", minute=3), "inplay_synthetic": True}
    out = s.process(records(1, evs + [end]))
    assert s.stats.ended == 1 and s.states == {} and 1 in s.ended_matches
    assert len(results(out)) == 3  # no prediction for the marker
    after = s.process(records(1, [make_event(9, "Pass", "Home", minute=5)], start_offset=10))
    quarantined = [messages.validate("quarantine", v) for t, _, v in after if t == "mon"]
    assert len(quarantined) == 1 and "already ended" in quarantined[0]["reason"]
    assert s.stats.consumed == (
        s.stats.scored + s.stats.ignored + s.stats.quarantined + s.stats.duplicates + s.stats.ended
    )


def test_ended_matches_leave_nothing_behind_but_a_bounded_memory(monkeypatch):
    """A long-running worker does not grow per match: ended ids are capped, nothing else stays."""
    monkeypatch.setattr(match_store, "ENDED_MEMORY", 5)
    s = scorer()
    for match_id in range(1, 13):
        evs = [make_event(i, "Pass", "Home", minute=i) for i in range(1, 3)]
        end = {**make_event(3, "Match End", "Home", minute=2), "inplay_synthetic": True}
        s.process(records(match_id, evs + [end]))
    assert s.states == {} and s.partition_of == {}
    assert list(s.ended_matches) == [8, 9, 10, 11, 12]
    assert s.stats.matches == 12 and s.stats.ended == 12
    s.process(records(99, [make_event(1, "Pass", "Home")]))  # one live match, then revoked
    assert set(s.partition_of) == {99}
    s._forget([("ev", 0)])
    assert s.states == {} and s.partition_of == {} and s.ended_matches == {}


def test_stats_message_has_interval_throughput_and_lag():
    s = scorer()
    s.process(records(1, [make_event(i, "Pass", "Home", minute=i) for i in range(1, 4)]))
    body = messages.validate("stats", s.stats_message({"0": 4}))
    assert body["kind"] == "stats" and body["model_version"] == "fixed-1"
    assert body["consumed"] == 3 and body["lag"] == {"0": 4}
    assert body["interval_events_per_second"] > 0 and body["live_matches"] == 1
    assert set(body["latency_ms"]) == {"p50", "p95", "p99"}


def test_idle_clock_starts_at_the_assignment_not_at_the_start(caplog):
    """A slow group join never ends a run: idle time counts from the latest assignment."""
    s = scorer()
    now = time.monotonic()
    long_ago, started = now - 100.0, time.perf_counter() - 30.0
    # Not assigned yet, 30 s in: waiting to join is not idleness (until the join timeout).
    assert not _idle_over(s, 8, 60, last_message=long_ago, start=started)
    with caplog.at_level("WARNING", logger="inplay.live.scorer"):
        assert _idle_over(s, 8, 20, last_message=long_ago, start=started)  # past the join timeout
    assert "no partition of ev was assigned" in caplog.text
    # Just assigned, no message for 100 s before that: the clock restarted at the assignment.
    s._assigned_at = now - 1.0
    assert not _idle_over(s, 8, 60, last_message=long_ago, start=started)
    s._assigned_at = now - 9.0
    assert _idle_over(s, 8, 60, last_message=long_ago, start=started)
    # A recent message keeps an assigned worker alive.
    assert not _idle_over(s, 8, 60, last_message=now - 2.0, start=started)


def test_transient_errors_are_told_from_real_ones():
    """What the worker retries (a broker away) and what it lets stop it (a bug, bad settings)."""
    from kafka.errors import KafkaConnectionError, KafkaTimeoutError, TopicAuthorizationFailedError

    from inplay.kafka.clients import transient_error
    from inplay.kafka.clients.base import DeliveryError

    assert transient_error(KafkaConnectionError("111 ECONNREFUSED"))
    assert transient_error(KafkaTimeoutError("metadata"))
    assert transient_error(DeliveryError("unacknowledged"))
    assert not transient_error(TopicAuthorizationFailedError("no"))
    assert not transient_error(ValueError("a bug"))
    assert match_store.retry_rebuild(match_store.config.ConfigError("broker unreachable"))
    assert not match_store.retry_rebuild(RuntimeError("rebuild did not reach the offsets"))
    confluent = pytest.importorskip("confluent_kafka")
    err = confluent.KafkaError
    assert transient_error(confluent.KafkaException(err(err._TRANSPORT)))
    assert transient_error(confluent.KafkaException(err(err._ALL_BROKERS_DOWN)))
    assert not transient_error(confluent.KafkaException(err(err._INVALID_ARG)))


@pytest.mark.kafka
def test_a_slow_group_join_does_not_end_an_idle_timed_run(
    kafka_bootstrap, fresh_topics, league, model
):
    """A member that stopped polling holds the rebalance up; the newcomer still scores all.

    The stale member (a kafka-python consumer that joined, then never polled again) keeps
    the group's rebalance waiting until its max poll interval (10 s) runs out. The worker's
    2 s idle timeout must not count that wait: before the fix it stopped with nothing read.
    Apache Kafka only: the embedded broker (Tansu) never settles a group whose member has a
    10 s max poll interval (it keeps asking it to rejoin), so the stale member cannot be set up.
    """
    admin = kafka_io.make_admin(kafka_bootstrap)
    cluster = admin.describe_cluster()["cluster_id"]
    admin.close()
    if cluster == "tansu_cluster":
        pytest.skip("needs Apache Kafka's rebalance (the embedded broker is Tansu)")
    names = topic_set(fresh_topics, "slowjoin")
    match = league.matches()[0]
    items = list(matchday([(match, league.events(match.match_id))], end_markers=True))
    send(kafka_bootstrap, names["events_topic"], items)
    group = f"test-slowjoin-{uuid.uuid4().hex[:8]}"
    # Quick to join (inplay's consumer settings), slow to leave: it stops polling below. It
    # stands for another worker, so it uses the workers' assignor (a group cannot mix it with
    # the eager ones).
    stale = kafka_io.make_consumer(
        group_id=group,
        bootstrap=kafka_bootstrap,
        max_poll_interval_ms=10_000,
        partition_assignment_strategy=(CooperativeStickyAssignor,),
    )
    try:
        stale.subscribe([names["events_topic"]])
        # Join, reading nothing (max_records=1 and the record is never used), then stop polling.
        wait_for(
            lambda: stale.poll(timeout_ms=200, max_records=1) is not None and stale.assignment(),
            "the stale member to join",
        )
        worker = Scorer(model, bootstrap=kafka_bootstrap, group_id=group, **names)
        stats = worker.run(idle_timeout=2, progress=False)
    finally:
        stale.close()
    assert stats.consumed == len(items)
    assert stats.scored + stats.ended + stats.ignored == len(items)


@pytest.mark.kafka
def test_cli_runs_several_workers_in_one_group(tmp_path, league, model):
    """`inplay score --workers 2`: two processes share the partitions, every event is scored."""
    import re
    import subprocess
    import sys

    from inplay.brokers import embedded as broker
    from inplay.kafka import topics
    from inplay.live.replay import replay
    from inplay.models import save_model

    state = tmp_path / "broker.json"
    info = broker.start(state_file=state)  # a private broker: the CLI uses the default topics
    try:
        topics.create_topics(info.bootstrap)
        sent = replay(league, league.matches(), bootstrap=info.bootstrap, progress=False)
        model_dir = save_model(model, tmp_path / "models", data_info={"matches": 6}, metrics=None)
        env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("KAFKA_")}
        env["INPLAY_PROGRESS"] = "0"
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "inplay.cli",
                "score",
                "--workers",
                "2",
                "--idle-timeout",
                "8",
                "--kafka-broker",
                info.bootstrap,
                "--model",
                str(model_dir),
                "--group",
                f"cli-{uuid.uuid4().hex[:6]}",
            ],
            capture_output=True,
            text=True,
            timeout=180,
            env=env,
        )
        assert proc.returncode == 0, proc.stderr
        consumed = [
            int(n.replace(",", "")) for n in re.findall(r"consumed ([\d,]+) events", proc.stdout)
        ]
        assert len(consumed) == 2  # one summary per worker
        assert sum(consumed) == sent.messages
        results = kafka_io.read_topic("ml-pipeline-prediction-results", info.bootstrap)
        keys = {
            (b["match_id"], b["event_index"])
            for b in (messages.validate("prediction_result", r.value) for r in results)
        }
        assert len(keys) == sent.events  # synthetic matches: no shoot-out, nothing skipped
    finally:
        broker.stop(state_file=state)

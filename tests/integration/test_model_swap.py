"""Hot model swap: running workers follow the registry's champion between batches.

A real MLflow store (SQLite, in a temporary folder) holds two versions; the champion alias is
moved mid-replay while two workers share the partitions (one joins after the promotion, which
rebalances them). Every prediction must equal its own model's offline prediction, none lost,
none repeated, and each partition must switch once, old to new.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid

import numpy as np
import pandas as pd
import pytest
from fixtures_statsbomb import write_league

from inplay.data.statsbomb import StatsBombData
from inplay.features import minute_snapshots
from inplay.kafka import io as kafka_io
from inplay.kafka.clients import make_producer_client
from inplay.live import messages
from inplay.live.batch import BatchScorer, predict_requests
from inplay.live.replay import encode_event, matchday
from inplay.live.scorer import Scorer
from inplay.mlops.champion import (
    ChampionSource,
    LiveModel,
    follow_champion,
    resolve_live_model,
    smoke_check,
)
from inplay.mlops.registry import Registry
from inplay.models import ScoreboardModel, make_model, save_model

TEAMS = [("Lions", "Tigers"), ("Bears", "Wolves"), ("Hawks", "Owls"), ("Foxes", "Hares")]


class NaNModel(ScoreboardModel):
    """Fits like the scoreboard model, then answers NaN: the smoke batch must refuse it."""

    name = "nan_model"

    def predict_proba(self, X):  # noqa: N803 - the models' signature
        return np.full((len(X), 3), np.nan)

    def predict_proba_arrays(self, columns):
        return np.full((len(columns["match_id"]), 3), np.nan)


@pytest.fixture(scope="module")
def league(tmp_path_factory) -> StatsBombData:
    return StatsBombData(write_league(tmp_path_factory.mktemp("swap"), TEAMS, 500, seed=10))


def fitted(league: StatsBombData, labels: str, model=None):
    rows = []
    for n, match in enumerate(league.matches()):
        snaps = minute_snapshots(
            league.events(match.match_id), match.match_id, match.home_team, match.away_team
        )
        rows += [{**r, "result": labels[n % len(labels)]} for r in snaps]
    return (model or make_model("scoreboard")).fit(pd.DataFrame(rows))


def register(registry: Registry, model, folder) -> int:
    path = save_model(model, folder, data_info={"matches": 4})
    return registry.register(path, tags={"inplay_version": model.version, "model_name": model.name})


@pytest.fixture
def registry(tmp_path) -> Registry:
    return Registry(uri=f"sqlite:///{tmp_path}/mlflow.db", name="swap-test")


def wait_for(condition, what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def worker(registry: Registry, bootstrap: str, group: str, topics: dict) -> Scorer:
    live, follow = resolve_live_model(None, registry)
    assert follow and live.registry_version is not None
    source = ChampionSource(live, registry, poll_seconds=0.2)
    return Scorer(live.model, bootstrap=bootstrap, group_id=group, source=source, **topics)


def send(bootstrap: str, topic: str, items) -> None:
    producer = make_producer_client(bootstrap)
    for _t, match, event in items:
        producer.send(topic, *encode_event(event, match))
    producer.flush()
    producer.close()


@pytest.mark.kafka
def test_promotion_mid_replay_switches_workers_between_batches(
    kafka_bootstrap, fresh_topics, league, registry, tmp_path
):
    old, new = fitted(league, "HDA"), fitted(league, "ADHH")
    v_old = register(registry, old, tmp_path / "old")
    v_new = register(registry, new, tmp_path / "new")
    registry.set_champion(v_old)
    events, requests, results, monitoring = fresh_topics("ev", "rq", "rs", "mon")
    topics = dict(
        events_topic=events,
        requests_topic=requests,
        results_topic=results,
        monitoring_topic=monitoring,
    )
    schedule = list(
        matchday([(m, league.events(m.match_id)) for m in league.matches()], end_markers=True)
    )
    third = len(schedule) // 3
    group = f"swap-{uuid.uuid4().hex[:6]}"

    a = worker(registry, kafka_bootstrap, group, topics)
    assert a.model_version == old.version
    thread_a = threading.Thread(target=a.run, kwargs={"idle_timeout": 300, "progress": False})
    send(kafka_bootstrap, events, schedule[:third])
    thread_a.start()
    wait_for(lambda: a.stats.consumed == third, "A to score the first third")

    registry.set_champion(v_new)  # promotion mid-replay: A loads it on its watcher thread
    wait_for(lambda: a.source.pending_version == v_new, "A to load and test the new champion")
    assert a.model_version == old.version  # taken only at the next batch
    send(kafka_bootstrap, events, schedule[third : 2 * third])
    wait_for(lambda: a.stats.consumed == 2 * third, "A to score the second third")
    b = worker(registry, kafka_bootstrap, group, topics)  # joins after the promotion
    assert b.model_version == new.version
    thread_b = threading.Thread(target=b.run, kwargs={"idle_timeout": 300, "progress": False})
    thread_b.start()
    wait_for(lambda: a.assigned and b.assigned, "A and B to share the partitions")
    send(kafka_bootstrap, events, schedule[2 * third :])
    wait_for(lambda: a.stats.consumed + b.stats.consumed == len(schedule), "the last third")
    a.stop(), b.stop()
    thread_a.join(timeout=60), thread_b.join(timeout=60)

    assert a.model_version == new.version, "A never switched to the promoted champion"
    models = {old.version: old, new.version: new}
    request_of = {
        (r["match_id"], r["event_index"]): r
        for r in (messages.decode(x.value) for x in kafka_io.read_topic(requests, kafka_bootstrap))
    }
    seen: dict[tuple[int, int], int] = {}
    versions_by_partition: dict[int, list[str]] = {}
    for record in kafka_io.read_topic(results, kafka_bootstrap, timeout=60):
        result = messages.validate("prediction_result", record.value)
        key = (result["match_id"], result["event_index"])
        seen[key] = seen.get(key, 0) + 1
        versions_by_partition.setdefault(record.partition, []).append(result["model_version"])
        model = models[result["model_version"]]
        expected = messages.rounded_probability_rows(predict_requests(model, [request_of[key]]))[0]
        assert (result["p_home"], result["p_draw"], result["p_away"]) == expected, key

    scored = a.stats.scored + b.stats.scored
    assert len(seen) == scored and set(seen.values()) == {1}, "a prediction lost or repeated"
    assert set(seen) == set(request_of)
    every = [v for vs in versions_by_partition.values() for v in vs]
    assert old.version in every and new.version in every
    for partition, versions in versions_by_partition.items():
        switch = versions.index(new.version) if new.version in versions else len(versions)
        assert set(versions[:switch]) <= {old.version}, f"partition {partition}: old after new"
        assert set(versions[switch:]) <= {new.version}, f"partition {partition}: old after new"
    swaps = [
        m
        for m in (
            messages.decode(x.value) for x in kafka_io.read_topic(monitoring, kafka_bootstrap)
        )
        if m and m.get("kind") == "model_swapped"
    ]
    assert [s["worker"] for s in swaps] == [a.worker_id]
    messages.validate("model_swapped", swaps[0])
    assert (swaps[0]["old_version"], swaps[0]["new_version"]) == (old.version, new.version)
    assert swaps[0]["registry_version"] == v_new


def test_a_champion_that_fails_its_smoke_batch_is_refused(league, registry, tmp_path):
    good = fitted(league, "HDA")
    v_good = register(registry, good, tmp_path / "good")
    registry.set_champion(v_good)
    bad = fitted(league, "HDA", NaNModel())
    assert "outside [0, 1]" in smoke_check(bad)
    v_bad = register(registry, bad, tmp_path / "bad")
    live, _ = resolve_live_model(None, registry)
    source = ChampionSource(live, registry, poll_seconds=1)
    scorer = BatchScorer(live.model)
    registry.set_champion(v_bad)
    source.check()
    source.check()  # refused once, not again
    out = follow_champion(source, scorer)
    assert scorer.model_version == good.version  # kept
    assert len(out) == 1
    refusal = messages.validate("model_refused", out[0][2])
    assert refusal["registry_version"] == v_bad and refusal["kept_version"] == good.version
    assert "outside [0, 1]" in refusal["reason"]


def test_a_champion_that_cannot_load_is_refused(league, registry, tmp_path):
    good = fitted(league, "HDA")
    registry.set_champion(register(registry, good, tmp_path / "good"))
    live, _ = resolve_live_model(None, registry)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.pkl").write_bytes(b"not a pickle")
    v_broken = registry.register(broken, tags={"inplay_version": "broken"})
    registry.set_champion(v_broken)
    source = ChampionSource(live, registry, poll_seconds=1)
    source.check()
    new, notices = source.take()
    assert new is None and source.current is live
    assert notices[0]["registry_version"] == v_broken
    assert "failed to load" in notices[0]["reason"]


def test_an_unreachable_registry_keeps_the_model(league, monkeypatch, caplog):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    live = LiveModel(fitted(league, "HDA"), registry_version=1)
    source = ChampionSource(live, Registry(uri="http://127.0.0.1:9"), poll_seconds=1)
    with caplog.at_level(logging.WARNING):
        source.check()
        source.check()
    assert source.take() == (None, [])
    warned = [r for r in caplog.records if "registry unreachable" in r.getMessage()]
    assert len(warned) == 1  # said once per outage

"""Live model quality through Kafka equals the offline figures, match by match.

The replay sends matches (events, plus their metadata and results on the raw-data topic); the
quality worker labels each ended match's minute snapshots and scores them. Every labelled row on
``ml-pipeline-processed-data`` must equal the offline training row of the dataset code, and
every ``match_quality`` figure must equal :func:`offline_match_quality` for the same matches and
model; the label must agree with the replay's ``raw_result``. A worker stopped mid-replay and a
second one taking over still give every match, whole.
"""

from __future__ import annotations

import uuid

import orjson
import pandas as pd
import pytest
from fixtures_statsbomb import write_league

from inplay.data.dataset import build_match_rows
from inplay.data.ratings import neutral_venue
from inplay.data.statsbomb import StatsBombData
from inplay.kafka import io as kafka_io
from inplay.kafka.clients import make_producer_client
from inplay.live import messages
from inplay.live.quality import QualityWorker
from inplay.live.replay import encode_event, matchday, raw_result_message, replay
from inplay.mlops.champion import ChampionSource, LiveModel
from inplay.mlops.quality import offline_match_quality
from inplay.models import make_model

TEAMS = [("Lions", "Tigers"), ("Bears", "Wolves"), ("Hawks", "Owls"), ("Foxes", "Hares")]


@pytest.fixture(scope="module")
def league(tmp_path_factory) -> StatsBombData:
    return StatsBombData(write_league(tmp_path_factory.mktemp("quality"), TEAMS, 700, seed=20))


def offline_rows(data: StatsBombData, matches) -> pd.DataFrame:
    """The dataset code's labelled minute rows, with what a live request carries."""
    frames = []
    for match in matches:
        rows, _ = build_match_rows(match, data.events(match.match_id), per_event=False)
        frame = pd.DataFrame(rows)
        frame["home_team"], frame["away_team"] = match.home_team, match.away_team
        frame["neutral"] = neutral_venue(match.competition, match.competition_stage)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def fitted_model(rows: pd.DataFrame):
    # Labels cycled over the matches so every result occurs (a model, not a good one).
    ids = sorted(rows["match_id"].unique())
    labels = {m: "HDA"[i % 3] for i, m in enumerate(ids)}
    train = rows.assign(result=rows["match_id"].map(labels))
    return make_model("scoreboard").fit(train)


def by_kind(bootstrap: str, topic: str, kind: str) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = {}
    for record in kafka_io.read_topic(topic, bootstrap, timeout=60):
        body = messages.decode(record.value)
        if body and body.get("kind") == kind:
            messages.validate(kind, body)
            out.setdefault(body["match_id"], []).append(body)
    return out


def run_worker(model, bootstrap: str, group: str, topics: dict, **run) -> QualityWorker:
    worker = QualityWorker(
        ChampionSource(LiveModel(model), follow=False),
        bootstrap=bootstrap,
        group_id=group,
        window=3,
        **topics,
    )
    worker.run(progress=False, idle_timeout=30, **run)  # idle: a guard, not the end
    return worker


def check_against_offline(bootstrap: str, topics: dict, raw: str, rows: pd.DataFrame, model):
    processed = by_kind(bootstrap, topics["processed_topic"], "match_snapshots")
    quality = by_kind(bootstrap, topics["monitoring_topic"], "match_quality")
    results = by_kind(bootstrap, raw, "raw_result")
    expected = offline_match_quality(rows, model).set_index("match_id")
    assert set(processed) == set(quality) == set(expected.index) == set(results)
    for match_id, copies in processed.items():
        offline = rows[rows["match_id"] == match_id].drop(
            columns=["home_team", "away_team", "neutral"]
        )
        want = orjson.loads(orjson.dumps(offline.to_dict(orient="records")))
        for copy in copies:  # at-least-once: a match may come twice, always the same
            assert copy["rows"] == want, f"match {match_id}: rows differ from the dataset's"
            assert copy["result"] == results[match_id][-1]["result"]
    for match_id, copies in quality.items():
        for copy in copies:
            figures = {k: copy[k] for k in ("log_loss", "brier", "rps", "n_rows")}
            assert figures == expected.loc[match_id, list(figures)].to_dict(), match_id
            assert copy["model_version"] == str(model.version or model.name)


def topic_names(fresh_topics) -> tuple[dict, str]:
    events, processed, monitoring, raw = fresh_topics("ev", "processed", "mon", "raw")
    topics = dict(events_topic=events, processed_topic=processed, monitoring_topic=monitoring)
    return topics, raw


@pytest.mark.kafka
def test_live_quality_equals_offline_per_match(kafka_bootstrap, fresh_topics, league):
    matches = league.matches()
    rows = offline_rows(league, matches)
    model = fitted_model(rows)
    topics, raw = topic_names(fresh_topics)
    sent = replay(league, matches, topic=topics["events_topic"], raw_topic=raw,
                  bootstrap=kafka_bootstrap, progress=False)  # fmt: skip
    group = f"q-{uuid.uuid4().hex[:6]}"
    worker = run_worker(model, kafka_bootstrap, group, topics, max_events=sent.messages)
    assert worker.counts.labelled == len(matches)
    assert worker.counts.skipped_partial == worker.counts.skipped_bad == 0
    check_against_offline(kafka_bootstrap, topics, raw, rows, model)
    quality = by_kind(kafka_bootstrap, topics["monitoring_topic"], "match_quality")
    last = max((q for qs in quality.values() for q in qs), key=lambda q: q["at"])
    assert last["rolling"]["n_matches"] == 3  # the window


def send(bootstrap: str, topic: str, raw: str, data: StatsBombData, items) -> None:
    """Events as the replay sends them; a match's raw_result after its end marker."""
    producer = make_producer_client(bootstrap)
    for _t, match, event in items:
        producer.send(topic, *encode_event(event, match))
        if event.get("inplay_synthetic"):
            result = raw_result_message(match, data.events(match.match_id), 0.0)
            producer.send(raw, str(match.match_id).encode(), orjson.dumps(result))
    producer.flush()
    producer.close()


@pytest.mark.kafka
def test_a_worker_taking_over_mid_replay_still_labels_every_match_whole(
    kafka_bootstrap, fresh_topics, league
):
    """The first worker stops with every match half played; the next reads them whole."""
    matches = league.matches()
    rows = offline_rows(league, matches)
    model = fitted_model(rows)
    topics, raw = topic_names(fresh_topics)
    schedule = list(matchday([(m, league.events(m.match_id)) for m in matches], end_markers=True))
    half = len(schedule) // 2
    group = f"q-{uuid.uuid4().hex[:6]}"
    send(kafka_bootstrap, topics["events_topic"], raw, league, schedule[:half])
    first = run_worker(model, kafka_bootstrap, group, topics, max_events=half)
    assert first.counts.consumed == half and first.counts.labelled == 0  # all half played
    send(kafka_bootstrap, topics["events_topic"], raw, league, schedule[half:])
    second = run_worker(model, kafka_bootstrap, group, topics, max_events=len(schedule))
    assert second.counts.labelled == len(matches)
    assert second.counts.consumed == len(schedule)  # read again from each match's first event
    check_against_offline(kafka_bootstrap, topics, raw, rows, model)

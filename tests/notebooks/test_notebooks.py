"""Every notebook runs top to bottom under papermill with small parameters, in order.

The notebooks hand over only through files (INPLAY_OUTPUT_DIR) and Kafka (the test broker);
each records headline numbers to ``reports/<name>.json``, asserted here with tolerances.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter

import pytest

from inplay import config
from inplay.data.statsbomb import StatsBombData, shared_data_dir
from inplay.kafka import io as kafka_io
from inplay.reporting.notebooks import NOTEBOOKS, SMALL_PARAMETERS, run_notebooks

pytestmark = [pytest.mark.notebooks, pytest.mark.kafka, pytest.mark.shared_data]


@pytest.fixture(scope="module")
def executed(kafka_bootstrap, tmp_path_factory):
    root = shared_data_dir()
    if root is None:
        pytest.skip("StatsBomb shared data not found (set INPLAY_DATA_DIR)")
    out = tmp_path_factory.mktemp("notebook-run")
    # The notebooks use the fixed topics; on a reused cluster they already hold earlier runs'
    # records, which this run's scorer (a fresh group, from the beginning) reads too. Count
    # them by reading (end offsets do not count records on the embedded broker).
    before = {
        topic: [
            int(r.key)
            for r in kafka_io.read_topic(topic, kafka_bootstrap, timeout=300)
            if r.key is not None
        ]
        for topic in (config.TOPIC_EVENTS, config.TOPIC_RESULTS)
    }
    with pytest.MonkeyPatch.context() as mp:
        # The kernels are new processes: they read these settings from the environment.
        mp.setenv("INPLAY_DATA_DIR", str(root))
        mp.setenv("INPLAY_OUTPUT_DIR", str(out))
        mp.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
        # A new consumer group every run, so the scorer reads the topic from the beginning
        # (earlier runs' records included: counted above).
        mp.setenv("INPLAY_SCORER_GROUP", f"nb-test-{uuid.uuid4().hex[:12]}")
        runs = run_notebooks(NOTEBOOKS, SMALL_PARAMETERS, out_dir=out / "reports", progress=False)
    summaries = {
        name: json.loads((out / "reports" / f"{name}.json").read_text()) for name in NOTEBOOKS
    }
    return {
        "runs": runs,
        "summaries": summaries,
        "out": out,
        "data": StatsBombData(root),
        "before": before,
    }


def test_every_notebook_ran_and_rendered(executed):
    assert [r.name for r in executed["runs"]] == list(NOTEBOOKS)
    for run in executed["runs"]:
        page = run.html.read_text(encoding="utf-8")
        assert "StatsBomb" in page, f"{run.name} does not credit StatsBomb"
        assert "Traceback" not in page
    index = (executed["out"] / "reports" / "index.html").read_text()
    assert all(f"{name}.html" in index for name in NOTEBOOKS)


def test_topic_setup(executed):
    summary = executed["summaries"]["00_topic_setup"]
    assert summary["topics"] == 6
    assert set(summary["partitions"].values()) == {3}


def test_replay_sent_every_event(executed):
    summary = executed["summaries"]["01_replay_events"]
    ids = [int(i) for i in SMALL_PARAMETERS["01_replay_events"]["MATCH_IDS"].split(",")]
    data = executed["data"]
    assert summary["match_ids"] == ids
    assert summary["events"] == sum(len(data.events(i)) for i in ids)


def test_features_and_models(executed):
    features = executed["summaries"]["02_feature_engineering"]
    n_matches = len(executed["data"].matches(competition_ids=[43]))
    assert features["matches"] == n_matches
    assert features["minute_rows"] == 91 * n_matches
    assert sum(features["results"].values()) == n_matches
    models = executed["summaries"]["03_model_fitting"]["log_loss"]
    # With ~120 World Cup matches the scoreboard must beat climatology clearly, and the
    # selected model must be at least as good as the scoreboard (it is the minimum).
    assert models["scoreboard"] < models["climatology"] - 0.1
    selected = executed["summaries"]["03_model_fitting"]["selected"]
    assert models[selected] == pytest.approx(min(models.values()))


def test_live_scoring_scored_the_replay(executed):
    # Every message the replay sent: the events plus one end-of-match marker per match.
    replayed = executed["summaries"]["01_replay_events"]["messages"]
    replayed_ids = executed["summaries"]["01_replay_events"]["match_ids"]
    live = executed["summaries"]["04_live_scoring"]
    # Exactly this run's replay, plus what earlier runs left in the topic (none on a fresh
    # broker, as in CI).
    earlier_events = executed["before"][config.TOPIC_EVENTS]
    assert live["consumed"] == replayed + len(earlier_events)
    # On a reused cluster a match may be in the topic more than once (earlier runs replayed
    # it too). A fresh group scores its first copy, which ends with the end-of-match marker;
    # every later copy is quarantined as "already ended". On a fresh broker: nothing.
    data = executed["data"]
    per_copy = {m: len(data.events(m)) + 1 for m in set(earlier_events) | set(replayed_ids)}
    in_topic = Counter(earlier_events) + Counter({m: per_copy[m] for m in replayed_ids})
    repeats = sum(n - per_copy[m] for m, n in in_topic.items() if n > per_copy[m])
    assert live["quarantined"] == repeats
    if repeats:
        assert set(live["reasons"]) == {"match … already ended (event index …)"}
    assert live["ended"] >= len(replayed_ids)  # one end-of-match marker per replayed match
    assert (
        live["scored"] + live["ignored"] + live["duplicates"] + live["ended"] + live["quarantined"]
        == live["consumed"]
    )
    # matches_scored counts the match ids in the results topic.
    earlier_ids = set(earlier_events) | set(executed["before"][config.TOPIC_RESULTS])
    assert live["matches_scored"] == len(earlier_ids | set(replayed_ids))
    if not earlier_ids:
        assert live["matches_scored"] == 2
        assert live["ended"] == len(replayed_ids)
    assert live["latency_ms"]["p50"] is not None


def test_model_monitoring_loop(executed):
    summary = executed["summaries"]["05_model_monitoring"]
    params = SMALL_PARAMETERS["05_model_monitoring"]
    first, second = summary["first_match_ids"], summary["second_match_ids"]
    assert (len(first), len(second)) == (params["FIRST_BATCH"], params["SECOND_BATCH"])
    # The retrain decided, and said why; its test ran on held-out matches of the first batch.
    assert summary["decision"] in {"promoted", "rejected"}
    assert summary["reason"].strip()
    assert 0 < summary["n_held_out"] <= len(first)
    if summary["n_held_out"] >= params["MIN_MATCHES"]:
        assert 0.0 <= summary["p_value"] <= 1.0
    expected = "model_promoted" if summary["decision"] == "promoted" else "model_rejected"
    assert expected in summary["model_events"]
    # Every scored event has exactly one prediction, counted by the version that made it.
    by_version = summary["predictions_by_version"]
    assert sum(by_version.values()) == summary["predictions"] == summary["scored"]
    assert summary["lost"] == 0
    assert summary["scored"] <= summary["events_sent"]
    scorer_before, scorer_after = summary["versions_before"][0], summary["versions_after"][0]
    assert scorer_before in by_version and scorer_after in by_version
    if summary["decision"] == "promoted":  # the second batch was scored by the new champion
        assert scorer_after != scorer_before
        assert "model_swapped" in summary["model_events"]
    else:  # no switch
        assert summary["versions_after"] == summary["versions_before"]
    # The live quality worker measured every replayed match.
    assert set(first) | set(second) <= set(summary["quality_match_ids"])
    assert summary["matches_with_quality"] == len(first) + len(second)


def test_markets_and_who_goes_through(executed):
    from inplay.models.advance import knockout_match_ids

    data = executed["data"]
    knockouts = knockout_match_ids(data.matches())
    world_cup = {m.match_id for m in data.matches(competition_ids=[43])}
    models = executed["summaries"]["03_model_fitting"]
    assert models["knockout_matches"] == len(knockouts & world_cup)
    assert set(models["advance_log_loss"]) == {models["selected"], "scoreboard"}
    # Better than a coin flip (log loss 0.693) on who goes through, out of fold.
    assert all(0 < v < 0.69 for v in models["advance_log_loss"].values())
    assert set(models["markets_log_loss_gain"]) == {
        "over_1_5", "over_2_5", "over_3_5", "btts", "next_goal", "exact_score"
    }  # fmt: skip
    live = executed["summaries"]["04_live_scoring"]
    # Who goes through: on every prediction of a knockout match (the final), on none else.
    for match_id, n in live["predictions_by_match"].items():
        expected = n if int(match_id) in knockouts else 0
        assert live["with_advance_by_match"][match_id] == expected, match_id
    assert live["wpa_events"] > 0

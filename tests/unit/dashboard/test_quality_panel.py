"""The dashboard's model-quality panel, from made-up monitoring messages (no Kafka, no browser)."""

from __future__ import annotations

import orjson

from inplay import config
from inplay.dashboard.feed import LiveFeed
from inplay.dashboard.quality import (
    ModelQuality,
    drift_alerts,
    last_event_text,
    matches_frame,
    rolling_items,
)

OLD, NEW = "goal_rate-old", "goal_rate-new"


def quality(match_id: int, at: float, version: str = OLD, log_loss: float = 0.7) -> dict:
    return {
        "kind": "match_quality",
        "match_id": match_id,
        "home_team": f"H{match_id}",
        "away_team": f"A{match_id}",
        "result": "D",
        "model_version": version,
        "n_rows": 91,
        "log_loss": log_loss,
        "brier": 0.4,
        "rps": 0.1,
        "rolling": {
            "n_matches": match_id,
            "log_loss": log_loss,
            "brier": 0.4,
            "rps": 0.1,
            "calibration": {"home": 0.02, "draw": -0.05, "away": 0.03},
        },
        "worker": "w",
        "at": at,
    }


def drift(at: float, version: str = OLD) -> dict:
    return {
        "kind": "drift",
        "model_version": version,
        "statistic": "log_loss",
        "value": 0.95,
        "low": 0.6,
        "high": 0.9,
        "window": 10,
        "n_matches": 10,
        "match_id": 10,
        "worker": "w",
        "at": at,
    }


def test_panel_keeps_the_latest_message_per_match_and_the_newest_first():
    store = ModelQuality(keep_matches=3)
    for n in (1, 2, 3):
        assert store.add(quality(n, at=float(n))) == "quality"
    assert store.add(quality(2, at=3.5, log_loss=0.9)) == "quality"  # labelled again
    assert store.add(quality(4, at=4.0)) == "quality"  # match 1 leaves (3 kept)
    assert store.add({"kind": "match_quality", "match_id": "x"}) == "bad"
    panel = store.panel()
    assert panel.quality_seen == 5
    table = matches_frame(panel)
    assert table["match_id"].tolist() == [4, 2, 3]  # newest first
    assert table.loc[table["match_id"] == 2, "log_loss"].item() == 0.9
    assert matches_frame(panel, newest_first=False)["match_id"].tolist() == [3, 2, 4]


def test_rolling_figures_of_the_newest_match():
    store = ModelQuality()
    assert rolling_items(store.panel()) == []
    store.add(quality(1, at=1.0, log_loss=0.5))
    store.add(quality(2, at=2.0, log_loss=0.61234))
    items = dict((label, value) for label, value, _ in rolling_items(store.panel()))
    assert items["Rolling log loss"] == "0.612"
    assert items["Calibration draw"] == "-0.050"
    assert len(items) == 6


def test_drift_alerts_of_the_current_model_and_the_last_model_event():
    store = ModelQuality()
    store.add(quality(1, at=1.0))
    assert store.add(drift(at=2.0)) == "drift"
    alerts = drift_alerts(store.panel())
    assert alerts == ["log_loss = 0.950 outside [0.600, 0.900] (window 10, after match 10)"]
    assert last_event_text(store.panel()) is None
    promoted = {
        "kind": "model_promoted",
        "champion_version": 1,
        "challenger_version": 2,
        "reason": "challenger better",
        "at": 3.0,
    }
    swapped = {"kind": "model_swapped", "worker": "w", "old_version": OLD, "new_version": NEW}
    assert store.add(promoted) == "model"
    assert store.add({**swapped, "at": 4.0}) == "model"
    assert store.add({**promoted, "at": 2.5}) == "model"  # older: not the last event
    text = last_event_text(store.panel(), now=10.0)
    assert text == f"model_swapped (6 s ago): worker w: {OLD} -> {NEW}"
    # After the switch, the old model's drift is history, not an alert.
    store.add(quality(2, at=5.0, version=NEW))
    assert drift_alerts(store.panel()) == []


def test_live_feed_routes_quality_messages_to_the_panel():
    feed = LiveFeed("localhost:1", since=1.5)
    monitoring = config.TOPIC_MONITORING
    assert feed.ingest(monitoring, orjson.dumps(quality(1, at=1.0))) == "old"
    assert feed.ingest(monitoring, orjson.dumps(quality(2, at=2.0))) == "quality"
    assert feed.ingest(monitoring, orjson.dumps(drift(at=2.5))) == "drift"
    assert feed.ingest(monitoring, orjson.dumps({"kind": "model_rejected", "at": 3.0})) == "model"
    assert feed.ingest(monitoring, orjson.dumps({"kind": "something_else"})) == "ignored"
    panel = feed.quality.panel()
    assert [q["match_id"] for q in panel.quality] == [2]
    assert panel.last_event["kind"] == "model_rejected"
    assert feed.ignored == 1

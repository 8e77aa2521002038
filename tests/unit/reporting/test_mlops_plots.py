"""The MLOps loop's tables and figures, on small made-up monitoring messages and predictions."""

from __future__ import annotations

import pandas as pd
import pytest

from inplay.reporting.mlops_plots import (
    EVENT_COLUMNS,
    QUALITY_COLUMNS,
    band_limits,
    by_bin_figure,
    drift_table,
    live_quality_figure,
    model_events_table,
    paired_differences_figure,
    predictions_by_batch,
    predictions_by_version_figure,
    quality_table,
    rolling_figure,
    version_colours,
)
from inplay.reporting.plots import CREDIT

OLD, NEW = "goal_rate-old", "goal_rate-new"
BAND = {
    "windows": {
        "2": {"log_loss": [0.5, 0.9], "calibration": {}},
        "3": {"log_loss": [0.55, 0.85], "calibration": {}},
    }
}


def quality(match_id: int, at: float, version: str, log_loss: float, n: int) -> dict:
    rolling = {
        "n_matches": n,
        "log_loss": log_loss,
        "brier": log_loss / 2,
        "rps": log_loss / 5,
        "calibration": {"home": 0.01, "draw": -0.02, "away": 0.01},
    }
    return {
        "kind": "match_quality",
        "match_id": float(match_id),  # a mixed monitoring frame makes ids floats
        "home_team": f"H{match_id}",
        "away_team": f"A{match_id}",
        "result": "H",
        "model_version": version,
        "n_rows": 91.0,
        "log_loss": log_loss,
        "brier": log_loss / 2,
        "rps": log_loss / 5,
        "rolling": rolling,
        "at": at,
    }


def monitoring() -> pd.DataFrame:
    rows = [
        {"kind": "stats", "at": 0.5, "worker": "w"},
        quality(1, 1.0, OLD, 0.6, 1),
        quality(2, 2.0, OLD, 0.7, 2),
        quality(3, 3.0, OLD, 1.4, 3),
        quality(2, 3.5, OLD, 0.8, 3),  # match 2 labelled again: the later copy wins
        {
            "kind": "drift",
            "at": 3.1,
            "match_id": 3.0,
            "model_version": OLD,
            "statistic": "log_loss",
            "value": 0.93,
            "low": 0.55,
            "high": 0.85,
            "window": 3,
            "n_matches": 3,
        },
        {
            "kind": "model_promoted",
            "at": 4.0,
            "champion_version": 1.0,
            "challenger_version": 2.0,
            "reason": "challenger better",
        },
        {"kind": "model_swapped", "at": 4.5, "worker": "w", "old_version": OLD, "new_version": NEW},
        quality(4, 5.0, NEW, 0.5, 1),
    ]
    return pd.DataFrame(rows)


def test_quality_table_keeps_the_latest_message_of_each_match_in_stream_order():
    table = quality_table(monitoring())
    assert list(table.columns) == list(QUALITY_COLUMNS)
    assert table["match_id"].tolist() == [1, 2, 3, 4]
    assert table["n"].tolist() == [1, 2, 3, 4]
    assert table.loc[table["match_id"] == 2, "log_loss"].item() == pytest.approx(0.8)
    assert table["model_version"].tolist() == [OLD, OLD, OLD, NEW]
    assert table["rolling_n"].tolist() == [1, 3, 3, 1]
    assert table["calibration_draw"].tolist() == pytest.approx([-0.02] * 4)
    later = quality_table(monitoring(), since=3.0)  # messages of an earlier run left out
    assert later["match_id"].tolist() == [3, 2, 4] and later["n"].tolist() == [1, 2, 3]
    assert model_events_table(monitoring(), since=4.2)["kind"].tolist() == ["model_swapped"]
    assert drift_table(monitoring(), since=4.0).empty


def test_tables_are_empty_with_their_columns_when_there_is_nothing():
    empty = pd.DataFrame()
    stats_only = pd.DataFrame([{"kind": "stats", "at": 1.0}])
    for frame in (empty, stats_only):
        assert quality_table(frame).empty
        assert list(quality_table(frame).columns) == list(QUALITY_COLUMNS)
        assert drift_table(frame).empty
        assert list(model_events_table(frame).columns) == list(EVENT_COLUMNS)


def test_drift_and_model_events_tables():
    drift = drift_table(monitoring())
    assert drift[["statistic", "match_id", "window"]].to_dict("records") == [
        {"statistic": "log_loss", "match_id": 3, "window": 3}
    ]
    events = model_events_table(monitoring())
    assert events["kind"].tolist() == ["model_promoted", "model_swapped"]
    assert "v2 vs champion v1" in events["detail"].iloc[0]
    assert f"{OLD} -> {NEW}" in events["detail"].iloc[1]


def test_band_limits_use_the_largest_window_not_above_the_rolling_count():
    assert band_limits(BAND, 1) is None
    assert band_limits(BAND, 2) == (0.5, 0.9)
    assert band_limits(BAND, 10) == (0.55, 0.85)
    assert band_limits(None, 10) is None


def test_live_quality_figure_has_a_band_points_and_rolling_mean_per_version():
    fig = live_quality_figure(quality_table(monitoring()), {OLD: BAND})
    names = [t.name for t in fig.data]
    assert names == [
        f"drift band {OLD}",
        f"match log loss {OLD}",
        f"rolling mean {OLD}",
        f"match log loss {NEW}",  # no band for the new version, and one match: none applies
        f"rolling mean {NEW}",
    ]
    assert list(fig.data[1].y) == pytest.approx([0.6, 0.8, 1.4])
    # The band applies once the window holds 2 matches: matches 2 and 3, there and back.
    assert list(fig.data[0].x) == [2, 3, 3, 2]
    assert list(fig.data[0].y) == pytest.approx([0.85, 0.85, 0.55, 0.55])
    colours = version_colours([OLD, NEW])
    assert fig.data[1].marker.color == colours[OLD] != fig.data[3].marker.color
    assert any(a.text == CREDIT for a in fig.layout.annotations)


def test_rolling_figure_has_a_segment_per_version_and_marks_drift():
    table = quality_table(monitoring())
    fig = rolling_figure(table, drift_table(monitoring()))
    assert len(fig.data) == 12  # six lines for each of the two versions
    assert [t.name for t in fig.data if t.showlegend] == [t.name for t in fig.data[:6]]
    assert list(fig.data[0].x) == [1, 2, 3] and list(fig.data[6].x) == [4]
    texts = [a.text for a in fig.layout.annotations]
    assert "drift: log_loss" in texts and CREDIT in texts
    switch = [s for s in fig.layout.shapes if s.type == "line" and s.x0 == 3.5]
    assert switch, "the first match of the new version is marked"


def test_retrain_figures():
    by_bin = pd.DataFrame(
        {"bin": ["[0,15)", "[15,30)"], "champion": [0.9, 0.8], "challenger": [0.85, 0.82]}
    )
    fig = by_bin_figure(by_bin)
    assert [t.name for t in fig.data] == ["champion", "challenger"]
    per_match = pd.DataFrame(
        {"match_id": [1, 2, 3, 4], "champion": [0.6, 0.7, 0.5, 0.9], "challenger": [0.5] * 4}
    )
    fig = paired_differences_figure(per_match)
    assert list(fig.data[0].y) == pytest.approx([-0.4, -0.2, -0.1, 0.0])  # sorted
    assert list(fig.data[0].x) == ["4", "2", "1", "3"]
    mean = fig.data[1]
    assert mean.name == "mean" and mean.y[0] == pytest.approx(-0.175)
    low, high = mean.y[0] - mean.error_y.arrayminus[0], mean.y[0] + mean.error_y.array[0]
    assert low < -0.175 < high
    assert mean.error_y.array[0] == pytest.approx(mean.error_y.arrayminus[0])  # a t interval
    # With one match there is no interval, only the bar.
    assert len(paired_differences_figure(per_match.head(1)).data) == 1


def test_predictions_by_version_and_by_batch():
    results = pd.DataFrame(
        {
            "match_id": [1, 1, 1, 2, 2, 2],
            "event_index": [1, 2, 2, 1, 2, 3],  # (1, 2) delivered twice
            "model_version": [OLD, OLD, OLD, NEW, NEW, NEW],
            "scored_at": [10.0, 11.0, 11.0, 20.0, 21.0, 22.0],
        }
    )
    table = predictions_by_batch(results, {"first": [1], "second": [2]})
    assert table.loc["first"].to_dict() == {OLD: 2, NEW: 0}
    assert table.loc["second"].to_dict() == {OLD: 0, NEW: 3}
    events = model_events_table(
        pd.DataFrame(
            [
                {"kind": "model_promoted", "at": 15.0, "reason": "better"},
                {"kind": "model_rejected", "at": 99.0, "reason": "another run"},
            ]
        )
    )
    fig = predictions_by_version_figure(results, events)
    assert [t.name.split(":")[0] for t in fig.data] == [OLD, NEW]
    assert fig.data[0].y[-1] == 2 and fig.data[1].y[-1] == 3  # cumulative, repeats dropped
    marked = [a.text for a in fig.layout.annotations if a.text != CREDIT]
    assert marked == ["model_promoted"]  # the other event is outside the replay


def test_figures_say_when_there_is_nothing_to_draw():
    for fig in (
        live_quality_figure(quality_table(pd.DataFrame())),
        rolling_figure(quality_table(pd.DataFrame())),
        by_bin_figure(pd.DataFrame()),
        paired_differences_figure(pd.DataFrame()),
        predictions_by_version_figure(pd.DataFrame()),
    ):
        assert not fig.data
        assert CREDIT in [a.text for a in fig.layout.annotations]

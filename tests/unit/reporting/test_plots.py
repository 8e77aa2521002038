"""The figure helpers: continuous match minutes, goal and red-card marks, the StatsBomb credit."""

from __future__ import annotations

import pandas as pd
import pytest

from inplay.reporting.plots import (
    CREDIT,
    latency_figure,
    match_events_marks,
    match_minutes,
    monitoring_figure,
    win_probability_figure,
)


def results() -> pd.DataFrame:
    rows = [
        # period, seconds into the period, home goals, away goals, away reds
        (1, 0, 0, 0, 0),
        (1, 600, 1, 0, 0),  # 10': home goal
        (1, 2820, 1, 0, 0),  # 47' (first-half stoppage)
        (2, 0, 1, 0, 0),
        (2, 1200, 1, 0, 1),  # 65': away red card
        (2, 2400, 1, 1, 1),  # 85': away goal
    ]
    offset = {1: 0, 2: 2700}
    return pd.DataFrame(
        [
            {
                "match_id": 7,
                "event_index": n + 1,
                "period": p,
                "elapsed_seconds": offset[p] + s,
                "home_goals": h,
                "away_goals": a,
                "home_red_cards": 0,
                "away_red_cards": r,
                "home_team": "Home",
                "away_team": "Away",
                "p_home": 0.5,
                "p_draw": 0.3,
                "p_away": 0.2,
                "latency_ms": 10.0 * (n + 1),
                "processing_ms": 2.0,
            }
            for n, (p, s, h, a, r) in enumerate(rows)
        ]
    )


def test_minutes_put_periods_back_to_back():
    minutes = match_minutes(results()).tolist()
    # The second half starts where the first ended (47'), not at 45'.
    assert minutes == pytest.approx([0, 10, 47, 47, 67, 87])


def test_marks_are_score_and_card_jumps():
    marks = match_events_marks(results())
    assert marks[["x", "kind", "team"]].values.tolist() == [
        [10.0, "goal", "home"],
        [87.0, "goal", "away"],
        [67.0, "red card", "away"],
    ]
    assert list(marks["label"]) == ["GOAL Home 1-0", "GOAL Away 1-1", "RED CARD Away"]


def test_figures_credit_statsbomb():
    frame = results()
    monitoring = pd.DataFrame(
        [
            {
                "kind": "stats",
                "worker": "w1",
                "at": 1.0e9 + i,
                "lag": {"0": i},
                "interval_events_per_second": 100.0 * i,
            }
            for i in range(3)
        ]
    )
    for fig in (
        win_probability_figure(frame, 7),
        latency_figure(frame),
        monitoring_figure(monitoring),
        monitoring_figure(pd.DataFrame()),
    ):
        assert any(a.text == CREDIT for a in fig.layout.annotations)
    texts = [a.text for a in win_probability_figure(frame, 7).layout.annotations]
    assert "GOAL Home 1-0" in texts and "RED CARD Away" in texts
    with pytest.raises(ValueError, match="no predictions"):
        win_probability_figure(frame, 8)

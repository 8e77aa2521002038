"""Figures of the goal markets and of P(advance): one trace per model, the credit on each."""

from __future__ import annotations

import pandas as pd
import pytest

from inplay.reporting.market_plots import (
    advance_by_minute_figure,
    advance_calibration_figure,
    market_reliability_figure,
)
from inplay.reporting.plots import CREDIT


def _credited(fig) -> bool:
    return any(a.text == CREDIT for a in fig.layout.annotations)


def test_market_reliability_has_a_panel_per_binary_market_and_a_line_per_model():
    rows = [
        {
            "model": m,
            "market": k,
            "outcome": o,
            "bin": b,
            "mean_p": b / 10 + 0.05,
            "observed": b / 10,
            "n_rows": 10 * b,
        }
        for m in ("goal_rate", "score_clock")
        for k, o in (("over_2_5", "yes"), ("btts", "yes"), ("next_goal", "home"))
        for b in range(3)
    ]
    fig = market_reliability_figure(pd.DataFrame(rows))
    titles = [a.text for a in fig.layout.annotations if a.text != CREDIT]
    assert titles == ["over_2_5", "btts"]  # next goal is three-way: not here
    lines = [t for t in fig.data if t.name in ("goal_rate", "score_clock")]
    assert len(lines) == 4  # 2 markets x 2 models
    # The empty bin (n_rows 0) is not drawn.
    assert all(len(t.x) == 2 for t in lines)
    assert _credited(fig)
    with pytest.raises(ValueError, match="no binary market"):
        market_reliability_figure(pd.DataFrame(rows).query("market == 'next_goal'"))


def test_advance_figures_draw_each_model():
    calibration = pd.DataFrame(
        [
            {"model": m, "bin": b, "mean_p": b / 10, "observed": b / 10, "n_rows": 5}
            for m in ("goal_rate", "scoreboard")
            for b in range(10)
        ]
    )
    fig = advance_calibration_figure(calibration)
    assert [t.name for t in fig.data if t.name] == ["goal_rate", "scoreboard"]
    by_minute = pd.DataFrame(
        [
            {"model": m, "minute": t, "log_loss": 0.6 - t / 300, "rows": 3, "brier": 0.2}
            for m in ("goal_rate", "scoreboard")
            for t in range(121)
        ]
    )
    fig2 = advance_by_minute_figure(by_minute)
    assert len(fig2.data) == 2 and len(fig2.data[0].x) == 121
    assert _credited(fig) and _credited(fig2)

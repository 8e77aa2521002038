"""The win-probability figure of a knockout match: who goes through, extra time, the shoot-out."""

from __future__ import annotations

import pandas as pd

from inplay.features import rules
from inplay.reporting.plots import match_minutes, win_probability_figure


def _rows(knockout: bool) -> pd.DataFrame:
    # (period, seconds into the period, home goals, away goals, p_home, p_draw, p_away, advance)
    spec = [
        (1, 0, 0, 0, 0.4, 0.3, 0.3, 0.55),
        (2, 1800, 1, 1, 0.3, 0.5, 0.2, 0.55),
        (2, 2900, 1, 1, 0.0, 1.0, 0.0, 0.50),
        (3, 600, 2, 1, 0.0, 1.0, 0.0, 0.90),
        (4, 800, 2, 2, 0.0, 1.0, 0.0, 0.50),
        (5, 30, 2, 2, 0.0, 1.0, 0.0, 0.62),
        (5, 90, 2, 2, 0.0, 1.0, 0.0, 0.41),
    ]
    return pd.DataFrame(
        [
            {
                "match_id": 1,
                "event_index": i,
                "period": period,
                "elapsed_seconds": rules.elapsed_seconds(period, seconds),
                "home_goals": hg,
                "away_goals": ag,
                "home_team": "Lions",
                "away_team": "Tigers",
                "p_home": ph,
                "p_draw": pd_,
                "p_away": pa,
                "p_advance_home": adv if knockout else None,
            }
            for i, (period, seconds, hg, ag, ph, pd_, pa, adv) in enumerate(spec)
        ]
    )


def test_a_knockout_match_shows_who_goes_through_and_its_extra_time_and_shootout():
    frame = _rows(knockout=True)
    fig = win_probability_figure(frame, 1)
    names = [t.name for t in fig.data]
    assert "Lions goes through" in names and "shoot-out kick" in names
    line = next(t for t in fig.data if t.name == "Lions goes through")
    assert list(line.y) == frame["p_advance_home"].tolist()  # every row, shoot-out included
    stacked = next(t for t in fig.data if t.name == "Lions win (90 min)")
    assert len(stacked.x) == 3  # the 1X2 stops with regulation
    shaded = [
        s.annotation_text if hasattr(s, "annotation_text") else None for s in fig.layout.shapes
    ]
    assert len(fig.layout.shapes) >= 2, shaded
    texts = [a.text for a in fig.layout.annotations]
    assert "extra time" in texts and "shoot-out" in texts
    kicks = next(t for t in fig.data if t.name == "shoot-out kick")
    x = match_minutes(frame.sort_values(["period", "elapsed_seconds"]).reset_index(drop=True))
    assert list(kicks.x) == x.iloc[-2:].tolist()
    # Periods back to back: the shoot-out comes after the end of extra time.
    assert x.iloc[-2] > x.iloc[-3]


def test_a_league_match_has_no_advance_line():
    fig = win_probability_figure(_rows(knockout=False), 1)
    assert [t.name for t in fig.data] == ["Lions win", "draw", "Tigers win"]

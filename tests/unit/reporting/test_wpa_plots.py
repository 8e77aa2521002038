"""The WPA figures: biggest moments first, team colours, the StatsBomb credit."""

from __future__ import annotations

import pandas as pd
import pytest

from inplay.evaluation.wpa import WPA_COLUMNS, player_wpa
from inplay.reporting.plots import AWAY_COLOUR, CREDIT, HOME_COLOUR
from inplay.reporting.wpa_plots import (
    expected_points_figure,
    moment_label,
    top_moments_figure,
    top_players_figure,
)


def frame() -> pd.DataFrame:
    """Four events of match 7: a home goal (+0.6), an away red card (-0.3), a pass (0), an
    away goal (+0.7)."""
    rows = [
        # period, elapsed s, minute, team, player, type, wpa, xp_home, xp_away
        (1, 600, 10, "Home", "Scorer", "Shot", 0.6, 2.1, 0.6),
        (1, 1800, 30, "Away", "Villain", "Foul Committed", -0.3, 2.4, 0.3),
        (2, 3000, 50, "Home", "Passer", "Pass", 0.0, 2.5, 0.25),
        (2, 4800, 80, "Away", "Late", "Shot", 0.7, 1.5, 1.0),
    ]
    out = pd.DataFrame(
        [
            {
                "match_id": 7,
                "event_index": n + 1,
                "period": p,
                "minute": m,
                "second": 0,
                "elapsed_seconds": float(s),
                "team": t,
                "player": pl,
                "type": ty,
                "wpa": w,
                "wpa_home": w if t == "Home" else -w,
                "wpa_away": w if t == "Away" else -w,
                "context_home": 0.0,
                "context_away": 0.0,
                "xp_home": xh,
                "xp_away": xa,
                "p_home": 0.0,
                "p_draw": 0.0,
                "p_away": 0.0,
                "home_team": "Home",
                "away_team": "Away",
            }
            for n, (p, s, m, t, pl, ty, w, xh, xa) in enumerate(rows)
        ]
    )
    assert set(WPA_COLUMNS) <= set(out.columns)
    return out


def credited(fig) -> bool:
    return any(a.text == CREDIT for a in fig.layout.annotations)


def test_label_names_minute_player_and_type():
    assert moment_label(frame().iloc[0]) == "10' Scorer (Shot)"
    no_player = frame().iloc[0].copy()
    no_player["player"] = None
    assert moment_label(no_player) == "10' Home (Shot)"


def test_top_moments_bars_biggest_on_top_in_team_colours():
    fig = top_moments_figure(frame(), 7, n=3)
    bar = fig.data[0]
    # Plotly draws the first bar at the bottom: the biggest (0.7, away) is last.
    assert list(bar.y) == [
        "3. 30' Villain (Foul Committed)",
        "2. 10' Scorer (Shot)",
        "1. 80' Late (Shot)",
    ]
    assert list(bar.x) == pytest.approx([-0.3, 0.6, 0.7])
    assert list(bar.marker.color) == [AWAY_COLOUR, HOME_COLOUR, AWAY_COLOUR]
    assert credited(fig)
    with pytest.raises(ValueError):
        top_moments_figure(frame(), 8)


def test_expected_points_lines_annotate_the_moments():
    fig = expected_points_figure(frame(), 7, n=2)
    assert [t.name for t in fig.data] == ["Home", "Away"]
    texts = [a.text for a in fig.layout.annotations]
    assert "80' Late (Shot) +0.70" in texts and "10' Scorer (Shot) +0.60" in texts
    assert credited(fig)


def test_top_players_bars():
    fig = top_players_figure(player_wpa(frame()), n=2)
    # Best two: Late +0.7, Scorer +0.6 (the best drawn last, at the top).
    assert list(fig.data[0].y) == ["Scorer (Home)", "Late (Away)"]
    assert credited(fig)

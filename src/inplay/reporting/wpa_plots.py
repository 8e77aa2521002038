"""Figures of win probability added (:mod:`inplay.evaluation.wpa`): moments and players.

Every figure credits StatsBomb Open Data as the source.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from inplay.evaluation.wpa import top_moments
from inplay.reporting.plots import AWAY_COLOUR, HOME_COLOUR, add_credit, match_minutes

__all__ = ["moment_label", "top_moments_figure", "expected_points_figure", "top_players_figure"]

_XP_TITLE = "expected points added (3 x P(win) + P(draw))"


def moment_label(row: pd.Series) -> str:
    """``67' Lionel Messi (Shot)``: the minute, who and what of a WPA row."""
    who = row["player"] if isinstance(row["player"], str) else row["team"]
    return f"{int(row['minute'])}' {who} ({row['type']})"


def _teams(frame: pd.DataFrame) -> tuple[str, str]:
    first = frame.iloc[0]
    return str(first.get("home_team", "home")), str(first.get("away_team", "away"))


def _match_rows(frame: pd.DataFrame, match_id: int) -> pd.DataFrame:
    rows = frame[frame["match_id"] == match_id]
    if rows.empty:
        raise ValueError(f"no WPA rows for match {match_id}")
    return rows


def top_moments_figure(frame: pd.DataFrame, match_id: int, n: int = 8) -> go.Figure:
    """Horizontal bars of a match's ``n`` biggest events, in expected points for the credited team.

    Args:
        frame: Rows of :func:`~inplay.evaluation.wpa.event_wpa`.
        match_id: The match.
        n: How many events.
    """
    home, away = _teams(_match_rows(frame, match_id))
    top = top_moments(frame, match_id, n)
    labels = [f"{rank}. {moment_label(row)}" for rank, (_, row) in enumerate(top.iterrows(), 1)]
    top, labels = top.iloc[::-1], labels[::-1]  # plotly draws the first bar at the bottom
    colours = [HOME_COLOUR if team == home else AWAY_COLOUR for team in top["team"]]
    fig = go.Figure(
        go.Bar(
            x=top["wpa"],
            y=labels,
            orientation="h",
            marker_color=colours,
            text=[f"{w:+.2f}" for w in top["wpa"]],
            textposition="outside",
            hovertemplate="%{y}<br>%{x:+.3f} expected points<extra></extra>",
        )
    )
    fig.update_layout(
        title=f"Moments that moved {home} v {away} (blue {home}, red {away})",
        xaxis_title=_XP_TITLE,
        template="plotly_white",
        height=120 + 40 * len(top),
        margin={"l": 320, "b": 90},
    )
    return add_credit(fig, y=-0.3)


def expected_points_figure(frame: pd.DataFrame, match_id: int, n: int = 5) -> go.Figure:
    """Both teams' expected points after every event, the ``n`` biggest moments annotated."""
    rows = _match_rows(frame, match_id).reset_index(drop=True)
    home, away = _teams(rows)
    x = match_minutes(rows)
    fig = go.Figure()
    for col, name, colour in (("xp_home", home, HOME_COLOUR), ("xp_away", away, AWAY_COLOUR)):
        fig.add_trace(go.Scatter(x=x, y=rows[col], name=name, mode="lines", line={"color": colour}))
    lookup = dict(zip(rows["event_index"], range(len(rows)), strict=True))
    for _, moment in top_moments(rows, match_id, n).iterrows():
        i = lookup[moment["event_index"]]
        side = "xp_home" if moment["team"] == home else "xp_away"
        fig.add_annotation(
            x=float(x[i]),
            y=float(rows.loc[i, side]),
            text=f"{moment_label(moment)} {moment['wpa']:+.2f}",
            font={"size": 10},
            arrowhead=2,
        )
    fig.update_layout(
        title=f"{home} v {away}: expected points after every event",
        xaxis_title="match minute",
        yaxis_title="expected points",
        yaxis_range=[0, 3],
        template="plotly_white",
    )
    return add_credit(fig)


def top_players_figure(players: pd.DataFrame, n: int = 15, title: str | None = None) -> go.Figure:
    """Horizontal bars of the ``n`` players with the most WPA.

    Args:
        players: Rows of :func:`~inplay.evaluation.wpa.player_wpa`.
        n: How many players.
        title: The figure's title (a default names the measure).
    """
    top = players.sort_values("wpa", ascending=False).head(n).iloc[::-1]
    fig = go.Figure(
        go.Bar(
            x=top["wpa"],
            y=[f"{p} ({t})" for p, t in zip(top["player"], top["team"], strict=True)],
            orientation="h",
            marker_color=HOME_COLOUR,
            text=[f"{w:+.2f}" for w in top["wpa"]],
            textposition="outside",
        )
    )
    fig.update_layout(
        title=title or "Players by win probability added",
        xaxis_title=_XP_TITLE,
        template="plotly_white",
        height=120 + 30 * len(top),
        margin={"l": 320, "b": 90},
    )
    return add_credit(fig, y=-0.3 if len(top) < 8 else -0.12)

"""What the dashboard draws, as plain functions (HTML strings and plotly figures).

Kept apart from the Streamlit script so that it can be tested without a browser.
"""

from __future__ import annotations

import html
import math
import time

import pandas as pd
import plotly.graph_objects as go

from inplay.reporting.plots import (
    AWAY_COLOUR,
    DRAW_COLOUR,
    HOME_COLOUR,
    add_credit,
    match_events_marks,
    match_minutes,
)

__all__ = [
    "PERIOD_NAMES",
    "TABLE_CSS",
    "percent",
    "match_label",
    "matches_table_html",
    "swings_table_html",
    "xg_figure",
    "ago",
]

PERIOD_NAMES = {1: "1st half", 2: "2nd half", 3: "extra time 1", 4: "extra time 2", 5: "shoot-out"}

TABLE_CSS = f"""
<style>
table.inplay-live {{ border-collapse: collapse; width: 100%; font-size: 0.95rem; }}
table.inplay-live th {{ text-align: left; color: #555; font-weight: 600;
  border-bottom: 2px solid #ddd; padding: 6px 8px; white-space: nowrap; }}
table.inplay-live td {{ border-bottom: 1px solid #eee; padding: 6px 8px; vertical-align: middle; }}
table.inplay-live tr.selected td {{ background: #f3f7fc; }}
table.inplay-live td.num {{ text-align: right; font-variant-numeric: tabular-nums;
  white-space: nowrap; }}
table.inplay-live td.score {{ font-weight: 700; font-size: 1.05rem; text-align: center;
  white-space: nowrap; }}
table.inplay-live td.muted {{ color: #888; white-space: nowrap; }}
.inplay-bar {{ display: flex; height: 14px; width: 100%; min-width: 160px; border-radius: 3px;
  overflow: hidden; }}
.inplay-bar span {{ display: block; height: 100%; }}
.inplay-bar .h {{ background: {HOME_COLOUR}; }}
.inplay-bar .d {{ background: {DRAW_COLOUR}; }}
.inplay-bar .a {{ background: {AWAY_COLOUR}; }}
td.p-home {{ color: {HOME_COLOUR}; font-weight: 600; }}
td.p-away {{ color: {AWAY_COLOUR}; font-weight: 600; }}
</style>
"""


def percent(value: object, digits: int = 1) -> str:
    """``0.4567`` -> ``"45.7%"``; missing -> ``"–"``."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "–"
    if math.isnan(number):
        return "–"
    return f"{number * 100:.{digits}f}%"


def ago(seconds: float | None) -> str:
    """``3.2`` -> ``"3 s ago"``, ``125`` -> ``"2 min ago"``; None -> ``"–"``."""
    if seconds is None or math.isnan(seconds):
        return "–"
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def _int(value: object, default: int = 0) -> int:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default
    return default if math.isnan(number) else int(number)


def match_label(row: pd.Series | dict, with_score: bool = True) -> str:
    """``"Argentina 3-3 France"`` (or ``"Argentina v France"``)."""
    home, away = row.get("home_team") or "home", row.get("away_team") or "away"
    if not with_score:
        return f"{home} v {away}"
    return f"{home} {_int(row.get('home_goals'))}-{_int(row.get('away_goals'))} {away}"


def matches_table_html(
    matches: pd.DataFrame, selected: int | None = None, now: float | None = None
) -> str:
    """The live-matches table: score, minute and current home/draw/away probabilities.

    Every row carries ``data-match-id`` and its probability cells the classes ``p-home``,
    ``p-draw`` and ``p-away`` (the browser test reads them).

    Args:
        matches: :meth:`inplay.dashboard.feed.LiveFeed.matches`.
        selected: The match shown below the table (highlighted).
        now: Epoch seconds for the "updated" column (default: now).
    """
    now = time.time() if now is None else now
    head = (
        "<tr><th>match</th><th style='text-align:center'>score</th><th>minute</th>"
        "<th>home / draw / away</th><th>home</th><th>draw</th><th>away</th>"
        "<th title='knockout matches: the probability that the home side goes through'>"
        "home through</th><th>events</th><th>updated</th></tr>"
    )
    body = "".join(_match_row(row, selected, now) for row in matches.to_dict("records"))
    return f"{TABLE_CSS}<table class='inplay-live'>{head}{body}</table>"


def _red_cards_html(row: dict) -> str:
    """The red-card count of a row of the live-matches table ("" when there are none)."""
    reds = (_int(row.get("home_red_cards")), _int(row.get("away_red_cards")))
    if not any(reds):
        return ""
    return (
        "<br><span title='red cards' style='font-size:0.75rem;color:#c00'>"
        "<span style='display:inline-block;width:8px;height:11px;background:#d00;"
        f"vertical-align:-1px'></span> {reds[0]}-{reds[1]}</span>"
    )


def _probability_bar_html(row: dict) -> str:
    """The stacked home/draw/away bar of a row of the live-matches table."""
    widths = [
        max(0.0, min(100.0, 100.0 * float(row.get(k) or 0.0)))
        for k in ("p_home", "p_draw", "p_away")
    ]
    return (
        "<div class='inplay-bar'>"
        f"<span class='h' style='width:{widths[0]:.2f}%'></span>"
        f"<span class='d' style='width:{widths[1]:.2f}%'></span>"
        f"<span class='a' style='width:{widths[2]:.2f}%'></span></div>"
    )


def _advance(row: dict) -> str:
    """The home side's chance of going through ("–" outside knockout matches)."""
    value = row.get("p_advance_home")
    if value is None or value != value:  # None or NaN
        return "–"
    return percent(value)


def _match_row(row: dict, selected: int | None, now: float) -> str:
    """One ``<tr>`` of the live-matches table."""
    match_id = _int(row["match_id"])
    home = html.escape(str(row.get("home_team") or "home"))
    away = html.escape(str(row.get("away_team") or "away"))
    period = _int(row.get("period"), 1)
    minute = _int(row.get("minute"))
    cls = " class='selected'" if selected is not None and match_id == selected else ""
    updated = row.get("updated_at")
    return (
        f"<tr data-match-id='{match_id}'{cls}>"
        f"<td class='teams'><b>{home}</b> v <b>{away}</b>"
        f"<br><span style='color:#999;font-size:0.8rem'>match {match_id}</span></td>"
        f"<td class='score'>{_int(row.get('home_goals'))} - {_int(row.get('away_goals'))}"
        f"{_red_cards_html(row)}</td>"
        f"<td class='muted minute'>{minute}' <span style='font-size:0.8rem'>"
        f"{PERIOD_NAMES.get(period, f'period {period}')}</span></td>"
        f"<td>{_probability_bar_html(row)}</td>"
        f"<td class='num p-home'>{percent(row.get('p_home'))}</td>"
        f"<td class='num p-draw'>{percent(row.get('p_draw'))}</td>"
        f"<td class='num p-away'>{percent(row.get('p_away'))}</td>"
        f"<td class='num p-advance'>{_advance(row)}</td>"
        f"<td class='num'>{_int(row.get('n_predictions')):,}</td>"
        f"<td class='muted'>{ago(now - updated) if updated else '–'}</td></tr>"
    )


def xg_figure(results: pd.DataFrame, height: int = 480) -> go.Figure:
    """Cumulative xG of both teams of one match, goals marked.

    Args:
        results: One match's predictions (they carry ``home_xg`` and ``away_xg``).
        height: Figure height in pixels.
    """
    if results.empty:
        raise ValueError("no predictions to draw")
    frame = results.sort_values(["period", "elapsed_seconds", "event_index"]).reset_index(drop=True)
    x = match_minutes(frame)
    home = frame["home_team"].iloc[0] or "home"
    away = frame["away_team"].iloc[0] or "away"
    fig = go.Figure()
    for col, name, colour in (
        ("home_xg", home, HOME_COLOUR),
        ("away_xg", away, AWAY_COLOUR),
    ):
        y = pd.to_numeric(frame[col], errors="coerce").fillna(0.0)
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                name=f"{name} {y.iloc[-1]:.2f} xG",
                mode="lines",
                line={"shape": "hv", "width": 2.5, "color": colour},
                hovertemplate="%{y:.2f} xG",
            )
        )
    for mark in match_events_marks(frame).itertuples():
        colour = HOME_COLOUR if mark.team == "home" else AWAY_COLOUR
        dash = "dot" if mark.kind == "goal" else "dash"
        fig.add_vline(x=mark.x, line={"color": colour, "width": 1, "dash": dash})
    fig.update_layout(
        title={"text": "Cumulative expected goals (xG)", "y": 0.98},
        xaxis_title="match minute",
        yaxis={"title": "xG", "rangemode": "tozero"},
        hovermode="x unified",
        height=height,
        margin={"t": 140, "b": 80},
        legend={"orientation": "h", "y": -0.2},
    )
    return add_credit(fig)


def swings_table_html(swings: pd.DataFrame) -> str:
    """The biggest swings of a match (:func:`inplay.evaluation.wpa.prediction_swings`).

    Rows carry the class ``swing`` (the browser test reads them).
    """
    head = "<tr><th>minute</th><th>event</th><th>score after</th><th>gained</th></tr>"
    body = "".join(
        f"<tr class='swing'><td class='minute'>{int(r['minute'])}'</td>"
        f"<td>{html.escape(str(r['event_type'] or 'event'))}</td>"
        f"<td class='score'>{int(r['home_goals'])} - {int(r['away_goals'])}</td>"
        f"<td class='num'><b>{html.escape(str(r['team']))}</b> +{float(r['gain']):.2f}</td></tr>"
        for r in swings.to_dict("records")
    )
    return f"{TABLE_CSS}<table class='inplay-live'>{head}{body}</table>"

"""Plotly figures the notebooks and reports show.

Every figure credits StatsBomb Open Data as the source.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from inplay.features import rules

__all__ = [
    "CREDIT",
    "add_credit",
    "setup_notebook",
    "match_minutes",
    "match_events_marks",
    "win_probability_figure",
    "state_timeline_figure",
    "metric_by_bin_figure",
    "latency_figure",
    "monitoring_figure",
]

CREDIT = "Data: StatsBomb Open Data"
HOME_COLOUR, DRAW_COLOUR, AWAY_COLOUR = "#1f77b4", "#b0b0b0", "#d62728"


def setup_notebook() -> None:
    """Make figures render inside notebooks and in their HTML exports (no internet needed)."""
    pio.renderers.default = "plotly_mimetype+notebook"


def add_credit(fig: go.Figure, y: float = -0.16) -> go.Figure:
    """Credit StatsBomb under a figure's bottom-right corner (every published figure needs it)."""
    fig.add_annotation(
        text=CREDIT,
        xref="paper",
        yref="paper",
        x=1.0,
        y=y,
        showarrow=False,
        font={"size": 10, "color": "#666"},
        xanchor="right",
    )
    return fig


def match_minutes(frame: pd.DataFrame) -> pd.Series:
    """A continuous match minute for rows with ``period`` and ``elapsed_seconds``.

    Each period starts where the previous one ended, so first-half stoppage time does not
    overlap the start of the second half.
    """
    period = frame["period"].astype(int)
    in_period = (frame["elapsed_seconds"] - period.map(rules.period_offset)) / 60.0
    ends = in_period.groupby(period).max()
    offsets, total = {}, 0.0
    for p in sorted(ends.index):
        offsets[p] = total
        total += float(ends[p])
    return in_period + period.map(offsets)


def match_events_marks(frame: pd.DataFrame) -> pd.DataFrame:
    """Goals and red cards, found where the score or the red-card counts go up.

    Returns:
        rows with x (continuous minute), kind ('goal' or 'red card'), team ('home'/'away'),
        label.
    """
    frame = frame.reset_index(drop=True)
    x = match_minutes(frame)
    marks = []
    for col, kind, side in (
        ("home_goals", "goal", "home"),
        ("away_goals", "goal", "away"),
        ("home_red_cards", "red card", "home"),
        ("away_red_cards", "red card", "away"),
    ):
        if col not in frame:
            continue
        jumps = frame.index[frame[col].diff().fillna(frame[col]).gt(0)]
        for i in jumps:
            row = frame.loc[i]
            team = row.get(f"{side}_team", side)
            score = f"{int(row['home_goals'])}-{int(row['away_goals'])}"
            label = f"GOAL {team} {score}" if kind == "goal" else f"RED CARD {team}"
            marks.append({"x": float(x[i]), "kind": kind, "team": side, "label": label})
    return pd.DataFrame(marks, columns=["x", "kind", "team", "label"])


def win_probability_figure(results: pd.DataFrame, match_id: int) -> go.Figure:
    """Stacked home/draw/away probabilities of one match, with goals and red cards marked.

    Args:
        results: predictions as published on ``ml-pipeline-prediction-results``.
        match_id: the match to draw.
    """
    frame = results[results["match_id"] == match_id]
    if frame.empty:
        raise ValueError(f"no predictions for match {match_id}")
    frame = frame.sort_values(["period", "elapsed_seconds", "event_index"]).reset_index(drop=True)
    x = match_minutes(frame)
    home = frame["home_team"].iloc[0] if "home_team" in frame else "home"
    away = frame["away_team"].iloc[0] if "away_team" in frame else "away"
    fig = go.Figure()
    knockout = "p_advance_home" in frame and frame["p_advance_home"].notna().any()
    _add_result_areas(fig, frame, x, (home, away), knockout)
    if knockout:
        _add_advance(fig, frame, x, home)
    for mark in match_events_marks(frame).itertuples():
        colour = "black" if mark.kind == "goal" else "#ff0000"
        fig.add_vline(x=mark.x, line={"color": colour, "width": 1.5, "dash": "dot"})
        fig.add_annotation(
            x=mark.x,
            y=1.02,
            yref="paper",
            text=mark.label,
            showarrow=False,
            textangle=-60,
            font={"size": 10, "color": colour},
            yanchor="bottom",
            xanchor="left",
        )
    final = frame.iloc[-1]
    fig.update_layout(
        title={
            "text": f"{home} {int(final['home_goals'])}-{int(final['away_goals'])} {away}: "
            "in-play win probability",
            "y": 0.98,
        },
        xaxis_title="match minute (periods back to back)",
        yaxis={"title": "probability", "tickformat": ".0%", "range": [0, 1]},
        margin={"t": 140, "b": 80},
        hovermode="x unified",
        height=480,
        legend={"orientation": "h", "y": -0.2},
    )
    return add_credit(fig)


def _add_result_areas(
    fig: go.Figure, frame: pd.DataFrame, x: pd.Series, teams: tuple[str, str], knockout: bool
) -> None:
    """The stacked home/draw/away areas.

    In a knockout match they stop with regulation (the 1X2 is the 90 minutes' result); who
    goes through is the line over them (:func:`_add_advance`).
    """
    regulation = frame["period"] <= 2 if knockout else pd.Series(True, index=frame.index)
    for col, name, colour in (
        ("p_home", f"{teams[0]} win", HOME_COLOUR),
        ("p_draw", "draw", DRAW_COLOUR),
        ("p_away", f"{teams[1]} win", AWAY_COLOUR),
    ):
        fig.add_trace(
            go.Scatter(
                x=x[regulation],
                y=frame.loc[regulation, col],
                name=f"{name} (90 min)" if knockout else name,
                mode="lines",
                stackgroup="p",
                line={"width": 0.5, "color": colour},
                hovertemplate="%{y:.1%}",
            )
        )


def _add_advance(fig: go.Figure, frame: pd.DataFrame, x: pd.Series, home: str) -> None:
    """P(home side goes through) as a line, extra time and the shoot-out shaded, kicks marked."""
    fig.add_trace(
        go.Scatter(
            x=x,
            y=frame["p_advance_home"],
            name=f"{home} goes through",
            mode="lines",
            line={"width": 2.5, "color": "black"},
            hovertemplate="%{y:.1%}",
        )
    )
    for periods, label in (((3, 4), "extra time"), ((5,), "shoot-out")):
        inside = frame["period"].isin(periods)
        if inside.any():
            before = x[frame["period"] < min(periods)]
            fig.add_vrect(
                x0=float(before.max()) if len(before) else float(x[inside].min()),
                x1=float(x[inside].max()),
                fillcolor="#999",
                opacity=0.12,
                line_width=0,
                annotation_text=label,
                annotation_position="bottom left",
            )
    kicks = frame[(frame["period"] == rules.SHOOTOUT_PERIOD) & frame["p_advance_home"].notna()]
    if not kicks.empty:
        fig.add_trace(
            go.Scatter(
                x=x[kicks.index],
                y=kicks["p_advance_home"],
                name="shoot-out kick",
                mode="markers",
                marker={"size": 8, "color": "black", "symbol": "circle-open"},
                hovertemplate="kick: %{y:.1%}",
            )
        )


def state_timeline_figure(snapshots: pd.DataFrame, match_id: int) -> go.Figure:
    """Cumulative xG, shots on target and possession of one match from event snapshots."""
    frame = snapshots[snapshots["match_id"] == match_id].reset_index(drop=True)
    if frame.empty:
        raise ValueError(f"no snapshots for match {match_id}")
    x = match_minutes(frame)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=frame["home_xg"], name="home xG", line={"color": HOME_COLOUR}))
    fig.add_trace(go.Scatter(x=x, y=frame["away_xg"], name="away xG", line={"color": AWAY_COLOUR}))
    fig.add_trace(
        go.Scatter(
            x=x,
            y=frame["home_possession"],
            name="home possession %",
            yaxis="y2",
            line={"color": HOME_COLOUR, "dash": "dot"},
        )
    )
    for mark in match_events_marks(frame).itertuples():
        fig.add_vline(
            x=mark.x,
            line={"color": "black" if mark.kind == "goal" else "red", "width": 1, "dash": "dot"},
        )
    fig.update_layout(
        title=f"Match {match_id}: cumulative xG and possession",
        xaxis_title="match minute",
        yaxis_title="cumulative xG",
        yaxis2={"title": "possession %", "overlaying": "y", "side": "right", "range": [0, 100]},
        height=420,
        legend={"orientation": "h", "y": -0.25},
        margin={"b": 90},
    )
    return add_credit(fig)


def metric_by_bin_figure(by_bin: pd.DataFrame, metric: str = "log_loss") -> go.Figure:
    """One line per model: ``metric`` per 15-minute bin (lower is better)."""
    fig = go.Figure()
    x_col = "bin" if "bin" in by_bin else by_bin.columns[1]
    for model, part in by_bin.groupby("model", sort=False):
        fig.add_trace(
            go.Scatter(x=part[x_col].astype(str), y=part[metric], name=model, mode="lines+markers")
        )
    fig.update_layout(
        title=f"{metric.replace('_', ' ')} by 15-minute bin (grouped cross-validation)",
        xaxis_title="match clock bin (minutes)",
        yaxis_title=metric,
        height=420,
    )
    return add_credit(fig)


def latency_figure(results: pd.DataFrame) -> go.Figure:
    """Latency histograms: end to end (event sent -> prediction published) and in the worker.

    End-to-end latency includes any time an event waited in Kafka before the worker read it
    (a backlog when scoring starts after the replay); in-worker time runs from the poll that
    received the event to the hand-off of its prediction to the producer.
    """
    fig = go.Figure()
    for col, name in (("latency_ms", "end to end"), ("processing_ms", "in the worker")):
        if col not in results:
            continue
        data = results[col].dropna()
        if data.empty:
            continue
        q = {p: float(data.quantile(p / 100)) for p in (50, 99)}
        fig.add_trace(
            go.Histogram(
                x=data,
                nbinsx=60,
                opacity=0.7,
                name=f"{name}: p50 {q[50]:,.0f} ms, p99 {q[99]:,.0f} ms",
            )
        )
    fig.update_layout(
        title="Latency of the live predictions",
        barmode="overlay",
        xaxis_type="log",
        xaxis_title="milliseconds (log scale)",
        yaxis_title="predictions",
        height=400,
        legend={"orientation": "h", "y": -0.25},
        margin={"b": 90},
    )
    return add_credit(fig)


def monitoring_figure(monitoring: pd.DataFrame) -> go.Figure:
    """Throughput and consumer lag over time, per worker, from the monitoring topic's stats."""
    fig = go.Figure()
    stats = (
        monitoring[monitoring.get("kind", pd.Series(dtype=str)) == "stats"]
        if len(monitoring)
        else monitoring
    )
    if stats.empty:
        fig.add_annotation(
            text="no statistics published yet",
            showarrow=False,
            x=0.5,
            y=0.5,
            xref="paper",
            yref="paper",
        )
        return add_credit(fig)
    stats = stats.assign(
        time=pd.to_datetime(stats["at"], unit="s"),
        lag_total=stats["lag"].map(lambda d: sum(d.values()) if isinstance(d, dict) else 0),
        rate=stats.get("interval_events_per_second", stats.get("events_per_second")),
    ).sort_values("time")
    for worker, part in stats.groupby("worker", sort=False):
        name = str(worker)[-8:]
        fig.add_trace(
            go.Scatter(
                x=part["time"], y=part["rate"], mode="lines+markers", name=f"events/s {name}"
            )
        )
        fig.add_trace(
            go.Scatter(
                x=part["time"],
                y=part["lag_total"],
                mode="lines",
                name=f"lag {name}",
                yaxis="y2",
                line={"dash": "dot"},
            )
        )
    fig.update_layout(
        title="Scoring workers: throughput and consumer lag (from ml-pipeline-monitoring)",
        xaxis_title="time (UTC)",
        yaxis_title="events/s (since the previous report)",
        yaxis2={
            "title": "lag (messages)",
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
        },
        height=400,
        legend={"orientation": "h", "y": -0.25},
        margin={"b": 90},
    )
    return add_credit(fig)

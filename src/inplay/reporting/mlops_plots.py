"""Plotly figures and tables of the MLOps loop: live quality, the retrain, the model switch.

They read what the loop leaves behind: the ``ml-pipeline-monitoring`` messages
(:func:`inplay.pipeline.read_monitoring`: ``match_quality``, ``drift`` and the model events),
the predictions (:func:`inplay.pipeline.read_results`) and a retrain's result
(:class:`inplay.mlops.retrain.RetrainResult`: ``by_bin`` and ``decision.per_match``). Every
figure credits StatsBomb Open Data as the source.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from inplay.mlops.messages import MODEL_KINDS
from inplay.reporting.plots import AWAY_COLOUR, DRAW_COLOUR, HOME_COLOUR, add_credit

__all__ = [
    "QUALITY_COLUMNS",
    "EVENT_COLUMNS",
    "quality_table",
    "drift_table",
    "model_events_table",
    "event_detail",
    "predictions_by_batch",
    "band_limits",
    "drift_bands",
    "version_colours",
    "live_quality_figure",
    "rolling_figure",
    "by_bin_figure",
    "paired_differences_figure",
    "predictions_by_version_figure",
]

QUALITY_COLUMNS: tuple[str, ...] = (
    "n",
    "match_id",
    "home_team",
    "away_team",
    "result",
    "model_version",
    "n_rows",
    "log_loss",
    "brier",
    "rps",
    "rolling_n",
    "rolling_log_loss",
    "rolling_brier",
    "rolling_rps",
    "calibration_home",
    "calibration_draw",
    "calibration_away",
    "at",
)
"""Columns of :func:`quality_table` (``n``: the match's place in the stream, from 1)."""

EVENT_COLUMNS: tuple[str, ...] = ("at", "kind", "detail")
"""Columns of :func:`model_events_table`."""

_PALETTE = qualitative.D3
_LINE = {"color": "#444", "width": 2}


def _of_kind(
    monitoring: pd.DataFrame, kinds: Iterable[str], since: float | None = None
) -> pd.DataFrame:
    """The monitoring messages of ``kinds`` (sent at or after ``since``), oldest first."""
    if monitoring.empty or "kind" not in monitoring:
        return pd.DataFrame()
    part = monitoring[monitoring["kind"].isin(list(kinds))]
    if since is not None:
        part = part[part["at"] >= since]
    return part.sort_values("at", kind="stable").reset_index(drop=True) if len(part) else part


def _rolling_value(rolling: object, *keys: str) -> float | None:
    """``rolling[keys[0]][keys[1]]...`` of a ``match_quality`` message's rolling figures."""
    value = rolling
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return None if value is None else float(value)


def quality_table(monitoring: pd.DataFrame, since: float | None = None) -> pd.DataFrame:
    """The latest ``match_quality`` message of each match, in the order the matches ended.

    Delivery is at-least-once and a match may be labelled twice (a restarted worker): the
    latest message of a match wins, and keeps the place of the match's first message.

    Args:
        monitoring: The monitoring topic (:func:`inplay.pipeline.read_monitoring`).
        since: Epoch seconds: only messages sent from then on (None: all).

    Returns:
        One row per match with :data:`QUALITY_COLUMNS`: the match's own scores, its
        ``model_version``, and the rolling figures (``rolling_*``, ``calibration_*``: the mean
        of ``p_k - 1[result = k]`` over the window) the message carried; ``at`` as a UTC time.
    """
    part = _of_kind(monitoring, ["match_quality"], since)
    if part.empty:
        return pd.DataFrame(columns=list(QUALITY_COLUMNS))
    part = part.assign(match_id=part["match_id"].astype(int))
    first = part.groupby("match_id", sort=False)["at"].min()
    latest = part.drop_duplicates("match_id", keep="last").set_index("match_id")
    latest = latest.loc[first.sort_values(kind="stable").index].reset_index()
    rolling = latest["rolling"]
    table = latest.assign(
        n=np.arange(1, len(latest) + 1),
        rolling_n=[_rolling_value(r, "n_matches") for r in rolling],
        **{
            f"rolling_{name}": [_rolling_value(r, name) for r in rolling]
            for name in ("log_loss", "brier", "rps")
        },
        **{
            f"calibration_{key}": [_rolling_value(r, "calibration", key) for r in rolling]
            for key in ("home", "draw", "away")
        },
        at=pd.to_datetime(latest["at"], unit="s"),
    )
    table[["rolling_n", "n_rows"]] = table[["rolling_n", "n_rows"]].astype("Int64")
    return table[list(QUALITY_COLUMNS)]


def drift_table(monitoring: pd.DataFrame, since: float | None = None) -> pd.DataFrame:
    """The ``drift`` messages (from ``since`` on), oldest first: which figure left its band.

    Returns:
        ``at`` (UTC), ``model_version``, ``statistic``, ``value``, ``low``, ``high``, ``window``,
        ``n_matches``, ``match_id``; empty when there was no drift.
    """
    columns = [
        "at",
        "model_version",
        "statistic",
        "value",
        "low",
        "high",
        "window",
        "n_matches",
        "match_id",
    ]
    part = _of_kind(monitoring, ["drift"], since)
    if part.empty:
        return pd.DataFrame(columns=columns)
    part = part.assign(
        at=pd.to_datetime(part["at"], unit="s"), match_id=part["match_id"].astype(int)
    )
    return part[columns]


def event_detail(row: dict) -> str:
    """One line saying what a model event (a monitoring message of a model kind) was."""
    kind = row.get("kind")
    if kind in ("model_promoted", "model_rejected"):
        return (
            f"registry v{_int(row.get('challenger_version'))} vs champion "
            f"v{_int(row.get('champion_version'))}: {row.get('reason')}"
        )
    if kind == "model_swapped":
        return f"worker {row.get('worker')}: {row.get('old_version')} -> {row.get('new_version')}"
    return (
        f"worker {row.get('worker')} kept {row.get('kept_version')} (registry "
        f"v{_int(row.get('registry_version'))}): {row.get('reason')}"
    )


def _int(value: object) -> str:
    """A version number as text ("?" when missing)."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "?"
    return "?" if math.isnan(number) else str(int(number))


def model_events_table(monitoring: pd.DataFrame, since: float | None = None) -> pd.DataFrame:
    """The model events (promoted, rejected, swapped, refused) from ``since`` on, oldest first.

    Returns:
        :data:`EVENT_COLUMNS`: ``at`` (UTC), ``kind`` and a one-line ``detail``.
    """
    part = _of_kind(monitoring, MODEL_KINDS, since)
    if part.empty:
        return pd.DataFrame(columns=list(EVENT_COLUMNS))
    return pd.DataFrame(
        {
            "at": pd.to_datetime(part["at"], unit="s"),
            "kind": part["kind"],
            "detail": [event_detail(row) for row in part.to_dict("records")],
        }
    )


def predictions_by_batch(results: pd.DataFrame, batches: dict[str, list[int]]) -> pd.DataFrame:
    """Predictions per batch of matches and ``model_version`` (one per match and event).

    Args:
        results: The predictions (:func:`inplay.pipeline.read_results`).
        batches: Batch name -> its match ids, e.g. ``{"first": [...], "second": [...]}``.

    Returns:
        One row per batch, one column per model version (0 where it made none), in batch order.
    """
    frames = []
    for name, ids in batches.items():
        part = results[results["match_id"].isin(list(ids))] if len(results) else results
        part = part.drop_duplicates(["match_id", "event_index"]) if len(part) else part
        counts = part["model_version"].value_counts() if len(part) else pd.Series(dtype=int)
        frames.append(counts.rename(name))
    table = pd.DataFrame(frames).fillna(0).astype(int)
    table.index.name = "batch"
    return table.reindex(list(batches)).fillna(0).astype(int)


def band_limits(band: dict | None, n_matches: int) -> tuple[float, float] | None:
    """The log-loss interval a rolling window of ``n_matches`` is checked against.

    As :func:`inplay.mlops.quality.check_drift` chooses it: the band's largest window not above
    ``n_matches``; None before the smallest window is full (or without a band).
    """
    if not band or not band.get("windows"):
        return None
    sizes = [int(w) for w in band["windows"] if int(w) <= n_matches]
    if not sizes:
        return None
    low, high = band["windows"][str(max(sizes))]["log_loss"]
    return float(low), float(high)


def drift_bands(versions: Iterable[int], registry=None) -> dict[str, dict]:
    """The drift band of each registry version, keyed by the model version results carry.

    Args:
        versions: Registry version numbers (e.g. the champion's and the challenger's).
        registry: :class:`inplay.mlops.registry.Registry` (default: the configured one).

    Returns:
        ``{model_version: band}`` for the versions whose model card records a band
        (``metrics.drift_band``, :func:`inplay.mlops.quality.drift_band`).
    """
    from inplay.mlops.registry import Registry
    from inplay.models.persistence import CARD_FILE

    registry = registry or Registry()
    out: dict[str, dict] = {}
    for version in versions:
        if version is None:
            continue
        info = registry.info(int(version))
        card_path = registry.download(int(version)) / CARD_FILE
        card = json.loads(card_path.read_text()) if card_path.is_file() else {}
        band = (card.get("metrics") or {}).get("drift_band")
        if band and info.inplay_version:
            out[info.inplay_version] = band
    return out


def version_colours(versions: Iterable[str]) -> dict[str, str]:
    """A colour per model version, in the order given (the same in every figure)."""
    unique = list(dict.fromkeys(str(v) for v in versions))
    return {v: _PALETTE[i % len(_PALETTE)] for i, v in enumerate(unique)}


def _empty(fig: go.Figure, text: str) -> go.Figure:
    fig.add_annotation(text=text, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    return add_credit(fig)


def _band_trace(part: pd.DataFrame, band: dict, colour: str, version: str) -> go.Scatter | None:
    """The drift band of one version's matches as a filled area (None before it applies)."""
    points = [
        (x, limits)
        for x, n in zip(part["n"], part["rolling_n"], strict=True)
        if pd.notna(n) and (limits := band_limits(band, int(n))) is not None
    ]
    if not points:
        return None
    x = [p[0] for p in points]
    low, high = [p[1][0] for p in points], [p[1][1] for p in points]
    return go.Scatter(
        x=x + x[::-1],
        y=high + low[::-1],
        mode="lines",
        fill="toself",
        fillcolor=colour,
        opacity=0.15,
        line={"width": 0},
        hoverinfo="skip",
        name=f"drift band {version}",
    )


def live_quality_figure(quality: pd.DataFrame, bands: dict[str, dict] | None = None) -> go.Figure:
    """Each ended match's log loss under the live model, its rolling mean and drift band.

    Args:
        quality: :func:`quality_table`.
        bands: ``{model_version: band}`` (:func:`drift_bands`); a version's band is drawn
            where its rolling window is at least the band's smallest window.
    """
    fig = go.Figure()
    if quality.empty:
        return _empty(fig, "no match_quality messages")
    colours = version_colours(quality["model_version"])
    for version, part in quality.groupby("model_version", sort=False):
        colour = colours[str(version)]
        band = (bands or {}).get(str(version))
        trace = _band_trace(part, band, colour, str(version)) if band else None
        if trace is not None:
            fig.add_trace(trace)
        fig.add_trace(
            go.Scatter(
                x=part["n"],
                y=part["log_loss"],
                mode="markers",
                marker={"color": colour, "size": 8},
                name=f"match log loss {version}",
                text=part["home_team"] + " v " + part["away_team"],
                hovertemplate="%{text}<br>log loss %{y:.3f}<extra></extra>",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=part["n"],
                y=part["rolling_log_loss"],
                mode="lines",
                line={"color": colour, "width": 2},
                name=f"rolling mean {version}",
            )
        )
    fig.update_layout(
        title="Live quality: log loss of each ended match (minute snapshots, live model)",
        xaxis_title="matches in the order they ended",
        yaxis={"title": "log loss (lower is better)", "rangemode": "tozero"},
        height=460,
        legend={"orientation": "h", "y": -0.25},
        margin={"b": 120},
    )
    return add_credit(fig, y=-0.2)


_ROLLING_LINES = (
    (1, "rolling_log_loss", "rolling log loss", {"dash": "solid", **_LINE}),
    (1, "rolling_brier", "rolling brier", {"dash": "dash", **_LINE}),
    (1, "rolling_rps", "rolling rps", {"dash": "dot", **_LINE}),
    (2, "calibration_home", "calibration error home", {"color": HOME_COLOUR, "width": 2}),
    (2, "calibration_draw", "calibration error draw", {"color": DRAW_COLOUR, "width": 2}),
    (2, "calibration_away", "calibration error away", {"color": AWAY_COLOUR, "width": 2}),
)


def rolling_figure(quality: pd.DataFrame, drift: pd.DataFrame | None = None) -> go.Figure:
    """The rolling figures the quality worker published after each match, and drift alerts.

    Top: rolling log loss, Brier score and RPS; bottom: the rolling calibration error of each
    outcome (mean of ``p - 1[outcome]``: above 0, the model gives it too much). The window
    starts again when the live model changes: each model version gets its own segment, and a
    grey line marks the first match of a new version. Drift messages (:func:`drift_table`) are
    marked (red dashes) on the match where they were raised.
    """
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    if quality.empty:
        return _empty(fig, "no match_quality messages")
    for k, (version, part) in enumerate(quality.groupby("model_version", sort=False)):
        for row, column, name, line in _ROLLING_LINES:
            trace = go.Scatter(
                x=part["n"],
                y=part[column],
                mode="lines+markers" if len(part) == 1 else "lines",
                line=line,
                name=name,
                legendgroup=name,
                showlegend=k == 0,
                hovertemplate=f"{name}: %{{y:.3f}}<br>{version}<extra></extra>",
            )
            fig.add_trace(trace, row=row, col=1)
        if k:
            fig.add_vline(
                x=float(part["n"].iloc[0]) - 0.5,
                line={"color": "#888", "width": 1},
                row="all",
                col=1,
            )
    fig.add_hline(y=0, line={"color": "#999", "width": 1}, row=2, col=1)
    _mark_drift(fig, quality, drift)
    fig.update_layout(
        title="Rolling live quality over the latest matches (restarts when the model changes)",
        height=560,
        legend={"orientation": "h", "y": -0.15},
        margin={"b": 120},
    )
    fig.update_xaxes(title_text="matches in the order they ended", row=2, col=1)
    fig.update_yaxes(title_text="rolling score", row=1, col=1)
    fig.update_yaxes(title_text="calibration error", row=2, col=1)
    return add_credit(fig, y=-0.12)


def _mark_drift(fig: go.Figure, quality: pd.DataFrame, drift: pd.DataFrame | None) -> None:
    """A vertical line at every match where a drift message was raised."""
    if drift is None or drift.empty:
        return
    where = dict(zip(quality["match_id"], quality["n"], strict=True))
    for row in drift.to_dict("records"):
        x = where.get(int(row["match_id"]))
        if x is not None:
            fig.add_vline(
                x=x, line={"color": "#d62728", "dash": "dash", "width": 1}, row="all", col=1
            )
            fig.add_annotation(
                x=x, y=1.0, yref="paper", text=f"drift: {row['statistic']}", showarrow=False
            )


def by_bin_figure(by_bin: pd.DataFrame) -> go.Figure:
    """Champion and challenger log loss per 15-minute bin of the held-out matches.

    Args:
        by_bin: :attr:`inplay.mlops.retrain.RetrainResult.by_bin` (``bin``, ``champion``,
            ``challenger``).
    """
    fig = go.Figure()
    if by_bin.empty:
        return _empty(fig, "no held-out rows")
    for model, colour in (("champion", "#444"), ("challenger", "#ff7f0e")):
        fig.add_trace(
            go.Bar(x=by_bin["bin"].astype(str), y=by_bin[model], name=model, marker_color=colour)
        )
    fig.update_layout(
        title="Held-out matches: log loss by 15-minute bin, champion vs challenger",
        barmode="group",
        xaxis_title="match clock bin (minutes)",
        yaxis_title="mean log loss (lower is better)",
        height=420,
        legend={"orientation": "h", "y": -0.25},
        margin={"b": 100},
    )
    return add_credit(fig, y=-0.2)


def _mean_interval(diff: pd.Series, level: float = 0.95) -> tuple[float, float, float] | None:
    """The mean of ``diff`` and its t interval (None with fewer than two values)."""
    from scipy import stats

    n = len(diff)
    if n < 2:
        return None
    mean, se = float(diff.mean()), float(diff.std(ddof=1) / math.sqrt(n))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * se
    return mean, mean - half, mean + half


def paired_differences_figure(per_match: pd.DataFrame, level: float = 0.95) -> go.Figure:
    """Challenger minus champion log loss on each held-out match, with the mean and its interval.

    Below zero the challenger was better on that match. The promotion test asks whether the
    mean is below zero (one-sided paired t-test); the last point is the mean with its two-sided
    ``level`` t interval (its error bar; none with fewer than two matches).

    Args:
        per_match: :attr:`inplay.mlops.retrain.PairedTest.per_match` (``match_id``,
            ``champion``, ``challenger``).
        level: Coverage of the interval.
    """
    fig = go.Figure()
    if per_match.empty:
        return _empty(fig, "no held-out matches")
    table = per_match.assign(diff=per_match["challenger"] - per_match["champion"])
    table = table.sort_values("diff").reset_index(drop=True)
    labels = table["match_id"].astype(int).astype(str)
    colours = ["#2ca02c" if d < 0 else "#d62728" for d in table["diff"]]
    fig.add_trace(go.Bar(x=labels, y=table["diff"], marker_color=colours, name="per match"))
    interval = _mean_interval(table["diff"], level)
    if interval is not None:
        mean, low, high = interval
        fig.add_trace(
            go.Scatter(
                x=[f"mean, {level:.0%} CI"],
                y=[mean],
                mode="markers",
                marker={"color": "#1f77b4", "size": 11, "symbol": "diamond"},
                error_y={"type": "data", "array": [high - mean], "arrayminus": [mean - low]},
                name="mean",
                hovertemplate=f"mean {mean:+.4f}, CI [{low:+.4f}, {high:+.4f}]<extra></extra>",
            )
        )
        fig.add_hline(
            y=mean,
            line={"color": "#1f77b4", "width": 1, "dash": "dash"},
            annotation_text=f"mean {mean:+.4f}, {level:.0%} CI [{low:+.4f}, {high:+.4f}]",
            annotation_position="top left",
        )
    fig.add_hline(y=0, line={"color": "#666", "width": 1})
    fig.update_layout(
        title=f"Paired differences on {len(table)} held-out matches (challenger - champion)",
        xaxis={"title": "held-out match", "type": "category"},
        yaxis_title="log loss difference (below 0: challenger better)",
        height=440,
        showlegend=False,
        margin={"b": 100},
    )
    return add_credit(fig, y=-0.22)


def _mark_events(fig: go.Figure, events: pd.DataFrame | None, start: float, end: float) -> None:
    """A dotted line and the kind of each model event between ``start`` and ``start + end``."""
    shown = 0
    for row in (events if events is not None else pd.DataFrame()).to_dict("records"):
        x = pd.Timestamp(row["at"]).timestamp() - start
        if not 0 <= x <= end:  # an event of another run
            continue
        fig.add_vline(x=x, line={"color": "#888", "dash": "dot", "width": 1})
        fig.add_annotation(
            x=x,
            y=1.0 - 0.08 * shown,  # staggered: a promotion and its swaps come close together
            yref="paper",
            text=str(row["kind"]),
            showarrow=False,
            xanchor="left",
        )
        shown += 1


def predictions_by_version_figure(
    results: pd.DataFrame, events: pd.DataFrame | None = None
) -> go.Figure:
    """Cumulative predictions of each model version as the replay went on.

    Args:
        results: The predictions (:func:`inplay.pipeline.read_results`), with ``scored_at``;
            a prediction delivered twice counts once.
        events: :func:`model_events_table`; each event is marked where it happened.
    """
    fig = go.Figure()
    if results.empty:
        return _empty(fig, "no predictions")
    ordered = results.sort_values("scored_at", kind="stable")
    if {"match_id", "event_index"} <= set(ordered.columns):  # at-least-once: drop repeats
        ordered = ordered.drop_duplicates(["match_id", "event_index"])
    ordered = ordered.reset_index(drop=True)
    start = float(ordered["scored_at"].iloc[0])
    seconds = ordered["scored_at"] - start
    colours = version_colours(ordered["model_version"])
    for version, colour in colours.items():
        mine = (ordered["model_version"] == version).cumsum()
        fig.add_trace(
            go.Scatter(
                x=seconds,
                y=mine,
                mode="lines",
                line={"shape": "hv", "color": colour, "width": 2},
                name=f"{version}: {int(mine.iloc[-1]):,}",
            )
        )
    _mark_events(fig, events, start, float(ordered["scored_at"].iloc[-1]) - start)
    fig.update_layout(
        title="Predictions by model version over the replay",
        xaxis_title="seconds since the first prediction",
        yaxis={"title": "predictions (cumulative)", "rangemode": "tozero"},
        height=420,
        legend={"orientation": "h", "y": -0.25},
        margin={"b": 110},
    )
    return add_credit(fig, y=-0.22)

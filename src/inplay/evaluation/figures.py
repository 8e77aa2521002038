"""Figures of the evaluation: reliability diagrams of out-of-fold predictions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from inplay.evaluation.metrics import ece, reliability_table
from inplay.models import CLASSES, PROB_COLUMNS

__all__ = ["reliability_figure", "phase_reliability_figure"]

_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")


def _add_model_traces(fig: Any, oof: pd.DataFrame, name: str, color: str, n_bins: int) -> None:
    """Add one model's reliability line to each of the three outcome panels."""
    import plotly.graph_objects as go

    sub = oof[oof["model"] == name]
    y, p = sub["result"].to_numpy(), sub[list(PROB_COLUMNS)].to_numpy()
    table = reliability_table(y, p, n_bins)
    err = ece(y, p, n_bins)
    for k, label in enumerate(CLASSES):
        part = table[table["outcome"] == label]
        fig.add_trace(
            go.Scatter(
                x=part["mean_p"],
                y=part["observed"],
                mode="lines+markers",
                name=f"{name} (ECE {err:.3f})",
                legendgroup=name,
                showlegend=k == 0,
                line={"color": color},
                marker={"size": 4 + 10 * np.sqrt(part["n_rows"] / part["n_rows"].max())},
                hovertemplate="forecast %{x:.3f}<br>observed %{y:.3f}<extra>" + name + "</extra>",
            ),
            row=1,
            col=k + 1,
        )


def _add_diagonals(fig: Any) -> None:
    """Add the perfect-calibration diagonal and the axis titles to each panel."""
    import plotly.graph_objects as go

    for k in range(3):
        fig.add_trace(
            go.Scatter(
                x=[0, 1],
                y=[0, 1],
                mode="lines",
                line={"dash": "dot", "color": "#999"},
                showlegend=False,
                hoverinfo="skip",
            ),
            row=1,
            col=k + 1,
        )
        fig.update_xaxes(title_text="forecast probability", range=[0, 1], row=1, col=k + 1)
    fig.update_yaxes(title_text="observed frequency", range=[0, 1], row=1, col=1)


def reliability_figure(oof: pd.DataFrame, models: Sequence[str] | None = None, n_bins: int = 10):
    """Plotly reliability diagrams: one panel per outcome, one line per model.

    Args:
        oof: Output of :func:`~inplay.evaluation.cv.grouped_cv_predictions`.
        models: Models to draw (default: all in ``oof``).
        n_bins: Number of equal-width bins.

    Returns:
        A ``plotly.graph_objects.Figure``; marker size follows the rows in each bin, and the
        legend names each model with its ECE.
    """
    from plotly.subplots import make_subplots

    from inplay.reporting.plots import add_credit

    names = list(models) if models is not None else list(pd.unique(oof["model"]))
    fig = make_subplots(rows=1, cols=3, subplot_titles=["home win", "draw", "away win"])
    for i, name in enumerate(names):
        _add_model_traces(fig, oof, name, _PALETTE[i % len(_PALETTE)], n_bins)
    _add_diagonals(fig)
    fig.update_layout(
        title="Reliability (out-of-fold, grouped by match)",
        height=380,
        margin={"b": 80},
    )
    return add_credit(fig, y=-0.28)


def phase_reliability_figure(table: pd.DataFrame, models: Sequence[str] | None = None):
    """Top-label reliability diagrams by phase: one panel per phase, one line per model.

    Args:
        table: Output of :func:`inplay.evaluation.travel.phase_reliability`.
        models: Models to draw (default: all in ``table``).

    Returns:
        A ``plotly.graph_objects.Figure``: the probability of the most likely result against how
        often it happened, in 5 equal-width bins; marker size follows each bin's weight.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from inplay.evaluation.travel import PHASES
    from inplay.reporting.plots import add_credit

    names = list(models) if models is not None else list(pd.unique(table["model"]))
    phases = list(PHASES)
    titles = [p.replace("_", " ") for p in phases]
    fig = make_subplots(rows=1, cols=len(phases), subplot_titles=titles)
    for i, name in enumerate(names):
        for j, phase in enumerate(phases):
            part = table[(table["model"] == name) & (table["phase"] == phase)]
            fig.add_trace(
                go.Scatter(
                    x=part["confidence"],
                    y=part["observed"],
                    mode="lines+markers",
                    name=name,
                    legendgroup=name,
                    showlegend=j == 0,
                    line={"color": _PALETTE[i % len(_PALETTE)]},
                    marker={"size": 4 + 12 * np.sqrt(part["weight"])},
                ),
                row=1,
                col=j + 1,
            )
    for j in range(len(phases)):
        fig.add_trace(
            go.Scatter(x=[0.3, 1], y=[0.3, 1], mode="lines", showlegend=False,
                       line={"dash": "dot", "color": "#999"}, hoverinfo="skip"),
            row=1,
            col=j + 1,
        )  # fmt: skip
        fig.update_xaxes(title_text="top-label probability", range=[0.3, 1], row=1, col=j + 1)
    fig.update_yaxes(title_text="observed frequency", range=[0.3, 1], row=1, col=1)
    fig.update_layout(title="Top-label reliability by phase (held-out data)", height=380)
    return add_credit(fig, y=-0.28)

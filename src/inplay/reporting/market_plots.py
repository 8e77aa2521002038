"""Plotly figures of the markets beyond 1X2: goal markets and who goes through.

Reliability diagrams of the goal markets (:func:`inplay.evaluation.markets.evaluate_markets`)
and the calibration and log loss by minute of P(advance)
(:func:`inplay.evaluation.advance.evaluate_advance`), each model beside its baseline. Every
figure carries the "Data: StatsBomb Open Data" credit.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from inplay.reporting.plots import add_credit

__all__ = ["market_reliability_figure", "advance_calibration_figure", "advance_by_minute_figure"]

_DASHES = ("solid", "dot", "dash", "dashdot")


def _diagonal(fig: go.Figure, row: int | None = None, col: int | None = None) -> None:
    """The perfect-calibration line."""
    fig.add_trace(
        go.Scatter(
            x=[0, 1],
            y=[0, 1],
            mode="lines",
            line={"color": "#bbb", "dash": "dot"},
            showlegend=False,
        ),
        row=row,
        col=col,
    )


def market_reliability_figure(reliability: pd.DataFrame) -> go.Figure:
    """Predicted against observed frequency of every binary goal market, per model.

    Args:
        reliability: :attr:`inplay.evaluation.markets.MarketEvaluation.reliability`.
    """
    binary = reliability[reliability["outcome"] == "yes"]
    markets = list(dict.fromkeys(binary["market"]))
    if not markets:
        raise ValueError("no binary market in the reliability table")
    fig = make_subplots(rows=1, cols=len(markets), subplot_titles=markets, shared_yaxes=True)
    models = list(dict.fromkeys(binary["model"]))
    for j, market in enumerate(markets, start=1):
        _diagonal(fig, 1, j)
        for k, model in enumerate(models):
            part = binary[(binary["market"] == market) & (binary["model"] == model)]
            part = part[part["n_rows"] > 0]
            fig.add_trace(
                go.Scatter(
                    x=part["mean_p"],
                    y=part["observed"],
                    mode="lines+markers",
                    name=model,
                    legendgroup=model,
                    showlegend=j == 1,
                    line={"dash": _DASHES[k % len(_DASHES)]},
                    hovertemplate="predicted %{x:.2f}, observed %{y:.2f}",
                ),
                row=1,
                col=j,
            )
    fig.update_xaxes(range=[0, 1], title_text="predicted")
    fig.update_yaxes(range=[0, 1])
    fig.update_yaxes(title_text="observed", row=1, col=1)
    fig.update_layout(
        title="Goal markets: reliability out of fold", height=380, legend={"orientation": "h"}
    )
    return add_credit(fig)


def advance_calibration_figure(calibration: pd.DataFrame) -> go.Figure:
    """Calibration of P(home side goes through) in regulation, per model.

    Args:
        calibration: :attr:`inplay.evaluation.advance.AdvanceEvaluation.calibration`.
    """
    fig = go.Figure()
    _diagonal(fig)
    for k, (model, part) in enumerate(calibration.groupby("model", sort=False)):
        part = part[part["n_rows"] > 0]
        fig.add_trace(
            go.Scatter(
                x=part["mean_p"],
                y=part["observed"],
                mode="lines+markers",
                name=model,
                line={"dash": _DASHES[k % len(_DASHES)]},
                marker={"size": 6 + 14 * part["n_rows"] / max(part["n_rows"].max(), 1)},
                hovertemplate="predicted %{x:.2f}, observed %{y:.2f}",
            )
        )
    fig.update_layout(
        title="Who goes through: calibration of P(advance), knockout matches, regulation",
        xaxis={"title": "predicted P(home side advances)", "range": [0, 1]},
        yaxis={"title": "observed share", "range": [0, 1]},
        height=420,
    )
    return add_credit(fig)


def advance_by_minute_figure(by_minute: pd.DataFrame) -> go.Figure:
    """Log loss of P(advance) by match minute (0-120), per model.

    Args:
        by_minute: :attr:`inplay.evaluation.advance.AdvanceEvaluation.by_minute`.
    """
    fig = go.Figure()
    for k, (model, part) in enumerate(by_minute.groupby("model", sort=False)):
        fig.add_trace(
            go.Scatter(
                x=part["minute"],
                y=part["log_loss"],
                mode="lines",
                name=model,
                line={"dash": _DASHES[k % len(_DASHES)]},
            )
        )
    fig.add_vline(x=90, line={"color": "#999", "dash": "dot"})
    fig.update_layout(
        title="Who goes through: log loss of P(advance) by minute (extra time after the line)",
        xaxis_title="minute",
        yaxis_title="log loss",
        height=380,
    )
    return add_credit(fig)

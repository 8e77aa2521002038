"""Shade the parameter-uncertainty band of H/D/A on a win-probability figure.

:func:`~inplay.reporting.plots.win_probability_figure` stacks home, draw and away. The band of
:func:`inplay.models.uncertainty.probability_band` is drawn where it moves a boundary of the
stack: around the home/draw line (``p_home``: ``p_home_lo`` .. ``p_home_hi``) and around the
draw/away line (``1 - p_away``: ``1 - p_away_hi`` .. ``1 - p_away_lo``); the draw's interval is
the room between the two. Every figure keeps the "Data: StatsBomb Open Data" credit.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from inplay.reporting.plots import CREDIT, add_credit, match_minutes

__all__ = ["BAND_LABEL", "band_edges", "add_probability_band"]

BAND_LABEL = "80 % interval (parameter uncertainty)"
_FILL = "rgba(0, 0, 0, 0.22)"


def band_edges(band: pd.DataFrame) -> dict[str, tuple[pd.Series, pd.Series]]:
    """The lower and upper edges of the two stack boundaries a band moves.

    Args:
        band: Rows with ``p_home_lo``, ``p_home_hi``, ``p_away_lo`` and ``p_away_hi``.

    Returns:
        ``{"home": (lo, hi), "away": (lo, hi)}``: the home/draw boundary is ``p_home``, the
        draw/away boundary is ``1 - p_away`` (so its lower edge comes from ``p_away_hi``).
    """
    return {
        "home": (band["p_home_lo"], band["p_home_hi"]),
        "away": (1.0 - band["p_away_hi"], 1.0 - band["p_away_lo"]),
    }


def _has_credit(fig: go.Figure) -> bool:
    return any(getattr(a, "text", None) == CREDIT for a in fig.layout.annotations)


def add_probability_band(
    fig: go.Figure, band: pd.DataFrame, match_id: int, label: str = BAND_LABEL
) -> go.Figure:
    """Add shaded bands to a :func:`~inplay.reporting.plots.win_probability_figure`.

    Args:
        fig: The figure of ``match_id`` (it is changed in place and returned).
        band: The rows the figure was drawn from (``match_id``, ``period``,
            ``elapsed_seconds``, ``event_index``) with the band columns, e.g.
            ``results.join(probability_band(model, results)[list(BAND_COLUMNS)])``.
        match_id: The match drawn.
        label: Legend entry of the band.

    Returns:
        The figure, with two filled traces per boundary (lower edge, then upper edge filled
        down to it) and the StatsBomb credit.

    Raises:
        ValueError: ``band`` has no row of ``match_id``.
    """
    frame = band[band["match_id"] == match_id]
    if frame.empty:
        raise ValueError(f"no band rows for match {match_id}")
    frame = frame.sort_values(["period", "elapsed_seconds", "event_index"]).reset_index(drop=True)
    x = match_minutes(frame)
    for k, (side, (lo, hi)) in enumerate(band_edges(frame).items()):
        common = {"x": x, "mode": "lines", "line": {"width": 0}, "legendgroup": "band"}
        fig.add_trace(
            go.Scatter(y=lo, showlegend=False, hoverinfo="skip", name=f"{side} lo", **common)
        )
        fig.add_trace(
            go.Scatter(
                y=hi,
                fill="tonexty",
                fillcolor=_FILL,
                name=label,
                showlegend=k == 0,
                hoverinfo="skip",
                **common,
            )
        )
    return fig if _has_credit(fig) else add_credit(fig)

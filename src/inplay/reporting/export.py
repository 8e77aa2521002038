"""Plotly figures to PNG with the headless Chromium the dashboard tests use (no kaleido).

Usage: :func:`figure_png` (``python scripts/hero_figure.py`` draws the README's figure with it).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import plotly.graph_objects as go

__all__ = ["figure_png"]


def figure_png(fig: go.Figure, path: Path | str, width: int = 1200, height: int = 560) -> Path:
    """Render ``fig`` in headless Chromium and save it as a PNG.

    Args:
        fig: The figure (its own layout height is replaced by ``height``).
        path: Where to write the PNG (folders are created).
        width: Pixels.
        height: Pixels.

    Returns:
        The PNG's path.

    Raises:
        inplay.config.ConfigError: Playwright or Chromium is missing (the message says what to
            install).
    """
    from inplay.dashboard.browser import open_browser

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = go.Figure(fig).update_layout(width=width, height=height)
    with tempfile.TemporaryDirectory(prefix="inplay-figure-") as tmp:
        page_file = Path(tmp) / "figure.html"
        fig.write_html(
            page_file, include_plotlyjs=True, full_html=True, config={"staticPlot": True}
        )
        with open_browser(width + 40, height + 40) as page:
            page.goto(page_file.as_uri(), wait_until="load")
            chart = page.locator(".main-svg").first
            chart.wait_for(timeout=30_000)
            page.locator(".plot-container").first.screenshot(path=str(path))
    return path

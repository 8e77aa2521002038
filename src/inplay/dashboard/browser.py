"""Headless Chromium for the dashboard (screenshots, the browser test), via Playwright.

Playwright drives the system's Chromium (Debian: ``apt-get install -y chromium``), found by
:func:`chromium_path`; ``playwright install`` (a browser download) is not needed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from inplay import config

__all__ = ["CHROMIUM_ARGS", "chromium_path", "open_browser", "fit_page_height", "screenshot"]

CHROMIUM_ARGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium_path() -> str | None:
    """The Chromium executable: ``INPLAY_CHROMIUM``, else the first of the usual names on PATH."""
    env = config.env_str("INPLAY_CHROMIUM")
    if env:
        return env if os.access(env, os.X_OK) else None
    for name in _CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


@contextlib.contextmanager
def open_browser(width: int = 1500, height: int = 1000) -> Iterator:
    """A Playwright page in headless Chromium with a fresh profile, closed on exit.

    Raises:
        config.ConfigError: Playwright or Chromium is missing; the message says what to install.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise config.ConfigError(
            "Playwright is not installed: pip install -e '.[dashboard]'"
        ) from None
    executable = chromium_path()
    if executable is None:
        raise config.ConfigError(
            "no Chromium found: install it (Debian: apt-get install -y chromium) or set "
            "INPLAY_CHROMIUM to its path"
        )
    with tempfile.TemporaryDirectory(prefix="inplay-chromium-") as profile:
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                profile,
                executable_path=executable,
                headless=True,
                args=list(CHROMIUM_ARGS),
                viewport={"width": width, "height": height},
                device_scale_factor=1,
            )
            try:
                yield context.pages[0] if context.pages else context.new_page()
            finally:
                context.close()


def fit_page_height(page, width: int, max_height: int = 4000) -> None:
    """Grow the viewport to the page's content height.

    Streamlit scrolls inside its main container, not the document, so a "full page"
    screenshot alone would stop at the viewport.
    """
    height = page.evaluate(
        """() => {
            const main = document.querySelector('[data-testid="stMain"]')
                || document.querySelector('[data-testid="stAppViewContainer"]');
            return Math.max(main ? main.scrollHeight : 0, document.body.scrollHeight);
        }"""
    )
    page.set_viewport_size({"width": width, "height": int(min(max_height, max(600, height)))})


def screenshot(
    url: str,
    path: Path | str,
    *,
    wait_for: str = "Live matches",
    timeout: float = 60.0,
    settle: float = 3.0,
    width: int = 1500,
    height: int = 1000,
) -> Path:
    """Open ``url``, wait for the text ``wait_for`` and save a full-page PNG.

    Args:
        url: The dashboard (``?match=ID`` selects a match).
        path: Where to write the PNG (folders are created).
        wait_for: Text that must be on the page first (default: the live-matches table).
        timeout: Seconds to wait for it.
        settle: Seconds to wait after it appeared (charts draw).
        width: Viewport width in pixels.
        height: Viewport height in pixels.

    Returns:
        The PNG's path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open_browser(width, height) as page:
        page.goto(url, wait_until="domcontentloaded")
        page.get_by_text(wait_for).first.wait_for(timeout=timeout * 1000)
        page.wait_for_timeout(settle * 1000)
        fit_page_height(page, width)
        page.wait_for_timeout(1000)
        page.screenshot(path=str(path), full_page=True)
    return path

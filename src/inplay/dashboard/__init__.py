"""The live dashboard: every live match's win probability as the events arrive.

A Streamlit app (:mod:`inplay.dashboard.app`) reads ``ml-pipeline-prediction-results`` and
``ml-pipeline-monitoring`` incrementally (:class:`inplay.dashboard.feed.LiveFeed`) and shows the
live matches, one match's win-probability timeline and cumulative xG, and the scorer's health.

* :func:`launch` starts the app (``streamlit run``) in a subprocess and returns it;
* ``python -m inplay.dashboard.run`` (:mod:`inplay.dashboard.run`) is the whole demo: broker,
  topics, a replay at a watchable speed, the scorer and the app.

The app takes its settings from the environment (see :class:`AppSettings`), so the same app runs
against the embedded broker, any cluster (``KAFKA_BOOTSTRAP_SERVERS``) and inside docker compose.
Streamlit and Playwright are optional dependencies: ``pip install -e .[dashboard]``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from inplay import config
from inplay.brokers.process import free_port

__all__ = [
    "APP_PATH",
    "ENV_RESULTS_TOPIC",
    "ENV_MONITORING_TOPIC",
    "ENV_REFRESH",
    "ENV_SINCE",
    "ENV_START",
    "AppSettings",
    "free_port",
    "launch",
    "streamlit_command",
    "wait_until_ready",
]

APP_PATH: Path = Path(__file__).with_name("app.py")

ENV_RESULTS_TOPIC = "INPLAY_DASHBOARD_RESULTS_TOPIC"
ENV_MONITORING_TOPIC = "INPLAY_DASHBOARD_MONITORING_TOPIC"
ENV_REFRESH = "INPLAY_DASHBOARD_REFRESH"
ENV_SINCE = "INPLAY_DASHBOARD_SINCE"
ENV_START = "INPLAY_DASHBOARD_START"


@dataclass(frozen=True)
class AppSettings:
    """What the app reads and how often; every field has an environment variable.

    Attributes:
        bootstrap: ``KAFKA_BOOTSTRAP_SERVERS``; None = the embedded broker's state file.
        results_topic: ``INPLAY_DASHBOARD_RESULTS_TOPIC`` (default the results topic).
        monitoring_topic: ``INPLAY_DASHBOARD_MONITORING_TOPIC`` (default the monitoring topic).
        refresh: ``INPLAY_DASHBOARD_REFRESH``, seconds between page refreshes (default 2).
        since: ``INPLAY_DASHBOARD_SINCE``, epoch seconds; older predictions and statistics are
            ignored (the runner sets it so that an earlier run on the same topics stays out).
        start: ``INPLAY_DASHBOARD_START``, ``earliest`` (whole history, default) or ``latest``
            (only what arrives after the app connected).
    """

    bootstrap: str | None = None
    results_topic: str = config.TOPIC_RESULTS
    monitoring_topic: str = config.TOPIC_MONITORING
    refresh: float = 2.0
    since: float | None = None
    start: str = "earliest"

    @classmethod
    def from_env(cls) -> AppSettings:
        """Read the settings from the environment.

        Raises:
            config.ConfigError: a value is malformed; the message names the variable.
        """
        start = (config.env_str(ENV_START, "earliest") or "earliest").lower()
        if start not in {"earliest", "latest"}:
            raise config.ConfigError(f"{ENV_START}={start!r} must be 'earliest' or 'latest'.")
        refresh = config.env_float(ENV_REFRESH, 2.0) or 2.0
        if refresh <= 0:
            raise config.ConfigError(f"{ENV_REFRESH}={refresh} must be > 0 seconds.")
        return cls(
            bootstrap=config.env_str("KAFKA_BOOTSTRAP_SERVERS"),
            results_topic=config.env_str(ENV_RESULTS_TOPIC, config.TOPIC_RESULTS),
            monitoring_topic=config.env_str(ENV_MONITORING_TOPIC, config.TOPIC_MONITORING),
            refresh=refresh,
            since=config.env_float(ENV_SINCE, None),
            start=start,
        )

    @property
    def poll_budget(self) -> float:
        """Seconds each refresh may spend reading Kafka: half the interval, at most 1.5.

        The drawing needs the rest: a refresh that outlasts the interval has the next one
        queued behind it, and on a busy machine the page then lags and blinks.
        """
        return min(1.5, self.refresh / 2)

    def environ(self) -> dict[str, str]:
        """These settings as environment variables (for :func:`launch`)."""
        env = {
            ENV_RESULTS_TOPIC: self.results_topic,
            ENV_MONITORING_TOPIC: self.monitoring_topic,
            ENV_REFRESH: str(self.refresh),
            ENV_START: self.start,
        }
        if self.bootstrap:
            env["KAFKA_BOOTSTRAP_SERVERS"] = self.bootstrap
        if self.since is not None:
            env[ENV_SINCE] = repr(float(self.since))
        return env


def streamlit_command(port: int = 8501, host: str = "127.0.0.1") -> list[str]:
    """The ``streamlit run`` command line of the app: headless, light theme, no watcher."""
    options = {
        "server.port": str(port),
        "server.address": host,
        "server.headless": "true",
        "server.fileWatcherType": "none",
        "browser.gatherUsageStats": "false",
        "theme.base": "light",
        "client.toolbarMode": "viewer",
        "client.showErrorDetails": "none",
    }
    flags = [part for name, value in options.items() for part in (f"--{name}", value)]
    return [sys.executable, "-m", "streamlit", "run", str(APP_PATH), *flags]


def launch(
    port: int = 8501,
    host: str = "127.0.0.1",
    settings: AppSettings | None = None,
    *,
    log_file: Path | str | None = None,
    extra_env: dict[str, str] | None = None,
) -> subprocess.Popen:
    """Start the Streamlit app in a subprocess (``streamlit run``) and return it.

    The app is headless (no browser opened, no usage statistics, no file watcher). Stop it with
    ``proc.terminate()``; :func:`wait_until_ready` waits for it to answer.

    Args:
        port: TCP port to serve on.
        host: Address to listen on (``0.0.0.0`` inside a container).
        settings: What the app reads; :meth:`AppSettings.from_env` when None.
        log_file: Where the app's output goes (default: inherited stdout/stderr).
        extra_env: More environment variables for the app.

    Raises:
        config.ConfigError: Streamlit is not installed.
    """
    try:
        import streamlit  # noqa: F401
    except ImportError:
        raise config.ConfigError(
            "the dashboard needs Streamlit: pip install -e '.[dashboard]'"
        ) from None
    settings = settings or AppSettings.from_env()
    env = {**os.environ, **settings.environ(), **(extra_env or {})}
    env.setdefault("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")
    cmd = streamlit_command(port, host)
    out = open(log_file, "ab") if log_file else None  # noqa: SIM115 - handed to the child
    try:
        return subprocess.Popen(
            cmd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            stdin=subprocess.DEVNULL,
        )
    finally:
        if out:
            out.close()


def wait_until_ready(url: str, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    """Wait until the app at ``url`` answers its health check.

    Raises:
        config.ConfigError: it did not answer in ``timeout`` seconds, or ``proc`` exited.
    """
    health = url.rstrip("/") + "/_stcore/health"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise config.ConfigError(f"the dashboard exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(health, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    raise config.ConfigError(f"the dashboard did not answer at {url} within {timeout:.0f} s")

"""The dashboard's model-quality panel: live quality messages kept in memory, and their tables.

The live quality worker (``inplay quality``) and the retrain publish to ``ml-pipeline-monitoring``:
``match_quality`` (one ended match's log loss, Brier and RPS under the live model, and the
rolling figures), ``drift`` (a rolling figure left its band) and the model events
(``model_promoted``, ``model_rejected``, ``model_swapped``, ``model_refused``).
:class:`ModelQuality` keeps what the panel shows: the latest ``match_quality`` of the most recent
matches, the latest drift alerts and the last model event. :meth:`ModelQuality.panel` gives a
:class:`QualityPanel`, from which the pure helpers below build the tables the page draws.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field

import pandas as pd

from inplay.dashboard.views import ago
from inplay.mlops.messages import MODEL_KINDS, QUALITY_KINDS
from inplay.reporting.mlops_plots import event_detail, quality_table

__all__ = [
    "PANEL_KINDS",
    "QualityPanel",
    "ModelQuality",
    "matches_frame",
    "rolling_items",
    "drift_alerts",
    "last_event_text",
]

PANEL_KINDS: frozenset[str] = frozenset((*QUALITY_KINDS, *MODEL_KINDS))
"""The monitoring kinds the panel takes."""


@dataclass
class QualityPanel:
    """What the panel shows, copied out of :class:`ModelQuality`.

    Attributes:
        quality: The latest ``match_quality`` message of each recent match, oldest first.
        drift: The latest ``drift`` messages, newest first.
        last_event: The latest model event (promoted, rejected, swapped, refused), or None.
        quality_seen: ``match_quality`` messages read (repeats included).
    """

    quality: list[dict] = field(default_factory=list)
    drift: list[dict] = field(default_factory=list)
    last_event: dict | None = None
    quality_seen: int = 0

    @property
    def latest(self) -> dict | None:
        """The newest ``match_quality`` message (its rolling figures are the current ones)."""
        return self.quality[-1] if self.quality else None


class ModelQuality:
    """Live model-quality messages, bounded; thread-safe (its own lock).

    Args:
        keep_matches: How many matches' ``match_quality`` to keep (the most recent).
        keep_drift: How many ``drift`` messages to keep.
    """

    def __init__(self, keep_matches: int = 50, keep_drift: int = 20) -> None:
        self._lock = threading.Lock()
        self._quality: OrderedDict[int, dict] = OrderedDict()
        self._drift: deque[dict] = deque(maxlen=keep_drift)
        self._event: dict | None = None
        self.keep_matches = keep_matches
        self.quality_seen = 0

    def add(self, body: dict) -> str:
        """Keep one message of :data:`PANEL_KINDS`.

        Returns:
            ``quality``, ``drift`` or ``model`` (a model event); ``bad`` for a
            ``match_quality`` without an integer match id, ``ignored`` for another kind.
        """
        kind = body.get("kind")
        with self._lock:
            if kind == "match_quality":
                return self._add_quality(body)
            if kind == "drift":
                self._drift.appendleft(dict(body))
                return "drift"
            if kind in MODEL_KINDS:
                if self._event is None or (body.get("at") or 0) >= (self._event.get("at") or 0):
                    self._event = dict(body)
                return "model"
        return "ignored"

    def _add_quality(self, body: dict) -> str:
        try:
            match_id = int(body["match_id"])
        except (KeyError, TypeError, ValueError):
            return "bad"
        self.quality_seen += 1
        self._quality.pop(match_id, None)  # a match labelled again moves to the end
        self._quality[match_id] = dict(body)
        while len(self._quality) > self.keep_matches:
            self._quality.popitem(last=False)
        return "quality"

    def panel(self) -> QualityPanel:
        """A copy of what the panel shows."""
        with self._lock:
            return QualityPanel(
                quality=sorted(self._quality.values(), key=lambda b: b.get("at") or 0),
                drift=list(self._drift),
                last_event=dict(self._event) if self._event else None,
                quality_seen=self.quality_seen,
            )


def matches_frame(panel: QualityPanel, newest_first: bool = True) -> pd.DataFrame:
    """The panel's matches as a table (:data:`inplay.reporting.mlops_plots.QUALITY_COLUMNS`).

    Args:
        panel: :meth:`ModelQuality.panel`.
        newest_first: Newest match on top (the page's table); else in the order they ended
            (for :func:`inplay.reporting.mlops_plots.live_quality_figure`).
    """
    table = quality_table(pd.DataFrame(panel.quality))
    return table.iloc[::-1].reset_index(drop=True) if newest_first else table


def rolling_items(panel: QualityPanel) -> list[tuple[str, str, str]]:
    """The current rolling figures as ``(label, value, help)``; [] before any match ended."""
    latest = panel.latest
    rolling = (latest or {}).get("rolling")
    if not isinstance(rolling, dict):
        return []
    window = f"over the latest {rolling.get('n_matches', 0)} matches"

    def number(value: object, digits: int = 3, signed: bool = False) -> str:
        if not isinstance(value, int | float):
            return "–"
        return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"

    items = [
        (f"Rolling {name.replace('_', ' ')}", number(rolling.get(name)), f"mean per match {window}")
        for name in ("log_loss", "brier", "rps")
    ]
    calibration = rolling.get("calibration") or {}
    items += [
        (
            f"Calibration {key}",
            number(calibration.get(key), signed=True),
            f"mean of p({key}) - 1[{key}] over the minute rows {window}; above 0: over-predicted",
        )
        for key in ("home", "draw", "away")
    ]
    return items


def drift_alerts(panel: QualityPanel) -> list[str]:
    """One line per drift alert of the current model (the newest match's), newest first."""
    latest = panel.latest
    version = (latest or {}).get("model_version")
    return [
        f"{d.get('statistic')} = {d.get('value', float('nan')):.3f} outside "
        f"[{d.get('low', float('nan')):.3f}, {d.get('high', float('nan')):.3f}] "
        f"(window {d.get('window')}, after match {d.get('match_id')})"
        for d in panel.drift
        if version is None or d.get("model_version") == version
    ]


def last_event_text(panel: QualityPanel, now: float | None = None) -> str | None:
    """The last model event in one line (``model_promoted ...: detail``); None without one."""
    event = panel.last_event
    if event is None:
        return None
    now = time.time() if now is None else now
    at = event.get("at")
    when = f" ({ago(now - at)})" if isinstance(at, int | float) else ""
    return f"{event.get('kind')}{when}: {event_detail(event)}"

"""What a scoring worker counts, its statistics message, and the readers' view of those messages.

:class:`ScoreStats` is a worker's tally; :func:`stats_body` turns it into the ``kind: "stats"``
message (:data:`inplay.live.messages.STATS`) the worker publishes every few seconds;
:func:`keep_latest_stats` is how every reader (dashboard feed, ``inplay monitor``, the soak
benchmark) keeps the latest statistics of each worker.
"""

from __future__ import annotations

import re
import time
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from inplay.live.messages import STATS_COUNTS

__all__ = [
    "LATENCY_WINDOW",
    "ScoreStats",
    "percentiles",
    "reason_category",
    "stats_body",
    "keep_latest_stats",
]

#: Latency percentiles are computed over this many most recent predictions.
LATENCY_WINDOW = 50_000


def percentiles(
    values: Iterable[float], qs: tuple[float, ...] = (50, 95, 99), digits: int = 3
) -> dict[str, float | None]:
    """``{"p50": ..., "p95": ..., "p99": ...}`` of the finite ``values`` (None when none).

    Args:
        values: The numbers (NaN and infinities are left out).
        qs: The percentiles wanted, 0-100; the keys are ``f"p{q:g}"``.
        digits: Decimals the percentiles are rounded to.
    """
    arr = np.fromiter(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return {f"p{q:g}": None for q in qs}
    return {f"p{q:g}": round(float(np.percentile(arr, q)), digits) for q in qs}


def reason_category(reason: str) -> str:
    """A quarantine reason without its particulars (values, ids, numbers): a bounded key.

    ``"match 3869685 already ended (event index 12)"`` -> ``"match … already ended (event
    index …)"``; the text before the first colon only.
    """
    head = reason.split(":")[0]
    return re.sub(r"'[^']*'|\"[^\"]*\"|-?\d+(?:\.\d+)?", "…", head).strip()[:80]


@dataclass
class ScoreStats:
    """What a scoring run did.

    ``consumed == scored + ignored + quarantined + duplicates + ended`` always holds.
    ``scored`` includes the shoot-out kicks of knockout matches (each gets a result with the
    P(advance) after it); ``ignored`` counts the other shoot-out events (period 5), and the
    kicks of a match not marked knockout.
    """

    consumed: int = 0
    scored: int = 0
    duplicates: int = 0
    late: int = 0
    ignored: int = 0
    ended: int = 0
    quarantined: int = 0
    rebuilt: int = 0
    restored: int = 0  # match states restored from the changelog
    changelog_reads: int = 0  # changelog records decoded by restores
    restored_partitions: int = 0  # partitions restored from the changelog
    rebalances: int = 0
    commit_failures: int = 0
    publish_retries: int = 0
    reasons: Counter = field(default_factory=Counter)
    # The latest LATENCY_WINDOW values only: a long-running worker must not grow per event.
    latencies_ms: deque = field(default_factory=lambda: deque(maxlen=LATENCY_WINDOW))
    processing_ms: deque = field(default_factory=lambda: deque(maxlen=LATENCY_WINDOW))
    seconds: float = 0.0
    active_seconds: float = 0.0
    matches: int = 0  # matches taken up (again after a rebalance); a count, not a set

    def count(self, status: str) -> bool:
        """Count a non-scoring outcome of :meth:`inplay.features.MatchState.apply`.

        Returns:
            Whether the event is to be scored (``applied``, ``late`` or ``kick``: a
            shoot-out kick of a knockout match).
        """
        if status in ("duplicate", "ignored", "ended"):
            name = "duplicates" if status == "duplicate" else status
            setattr(self, name, getattr(self, name) + 1)
            return False
        if status == "late":
            self.late += 1
        return True

    def quarantine(self, reason: str) -> None:
        """Count a quarantined message under its reason's category."""
        self.quarantined += 1
        self.reasons[reason_category(reason)] += 1

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe summary (latency percentiles, not every latency)."""
        out: dict[str, Any] = {name: getattr(self, name) for name in STATS_COUNTS}
        out.update(
            reasons=dict(self.reasons),
            matches=self.matches,
            restored=self.restored,
            changelog_reads=self.changelog_reads,
            restored_partitions=self.restored_partitions,
            seconds=round(self.seconds, 3),
            active_seconds=round(self.active_seconds, 3),
            events_per_second=(
                round(self.consumed / self.active_seconds, 1) if self.active_seconds else None
            ),
            latency_ms=percentiles(self.latencies_ms),
            processing_ms=percentiles(self.processing_ms),
        )
        return out

    def summary(self) -> str:
        """One line for people."""
        d = self.as_dict()
        lat = d["latency_ms"]
        proc = d["processing_ms"]
        lat_text = (
            f", end-to-end latency p50 {lat['p50']:.1f} ms / p99 {lat['p99']:.1f} ms"
            if lat["p50"] is not None
            else ""
        )
        if proc["p50"] is not None:
            lat_text += f", in-worker p50 {proc['p50']:.1f} ms / p99 {proc['p99']:.1f} ms"
        return (
            f"consumed {self.consumed:,} events from {d['matches']} matches, scored "
            f"{self.scored:,}, quarantined {self.quarantined}, duplicates {self.duplicates}, "
            f"late {self.late}, shoot-out ignored {self.ignored}, ended {self.ended} in "
            f"{self.seconds:.1f} s ({d['events_per_second'] or 0:,.0f} events/s while busy)"
            f"{lat_text}"
        )


def stats_body(
    stats: ScoreStats,
    *,
    worker: str,
    model_version: str,
    interval: float,
    consumed_then: int,
    lag: dict[str, int],
    live_matches: int,
    partitions: list[int],
    client: str,
) -> dict[str, Any]:
    """The ``kind: "stats"`` message (:data:`inplay.live.messages.STATS`).

    Args:
        stats: The worker's tally.
        worker: The worker's id.
        model_version: The model it scores with.
        interval: Seconds since its previous statistics message.
        consumed_then: ``stats.consumed`` at the previous message.
        lag: Consumer lag per partition (keys are partition numbers as text).
        live_matches: Matches whose state it holds.
        partitions: Its assigned partitions.
        client: The Kafka client library.
    """
    body: dict[str, Any] = {"kind": "stats", "worker": worker, "model_version": model_version}
    body.update(stats.as_dict())
    body["interval_seconds"] = round(interval, 3)
    body["interval_events_per_second"] = round((stats.consumed - consumed_then) / interval, 1)
    body["lag"] = lag
    body["live_matches"] = live_matches
    body["partitions"] = partitions
    body["client"] = client
    body["at"] = time.time()
    return body


def _at(body: Mapping[str, Any]) -> float:
    at = body.get("at")
    return float(at) if isinstance(at, int | float) and not isinstance(at, bool) else 0.0


def keep_latest_stats(latest: dict[str, dict], body: dict) -> dict | None:
    """Keep ``body`` (a ``kind: "stats"`` message) as its worker's latest statistics.

    An older message (by ``at``) read after a newer one of the same worker is not kept.

    Args:
        latest: Worker id -> its latest statistics message; updated in place.
        body: A decoded monitoring message.

    Returns:
        The message it replaced (None if none, or if ``body`` was not kept).
    """
    if body.get("kind") != "stats":
        return None
    worker = str(body.get("worker", "?"))
    previous = latest.get(worker)
    if previous is not None and _at(body) < _at(previous):
        return None
    latest[worker] = body
    return previous

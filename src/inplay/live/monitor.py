"""``inplay monitor``: a live table of the scoring workers, from ``ml-pipeline-monitoring``.

Every worker publishes a ``kind: "stats"`` message every few seconds (see
:mod:`inplay.live.messages`); quarantined messages are ``kind: "quarantine"``. The monitor reads the
topic without joining a group (so any number of monitors can watch) and keeps the latest
statistics per worker.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pandas as pd

from inplay import config
from inplay.live.messages import decode
from inplay.live.stats import keep_latest_stats

__all__ = ["MonitorState", "follow", "stats_table", "run_monitor"]


@dataclass
class MonitorState:
    """What the monitor has seen: the latest stats per worker and the quarantine count."""

    workers: dict[str, dict] = field(default_factory=dict)
    quarantined: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    messages: int = 0

    def add(self, body: dict) -> None:
        """Take one monitoring message into account."""
        self.messages += 1
        kind = body.get("kind")
        if kind == "stats":
            keep_latest_stats(self.workers, body)
        elif kind == "quarantine":
            self.quarantined += 1
            reason = str(body.get("reason", "?")).split(":")[0]
            self.reasons[reason] = self.reasons.get(reason, 0) + 1


def follow(
    bootstrap: str | None = None,
    topic: str = config.TOPIC_MONITORING,
    from_beginning: bool = True,
    poll_seconds: float = 1.0,
) -> Iterator[list[dict]]:
    """Yield the new monitoring messages (decoded) every ``poll_seconds``, forever."""
    from kafka import TopicPartition

    from inplay.kafka.io import make_consumer

    consumer = make_consumer(group_id=None, bootstrap=bootstrap, enable_auto_commit=False)
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        if not parts:
            raise config.ConfigError(
                f"topic {topic!r} does not exist on {bootstrap or 'the configured broker'}: "
                "create the topics with `inplay topics create`."
            )
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        if from_beginning:
            consumer.seek_to_beginning(*tps)
        else:
            consumer.seek_to_end(*tps)
        while True:
            batch = consumer.poll(timeout_ms=int(poll_seconds * 1000))
            out = []
            for records in batch.values():
                out += [body for r in records if (body := decode(r.value)) is not None]
            yield out
    finally:
        consumer.close()


def stats_table(state: MonitorState, now: float | None = None) -> pd.DataFrame:
    """One row per worker: throughput, latency, lag, quarantined, age of its last report."""
    now = time.time() if now is None else now
    rows = []
    for worker, s in sorted(state.workers.items()):
        latency = s.get("latency_ms") or {}
        lag = s.get("lag") or {}
        rows.append(
            {
                "worker": worker[-24:],
                "model": s.get("model_version"),
                "consumed": s.get("consumed"),
                "scored": s.get("scored"),
                "quarantined": s.get("quarantined"),
                "events/s": s.get("events_per_second"),
                "p50 ms": latency.get("p50"),
                "p95 ms": latency.get("p95"),
                "p99 ms": latency.get("p99"),
                "lag": sum(int(v) for v in lag.values()) if lag else 0,
                "age s": round(now - float(s.get("at", now)), 1),
            }
        )
    return pd.DataFrame(rows)


def run_monitor(
    bootstrap: str | None = None,
    topic: str = config.TOPIC_MONITORING,
    refresh: float = 2.0,
    duration: float | None = None,
    from_beginning: bool = True,
    out=None,
) -> MonitorState:
    """Print the worker table every ``refresh`` seconds until Ctrl-C or ``duration`` runs out."""
    out = out or sys.stdout
    state = MonitorState()
    start = last = time.monotonic()
    clear = "\033[2J\033[H" if getattr(out, "isatty", lambda: False)() else ""
    try:
        for messages in follow(bootstrap, topic, from_beginning, poll_seconds=min(refresh, 1.0)):
            for body in messages:
                state.add(body)
            now = time.monotonic()
            if now - last >= refresh:
                last = now
                table = stats_table(state)
                header = (
                    f"inplay monitor: {topic}, {len(state.workers)} workers, "
                    f"{state.quarantined} quarantined {state.reasons or ''}"
                )
                body = table.to_string(index=False) if not table.empty else "(no stats yet)"
                out.write(f"{clear}{header}\n{body}\n")
                out.flush()
            if duration is not None and now - start >= duration:
                break
    except KeyboardInterrupt:
        pass
    return state

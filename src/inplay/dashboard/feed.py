"""Incremental reading of the results and monitoring topics into in-memory tables.

:class:`LiveFeed` keeps one kafka-python consumer open and, on every :meth:`LiveFeed.poll`,
reads only what arrived since the previous poll. Predictions are kept one per
``(match_id, event_index)`` (delivery is at-least-once, the last copy wins, repeats are
counted); the latest statistics message of each scoring worker and the most recent quarantined
messages are kept for the monitoring panel.

Consumer choice: the feed *assigns* every partition of both topics itself and reads from the
beginning, with no consumer group and no commits. A shared group (``streamlit_consumer``)
would split the partitions, hence the matches, between concurrent viewers, and its committed
offsets would hide the history from the next viewer or a reloaded page. The Streamlit app keeps
one feed per server process (``st.cache_resource``) shared by every viewer: one consumer, one
copy of the tables, the whole history for anyone who opens the page.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import orjson
import pandas as pd

from inplay import config

__all__ = ["RESULT_FIELDS", "MonitoringSummary", "LiveFeed"]

# The fields of a result message the dashboard keeps (the rest is dropped to save memory).
RESULT_FIELDS: tuple[str, ...] = (
    "match_id",
    "event_index",
    "event_type",
    "minute",
    "period",
    "clock",
    "elapsed_seconds",
    "home_team",
    "away_team",
    "home_goals",
    "away_goals",
    "home_red_cards",
    "away_red_cards",
    "home_xg",
    "away_xg",
    "p_home",
    "p_draw",
    "p_away",
    "model_version",
    "latency_ms",
    "scored_at",
)
_REQUIRED = ("match_id", "event_index", "p_home", "p_draw", "p_away")


@dataclass
class MonitoringSummary:
    """The scorer's health, from the latest statistics message of each worker.

    Attributes:
        workers: Number of scoring workers heard from.
        consumed, scored, quarantined, duplicates, late: Totals over the workers.
        events_per_second: Events consumed per second over the last statistics interval
            (summed over workers; None before two messages of one worker).
        busy_events_per_second: The workers' own figure: consumed / busy seconds.
        latency_p50_ms, latency_p99_ms: End-to-end latency (event sent -> prediction published),
            the worst worker's percentile.
        lag: Consumer lag summed over the workers' partitions.
        stats_age_s: Seconds since the newest statistics message (None if none).
        model_versions: The workers' model versions.
        quarantine: The most recent quarantined messages, newest first.
        quarantine_seen: Quarantine messages read from the topic.
    """

    workers: int = 0
    consumed: int = 0
    scored: int = 0
    quarantined: int = 0
    duplicates: int = 0
    late: int = 0
    events_per_second: float | None = None
    busy_events_per_second: float | None = None
    latency_p50_ms: float | None = None
    latency_p99_ms: float | None = None
    lag: int = 0
    stats_age_s: float | None = None
    model_versions: list[str] = field(default_factory=list)
    quarantine: list[dict] = field(default_factory=list)
    quarantine_seen: int = 0


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


class LiveFeed:
    """The results and monitoring topics, read incrementally into memory.

    Thread-safe: every public method holds the feed's lock, so several Streamlit sessions may
    share one feed.

    Args:
        bootstrap: Kafka bootstrap servers; None = :func:`inplay.kafka.io.bootstrap_servers`
            at connection time (``KAFKA_BOOTSTRAP_SERVERS`` or the embedded broker).
        results_topic: Where predictions are read.
        monitoring_topic: Where statistics and quarantined messages are read.
        since: Epoch seconds; predictions scored and statistics sent before it are ignored.
        start: ``earliest`` reads each topic's history, ``latest`` only new messages.
        client_id: The consumer's client id (shows in broker logs).
        connect_timeout_ms: How long one connection attempt may take.
        retry_seconds: Pause between connection attempts after a failure.
        keep_quarantine: How many quarantined messages to keep.
    """

    def __init__(
        self,
        bootstrap: str | None = None,
        results_topic: str = config.TOPIC_RESULTS,
        monitoring_topic: str = config.TOPIC_MONITORING,
        *,
        since: float | None = None,
        start: str = "earliest",
        client_id: str = config.DASHBOARD_GROUP,
        connect_timeout_ms: int = 3000,
        retry_seconds: float = 5.0,
        keep_quarantine: int = 100,
    ) -> None:
        if start not in {"earliest", "latest"}:
            raise config.ConfigError(f"start must be 'earliest' or 'latest', got {start!r}")
        self.bootstrap = bootstrap
        self.results_topic = results_topic
        self.monitoring_topic = monitoring_topic
        self.since = since
        self.start = start
        self.client_id = client_id
        self.connect_timeout_ms = connect_timeout_ms
        self.retry_seconds = retry_seconds
        self._lock = threading.RLock()
        self._consumer = None
        self._assigned: set = set()
        self._topics_checked = 0.0
        self._next_connect = 0.0
        self.connected_to: str | None = None
        self.error: str | None = None
        self.missing_topics: list[str] = [results_topic, monitoring_topic]
        # Predictions: match -> event_index -> row; the latest row (by offset) per match.
        self._rows: dict[int, dict[int, dict]] = {}
        self._latest: dict[int, dict] = {}
        self._order: list[int] = []
        self.received = 0
        self.duplicates = 0
        self.ignored = 0
        self.bad_messages = 0
        self.last_message_at: float | None = None
        # Monitoring: worker -> latest stats (and the one before, for a recent rate).
        self._stats: dict[str, dict] = {}
        self._previous_stats: dict[str, dict] = {}
        self._quarantine: deque[dict] = deque(maxlen=keep_quarantine)
        self.quarantine_seen = 0

    # -- ingesting (pure: no Kafka) -----------------------------------------------------------
    def ingest(self, topic: str, value: bytes | None, offset: int = 0, partition: int = 0) -> str:
        """Take one message of either topic into the tables.

        Args:
            topic: The topic it came from.
            value: The message bytes (JSON).
            offset: Its offset (orders a match's predictions: one match = one partition).
            partition: Its partition.

        Returns:
            What happened: ``new``, ``duplicate``, ``stats``, ``quarantine``, ``old`` (before
            ``since``), ``ignored`` (another kind) or ``bad`` (not a JSON object).
        """
        with self._lock:
            self.last_message_at = time.time()
            try:
                body = orjson.loads(value) if value is not None else None
            except orjson.JSONDecodeError:
                body = None
            if not isinstance(body, dict):
                self.bad_messages += 1
                return "bad"
            if topic == self.results_topic and all(k in body for k in _REQUIRED):
                return self._ingest_result(body, offset, partition)
            kind = body.get("kind")
            if kind == "stats":
                return self._ingest_stats(body)
            if kind == "quarantine":
                return self._ingest_quarantine(body)
            self.ignored += 1
            return "ignored"

    def _old(self, at: Any) -> bool:
        at = _number(at)
        return self.since is not None and at is not None and at < self.since

    def _ingest_result(self, body: dict, offset: int, partition: int) -> str:
        if self._old(body.get("scored_at")):
            return "old"
        try:
            match_id, index = int(body["match_id"]), int(body["event_index"])
        except (TypeError, ValueError):
            self.bad_messages += 1
            return "bad"
        row = {k: body.get(k) for k in RESULT_FIELDS}
        row["match_id"], row["event_index"] = match_id, index
        row["_partition"], row["_offset"] = partition, offset
        row["_received_at"] = time.time()
        self.received += 1
        rows = self._rows.get(match_id)
        if rows is None:
            rows = self._rows[match_id] = {}
            self._order.append(match_id)
        status = "duplicate" if index in rows else "new"
        if status == "duplicate":
            self.duplicates += 1
        rows[index] = row
        latest = self._latest.get(match_id)
        if latest is None or (partition, offset) >= (latest["_partition"], latest["_offset"]):
            self._latest[match_id] = row
        return status

    def _ingest_stats(self, body: dict) -> str:
        if self._old(body.get("at")):
            return "old"
        worker = str(body.get("worker", "?"))
        previous = self._stats.get(worker)
        if previous is not None and (_number(body.get("at")) or 0) < (
            _number(previous.get("at")) or 0
        ):
            return "stats"  # an older message read after a newer one
        if previous is not None:
            self._previous_stats[worker] = previous
        self._stats[worker] = body
        return "stats"

    def _ingest_quarantine(self, body: dict) -> str:
        if self._old(body.get("quarantined_at")):
            return "old"
        self.quarantine_seen += 1
        value = str(body.get("value", ""))
        self._quarantine.appendleft(
            {
                "at": body.get("quarantined_at"),
                "reason": body.get("reason"),
                "topic": body.get("topic"),
                "partition": body.get("partition"),
                "offset": body.get("offset"),
                "key": body.get("key"),
                "value": value if len(value) <= 120 else value[:117] + "...",
            }
        )
        return "quarantine"

    # -- Kafka --------------------------------------------------------------------------------
    def _connect(self) -> bool:
        from inplay.kafka import io as kafka_io
        from inplay.kafka.clients.base import FETCH_MAX_WAIT_MS

        if self._consumer is not None:
            return True
        now = time.monotonic()
        if now < self._next_connect:
            return False
        try:
            bootstrap = self.bootstrap or kafka_io.bootstrap_servers()
            self._consumer = kafka_io.make_consumer(
                group_id=None,
                bootstrap=bootstrap,
                client_id=self.client_id,
                allow_auto_create_topics=False,
                enable_auto_commit=False,
                auto_offset_reset=self.start,
                bootstrap_timeout_ms=self.connect_timeout_ms,
                request_timeout_ms=max(5000, self.connect_timeout_ms + 1000),
                max_poll_records=2000,
                fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
            )
        except Exception as exc:  # noqa: BLE001 - shown in the page, retried later
            self.error = str(exc)
            self.connected_to = None
            self._next_connect = now + self.retry_seconds
            return False
        self.connected_to = bootstrap
        self.error = None
        return True

    def _assign_new_partitions(self) -> None:
        from kafka import TopicPartition

        now = time.monotonic()
        if not self.missing_topics and now - self._topics_checked < 30.0:
            return
        if self.missing_topics and now - self._topics_checked < 1.0:
            return
        self._topics_checked = now
        consumer = self._consumer
        consumer.topics()  # refreshes the metadata
        found, missing = set(), []
        for topic in (self.results_topic, self.monitoring_topic):
            parts = consumer.partitions_for_topic(topic)
            if not parts:
                missing.append(topic)
                continue
            found.update(TopicPartition(topic, p) for p in parts)
        self.missing_topics = missing
        new = found - self._assigned
        if not new:
            return
        self._assigned |= new
        consumer.assign(sorted(self._assigned, key=lambda tp: (tp.topic, tp.partition)))
        if self.start == "earliest":
            consumer.seek_to_beginning(*new)
        else:
            consumer.seek_to_end(*new)

    def poll(self, budget: float = 1.0) -> int:
        """Read what arrived since the last poll, for at most ``budget`` seconds.

        Connection problems are not raised: they are kept in :attr:`error` (shown by the app)
        and the connection is retried on a later poll.

        Returns:
            The number of messages read.
        """
        with self._lock:
            if not self._connect():
                return 0
            read = 0
            deadline = time.monotonic() + budget
            try:
                self._assign_new_partitions()
                if not self._assigned:
                    return 0
                while True:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    batches = self._consumer.poll(timeout_ms=int(min(remaining, 0.2) * 1000))
                    count = 0
                    for tp, records in batches.items():
                        for record in records:
                            self.ingest(tp.topic, record.value, record.offset, tp.partition)
                            count += 1
                    read += count
                    if count == 0:
                        break
                self.error = None
            except Exception as exc:  # noqa: BLE001 - the page says what happened
                self.error = f"reading from Kafka failed: {exc}"
                self._close_consumer()
                self._next_connect = time.monotonic() + self.retry_seconds
            return read

    def reachable(self) -> bool:
        """Whether the consumer has a live connection to some broker (best effort)."""
        with self._lock:
            if self._consumer is None:
                return False
            try:
                client = self._consumer._client  # noqa: SLF001 - no public call tells this
                return any(client.connected(b.nodeId) for b in client.cluster.brokers())
            except Exception:  # noqa: BLE001
                return True

    def _close_consumer(self) -> None:
        if self._consumer is not None:
            try:
                self._consumer.close()
            except Exception:  # noqa: BLE001, S110 - closing a broken consumer
                pass
        self._consumer = None
        self._assigned = set()
        self._topics_checked = 0.0

    def close(self) -> None:
        """Close the consumer (the tables stay)."""
        with self._lock:
            self._close_consumer()

    # -- views --------------------------------------------------------------------------------
    def match_ids(self) -> list[int]:
        """Matches in the order their first prediction arrived."""
        with self._lock:
            return list(self._order)

    def matches(self) -> pd.DataFrame:
        """One row per match: its latest prediction, plus ``n_predictions``.

        Columns are :data:`RESULT_FIELDS` and ``n_predictions``, ``updated_at`` (when the
        dashboard received the latest prediction); empty frame when nothing arrived.
        """
        with self._lock:
            rows = []
            for match_id in self._order:
                latest = dict(self._latest[match_id])
                latest["n_predictions"] = len(self._rows[match_id])
                latest["updated_at"] = latest.pop("_received_at")
                rows.append(latest)
        columns = [*RESULT_FIELDS, "n_predictions", "updated_at"]
        frame = pd.DataFrame(rows, columns=[*columns, "_partition", "_offset"])
        return frame[columns]

    def match_results(self, match_id: int) -> pd.DataFrame:
        """Every prediction of one match (one per event), in the order they were published."""
        with self._lock:
            rows = list(self._rows.get(match_id, {}).values())
        frame = pd.DataFrame(rows, columns=[*RESULT_FIELDS, "_partition", "_offset"])
        if frame.empty:
            return frame
        return frame.sort_values(["_partition", "_offset"]).reset_index(drop=True)

    def monitoring(self, now: float | None = None) -> MonitoringSummary:
        """The scorer's health from the latest statistics of each worker."""
        now = time.time() if now is None else now
        with self._lock:
            stats = list(self._stats.items())
            previous = dict(self._previous_stats)
            summary = MonitoringSummary(
                quarantine=list(self._quarantine), quarantine_seen=self.quarantine_seen
            )
        summary.workers = len(stats)
        rates, busy, p50s, p99s, ats = [], [], [], [], []
        for worker, body in stats:
            for name in ("consumed", "scored", "quarantined", "duplicates", "late"):
                value = _number(body.get(name))
                setattr(summary, name, getattr(summary, name) + int(value or 0))
            lag = body.get("lag") or {}
            if isinstance(lag, dict):
                summary.lag += int(sum(v for v in lag.values() if _number(v) is not None))
            latency = body.get("latency_ms") or {}
            if isinstance(latency, dict):
                p50s.append(_number(latency.get("p50")))
                p99s.append(_number(latency.get("p99")))
            busy.append(_number(body.get("events_per_second")))
            at = _number(body.get("at"))
            if at is not None:
                ats.append(at)
            before = previous.get(worker)
            if before is not None:
                dt = (at or 0.0) - (_number(before.get("at")) or 0.0)
                dc = (_number(body.get("consumed")) or 0.0) - (
                    _number(before.get("consumed")) or 0.0
                )
                if dt > 0:
                    rates.append(max(0.0, dc / dt))
            version = body.get("model_version")
            if version and version not in summary.model_versions:
                summary.model_versions.append(str(version))
        summary.events_per_second = sum(rates) if rates else None
        busy = [b for b in busy if b is not None]
        summary.busy_events_per_second = sum(busy) if busy else None
        p50s = [p for p in p50s if p is not None]
        p99s = [p for p in p99s if p is not None]
        summary.latency_p50_ms = max(p50s) if p50s else None
        summary.latency_p99_ms = max(p99s) if p99s else None
        summary.stats_age_s = now - max(ats) if ats else None
        return summary

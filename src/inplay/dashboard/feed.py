"""Incremental reading of the results and monitoring topics into in-memory tables.

:class:`LiveFeed` keeps one kafka-python consumer open and, on every :meth:`LiveFeed.poll`,
reads only what arrived since the previous poll. Predictions are kept one per
``(match_id, event_index)`` (delivery is at-least-once, the last copy wins, repeats are
counted); the latest statistics message of each scoring worker and the most recent quarantined
messages are kept for the monitoring panel, and the live quality worker's and the retrain's
messages for the model-quality panel (:class:`inplay.dashboard.quality.ModelQuality`).

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

import pandas as pd

from inplay import config
from inplay.dashboard.quality import PANEL_KINDS, ModelQuality
from inplay.live import messages
from inplay.live.stats import keep_latest_stats

__all__ = ["RESULT_FIELDS", "MonitoringSummary", "LiveFeed"]

# The fields of a result message the dashboard keeps (the rest is dropped to save memory).
RESULT_FIELDS: tuple[str, ...] = tuple(f for f in messages.RESULT.names if f != "processing_ms")
_REQUIRED = (*messages.PREDICTION_KEY, "p_home", "p_draw", "p_away")


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


class Predictions:
    """Predictions one per ``(match_id, event_index)``, the last copy winning; not thread-safe.

    Attributes:
        received: Result messages taken in.
        duplicates: Of those, repeats of a prediction already held.
    """

    def __init__(self) -> None:
        # match -> event_index -> row; the latest row (by offset) per match.
        self._rows: dict[int, dict[int, dict]] = {}
        self._latest: dict[int, dict] = {}
        self._order: list[int] = []
        self.received = 0
        self.duplicates = 0

    def add(self, body: dict, offset: int, partition: int) -> str:
        """Keep one result message; ``new``, ``duplicate`` or ``bad`` (ids not integers)."""
        try:
            match_id, index = int(body["match_id"]), int(body["event_index"])
        except (TypeError, ValueError):
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

    def match_ids(self) -> list[int]:
        """Matches in the order their first prediction arrived."""
        return list(self._order)

    def latest_rows(self) -> list[dict]:
        """Each match's latest prediction with ``n_predictions`` and ``updated_at``."""
        rows = []
        for match_id in self._order:
            latest = dict(self._latest[match_id])
            latest["n_predictions"] = len(self._rows[match_id])
            latest["updated_at"] = latest.pop("_received_at")
            rows.append(latest)
        return rows

    def rows(self, match_id: int) -> list[dict]:
        """Every prediction of one match."""
        return list(self._rows.get(match_id, {}).values())


class Monitoring:
    """The latest statistics of each worker (and the one before) and recent quarantines.

    Not thread-safe. Args:
        keep_quarantine: How many quarantined messages to keep.
    """

    def __init__(self, keep_quarantine: int = 100) -> None:
        self.stats: dict[str, dict] = {}
        self.previous_stats: dict[str, dict] = {}
        self.quarantine: deque[dict] = deque(maxlen=keep_quarantine)
        self.quarantine_seen = 0

    def add_stats(self, body: dict) -> str:
        """Keep a statistics message (unless older than the worker's latest)."""
        replaced = keep_latest_stats(self.stats, body)
        if replaced is not None:
            self.previous_stats[str(body.get("worker", "?"))] = replaced
        return "stats"

    def add_quarantine(self, body: dict) -> str:
        """Keep a quarantined message, its value cut to 120 characters."""
        self.quarantine_seen += 1
        value = str(body.get("value", ""))
        self.quarantine.appendleft(
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

    def summary(self, now: float) -> MonitoringSummary:
        """The scorer's health from the latest statistics of each worker."""
        summary = MonitoringSummary(
            workers=len(self.stats),
            quarantine=list(self.quarantine),
            quarantine_seen=self.quarantine_seen,
        )
        rates, busy, p50s, p99s, ats = [], [], [], [], []
        for worker, body in self.stats.items():
            _add_totals(summary, body)
            latency = body.get("latency_ms") or {}
            if isinstance(latency, dict):
                p50s.append(_number(latency.get("p50")))
                p99s.append(_number(latency.get("p99")))
            busy.append(_number(body.get("events_per_second")))
            ats.append(_number(body.get("at")))
            rates.append(_rate(self.previous_stats.get(worker), body))
        summary.events_per_second = _total(rates)
        summary.busy_events_per_second = _total(busy)
        summary.latency_p50_ms = _worst(p50s)
        summary.latency_p99_ms = _worst(p99s)
        newest = _worst(ats)
        summary.stats_age_s = now - newest if newest is not None else None
        return summary


def _add_totals(summary: MonitoringSummary, body: dict) -> None:
    """Add one worker's counts, lag and model version to the summary."""
    for name in ("consumed", "scored", "quarantined", "duplicates", "late"):
        value = _number(body.get(name))
        setattr(summary, name, getattr(summary, name) + int(value or 0))
    lag = body.get("lag") or {}
    if isinstance(lag, dict):
        summary.lag += int(sum(v for v in lag.values() if _number(v) is not None))
    version = body.get("model_version")
    if version and version not in summary.model_versions:
        summary.model_versions.append(str(version))


def _rate(before: dict | None, body: dict) -> float | None:
    """Events consumed per second between two statistics messages of one worker."""
    if before is None:
        return None
    dt = (_number(body.get("at")) or 0.0) - (_number(before.get("at")) or 0.0)
    dc = (_number(body.get("consumed")) or 0.0) - (_number(before.get("consumed")) or 0.0)
    return max(0.0, dc / dt) if dt > 0 else None


def _total(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _worst(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None


class _Assignment:
    """Every partition of the feed's topics, assigned to its consumer as they appear.

    Args:
        topics: The topics to read.
        start: ``earliest`` or ``latest``: where a new partition is read from.
    """

    def __init__(self, topics: list[str], start: str) -> None:
        self.topics = topics
        self.start = start
        self.missing: list[str] = list(topics)
        self.reset()

    def reset(self) -> None:
        """Forget the assignment (a new consumer)."""
        self.assigned: set = set()
        self.checked = 0.0

    def refresh(self, consumer) -> bool:
        """Assign new partitions; returns whether any partition is assigned.

        The topics are looked up every 30 s, every second while one is missing.
        """
        from kafka import TopicPartition

        now = time.monotonic()
        if now - self.checked < (1.0 if self.missing else 30.0):
            return bool(self.assigned)
        self.checked = now
        consumer.topics()  # refreshes the metadata
        found, missing = set(), []
        for topic in self.topics:
            parts = consumer.partitions_for_topic(topic)
            if not parts:
                missing.append(topic)
            found.update(TopicPartition(topic, p) for p in parts or ())
        self.missing = missing
        new = found - self.assigned
        if new:
            self.assigned |= new
            consumer.assign(sorted(self.assigned, key=lambda tp: (tp.topic, tp.partition)))
            seek = consumer.seek_to_beginning if self.start == "earliest" else consumer.seek_to_end
            seek(*new)
        return bool(self.assigned)


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
        self._topics = _Assignment([results_topic, monitoring_topic], start)
        self._next_connect = 0.0
        self.connected_to: str | None = None
        self.error: str | None = None
        self.predictions = Predictions()
        self.monitor = Monitoring(keep_quarantine)
        self.quality = ModelQuality()  # the model-quality panel's messages (its own lock)
        self.ignored = 0
        self.bad_messages = 0
        self.last_message_at: float | None = None

    @property
    def missing_topics(self) -> list[str]:
        """The topics not found on the broker at the latest check."""
        return self._topics.missing

    @property
    def received(self) -> int:
        """Result messages taken in."""
        return self.predictions.received

    @property
    def duplicates(self) -> int:
        """Result messages that repeated a prediction already held."""
        return self.predictions.duplicates

    @property
    def quarantine_seen(self) -> int:
        """Quarantine messages read from the topic."""
        return self.monitor.quarantine_seen

    # -- ingesting (pure: no Kafka) -----------------------------------------------------------
    def ingest(self, topic: str, value: bytes | None, offset: int = 0, partition: int = 0) -> str:
        """Take one message of either topic into the tables.

        Args:
            topic: The topic it came from.
            value: The message bytes (JSON).
            offset: Its offset (orders a match's predictions: one match = one partition).
            partition: Its partition.

        Returns:
            What happened: ``new``, ``duplicate``, ``stats``, ``quarantine``, ``quality``,
            ``drift``, ``model``, ``old`` (before ``since``), ``ignored`` (another kind) or
            ``bad`` (not a JSON object).
        """
        with self._lock:
            self.last_message_at = time.time()
            body = messages.decode(value)
            if body is None:
                self.bad_messages += 1
                return "bad"
            status = self._ingest(topic, body, offset, partition)
            if status == "bad":
                self.bad_messages += 1
            elif status == "ignored":
                self.ignored += 1
            return status

    def _ingest(self, topic: str, body: dict, offset: int, partition: int) -> str:
        kind = body.get("kind")
        if topic == self.results_topic and all(k in body for k in _REQUIRED):
            at, add = body.get("scored_at"), lambda: self.predictions.add(body, offset, partition)
        elif kind == "stats":
            at, add = body.get("at"), lambda: self.monitor.add_stats(body)
        elif kind == "quarantine":
            at, add = body.get("quarantined_at"), lambda: self.monitor.add_quarantine(body)
        elif kind in PANEL_KINDS:
            at, add = body.get("at"), lambda: self.quality.add(body)
        else:
            return "ignored"
        return "old" if self._old(at) else add()

    def _old(self, at: Any) -> bool:
        at = _number(at)
        return self.since is not None and at is not None and at < self.since

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
                if not self._topics.refresh(self._consumer):
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
        self._topics.reset()

    def close(self) -> None:
        """Close the consumer (the tables stay)."""
        with self._lock:
            self._close_consumer()

    # -- views --------------------------------------------------------------------------------
    def match_ids(self) -> list[int]:
        """Matches in the order their first prediction arrived."""
        with self._lock:
            return self.predictions.match_ids()

    def matches(self) -> pd.DataFrame:
        """One row per match: its latest prediction, plus ``n_predictions``.

        Columns are :data:`RESULT_FIELDS` and ``n_predictions``, ``updated_at`` (when the
        dashboard received the latest prediction); empty frame when nothing arrived.
        """
        with self._lock:
            rows = self.predictions.latest_rows()
        columns = [*RESULT_FIELDS, "n_predictions", "updated_at"]
        frame = pd.DataFrame(rows, columns=[*columns, "_partition", "_offset"])
        return frame[columns]

    def match_results(self, match_id: int) -> pd.DataFrame:
        """Every prediction of one match (one per event), in the order they were published."""
        with self._lock:
            rows = self.predictions.rows(match_id)
        frame = pd.DataFrame(rows, columns=[*RESULT_FIELDS, "_partition", "_offset"])
        if frame.empty:
            return frame
        return frame.sort_values(["_partition", "_offset"]).reset_index(drop=True)

    def monitoring(self, now: float | None = None) -> MonitoringSummary:
        """The scorer's health from the latest statistics of each worker."""
        now = time.time() if now is None else now
        with self._lock:
            return self.monitor.summary(now)

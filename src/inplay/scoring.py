"""The live scorer: events in, home/draw/away probabilities out.

A consumer-group worker reads ``live_football_events``, updates a
:class:`~inplay.features.MatchState` per match (the same code that builds the training rows),
and for every event it applies publishes

* the prediction request (the 11 fields of the replaced system plus extras) to
  ``ml-pipeline-prediction-requests``, and
* the prediction (match id, event index, minute, p_home, p_draw, p_away, model version,
  latency) to ``ml-pipeline-prediction-results``,

both keyed by match id. Offsets are committed only after the producer has flushed (every
message acknowledged by the broker): at-least-once delivery, and ``(match_id, event_index)``
identifies a prediction, so a reader can drop duplicates.

A message that cannot be scored (not JSON, not an object, a missing or wrong field, an unknown
team) is quarantined to ``ml-pipeline-monitoring`` with its reason and original bytes, counted,
and never stops the worker. Statistics go to the same topic every ``stats_interval`` seconds.
"""

from __future__ import annotations

import base64
import signal
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pandas as pd
from tqdm.auto import tqdm

from inplay import config
from inplay.features import EventError, MatchState

__all__ = ["ScoreStats", "Scorer", "percentiles"]


def percentiles(values: list[float], qs: tuple[int, ...] = (50, 95, 99)) -> dict[str, float | None]:
    """``{"p50": ..., "p95": ..., "p99": ...}`` of ``values`` (None when empty)."""
    if not values:
        return {f"p{q}": None for q in qs}
    arr = np.asarray(values, dtype=float)
    return {f"p{q}": round(float(np.percentile(arr, q)), 3) for q in qs}


@dataclass
class ScoreStats:
    """What a scoring run did."""

    consumed: int = 0
    scored: int = 0
    duplicates: int = 0
    late: int = 0
    ignored: int = 0
    quarantined: int = 0
    reasons: Counter = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    processing_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    active_seconds: float = 0.0
    matches: set[int] = field(default_factory=set)

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe summary (latency percentiles, not every latency)."""
        return {
            "consumed": self.consumed,
            "scored": self.scored,
            "duplicates": self.duplicates,
            "late": self.late,
            "ignored": self.ignored,
            "quarantined": self.quarantined,
            "reasons": dict(self.reasons),
            "matches": len(self.matches),
            "seconds": round(self.seconds, 3),
            "active_seconds": round(self.active_seconds, 3),
            "events_per_second": (
                round(self.consumed / self.active_seconds, 1) if self.active_seconds else None
            ),
            "latency_ms": percentiles(self.latencies_ms),
            "processing_ms": percentiles(self.processing_ms),
        }

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
            f"late {self.late}, shoot-out ignored {self.ignored} in {self.seconds:.1f} s "
            f"({d['events_per_second'] or 0:,.0f} events/s while busy){lat_text}"
        )


class Scorer:
    """A scoring worker in a consumer group.

    Args:
        model: a fitted model from :mod:`inplay.models` (``predict_proba`` and ``version``).
        bootstrap: Kafka bootstrap servers (default: the configured broker).
        group_id: consumer group; workers in one group share the partitions.
        events_topic, requests_topic, results_topic, monitoring_topic: topic names.
        stats_interval: seconds between statistics messages on the monitoring topic.
    """

    def __init__(
        self,
        model,
        *,
        bootstrap: str | None = None,
        group_id: str = config.SCORER_GROUP,
        events_topic: str = config.TOPIC_EVENTS,
        requests_topic: str = config.TOPIC_REQUESTS,
        results_topic: str = config.TOPIC_RESULTS,
        monitoring_topic: str = config.TOPIC_MONITORING,
        stats_interval: float = 5.0,
    ) -> None:
        self.model = model
        self.model_version = str(getattr(model, "version", getattr(model, "name", "unknown")))
        self.bootstrap = bootstrap
        self.group_id = group_id
        self.events_topic = events_topic
        self.requests_topic = requests_topic
        self.results_topic = results_topic
        self.monitoring_topic = monitoring_topic
        self.stats_interval = stats_interval
        self.worker_id = f"{socket.gethostname()}-{id(self):x}"
        self.states: dict[int, MatchState] = {}
        self.stats = ScoreStats()
        self._stop = threading.Event()

    # -- pure part: records in, messages out -------------------------------------------------
    def _quarantine(self, record, reason: str) -> tuple[str, bytes, bytes]:
        self.stats.quarantined += 1
        self.stats.reasons[reason.split(":")[0]] += 1
        raw = record.value if isinstance(record.value, bytes | bytearray) else b""
        message = {
            "kind": "quarantine",
            "reason": reason,
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "key": record.key.decode("utf-8", "replace") if record.key else None,
            "value": bytes(raw).decode("utf-8", "replace"),
            "value_base64": base64.b64encode(bytes(raw)).decode("ascii"),
            "worker": self.worker_id,
            "quarantined_at": time.time(),
        }
        key = record.key if record.key else b"quarantine"
        return self.monitoring_topic, key, orjson.dumps(message)

    def _parse(self, record) -> tuple[MatchState, dict]:
        try:
            event = orjson.loads(record.value)
        except (orjson.JSONDecodeError, TypeError) as exc:
            raise EventError(f"not JSON: {exc}") from None
        if not isinstance(event, dict):
            raise EventError(f"not a JSON object: {type(event).__name__}")
        match_id = event.get("match_id")
        if isinstance(match_id, bool) or not isinstance(match_id, int):
            raise EventError(f"field 'match_id' must be an integer, got {match_id!r}")
        home, away = event.get("home_team"), event.get("away_team")
        if not isinstance(home, str) or not isinstance(away, str):
            raise EventError("fields 'home_team' and 'away_team' must be team names")
        state = self.states.get(match_id)
        if state is None:
            state = MatchState(match_id, home, away)
        elif (state.home_team, state.away_team) != (home, away):
            raise EventError(
                f"match {match_id} was {state.home_team} v {state.away_team}, "
                f"this event says {home} v {away}"
            )
        return state, event

    def process(
        self, records: list, received_at: float | None = None
    ) -> list[tuple[str, bytes, bytes]]:
        """Apply a batch of records and return the messages to publish (topic, key, value).

        Args:
            records: consumer records of the events topic.
            received_at: wall-clock time the batch was polled (for ``processing_ms``).
        """
        received_at = time.time() if received_at is None else received_at
        out: list[tuple[str, bytes, bytes]] = []
        pending: list[tuple[dict, dict, bytes]] = []
        for record in records:
            self.stats.consumed += 1
            try:
                state, event = self._parse(record)
                status = state.apply(event)
            except EventError as exc:
                out.append(self._quarantine(record, str(exc)))
                continue
            self.states.setdefault(state.match_id, state)
            self.stats.matches.add(state.match_id)
            if status == "duplicate":
                self.stats.duplicates += 1
                continue
            if status == "ignored":
                self.stats.ignored += 1
                continue
            if status == "late":
                self.stats.late += 1
            key = record.key or str(state.match_id).encode()
            pending.append((state.features(), event, key))
        if not pending:
            return out
        # Team names let a model use the pre-match strength it learned for each team.
        frame = pd.DataFrame(
            [
                {**features, "home_team": event["home_team"], "away_team": event["away_team"]}
                for features, event, _ in pending
            ]
        )
        probs = np.asarray(self.model.predict_proba(frame), dtype=float)
        now = time.time()
        for (features, event, key), (p_home, p_draw, p_away) in zip(pending, probs, strict=True):
            sent_at = event.get("sent_at")
            latency = (
                round((now - sent_at) * 1000.0, 3)
                if isinstance(sent_at, int | float) and not isinstance(sent_at, bool)
                else None
            )
            if latency is not None:
                self.stats.latencies_ms.append(latency)
            processing = round((now - received_at) * 1000.0, 3)
            self.stats.processing_ms.append(processing)
            request = dict(features)
            request["home_team"] = event["home_team"]
            request["away_team"] = event["away_team"]
            result = {
                "match_id": features["match_id"],
                "event_index": features["event_index"],
                "event_type": (event.get("type") or {}).get("name"),
                "minute": features["current_minute"],
                "period": features["period"],
                "clock": features["clock"],
                "elapsed_seconds": features["elapsed_seconds"],
                "home_team": event["home_team"],
                "away_team": event["away_team"],
                "home_goals": features["home_goals"],
                "away_goals": features["away_goals"],
                "home_red_cards": features["home_red_cards"],
                "away_red_cards": features["away_red_cards"],
                "home_xg": features["home_xg"],
                "away_xg": features["away_xg"],
                "p_home": round(float(p_home), 6),
                "p_draw": round(float(p_draw), 6),
                "p_away": round(float(p_away), 6),
                "model_version": self.model_version,
                "latency_ms": latency,
                "processing_ms": processing,
                "scored_at": now,
            }
            out.append((self.requests_topic, key, orjson.dumps(request)))
            out.append((self.results_topic, key, orjson.dumps(result)))
            self.stats.scored += 1
        return out

    def stats_message(self, lag: dict[str, int] | None = None) -> bytes:
        """A statistics message for the monitoring topic."""
        body = {"kind": "stats", "worker": self.worker_id, "model_version": self.model_version}
        body.update(self.stats.as_dict())
        body["lag"] = lag or {}
        body["at"] = time.time()
        return orjson.dumps(body)

    # -- Kafka part --------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask the worker to finish its batch, publish, commit and leave the group."""
        self._stop.set()

    def run(
        self,
        max_events: int | None = None,
        idle_timeout: float | None = None,
        progress: bool = True,
        handle_signals: bool = False,
    ) -> ScoreStats:
        """Consume, score and publish until stopped.

        Args:
            max_events: stop after consuming this many messages.
            idle_timeout: stop after this many seconds without a message (the first wait
                includes joining the group).
            progress: show a progress bar.
            handle_signals: finish cleanly on SIGTERM/SIGINT (main thread only).
        """
        from inplay.kafka_io import make_consumer, make_producer

        if handle_signals and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: self.stop())
        consumer = make_consumer(
            self.events_topic, group_id=self.group_id, bootstrap=self.bootstrap
        )
        producer = make_producer(self.bootstrap)
        start = time.perf_counter()
        first_batch: float | None = None
        last_message = time.monotonic()
        last_stats = time.monotonic()
        bar = tqdm(desc="score", unit="ev", disable=not config.show_progress(progress))
        try:
            while not self._stop.is_set():
                limit = 500
                if max_events is not None:
                    limit = min(limit, max_events - self.stats.consumed)
                    if limit <= 0:
                        break
                batches = consumer.poll(timeout_ms=500, max_records=limit)
                polled_at = time.time()
                records = [r for part in batches.values() for r in part]
                if not records:
                    if idle_timeout is not None and time.monotonic() - last_message > idle_timeout:
                        break
                else:
                    last_message = time.monotonic()
                    if first_batch is None:
                        first_batch = time.perf_counter()
                    for topic, key, value in self.process(records, polled_at):
                        producer.send(topic, key=key, value=value)
                    producer.flush()
                    consumer.commit()
                    # Busy time: from the first batch received to the last one committed.
                    self.stats.active_seconds = time.perf_counter() - first_batch
                    bar.update(len(records))
                if time.monotonic() - last_stats >= self.stats_interval:
                    self.stats.seconds = time.perf_counter() - start
                    producer.send(
                        self.monitoring_topic,
                        key=b"stats",
                        value=self.stats_message(self._lag(consumer)),
                    )
                    last_stats = time.monotonic()
            self.stats.seconds = time.perf_counter() - start
            producer.send(
                self.monitoring_topic, key=b"stats", value=self.stats_message(self._lag(consumer))
            )
            producer.flush()
        finally:
            bar.close()
            consumer.close()
            producer.close()
        return self.stats

    @staticmethod
    def _lag(consumer) -> dict[str, int]:
        """Consumer lag per assigned partition (end offset - position), keyed by partition.

        The embedded broker (Tansu 0.6) reports end offsets per record batch, which can put
        them behind the position; such a lag is shown as 0.
        """
        try:
            parts = list(consumer.assignment())
            if not parts:
                return {}
            ends = consumer.end_offsets(parts)
            return {
                str(tp.partition): max(0, int(ends[tp] - consumer.position(tp))) for tp in parts
            }
        except Exception:  # noqa: BLE001 - lag is informative only; never stop scoring for it
            return {}

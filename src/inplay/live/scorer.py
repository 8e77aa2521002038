"""The live scorer: events in, home/draw/away probabilities out.

A consumer-group worker reads ``live_football_events``, updates a
:class:`~inplay.features.MatchState` per match (the same code that builds the training rows),
and for every event it applies publishes

* the prediction request (the 11 fields of the replaced system plus extras) to
  ``ml-pipeline-prediction-requests``, and
* the prediction (match id, event index, minute, p_home, p_draw, p_away, model version,
  latency) to ``ml-pipeline-prediction-results``,

both keyed by match id.

Contract:

* **At-least-once.** Offsets are committed only after the producer has flushed (every message
  of the batch acknowledged by the broker), and only up to the records actually handled.
  ``(match_id, event_index)`` identifies a prediction, so a reader can drop duplicates.
* **State follows partitions.** A match lives on one partition (key = match id). When a worker
  is given a partition (start, or a rebalance after a worker joins or leaves), it first rebuilds
  the state of that partition's matches by re-reading the partition from its first offset up to
  the group's committed offset, without publishing; so predictions after a rebalance equal
  predictions without one. When a partition is taken away, its matches' states are dropped.
* **Order.** A partition's events are applied in offset order. A duplicate (same index twice)
  changes nothing and is counted; a late event (its clock behind the match's) is applied by the
  rules of :class:`~inplay.features.MatchState` and counted.
* **Bad input** (not JSON, not an object, a missing or wrong field, an unknown team, an event for
  a match that already ended) is quarantined to ``ml-pipeline-monitoring`` with its reason and
  original bytes, counted, and never stops the worker.
* The replay's end-of-match marker ends a match: its state is evicted (memory stays flat).

Statistics go to the monitoring topic every ``stats_interval`` seconds. The Kafka client
library is chosen by ``INPLAY_KAFKA_CLIENT`` (see :mod:`inplay.kafka.clients`).
"""

from __future__ import annotations

import base64
import logging
import re
import signal
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pandas as pd
from tqdm.auto import tqdm

from inplay import config
from inplay.features import EventError, MatchState

__all__ = ["ScoreStats", "Scorer", "percentiles"]

log = logging.getLogger(__name__)
PRODUCER_CLOSE_TIMEOUT = 10.0  # seconds a stopping worker waits for unacknowledged messages

#: Latency percentiles are computed over this many most recent predictions.
LATENCY_WINDOW = 50_000
#: How many ended matches a worker remembers (later events of those are quarantined).
ENDED_MEMORY = 10_000


def percentiles(
    values: Iterable[float], qs: tuple[int, ...] = (50, 95, 99)
) -> dict[str, float | None]:
    """``{"p50": ..., "p95": ..., "p99": ...}`` of ``values`` (None when empty)."""
    arr = np.fromiter(values, dtype=float)
    if arr.size == 0:
        return {f"p{q}": None for q in qs}
    return {f"p{q}": round(float(np.percentile(arr, q)), 3) for q in qs}


def _retry_rebuild(exc: BaseException) -> bool:
    """Whether a state rebuild that failed with ``exc`` should start again (broker away)."""
    from inplay.kafka.clients import transient_error

    return transient_error(exc) or isinstance(exc, config.ConfigError)


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
    """

    consumed: int = 0
    scored: int = 0
    duplicates: int = 0
    late: int = 0
    ignored: int = 0
    ended: int = 0
    quarantined: int = 0
    rebuilt: int = 0
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

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe summary (latency percentiles, not every latency)."""
        return {
            "consumed": self.consumed,
            "scored": self.scored,
            "duplicates": self.duplicates,
            "late": self.late,
            "ignored": self.ignored,
            "ended": self.ended,
            "quarantined": self.quarantined,
            "rebuilt": self.rebuilt,
            "rebalances": self.rebalances,
            "commit_failures": self.commit_failures,
            "publish_retries": self.publish_retries,
            "reasons": dict(self.reasons),
            "matches": self.matches,
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
            f"late {self.late}, shoot-out ignored {self.ignored}, ended {self.ended} in "
            f"{self.seconds:.1f} s ({d['events_per_second'] or 0:,.0f} events/s while busy)"
            f"{lat_text}"
        )


class Scorer:
    """A scoring worker in a consumer group.

    Args:
        model: a fitted model from :mod:`inplay.models` (``predict_proba`` and ``version``).
        bootstrap: Kafka bootstrap servers (default: the configured broker).
        group_id: consumer group; workers in one group share the partitions.
        events_topic, requests_topic, results_topic, monitoring_topic: topic names.
        stats_interval: seconds between statistics messages on the monitoring topic.
        client: Kafka client library (``kafka-python`` or ``confluent``; default
            ``INPLAY_KAFKA_CLIENT``).
        rebuild_timeout: seconds a state rebuild may take before the worker gives up (it then
            stops rather than publish predictions from an incomplete state).
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
        client: str | None = None,
        rebuild_timeout: float = 120.0,
    ) -> None:
        from inplay.kafka.clients import client_name

        self.model = model
        self.model_version = str(getattr(model, "version", getattr(model, "name", "unknown")))
        self.bootstrap = bootstrap
        self.group_id = group_id
        self.events_topic = events_topic
        self.requests_topic = requests_topic
        self.results_topic = results_topic
        self.monitoring_topic = monitoring_topic
        self.stats_interval = stats_interval
        self.client = client_name(client)
        self.rebuild_timeout = rebuild_timeout
        self.worker_id = f"{socket.gethostname()}-{id(self):x}"
        self.states: dict[int, MatchState] = {}
        # Ended matches (-> their partition), the latest ENDED_MEMORY only: a service running
        # for months must not grow per match.
        self.ended_matches: dict[int, tuple[str, int]] = {}
        self.partition_of: dict[int, tuple[str, int]] = {}
        self.assigned: list[tuple[str, int]] = []
        self.stats = ScoreStats()
        self._stop = threading.Event()
        self._interval_mark = (time.monotonic(), 0)
        # What _check_topics has seen in this run: the events topic, the embedded broker.
        self._topic_seen = False
        self._embedded: tuple[int, float] | None = None
        self._assigned_at: float | None = None  # monotonic time of the latest assignment

    # -- pure part: records in, messages out -------------------------------------------------
    def _quarantine(self, record, reason: str) -> tuple[str, bytes, bytes]:
        self.stats.quarantined += 1
        self.stats.reasons[reason_category(reason)] += 1
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
        """Decode one record and find (or start) its match's state.

        Raises:
            EventError: not a JSON object; ``match_id`` not a positive 64-bit integer; the
                match already ended; ``home_team``/``away_team`` missing, empty, equal, or not
                those the match started with.
        """
        try:
            event = orjson.loads(record.value)
        except (orjson.JSONDecodeError, TypeError) as exc:
            raise EventError(f"not JSON: {exc}") from None
        if not isinstance(event, dict):
            raise EventError(f"not a JSON object: {type(event).__name__}")
        match_id = event.get("match_id")
        if isinstance(match_id, bool) or not isinstance(match_id, int):
            shown = repr(match_id)[:60]
            raise EventError(
                f"field 'match_id' must be an integer, got {type(match_id).__name__}: {shown}"
            )
        if not 0 < match_id < 2**63:  # StatsBomb ids are positive; int64 for every reader
            raise EventError(f"field 'match_id' {match_id} is not a positive 64-bit integer")
        if match_id in self.ended_matches:
            index = event.get("index")
            if isinstance(index, bool) or not isinstance(index, int):
                index = "not an integer"  # the reason's category must stay a bounded key
            raise EventError(f"match {match_id} already ended (event index {index})")
        home, away = event.get("home_team"), event.get("away_team")
        state = self.states.get(match_id)
        if not (isinstance(home, str) and isinstance(away, str) and home.strip() and away.strip()):
            if state is None:
                raise EventError(f"unknown match {match_id}: no 'home_team'/'away_team' given")
            raise EventError("fields 'home_team' and 'away_team' must be team names")
        if home == away:
            raise EventError(f"home_team and away_team are the same team in match {match_id}")
        if state is None:
            state = MatchState(match_id, home, away)
        elif (state.home_team, state.away_team) != (home, away):
            raise EventError(
                f"match {match_id} changed teams: it was {state.home_team!r} v "
                f"{state.away_team!r}, this event says {home[:60]!r} v {away[:60]!r}"
            )
        return state, event

    def _apply(self, record) -> tuple[str, MatchState, dict]:
        """Parse and apply one record; returns (status, state, event). Raises EventError."""
        state, event = self._parse(record)
        status = state.apply(event)
        tp = (record.topic, record.partition)
        if status == "ended":
            self.states.pop(state.match_id, None)
            self.partition_of.pop(state.match_id, None)
            self.ended_matches[state.match_id] = tp
            while len(self.ended_matches) > ENDED_MEMORY:
                self.ended_matches.pop(next(iter(self.ended_matches)))
        else:
            if state.match_id not in self.states:
                self.stats.matches += 1
                self.states[state.match_id] = state
            self.partition_of[state.match_id] = tp
        return status, state, event

    def process(
        self, records: list, received_at: float | None = None
    ) -> list[tuple[str, bytes, bytes]]:
        """Apply a batch of records and return the messages to publish (topic, key, value).

        Never raises for bad input: a record that cannot be applied is quarantined. The
        published probabilities are rounded to 6 decimals with ``p_away`` taking the rounding
        remainder, so the three sum to 1. ``latency_ms`` is None unless ``sent_at`` is a
        plausible send time (positive, finite, at most a minute ahead of this clock).

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
                status, state, event = self._apply(record)
            except EventError as exc:
                out.append(self._quarantine(record, str(exc)))
                continue
            if status == "duplicate":
                self.stats.duplicates += 1
                continue
            if status == "ignored":
                self.stats.ignored += 1
                continue
            if status == "ended":
                self.stats.ended += 1
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
        for (features, event, key), row in zip(pending, probs, strict=True):
            sent_at = event.get("sent_at")
            latency = None
            if isinstance(sent_at, int | float) and not isinstance(sent_at, bool) and sent_at > 0:
                since_sent = (now - sent_at) * 1000.0
                if np.isfinite(since_sent) and since_sent > -60_000.0:  # clock skew allowance
                    latency = round(since_sent, 3)
            if latency is not None:
                self.stats.latencies_ms.append(latency)
            processing = round((now - received_at) * 1000.0, 3)
            self.stats.processing_ms.append(processing)
            # Rounded, with p_away taking the rounding remainder: the three sum to 1.
            p_home, p_draw = round(float(row[0]), 6), round(float(row[1]), 6)
            p_away = max(0.0, round(1.0 - p_home - p_draw, 6))
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
                "p_home": p_home,
                "p_draw": p_draw,
                "p_away": p_away,
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
        """A statistics message for the monitoring topic (cumulative and since the last one)."""
        now = time.monotonic()
        since, consumed_then = self._interval_mark
        interval = max(now - since, 1e-9)
        body = {"kind": "stats", "worker": self.worker_id, "model_version": self.model_version}
        body.update(self.stats.as_dict())
        body["interval_seconds"] = round(interval, 3)
        body["interval_events_per_second"] = round(
            (self.stats.consumed - consumed_then) / interval, 1
        )
        body["lag"] = lag or {}
        body["live_matches"] = len(self.states)
        body["partitions"] = [p for _, p in sorted(self.assigned)]
        body["client"] = self.client
        body["at"] = time.time()
        self._interval_mark = (now, self.stats.consumed)
        return orjson.dumps(body)

    # -- partitions: rebuild on assignment, drop on revocation -------------------------------
    def _forget(self, partitions: list[tuple[str, int]]) -> None:
        gone = set(partitions)
        for match_id in [m for m, tp in self.partition_of.items() if tp in gone]:
            self.states.pop(match_id, None)
            self.partition_of.pop(match_id, None)
        for match_id in [m for m, tp in self.ended_matches.items() if tp in gone]:
            del self.ended_matches[match_id]

    def _on_revoke(self, partitions: list[tuple[str, int]]) -> None:
        self.stats.rebalances += 1
        self._forget(partitions)
        self.assigned = [tp for tp in self.assigned if tp not in set(partitions)]

    def _on_assign(self, partitions: list[tuple[str, int]]) -> None:
        self.stats.rebalances += 1
        self._forget(partitions)  # never trust an older copy of these matches
        self.assigned = sorted(set(self.assigned) | set(partitions))
        # The broker may go away during the rebuild (a restart): start it again from scratch
        # until it completes, for at most rebuild_timeout.
        deadline = time.monotonic() + self.rebuild_timeout
        while True:
            try:
                committed = self._consumer.committed(partitions)
                todo = {tp: off for tp, off in committed.items() if off}
                if todo:
                    self._rebuild(todo)
                break
            except Exception as exc:
                if not _retry_rebuild(exc) or time.monotonic() > deadline:
                    raise
                log.warning("state rebuild interrupted (%s); starting it again", exc)
                self._forget(partitions)
                self._stop.wait(1.0)
        self._assigned_at = time.monotonic()  # the idle clock starts (again) here

    def _poll(self, consumer, limit: int) -> list:
        """One poll; a transient client error (the broker restarting) is logged, not raised."""
        from inplay.kafka.clients import transient_error

        try:
            return consumer.poll(max_records=limit, timeout=0.5)
        except Exception as exc:
            if not transient_error(exc):
                raise
            log.warning("poll failed, the client reconnects by itself: %s", exc)
            self._stop.wait(0.5)
            return []

    def _send_stats(self, producer) -> None:
        """Queue a statistics message; statistics never stop a worker whose broker is away."""
        from inplay.kafka.clients import transient_error

        try:
            producer.send(self.monitoring_topic, b"stats", self.stats_message(self._lag()))
        except Exception as exc:
            if not transient_error(exc):
                raise
            log.warning("statistics not sent: %s", exc)

    def _rebuild(self, upto: dict[tuple[str, int], int]) -> None:
        """Re-apply each partition's records below its committed offset, publishing nothing."""
        from inplay.kafka.clients import make_consumer_client

        reader = make_consumer_client(None, self.bootstrap, self.client)
        try:
            reader.assign(list(upto))
            for tp in upto:
                reader.seek(tp, reader.watermarks(tp)[0])
            remaining = dict(upto)
            deadline = time.monotonic() + self.rebuild_timeout
            while remaining:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"state rebuild of {sorted(remaining)} did not reach the committed "
                        f"offsets within {self.rebuild_timeout:.0f} s; stopping rather than "
                        "scoring from an incomplete state"
                    )
                for record in reader.poll(max_records=2000, timeout=0.5):
                    tp = (record.topic, record.partition)
                    if tp not in remaining or record.offset >= upto[tp]:
                        continue
                    try:
                        self._apply(record)
                        self.stats.rebuilt += 1
                    except EventError:
                        pass  # it was quarantined when first consumed
                    if record.offset + 1 >= upto[tp]:
                        remaining.pop(tp, None)
                for tp in list(remaining):
                    if reader.position(tp) >= upto[tp]:
                        remaining.pop(tp, None)
        finally:
            reader.close()

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
        max_records: int = 500,
        join_timeout: float = 60.0,
    ) -> ScoreStats:
        """Consume, score and publish until stopped.

        Args:
            max_events: stop after consuming this many messages.
            idle_timeout: stop after this many seconds without a message. The clock starts
                when the group assigns this worker its partitions (and restarts at each new
                assignment), so a slow group join never ends a run before it has read anything.
            progress: show a progress bar.
            handle_signals: finish cleanly on SIGTERM/SIGINT (main thread only).
            max_records: largest batch taken per poll.
            join_timeout: with ``idle_timeout``, the longest wait for a first assignment
                (the group may already have one worker per partition); then the worker stops
                with a warning that says so.
        """
        from inplay.kafka.clients import make_consumer_client, make_producer_client, next_offsets

        if handle_signals and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: self.stop())
        consumer = make_consumer_client(self.group_id, self.bootstrap, self.client)
        self._consumer = consumer
        producer = make_producer_client(self.bootstrap, self.client)
        start = time.perf_counter()
        first_batch: float | None = None
        last_message = time.monotonic()
        self._assigned_at = None
        last_stats = time.monotonic()
        self._interval_mark = (last_stats, self.stats.consumed)
        started_at = time.time()
        self._topic_seen, self._embedded = False, None
        bar = tqdm(desc="score", unit="ev", disable=not config.show_progress(progress))
        try:
            consumer.subscribe([self.events_topic], self._on_assign, self._on_revoke)
            self._check_topics(consumer, started_at)  # notes which embedded broker this is
            while not self._stop.is_set():
                limit = max_records
                if max_events is not None:
                    limit = min(limit, max_events - self.stats.consumed)
                    if limit <= 0:
                        break
                records = self._poll(consumer, limit)
                polled_at = time.time()
                if not records:
                    if idle_timeout is not None and self._idle(
                        idle_timeout, join_timeout, last_message, start
                    ):
                        break
                else:
                    last_message = time.monotonic()
                    if first_batch is None:
                        first_batch = time.perf_counter()
                    messages = self.process(records, polled_at)
                    if not self._publish(producer, consumer, messages, started_at):
                        break  # stopped before the batch was acknowledged: commit nothing
                    # Commit exactly what was handled, now that its predictions are acknowledged.
                    try:
                        consumer.commit(next_offsets(records))
                    except Exception as exc:  # noqa: BLE001 - at-least-once: re-read, not lost
                        # A broker restart or a rebalance: the batch will be read again by
                        # whoever owns the partition next (duplicates, identifiable by key).
                        self.stats.commit_failures += 1
                        log.warning("commit failed (the batch will be re-read): %s", exc)
                    self.stats.active_seconds = time.perf_counter() - first_batch
                    bar.update(len(records))
                if time.monotonic() - last_stats >= self.stats_interval:
                    self._check_topics(consumer, started_at)
                    self.stats.seconds = time.perf_counter() - start
                    self._send_stats(producer)
                    last_stats = time.monotonic()
            self.stats.seconds = time.perf_counter() - start
            self._send_stats(producer)
            producer.flush()
        finally:
            bar.close()
            consumer.close()
            # Bounded: after a normal run everything is flushed already; after a failure (a
            # broker that lost its topics) nothing queued can be delivered, and nothing
            # unacknowledged was committed, so it is read again (at-least-once).
            producer.close(timeout=PRODUCER_CLOSE_TIMEOUT)
            self.assigned = []
        return self.stats

    def _idle(
        self, idle_timeout: float, join_timeout: float, last_message: float, start: float
    ) -> bool:
        """True when the run should end: idle since the last message or assignment."""
        now = time.monotonic()
        if self._assigned_at is None:
            waited = time.perf_counter() - start
            if waited <= max(idle_timeout, join_timeout):
                return False
            log.warning(
                "no partition of %s was assigned to this worker within %.0f s: the group %r "
                "may already have one worker per partition (%s), or the broker is unreachable",
                self.events_topic,
                waited,
                self.group_id,
                "see `inplay topics describe`",
            )
            return True
        return now - max(last_message, self._assigned_at) > idle_timeout

    def _publish(self, producer, consumer, messages, started_at: float) -> bool:
        """Send a batch's messages until the broker acknowledges all of them.

        A broker that is down or restarting makes a flush fail; the whole batch is then sent
        again (the idempotent producer and the (match_id, event index) key make any second copy
        harmless) with a growing pause, until it is acknowledged or the worker is stopped.

        Returns:
            True once acknowledged; False if the worker was stopped first.

        Raises:
            BrokerDataLost: the topics vanished (a restarted in-memory broker).
        """
        from inplay.kafka.clients.base import DeliveryError

        pause = 0.5
        while True:
            try:
                for topic, key, value in messages:
                    producer.send(topic, key, value)
                producer.flush()
                return True
            except DeliveryError as exc:
                self.stats.publish_retries += 1
                self._check_topics(consumer, started_at, also_outputs=True)
                log.warning("publishing failed, retrying in %.1f s: %s", pause, exc)
                if self._stop.wait(pause):
                    return False
                pause = min(pause * 2, 10.0)

    def _check_topics(self, consumer, started_at: float, also_outputs: bool = False) -> None:
        """Stop with a clear error when the broker lost the topics in use.

        Two signs: the embedded broker (in memory) was restarted since this worker first saw
        it, or the events topic (or, with ``also_outputs``, an output topic) existed earlier in
        this run and no longer does.

        Raises:
            BrokerDataLost: either sign.
        """
        from inplay.kafka.io import bootstrap_servers, embedded_identity, lost_topics_error

        bootstrap = self.bootstrap or bootstrap_servers()
        identity = embedded_identity(bootstrap)
        if identity is not None:
            if self._embedded is None:
                self._embedded = identity
            elif identity != self._embedded:
                raise lost_topics_error(bootstrap, [], restarted_at=identity[1])
        names = [self.events_topic]
        if also_outputs:
            names += [self.results_topic, self.requests_topic, self.monitoring_topic]
        try:
            missing = [t for t in names if not consumer.topic_exists(t)]
        except Exception as exc:  # noqa: BLE001 - broker down: the client retries by itself
            log.debug("topic check failed: %s", exc)
            return
        if not missing:
            self._topic_seen = True
            return
        if self._topic_seen or also_outputs:
            if self._embedded is not None:
                # A restarting embedded broker answers before it writes its state file.
                deadline = time.monotonic() + 3.0
                while time.monotonic() < deadline:
                    identity = embedded_identity(bootstrap)
                    if identity is not None and identity != self._embedded:
                        raise lost_topics_error(bootstrap, missing, restarted_at=identity[1])
                    time.sleep(0.2)
            raise lost_topics_error(bootstrap, missing)

    def _lag(self) -> dict[str, int]:
        """Consumer lag per assigned partition (end offset - position), keyed by partition.

        The embedded broker (Tansu 0.6) reports end offsets per record batch, which can put
        them behind the position; such a lag is shown as 0.
        """
        lag = {}
        for tp in list(self.assigned):
            try:
                end = self._consumer.watermarks(tp)[1]
                lag[str(tp[1])] = max(0, int(end - self._consumer.position(tp)))
            except Exception as exc:  # noqa: BLE001 - lag is informative; never stop scoring for it
                log.debug("lag of %s unavailable: %s", tp, exc)
        return lag

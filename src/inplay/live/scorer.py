"""The live scorer: events in, home/draw/away probabilities out.

A consumer-group worker reads ``live_football_events``, updates a
:class:`~inplay.features.MatchState` per match (the same code that builds the training rows),
and for every event it applies publishes

* the prediction request (the 11 fields of the replaced system plus extras) to
  ``ml-pipeline-prediction-requests``, and
* the prediction (match id, event index, minute, p_home, p_draw, p_away, P(advance) in a
  knockout match, the regulation goal markets, model version, latency) to
  ``ml-pipeline-prediction-results`` (a knockout match's shoot-out kicks are scored too:
  :mod:`~inplay.live.batch`),

both keyed by match id.

Contract:

* **At-least-once.** Offsets are committed only after the producer has flushed (every message
  of the batch acknowledged by the broker), and only up to the records actually handled.
  ``(match_id, event_index)`` identifies a prediction, so a reader can drop duplicates.
* **State follows partitions.** A match lives on one partition (key = match id). Each batch
  also writes the states it changed to the group's compacted changelog topic
  (:mod:`inplay.live.changelog`), acknowledged with the predictions before the offsets are
  committed. When a worker is given a partition (start, or a rebalance after a worker joins or
  leaves), it first restores that partition's matches from the changelog (one record per live
  match), or, when the changelog has nothing for it, by re-reading the partition up to the
  group's committed offset; so predictions after a rebalance equal predictions without one.
  When a partition is taken away, its matches' states are dropped.
* **Fast failover.** Group members use the cooperative-sticky assignor (a rebalance moves only
  the partitions that must move; the others keep scoring) and, given an ``instance_id``
  (``INPLAY_SCORER_INSTANCE_ID``), static membership: a worker restarted with the same id
  within the session timeout gets its partitions back without a rebalance.
* **Order.** A partition's events are applied in offset order. A duplicate (same index twice)
  changes nothing and is counted; a late event (its clock behind the match's) is applied by the
  rules of :class:`~inplay.features.MatchState` and counted.
* **Bad input** (not JSON, not an object, a missing or wrong field, an unknown team, an event for
  a match that already ended) is quarantined to ``ml-pipeline-monitoring`` with its reason and
  original bytes, counted, and never stops the worker.
* The replay's end-of-match marker ends a match: its state is evicted (memory stays flat).

Statistics go to the monitoring topic every ``stats_interval`` seconds. The Kafka client
library is chosen by ``INPLAY_KAFKA_CLIENT`` (see :mod:`inplay.kafka.clients`).

This module is the worker (run loop, commit, rebalance callbacks); the rest lives beside it:
:mod:`~inplay.live.parse` (reading a record), :mod:`~inplay.live.state` (the per-match state
store, rebuilt on assignment), :mod:`~inplay.live.batch` (records in, messages out),
:mod:`~inplay.live.messages` (the message kinds and their schemas), :mod:`~inplay.live.stats`
(counts and the statistics message), :mod:`~inplay.live.io` (poll, publish, lag) and
:mod:`~inplay.live.guard` (lost topics).
"""

from __future__ import annotations

import gc
import logging
import signal
import threading
import time
from dataclasses import dataclass, field

import orjson
from tqdm.auto import tqdm

from inplay import config
from inplay.live.batch import BatchScorer
from inplay.live.changelog import Changelog, changelog_topic, ensure_topic
from inplay.live.guard import TopicGuard
from inplay.live.io import partition_lag, poll, publish
from inplay.live.stats import ScoreStats, percentiles, reason_category, stats_body
from inplay.mlops.champion import FixedModel, follow_champion

__all__ = ["ScoreStats", "Scorer", "percentiles", "reason_category"]

log = logging.getLogger(__name__)
PRODUCER_CLOSE_TIMEOUT = 10.0  # seconds a stopping worker waits for unacknowledged messages


@dataclass
class _Clock:
    """The times a run keeps: its start, its first batch, its latest message and statistics."""

    start: float = field(default_factory=time.perf_counter)
    first_batch: float | None = None
    last_message: float = field(default_factory=time.monotonic)
    last_stats: float = field(default_factory=time.monotonic)


def _stop_on_signals(stop) -> None:
    """Call ``stop`` on SIGTERM/SIGINT (only the main thread may set handlers)."""
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop())


def _open_clients(scorer: Scorer, changelog: str | None):
    """The worker's consumer and producer; creates the changelog topic if needed."""
    from inplay.kafka.clients import make_consumer_client, make_producer_client

    consumer = make_consumer_client(
        scorer.group_id, scorer.bootstrap, scorer.client, instance_id=scorer.instance_id
    )
    scorer.source.start()
    try:
        if changelog is not None:  # before the producer: kafka-python's would wait minutes
            # for the metadata of a topic that did not exist when it started
            ensure_topic(consumer, scorer.bootstrap, changelog, scorer.events_topic)
        producer = make_producer_client(scorer.bootstrap, scorer.client)
    except BaseException:
        consumer.close()
        raise
    return consumer, producer


class Scorer(BatchScorer):
    """A scoring worker in a consumer group.

    Args:
        model: a fitted model from :mod:`inplay.models` (``predict_proba`` and ``version``).
        bootstrap: Kafka bootstrap servers (default: the configured broker).
        group_id: consumer group (None: ``INPLAY_SCORER_GROUP``); its workers share the partitions.
        events_topic, requests_topic, results_topic, monitoring_topic: topic names.
        stats_interval: seconds between statistics messages on the monitoring topic.
        client: Kafka client library (``kafka-python`` or ``confluent``; default
            ``INPLAY_KAFKA_CLIENT``).
        rebuild_timeout: seconds a state restore or rebuild may take before the worker gives
            up (it then stops rather than publish predictions from an incomplete state).
        instance_id: a stable ``group.instance.id`` (default ``INPLAY_SCORER_INSTANCE_ID``;
            none: dynamic membership). Give each worker its own.
        changelog: keep the match states in the changelog topic (False: rebuild them from
            the events on every assignment, the slow path).
        source: follows the registry's champion (:class:`inplay.mlops.champion.ChampionSource`):
            a new champion is taken between two batches and announced on the monitoring topic
            (``model_swapped``, or ``model_refused`` when it failed its smoke batch). None:
            ``model`` scores every batch.
    """

    def __init__(
        self,
        model,
        *,
        bootstrap: str | None = None,
        group_id: str | None = None,
        events_topic: str = config.TOPIC_EVENTS,
        requests_topic: str = config.TOPIC_REQUESTS,
        results_topic: str = config.TOPIC_RESULTS,
        monitoring_topic: str = config.TOPIC_MONITORING,
        stats_interval: float = 5.0,
        client: str | None = None,
        rebuild_timeout: float = 120.0,
        instance_id: str | None = None,
        changelog: bool = True,
        source=None,
    ) -> None:
        from inplay.kafka.clients import client_name

        super().__init__(
            model,
            requests_topic=requests_topic,
            results_topic=results_topic,
            monitoring_topic=monitoring_topic,
        )
        self.bootstrap = bootstrap
        self.group_id = group_id or config.SCORER_GROUP
        self.events_topic = events_topic
        self.stats_interval = stats_interval
        self.client = client_name(client)
        self.rebuild_timeout = rebuild_timeout
        self.instance_id = instance_id or config.env_str("INPLAY_SCORER_INSTANCE_ID")
        if changelog:
            self.store.changelog = Changelog(changelog_topic(self.group_id, events_topic))
        self.assigned: list[tuple[str, int]] = []
        self._stop = threading.Event()
        self._interval_mark = (time.monotonic(), 0)
        outputs = [results_topic, requests_topic, monitoring_topic]
        self._guard = TopicGuard(bootstrap, events_topic, outputs)
        self._assigned_at: float | None = None  # monotonic time of the latest assignment
        self._positions: dict[tuple[str, int], int] = {}  # next offset to handle, per partition
        #: Set once the worker holds partitions and has restored their matches' states.
        self.ready = threading.Event()
        self.source = source or FixedModel()

    def stats_message(self, lag: dict[str, int] | None = None) -> bytes:
        """A statistics message for the monitoring topic (cumulative and since the last one)."""
        now, (since, consumed_then) = time.monotonic(), self._interval_mark
        body = stats_body(
            self.stats,
            worker=self.worker_id,
            model_version=self.model_version,
            interval=max(now - since, 1e-9),
            consumed_then=consumed_then,
            lag=lag or {},
            live_matches=len(self.states),
            partitions=[p for _, p in sorted(self.assigned)],
            client=self.client,
        )
        self._interval_mark = (now, self.stats.consumed)
        return orjson.dumps(body)

    # -- partitions: restore on assignment, drop on revocation -------------------------------
    def _on_revoke(self, partitions: list[tuple[str, int]]) -> None:
        self.stats.rebalances += 1
        self._forget(partitions)
        gone = set(partitions)
        self.assigned = [tp for tp in self.assigned if tp not in gone]
        self._positions = {tp: o for tp, o in self._positions.items() if tp not in gone}

    def _on_assign(self, partitions: list[tuple[str, int]]) -> None:
        from inplay.kafka.clients import make_consumer_client

        self.stats.rebalances += 1
        self.assigned = sorted(set(self.assigned) | set(partitions))
        self.store.rebuild_assigned(
            self._consumer,
            partitions,
            lambda: make_consumer_client(None, self.bootstrap, self.client),
            self.rebuild_timeout,
            self._stop.wait,
        )
        self._assigned_at = time.monotonic()  # the idle clock starts (again) here
        self.ready.set()

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
        if handle_signals:
            _stop_on_signals(self.stop)
        self.warm_up()
        gc.freeze()  # what exists now (model, modules) is never scanned by the collector again
        changelog = self.store.changelog
        consumer, producer = _open_clients(self, None if changelog is None else changelog.topic)
        self._consumer = consumer
        clock = _Clock()
        self._assigned_at = None
        self._interval_mark = (clock.last_stats, self.stats.consumed)
        self._guard.reset()
        bar = tqdm(desc="score", unit="ev", disable=not config.show_progress(progress))
        try:
            consumer.subscribe([self.events_topic], self._on_assign, self._on_revoke)
            self._guard.check(consumer)  # notes which embedded broker this is
            while not self._stop.is_set():
                limit = max_records
                if max_events is not None:
                    limit = min(limit, max_events - self.stats.consumed)
                if limit <= 0 or not self._step(
                    consumer, producer, limit, clock, (idle_timeout, join_timeout), bar
                ):
                    break
                if time.monotonic() - clock.last_stats >= self.stats_interval:
                    self._guard.check(consumer)
                    self._report(producer, clock)
            self._report(producer, clock)
            producer.flush()
        finally:
            self.source.close()
            bar.close()
            consumer.close()
            # Bounded: a normal run flushed already; after a failure (a broker that lost its
            # topics) nothing unacknowledged was committed, so it is read again.
            producer.close(timeout=PRODUCER_CLOSE_TIMEOUT)
            self.assigned = []
        return self.stats

    def _step(self, consumer, producer, limit: int, clock: _Clock, timeouts, bar) -> bool:
        """Poll, score, publish and commit one batch; False when the run should end."""
        records = poll(consumer, limit, self._stop.wait)
        polled_at = time.time()
        if not records:
            idle_timeout, join_timeout = timeouts
            return idle_timeout is None or not _idle_over(
                self, idle_timeout, join_timeout, clock.last_message, clock.start
            )
        clock.last_message = time.monotonic()
        if clock.first_batch is None:
            clock.first_batch = time.perf_counter()
        messages = follow_champion(self.source, self) + self.process(records, polled_at)
        changes, live = self.store.take_changes()
        changelog = self.store.changelog
        also = None if changelog is None else (lambda: changelog.send(producer, changes, live))
        failed = lambda: self._publish_failed(consumer)  # noqa: E731
        if not publish(producer, messages, failed, self._stop.wait, also):
            return False  # stopped before the batch was acknowledged: commit nothing
        if changelog is not None:
            changelog.confirm()
        self._commit(consumer, records)
        self.stats.active_seconds = time.perf_counter() - clock.first_batch
        bar.update(len(records))
        return True

    def _commit(self, consumer, records: list) -> None:
        """Commit exactly what was handled, now that its predictions are acknowledged."""
        from inplay.kafka.clients import next_offsets

        offsets = next_offsets(records)
        self._positions.update(offsets)
        try:
            consumer.commit(offsets)
        except Exception as exc:  # noqa: BLE001 - at-least-once: re-read, not lost
            # A broker restart or a rebalance: the batch will be read again by
            # whoever owns the partition next (duplicates, identifiable by key).
            self.stats.commit_failures += 1
            log.warning("commit failed (the batch will be re-read): %s", exc)

    def _publish_failed(self, consumer) -> None:
        self.stats.publish_retries += 1
        self._guard.check(consumer, also_outputs=True)

    def _report(self, producer, clock: _Clock) -> None:
        """Bring the run time up to date and queue a statistics message (never fatal)."""
        from inplay.kafka.clients import transient_error

        self.stats.seconds = time.perf_counter() - clock.start
        clock.last_stats = time.monotonic()
        try:
            producer.send(
                self.monitoring_topic,
                b"stats",
                self.stats_message(partition_lag(self._consumer, self._positions)),
            )
        except Exception as exc:
            if not transient_error(exc):
                raise
            log.warning("statistics not sent: %s", exc)


def _idle_over(
    scorer: Scorer, idle_timeout: float, join_timeout: float, last_message: float, start: float
) -> bool:
    """True when the run should end: idle since the last message or assignment."""
    now = time.monotonic()
    if scorer._assigned_at is None:
        waited = time.perf_counter() - start
        if waited <= max(idle_timeout, join_timeout):
            return False
        log.warning(
            "no partition of %s was assigned to this worker within %.0f s: the group %r "
            "may already have one worker per partition (%s), or the broker is unreachable",
            scorer.events_topic,
            waited,
            scorer.group_id,
            "see `inplay topics describe`",
        )
        return True
    return now - max(last_message, scorer._assigned_at) > idle_timeout

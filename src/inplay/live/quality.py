"""The live quality worker: labelled snapshots and live model quality from the events topic.

``inplay quality`` runs a consumer group (``inplay-quality``, ``INPLAY_QUALITY_GROUP``) on
``live_football_events`` beside the scorers' group; :class:`~inplay.live.labeller.Labeller`
does the work. Contract:

* **At-least-once, whole matches.** After a batch's messages are acknowledged, the worker
  commits, per partition, the first offset of any match it still follows (else the offset after
  the batch), so a restarted worker, or the next owner of a partition, reads every unfinished
  match from its first event. A match may then be labelled twice: ``match_id`` identifies a
  ``match_snapshots`` or ``match_quality`` message, and readers keep the latest.
* **The live model.** It scores with the registry's champion and follows it like a scorer
  (:class:`~inplay.mlops.champion.ChampionSource`); after a switch the rolling figures start
  again, since they describe one model.
* The rolling window lives in memory: a restarted worker starts it empty.
"""

from __future__ import annotations

import logging
import threading
import time

from tqdm.auto import tqdm

from inplay import config
from inplay.live.io import poll, publish
from inplay.live.labeller import Labeller, LabellerCounts
from inplay.live.scorer import _idle_over, _stop_on_signals

__all__ = ["QualityWorker"]

log = logging.getLogger(__name__)


class QualityWorker(Labeller):
    """A live quality worker in a consumer group.

    Args:
        source: The live model's source (:class:`~inplay.mlops.champion.ChampionSource`).
        bootstrap: Kafka bootstrap servers (default: the configured broker).
        group_id: consumer group (None: ``INPLAY_QUALITY_GROUP``).
        events_topic, processed_topic, monitoring_topic: topic names.
        window: matches in the rolling figures (None: ``INPLAY_QUALITY_WINDOW``).
        client: Kafka client library (default ``INPLAY_KAFKA_CLIENT``).
    """

    def __init__(
        self,
        source,
        *,
        bootstrap: str | None = None,
        group_id: str | None = None,
        events_topic: str = config.TOPIC_EVENTS,
        processed_topic: str = config.TOPIC_PROCESSED,
        monitoring_topic: str = config.TOPIC_MONITORING,
        window: int | None = None,
        client: str | None = None,
    ) -> None:
        from inplay.kafka.clients import client_name

        super().__init__(
            source,
            processed_topic=processed_topic,
            monitoring_topic=monitoring_topic,
            window=window,
        )
        self.bootstrap = bootstrap
        self.group_id = group_id or config.env_str("INPLAY_QUALITY_GROUP", "inplay-quality")
        self.events_topic = events_topic
        self.client = client_name(client)
        self._stop = threading.Event()
        self._assigned_at: float | None = None
        self.ready = threading.Event()

    def stop(self) -> None:
        """Finish the batch, publish, commit and leave the group."""
        self._stop.set()

    def _on_assign(self, partitions) -> None:
        self._assigned_at = time.monotonic()
        self.ready.set()

    def _on_revoke(self, partitions) -> None:
        self.forget(list(partitions))

    def run(
        self,
        max_events: int | None = None,
        idle_timeout: float | None = None,
        progress: bool = True,
        handle_signals: bool = False,
        join_timeout: float = 60.0,
    ) -> LabellerCounts:
        """Consume, label, score and publish until stopped (see :meth:`Scorer.run`)."""
        from inplay.kafka.clients import make_consumer_client, make_producer_client

        if handle_signals:
            _stop_on_signals(self.stop)
        consumer = make_consumer_client(self.group_id, self.bootstrap, self.client)
        producer = make_producer_client(self.bootstrap, self.client)
        bar = tqdm(desc="quality", unit="ev", disable=not config.show_progress(progress))
        self.source.start()
        start, last = time.perf_counter(), time.monotonic()
        try:
            consumer.subscribe([self.events_topic], self._on_assign, self._on_revoke)
            while not self._stop.is_set():
                limit = 500 if max_events is None else min(500, max_events - self.counts.consumed)
                records = poll(consumer, limit, self._stop.wait) if limit > 0 else None
                if records is None:
                    break
                if not records:
                    if idle_timeout is not None and _idle_over(
                        self, idle_timeout, join_timeout, last, start
                    ):
                        break
                    continue
                last = time.monotonic()
                if not self._batch(consumer, producer, records):
                    break
                bar.update(len(records))
        finally:
            self.source.close()
            bar.close()
            consumer.close()
            producer.close(timeout=10.0)
        return self.counts

    def _batch(self, consumer, producer, records: list) -> bool:
        """Label and publish one batch, then commit what is safe; False if stopped first."""
        from inplay.kafka.clients import next_offsets

        messages = self.switch_model() + self.process(records)
        failed = lambda: log.warning("publishing the quality messages failed")  # noqa: E731
        if not publish(producer, messages, failed, self._stop.wait):
            return False
        try:
            consumer.commit(self.safe_offsets(next_offsets(records)))
        except Exception as exc:  # noqa: BLE001 - at-least-once: re-read, not lost
            log.warning("commit failed (the batch will be re-read): %s", exc)
        return True

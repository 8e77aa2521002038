"""The pure part of a scoring worker: event records in, messages to publish out (no Kafka).

:class:`BatchScorer` applies a batch of events-topic records to its
:class:`~inplay.live.state.MatchStore`, quarantines what cannot be applied, scores the rest
with the model in one call, and returns the prediction request and result of each
(:mod:`inplay.live.messages`). :class:`inplay.live.scorer.Scorer` adds the consumer group.
"""

from __future__ import annotations

import socket
import time

import numpy as np
import orjson
import pandas as pd

from inplay import config
from inplay.features import EventError, MatchState
from inplay.live import messages
from inplay.live.state import MatchStore
from inplay.live.stats import ScoreStats

__all__ = ["BatchScorer", "Message"]

Message = tuple[str, bytes, bytes]  # (topic, key, value)


class BatchScorer:
    """Scores batches of event records with one model, keeping the matches' states.

    Args:
        model: a fitted model from :mod:`inplay.models` (``predict_proba`` and ``version``).
        requests_topic, results_topic, monitoring_topic: where the messages go.
    """

    def __init__(
        self,
        model,
        *,
        requests_topic: str = config.TOPIC_REQUESTS,
        results_topic: str = config.TOPIC_RESULTS,
        monitoring_topic: str = config.TOPIC_MONITORING,
    ) -> None:
        self.model = model
        self.model_version = str(getattr(model, "version", getattr(model, "name", "unknown")))
        self.requests_topic = requests_topic
        self.results_topic = results_topic
        self.monitoring_topic = monitoring_topic
        self.worker_id = f"{socket.gethostname()}-{id(self):x}"
        self.stats = ScoreStats()
        self.store = MatchStore(self.stats)

    @property
    def states(self) -> dict[int, MatchState]:
        """The live matches' states by match id."""
        return self.store.states

    @property
    def ended_matches(self) -> dict[int, tuple[str, int]]:
        """The latest ended matches (-> their partition)."""
        return self.store.ended_matches

    @property
    def partition_of(self) -> dict[int, tuple[str, int]]:
        """The live matches' partitions."""
        return self.store.partition_of

    def _forget(self, partitions: list[tuple[str, int]]) -> None:
        self.store.forget(partitions)

    def _quarantine(self, record, reason: str) -> Message:
        self.stats.quarantine(reason)
        message = messages.quarantine_message(record, reason, self.worker_id, time.time())
        key = record.key if record.key else b"quarantine"
        return self.monitoring_topic, key, orjson.dumps(message)

    def process(self, records: list, received_at: float | None = None) -> list[Message]:
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
        out: list[Message] = []
        pending: list[tuple[dict, dict, bytes]] = []
        for record in records:
            self.stats.consumed += 1
            try:
                status, state, event = self.store.apply(record)
            except EventError as exc:
                out.append(self._quarantine(record, str(exc)))
                continue
            if self.stats.count(status):
                key = record.key or str(state.match_id).encode()
                pending.append((state.features(), event, key))
        if pending:
            out += self._score(pending, received_at)
        return out

    def _score(self, pending: list[tuple[dict, dict, bytes]], received_at: float) -> list[Message]:
        """Predict a batch of states; the request and the result message of each."""
        # The request carries the team names (a model uses the pre-match strength it learned
        # for each team) and whether the venue is neutral (no home advantage).
        requests = [messages.request_message(features, event) for features, event, _ in pending]
        probs = np.asarray(self.model.predict_proba(pd.DataFrame(requests)), dtype=float)
        now = time.time()
        out: list[Message] = []
        for (features, event, key), request, row in zip(pending, requests, probs, strict=True):
            latency = messages.latency_since(event.get("sent_at"), now)
            if latency is not None:
                self.stats.latencies_ms.append(latency)
            processing = round((now - received_at) * 1000.0, 3)
            self.stats.processing_ms.append(processing)
            result = messages.result_message(
                features,
                event,
                messages.rounded_probabilities(row),
                model_version=self.model_version,
                latency_ms=latency,
                processing_ms=processing,
                scored_at=now,
            )
            out.append((self.requests_topic, key, orjson.dumps(request)))
            out.append((self.results_topic, key, orjson.dumps(result)))
            self.stats.scored += 1
        return out

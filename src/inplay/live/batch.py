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

__all__ = ["BatchScorer", "Message", "predict_requests"]

Message = tuple[str, bytes, bytes]  # (topic, key, value)


def predict_requests(model, requests: list[dict]) -> np.ndarray:
    """A model's probabilities of a batch of prediction requests, in one call.

    A model with ``predict_proba_arrays`` (every :class:`~inplay.models.OutcomeModel`) gets the
    requests as columns, one numpy array per field (no DataFrame for the models with a numpy
    path); any other model gets ``predict_proba(pd.DataFrame(requests))``.
    """
    predict_arrays = getattr(model, "predict_proba_arrays", None)
    if predict_arrays is None:
        return np.asarray(model.predict_proba(pd.DataFrame(requests)), dtype=float)
    return np.asarray(predict_arrays(messages.RequestColumns(requests)), dtype=float)


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
        self.model_version = ""
        self.use_model(model)
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
        key = messages.quarantine_key(record)
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
        # Per scored event: its request, key, type name and send time. The decoded event is
        # not kept: freed at once, it never reaches the older GC generations.
        requests: list[dict] = []
        keys: list[bytes] = []
        types: list[str | None] = []
        sent_at: list = []
        for record in records:
            self.stats.consumed += 1
            try:
                status, state, event = self.store.apply(record)
            except EventError as exc:
                out.append(self._quarantine(record, str(exc)))
                continue
            if self.stats.count(status):
                requests.append(messages.request_message(state.features(), event))
                keys.append(record.key or str(state.match_id).encode())
                types.append(messages.event_type(event))
                sent_at.append(event.get("sent_at"))
        if requests:
            out += self._score(requests, keys, types, sent_at, received_at)
        return out

    def warm_up(self) -> None:
        """Score a made-up request once, publishing and counting nothing.

        The first call of a model pays for lazy imports and first-time set-up (about 0.2 s);
        a worker warms up before it joins its group, so the first real batch, often the
        kick-off burst of many matches, does not wait for that.
        """
        state = MatchState(0, "warm-up home", "warm-up away")
        event = {"home_team": state.home_team, "away_team": state.away_team, "neutral": False}
        request = messages.request_message(state.features(), event)
        probabilities = messages.rounded_probability_rows(self._predict([request]))
        now = time.time()
        results = messages.result_messages(
            [request],
            [None],
            probabilities,
            messages.latencies_since([now], now),
            model_version=self.model_version,
            processing_ms=0.0,
            scored_at=now,
        )
        orjson.dumps(results[0])

    def _predict(self, requests: list[dict]) -> np.ndarray:
        """The model's probabilities of a batch of requests (:func:`predict_requests`)."""
        return predict_requests(self.model, requests)

    def use_model(self, model) -> str:
        """Score the next batches with ``model``; returns the version it replaces."""
        old = self.model_version
        self.model = model
        self.model_version = str(getattr(model, "version", getattr(model, "name", "unknown")))
        return old

    def _score(
        self,
        requests: list[dict],
        keys: list[bytes],
        types: list[str | None],
        sent_at: list,
        received_at: float,
    ) -> list[Message]:
        """Predict a batch of requests; the request and the result message of each."""
        # The request carries the team names (a model uses the pre-match strength it learned
        # for each team) and whether the venue is neutral (no home advantage).
        probabilities = messages.rounded_probability_rows(self._predict(requests))
        now = time.time()
        processing = round((now - received_at) * 1000.0, 3)
        latencies = messages.latencies_since(sent_at, now)
        results = messages.result_messages(
            requests,
            types,
            probabilities,
            latencies,
            model_version=self.model_version,
            processing_ms=processing,
            scored_at=now,
        )
        self.stats.latencies_ms.extend(v for v in latencies if v is not None)
        self.stats.processing_ms.extend([processing] * len(requests))
        self.stats.scored += len(requests)
        request_values = map(orjson.dumps, requests)
        result_values = map(orjson.dumps, results)
        return [  # each request, then its result
            message
            for key, request, result in zip(keys, request_values, result_values, strict=True)
            for message in ((self.requests_topic, key, request), (self.results_topic, key, result))
        ]

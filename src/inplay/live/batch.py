"""The pure part of a scoring worker: event records in, messages to publish out (no Kafka).

:class:`BatchScorer` applies a batch of events-topic records to its
:class:`~inplay.live.state.MatchStore`, quarantines what cannot be applied, scores the rest
with the model in one call, and returns the prediction request and result of each
(:mod:`inplay.live.messages`), the result with P(advance) and the goal markets of the batch
(:mod:`inplay.live.markets`). :class:`inplay.live.scorer.Scorer` adds the consumer group.

A shoot-out kick (:meth:`~inplay.features.MatchState.apply` status ``kick``) of a knockout
match is scored: its request is the match state as before the shoot-out (so the 1X2 stays the
decided regulation result) with the kick's ``event_index``, and its P(advance) follows the
kicks so far (:attr:`~inplay.features.MatchState.shootout`). A kick of a match not marked
knockout, like every other shoot-out event, is counted as ignored.
"""

from __future__ import annotations

import socket
import time

import numpy as np
import orjson
import pandas as pd

from inplay import config
from inplay.features import EventError, MatchState, rules
from inplay.features.events import parse_timestamp
from inplay.features.shootout import ShootoutState
from inplay.live import messages
from inplay.live.markets import result_extras
from inplay.live.state import MatchStore
from inplay.live.stats import ScoreStats

__all__ = ["BatchScorer", "Message", "predict_requests"]

Message = tuple[str, bytes, bytes]  # (topic, key, value)


def predict_requests(
    model, requests: list[dict], columns: messages.RequestColumns | None = None
) -> np.ndarray:
    """A model's probabilities of a batch of prediction requests, in one call.

    A model with ``predict_proba_arrays`` (every :class:`~inplay.models.OutcomeModel`) gets the
    requests as columns, one numpy array per field (no DataFrame for the models with a numpy
    path); any other model gets ``predict_proba(pd.DataFrame(requests))``.

    Args:
        model: The model.
        requests: The requests.
        columns: The requests as :class:`~inplay.live.messages.RequestColumns` if the caller
            has them already (its arrays, once converted, serve the goal markets too).
    """
    predict_arrays = getattr(model, "predict_proba_arrays", None)
    if predict_arrays is None:
        return np.asarray(model.predict_proba(pd.DataFrame(requests)), dtype=float)
    columns = messages.RequestColumns(requests) if columns is None else columns
    return np.asarray(predict_arrays(columns), dtype=float)


def kick_request(request: dict, event: dict) -> dict:
    """The request of a shoot-out kick: the state before the shoot-out, at the kick.

    Its features are those of the end of extra time (the 1X2 is decided), with the kick's own
    prediction key (``event_index``) and its place in the match: ``period`` 5 and
    ``elapsed_seconds`` on the shoot-out's clock (its ``timestamp``), so that consumers draw
    the kicks one after the other.
    """
    seconds = parse_timestamp(event.get("timestamp", "00:00:00"))
    return {
        **request,
        "event_index": event["index"],
        "period": rules.SHOOTOUT_PERIOD,
        "elapsed_seconds": float(rules.elapsed_seconds(rules.SHOOTOUT_PERIOD, seconds)),
    }


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
        self._columns: tuple[list[dict], messages.RequestColumns] | None = None
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
        shootouts: list[ShootoutState | None] = []
        for record in records:
            self.stats.consumed += 1
            try:
                status, state, event = self.store.apply(record)
            except EventError as exc:
                out.append(self._quarantine(record, str(exc)))
                continue
            if status == "kick" and not event.get("knockout", False):
                status = "ignored"  # a shoot-out outside a knockout match: nothing to advance
            if self.stats.count(status):
                request = messages.request_message(state.features(), event)
                if status == "kick":
                    request = kick_request(request, event)
                requests.append(request)
                keys.append(record.key or str(state.match_id).encode())
                types.append(messages.event_type(event))
                sent_at.append(event.get("sent_at"))
                shootouts.append(state.shootout if state.shootout.kicks else None)
        if requests:
            out += self._score(requests, keys, types, sent_at, received_at, shootouts)
        return out

    def warm_up(self) -> None:
        """Score a made-up request once, publishing and counting nothing.

        The first call of a model pays for lazy imports and first-time set-up (about 0.2 s);
        a worker warms up before it joins its group, so the first real batch, often the
        kick-off burst of many matches, does not wait for that.
        """
        state = MatchState(0, "warm-up home", "warm-up away")
        # knockout: so that P(advance) is computed (and its code loaded) too
        teams = {"home_team": state.home_team, "away_team": state.away_team}
        event = {**teams, "neutral": False, "knockout": True}
        batch = [messages.request_message(state.features(), event)]
        raw = self._predict(batch)
        extras = result_extras(self.model, batch, raw, [None], self._columns_of(batch))
        self._columns = None
        now = time.time()
        results = messages.result_messages(
            batch,
            [None],
            messages.rounded_probability_rows(raw),
            messages.latencies_since([now], now),
            model_version=self.model_version,
            processing_ms=0.0,
            scored_at=now,
            extras=extras,
        )
        orjson.dumps(results[0])

    def _predict(self, requests: list[dict]) -> np.ndarray:
        """The model's probabilities of a batch of requests (:func:`predict_requests`)."""
        return predict_requests(self.model, requests, self._columns_of(requests))

    def _columns_of(self, requests: list[dict]) -> messages.RequestColumns:
        """The batch's requests as columns, built once for the model and the goal markets."""
        held = self._columns
        if held is None or held[0] is not requests:
            held = self._columns = (requests, messages.RequestColumns(requests))
        return held[1]

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
        shootouts: list[ShootoutState | None],
    ) -> list[Message]:
        """Predict a batch of requests; the request and the result message of each."""
        # The request carries the team names (a model uses the pre-match strength it learned
        # for each team) and whether the venue is neutral (no home advantage).
        raw = self._predict(requests)
        probabilities = messages.rounded_probability_rows(raw)
        extras = result_extras(self.model, requests, raw, shootouts, self._columns_of(requests))
        self._columns = None  # the batch's columns are not kept past it
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
            extras=extras,
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

"""The per-match state store of a scoring worker.

A match lives on one partition (key = match id). The store keeps each live match's
:class:`~inplay.features.MatchState` and its partition, forgets a partition's matches when the
partition is taken away, rebuilds them from the partition when it is given (re-reading it from
its first offset up to the group's committed offset, publishing nothing), and remembers the
latest :data:`ENDED_MEMORY` ended matches (later events of those are quarantined), so memory
stays flat however long the worker runs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from inplay import config
from inplay.features import EventError, MatchState
from inplay.live.parse import parse_event
from inplay.live.stats import ScoreStats

__all__ = ["ENDED_MEMORY", "MatchStore", "retry_rebuild"]

log = logging.getLogger(__name__)

#: How many ended matches a worker remembers (later events of those are quarantined).
ENDED_MEMORY = 10_000

TopicPartition = tuple[str, int]


def retry_rebuild(exc: BaseException) -> bool:
    """Whether a state rebuild that failed with ``exc`` should start again (broker away)."""
    from inplay.kafka.clients import transient_error

    return transient_error(exc) or isinstance(exc, config.ConfigError)


class MatchStore:
    """Live matches' states by match id, their partitions, and the recently ended matches.

    Args:
        stats: The worker's tally: ``matches`` (taken up) and ``rebuilt`` are counted here.
    """

    def __init__(self, stats: ScoreStats) -> None:
        self.stats = stats
        self.states: dict[int, MatchState] = {}
        self.partition_of: dict[int, TopicPartition] = {}
        # Ended matches (-> their partition), the latest ENDED_MEMORY only: a service running
        # for months must not grow per match.
        self.ended_matches: dict[int, TopicPartition] = {}

    def apply(self, record) -> tuple[str, MatchState, dict]:
        """Parse and apply one record; returns (status, state, event).

        Raises:
            EventError: the record cannot be applied (see :func:`inplay.live.parse.parse_event`
                and :meth:`inplay.features.MatchState.apply`).
        """
        state, event = parse_event(record.value, self.states, self.ended_matches)
        status = state.apply(event)
        tp = (record.topic, record.partition)
        if status == "ended":
            self._end(state.match_id, tp)
        else:
            if state.match_id not in self.states:
                self.stats.matches += 1
                self.states[state.match_id] = state
            self.partition_of[state.match_id] = tp
        return status, state, event

    def _end(self, match_id: int, tp: TopicPartition) -> None:
        self.states.pop(match_id, None)
        self.partition_of.pop(match_id, None)
        self.ended_matches[match_id] = tp
        while len(self.ended_matches) > ENDED_MEMORY:
            self.ended_matches.pop(next(iter(self.ended_matches)))

    def forget(self, partitions: list[TopicPartition]) -> None:
        """Drop every match (live or ended) of ``partitions``."""
        gone = set(partitions)
        for match_id in [m for m, tp in self.partition_of.items() if tp in gone]:
            self.states.pop(match_id, None)
            self.partition_of.pop(match_id, None)
        for match_id in [m for m, tp in self.ended_matches.items() if tp in gone]:
            del self.ended_matches[match_id]

    def rebuild_assigned(
        self,
        consumer,
        partitions: list[TopicPartition],
        open_reader: Callable[[], Any],
        timeout: float,
        wait: Callable[[float], Any],
    ) -> None:
        """Rebuild the matches of newly assigned ``partitions`` up to their committed offsets.

        The broker may go away during the rebuild (a restart): it starts again from scratch
        until it completes, for at most ``timeout`` seconds.

        Args:
            consumer: The group consumer (its committed offsets are the targets).
            partitions: The partitions just assigned.
            open_reader: Returns a new group-less consumer client to re-read them with.
            timeout: Seconds the whole rebuild may take.
            wait: Pauses between attempts (the worker's stop event's ``wait``).
        """
        self.forget(partitions)  # never trust an older copy of these matches
        deadline = time.monotonic() + timeout
        while True:
            try:
                committed = consumer.committed(partitions)
                todo = {tp: off for tp, off in committed.items() if off}
                if todo:
                    self.rebuild(open_reader(), todo, timeout)
                return
            except Exception as exc:
                if not retry_rebuild(exc) or time.monotonic() > deadline:
                    raise
                log.warning("state rebuild interrupted (%s); starting it again", exc)
                self.forget(partitions)
                wait(1.0)

    def rebuild(self, reader, upto: dict[TopicPartition, int], timeout: float) -> None:
        """Re-apply each partition's records below ``upto`` with ``reader`` (then closed).

        Raises:
            RuntimeError: the committed offsets were not reached within ``timeout`` seconds.
        """
        try:
            reader.assign(list(upto))
            for tp in upto:
                reader.seek(tp, reader.watermarks(tp)[0])
            remaining = dict(upto)
            deadline = time.monotonic() + timeout
            while remaining:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"state rebuild of {sorted(remaining)} did not reach the committed "
                        f"offsets within {timeout:.0f} s; stopping rather than "
                        "scoring from an incomplete state"
                    )
                for record in reader.poll(max_records=2000, timeout=0.5):
                    self._reapply(record, upto, remaining)
                for tp in list(remaining):
                    if reader.position(tp) >= upto[tp]:
                        remaining.pop(tp, None)
        finally:
            reader.close()

    def _reapply(self, record, upto: dict, remaining: dict) -> None:
        tp = (record.topic, record.partition)
        if tp not in remaining or record.offset >= upto[tp]:
            return
        try:
            self.apply(record)
            self.stats.rebuilt += 1
        except EventError:
            pass  # it was quarantined when first consumed
        if record.offset + 1 >= upto[tp]:
            remaining.pop(tp, None)

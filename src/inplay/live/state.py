"""The per-match state store of a scoring worker.

A match lives on one partition (key = match id). The store keeps each live match's
:class:`~inplay.features.MatchState` and its partition, forgets a partition's matches when the
partition is taken away, and restores them when it is given: from the state changelog
(:mod:`inplay.live.changelog`, one record per live match), or, for a partition that has no
changelog yet, by re-reading the partition from its first offset up to the group's committed
offset (publishing nothing). It remembers the latest :data:`ENDED_MEMORY` ended matches (later
events of those are quarantined), so memory stays flat however long the worker runs.

It also notes what each batch changed (:meth:`MatchStore.take_changes`, for the changelog) and
the offset of the last event applied to each match: a restored state may already hold events
that are read again after a rebalance, and those are skipped (counted as duplicates).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from inplay import config
from inplay.features import EventError, MatchState
from inplay.live.changelog import Changelog, Restored
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
        stats: The worker's tally: ``matches`` (taken up), ``rebuilt``, ``restored`` and
            ``changelog_reads`` are counted here.
        changelog: Where changed states are written and restored from (None: rebuild from
            the events, as without a changelog).
    """

    def __init__(self, stats: ScoreStats, changelog: Changelog | None = None) -> None:
        self.stats = stats
        self.changelog = changelog
        self.states: dict[int, MatchState] = {}
        self.partition_of: dict[int, TopicPartition] = {}
        # Ended matches (-> their partition), the latest ENDED_MEMORY only: a service running
        # for months must not grow per match.
        self.ended_matches: dict[int, TopicPartition] = {}
        self.last_offset: dict[int, int] = {}  # live match -> offset of its last applied event
        # Partition -> {match id: None (changed, live) or the end marker's offset (ended)}.
        self.changed: dict[int, dict[int, int | None]] = {}
        # (topic, partition, key) -> the restored state holds that key's events up to here.
        self.replayed: dict[tuple[str, int, bytes], int] = {}

    def apply(self, record) -> tuple[str, MatchState | None, dict | None]:
        """Parse and apply one record; returns (status, state, event).

        An event that a restored state already holds is not applied again: status
        ``duplicate``, no state or event.

        Raises:
            EventError: the record cannot be applied (see :func:`inplay.live.parse.parse_event`
                and :meth:`inplay.features.MatchState.apply`).
        """
        if self.replayed and self._held(record):
            return "duplicate", None, None
        state, event = parse_event(record.value, self.states, self.ended_matches, record.key)
        status = state.apply(event)
        tp = (record.topic, record.partition)
        match_id = state.match_id
        if status == "ended":
            self._end(match_id, tp)
            self.changed.setdefault(tp[1], {})[match_id] = record.offset
        else:
            if match_id not in self.states:
                self.stats.matches += 1
                self.states[match_id] = state
            self.partition_of[match_id] = tp
            self.last_offset[match_id] = record.offset
            self.changed.setdefault(tp[1], {})[match_id] = None
        return status, state, event

    def _held(self, record) -> bool:
        """Whether a restored state already holds ``record`` (read again after a rebalance)."""
        key = (record.topic, record.partition, record.key)
        upto = self.replayed.get(key)
        if upto is None:
            return False
        if record.offset <= upto:
            return True
        del self.replayed[key]  # past what the state holds: from here on, apply
        return False

    def take_changes(self) -> tuple[dict[int, dict], dict[int, list[int]]]:
        """What changed since the last call, for :meth:`Changelog.send`.

        Returns:
            Per partition, each changed live match's (state, last event offset) or an ended
            match's end offset; and per changed partition, its live matches.
        """
        changed, self.changed = self.changed, {}
        changes: dict[int, dict] = {}
        for partition, matches in changed.items():
            changes[partition] = {
                m: end if end is not None else (self.states[m], self.last_offset[m])
                for m, end in matches.items()
                if end is not None or m in self.states
            }
        live: dict[int, list[int]] = {p: [] for p in changes}
        for match_id, (_topic, partition) in self.partition_of.items():
            if partition in live:
                live[partition].append(match_id)
        return changes, live

    def _end(self, match_id: int, tp: TopicPartition) -> None:
        self.states.pop(match_id, None)
        self.partition_of.pop(match_id, None)
        self.last_offset.pop(match_id, None)
        self.ended_matches[match_id] = tp
        while len(self.ended_matches) > ENDED_MEMORY:
            self.ended_matches.pop(next(iter(self.ended_matches)))

    def forget(self, partitions: list[TopicPartition]) -> None:
        """Drop every match (live or ended) of ``partitions``."""
        gone = set(partitions)
        live = [m for m, tp in self.partition_of.items() if tp in gone]
        for match_id in live:
            self.states.pop(match_id, None)
            self.partition_of.pop(match_id, None)
            self.last_offset.pop(match_id, None)
        for match_id in [m for m, tp in self.ended_matches.items() if tp in gone]:
            del self.ended_matches[match_id]
        for key in [k for k in self.replayed if (k[0], k[1]) in gone]:
            del self.replayed[key]
        for _topic, partition in gone:
            self.changed.pop(partition, None)
        if self.changelog is not None:
            self.changelog.forget([p for _, p in gone], live)

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
                if self.changelog is not None:
                    restored = self.restore(open_reader(), partitions, deadline)
                    todo = {tp: off for tp, off in todo.items() if tp not in restored}
                if todo:
                    self.rebuild(open_reader(), todo, timeout)
                    self._mark_live(todo)  # so that they reach the changelog
                return
            except Exception as exc:
                if not retry_rebuild(exc) or time.monotonic() > deadline:
                    raise
                log.warning("state rebuild interrupted (%s); starting it again", exc)
                self.forget(partitions)
                wait(1.0)

    def restore(self, reader, partitions: list[TopicPartition], deadline: float) -> set:
        """Restore ``partitions`` from the changelog with ``reader`` (then closed).

        Returns:
            The partitions whose changelog had records (the others have none yet).
        """
        assert self.changelog is not None
        done = set()
        try:
            for tp in partitions:
                found = self.changelog.restore(reader, tp[1], deadline)
                if found is not None:
                    self._install(tp, found)
                    done.add(tp)
        finally:
            reader.close()
        return done

    def _install(self, tp: TopicPartition, found: Restored) -> None:
        """Take up a partition's restored matches; note what their states already hold."""
        self.stats.changelog_reads += found.reads
        self.stats.restored_partitions += 1
        for match_id, (state, offset) in found.states.items():
            self.states[match_id] = state
            self.partition_of[match_id] = tp
            self.last_offset[match_id] = offset
            self.replayed[(tp[0], tp[1], str(match_id).encode())] = offset
            self.stats.restored += 1
        for match_id, end in found.ended.items():
            self.ended_matches[match_id] = tp
            if end >= 0:
                self.replayed[(tp[0], tp[1], str(match_id).encode())] = end

    def _mark_live(self, partitions) -> None:
        """Mark the live matches of ``partitions`` changed, dropping rebuild-time changes."""
        numbers = {p for _, p in partitions}
        for partition in numbers:
            self.changed.pop(partition, None)
        for match_id, (_topic, partition) in self.partition_of.items():
            if partition in numbers:
                self.changed.setdefault(partition, {})[match_id] = None

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

"""The scoring workers' state changelog: each live match's state in a compacted topic.

A worker keeps each live match's :class:`~inplay.features.MatchState`. So that a worker given a
partition (a rebalance, a restart) does not rebuild those states by re-reading the partition's
whole history, every committed batch also writes the states it changed to a changelog topic:

* one changelog topic per consumer group and events topic (:func:`changelog_topic`),
  compacted, with the events topic's partition count; a match's changelog partition is its
  events partition;
* key = match id (text), value = the match's state after the batch (:func:`encode_state`,
  with the offset of the last event applied to it), written in the batch's publish and so
  acknowledged before the batch's offsets are committed: one record per match per batch;
* a tombstone (no value) when a match ends, so compaction forgets it;
* after a partition's states in a batch, one index record (key ``__index__``) listing every
  live match of the partition with the changelog offset of its latest state, and the
  partition's latest ended matches (:data:`ENDED_KEPT`).

Restoring a partition (:meth:`Changelog.restore`) reads the partition's tail up to its last
index, then only the records that index points to: one per live match. Without an index in
the tail (a worker died between a state and its index) it scans the partition and keeps the
latest record per key. A restored state may be ahead of the committed offset (a batch was
published but its commit failed); events the state already holds are skipped when they are
read again (see :class:`~inplay.live.state.MatchStore`).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from typing import Any

import numpy as np
import orjson

from inplay import config
from inplay.features import MatchState

__all__ = [
    "ENDED_KEPT",
    "INDEX_KEY",
    "Changelog",
    "Restored",
    "changelog_topic",
    "decode_state",
    "encode_state",
    "ensure_topic",
]

log = logging.getLogger(__name__)

#: Key of the per-partition index records.
INDEX_KEY = b"__index__"
#: Ended matches an index remembers per partition (their late events stay quarantined).
ENDED_KEPT = 64
#: A restore seeks over gaps between wanted records longer than this (else it reads on).
SEEK_GAP = 200

TopicPartition = tuple[str, int]


def changelog_topic(group_id: str, events_topic: str) -> str:
    """The changelog topic of a consumer group's states of ``events_topic``."""
    return f"inplay-changelog--{group_id}--{events_topic}"


def ensure_topic(consumer, bootstrap: str | None, topic: str, events_topic: str) -> None:
    """Create the changelog ``topic`` (compacted, as many partitions as ``events_topic``).

    Raises:
        ConfigError: it exists with fewer partitions than the events topic.
    """
    from inplay.kafka import topics

    events = len(consumer.partitions_for(events_topic)) or config.TOPIC_PARTITIONS
    outcome = topics.create_topics(
        bootstrap, [topic], partitions=events, configs={"cleanup.policy": "compact"}
    )[topic]
    have = len(consumer.partitions_for(topic))
    if have < events:
        raise config.ConfigError(
            f"the changelog topic {topic} has {have} partitions ({outcome}) but {events_topic} "
            f"has {events}: delete it (the states are then rebuilt from the events) or use "
            "another INPLAY_SCORER_GROUP"
        )


def _runs(values: Collection[int]) -> list[list[int]]:
    """Sorted integers as inclusive ``[first, last]`` runs (event indexes are nearly dense)."""
    if not values:
        return []
    ordered = np.sort(np.fromiter(values, dtype=np.int64, count=len(values)))
    breaks = np.flatnonzero(np.diff(ordered) != 1)
    firsts = np.concatenate((ordered[:1], ordered[breaks + 1]))
    lasts = np.concatenate((ordered[breaks], ordered[-1:]))
    return np.column_stack((firsts, lasts)).tolist()


def _plain(value: Any) -> Any:
    if isinstance(value, set):
        return {"runs": _runs(value)}
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    return value


def encode_state(state: MatchState, last_offset: int) -> bytes:
    """A match state as changelog bytes: every field, sets as runs, with ``last_offset``."""
    body = {f.name: _plain(getattr(state, f.name)) for f in fields(state)}
    return orjson.dumps({"v": 1, "offset": int(last_offset), "state": body})


def _restore_field(template: Any, value: Any) -> Any:
    if isinstance(template, set):
        return {i for first, last in value["runs"] for i in range(first, last + 1)}
    if is_dataclass(template) and not isinstance(template, type):
        return type(template)(**value)
    if isinstance(value, list):
        return tuple(value)
    return value


def decode_state(value: bytes) -> tuple[MatchState, int]:
    """The state and last applied event offset of :func:`encode_state` bytes."""
    body = orjson.loads(value)
    saved = body["state"]
    state = MatchState(saved["match_id"], saved["home_team"], saved["away_team"])
    for f in fields(state):
        if f.name in saved:
            setattr(state, f.name, _restore_field(getattr(state, f.name), saved[f.name]))
    return state, int(body["offset"])


@dataclass
class Restored:
    """What a restore found for one events partition.

    Attributes:
        states: Live match id -> (state, offset of the last event applied to it).
        ended: Ended match id -> offset of its end marker (-1 when unknown).
        reads: Changelog records decoded (states and the index).
        skipped: Records fetched but not decoded (neighbours of wanted ones).
        scanned: Whether the whole partition was scanned (no index in its tail).
    """

    states: dict[int, tuple[MatchState, int]] = field(default_factory=dict)
    ended: dict[int, int] = field(default_factory=dict)
    offsets: dict[int, int] = field(default_factory=dict)  # match -> its record's offset
    reads: int = 0
    skipped: int = 0
    scanned: bool = False


class _Gone(Exception):
    """A record an index points to is not there (compacted by a newer write)."""


class Changelog:
    """Writes a worker's changed match states after each batch; restores them on assignment.

    Args:
        topic: The changelog topic (:func:`changelog_topic`).
    """

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.offsets: dict[int, int] = {}  # live match -> changelog offset of its latest state
        self.ended: dict[int, deque] = {}  # partition -> [(match id, end offset)], latest last
        self._sent: list[tuple[int, Callable[[], int | None]]] = []
        self._ending: list[tuple[int, int, int]] = []  # (partition, match id, end offset)

    # -- writing ----------------------------------------------------------------------------
    def send(self, producer, changes: dict[int, dict[int, Any]], live: dict[int, list[int]]) -> int:
        """Queue the changed states of a batch and each touched partition's index.

        Called for every publish attempt of the batch (a retried publish sends it all again);
        :meth:`confirm` records the offsets once the batch is acknowledged.

        Args:
            producer: A producer client (``send`` and ``send_tracked``).
            changes: Partition -> {match id: (state, last event offset) for a live match, or
                the end marker's offset (an int) for a match that ended}.
            live: Partition -> every live match id of the partition (after the batch).

        Returns:
            The number of records queued.
        """
        self._sent, self._ending = [], []
        queued = 0
        for partition, changed in changes.items():
            position: dict[int, int] = {}
            for n, (match_id, change) in enumerate(changed.items()):
                key = str(match_id).encode()
                position[match_id] = n
                if isinstance(change, tuple):
                    value = encode_state(*change)
                    offset = producer.send_tracked(self.topic, key, value, partition)
                    self._sent.append((match_id, offset))
                else:
                    producer.send(self.topic, key, None, partition)
                    self._ending.append((partition, match_id, int(change)))
            index = self._index(partition, live.get(partition, []), position, len(changed))
            producer.send(self.topic, INDEX_KEY, index, partition)
            queued += len(changed) + 1
        return queued

    def _index(self, partition: int, live: list[int], position: dict[int, int], n: int) -> bytes:
        """The index record: live matches' latest state offsets, the latest ended matches.

        A state written just before this index (``position``) is named by its place relative
        to the index (-1 = the record before it); the others by their absolute offset.
        """
        entries = []
        for match_id in live:
            if match_id in position:
                entries.append([match_id, position[match_id] - n])
            elif match_id in self.offsets:
                entries.append([match_id, self.offsets[match_id]])
        ended = list(self.ended.get(partition, ()))
        ended += [[m, o] for p, m, o in self._ending if p == partition]
        return orjson.dumps({"v": 1, "live": entries, "ended": ended[-ENDED_KEPT:]})

    def confirm(self) -> None:
        """The batch sent by the latest :meth:`send` is acknowledged: keep its offsets."""
        for match_id, offset in self._sent:
            got = offset()
            if got is not None:
                self.offsets[match_id] = got
        for partition, match_id, end in self._ending:
            self.offsets.pop(match_id, None)
            self.ended.setdefault(partition, deque(maxlen=ENDED_KEPT)).append((match_id, end))
        self._sent, self._ending = [], []

    def forget(self, partitions: Iterable[int], matches: Iterable[int]) -> None:
        """Drop what is known of partitions taken away (and of their matches)."""
        for partition in partitions:
            self.ended.pop(partition, None)
        for match_id in matches:
            self.offsets.pop(match_id, None)

    # -- restoring --------------------------------------------------------------------------
    def restore(self, reader, partition: int, deadline: float) -> Restored | None:
        """Restore one partition's matches with ``reader`` (a group-less consumer client).

        Returns:
            What was found, or None when the changelog partition is empty.

        Raises:
            RuntimeError: the records were not all read before ``deadline`` (monotonic).
        """
        ctp = (self.topic, partition)
        reader.assign([ctp])
        low, high = reader.watermarks(ctp)
        if high <= low:
            return None
        out = Restored()
        tail = _read_from(reader, ctp, max(low, high - 1), high, deadline)
        last_index = max((r.offset for r in tail if r.key == INDEX_KEY), default=None)
        if last_index is None:
            log.warning("no index at the end of %s: scanning it (a worker stopped mid-write)", ctp)
            self._scan(_read_from(reader, ctp, low, high, deadline), out)
        else:
            try:
                self._from_index(reader, ctp, tail, last_index, deadline, out)
            except _Gone as exc:
                log.warning("%s; scanning %s instead", exc, ctp)
                out = Restored()
                self._scan(_read_from(reader, ctp, low, high, deadline), out)
        self._keep(partition, out)
        return out

    def _from_index(self, reader, ctp, tail: list, at: int, deadline: float, out: Restored) -> None:
        """Apply the index at offset ``at`` (in ``tail``) and the records it points to."""
        by_offset = {r.offset: r for r in tail}
        index = orjson.loads(by_offset[at].value)
        out.reads += 1
        wanted = {(o if o >= 0 else at + o): m for m, o in index["live"]}
        out.ended = {int(m): int(o) for m, o in index["ended"]}
        later = [r for r in tail if r.offset > at and r.key != INDEX_KEY]  # after the index
        newer = {int(r.key): r for r in later}
        for offset, match_id in list(wanted.items()):
            if match_id in newer or offset in by_offset:
                del wanted[offset]
                if match_id not in newer:
                    self._apply(by_offset[offset], match_id, out)
        fetched = _read_offsets(reader, ctp, sorted(wanted), deadline, out)
        for offset, match_id in wanted.items():
            self._apply(fetched[offset], match_id, out)
        for record in later:
            self._apply(record, int(record.key), out)

    @staticmethod
    def _apply(record, match_id: int, out: Restored) -> None:
        if record.key != str(match_id).encode():
            raise _Gone(f"offset {record.offset} holds {record.key!r}, not match {match_id}")
        out.reads += 1
        if record.value is None:
            out.states.pop(match_id, None)
            out.offsets.pop(match_id, None)
            out.ended.setdefault(match_id, -1)
        else:
            out.states[match_id] = decode_state(record.value)
            out.offsets[match_id] = record.offset
            out.ended.pop(match_id, None)

    def _scan(self, records: list, out: Restored) -> None:
        """Restore from every record of a partition: the latest per key wins."""
        out.scanned = True
        for record in records:
            if record.key == INDEX_KEY:
                out.skipped += 1
                out.ended = {int(m): int(o) for m, o in orjson.loads(record.value)["ended"]}
            elif record.key is not None:
                self._apply(record, int(record.key), out)

    def _keep(self, partition: int, out: Restored) -> None:
        """Remember the restored offsets and ended matches for the next index."""
        kept: deque = deque(maxlen=ENDED_KEPT)
        kept.extend(out.ended.items())
        self.ended[partition] = kept
        self.offsets.update(out.offsets)


def _read_from(reader, ctp: TopicPartition, start: int, high: int, deadline: float) -> list:
    """Every record of ``ctp`` from ``start`` to its end.

    The broker's ``high`` may be the last batch's base offset + 1 (the embedded broker), so
    reading goes on until a poll past ``high`` brings nothing.
    """
    reader.seek(ctp, start)
    out: list = []
    while True:
        records = reader.poll(max_records=2000, timeout=0.3)
        out += [r for r in records if (r.topic, r.partition) == ctp and r.offset >= start]
        if not records and reader.position(ctp) >= high:
            return out
        _check(deadline, ctp, f"reading from offset {start}")


def _read_offsets(reader, ctp: TopicPartition, offsets: list[int], deadline: float, out: Restored):
    """The records at ``offsets`` (sorted) of ``ctp``: seeks over long gaps, reads over short.

    Raises:
        _Gone: an offset is missing (a newer record of its key replaced it).
    """
    got: dict[int, Any] = {}
    todo = deque(offsets)
    if todo:
        reader.seek(ctp, todo[0])
    while todo:
        for record in reader.poll(max_records=500, timeout=0.3):
            if not todo or (record.topic, record.partition) != ctp or record.offset < todo[0]:
                out.skipped += 1
                continue
            if record.offset > todo[0]:
                raise _Gone(f"offset {todo[0]} of {ctp} is gone")
            got[todo.popleft()] = record
        if todo and reader.position(ctp) < todo[0] - SEEK_GAP:
            reader.seek(ctp, todo[0])
        _check(deadline, ctp, f"{len(todo)} state(s) still to read")
    return got


def _check(deadline: float, ctp: TopicPartition, what: str) -> None:
    if time.monotonic() > deadline:
        raise RuntimeError(
            f"restoring match states from {ctp} did not finish in time ({what}); stopping "
            "rather than scoring from an incomplete state"
        )

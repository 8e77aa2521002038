"""Feature rows: a match's events fed, one at a time, to the live :class:`MatchState`.

Offline the events are sorted first; live they arrive in match-clock order. Minute snapshots
come from one streaming :class:`MinuteTracker` on both paths.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from inplay.config import PREDICTION_REQUEST_FIELDS
from inplay.features import rules
from inplay.features.events import (
    MATCH_END,
    EventError,
    int_field,
    parse_timestamp,
    read_head,
    sort_events,
    sub_name,
)
from inplay.features.match_state import MatchState

__all__ = [
    "MinuteTracker",
    "prediction_request",
    "iter_event_snapshots",
    "features_upto",
    "minute_snapshots",
    "minute_snapshots_and_score",
    "regulation_result",
]

# Snapshots have one row per regulation minute 0..90.
_LAST_MINUTE = 90


def prediction_request(features: dict[str, Any]) -> dict[str, Any]:
    """The 11-field prediction request of the replaced system, from a features dict."""
    return {name: features[name] for name in PREDICTION_REQUEST_FIELDS}


def iter_event_snapshots(
    events: Iterable[dict], match_id: int, home_team: str, away_team: str
) -> Iterator[dict[str, Any]]:
    """Features after each event, in match-clock order (duplicates and shoot-out skipped)."""
    state = MatchState(match_id, home_team, away_team)
    for event in sort_events(events):
        if state.apply(event) in ("applied", "late"):
            yield state.features()


def features_upto(
    events: Iterable[dict], match_id: int, home_team: str, away_team: str, upto_index: int
) -> dict[str, Any]:
    """The state right after the event with StatsBomb ``index`` ``upto_index`` (match-clock order).

    Raises:
        KeyError: no event of this match has that index.
    """
    state = MatchState(match_id, home_team, away_team)
    for event in sort_events(events):
        state.apply(event)
        if event.get("index") == upto_index:
            return state.features()
    raise KeyError(f"match {match_id} has no event with index {upto_index}")


def _regulation_key(event: Any) -> tuple[int, float] | None:
    """(period, seconds into the period) of a regulation event; None for one that ends it.

    An event of period 3 or later, or the replay's ``Match End`` marker, ends regulation; it
    is checked like any event first.

    Raises:
        EventError: the event is not an object, or lacks a valid ``period`` or ``timestamp``
            (an event that ends regulation: any field :class:`MatchState` checks).
    """
    if not isinstance(event, dict):
        raise EventError(f"an event must be a JSON object, got {type(event).__name__}")
    period = int_field(event, "period")
    if period >= 3 or sub_name(event, "type") == MATCH_END:
        read_head(event)
        return None
    return period, parse_timestamp(event.get("timestamp"))


class MinuteTracker:
    """The minute snapshots of one match, each returned as soon as it is final.

    Fed a match's events one at a time in arrival (match-clock) order. The snapshot at
    regulation minute m (0..90) is the state after every event up to
    :func:`~inplay.features.rules.minute_cutoff` ``(m)``: for m <= 45, period-1 events with
    timestamp <= m:00; for m > 45, the whole first half (stoppage time included) plus period-2
    events with timestamp <= (m - 45):00. Its ``clock`` and ``current_minute`` are m and its
    ``period`` 1 (m <= 45) or 2. A minute is final when an event past its cutoff arrives, so
    :meth:`push` returns it taken *before* that event is applied. Duplicates and late events
    are applied by :class:`MatchState`'s rules (a late event joins the minutes not yet
    returned). An event of period >= 3, or the replay's ``Match End`` marker, ends regulation:
    it is not applied, and every remaining minute is returned. Exactly 91 rows in all.

    Args:
        match_id: StatsBomb match id.
        home_team: home team name (StatsBomb's label).
        away_team: away team name.
    """

    def __init__(self, match_id: int, home_team: str, away_team: str) -> None:
        self._state = MatchState(match_id, home_team, away_team)
        self._next_minute = 0
        self._over = False

    @property
    def state(self) -> MatchState:
        """The match state (regulation events applied so far); read it, do not apply to it."""
        return self._state

    @property
    def next_minute(self) -> int:
        """The first minute not returned yet (91 once every row has been returned)."""
        return self._next_minute

    @property
    def regulation_over(self) -> bool:
        """True once an event ended regulation or :meth:`finish` was called."""
        return self._over

    @property
    def result(self) -> str | None:
        """'H', 'D' or 'A', the regulation result, once regulation is over; else None."""
        return rules.result_letter(*self._state.regulation_score) if self._over else None

    def push(self, event: dict) -> list[dict[str, Any]]:
        """Take one event; return the rows of the minutes it makes final (often none).

        After regulation is over an event changes nothing and returns ``[]``.

        Returns:
            The rows of every minute not returned yet whose cutoff the event's (period,
            timestamp) is past, in minute order; for an event that ends regulation, every
            remaining row up to minute 90.

        Raises:
            EventError: the event is bad (see :meth:`MatchState.apply`); nothing changes and
                no row is lost (the next event returns it).
        """
        if self._over:
            return []
        key = _regulation_key(event)
        if key is None:
            return self.finish()
        rows = self._rows_before(key)
        self._state.apply(event)  # may raise: the rows are returned again later
        self._next_minute += len(rows)
        return rows

    def finish(self) -> list[dict[str, Any]]:
        """End regulation: the rows of every minute not returned yet, up to 90.

        Idempotent: a second call returns ``[]``; later events are not applied.
        """
        self._over = True
        rows = [self._row(minute) for minute in range(self._next_minute, _LAST_MINUTE + 1)]
        self._next_minute = _LAST_MINUTE + 1
        return rows

    def _rows_before(self, key: tuple[int, float]) -> list[dict[str, Any]]:
        """Rows of the minutes from :attr:`next_minute` whose cutoff is before ``key``."""
        rows = []
        minute = self._next_minute
        while minute <= _LAST_MINUTE and rules.minute_cutoff(minute) < key:
            rows.append(self._row(minute))
            minute += 1
        return rows

    def _row(self, minute: int) -> dict[str, Any]:
        """The current state as the snapshot of ``minute``."""
        row = self._state.features()
        row["clock"] = float(minute)
        row["current_minute"] = minute
        row["period"] = 1 if minute <= 45 else 2
        return row


def minute_snapshots(
    events: Iterable[dict], match_id: int, home_team: str, away_team: str
) -> list[dict[str, Any]]:
    """One snapshot per regulation minute m = 0..90 (see :class:`MinuteTracker`).

    The events are sorted into match-clock order and fed to a :class:`MinuteTracker`, as the
    live path feeds it.
    """
    return minute_snapshots_and_score(events, match_id, home_team, away_team)[0]


def minute_snapshots_and_score(
    events: Iterable[dict], match_id: int, home_team: str, away_team: str
) -> tuple[list[dict[str, Any]], tuple[int, int]]:
    """:func:`minute_snapshots` and the regulation score (home, away goals of periods 1-2).

    The score is the state's after *every* regulation event, stoppage time included: the
    minute-90 row holds the match at 90:00 and misses goals scored after it (about one match
    in six in the shared data has one).
    """
    tracker = MinuteTracker(match_id, home_team, away_team)
    rows: list[dict[str, Any]] = []
    for event in sort_events(events):
        rows.extend(tracker.push(event))
        if tracker.regulation_over:
            break
    rows.extend(tracker.finish())
    return rows, tracker.state.regulation_score


def regulation_result(events: Iterable[dict], home_team: str, away_team: str) -> str:
    """'H', 'D' or 'A': the result after periods 1-2, counted from events."""
    state = MatchState(0, home_team, away_team)
    for event in sort_events(events):
        state.apply(event)
    return rules.result_letter(*state.regulation_score)

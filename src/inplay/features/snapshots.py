"""Offline feature rows: a match's events sorted and fed to the live :class:`MatchState`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from inplay.config import PREDICTION_REQUEST_FIELDS
from inplay.features import rules
from inplay.features.events import parse_timestamp, sort_events
from inplay.features.match_state import MatchState

__all__ = [
    "prediction_request",
    "iter_event_snapshots",
    "features_upto",
    "minute_snapshots",
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


def _clock_key(event: dict) -> tuple[int, float]:
    """(period, seconds into the period) of an event."""
    return event["period"], parse_timestamp(event["timestamp"])


def minute_snapshots(
    events: Iterable[dict], match_id: int, home_team: str, away_team: str
) -> list[dict[str, Any]]:
    """One snapshot per regulation minute m = 0..90.

    The state at minute m: for m <= 45, every period-1 event with timestamp <= m:00; for
    m > 45, the whole first half (stoppage time included) plus every period-2 event with
    timestamp <= (m - 45):00. ``clock`` and ``current_minute`` are m.
    """
    ordered = [e for e in sort_events(events) if rules.is_regulation(e["period"])]
    state = MatchState(match_id, home_team, away_team)
    rows: list[dict[str, Any]] = []
    i = 0
    for minute in range(_LAST_MINUTE + 1):
        cutoff = rules.minute_cutoff(minute)
        while i < len(ordered) and _clock_key(ordered[i]) <= cutoff:
            state.apply(ordered[i])
            i += 1
        row = state.features()
        row["clock"] = float(minute)
        row["current_minute"] = minute
        row["period"] = 1 if minute <= 45 else 2
        rows.append(row)
    return rows


def regulation_result(events: Iterable[dict], home_team: str, away_team: str) -> str:
    """'H', 'D' or 'A': the result after periods 1-2, counted from events."""
    state = MatchState(0, home_team, away_team)
    for event in sort_events(events):
        state.apply(event)
    return rules.result_letter(*state.regulation_score)

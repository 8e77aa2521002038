"""Reading one events-topic record: the JSON object, its match id and its teams.

Everything here raises :class:`~inplay.features.EventError` with a reason for people; the
scorer quarantines the record with that reason (its category, without particulars, is counted:
:func:`inplay.live.stats.reason_category`).
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from typing import Any

import orjson

from inplay.features import EventError, MatchState

__all__ = ["decode_event", "match_id_of", "teams_of", "parse_event"]


def decode_event(value: Any) -> dict:
    """The record's value as a JSON object.

    Raises:
        EventError: not JSON, or not a JSON object.
    """
    try:
        event = orjson.loads(value)
    except (orjson.JSONDecodeError, TypeError) as exc:
        raise EventError(f"not JSON: {exc}") from None
    if not isinstance(event, dict):
        raise EventError(f"not a JSON object: {type(event).__name__}")
    return event


def match_id_of(event: Mapping[str, Any]) -> int:
    """The event's ``match_id``.

    Raises:
        EventError: not a positive 64-bit integer.
    """
    match_id = event.get("match_id")
    if isinstance(match_id, bool) or not isinstance(match_id, int):
        shown = repr(match_id)[:60]
        raise EventError(
            f"field 'match_id' must be an integer, got {type(match_id).__name__}: {shown}"
        )
    if not 0 < match_id < 2**63:  # StatsBomb ids are positive; int64 for every reader
        raise EventError(f"field 'match_id' {match_id} is not a positive 64-bit integer")
    return match_id


def _ended(match_id: int, event: Mapping[str, Any]) -> EventError:
    index = event.get("index")
    if isinstance(index, bool) or not isinstance(index, int):
        index = "not an integer"  # the reason's category must stay a bounded key
    return EventError(f"match {match_id} already ended (event index {index})")


def teams_of(match_id: int, event: Mapping[str, Any], known: bool) -> tuple[str, str]:
    """The event's ``home_team`` and ``away_team``.

    Args:
        match_id: The event's match (for the reason).
        event: The decoded event.
        known: Whether the match has a state already (changes the reason only).

    Raises:
        EventError: missing, empty or equal names; ``neutral`` present but not a boolean.
    """
    home, away = event.get("home_team"), event.get("away_team")
    if not (isinstance(home, str) and isinstance(away, str) and home.strip() and away.strip()):
        if not known:
            raise EventError(f"unknown match {match_id}: no 'home_team'/'away_team' given")
        raise EventError("fields 'home_team' and 'away_team' must be team names")
    if home == away:
        raise EventError(f"home_team and away_team are the same team in match {match_id}")
    if not isinstance(event.get("neutral", False), bool):
        raise EventError("field 'neutral' must be true or false (is the venue neutral?)")
    return home, away


def parse_event(
    value: Any, states: Mapping[int, MatchState], ended: Container[int]
) -> tuple[MatchState, dict]:
    """Decode one record's value and find (or start) its match's state.

    Args:
        value: The record's value (bytes).
        states: The live matches' states by match id (read only).
        ended: Match ids that ended.

    Returns:
        (the match's state, new if it has none yet; the decoded event)

    Raises:
        EventError: not a JSON object; ``match_id`` not a positive 64-bit integer; the
            match already ended; ``home_team``/``away_team`` missing, empty, equal, or not
            those the match started with; ``neutral`` not a boolean.
    """
    event = decode_event(value)
    match_id = match_id_of(event)
    if match_id in ended:
        raise _ended(match_id, event)
    state = states.get(match_id)
    home, away = teams_of(match_id, event, known=state is not None)
    if state is None:
        return MatchState(match_id, home, away), event
    if (state.home_team, state.away_team) != (home, away):
        raise EventError(
            f"match {match_id} changed teams: it was {state.home_team!r} v "
            f"{state.away_team!r}, this event says {home[:60]!r} v {away[:60]!r}"
        )
    return state, event

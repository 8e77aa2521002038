"""Reading one events-topic record: its key, the JSON object, its match id and its teams.

Everything here raises :class:`~inplay.features.EventError` with a reason for people; the
scorer quarantines the record with that reason (its category, without particulars, is counted:
:func:`inplay.live.stats.reason_category`).

Hostile input is refused at the edge, before it costs memory or time:

* a value over ``INPLAY_MAX_EVENT_BYTES`` (default 1 MiB, Kafka's default largest message) is
  refused by its size, never parsed (``event too large: ...``);
* JSON nested deeper than orjson's limit of 1024 levels (``nested too deep: ...``); the
  parser is iterative in C, so no Python recursion is involved;
* bytes that are not UTF-8 (``invalid text: ...``, with the offset of the first bad byte);
* a key that is not a match id, i.e. not the decimal digits of a positive 64-bit integer
  (``key is not a match id: ...``), or a key that names another match than the event's
  ``match_id`` (``key ... is not the event's match id ...``): the key decides the partition,
  and a match's state lives on the partition of its id. A record without a key (null) is
  accepted, as before: its outputs are keyed by its match id.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from typing import Any

import orjson

from inplay import config
from inplay.features import EventError, MatchState

__all__ = [
    "DEFAULT_MAX_EVENT_BYTES",
    "MIN_MAX_EVENT_BYTES",
    "JSON_MAX_DEPTH",
    "max_event_bytes",
    "check_size",
    "check_key",
    "decode_event",
    "match_id_of",
    "teams_of",
    "parse_event",
]

#: Default of ``INPLAY_MAX_EVENT_BYTES``: 1 MiB, Kafka's default largest message.
DEFAULT_MAX_EVENT_BYTES = 1_048_576
#: The smallest limit allowed: real events are far below it (the largest of 214,577 events of
#: 60 StatsBomb matches, as the replay encodes them, is 3,772 bytes), so values up to this size
#: are never refused and never make the worker read the setting.
MIN_MAX_EVENT_BYTES = 65_536
#: How deep orjson lets JSON arrays and objects nest (fixed in orjson; deeper: an error).
JSON_MAX_DEPTH = 1024
_MAX_KEY_DIGITS = 19  # 2**63 - 1 has 19 digits


def max_event_bytes() -> int:
    """``INPLAY_MAX_EVENT_BYTES``: the largest event value a worker parses.

    Raises:
        ConfigError: not a whole number, or below :data:`MIN_MAX_EVENT_BYTES`.
    """
    limit = config.env_int("INPLAY_MAX_EVENT_BYTES", DEFAULT_MAX_EVENT_BYTES)
    if limit < MIN_MAX_EVENT_BYTES:
        raise config.ConfigError(
            f"INPLAY_MAX_EVENT_BYTES={limit} is below {MIN_MAX_EVENT_BYTES}: real events would "
            f"be refused; set it to at least {MIN_MAX_EVENT_BYTES} or unset it "
            f"(default {DEFAULT_MAX_EVENT_BYTES})."
        )
    return limit


def check_size(value: Any) -> None:
    """Refuse a value over :func:`max_event_bytes` by its size, before parsing it.

    Raises:
        EventError: ``event too large: N bytes, over the limit of L (INPLAY_MAX_EVENT_BYTES)``.
    """
    if not isinstance(value, bytes | bytearray | memoryview):
        return  # a tombstone (None) or an odd type: decoding refuses it
    size = value.nbytes if isinstance(value, memoryview) else len(value)
    if size <= MIN_MAX_EVENT_BYTES:  # never over the limit: the setting is not read
        return
    limit = max_event_bytes()
    if size > limit:
        raise EventError(
            f"event too large: {size} bytes, over the limit of {limit} (INPLAY_MAX_EVENT_BYTES)"
        )


def check_key(key: bytes | None) -> None:
    """Refuse a record key that is not a match id (the decimal digits of a positive int64).

    A null key passes (its outputs are keyed by the event's match id).

    Raises:
        EventError: ``key is not a match id: b'...' (N bytes)``.
    """
    if key is None:
        return
    if 0 < len(key) <= _MAX_KEY_DIGITS and key.isdigit() and key[:1] != b"0":
        return
    shown = repr(bytes(key[:32])) + ("..." if len(key) > 32 else "")
    raise EventError(f"key is not a match id: {shown} ({len(key)} bytes)")


def _key_agrees(key: bytes | None, match_id: int) -> None:
    """Refuse a key naming another match than the event's ``match_id``."""
    if key is not None and key != str(match_id).encode():
        raise EventError(f"key {key.decode()} is not the event's match id {match_id}")


def _undecodable(value: Any, exc: Exception) -> EventError:
    """The reason a value could not be decoded: too deep, not UTF-8, or not JSON."""
    text = str(exc)
    if isinstance(exc, RecursionError) or text.startswith("depth limit exceeded"):
        return EventError(
            f"nested too deep: JSON arrays/objects over {JSON_MAX_DEPTH} levels deep ({text})"
        )
    if "UTF-8" in text and isinstance(value, bytes | bytearray | memoryview):
        try:
            bytes(value).decode("utf-8")
        except UnicodeDecodeError as bad:
            byte = bad.object[bad.start]
            return EventError(f"invalid text: byte 0x{byte:02x} at offset {bad.start} is not UTF-8")
    return EventError(f"not JSON: {text}")


def decode_event(value: Any) -> dict:
    """The record's value as a JSON object (its size is checked first: :func:`check_size`).

    Raises:
        EventError: too large, nested too deep, not UTF-8, not JSON, or not a JSON object.
    """
    check_size(value)
    try:
        event = orjson.loads(value)
    except (orjson.JSONDecodeError, TypeError, RecursionError) as exc:
        raise _undecodable(value, exc) from None
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
        EventError: missing, empty or equal names; ``neutral`` or ``knockout`` present but not
            a boolean.
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
    if not isinstance(event.get("knockout", False), bool):
        raise EventError("field 'knockout' must be true or false (can the match not end drawn?)")
    return home, away


def parse_event(
    value: Any,
    states: Mapping[int, MatchState],
    ended: Container[int],
    key: bytes | None = None,
) -> tuple[MatchState, dict]:
    """Check one record's key and value and find (or start) its match's state.

    Args:
        value: The record's value (bytes).
        states: The live matches' states by match id (read only).
        ended: Match ids that ended.
        key: The record's key (None: no key, accepted).

    Returns:
        (the match's state, new if it has none yet; the decoded event)

    Raises:
        EventError: a key that is not a match id; a value too large, nested too deep, not
            UTF-8 or not a JSON object; ``match_id`` not a positive 64-bit integer, or not the
            key's; the match already ended; ``home_team``/``away_team`` missing, empty,
            equal, or not those the match started with; ``neutral`` or ``knockout`` (optional,
            default false) not a boolean.
    """
    check_key(key)  # before parsing: the cheap checks first
    event = decode_event(value)
    match_id = match_id_of(event)
    _key_agrees(key, match_id)
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

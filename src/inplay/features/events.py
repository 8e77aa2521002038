"""StatsBomb events as :class:`~inplay.features.MatchState` reads them: checked fields and order.

Every function here either returns a field in the form the feature code needs or raises
:class:`EventError` with a reason for people. Quarantine reasons are counted by the text before
their first colon (see :func:`inplay.live.stats.reason_category`), so a bad value always goes
after one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any, NamedTuple

from inplay.errors import DataError
from inplay.features.rules import SHOOTOUT_PERIOD, default_minute

__all__ = [
    "EventError",
    "MATCH_END",
    "MAX_INDEX",
    "MAX_MINUTE",
    "MAX_PERIOD_SECONDS",
    "EventHead",
    "parse_timestamp",
    "show_value",
    "sub_name",
    "int_field",
    "read_head",
    "read_shot",
    "read_possession_team",
    "event_sort_key",
    "sort_events",
]

# The replay appends one synthetic event of this type after a match's last event (see
# inplay.live.replay.match_end_event): the match is over, later events for it are errors.
MATCH_END = "match end"

# Bounds of a plausible event; anything outside is bad input. The real StatsBomb data has
# indexes 1-4,750, minutes 0-128 and at most 59 minutes into a period.
MAX_INDEX = 2**31 - 1
MAX_MINUTE = 200
MAX_PERIOD_SECONDS = 3 * 3600
_TIMESTAMP = re.compile(r"(\d{1,2}):(\d{1,2}):(\d{1,2}(?:\.\d{1,9})?)", re.ASCII)


class EventError(DataError, ValueError):
    """An event cannot be applied: a field is missing, has the wrong type, or is unknown.

    A :class:`~inplay.errors.DataError`, and still a :class:`ValueError` for older callers.
    """


class EventHead(NamedTuple):
    """The fields every event needs, checked.

    Attributes:
        index: StatsBomb event index (unique within a match).
        period: 1-4, or 5 for the penalty shoot-out.
        seconds: seconds since the start of the period.
        minute: the match minute (given, or derived from period and seconds).
        type_name: the event type, lower-cased.
        team: name of the team the event belongs to.
    """

    index: int
    period: int
    seconds: float
    minute: int
    type_name: str
    team: str


def parse_timestamp(value: Any) -> float:
    """Seconds since the start of the period from a StatsBomb ``HH:MM:SS.mmm`` timestamp.

    Raises:
        EventError: the value is not such a timestamp, or is more than
            :data:`MAX_PERIOD_SECONDS` into the period.
    """
    if not isinstance(value, str):
        raise EventError(f"timestamp must be a 'HH:MM:SS.mmm' string, got {type(value).__name__}")
    match = _TIMESTAMP.fullmatch(value)
    if match is None:
        raise EventError(f"timestamp is not 'HH:MM:SS.mmm': {show_value(value)}")
    hours, minutes, seconds = match.groups()
    hours, minutes, seconds = int(hours), int(minutes), float(seconds)
    total = hours * 3600 + minutes * 60 + seconds
    if minutes >= 60 or seconds >= 60 or total > MAX_PERIOD_SECONDS:
        raise EventError(
            f"timestamp is out of range (minutes and seconds below 60, at most "
            f"{MAX_PERIOD_SECONDS // 3600} h): {value!r}"
        )
    return total


def show_value(value: Any) -> str:
    """A bad value for an error message: its type, then its text (shortened).

    Quarantine reasons are counted by the text before their first colon (see
    :func:`inplay.live.stats.reason_category`), so a value goes after one, never before.
    """
    text = repr(value)
    return f"{type(value).__name__}: {text[:60]}{'…' if len(text) > 60 else ''}"


def sub_name(obj: Any, key: str) -> str | None:
    """``obj[key]['name']`` lower-cased, or None when absent."""
    if not isinstance(obj, dict):
        return None
    sub = obj.get(key)
    if isinstance(sub, dict):
        name = sub.get("name")
        if isinstance(name, str):
            return name.lower()
    return None


def _check_int(key: str, value: Any) -> int:
    """``value`` when it is an int (not a bool).

    Raises:
        EventError: it is not.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise EventError(f"field '{key}' must be an integer, got {show_value(value)}")
    return value


def int_field(event: dict, key: str) -> int:
    """``event[key]`` when it is an int (not a bool).

    Raises:
        EventError: it is missing or not an int.
    """
    return _check_int(key, event.get(key))


def read_head(event: Any) -> EventHead:
    """Check the fields every event needs and return them.

    Raises:
        EventError: ``event`` is not a dict; ``index`` is not in 0-:data:`MAX_INDEX`;
            ``period`` is not 1-5; the timestamp is bad; ``minute`` is not in
            0-:data:`MAX_MINUTE`; ``type.name`` or ``team.name`` is missing.
    """
    if not isinstance(event, dict):
        raise EventError(f"an event must be a JSON object, got {type(event).__name__}")
    # `type(x) is int` is the common case of _check_int, checked first for speed (scoring
    # runs this for every event); anything else gets _check_int's verdict.
    index = event.get("index")
    if type(index) is not int:
        index = _check_int("index", index)
    if not 0 <= index <= MAX_INDEX:
        raise EventError(f"field 'index' {index} is not in 0-{MAX_INDEX}")
    period = event.get("period")
    if type(period) is not int:
        period = _check_int("period", period)
    if period < 1 or period > SHOOTOUT_PERIOD:
        raise EventError(f"period {period} is not 1-5")
    seconds = parse_timestamp(event.get("timestamp"))
    minute = event["minute"] if "minute" in event else default_minute(period, seconds)
    if type(minute) is not int:
        minute = _check_int("minute", minute)
    if not 0 <= minute <= MAX_MINUTE:
        raise EventError(f"field 'minute' {minute} is not in 0-{MAX_MINUTE}")
    type_name = sub_name(event, "type")
    if type_name is None:
        raise EventError("field 'type.name' is missing")
    team = event.get("team")
    team = team.get("name") if isinstance(team, dict) else None
    if not isinstance(team, str):
        raise EventError("field 'team.name' is missing")
    return EventHead(index, period, seconds, minute, type_name, team)


def read_shot(event: dict, head: EventHead) -> tuple[dict | None, float]:
    """The ``shot`` object of a Shot event and its xG; ``(None, 0.0)`` for other events.

    A shoot-out shot (period 5) is not checked: it is ignored anyway.

    Raises:
        EventError: a Shot outside the shoot-out has no ``shot`` object, an xG that is not a
            number in [0, 1], or no ``shot.outcome.name``.
    """
    if head.type_name != "shot":
        return None, 0.0
    shot = event.get("shot")
    if head.period == SHOOTOUT_PERIOD:
        return shot, 0.0
    if not isinstance(shot, dict):
        raise EventError("a Shot event has no 'shot' object")
    raw_xg = shot.get("statsbomb_xg")
    if isinstance(raw_xg, bool) or not isinstance(raw_xg, int | float):
        raise EventError(f"shot.statsbomb_xg must be a number, got {show_value(raw_xg)}")
    xg = float(raw_xg)
    if not math.isfinite(xg) or xg < 0 or xg > 1:
        raise EventError(f"shot.statsbomb_xg is not in [0, 1]: {raw_xg!r}")
    if sub_name(shot, "outcome") is None:
        raise EventError("a Shot event has no shot.outcome.name")
    return shot, xg


def read_possession_team(event: dict, teams: tuple[str, str]) -> str | None:
    """``possession_team.name``, or None when absent.

    Raises:
        EventError: it names neither of ``teams``.
    """
    if not isinstance(event.get("possession_team"), dict):
        return None
    team = event["possession_team"].get("name")
    if team is not None and team not in teams:
        raise EventError(f"possession_team is not a team of this match: {show_value(team)}")
    return team


def event_sort_key(event: dict) -> tuple[int, float, int]:
    """Match-clock order: (period, seconds into the period, index)."""
    return (int_field(event, "period"), parse_timestamp(event.get("timestamp")), event["index"])


def sort_events(events: Iterable[dict]) -> list[dict]:
    """A match's events in match-clock order, as they would arrive live."""
    return sorted(events, key=event_sort_key)

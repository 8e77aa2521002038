"""Match-state features: one incremental class for offline training rows and live scoring.

:class:`MatchState` takes one StatsBomb event at a time and keeps the state of a match
(score, clock, shots, shots on target, possession, xG, cards). The offline path
(:func:`iter_event_snapshots`, :func:`minute_snapshots`, :func:`features_upto`) sorts a match's
events and feeds them to the same class the live scorer feeds from Kafka, so both give the same
features for the same events.

Football rules (see ``../shared/notes/statsbomb-events.md``):

* Goals: ``Shot`` with outcome ``Goal`` for the shooting team, plus ``Own Goal For`` for the
  benefiting team. ``Own Goal Against`` (the same goal seen from the other side) is not counted.
* Shots, shots on target (``Goal``, ``Saved``, ``Saved to Post``), xG and cards count in periods
  1-4. Period 5 (the penalty shoot-out) is ignored entirely.
* Red cards: ``Red Card`` or ``Second Yellow`` on ``foul_committed`` or ``bad_behaviour``.
* Possession: share of time. The time between two consecutive events of a period goes to the
  ``possession_team`` of the earlier one.
* Duplicates (an ``index`` seen before) change nothing. A late event (its match clock is before
  the latest one seen) still adds its goals, shots, xG and cards, but no possession time, and
  does not move the clock back.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from inplay.config import PREDICTION_REQUEST_FIELDS

__all__ = [
    "EventError",
    "MATCH_END",
    "MatchState",
    "FEATURE_COLUMNS",
    "REGULATION_SECONDS",
    "parse_timestamp",
    "event_sort_key",
    "sort_events",
    "iter_event_snapshots",
    "minute_snapshots",
    "features_upto",
    "regulation_result",
    "prediction_request",
]

PERIOD_SECONDS = 45 * 60
REGULATION_SECONDS = 2 * PERIOD_SECONDS
# Where each period starts on a continuous match clock (seconds).
_PERIOD_OFFSET = {1: 0, 2: PERIOD_SECONDS, 3: REGULATION_SECONDS, 4: REGULATION_SECONDS + 15 * 60}
SHOOTOUT_PERIOD = 5

# The replay appends one synthetic event of this type after a match's last event (see
# inplay.live.replay.match_end_event): the match is over, later events for it are errors.
MATCH_END = "match end"

# Bounds of a plausible event; anything outside is bad input. The real StatsBomb data has
# indexes 1-4,750, minutes 0-128 and at most 59 minutes into a period.
MAX_INDEX = 2**31 - 1
MAX_MINUTE = 200
MAX_PERIOD_SECONDS = 3 * 3600
_TIMESTAMP = re.compile(r"(\d{1,2}):(\d{1,2}):(\d{1,2}(?:\.\d{1,9})?)", re.ASCII)

ON_TARGET_OUTCOMES = frozenset({"goal", "saved", "saved to post"})
RED_CARDS = frozenset({"red card", "second yellow"})
YELLOW_CARDS = frozenset({"yellow card"})

# Every column a snapshot carries, in order: the 11-field request plus extras.
FEATURE_COLUMNS: tuple[str, ...] = (
    "match_id",
    "event_index",
    "period",
    "clock",
    "elapsed_seconds",
    *PREDICTION_REQUEST_FIELDS,
    "reg_home_goals",
    "reg_away_goals",
    "home_red_cards",
    "away_red_cards",
    "home_yellow_cards",
    "away_yellow_cards",
    "home_np_xg",
    "away_np_xg",
    "n_events",
)


class EventError(ValueError):
    """An event cannot be applied: a field is missing, has the wrong type, or is unknown."""


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
        raise EventError(f"timestamp is not 'HH:MM:SS.mmm': {_show(value)}")
    hours, minutes, seconds = int(match[1]), int(match[2]), float(match[3])
    total = hours * 3600 + minutes * 60 + seconds
    if minutes >= 60 or seconds >= 60 or total > MAX_PERIOD_SECONDS:
        raise EventError(
            f"timestamp is out of range (minutes and seconds below 60, at most "
            f"{MAX_PERIOD_SECONDS // 3600} h): {value!r}"
        )
    return total


def _show(value: Any) -> str:
    """A bad value for an error message: its type, then its text (shortened).

    Quarantine reasons are counted by the text before their first colon (see
    :func:`inplay.live.scorer.reason_category`), so a value goes after one, never before.
    """
    text = repr(value)
    return f"{type(value).__name__}: {text[:60]}{'…' if len(text) > 60 else ''}"


def _name(obj: Any, key: str) -> str | None:
    """``obj[key]['name']`` lower-cased, or None when absent."""
    if not isinstance(obj, dict):
        return None
    sub = obj.get(key)
    if isinstance(sub, dict):
        name = sub.get("name")
        if isinstance(name, str):
            return name.lower()
    return None


def _int_field(event: dict, key: str) -> int:
    value = event.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise EventError(f"field '{key}' must be an integer, got {_show(value)}")
    return value


def event_sort_key(event: dict) -> tuple[int, float, int]:
    """Match-clock order: (period, seconds into the period, index)."""
    return (_int_field(event, "period"), parse_timestamp(event.get("timestamp")), event["index"])


def sort_events(events: Iterable[dict]) -> list[dict]:
    """A match's events in match-clock order, as they would arrive live."""
    return sorted(events, key=event_sort_key)


@dataclass
class _Side:
    goals: int = 0
    reg_goals: int = 0
    shots: int = 0
    shots_on_target: int = 0
    xg: float = 0.0
    np_xg: float = 0.0
    red_cards: int = 0
    yellow_cards: int = 0
    possession_seconds: float = 0.0


@dataclass
class MatchState:
    """The state of one match, updated one event at a time.

    Args:
        match_id: StatsBomb match id.
        home_team: home team name as in the match list (StatsBomb's label).
        away_team: away team name.
    """

    match_id: int
    home_team: str
    away_team: str
    period: int = 1
    current_minute: int = 0
    period_seconds: float = 0.0
    event_index: int = 0
    n_events: int = 0
    duplicates: int = 0
    late_events: int = 0
    ignored_events: int = 0
    ended: bool = False
    _home: _Side = field(default_factory=_Side, repr=False)
    _away: _Side = field(default_factory=_Side, repr=False)
    _seen: set[int] = field(default_factory=set, repr=False)
    _last_possession: tuple[int, float, str | None] | None = field(default=None, repr=False)

    def _side(self, team: str) -> _Side:
        if team == self.home_team:
            return self._home
        if team == self.away_team:
            return self._away
        raise EventError(
            f"team is neither the home nor the away team of match {self.match_id}: "
            f"{_show(team)}, teams {self.home_team!r} v {self.away_team!r}"
        )

    def apply(self, event: dict) -> str:
        """Apply one event.

        Returns:
            ``"applied"``, ``"late"`` (applied, but before the latest clock seen),
            ``"duplicate"`` (index seen before: nothing changed), ``"ignored"``
            (penalty shoot-out, period 5) or ``"ended"`` (the replay's end-of-match marker).

        Raises:
            EventError: the event lacks a field this class needs, has one of the wrong type or
                out of range (``index`` above :data:`MAX_INDEX`, ``minute`` above
                :data:`MAX_MINUTE`, negative ones), or names an unknown team. The state is
                unchanged.
        """
        if not isinstance(event, dict):
            raise EventError(f"an event must be a JSON object, got {type(event).__name__}")
        index = _int_field(event, "index")
        if not 0 <= index <= MAX_INDEX:
            raise EventError(f"field 'index' {index} is not in 0-{MAX_INDEX}")
        period = _int_field(event, "period")
        if period < 1 or period > SHOOTOUT_PERIOD:
            raise EventError(f"period {period} is not 1-5")
        seconds = parse_timestamp(event.get("timestamp"))
        minute = event.get("minute", int(seconds // 60) + _PERIOD_OFFSET.get(period, 0) // 60)
        if isinstance(minute, bool) or not isinstance(minute, int):
            raise EventError(f"field 'minute' must be an integer, got {_show(minute)}")
        if not 0 <= minute <= MAX_MINUTE:
            raise EventError(f"field 'minute' {minute} is not in 0-{MAX_MINUTE}")
        type_name = _name(event, "type")
        if type_name is None:
            raise EventError("field 'type.name' is missing")
        team_name = (
            event.get("team", {}).get("name") if isinstance(event.get("team"), dict) else None
        )
        if not isinstance(team_name, str):
            raise EventError("field 'team.name' is missing")
        side = self._side(team_name)
        shot = event.get("shot") if type_name == "shot" else None
        xg = 0.0
        if type_name == "shot" and period != SHOOTOUT_PERIOD:
            if not isinstance(shot, dict):
                raise EventError("a Shot event has no 'shot' object")
            raw_xg = shot.get("statsbomb_xg")
            if isinstance(raw_xg, bool) or not isinstance(raw_xg, int | float):
                raise EventError(f"shot.statsbomb_xg must be a number, got {_show(raw_xg)}")
            xg = float(raw_xg)
            if not math.isfinite(xg) or xg < 0 or xg > 1:
                raise EventError(f"shot.statsbomb_xg is not in [0, 1]: {raw_xg!r}")
            if _name(shot, "outcome") is None:
                raise EventError("a Shot event has no shot.outcome.name")
        possession_team = None
        if isinstance(event.get("possession_team"), dict):
            possession_team = event["possession_team"].get("name")
            if possession_team is not None and possession_team not in (
                self.home_team,
                self.away_team,
            ):
                raise EventError(
                    f"possession_team is not a team of this match: {_show(possession_team)}"
                )

        if index in self._seen:
            self.duplicates += 1
            return "duplicate"
        if self.ended:
            raise EventError(f"match {self.match_id} already ended (event index {index})")
        # Validated: from here on nothing raises.
        self._seen.add(index)
        if type_name == MATCH_END:
            self.ended = True
            return "ended"
        if period == SHOOTOUT_PERIOD:
            self.ignored_events += 1
            return "ignored"

        self.n_events += 1
        self.event_index = index
        key = (period, seconds)
        late = key < (self.period, self.period_seconds)
        if late:
            self.late_events += 1
        else:
            last = self._last_possession
            if last is not None and last[0] == period and last[2] is not None:
                self._side(last[2]).possession_seconds += seconds - last[1]
            self._last_possession = (period, seconds, possession_team)
            if period != self.period:
                self.current_minute = minute
            else:
                self.current_minute = max(self.current_minute, minute)
            self.period, self.period_seconds = period, seconds

        regulation = period <= 2
        if type_name == "shot":
            outcome = _name(shot, "outcome")
            side.shots += 1
            side.xg += xg
            if _name(shot, "type") != "penalty":
                side.np_xg += xg
            if outcome in ON_TARGET_OUTCOMES:
                side.shots_on_target += 1
            if outcome == "goal":
                side.goals += 1
                side.reg_goals += regulation
        elif type_name == "own goal for":
            side.goals += 1
            side.reg_goals += regulation
        for key_name in ("foul_committed", "bad_behaviour"):
            card = _name(event.get(key_name), "card")
            if card in RED_CARDS:
                side.red_cards += 1
            elif card in YELLOW_CARDS:
                side.yellow_cards += 1
        return "late" if late else "applied"

    @property
    def clock(self) -> float:
        """Regulation minutes elapsed, 0-90 (stoppage time counts as the end of its half)."""
        if self.period >= 3:
            return 90.0
        minutes = min(self.period_seconds / 60.0, 45.0)
        return minutes + (45.0 if self.period == 2 else 0.0)

    @property
    def elapsed_seconds(self) -> float:
        """Seconds on a continuous match clock (period start offset + seconds into the period)."""
        return _PERIOD_OFFSET.get(self.period, 0) + self.period_seconds

    def possession(self) -> tuple[float, float]:
        """Home and away possession in percent (time share), summing to 100."""
        home, away = self._home.possession_seconds, self._away.possession_seconds
        if home + away <= 0:
            return 50.0, 50.0
        home_pct = round(100.0 * home / (home + away), 2)
        return home_pct, round(100.0 - home_pct, 2)

    def features(self) -> dict[str, Any]:
        """The current state as a flat dict with :data:`FEATURE_COLUMNS` as keys."""
        home_pos, away_pos = self.possession()
        h, a = self._home, self._away
        return {
            "match_id": self.match_id,
            "event_index": self.event_index,
            "period": self.period,
            "clock": round(self.clock, 4),
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "home_goals": h.goals,
            "away_goals": a.goals,
            "current_minute": self.current_minute,
            "home_shots": h.shots,
            "away_shots": a.shots,
            "home_shots_on_target": h.shots_on_target,
            "away_shots_on_target": a.shots_on_target,
            "home_possession": home_pos,
            "away_possession": away_pos,
            "home_xg": round(h.xg, 6),
            "away_xg": round(a.xg, 6),
            "reg_home_goals": h.reg_goals,
            "reg_away_goals": a.reg_goals,
            "home_red_cards": h.red_cards,
            "away_red_cards": a.red_cards,
            "home_yellow_cards": h.yellow_cards,
            "away_yellow_cards": a.yellow_cards,
            "home_np_xg": round(h.np_xg, 6),
            "away_np_xg": round(a.np_xg, 6),
            "n_events": self.n_events,
        }


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


def minute_snapshots(
    events: Iterable[dict], match_id: int, home_team: str, away_team: str
) -> list[dict[str, Any]]:
    """One snapshot per regulation minute m = 0..90.

    The state at minute m: for m <= 45, every period-1 event with timestamp <= m:00; for
    m > 45, the whole first half (stoppage time included) plus every period-2 event with
    timestamp <= (m - 45):00. ``clock`` and ``current_minute`` are m.
    """
    ordered = [e for e in sort_events(events) if e["period"] <= 2]
    state = MatchState(match_id, home_team, away_team)
    rows: list[dict[str, Any]] = []
    i = 0
    for minute in range(91):
        cutoff = (1, minute * 60.0) if minute <= 45 else (2, (minute - 45) * 60.0)
        while (
            i < len(ordered)
            and (
                ordered[i]["period"],
                parse_timestamp(ordered[i]["timestamp"]),
            )
            <= cutoff
        ):
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
    diff = state._home.reg_goals - state._away.reg_goals
    return "H" if diff > 0 else ("A" if diff < 0 else "D")

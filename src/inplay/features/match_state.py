"""The incremental match state: one class for offline training rows and live scoring."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from inplay.config import PREDICTION_REQUEST_FIELDS
from inplay.features import rules
from inplay.features.events import (
    MATCH_END,
    EventError,
    EventHead,
    read_head,
    read_possession_team,
    read_shot,
    show_value,
    sub_name,
)
from inplay.features.shootout import ShootoutState

__all__ = ["FEATURE_COLUMNS", "MatchState"]

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


@dataclass
class _Side:
    """One team's running counts."""

    goals: int = 0
    reg_goals: int = 0
    shots: int = 0
    shots_on_target: int = 0
    xg: float = 0.0
    np_xg: float = 0.0
    red_cards: int = 0
    yellow_cards: int = 0
    possession_seconds: float = 0.0

    def add_goals(self, goals: int, period: int) -> None:
        """Count ``goals`` scored in ``period`` (also in the regulation score for periods 1-2)."""
        self.goals += goals
        self.reg_goals += goals * rules.is_regulation(period)

    def add_cards(self, event: dict) -> None:
        """Count the red and yellow cards an event carries."""
        if event.keys().isdisjoint(rules.CARD_KEYS):
            return  # most events: no object that can carry a card (the same counts, faster)
        reds, yellows = rules.card_counts(
            [sub_name(event.get(key), "card") for key in rules.CARD_KEYS]
        )
        self.red_cards += reds
        self.yellow_cards += yellows

    def rounded_xg(self) -> tuple[float, float]:
        """``round(xg, 6)`` and ``round(np_xg, 6)`` (as the features carry them).

        Remembered until the xG changes (a shot), in an attribute that is not a field: not
        compared, not saved, recomputed after a restore.
        """
        memo = getattr(self, "_xg_memo", None)
        if memo is None or memo[0] != self.xg or memo[1] != self.np_xg:
            memo = (self.xg, self.np_xg, round(self.xg, 6), round(self.np_xg, 6))
            self._xg_memo = memo
        return memo[2], memo[3]


class _Checked(NamedTuple):
    """An event whose every field the state uses has been checked."""

    head: EventHead
    side: _Side
    shot: dict | None
    xg: float
    possession_team: str | None


def _count_shot(side: _Side, event: _Checked) -> None:
    """A shot: shots, xG, non-penalty xG, shots on target and a goal."""
    outcome = sub_name(event.shot, "outcome")
    side.shots += 1
    side.xg += event.xg
    if not rules.is_penalty(sub_name(event.shot, "type")):
        side.np_xg += event.xg
    if rules.is_on_target(outcome):
        side.shots_on_target += 1
    side.add_goals(rules.goals_scored("shot", outcome), event.head.period)


def _count_own_goal(side: _Side, event: _Checked) -> None:
    """An own goal, counted for the benefiting side (``Own Goal For``)."""
    side.add_goals(rules.goals_scored("own goal for", None), event.head.period)


# What an applied event adds to its team's counts, by lower-cased event type; cards are counted
# for every type.
_COUNTERS: dict[str, Callable[[_Side, _Checked], None]] = {
    "shot": _count_shot,
    "own goal for": _count_own_goal,
}


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
    shootout: ShootoutState = field(default_factory=ShootoutState)
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
            f"{show_value(team)}, teams {self.home_team!r} v {self.away_team!r}"
        )

    def apply(self, event: dict) -> str:
        """Apply one event.

        Returns:
            ``"applied"``, ``"late"`` (applied, but before the latest clock seen),
            ``"duplicate"`` (index seen before: nothing changed), ``"kick"`` (a shoot-out
            kick, a ``Shot`` of period 5: only :attr:`shootout` changes), ``"ignored"`` (any
            other shoot-out event) or ``"ended"`` (the replay's end-of-match marker). The
            features ignore period 5 (kicks included: :attr:`ignored_events` counts them all).

        Raises:
            EventError: the event lacks a field this class needs, has one of the wrong type or
                out of range (``index`` above :data:`~inplay.features.MAX_INDEX`, ``minute``
                above :data:`~inplay.features.MAX_MINUTE`, negative ones), or names an unknown
                team. The state is unchanged.
        """
        checked = self._check(event)
        skipped = self._admit(checked.head)
        if skipped is not None:
            if skipped == "ignored" and checked.head.type_name == "shot":
                self._kick(checked.head.team, event)
                return "kick"
            return skipped
        # Validated and admitted: from here on nothing raises.
        self.n_events += 1
        self.event_index = checked.head.index
        late = self._advance_clock(checked)
        counter = _COUNTERS.get(checked.head.type_name)
        if counter is not None:
            counter(checked.side, checked)
        checked.side.add_cards(event)
        return "late" if late else "applied"

    def _check(self, event: Any) -> _Checked:
        """Every field :meth:`apply` uses, checked in a fixed order (the first problem raises).

        Raises:
            EventError: see :meth:`apply`.
        """
        head = read_head(event)
        side = self._side(head.team)
        shot, xg = read_shot(event, head)
        possession_team = read_possession_team(event, (self.home_team, self.away_team))
        return _Checked(head, side, shot, xg, possession_team)

    def _admit(self, head: EventHead) -> str | None:
        """None for an event to count, else the outcome of one that is not counted.

        A duplicate changes nothing; the end-of-match marker ends the match; a shoot-out event
        is only counted as ignored.

        Raises:
            EventError: the match already ended (the state is unchanged).
        """
        if head.index in self._seen:
            self.duplicates += 1
            return "duplicate"
        if self.ended:
            raise EventError(f"match {self.match_id} already ended (event index {head.index})")
        self._seen.add(head.index)
        if head.type_name == MATCH_END:
            self.ended = True
            return "ended"
        if rules.is_shootout(head.period):
            self.ignored_events += 1
            return "ignored"
        return None

    def _kick(self, team: str, event: dict) -> None:
        """Count a shoot-out kick (scored when its outcome is a goal), as ShootoutTracker does."""
        so, home = self.shootout, team == self.home_team
        scored = int(rules.is_goal(sub_name(event.get("shot"), "outcome")))
        self.shootout = ShootoutState(
            so.home_taken + home,
            so.home_scored + scored * home,
            so.away_taken + (not home),
            so.away_scored + scored * (not home),
            home if so.home_first is None else so.home_first,
        )

    def _advance_clock(self, event: _Checked) -> bool:
        """Move the clock to the event and credit possession time; True for a late event.

        A late event (before the latest clock seen) moves nothing and gets no possession time.
        """
        period, seconds, minute = event.head.period, event.head.seconds, event.head.minute
        if (period, seconds) < (self.period, self.period_seconds):
            self.late_events += 1
            return True
        last = self._last_possession
        if last is not None and last[0] == period and last[2] is not None:
            self._side(last[2]).possession_seconds += seconds - last[1]
        self._last_possession = (period, seconds, event.possession_team)
        if period != self.period:
            self.current_minute = minute
        else:
            self.current_minute = max(self.current_minute, minute)
        self.period, self.period_seconds = period, seconds
        return False

    @property
    def clock(self) -> float:
        """Regulation minutes elapsed, 0-90 (stoppage time counts as the end of its half)."""
        return rules.regulation_clock(self.period, self.period_seconds)

    @property
    def elapsed_seconds(self) -> float:
        """Seconds on a continuous match clock (period start offset + seconds into the period)."""
        return rules.elapsed_seconds(self.period, self.period_seconds)

    @property
    def regulation_score(self) -> tuple[int, int]:
        """Home and away goals scored in periods 1-2."""
        return self._home.reg_goals, self._away.reg_goals

    def possession(self) -> tuple[float, float]:
        """Home and away possession in percent (time share), summing to 100."""
        return rules.possession_shares(self._home.possession_seconds, self._away.possession_seconds)

    def features(self) -> dict[str, Any]:
        """The current state as a flat dict with :data:`FEATURE_COLUMNS` as keys."""
        home_pos, away_pos = self.possession()
        h, a = self._home, self._away
        home_xg, home_np_xg = h.rounded_xg()
        away_xg, away_np_xg = a.rounded_xg()
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
            "home_xg": home_xg,
            "away_xg": away_xg,
            "reg_home_goals": h.reg_goals,
            "reg_away_goals": a.reg_goals,
            "home_red_cards": h.red_cards,
            "away_red_cards": a.red_cards,
            "home_yellow_cards": h.yellow_cards,
            "away_yellow_cards": a.yellow_cards,
            "home_np_xg": home_np_xg,
            "away_np_xg": away_np_xg,
            "n_events": self.n_events,
        }

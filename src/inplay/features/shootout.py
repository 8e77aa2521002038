"""The penalty shoot-out (period 5), tracked apart from :class:`~inplay.features.MatchState`.

:class:`MatchState` ignores period 5 entirely (its features and the prediction request do not
change); this small pure tracker reads the same parsed StatsBomb events and counts the kicks
taken and scored by each side, and who kicked first. A kick is a ``Shot`` event of period 5;
it is scored when its outcome is ``Goal`` (every other outcome, e.g. ``Saved``, ``Off T``,
``Post``, is a miss). Duplicates (an ``index`` seen before) change nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from inplay.features import rules
from inplay.features.events import sort_events, sub_name

__all__ = ["ShootoutState", "ShootoutTracker", "shootout_state"]


@dataclass(frozen=True)
class ShootoutState:
    """Kicks taken and scored by each side, and who kicked first.

    Attributes:
        home_taken: Kicks the home side has taken.
        home_scored: Of those, goals.
        away_taken: Kicks the away side has taken.
        away_scored: Of those, goals.
        home_first: True if the home side kicked first, False if the away side did, None
            before any kick.
    """

    home_taken: int = 0
    home_scored: int = 0
    away_taken: int = 0
    away_scored: int = 0
    home_first: bool | None = None

    @property
    def kicks(self) -> int:
        """Kicks taken by both sides."""
        return self.home_taken + self.away_taken


@dataclass
class ShootoutTracker:
    """Counts the kicks of a shoot-out, one event at a time.

    Args:
        home_team: Home team name as in the match list.
        away_team: Away team name.
    """

    home_team: str
    away_team: str
    _counts: dict[str, list[int]] = field(default_factory=dict, repr=False)
    _first: str | None = field(default=None, repr=False)
    _seen: set[int] = field(default_factory=set, repr=False)

    def apply(self, event: dict) -> bool:
        """Apply one event; True when it was a shoot-out kick (and was counted).

        Events of other periods, other types, other teams and duplicates are not counted.
        """
        if event.get("period") != rules.SHOOTOUT_PERIOD or sub_name(event, "type") != "shot":
            return False
        team = event.get("team")
        team = team.get("name") if isinstance(team, dict) else None
        if team not in (self.home_team, self.away_team):
            return False
        index = event.get("index")
        if index in self._seen:
            return False
        self._seen.add(index)
        scored = int(rules.is_goal(sub_name(event.get("shot"), "outcome")))
        counts = self._counts.setdefault(team, [0, 0])
        counts[0] += 1
        counts[1] += scored
        if self._first is None:
            self._first = team
        return True

    @property
    def state(self) -> ShootoutState:
        """The shoot-out so far."""
        home = self._counts.get(self.home_team, [0, 0])
        away = self._counts.get(self.away_team, [0, 0])
        first = None if self._first is None else self._first == self.home_team
        return ShootoutState(home[0], home[1], away[0], away[1], first)


def shootout_state(events: Iterable[dict], home_team: str, away_team: str) -> ShootoutState:
    """The shoot-out state after all of a match's events (sorted by match clock first)."""
    tracker = ShootoutTracker(home_team, away_team)
    for event in sort_events(events):
        tracker.apply(event)
    return tracker.state

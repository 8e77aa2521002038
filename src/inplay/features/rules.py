"""Football rules of the features, one small pure function each (see the package docstring).

Names (event types, shot outcomes, cards) are StatsBomb's, lower-cased.
"""

from __future__ import annotations

__all__ = [
    "PERIOD_SECONDS",
    "REGULATION_SECONDS",
    "SHOOTOUT_PERIOD",
    "ON_TARGET_OUTCOMES",
    "RED_CARDS",
    "YELLOW_CARDS",
    "CARD_KEYS",
    "period_offset",
    "default_minute",
    "is_shootout",
    "is_regulation",
    "is_on_target",
    "is_goal",
    "is_penalty",
    "goals_scored",
    "card_counts",
    "regulation_clock",
    "elapsed_seconds",
    "possession_shares",
    "minute_cutoff",
    "result_letter",
]

PERIOD_SECONDS = 45 * 60
REGULATION_SECONDS = 2 * PERIOD_SECONDS
# Where each period starts on a continuous match clock (seconds).
_PERIOD_OFFSET = {1: 0, 2: PERIOD_SECONDS, 3: REGULATION_SECONDS, 4: REGULATION_SECONDS + 15 * 60}
SHOOTOUT_PERIOD = 5

ON_TARGET_OUTCOMES = frozenset({"goal", "saved", "saved to post"})
RED_CARDS = frozenset({"red card", "second yellow"})
YELLOW_CARDS = frozenset({"yellow card"})
# The event objects that can carry a card.
CARD_KEYS = ("foul_committed", "bad_behaviour")


def period_offset(period: int) -> int:
    """Seconds on a continuous match clock at which ``period`` starts (0 for an unknown one)."""
    return _PERIOD_OFFSET.get(period, 0)


def default_minute(period: int, seconds: float) -> int:
    """The match minute of an event that gives none: period start plus whole minutes into it."""
    return int(seconds // 60) + period_offset(period) // 60


def is_shootout(period: int) -> bool:
    """Period 5, the penalty shoot-out: ignored entirely."""
    return period == SHOOTOUT_PERIOD


def is_regulation(period: int) -> bool:
    """Periods 1-2: goals here make the regulation (90-minute) score."""
    return period <= 2


def is_on_target(outcome: str | None) -> bool:
    """A shot outcome on target: ``goal``, ``saved`` or ``saved to post``."""
    return outcome in ON_TARGET_OUTCOMES


def is_goal(outcome: str | None) -> bool:
    """A shot outcome that is a goal for the shooting team."""
    return outcome == "goal"


def is_penalty(shot_type: str | None) -> bool:
    """A penalty shot (its xG is left out of the non-penalty xG)."""
    return shot_type == "penalty"


def goals_scored(type_name: str, shot_outcome: str | None) -> int:
    """Goals an event gives the team it belongs to: 1 or 0.

    A ``shot`` with outcome ``goal`` and an ``own goal for`` count; ``own goal against`` (the
    same own goal seen from the conceding side) does not.
    """
    if type_name == "shot":
        return int(is_goal(shot_outcome))
    return int(type_name == "own goal for")


def card_counts(cards: list[str | None]) -> tuple[int, int]:
    """Red and yellow cards among card names (``second yellow`` is a red card).

    Args:
        cards: the ``card.name`` of each of :data:`CARD_KEYS` of an event, lower-cased, None
            where absent.
    """
    reds = sum(card in RED_CARDS for card in cards)
    yellows = sum(card in YELLOW_CARDS for card in cards)
    return reds, yellows


def regulation_clock(period: int, period_seconds: float) -> float:
    """Regulation minutes elapsed, 0-90 (stoppage time counts as the end of its half)."""
    if period >= 3:
        return 90.0
    minutes = min(period_seconds / 60.0, 45.0)
    return minutes + (45.0 if period == 2 else 0.0)


def elapsed_seconds(period: int, period_seconds: float) -> float:
    """Seconds on a continuous match clock (period start offset + seconds into the period)."""
    return period_offset(period) + period_seconds


def possession_shares(home_seconds: float, away_seconds: float) -> tuple[float, float]:
    """Home and away possession in percent (time share, 2 decimals), summing to 100.

    50/50 before anyone has had the ball.
    """
    if home_seconds + away_seconds <= 0:
        return 50.0, 50.0
    home_pct = round(100.0 * home_seconds / (home_seconds + away_seconds), 2)
    return home_pct, round(100.0 - home_pct, 2)


def minute_cutoff(minute: int) -> tuple[int, float]:
    """The last (period, seconds) in the snapshot at regulation minute ``minute`` (0-90).

    Minute 45 is 45:00 of the first half; minute 46 is 1:00 of the second, so the first half's
    stoppage time is in every snapshot after 45.
    """
    return (1, minute * 60.0) if minute <= 45 else (2, (minute - 45) * 60.0)


def result_letter(home_goals: int, away_goals: int) -> str:
    """'H', 'D' or 'A' for a score."""
    diff = home_goals - away_goals
    return "H" if diff > 0 else ("A" if diff < 0 else "D")

"""Match-state features: one incremental class for offline training rows and live scoring.

:class:`MatchState` takes one StatsBomb event at a time and keeps the state of a match
(score, clock, shots, shots on target, possession, xG, cards). The offline path
(:func:`iter_event_snapshots`, :func:`minute_snapshots`, :func:`features_upto`) sorts a match's
events and feeds them to the same class the live scorer feeds from Kafka, so both give the same
features for the same events.

Modules: :mod:`~inplay.features.events` (checking and ordering events, :class:`EventError`),
:mod:`~inplay.features.rules` (the football rules, one pure function each),
:mod:`~inplay.features.match_state` (:class:`MatchState`) and
:mod:`~inplay.features.snapshots` (the offline rows).

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

from inplay.features.events import (
    MATCH_END,
    MAX_INDEX,
    MAX_MINUTE,
    MAX_PERIOD_SECONDS,
    EventError,
    event_sort_key,
    parse_timestamp,
    sort_events,
)
from inplay.features.match_state import FEATURE_COLUMNS, MatchState
from inplay.features.rules import (
    ON_TARGET_OUTCOMES,
    PERIOD_SECONDS,
    RED_CARDS,
    REGULATION_SECONDS,
    SHOOTOUT_PERIOD,
    YELLOW_CARDS,
)
from inplay.features.snapshots import (
    MinuteTracker,
    features_upto,
    iter_event_snapshots,
    minute_snapshots,
    minute_snapshots_and_score,
    prediction_request,
    regulation_result,
)

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
    "minute_snapshots_and_score",
    "MinuteTracker",
    "features_upto",
    "regulation_result",
    "prediction_request",
    # Also importable from here, as before the split (not part of the listed API).
    "MAX_INDEX",
    "MAX_MINUTE",
    "MAX_PERIOD_SECONDS",
    "ON_TARGET_OUTCOMES",
    "PERIOD_SECONDS",
    "RED_CARDS",
    "SHOOTOUT_PERIOD",
    "YELLOW_CARDS",
]

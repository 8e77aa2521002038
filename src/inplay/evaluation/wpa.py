"""Win probability added (WPA): which events moved a match, and which players made them.

A team's *expected points* at a moment are ``3 * P(win) + P(draw)`` of the regulation result,
from an outcome model's prediction on the match state (:mod:`inplay.features`, the one feature
code path the live scorer runs). An event's WPA is how much the event changed them.

The state is taken after every event, as the live scorer takes it. Between the state after
event k-1 and the state after event k two things change: the clock (and possession) moves on,
and event k may change a count (a goal, a shot and its xG, a card). The change is split in two:

* ``wpa_home`` / ``wpa_away``: the event's own change, the state after it minus the state just
  *before* it (the previous state's counts at the event's clock, possession included). Only
  shots, own goals and cards change a count, so every other event (passes, substitutions,
  events without a player) gets exactly 0, except a foul that gives away a penalty (below).
* ``context_home`` / ``context_away``: the rest: time passing between two events (a leading
  team's expected points rise as the clock runs), and the award of a penalty whose foul is not
  found. No player gets it.

Their sum over both columns is the change from the prediction after the previous event to the
prediction after this one, so over a match ``sum(wpa_home + context_home)`` is the home team's
expected points after the last regulation event minus those at kick-off (the same for away).

Who gets the credit (``team``, ``player``; ``wpa`` is the change of ``team``'s expected
points):

* The event's StatsBomb ``team`` and ``player``: a goal's WPA goes to the scorer, a red card's
  (``Red Card`` or ``Second Yellow``) to the sent-off player.
* Own goals: StatsBomb writes ``Own Goal For`` (benefiting team, the goal the features count)
  and ``Own Goal Against`` (conceding team, the player who put it in). The change is moved to the
  ``Own Goal Against`` event: the own-goal scorer gets his own team's (negative) change.
* Penalties (periods 1-2): the moment before the kick is valued at the expectation over the
  kick, ``xG * xP(scored) + (1 - xG) * xP(missed)`` with the penalty's StatsBomb xG, so a
  scored penalty earns ``(1 - xG)`` of the goal's value and a miss costs ``xG`` of it. The
  award (that expectation minus the state just before the kick) is charged to the player whose
  ``Foul Committed`` gave the penalty away (``foul_committed.penalty``, same period, at most
  five minutes before the kick); without one it goes to the context. A *saved* penalty
  (``Saved``, ``Saved to Post``) is credited to the goalkeeper (his ``Goal Keeper`` event
  ``Penalty Saved...``): he gets his own team's positive change and the shooter 0; a penalty
  off target or against the post stays the shooter's (negative).
* Extra time and the shoot-out: the label is the regulation result, decided once period 2
  ends, so events of period 3 and later get WPA 0 and context 0 (shoot-out events are not
  applied by the feature code and have no row).
* Events without a player (``Half Start``, ``Starting XI``, an ``Own Goal For`` without its
  partner) keep their row but are left out of :func:`player_wpa`.

Functions: :func:`event_states` (one row per applied event, with its team, player and type),
:func:`event_wpa` (the WPA of every row), :func:`match_wpa` (both in one call),
:func:`player_wpa` (sums per player) and :func:`top_moments` (a match's biggest events).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from inplay.features import MatchState, iter_event_snapshots
from inplay.features.events import sub_name

__all__ = [
    "COUNT_COLUMNS",
    "WPA_COLUMNS",
    "expected_points",
    "event_states",
    "event_wpa",
    "match_wpa",
    "player_wpa",
    "top_moments",
    "prediction_swings",
]

# The state's counts: what an event itself can change (everything else moves with the clock).
COUNT_COLUMNS: tuple[str, ...] = tuple(
    f"{side}_{stat}"
    for stat in (
        "goals",
        "shots",
        "shots_on_target",
        "xg",
        "np_xg",
        "red_cards",
        "yellow_cards",
    )
    for side in ("home", "away")
) + ("reg_home_goals", "reg_away_goals")

WPA_COLUMNS: tuple[str, ...] = (
    "match_id",
    "event_index",
    "period",
    "minute",
    "second",
    "elapsed_seconds",
    "team",
    "player",
    "type",
    "wpa",
    "wpa_home",
    "wpa_away",
    "context_home",
    "context_away",
    "xp_home",
    "xp_away",
    "p_home",
    "p_draw",
    "p_away",
)

# A saved penalty and its goalkeeper event, or an own goal's two events, are at most this many
# seconds apart (real data: under a second).
_PAIR_SECONDS = 5.0
_SAVED = frozenset({"saved", "saved to post"})
# A penalty is kicked at most this many seconds after the foul that gave it away (real data:
# one to two minutes; longer with a video review).
_FOUL_SECONDS = 300.0


def expected_points(p: np.ndarray) -> np.ndarray:
    """Home and away expected points ``(3 * p_win + p_draw)`` of ``(n, 3)`` H/D/A probabilities.

    Returns:
        An ``(n, 2)`` array: home, away.
    """
    p = np.asarray(p, dtype=float)
    return np.column_stack([3.0 * p[:, 0] + p[:, 1], 3.0 * p[:, 2] + p[:, 1]])


def _event_meta(event: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of an event WPA needs besides the state (who, what, which shot)."""
    shot = event.get("shot") if isinstance(event.get("shot"), dict) else {}
    player = event.get("player")
    foul = event.get("foul_committed")
    return {
        "team": event["team"]["name"],
        "player": player.get("name") if isinstance(player, dict) else None,
        "type": event["type"]["name"],
        "minute": event.get("minute"),
        "second": event.get("second"),
        "shot_type": sub_name(shot, "type"),
        "shot_outcome": sub_name(shot, "outcome"),
        "shot_xg": float(shot.get("statsbomb_xg") or 0.0),
        "keeper_type": sub_name(event.get("goalkeeper"), "type"),
        "penalty_foul": bool(foul.get("penalty")) if isinstance(foul, dict) else False,
    }


def event_states(
    events: Iterable[dict],
    match_id: int,
    home_team: str,
    away_team: str,
    labels: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """One row per applied event: the state after it plus its team, player, type and shot.

    The states come from :func:`inplay.features.iter_event_snapshots` (match-clock order,
    duplicates and the shoot-out skipped).

    Args:
        events: The match's StatsBomb events.
        match_id: StatsBomb match id.
        home_team: Home team name (StatsBomb's label).
        away_team: Away team name.
        labels: Constant columns added to every row, e.g. ``competition`` or the pre-match prior
            (``elo_diff``, ``neutral``) the model reads.

    Returns:
        The feature columns, ``home_team``, ``away_team``, the labels and ``team``, ``player``,
        ``type``, ``minute``, ``second``, ``shot_type``, ``shot_outcome``, ``shot_xg``,
        ``keeper_type`` (StatsBomb's names; the shot's and keeper's lower-cased, None when
        absent) and ``penalty_foul`` (a ``Foul Committed`` that gave away a penalty).
    """
    events = list(events)
    by_index: dict[Any, dict] = {}
    for event in events:
        by_index.setdefault(event.get("index"), event)
    rows = [
        {**state, **_event_meta(by_index[state["event_index"]])}
        for state in iter_event_snapshots(events, match_id, home_team, away_team)
    ]
    frame = pd.DataFrame(rows)
    frame["home_team"], frame["away_team"] = home_team, away_team
    for name, value in (labels or {}).items():
        frame[name] = value
    return frame


def _initial_row(states: pd.DataFrame) -> pd.DataFrame:
    """The kick-off state of ``states``' match (one row), with its teams and labels."""
    first = states.iloc[0]
    kick_off = MatchState(int(first["match_id"]), first["home_team"], first["away_team"])
    row = states.iloc[[0]].copy()
    for name, value in kick_off.features().items():
        row[name] = value
    return row.reset_index(drop=True)


def _penalty_rows(states: pd.DataFrame) -> np.ndarray:
    """Positions of regulation penalty kicks (``Shot`` of type ``Penalty``, period 1-2)."""
    mask = (
        (states["type"].str.lower() == "shot")
        & (states["shot_type"] == "penalty")
        & (states["period"] <= 2)
    )
    return np.flatnonzero(mask.to_numpy())


def _other_outcome(states: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    """The penalty rows with the other outcome of the kick: a goal more, or one fewer."""
    alt = states.iloc[rows].copy()
    home = (alt["team"] == alt["home_team"]).to_numpy()
    scored = (alt["shot_outcome"] == "goal").to_numpy()
    step = np.where(scored, -1, 1)
    for side, mine in (("home", home), ("away", ~home)):
        for col in (f"{side}_goals", f"reg_{side}_goals"):
            alt[col] = alt[col].to_numpy() + np.where(mine, step, 0)
    return alt


def _predicted(model, states: pd.DataFrame, pens: np.ndarray) -> dict[str, np.ndarray]:
    """Probabilities at kick-off, after, just before each event, and of the other kick outcome.

    One ``predict_proba`` call for all of them.
    """
    n = len(states)
    before = states.copy()
    previous = pd.concat([_initial_row(states), states.iloc[:-1]], ignore_index=True)
    before[list(COUNT_COLUMNS)] = previous[list(COUNT_COLUMNS)].to_numpy()
    batch = pd.concat(
        [_initial_row(states), states, before, _other_outcome(states, pens)], ignore_index=True
    )
    p = np.asarray(model.predict_proba(batch), dtype=float)
    return {
        "initial": p[0],
        "after": p[1 : n + 1],
        "before": p[n + 1 : 2 * n + 1],
        "other": p[2 * n + 1 :],
    }


def _penalty_expectation(
    states: pd.DataFrame, pens: np.ndarray, xp_after: np.ndarray, xp_other: np.ndarray
) -> np.ndarray:
    """Expected points before each penalty kick: ``xG * xP(goal) + (1 - xG) * xP(miss)``."""
    scored = (states["shot_outcome"].to_numpy()[pens] == "goal")[:, None]
    xg = states["shot_xg"].to_numpy(dtype=float)[pens][:, None]
    goal = np.where(scored, xp_after[pens], xp_other)
    miss = np.where(scored, xp_other, xp_after[pens])
    return xg * goal + (1.0 - xg) * miss


def _partner(states: pd.DataFrame, row: int, wanted: pd.Series) -> int | None:
    """The nearest row in ``wanted`` of the other team, same period, within a few seconds."""
    this = states.iloc[row]
    near = (
        wanted
        & (states["team"] != this["team"])
        & (states["period"] == this["period"])
        & ((states["elapsed_seconds"] - this["elapsed_seconds"]).abs() <= _PAIR_SECONDS)
    )
    candidates = np.flatnonzero(near.to_numpy())
    if len(candidates) == 0:
        return None
    gaps = np.abs(states["elapsed_seconds"].to_numpy()[candidates] - this["elapsed_seconds"])
    return int(candidates[np.argmin(gaps)])


def _moves(states: pd.DataFrame) -> list[tuple[int, int]]:
    """Credit to move, as (from row, to row).

    An own goal goes to its ``Own Goal Against`` event, a saved penalty to the goalkeeper's
    ``Penalty Saved`` event.
    """
    kind = states["type"].str.lower()
    keeper = states["keeper_type"].fillna("").str.startswith("penalty saved")
    moves = []
    for row in np.flatnonzero((kind == "own goal for").to_numpy()):
        moves.append((int(row), _partner(states, int(row), kind == "own goal against")))
    saved = states["shot_outcome"].isin(_SAVED).to_numpy()
    for row in _penalty_rows(states):
        if saved[row]:
            moves.append((int(row), _partner(states, int(row), keeper)))
    return [(src, dst) for src, dst in moves if dst is not None]


def _penalty_foul(states: pd.DataFrame, row: int) -> int | None:
    """The row of the foul that gave away the penalty kicked at ``row``, or None.

    The latest ``Foul Committed`` with ``foul_committed.penalty`` of the other team, same
    period, at most :data:`_FOUL_SECONDS` earlier (None e.g. for a handball not flagged).
    """
    this = states.iloc[row]
    earlier = states.iloc[:row]
    found = (
        earlier["penalty_foul"].astype(bool)
        & (earlier["team"] != this["team"])
        & (earlier["period"] == this["period"])
        & (earlier["elapsed_seconds"] >= this["elapsed_seconds"] - _FOUL_SECONDS)
    )
    rows = np.flatnonzero(found.to_numpy())
    return int(rows[-1]) if len(rows) else None


def _own_and_context(states: pd.DataFrame, p: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    """Each row's own change and context change of expected points (home, away columns).

    A penalty kick's row is valued against the expectation over the kick; the award (the
    expectation minus the state just before the kick) goes to the foul that gave it away,
    or to the context when there is none.

    Returns:
        ``own``, ``context`` and the expected points after each event, each ``(n, 2)``.
    """
    xp_after, xp_before = expected_points(p["after"]), expected_points(p["before"])
    xp_previous = np.vstack([expected_points(p["initial"][None, :]), xp_after[:-1]])
    own, context = xp_after - xp_before, xp_before - xp_previous
    pens = _penalty_rows(states)
    if len(pens):
        expected = _penalty_expectation(states, pens, xp_after, expected_points(p["other"]))
        award = expected - xp_before[pens]
        own[pens] = xp_after[pens] - expected
        for k, row in enumerate(pens):
            foul = _penalty_foul(states, int(row))
            if foul is None:
                context[row] += award[k]
            else:
                own[foul] += award[k]
    return own, context, xp_after


def _match_wpa(states: pd.DataFrame, model) -> pd.DataFrame:
    """:func:`event_wpa` of one match's rows (in match-clock order)."""
    states = states.reset_index(drop=True)
    p = _predicted(model, states, _penalty_rows(states))
    own, context, xp_after = _own_and_context(states, p)
    decided = (states["period"] >= 3).to_numpy()
    own[decided], context[decided] = 0.0, 0.0
    for src, dst in _moves(states):
        own[dst] += own[src]
        own[src] = 0.0
    home = (states["team"] == states["home_team"]).to_numpy()
    out = states.assign(
        wpa=np.where(home, own[:, 0], own[:, 1]),
        wpa_home=own[:, 0],
        wpa_away=own[:, 1],
        context_home=context[:, 0],
        context_away=context[:, 1],
        xp_home=xp_after[:, 0],
        xp_away=xp_after[:, 1],
        p_home=p["after"][:, 0],
        p_draw=p["after"][:, 1],
        p_away=p["after"][:, 2],
    )
    labels = [c for c in ("home_team", "away_team", "competition") if c in out.columns]
    return out[[*WPA_COLUMNS, *labels]]


def event_wpa(states: pd.DataFrame, model) -> pd.DataFrame:
    """The WPA of every event (see the module docstring for the rules).

    Args:
        states: Rows of :func:`event_states` (one or more matches, each in match-clock order).
        model: A fitted outcome model, or any object with ``predict_proba(frame)`` returning
            ``(n, 3)`` H/D/A probabilities.

    Returns:
        One row per event with :data:`WPA_COLUMNS` (plus ``home_team``, ``away_team`` and
        ``competition`` when present): ``wpa`` for the credited ``team`` and ``player``,
        ``wpa_home``/``wpa_away`` (the event's own change of each team's expected points),
        ``context_home``/``context_away`` (the rest), ``xp_*`` and ``p_*`` after the event.
    """
    if states.empty:
        return pd.DataFrame(columns=list(WPA_COLUMNS))
    parts = [_match_wpa(group, model) for _, group in states.groupby("match_id", sort=False)]
    return pd.concat(parts, ignore_index=True)


def match_wpa(
    model,
    events: Iterable[dict],
    match_id: int,
    home_team: str,
    away_team: str,
    labels: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """:func:`event_wpa` of one match straight from its events (see :func:`event_states`)."""
    return event_wpa(event_states(events, match_id, home_team, away_team, labels), model)


def player_wpa(frame: pd.DataFrame, by: Sequence[str] = ("match_id",)) -> pd.DataFrame:
    """Each player's summed WPA, per ``by`` group (a match, a competition, or ``()`` for all).

    Rows without a player are left out.

    Args:
        frame: Rows of :func:`event_wpa`.
        by: Grouping columns besides ``team`` and ``player`` (``("competition",)`` needs that
            column: pass it in ``labels`` of :func:`event_states`).

    Returns:
        ``*by``, ``team``, ``player``, ``wpa`` (sum), ``events`` (events with a non-zero WPA),
        ``matches``; best first.
    """
    keys = [*by, "team", "player"]
    missing = [c for c in keys if c not in frame.columns]
    if missing:
        raise KeyError(f"player_wpa needs the columns {missing}")
    rows = frame[frame["player"].notna()]
    grouped = rows.groupby(keys, sort=False)
    out = grouped.agg(
        wpa=("wpa", "sum"),
        events=("wpa", lambda w: int((w != 0).sum())),
        matches=("match_id", "nunique"),
    ).reset_index()
    return out.sort_values("wpa", ascending=False, kind="stable").reset_index(drop=True)


def top_moments(frame: pd.DataFrame, match_id: int, n: int = 5) -> pd.DataFrame:
    """The ``n`` events of a match with the largest WPA in size (either sign), biggest first.

    Raises:
        ValueError: the frame has no row of that match.
    """
    rows = frame[frame["match_id"] == match_id]
    if rows.empty:
        raise ValueError(f"no WPA rows for match {match_id}")
    rows = rows[rows["wpa"] != 0]
    order = rows["wpa"].abs().sort_values(ascending=False, kind="stable").index
    return rows.loc[order].head(n).reset_index(drop=True)


def prediction_swings(results: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """The ``n`` published predictions of one match that moved its expected points most.

    What the dashboard can tell from ``ml-pipeline-prediction-results`` alone (no player: that
    needs the events, :func:`match_wpa`): each prediction's change in the home side's expected
    points from the prediction before it (time since then included), as half the change of
    the difference between the sides: ``1.5 * (change of p_home - change of p_away)``, which
    is the same for both sides seen from either one.

    Args:
        results: One match's predictions (``period``, ``elapsed_seconds``, ``event_index``,
            ``minute``, ``event_type``, ``p_home``, ``p_draw``, ``p_away``, team names).
        n: How many to return.

    Returns:
        ``minute, event_type, team`` (the side that gained), ``gain`` (> 0),
        ``home_goals, away_goals`` after it; biggest first. Empty with fewer than two
        predictions.
    """
    columns = ["minute", "event_type", "team", "gain", "home_goals", "away_goals"]
    if len(results) < 2:
        return pd.DataFrame(columns=columns)
    frame = results.sort_values(["period", "elapsed_seconds", "event_index"]).reset_index(drop=True)
    xp = expected_points(frame[["p_home", "p_draw", "p_away"]].to_numpy(dtype=float))
    change = np.diff(xp[:, 0] - xp[:, 1], prepend=xp[0, 0] - xp[0, 1]) / 2.0
    moved = frame.assign(change=change).iloc[1:]
    moved = moved[moved["change"] != 0]
    top = moved.loc[moved["change"].abs().sort_values(ascending=False, kind="stable").index].head(n)
    return pd.DataFrame(
        {
            "minute": top["minute"].astype(int),
            "event_type": top["event_type"],
            "team": np.where(top["change"] > 0, top["home_team"], top["away_team"]),
            "gain": top["change"].abs(),
            "home_goals": top["home_goals"].astype(int),
            "away_goals": top["away_goals"].astype(int),
        },
        columns=columns,
    ).reset_index(drop=True)

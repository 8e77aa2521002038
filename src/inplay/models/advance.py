"""Who goes through a knockout match: P(home advances) through extra time and the shoot-out.

The outcome models predict the regulation (90-minute) result. In a match that cannot end
drawn (:func:`is_knockout`), a level score after 90 minutes goes to extra time (periods 3-4,
2 x 15 minutes plus stoppage) and, still level, to a penalty shoot-out (period 5). This module
continues the 1X2 probabilities into the probability that the home side advances:

* regulation (periods 1-2): ``p_home + p_draw * q``, with ``q`` the probability that the home
  side wins from a level score at the start of extra time;
* extra time (periods 3-4): each side's remaining goals are Poisson with the extra-time rate
  times the minutes left (:func:`et_minutes_left`), added to the current score; a level score
  at the end goes to the shoot-out;
* shoot-out: the exact probability of winning from the kicks so far
  (:func:`shootout_win_probability`, best of five then sudden death).

:class:`AdvanceParams` holds the extra-time rates, the extra-time stoppage and the kick
conversion; :meth:`AdvanceParams.fit` estimates them from knockout matches (see
:func:`inplay.evaluation.advance.knockout_table`) and the defaults are those estimates on the
693 StatsBomb Open Data matches (figures in the class docstring).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from inplay.config import ConfigError
from inplay.data.statsbomb import Match
from inplay.features.rules import REGULATION_SECONDS, SHOOTOUT_PERIOD
from inplay.features.shootout import ShootoutState
from inplay.models.goal_rate import _poisson_pmf

__all__ = [
    "KNOCKOUT_STAGES",
    "SHOOTOUT_COLUMNS",
    "ET_HALF_MINUTES",
    "is_knockout",
    "knockout_match_ids",
    "AdvanceParams",
    "shootout_win_probability",
    "et_minutes_left",
    "extra_time_probability",
    "advance_column",
    "p_advance",
]

KNOCKOUT_STAGES = frozenset(
    {
        "round of 32",
        "round of 16",
        "quarter-finals",
        "semi-finals",
        "3rd place final",
        "final",
    }
)
"""Stage names (lower-cased) of matches that cannot end drawn. The shared data's stages are
``Group Stage``, ``Regular Season`` (leagues, and the 2019 Women's World Cup's group stage),
``Round of 16``, ``Quarter-finals``, ``Semi-finals``, ``3rd Place Final`` and ``Final``. Every
knockout tie in it is one match (the Champions League data is finals only): no two-legged tie."""

SHOOTOUT_COLUMNS = ("so_home_taken", "so_home_scored", "so_away_taken", "so_away_scored")
"""Optional snapshot columns with the shoot-out state (:class:`ShootoutState`)."""

ET_HALF_MINUTES = 15.0
_ET_START = REGULATION_SECONDS  # elapsed seconds at which period 3 starts
_ET_SECOND = REGULATION_SECONDS + 15 * 60  # ... and period 4
_GROUP_MATCHES = 3  # group-stage matches per team in the shared data's tournaments
_MAX_ET_GOALS = 12


def is_knockout(stage: str | None) -> bool:
    """True for a stage whose matches cannot end drawn (:data:`KNOCKOUT_STAGES`).

    Group stages, league seasons (``Regular Season``) and an unknown stage (None) are not.
    """
    return isinstance(stage, str) and stage.strip().lower() in KNOCKOUT_STAGES


def knockout_match_ids(matches: Iterable[Match]) -> set[int]:
    """Ids of the knockout matches, correcting stages StatsBomb lists as league rounds.

    A match is knockout when its stage is (:func:`is_knockout`). In a season that has knockout
    stages (a tournament), a match listed as ``Regular Season`` is also knockout when both
    teams had already played their three group matches in that season before it: StatsBomb
    lists the 2019 Women's World Cup's round of 16 and quarter-finals partly as
    ``Regular Season`` (8 matches, among them two that went to extra time). On the World Cups
    2018 and 2022 the rule gives exactly the listed stages.
    """
    by_season: dict[tuple[int, int], list[Match]] = {}
    for match in matches:
        by_season.setdefault((match.competition_id, match.season_id), []).append(match)
    ids: set[int] = set()
    for season in by_season.values():
        ids |= _season_knockouts(season)
    return ids


def _season_knockouts(season: list[Match]) -> set[int]:
    """Knockout match ids of one competition season (see :func:`knockout_match_ids`)."""
    ids = {m.match_id for m in season if is_knockout(m.competition_stage)}
    if not ids:
        return ids
    played: dict[str, int] = {}
    for match in sorted(season, key=lambda m: m.sort_key):
        teams = (match.home_team, match.away_team)
        if min(played.get(team, 0) for team in teams) >= _GROUP_MATCHES:
            ids.add(match.match_id)
        for team in teams:
            played[team] = played.get(team, 0) + 1
    return ids


@dataclass(frozen=True)
class AdvanceParams:
    """Extra-time and shoot-out parameters.

    Defaults: :meth:`fit` on the knockout matches of the shared StatsBomb Open Data (60 matches,
    8 of them the 2019 Women's World Cup's listed as ``Regular Season``; 15 went to extra time,
    11 to a shoot-out). Regulation of those matches: 172 goals in 2 sides x 5885.5 minutes
    played, 0.0146 goals per side-minute. Extra time: 10 goals in 2 sides x 512.5 minutes,
    0.0098 per side-minute raw (a third lower), 0.0107 shrunk with :attr:`prior_minutes` = 240
    side-minutes of the regulation rate. Extra-time halves last 16.7 and 17.4 minutes on
    average (stoppage 1.74 and 2.43). Shoot-outs: 64 of 97 kicks scored (0.660; 0.657 =
    65 / 99 with the Laplace prior).

    Attributes:
        et_rate_home: Home goals per minute of extra time.
        et_rate_away: Away goals per minute of extra time.
        et_stoppage_first: Mean stoppage of the first extra-time half (minutes).
        et_stoppage_second: Mean stoppage of the second (minutes).
        kick_home: Probability that a home shoot-out kick is scored.
        kick_away: The same for the away side.
        prior_minutes: The weight :meth:`fit` gave the regulation rate (side-minutes).
    """

    et_rate_home: float = 0.0107
    et_rate_away: float = 0.0107
    et_stoppage_first: float = 1.74
    et_stoppage_second: float = 2.43
    kick_home: float = 0.657
    kick_away: float = 0.657

    prior_minutes: float = 240.0

    @property
    def et_minutes(self) -> float:
        """Expected length of extra time in minutes, stoppage included."""
        return 2 * ET_HALF_MINUTES + self.et_stoppage_first + self.et_stoppage_second

    @classmethod
    def fit(cls, table: pd.DataFrame, prior_minutes: float = 240.0) -> AdvanceParams:
        """Estimate the parameters from one row per knockout match.

        The extra-time rate per side-minute is ``(ET goals + prior_minutes * r) /
        (2 * ET minutes + prior_minutes)``, with ``r`` the regulation rate of the same matches
        (few matches go to extra time). Stoppage is the mean of each extra-time half's length
        minus 15 (at least 0). The kick conversion is ``(scored + 1) / (taken + 2)``.

        Args:
            table: Columns ``reg_home_goals``, ``reg_away_goals``, ``reg_minutes``, ``et``,
                ``et_home_goals``, ``et_away_goals``, ``et_first_minutes``,
                ``et_second_minutes`` and :data:`SHOOTOUT_COLUMNS` (see
                :func:`inplay.evaluation.advance.knockout_table`).
            prior_minutes: Weight of the regulation rate, in side-minutes.

        Raises:
            ConfigError: the table has no match or lacks a column.
        """
        need = {"reg_home_goals", "reg_away_goals", "reg_minutes", "et", "et_first_minutes"}
        missing = sorted(need - set(table.columns))
        if table.empty or missing:
            raise ConfigError(f"AdvanceParams.fit needs knockout matches with columns {missing}")
        reg_rate = _goals(table, "reg") / (2.0 * table["reg_minutes"].sum())
        et = table[table["et"].astype(bool)]
        et_minutes = float((et["et_first_minutes"] + et["et_second_minutes"]).sum())
        rate = (_goals(et, "et") + prior_minutes * reg_rate) / (2.0 * et_minutes + prior_minutes)
        halves = et[["et_first_minutes", "et_second_minutes"]].mean().fillna(ET_HALF_MINUTES)
        stop = np.maximum(halves.to_numpy(dtype=float) - ET_HALF_MINUTES, 0.0)
        taken = float(table["so_home_taken"].sum() + table["so_away_taken"].sum())
        scored = float(table["so_home_scored"].sum() + table["so_away_scored"].sum())
        kick = (scored + 1.0) / (taken + 2.0)
        return cls(*map(float, (rate, rate, stop[0], stop[1], kick, kick, prior_minutes)))


def _goals(table: pd.DataFrame, prefix: str) -> float:
    """Goals of both sides in columns ``<prefix>_home_goals`` and ``<prefix>_away_goals``."""
    return float(table[f"{prefix}_home_goals"].sum() + table[f"{prefix}_away_goals"].sum())


def _binomial(n: int, p: float) -> np.ndarray:
    """Probabilities of 0..n successes in ``n`` kicks scored with probability ``p``."""
    return np.array([math.comb(n, k) * p**k * (1.0 - p) ** (n - k) for k in range(n + 1)])


def _sudden_death(p_home: float, p_away: float) -> float:
    """P(home wins) from a level score at the start of a sudden-death round.

    A round decides when exactly one side scores: home with ``p_home (1 - p_away)``, away with
    ``p_away (1 - p_home)``; otherwise another round. 0.5 when no round can decide.
    """
    win, lose = p_home * (1.0 - p_away), p_away * (1.0 - p_home)
    return 0.5 if win + lose <= 0 else win / (win + lose)


@lru_cache(maxsize=4096)
def _shootout(state: tuple[int, int, int, int], p_home: float, p_away: float) -> float:
    home_taken, home_scored, away_taken, away_scored = state
    rounds = max(5, home_taken, away_taken)
    home = _binomial(max(rounds - home_taken, 0), p_home)
    away = _binomial(max(rounds - away_taken, 0), p_away)
    # joint[i, j]: home scores i and away j more kicks; the final difference decides.
    diff = home_scored - away_scored + np.subtract.outer(np.arange(home.size), np.arange(away.size))
    joint = np.outer(home, away)
    win = float(joint[diff > 0].sum())
    return win + float(joint[diff == 0].sum()) * _sudden_death(p_home, p_away)


def shootout_win_probability(
    state: ShootoutState, p_home: float, p_away: float | None = None
) -> float:
    """Exact probability that the home side wins a shoot-out from ``state``.

    Best of five kicks each, then sudden-death rounds, every kick scored independently with
    ``p_home`` (home) or ``p_away`` (away; default ``p_home``). A shoot-out stops as soon as
    one side cannot catch up, but its winner is the one it would have been with every kick of
    the round taken, so the probability is a sum over the remaining kicks of the current five
    (or of the current sudden-death round): ``P(D > 0) + P(D = 0) * s``, with ``D`` the final
    difference (the current one plus two independent binomials) and ``s`` the sudden-death
    win probability. Who kicks first therefore does not change it. A decided state gives 0 or 1.
    """
    p_away = p_home if p_away is None else p_away
    key = (state.home_taken, state.home_scored, state.away_taken, state.away_scored)
    return _shootout(key, float(p_home), float(p_away))


def et_minutes_left(period: Any, elapsed_seconds: Any, params: AdvanceParams) -> np.ndarray:
    """Expected extra-time minutes still to play, stoppage included (0 once it is over).

    Periods 1-2 (and a row at the start of period 3) get the whole of extra time; period 3 at
    ``s`` seconds into it ``15 + stoppage1 - s / 60`` plus the second half; period 4 the rest
    of the second half; the shoot-out 0.
    """
    period = np.asarray(period, dtype=int)
    elapsed = np.asarray(elapsed_seconds, dtype=float)
    first = ET_HALF_MINUTES + params.et_stoppage_first
    second = ET_HALF_MINUTES + params.et_stoppage_second
    in_first = np.clip(first - (elapsed - _ET_START) / 60.0, 0.0, first) + second
    in_second = np.clip(second - (elapsed - _ET_SECOND) / 60.0, 0.0, second)
    left = np.where(period <= 2, first + second, np.where(period == 3, in_first, in_second))
    return np.where(period >= SHOOTOUT_PERIOD, 0.0, left)


def extra_time_probability(
    goal_diff: Any, minutes_left: Any, params: AdvanceParams, p_shootout: Any
) -> np.ndarray:
    """P(home advances) in extra time: Poisson goals still to come, then the shoot-out.

    Args:
        goal_diff: Current home minus away goals (extra time included).
        minutes_left: Extra-time minutes still to play (:func:`et_minutes_left`).
        params: The extra-time rates.
        p_shootout: P(home wins the shoot-out) should the score end level.

    Returns:
        ``P(d + X - Y > 0) + P(d + X - Y = 0) * p_shootout`` with ``X ~ Poisson(rate_home *
        minutes)`` and ``Y ~ Poisson(rate_away * minutes)``.
    """
    gd = np.atleast_1d(np.asarray(goal_diff, dtype=float))
    minutes = np.broadcast_to(np.asarray(minutes_left, dtype=float), gd.shape)
    ph = _poisson_pmf(params.et_rate_home * minutes, _MAX_ET_GOALS)
    pa = _poisson_pmf(params.et_rate_away * minutes, _MAX_ET_GOALS)
    g = _MAX_ET_GOALS
    spread = np.zeros((gd.size, 2 * g + 1))  # P(X - Y = k), k = -g..g
    for j in range(g + 1):
        spread[:, g - j : 2 * g + 1 - j] += ph * pa[:, [j]]
    final = np.arange(-g, g + 1)[None, :] + gd[:, None]
    level = (spread * (final == 0)).sum(axis=1)
    return (spread * (final > 0)).sum(axis=1) + level * np.asarray(p_shootout, dtype=float)


def _knockout_mask(rows: pd.DataFrame, knockout: Any | None) -> np.ndarray:
    """Which rows are of knockout matches: the argument, or a ``knockout`` column, or the stage.

    Raises:
        ConfigError: none of the three is given.
    """
    if knockout is not None:
        return np.broadcast_to(np.asarray(knockout, dtype=bool), (len(rows),))
    if "knockout" in rows.columns:
        return rows["knockout"].fillna(False).to_numpy(dtype=bool)
    if "competition_stage" in rows.columns:
        return np.array([is_knockout(s) for s in rows["competition_stage"]], dtype=bool)
    raise ConfigError("advance_column needs `knockout` or a 'knockout'/'competition_stage' column")


def _shootout_column(rows: pd.DataFrame, params: AdvanceParams) -> np.ndarray:
    """P(home wins the shoot-out) from each row's shoot-out state (0 kicks without the columns)."""
    if not set(SHOOTOUT_COLUMNS) <= set(rows.columns):
        start = ShootoutState()
        return np.full(
            len(rows), shootout_win_probability(start, params.kick_home, params.kick_away)
        )
    counts = rows[list(SHOOTOUT_COLUMNS)].fillna(0).to_numpy(dtype=int)
    return np.array(
        [
            shootout_win_probability(
                ShootoutState(*map(int, c)), params.kick_home, params.kick_away
            )
            for c in counts
        ]
    )


def advance_column(
    rows: pd.DataFrame,
    probs: np.ndarray,
    params: AdvanceParams | None = None,
    knockout: Any | None = None,
) -> np.ndarray:
    """P(home advances) for each snapshot row; NaN for rows of matches that can end drawn.

    Args:
        rows: Snapshot rows with ``period``, ``elapsed_seconds``, ``home_goals`` and
            ``away_goals`` (goals of periods 1-4), optionally :data:`SHOOTOUT_COLUMNS`, and a
            ``knockout`` or ``competition_stage`` column unless ``knockout`` is given.
        probs: ``(n, 3)`` regulation H/D/A probabilities of the rows (used in periods 1-2).
        params: Extra-time and shoot-out parameters (default :class:`AdvanceParams`).
        knockout: Boolean per row (or one for all) overriding the columns.

    Returns:
        A float array: periods 1-2 ``p_home + p_draw * q`` (``q``: from level at 90 minutes),
        periods 3-4 the extra-time continuation from the current score, the shoot-out (period 5
        or any kick taken) the shoot-out probability; a finished match gives 0 or 1.

    Raises:
        ConfigError: no way to tell knockout rows (see ``knockout``).
    """
    params = params or AdvanceParams()
    probs = np.asarray(probs, dtype=float).reshape(len(rows), 3)
    mask = _knockout_mask(rows, knockout)
    period = rows["period"].to_numpy(dtype=int)
    p_so = _shootout_column(rows, params)
    in_so = period >= SHOOTOUT_PERIOD
    if set(SHOOTOUT_COLUMNS) <= set(rows.columns):
        taken = rows["so_home_taken"].fillna(0) + rows["so_away_taken"].fillna(0)
        in_so |= taken.to_numpy() > 0
    q_level = extra_time_probability(0.0, params.et_minutes, params, p_so)
    gd = (rows["home_goals"] - rows["away_goals"]).to_numpy(dtype=float)
    left = et_minutes_left(period, rows["elapsed_seconds"].to_numpy(dtype=float), params)
    in_et = extra_time_probability(gd, left, params, p_so)
    out = np.where(period <= 2, probs[:, 0] + probs[:, 1] * q_level, in_et)
    out = np.where(in_so, p_so, out)
    return np.where(mask, out, np.nan)


def p_advance(
    p_home: float,
    p_draw: float,
    p_away: float,
    period: int = 1,
    goal_diff: int = 0,
    elapsed_seconds: float = 0.0,
    shootout: ShootoutState | None = None,
    params: AdvanceParams | None = None,
) -> float:
    """P(home advances) of one knockout snapshot (a one-row :func:`advance_column`).

    Args:
        p_home: Regulation P(home win) (used in periods 1-2).
        p_draw: Regulation P(draw).
        p_away: Regulation P(away win).
        period: Current period (1-5).
        goal_diff: Home minus away goals so far (extra time included).
        elapsed_seconds: Seconds on the continuous match clock (period 3 starts at 5400).
        shootout: The shoot-out so far (period 5).
        params: Extra-time and shoot-out parameters.
    """
    so = shootout or ShootoutState()
    row = {
        "period": period,
        "elapsed_seconds": elapsed_seconds,
        "home_goals": goal_diff,
        "away_goals": 0,
        "so_home_taken": so.home_taken,
        "so_home_scored": so.home_scored,
        "so_away_taken": so.away_taken,
        "so_away_scored": so.away_scored,
    }
    rows = pd.DataFrame([row])
    return float(advance_column(rows, [[p_home, p_draw, p_away]], params, knockout=True)[0])

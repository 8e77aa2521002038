"""Goal markets from a final-score grid: scorelines, over/under, both teams to score, next goal.

A goal-count model gives, per snapshot row, the distribution of the final regulation score
(an ``(n, G + 1, G + 1)`` grid: ``[i, h, a]`` is the probability that row ``i`` ends
``h``-``a``; the last cell of each side takes the tail) and the expected regulation goals each
side still scores (``lam_home``, ``lam_away``). The pure functions here turn those into the
markets:

* :func:`top_scores`: the ``k`` most likely final scores and their probabilities;
* :func:`over_probabilities`: P(total regulation goals > 1.5 / 2.5 / 3.5);
* :func:`btts_probability`: P(both teams score), goals so far included;
* :func:`next_goal_probabilities`: who scores the next regulation goal (home / none / away),
  from the two remaining rates of independent Poisson processes:
  ``P(none) = exp(-(lh + la))``, ``P(home) = lh / (lh + la) * (1 - P(none))``;
* :func:`expected_goals`: the expected final score.

:func:`market_columns` runs them for any model with ``score_distribution(rows)`` and
``remaining_rates(rows)`` (:class:`~inplay.models.goal_rate.GoalRateModel` and its
subclasses, :class:`ScoreClockBaseline`).

Every market is about **regulation time** (periods 1-2). A row in extra time or later
(``period >= 3``) has its regulation score decided: its grid is one cell, so over/under and
both-teams-to-score are 0 or 1, and no regulation goal is left to come, so the next goal is
``none`` with probability 1 (both remaining rates are 0).
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

import numpy as np
import pandas as pd

from inplay.config import ConfigError
from inplay.models.goal_rate import remaining_minutes
from inplay.models.state import prepare_snapshots

__all__ = [
    "OVER_LINES",
    "MARKET_COLUMNS",
    "GoalMarketModel",
    "score_grid",
    "over_probabilities",
    "btts_probability",
    "next_goal_probabilities",
    "expected_goals",
    "top_scores",
    "top_scores_of_predictions",
    "market_frame",
    "market_columns",
    "ScoreClockBaseline",
]

OVER_LINES: tuple[float, ...] = (1.5, 2.5, 3.5)
"""Total-goals lines of the over/under markets."""
MARKET_COLUMNS: tuple[str, ...] = (
    "p_over_1_5",
    "p_over_2_5",
    "p_over_3_5",
    "p_btts",
    "p_next_home",
    "p_next_none",
    "p_next_away",
    "exp_home_goals",
    "exp_away_goals",
)
"""Columns of :func:`market_columns`, in order."""


class GoalMarketModel(Protocol):
    """What :func:`market_columns` needs of a model: the score grid and the remaining rates."""

    def score_distribution(self, df: pd.DataFrame, max_goals: int = 10) -> np.ndarray:
        """``(n, max_goals + 1, max_goals + 1)`` final regulation score probabilities."""
        ...

    def remaining_rates(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Expected regulation goals each side still scores (0 after regulation)."""
        ...


def _shifted_poisson(current: np.ndarray, lam: np.ndarray, max_goals: int) -> np.ndarray:
    """``(n, max_goals + 1)``: P(final = g) for a side with ``current`` goals and rate ``lam``.

    The last cell takes the tail (and every row whose current count is already past it).
    """
    from scipy import special

    extra = np.arange(max_goals + 1)[None, :] - np.asarray(current, dtype=float)[:, None]
    mu = np.asarray(lam, dtype=float)[:, None]
    k = np.maximum(extra, 0.0)
    pmf = np.exp(special.xlogy(k, mu) - special.gammaln(k + 1.0) - mu)
    pmf = np.where(extra >= 0, np.clip(pmf, 0.0, 1.0), 0.0)
    pmf[:, -1] += np.clip(1.0 - pmf.sum(axis=1), 0.0, None)
    return pmf


def score_grid(
    home_goals: Any, away_goals: Any, lam_home: Any, lam_away: Any, max_goals: int = 10
) -> np.ndarray:
    """Final-score grid of two independent Poisson processes added to the current score.

    Args:
        home_goals: Current regulation goals of the home side, one per row.
        away_goals: Same for the away side.
        lam_home: Expected home goals still to come in regulation (0: none to come).
        lam_away: Same for the away side.
        max_goals: Largest final goal count per side in the grid (the last cell takes the
            tail).

    Returns:
        An ``(n, max_goals + 1, max_goals + 1)`` array, the layout of
        :meth:`~inplay.models.goal_rate.GoalRateModel.score_distribution`.
    """
    home = _shifted_poisson(np.asarray(home_goals), np.asarray(lam_home), max_goals)
    away = _shifted_poisson(np.asarray(away_goals), np.asarray(lam_away), max_goals)
    return home[:, :, None] * away[:, None, :]


def _totals(grid: np.ndarray) -> np.ndarray:
    """``(G + 1, G + 1)``: the total goals of each cell of a grid."""
    g = np.arange(grid.shape[1])
    return g[:, None] + g[None, :]


def over_probabilities(grid: np.ndarray, lines: tuple[float, ...] = OVER_LINES) -> np.ndarray:
    """P(total final goals > line) for each row and line.

    Args:
        grid: ``(n, G + 1, G + 1)`` final-score probabilities.
        lines: Total-goals lines (e.g. 2.5).

    Returns:
        An ``(n, len(lines))`` array.
    """
    totals = _totals(grid)
    return np.column_stack([(grid * (totals > line)).sum(axis=(1, 2)) for line in lines])


def btts_probability(grid: np.ndarray) -> np.ndarray:
    """P(both teams score at least once in regulation) for each row (goals so far count)."""
    return grid[:, 1:, 1:].sum(axis=(1, 2))


def expected_goals(grid: np.ndarray) -> np.ndarray:
    """``(n, 2)``: the expected final home and away goals (the tail cells count as G)."""
    g = np.arange(grid.shape[1])
    return np.column_stack([grid.sum(axis=2) @ g, grid.sum(axis=1) @ g])


def next_goal_probabilities(lam_home: Any, lam_away: Any) -> np.ndarray:
    """Who scores the next regulation goal: ``(n, 3)`` columns home, none, away.

    With independent Poisson processes of means ``lh`` and ``la`` over the remaining time,
    no goal comes with probability ``exp(-(lh + la))``, and the first goal is the home side's
    with probability ``lh / (lh + la)`` (exact when the two rates keep their ratio over the
    remaining time, as the goal-rate model's constant per-minute rates do). Rows with no
    goal to come (both rates 0, e.g. after regulation) get ``none`` with probability 1.

    Args:
        lam_home: Expected home goals still to come, one per row.
        lam_away: Same for the away side.

    Returns:
        Rows that sum to 1.
    """
    lh = np.clip(np.asarray(lam_home, dtype=float), 0.0, None)
    la = np.clip(np.asarray(lam_away, dtype=float), 0.0, None)
    total = lh + la
    p_none = np.exp(-total)
    share = np.divide(lh, total, out=np.full_like(total, 0.5), where=total > 0)
    return np.column_stack([share * (1.0 - p_none), p_none, (1.0 - share) * (1.0 - p_none)])


def top_scores(grid: np.ndarray, k: int = 5, index: Any = None) -> pd.DataFrame:
    """The ``k`` most likely final scores of each row (ties: fewer home, then away goals).

    Args:
        grid: ``(n, G + 1, G + 1)`` final-score probabilities.
        k: How many scores per row.
        index: Labels of the rows (default ``0 .. n - 1``).

    Returns:
        A long frame, ``k`` rows per grid row in rank order: ``row`` (the label), ``rank``
        (1 = most likely), ``home_goals``, ``away_goals``, ``p``. A tail cell (``G``) stands
        for ``G`` or more.
    """
    n, size = grid.shape[0], grid.shape[1]
    k = min(k, size * size)
    flat = grid.reshape(n, -1)
    order = np.argsort(-flat, axis=1, kind="stable")[:, :k]
    labels = np.arange(n) if index is None else np.asarray(index)
    return pd.DataFrame(
        {
            "row": np.repeat(labels, k),
            "rank": np.tile(np.arange(1, k + 1), n),
            "home_goals": (order // size).ravel(),
            "away_goals": (order % size).ravel(),
            "p": np.take_along_axis(flat, order, axis=1).ravel(),
        }
    )


def top_scores_of_predictions(predictions: pd.DataFrame, k: int = 5) -> pd.DataFrame:
    """The ``k`` most likely final regulation scores of published predictions.

    A prediction carries the current score and the expected final score
    (``exp_home_goals``, ``exp_away_goals``); with independent Poisson goals to come, their
    difference is each side's remaining rate, which gives the grid back (:func:`score_grid`).

    Args:
        predictions: Rows with ``home_goals``, ``away_goals``, ``exp_home_goals``,
            ``exp_away_goals`` (rows without markets are left out).
        k: How many scores per prediction.

    Returns:
        :func:`top_scores` of each row, labelled by the frame's index.
    """
    rows = predictions.dropna(subset=["exp_home_goals", "exp_away_goals"])
    if rows.empty:
        return pd.DataFrame(columns=["row", "rank", "home_goals", "away_goals", "p"])
    goals = rows[["home_goals", "away_goals"]].to_numpy(dtype=int)
    expected = rows[["exp_home_goals", "exp_away_goals"]].to_numpy(dtype=float)
    rates = np.clip(expected - goals, 0.0, None)
    grid = score_grid(goals[:, 0], goals[:, 1], rates[:, 0], rates[:, 1])
    return top_scores(grid, k, index=rows.index)


def market_frame(grid: np.ndarray, lam_home: Any, lam_away: Any, index: Any = None) -> pd.DataFrame:
    """Every market of :data:`MARKET_COLUMNS` from a score grid and the remaining rates.

    Args:
        grid: ``(n, G + 1, G + 1)`` final-score probabilities.
        lam_home: Expected home goals still to come, one per row (0 after regulation).
        lam_away: Same for the away side.
        index: Index of the frame (default ``0 .. n - 1``).

    Returns:
        A frame with the columns of :data:`MARKET_COLUMNS`.
    """
    probs = np.column_stack(
        [
            over_probabilities(grid),
            btts_probability(grid),
            next_goal_probabilities(lam_home, lam_away),
        ]
    )
    # A grid sums to 1 up to rounding: keep the probabilities inside [0, 1].
    values = np.column_stack([np.clip(probs, 0.0, 1.0), expected_goals(grid)])
    return pd.DataFrame(values, index=index, columns=list(MARKET_COLUMNS))


def market_columns(model: GoalMarketModel, rows: pd.DataFrame, max_goals: int = 10) -> pd.DataFrame:
    """The goal markets of a fitted goal-count model for snapshot rows.

    Args:
        model: A fitted :class:`~inplay.models.goal_rate.GoalRateModel` (or subclass) or
            :class:`ScoreClockBaseline`.
        rows: Snapshot rows.
        max_goals: Largest final goal count per side of the score grid.

    Returns:
        A frame indexed like ``rows`` with the columns of :data:`MARKET_COLUMNS`.
    """
    grid = model.score_distribution(rows, max_goals=max_goals)
    lam_home, lam_away = model.remaining_rates(rows)
    return market_frame(grid, lam_home, lam_away, index=rows.index)


class ScoreClockBaseline:
    """The goal markets of a model that knows only the score and the minute.

    Each side scores at a constant rate per regulation minute (home and away apart, nothing
    else: no prior, no match statistics, no red cards), estimated on the training rows as
    the Poisson maximum likelihood of stacked snapshots: the goals still to come after each
    regulation row, summed, over the remaining minutes
    (:func:`~inplay.models.goal_rate.remaining_minutes`), summed, i.e. the intercept-only
    version of the goal-rate GLM. A row's remaining goals are Poisson with that rate times its
    remaining minutes, added to its current score. After regulation (``period >= 3``) both
    rates are 0.

    Attributes:
        rate_home_: Home goals per remaining regulation minute.
        rate_away_: Away goals per remaining regulation minute.
    """

    name: ClassVar[str] = "score_clock"

    def __init__(self) -> None:
        self.rate_home_: float | None = None
        self.rate_away_: float | None = None

    def fit(self, df: pd.DataFrame) -> ScoreClockBaseline:
        """Estimate the two rates from labelled snapshot rows.

        Args:
            df: Snapshot rows with ``match_id``; the final regulation score of a match is the
                score of its last regulation row (the state ``result`` is read from).

        Returns:
            The fitted baseline.

        Raises:
            ConfigError: No ``match_id`` column, or no regulation row.
        """
        if "match_id" not in df.columns:
            raise ConfigError(f"model {self.name!r} needs 'match_id' in the training rows")
        state = prepare_snapshots(df)
        reg = (state["period"] <= 2).to_numpy()
        if not reg.any():
            raise ConfigError("no regulation rows (period 1 or 2) to fit on")
        goals = state.loc[reg, ["hg", "ag"]].assign(match_id=df["match_id"].to_numpy()[reg])
        final = goals.groupby("match_id")[["hg", "ag"]].transform("max")
        exposure = remaining_minutes(state.loc[reg, "clock"].to_numpy()).sum()
        self.rate_home_ = float((final["hg"] - goals["hg"]).clip(lower=0).sum() / exposure)
        self.rate_away_ = float((final["ag"] - goals["ag"]).clip(lower=0).sum() / exposure)
        return self

    def remaining_rates(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Expected regulation goals each side still scores (0 after regulation).

        Raises:
            ConfigError: The baseline is not fitted.
        """
        if self.rate_home_ is None or self.rate_away_ is None:
            raise ConfigError(f"model {self.name!r} is not fitted; call fit()")
        state = prepare_snapshots(df)
        minutes = remaining_minutes(state["clock"].to_numpy())
        minutes = np.where(state["period"].to_numpy() >= 3, 0.0, minutes)
        return self.rate_home_ * minutes, self.rate_away_ * minutes

    def score_distribution(self, df: pd.DataFrame, max_goals: int = 10) -> np.ndarray:
        """Final regulation score grid (:func:`score_grid`) of each row."""
        lam_home, lam_away = self.remaining_rates(df)
        state = prepare_snapshots(df)
        return score_grid(state["hg"], state["ag"], lam_home, lam_away, max_goals)

    def market_columns(self, df: pd.DataFrame, max_goals: int = 10) -> pd.DataFrame:
        """:func:`market_columns` of this baseline."""
        return market_columns(self, df, max_goals)

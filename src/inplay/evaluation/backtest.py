"""Backtest: fit on one StatsBomb folder, predict every minute of every match of another.

:func:`backtest` builds minute snapshots (:func:`inplay.features.minute_snapshots`, the state at
regulation minute m = 0..90) for both folders, joins the pre-match priors, fits one model on the
training folder and writes one row per test match and minute: ``match_id, minute, p_home,
p_draw, p_away``, the goal markets ``p_over_1_5, p_over_2_5, p_over_3_5, p_btts`` (P(total
regulation goals over 1.5 / 2.5 / 3.5), P(both teams score in regulation); see
:mod:`inplay.models.markets`) and ``p_advance_home`` (P(the home side goes through) in knockout
matches, else empty: :func:`advance_probabilities`).

The markets come from the chosen model's final-score grid when it has one (the goal-rate
family: ``goal_rate``, ``goal_rate_odds``, ``skellam``); for any other model (e.g. a logistic
or boosted one) a ``goal_rate`` model is fitted on the same training rows for them alone, so
the 1X2 columns stay the chosen model's.

Priors: the Elo rating a test match gets is computed from the results of every match of both
folders dated before it (what a live system knows at kick-off, never the match itself or later
ones); closing odds come from the odds folder when it lists the match.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from inplay.config import ConfigError
from inplay.data.dataset import build_snapshots
from inplay.data.ratings import attach_priors, default_odds_dir, match_priors, match_table
from inplay.data.statsbomb import StatsBombData
from inplay.models import PROB_COLUMNS, make_model
from inplay.models.advance import advance_column, knockout_match_ids
from inplay.models.base import OutcomeModel
from inplay.models.goal_rate import GoalRateModel
from inplay.models.markets import market_columns

__all__ = [
    "BACKTEST_COLUMNS",
    "MARKET_BACKTEST_COLUMNS",
    "minute_table",
    "market_model",
    "advance_probabilities",
    "backtest",
]

MARKET_BACKTEST_COLUMNS: tuple[str, ...] = ("p_over_1_5", "p_over_2_5", "p_over_3_5", "p_btts")
"""The goal-market columns of the backtest (regulation time)."""
BACKTEST_COLUMNS: tuple[str, ...] = (
    "match_id",
    "minute",
    *PROB_COLUMNS,
    *MARKET_BACKTEST_COLUMNS,
    "p_advance_home",
)


def minute_table(data: StatsBombData, workers: int = 2, progress: bool = True) -> pd.DataFrame:
    """Labelled minute snapshots of every listed match of a folder.

    Args:
        data: The StatsBomb folder.
        workers: Processes to build with.
        progress: Show a progress bar.

    Returns:
        The snapshot table (91 rows per match).

    Raises:
        ConfigError: No match of the folder could be built.
    """
    matches = data.matches()
    minutes, _, bad = build_snapshots(
        data, matches, per_event=False, workers=workers, progress=progress
    )
    if minutes.empty:
        raise ConfigError(f"no minute snapshots could be built from {data.root}: {bad[:3]}")
    return minutes


def market_model(model: OutcomeModel, train_rows: pd.DataFrame) -> GoalRateModel:
    """The fitted model the goal markets come from.

    Args:
        model: The backtest's fitted model.
        train_rows: Its training rows.

    Returns:
        ``model`` itself when it has a final-score grid (a :class:`GoalRateModel`); else a
        ``goal_rate`` model fitted on ``train_rows`` (without its H/D/A calibrator, which never
        touches the score grid).
    """
    if isinstance(model, GoalRateModel):
        return model
    rates = make_model("goal_rate")
    assert isinstance(rates, GoalRateModel)
    rates.calibrate = False  # type: ignore[misc]
    rates.fit(train_rows)
    return rates


def advance_probabilities(
    data: StatsBombData, test_rows: pd.DataFrame, probs: np.ndarray
) -> np.ndarray:
    """P(the home side goes through) of each test row: the backtest's ``p_advance_home``.

    Rows of knockout matches (:func:`~inplay.models.advance.knockout_match_ids` over the test
    folder: the stage, and the rule for tournament matches listed as league rounds) get
    :func:`~inplay.models.advance.advance_column` from the model's regulation probabilities,
    with the extra-time rates and kick conversion measured on the shared data
    (:class:`~inplay.models.advance.AdvanceParams`' defaults); every other row NaN.

    Args:
        data: The test folder.
        test_rows: Its minute rows (``match_id``, ``period``, ``elapsed_seconds``, goals).
        probs: The model's ``(n, 3)`` H/D/A of the rows.

    Returns:
        One value per test row.
    """
    knockout = test_rows["match_id"].isin(knockout_match_ids(data.matches())).to_numpy()
    out = np.full(len(test_rows), np.nan)
    if knockout.any():
        rows = test_rows.loc[knockout].reset_index(drop=True)
        out[knockout] = advance_column(rows, np.asarray(probs)[knockout], knockout=True)
    return out


def backtest(
    train_dir: Path | str,
    test_dir: Path | str,
    model_name: str,
    out: Path | str | None = None,
    workers: int = 2,
    progress: bool = True,
    odds_dir: Path | str | None | bool = True,
) -> pd.DataFrame:
    """Fit ``model_name`` on ``train_dir`` and predict every regulation minute of ``test_dir``.

    Args:
        train_dir: StatsBomb open-data folder to fit on.
        test_dir: StatsBomb open-data folder to predict.
        model_name: A registry name of :data:`inplay.models.MODELS`.
        out: CSV file to write (``None``: do not write).
        workers: Processes for building snapshots.
        progress: Show progress bars.
        odds_dir: Odds folder (``True``: find it beside either data folder; ``None``: none).

    Returns:
        The predictions, the columns of :data:`BACKTEST_COLUMNS`: ``match_id``, ``minute``
        (0..90), ``p_home``, ``p_draw``, ``p_away``, ``p_over_1_5``, ``p_over_2_5``,
        ``p_over_3_5``, ``p_btts``, ``p_advance_home`` (knockout matches only), sorted by
        match and minute.
    """
    model = make_model(model_name)  # fail early on an unknown name
    train, test = StatsBombData(train_dir), StatsBombData(test_dir)
    matches = pd.concat([match_table(train), match_table(test)], ignore_index=True)
    if odds_dir is True:
        odds_dir = default_odds_dir(train.root) or default_odds_dir(test.root)
    priors = match_priors(matches=matches, odds_dir=odds_dir or None)

    train_rows = attach_priors(minute_table(train, workers, progress), priors)
    test_rows = attach_priors(minute_table(test, workers, progress), priors)
    model.fit(train_rows)
    probs = model.predict_proba(test_rows)
    result = pd.DataFrame(
        {
            "match_id": test_rows["match_id"].to_numpy(),
            "minute": test_rows["clock"].round().astype(int).to_numpy(),
        }
    )
    result[list(PROB_COLUMNS)] = probs
    markets = market_columns(market_model(model, train_rows), test_rows)
    result[list(MARKET_BACKTEST_COLUMNS)] = markets[list(MARKET_BACKTEST_COLUMNS)].to_numpy()
    result["p_advance_home"] = advance_probabilities(test, test_rows, probs)
    result = result.sort_values(["match_id", "minute"], kind="stable").reset_index(drop=True)
    if out is not None:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        result.to_csv(path, index=False)
    return result

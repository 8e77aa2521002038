"""Outcome models: live home/draw/away probabilities from a snapshot of a match.

A snapshot is one row of a pandas DataFrame: the state of a match at some moment (score, clock,
shots, xG, cards, possession). Every model answers ``predict_proba(df)`` with an ``(n, 3)``
array whose columns follow :data:`CLASSES` (``H``, ``D``, ``A``) and whose rows sum to 1.

The shared rule lives in :class:`OutcomeModel`: rows in extra time (``period >= 3``) already have
a decided 1X2 result (the label is the *regulation* result), so they get the near one-hot of the
regulation goal difference; the underlying model is fitted on, and only sees, regulation rows.

Models:

* ``climatology``: the class frequencies of the training rows, whatever the state.
* ``scoreboard``: the published baseline, a multinomial logit (statsmodels ``MNLogit``) on the
  match time ``t = clock / 90``, the goal difference and their interaction;
  ``scoreboard_xg`` adds red cards and xG (the yardstick of early movement).
* ``skellam``: the Poisson-Skellam baseline, constant goal rates from home advantage and red
  cards, added to the current score.
* ``state_mnlogit``: a multinomial logit on the full state, with time interactions for the goal
  difference, red cards and xG, plus shots on target and possession.
* ``goal_rate``: a Poisson GLM (statsmodels) for each side's goals in the remaining regulation
  time given the state and the pre-match Elo prior, convolved with the current score into
  H/D/A (:meth:`GoalRateModel.score_distribution` gives the final-score grid), recalibrated on
  match-grouped out-of-fold predictions. ``goal_rate_odds`` also reads closing odds.
* ``boosted``: sklearn ``HistGradientBoostingClassifier`` on the state, the prior and the
  goal-rate log-odds, stacked and calibrated out of fold. ``boosted_odds`` also reads odds.

Pre-match prior (models with ``uses_prior``): a row's ``elo_diff`` (see
:mod:`inplay.data.ratings`) and, for the ``*_odds`` models, its decimal closing odds
``odds_home/odds_draw/odds_away``. Live rows have neither; when they carry ``home_team`` and
``away_team``, the ratings the model learned from its training matches are looked up; without
them the prior is neutral.

Persistence: :func:`save_model` writes ``<out_dir>/<name>/model.pkl`` and ``model_card.json``;
:func:`load_model` reads it back.

Modules: :mod:`~inplay.models.base` (the interface, :data:`CLASSES`, :func:`encode_result`),
:mod:`~inplay.models.state` (:func:`prepare_snapshots`), :mod:`~inplay.models.baselines`,
:mod:`~inplay.models.goal_rate`, :mod:`~inplay.models.boosted`,
:mod:`~inplay.models.calibration`, :mod:`~inplay.models.adapt` (per-competition adaptation
from ended matches), :mod:`~inplay.models.folds` (match-grouped folds),
:mod:`~inplay.models.registry` (:data:`MODELS`, :data:`DEFAULT_MODELS`, :func:`make_model`) and
:mod:`~inplay.models.persistence`. This package re-exports their public API.
"""

from inplay.models.base import CLASSES, EPS, PROB_COLUMNS, OutcomeModel, encode_result
from inplay.models.baselines import (
    ClimatologyModel,
    MNLogitModel,
    ScoreboardModel,
    ScoreboardXGModel,
    StateMNLogitModel,
)
from inplay.models.boosted import BoostedModel, BoostedOddsModel
from inplay.models.calibration import Calibrator
from inplay.models.folds import grouped_folds, match_fold_numbers
from inplay.models.goal_rate import (
    GoalRateModel,
    GoalRateOddsModel,
    SkellamModel,
    remaining_minutes,
)
from inplay.models.persistence import json_safe, load_model, save_model
from inplay.models.registry import DEFAULT_MODELS, MODELS, make_model
from inplay.models.state import prepare_snapshots

__all__ = [
    "CLASSES",
    "PROB_COLUMNS",
    "EPS",
    "OutcomeModel",
    "ClimatologyModel",
    "MNLogitModel",
    "ScoreboardModel",
    "StateMNLogitModel",
    "GoalRateModel",
    "GoalRateOddsModel",
    "SkellamModel",
    "ScoreboardXGModel",
    "BoostedModel",
    "BoostedOddsModel",
    "Calibrator",
    "MODELS",
    "DEFAULT_MODELS",
    "make_model",
    "encode_result",
    "prepare_snapshots",
    "remaining_minutes",
    "grouped_folds",
    "match_fold_numbers",
    "json_safe",
    "save_model",
    "load_model",
]

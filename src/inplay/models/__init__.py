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
  match time ``t = clock / 90``, the goal difference and their interaction.
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
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import platform
import warnings
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from inplay.config import ConfigError
from inplay.data.ratings import ODDS_COLUMNS, EloRatings, demargin

__all__ = [
    "CLASSES",
    "PROB_COLUMNS",
    "EPS",
    "OutcomeModel",
    "ClimatologyModel",
    "MNLogitModel",
    "ScoreboardModel",
    "StateMNLogitModel",
    "MODELS",
    "make_model",
    "encode_result",
    "prepare_snapshots",
    "save_model",
    "load_model",
]

CLASSES: tuple[str, str, str] = ("H", "D", "A")
PROB_COLUMNS: tuple[str, str, str] = ("p_home", "p_draw", "p_away")
EPS = 1e-6
"""Smallest probability any model gives to a class."""

_CLASS_INDEX = {c: i for i, c in enumerate(CLASSES)}
_MODEL_FILE = "model.pkl"
_CARD_FILE = "model_card.json"


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def encode_result(y: Any) -> np.ndarray:
    """Turn results into integer codes 0=H, 1=D, 2=A.

    Args:
        y: A sequence of ``'H'``/``'D'``/``'A'`` strings or of integer codes 0, 1, 2.

    Returns:
        An ``int64`` array of codes.

    Raises:
        ValueError: A value is neither a known result letter nor a code in 0..2.
    """
    arr = np.asarray(y)
    if arr.dtype.kind in "iu":
        codes = arr.astype(np.int64)
    elif arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
        codes = arr.astype(np.int64)
    else:
        try:
            codes = np.array([_CLASS_INDEX[str(v)] for v in arr.ravel()], dtype=np.int64)
        except KeyError as exc:
            raise ValueError(
                f"unknown result {exc.args[0]!r}; expected one of {CLASSES} or codes 0..2"
            ) from None
        codes = codes.reshape(arr.shape)
    if codes.size and (codes.min() < 0 or codes.max() > 2):
        raise ValueError("result codes must be 0 (H), 1 (D) or 2 (A)")
    return codes


def _clip_normalise(p: np.ndarray, eps: float = EPS) -> np.ndarray:
    """Clip probabilities into ``[eps, 1 - 2 eps]`` and renormalise each row to sum to 1."""
    p = np.clip(np.asarray(p, dtype=float), eps, 1.0 - 2.0 * eps)
    return p / p.sum(axis=1, keepdims=True)


def _column(df: pd.DataFrame, name: str, default: pd.Series | float) -> pd.Series:
    """Return ``df[name]`` as floats, or ``default`` when the column is absent."""
    if name in df.columns:
        return pd.to_numeric(df[name], errors="coerce").astype(float)
    if isinstance(default, pd.Series):
        return default.astype(float)
    return pd.Series(float(default), index=df.index)


def prepare_snapshots(df: pd.DataFrame) -> pd.DataFrame:
    """Return the numeric state columns the models use, filling in what a request may lack.

    Snapshot tables carry every column. A live prediction request may carry only the fields of
    :data:`inplay.config.PREDICTION_REQUEST_FIELDS`, so the missing ones are derived:
    ``clock`` from ``current_minute`` (capped at 90), ``period`` from the clock, the regulation
    goals from the current goals, red cards as 0, possession as 50/50.

    Args:
        df: Snapshot rows.

    Returns:
        A frame with the same index and float columns ``period``, ``clock``, ``t``
        (``clock / 90`` in [0, 1]), ``gd`` (regulation goal difference), ``red_diff``,
        ``xg_diff``, ``sot_diff``, ``shots_diff`` and ``poss_diff`` (home minus away, in [-1, 1]);
        per side ``hg``, ``ag``, ``h_red``, ``a_red``, ``h_xg``, ``a_xg``, ``h_sot``, ``a_sot``;
        the prior: ``elo`` (``elo_diff / 400``, 0 when absent), ``has_elo``, ``has_odds``,
        ``odds_logit`` (log of the de-margined home over away probability, 0 without odds)
        and ``odds_draw`` (de-margined draw probability, 0 without odds).

    Raises:
        ConfigError: Neither ``clock`` nor ``current_minute`` is present, or no goal columns.
    """
    if "clock" not in df.columns and "current_minute" not in df.columns:
        raise ConfigError("snapshot rows need a 'clock' or a 'current_minute' column")
    if not ({"reg_home_goals", "reg_away_goals"} <= set(df.columns)) and not (
        {"home_goals", "away_goals"} <= set(df.columns)
    ):
        raise ConfigError(
            "snapshot rows need 'reg_home_goals'/'reg_away_goals' or 'home_goals'/'away_goals'"
        )
    minute = _column(df, "current_minute", 0.0)
    clock = _column(df, "clock", minute.clip(0.0, 90.0)).fillna(0.0).clip(0.0, 90.0)
    period = _column(df, "period", pd.Series(np.where(minute < 45, 1.0, 2.0), index=df.index))
    period = period.fillna(1.0)
    home = _column(df, "reg_home_goals", _column(df, "home_goals", 0.0))
    away = _column(df, "reg_away_goals", _column(df, "away_goals", 0.0))
    hp = _column(df, "home_possession", 50.0).fillna(50.0)
    ap = _column(df, "away_possession", 100.0 - hp).fillna(50.0)
    total = (hp + ap).where(lambda s: s > 0, 100.0)
    out = pd.DataFrame(
        {
            "period": period,
            "clock": clock,
            "t": clock / 90.0,
            "gd": (home - away).fillna(0.0),
            "red_diff": (
                _column(df, "home_red_cards", 0.0) - _column(df, "away_red_cards", 0.0)
            ).fillna(0.0),
            "xg_diff": (_column(df, "home_xg", 0.0) - _column(df, "away_xg", 0.0)).fillna(0.0),
            "sot_diff": (
                _column(df, "home_shots_on_target", 0.0) - _column(df, "away_shots_on_target", 0.0)
            ).fillna(0.0),
            "shots_diff": (_column(df, "home_shots", 0.0) - _column(df, "away_shots", 0.0)).fillna(
                0.0
            ),
            "poss_diff": ((hp - ap) / total).fillna(0.0),
            "hg": home.fillna(0.0),
            "ag": away.fillna(0.0),
            "h_red": _column(df, "home_red_cards", 0.0).fillna(0.0),
            "a_red": _column(df, "away_red_cards", 0.0).fillna(0.0),
            "h_xg": _column(df, "home_xg", 0.0).fillna(0.0),
            "a_xg": _column(df, "away_xg", 0.0).fillna(0.0),
            "h_sot": _column(df, "home_shots_on_target", 0.0).fillna(0.0),
            "a_sot": _column(df, "away_shots_on_target", 0.0).fillna(0.0),
        },
        index=df.index,
    )
    # Pre-match prior (see inplay.data.ratings): Elo difference in units of 400 points, and the
    # de-margined closing odds as log(p_home / p_away) where known.
    elo = _column(df, "elo_diff", np.nan)
    out["has_elo"] = elo.notna().astype(float)
    out["elo"] = (elo / 400.0).clip(-3.0, 3.0).fillna(0.0)
    if set(ODDS_COLUMNS) <= set(df.columns):
        probs = demargin(df[list(ODDS_COLUMNS)].apply(pd.to_numeric, errors="coerce").to_numpy())
    else:
        probs = np.full((len(df), 3), np.nan)
    has_odds = np.all(np.isfinite(probs), axis=1)
    safe = np.where(has_odds[:, None], probs, 1.0 / 3.0)
    out["has_odds"] = has_odds.astype(float)
    out["odds_logit"] = np.log(safe[:, 0] / safe[:, 2])
    out["odds_draw"] = np.where(has_odds, safe[:, 1], 0.0)
    return out


def _match_results(df: pd.DataFrame) -> pd.DataFrame | None:
    """One row per match with teams, date and regulation score, or ``None`` without teams."""
    need = {"match_id", "home_team", "away_team", "match_date"}
    if not need <= set(df.columns):
        return None
    reg = df[pd.to_numeric(df.get("period", 1), errors="coerce").fillna(1) <= 2]
    goals = reg.groupby("match_id")[["reg_home_goals", "reg_away_goals"]].max()
    first = reg.groupby("match_id")[["home_team", "away_team", "match_date"]].first()
    out = first.join(goals).reset_index()
    out = out.dropna(subset=["home_team", "away_team", "match_date"])
    out = out.rename(columns={"reg_home_goals": "home_score", "reg_away_goals": "away_score"})
    return out if len(out) else None


def _train_ratings(df: pd.DataFrame) -> EloRatings | None:
    """Elo ratings after every training match (date order), for live rows that name teams."""
    matches = _match_results(df)
    if matches is None:
        return None
    elo = EloRatings()
    elo.run(matches)
    return elo


def _pre_match_elo(df: pd.DataFrame) -> pd.Series:
    """Pre-match Elo difference of each row's match, from the earlier matches of ``df``."""
    matches = _match_results(df)
    if matches is None:
        return pd.Series(np.nan, index=df.index)
    rated = EloRatings().run(matches).set_index("match_id")["elo_diff"]
    return df["match_id"].map(rated).astype(float)


def _softmax_rows(eta: np.ndarray) -> np.ndarray:
    """Softmax over columns of ``eta`` (numerically stable)."""
    eta = eta - eta.max(axis=1, keepdims=True)
    e = np.exp(eta)
    return e / e.sum(axis=1, keepdims=True)


# --------------------------------------------------------------------------------------------
# Base class
# --------------------------------------------------------------------------------------------


class OutcomeModel:
    """Base class of every outcome model.

    Subclasses set :attr:`name` and :attr:`features` and implement :meth:`_fit` and
    :meth:`_predict`, which only ever see regulation rows (``period <= 2``) already passed
    through :func:`prepare_snapshots`.

    Attributes:
        name: Registry name of the model.
        features: Names of the design columns the model uses.
        version: A version string; set by :meth:`fit` and replaced by :func:`save_model` with
            one that carries the content hash.
        trained_at: UTC ISO timestamp of the last fit, or ``None``.
        n_train_rows: Number of regulation rows the model was fitted on.
    """

    name: ClassVar[str] = "base"
    features: ClassVar[list[str]] = []
    uses_prior: ClassVar[bool] = False
    """Whether the model reads the pre-match prior (``elo_diff``, odds) of a row."""

    def __init__(self) -> None:
        self.version: str | None = None
        self.trained_at: str | None = None
        self.n_train_rows: int = 0
        self.n_train_matches: int = 0
        self.fitted: bool = False
        self.ratings_: EloRatings | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, version={self.version!r})"

    def fit(self, df: pd.DataFrame) -> OutcomeModel:
        """Fit the model on snapshot rows that carry a ``result`` label.

        Extra-time rows (``period >= 3``) are dropped: their 1X2 result is already decided.

        Args:
            df: Snapshot rows with a ``result`` column of ``H``/``D``/``A``.

        Returns:
            The fitted model itself.

        Raises:
            ConfigError: There is no ``result`` column or no regulation row to learn from.
        """
        # One BLAS/OpenMP thread: on a small shared machine, more threads contend (measured on
        # 2 cores under load: a Poisson GLM on 18k rows 3.1 s with 2 threads, 0.3 s with one).
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):
            return self._fit_all(df)

    def _fit_all(self, df: pd.DataFrame) -> OutcomeModel:
        if "result" not in df.columns:
            raise ConfigError("training snapshots need a 'result' column (H/D/A)")
        if self.uses_prior:
            self.ratings_ = _train_ratings(df)
            if "elo_diff" not in df.columns and self.ratings_ is not None:
                df = df.assign(elo_diff=_pre_match_elo(df))
        state = prepare_snapshots(df)
        mask = (state["period"] <= 2).to_numpy()
        if not mask.any():
            raise ConfigError("no regulation rows (period 1 or 2) to fit on")
        y = encode_result(df["result"].to_numpy()[mask])
        if "match_id" in df.columns:
            self.n_train_matches = int(df.loc[mask, "match_id"].nunique())
            state["match_id"] = df["match_id"].to_numpy()
            reg = state.loc[mask]
            final = reg.groupby("match_id")[["hg", "ag"]].transform("max")
            state.loc[mask, "final_hg"] = final["hg"].to_numpy()
            state.loc[mask, "final_ag"] = final["ag"].to_numpy()
        else:
            self.n_train_matches = int(mask.sum())
        self._fit(state.loc[mask], y)
        now = datetime.now(UTC)
        self.trained_at = now.isoformat(timespec="seconds")
        self.version = f"{self.name}-{now.strftime('%Y%m%dT%H%M%SZ')}"
        self.n_train_rows = int(mask.sum())
        self.fitted = True
        return self

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        """Return the probabilities of H, D and A for each row.

        Args:
            df: Snapshot rows (a full snapshot table or live requests).

        Returns:
            An ``(n, 3)`` array in :data:`CLASSES` order; each row sums to 1 and no entry is
            below :data:`EPS`.

        Raises:
            ConfigError: The model has not been fitted.
        """
        if not self.fitted:
            raise ConfigError(f"model {self.name!r} is not fitted; call fit() or load_model()")
        n = len(df)
        out = np.empty((n, 3), dtype=float)
        if n == 0:
            return out
        state = prepare_snapshots(self._with_prior(df))
        decided = (state["period"] >= 3).to_numpy()
        if decided.any():
            sign = np.sign(state["gd"].to_numpy()[decided]).astype(int)
            one_hot = np.zeros((int(decided.sum()), 3))
            one_hot[np.arange(len(sign)), 1 - sign] = 1.0  # +1 -> H (0), 0 -> D (1), -1 -> A (2)
            out[decided] = one_hot
        if (~decided).any():
            out[~decided] = self._predict(state.loc[~decided])
        return _clip_normalise(out)

    def predict_frame(self, df: pd.DataFrame) -> pd.DataFrame:
        """Return :meth:`predict_proba` as a frame with columns ``p_home``, ``p_draw``, ``p_away``.

        Args:
            df: Snapshot rows.

        Returns:
            A frame indexed like ``df``.
        """
        return pd.DataFrame(self.predict_proba(df), index=df.index, columns=list(PROB_COLUMNS))

    def _with_prior(self, df: pd.DataFrame) -> pd.DataFrame:
        """Fill ``elo_diff`` from the ratings learned at fit time where a row lacks it.

        Live rows carry no prior; when they name the teams (``home_team``, ``away_team``), the
        difference of the teams' ratings after the last training match is used. Rows with
        neither stay without a prior (``elo`` 0, ``has_elo`` 0).
        """
        if not self.uses_prior or self.ratings_ is None:
            return df
        if not {"home_team", "away_team"} <= set(df.columns):
            return df
        known = self.ratings_.ratings
        looked_up = [
            self.ratings_.diff(h, a) if (h in known or a in known) else np.nan
            for h, a in zip(df["home_team"], df["away_team"], strict=True)
        ]
        looked_up = pd.Series(looked_up, index=df.index, dtype=float)
        if "elo_diff" in df.columns:
            looked_up = pd.to_numeric(df["elo_diff"], errors="coerce").fillna(looked_up)
        return df.assign(elo_diff=looked_up)

    # Subclass hooks -----------------------------------------------------------------------

    def _fit(self, state: pd.DataFrame, y: np.ndarray) -> None:
        raise NotImplementedError

    def _predict(self, state: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError

    def summary(self) -> dict[str, Any]:
        """Return a small JSON-safe description of the fitted parameters."""
        return {}


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


class ClimatologyModel(OutcomeModel):
    """The training class frequencies, whatever the state of the match."""

    name: ClassVar[str] = "climatology"
    features: ClassVar[list[str]] = []

    def __init__(self) -> None:
        super().__init__()
        self.class_freq_: np.ndarray | None = None

    def _fit(self, state: pd.DataFrame, y: np.ndarray) -> None:
        counts = np.bincount(y, minlength=3).astype(float)
        self.class_freq_ = counts / counts.sum()

    def _predict(self, state: pd.DataFrame) -> np.ndarray:
        assert self.class_freq_ is not None
        return np.tile(self.class_freq_, (len(state), 1))

    def summary(self) -> dict[str, Any]:
        """Return the class frequencies."""
        if self.class_freq_ is None:
            return {}
        return {"class_freq": dict(zip(CLASSES, map(float, self.class_freq_), strict=True))}


class MNLogitModel(OutcomeModel):
    """A multinomial logit (statsmodels ``MNLogit``) on a design built from the state.

    ``H`` is the reference class. Features are standardised with the training mean and standard
    deviation before fitting, which keeps Newton's method well conditioned. Only the
    coefficients and the scaling are kept (not the statsmodels results object, which holds the
    training data), so the pickle is small and prediction is a plain softmax.

    If the unpenalised fit does not converge (e.g. near-separation late in matches), the model
    falls back to ``fit_regularized`` with a small L1 penalty ``alpha`` per observation.
    """

    name: ClassVar[str] = "mnlogit"
    features: ClassVar[list[str]] = []
    alpha: ClassVar[float] = 1e-4
    maxiter: ClassVar[int] = 100
    # L1 penalty per coefficient, in units of "one match's worth of rows" (0: plain MLE).
    prior_per_match: ClassVar[float] = 0.0

    def __init__(self) -> None:
        super().__init__()
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None
        self.params_: np.ndarray | None = None  # (1 + n_features, 2): D vs H, A vs H
        self.converged_: bool | None = None
        self.fit_method_: str | None = None
        self.llf_: float | None = None

    def design(self, state: pd.DataFrame) -> pd.DataFrame:
        """Build the design columns :attr:`features` from a prepared state frame.

        Args:
            state: Output of :func:`prepare_snapshots`.

        Returns:
            A float frame with one column per feature (no constant).
        """
        raise NotImplementedError

    def _scaled(self, state: pd.DataFrame) -> np.ndarray:
        x = self.design(state)[self.features].to_numpy(dtype=float)
        assert self.mean_ is not None and self.scale_ is not None
        x = (x - self.mean_) / self.scale_
        return np.column_stack([np.ones(len(x)), x])

    def _fit(self, state: pd.DataFrame, y: np.ndarray) -> None:
        from statsmodels.discrete.discrete_model import MNLogit
        from statsmodels.tools.sm_exceptions import ConvergenceWarning, HessianInversionWarning

        if len(np.unique(y)) < 3:
            raise ConfigError(
                f"model {self.name!r} needs all three results (H, D, A) in the training rows"
            )
        x_raw = self.design(state)[self.features].to_numpy(dtype=float)
        self.mean_ = x_raw.mean(axis=0)
        scale = x_raw.std(axis=0)
        self.scale_ = np.where(scale > 1e-12, scale, 1.0)
        x = self._scaled(state)
        model = MNLogit(y, x)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", HessianInversionWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            res = None
            ok = False
            if self.prior_per_match <= 0:
                try:
                    res = model.fit(method="newton", maxiter=self.maxiter, disp=False)
                    ok = bool(res.mle_retvals.get("converged", False)) and np.all(
                        np.isfinite(res.params)
                    )
                    method = "newton"
                except (np.linalg.LinAlgError, ValueError):
                    ok = False
            if not ok:
                k = x.shape[1]
                # Rows of one match are strongly correlated (91 snapshots of one result), so
                # the penalty is set per match: with few matches it shrinks the coefficients,
                # with hundreds it hardly matters.
                per_coef = max(
                    self.alpha * len(y),
                    self.prior_per_match * len(y) / max(1, self.n_train_matches),
                )
                # statsmodels flattens the (k, 2) parameters column by column.
                alpha = np.full(2 * k, per_coef)
                alpha[[0, k]] = 0.0  # no penalty on the intercepts
                res = model.fit_regularized(method="l1", alpha=alpha, maxiter=1000, disp=False)
                ok = bool(res.mle_retvals.get("converged", False))
                method = "l1"
        assert res is not None
        self.params_ = np.asarray(res.params, dtype=float).reshape(x.shape[1], 2)
        self.converged_ = ok
        self.fit_method_ = method
        self.llf_ = float(res.llf)

    def _predict(self, state: pd.DataFrame) -> np.ndarray:
        assert self.params_ is not None
        eta = self._scaled(state) @ self.params_
        return _softmax_rows(np.column_stack([np.zeros(len(eta)), eta]))

    def coefficients(self) -> pd.DataFrame:
        """Return the coefficients on the original (unscaled) feature scale.

        Returns:
            A frame indexed by ``const`` and the features, columns ``D_vs_H`` and ``A_vs_H``.
        """
        if self.params_ is None or self.mean_ is None or self.scale_ is None:
            raise ConfigError(f"model {self.name!r} is not fitted")
        slopes = self.params_[1:] / self.scale_[:, None]
        const = self.params_[0] - (self.mean_[:, None] * slopes).sum(axis=0)
        return pd.DataFrame(
            np.vstack([const, slopes]),
            index=["const", *self.features],
            columns=["D_vs_H", "A_vs_H"],
        )

    def summary(self) -> dict[str, Any]:
        """Return the unscaled coefficients and the fit diagnostics."""
        if self.params_ is None:
            return {}
        coef = self.coefficients()
        return {
            "coefficients": {
                col: {k: float(v) for k, v in coef[col].items()} for col in coef.columns
            },
            "converged": bool(self.converged_),
            "fit_method": self.fit_method_,
            "train_loglik": self.llf_,
        }


class ScoreboardModel(MNLogitModel):
    """The published baseline: multinomial logit on time, goal difference and their product."""

    name: ClassVar[str] = "scoreboard"
    features: ClassVar[list[str]] = ["t", "gd", "gd_t"]

    def design(self, state: pd.DataFrame) -> pd.DataFrame:
        """Build ``t``, ``gd`` and ``gd_t`` (see :meth:`MNLogitModel.design`)."""
        t, gd = state["t"], state["gd"]
        return pd.DataFrame({"t": t, "gd": gd, "gd_t": gd * t}, index=state.index)


class StateMNLogitModel(MNLogitModel):
    """A multinomial logit on the whole match state, with time interactions.

    Features (all home minus away, ``t = clock / 90``, ``r = 1 - t`` the regulation time left):

    * time: ``t``, ``t^2`` and ``log(r + 0.02)``, so a level score can drift to a near-certain
      draw at full time;
    * goal difference: ``gd``, ``gd t``, ``gd t^2`` and ``gd / sqrt(r + 0.02)``, the last one
      because a lead is worth more the less time is left (goal counts are close to Poisson);
    * ``|gd|`` and ``|gd| t``, which let the draw lose probability symmetrically;
    * red cards: ``red_diff``, ``red_diff t``;
    * xG: ``xg_diff``, ``xg_diff t`` (a side's xG so far tells how strong it is);
    * shots on target and possession differences (possession shrunk towards level by
      ``clock / (clock + 5)``, as its share over the first minutes is noise).
    """

    name: ClassVar[str] = "state_mnlogit"
    # Measured (grouped 3/5-fold CV): 60 matches 0.888 -> 0.815 log loss with 0.5, 693 matches
    # 0.6547 -> 0.6558; without it 24 matches blew up to 3.13 (the scoreboard scored 1.25).
    prior_per_match: ClassVar[float] = 0.5
    features: ClassVar[list[str]] = [
        "t",
        "t2",
        "log_left",
        "gd",
        "gd_t",
        "gd_t2",
        "gd_sqrt_left",
        "abs_gd",
        "abs_gd_t",
        "red_diff",
        "red_diff_t",
        "xg_diff",
        "xg_diff_t",
        "sot_diff",
        "poss_diff",
    ]

    def design(self, state: pd.DataFrame) -> pd.DataFrame:
        """Build the state features (see the class docstring)."""
        t, gd = state["t"], state["gd"]
        left = (1.0 - t).clip(lower=0.0) + 0.02
        red, xg = state["red_diff"], state["xg_diff"]
        return pd.DataFrame(
            {
                "t": t,
                "t2": t * t,
                "log_left": np.log(left),
                "gd": gd,
                "gd_t": gd * t,
                "gd_t2": gd * t * t,
                "gd_sqrt_left": gd / np.sqrt(left),
                "abs_gd": gd.abs(),
                "abs_gd_t": gd.abs() * t,
                "red_diff": red,
                "red_diff_t": red * t,
                "xg_diff": xg,
                "xg_diff_t": xg * t,
                "sot_diff": state["sot_diff"],
                # Possession share over the first seconds is noise (one side can hold 100 %
                # of 20 s): shrink it by the time it covers. Grouped 5-fold CV on 693 matches:
                # log loss 0.6558 -> 0.6532 (k = 5 min), first 15 minutes 0.951 -> 0.937.
                "poss_diff": state["poss_diff"] * state["clock"] / (state["clock"] + 5.0),
            },
            index=state.index,
        )


# --------------------------------------------------------------------------------------------
# Calibration, goal-rate model, gradient boosting
# --------------------------------------------------------------------------------------------


def _grouped_folds(match_ids: np.ndarray, n_splits: int, seed: int = 0) -> np.ndarray:
    """Fold number of each row, all rows of a match in one fold."""
    unique = np.unique(match_ids)
    rng = np.random.default_rng(seed)
    fold_of = dict(zip(unique, rng.permutation(len(unique)) % n_splits, strict=True))
    return np.array([fold_of[m] for m in match_ids], dtype=int)


class Calibrator:
    """Multinomial recalibration of 3-class probabilities (vector scaling with time terms).

    The calibrated log-odds of D and A against H are a linear function of the log-odds of the
    input, the same multiplied by ``t``, and ``t`` (statsmodels ``MNLogit``, fitted on
    out-of-fold predictions so it corrects the errors a model makes on matches it has not
    seen).
    """

    def __init__(self) -> None:
        self.params_: np.ndarray | None = None

    @staticmethod
    def _design(p: np.ndarray, t: np.ndarray, base: np.ndarray | None = None) -> np.ndarray:
        cols = [np.ones(len(p))]
        for probs in (p,) if base is None else (p, base):
            logp = np.log(np.clip(probs, EPS, 1.0))
            d = logp[:, 1] - logp[:, 0]
            a = logp[:, 2] - logp[:, 0]
            cols += [d, a, d * t, a * t]
        return np.column_stack([*cols, t])

    def fit(
        self, p: np.ndarray, t: np.ndarray, y: np.ndarray, base: np.ndarray | None = None
    ) -> Calibrator:
        """Fit on probabilities ``p`` (n, 3), times ``t`` in [0, 1] and result codes ``y``.

        ``base``: optional second set of probabilities of the same rows (another model) whose
        log-odds join the design, which makes the calibrator a stacker of the two.
        """
        from statsmodels.discrete.discrete_model import MNLogit

        x = self._design(p, t, base)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = MNLogit(y, x).fit(method="newton", maxiter=100, disp=False)
        params = np.asarray(res.params, dtype=float).reshape(x.shape[1], 2)
        if not np.all(np.isfinite(params)):
            params = np.zeros_like(params)
            params[1, 0] = params[2, 1] = 1.0  # identity
        self.params_ = params
        return self

    def transform(self, p: np.ndarray, t: np.ndarray, base: np.ndarray | None = None) -> np.ndarray:
        """Return the calibrated probabilities (pass ``base`` if it was fitted with one)."""
        assert self.params_ is not None
        eta = self._design(p, t, base) @ self.params_
        return _softmax_rows(np.column_stack([np.zeros(len(eta)), eta]))


# Stoppage time still to come at a minute snapshot: the state at m <= 45 holds the first half
# up to m:00, so first-half stoppage (about 2 min) and the second half's (about 4) remain.
STOPPAGE_FIRST_HALF = 2.0
STOPPAGE_SECOND_HALF = 4.0
MAX_EXTRA_GOALS = 10


def remaining_minutes(clock: Any) -> np.ndarray:
    """Expected regulation minutes still to play at a minute snapshot, stoppage included."""
    c = np.clip(np.asarray(clock, dtype=float), 0.0, 90.0)
    return 90.0 - c + STOPPAGE_SECOND_HALF + np.where(c <= 45.0, STOPPAGE_FIRST_HALF, 0.0)


def _poisson_pmf(lam: np.ndarray, n_max: int) -> np.ndarray:
    """``(n, n_max + 1)`` Poisson probabilities of 0..n_max (the last one takes the tail)."""
    from scipy.stats import poisson

    k = np.arange(n_max + 1)
    pmf = poisson.pmf(k[None, :], lam[:, None])
    pmf[:, -1] += np.clip(1.0 - pmf.sum(axis=1), 0.0, None)
    return pmf


class GoalRateModel(OutcomeModel):
    """Poisson GLM for each side's goals in the remaining regulation time.

    One GLM (statsmodels, log link) is fitted on stacked rows, one per side and snapshot: the
    response is the goals the side still scores in regulation, the exposure the remaining
    minutes (:func:`remaining_minutes`), and the rate depends on the state seen from that side:
    home or away, time, whether it leads or trails by one or by two+ (and how that changes with
    time), red cards for and against, its and the opponent's xG and shots on target per minute
    so far (shrunk towards zero early on), possession, and the pre-match prior (Elo difference,
    or the closing-odds log-ratio where known) with a time interaction. The prior's weight on
    the *result* fades by itself: it acts on a rate over a shrinking remaining time.

    The two sides' remaining goals are taken as independent Poissons; added to the current
    score they give the distribution of the final score (:meth:`score_distribution`), and
    hence H/D/A. When ``calibrate`` is on, a :class:`Calibrator` fitted on match-grouped
    out-of-fold predictions of the training rows corrects the result probabilities (the
    independence assumption, for one, under-predicts draws).
    """

    name: ClassVar[str] = "goal_rate"
    uses_prior: ClassVar[bool] = True
    use_odds: ClassVar[bool] = False
    calibrate: ClassVar[bool] = True
    inner_splits: ClassVar[int] = 4
    features: ClassVar[list[str]] = [
        "is_home",
        "t",
        "t2",
        "trail2",
        "trail1",
        "lead1",
        "lead2",
        "trail1_t",
        "lead1_t",
        "red_for",
        "red_against",
        "xg_rate_for",
        "xg_rate_against",
        "sot_rate_for",
        "sot_rate_against",
        "poss_for",
        "prior",
        "prior_t",
        "odds_prior",
        "odds_prior_t",
    ]

    def __init__(self) -> None:
        super().__init__()
        self.params_: np.ndarray | None = None
        self.calibrator_: Calibrator | None = None
        self.dispersion_: float | None = None

    def _side_design(self, state: pd.DataFrame, home: bool) -> pd.DataFrame:
        sign = 1.0 if home else -1.0
        own, opp = ("h", "a") if home else ("a", "h")
        t = state["t"].to_numpy()
        clock = state["clock"].to_numpy()
        gd = sign * state["gd"].to_numpy()
        shrink = clock + 10.0
        has_odds = state["has_odds"].to_numpy() if self.use_odds else np.zeros(len(state))
        elo = sign * state["elo"].to_numpy() * (1.0 - has_odds)
        odds = sign * state["odds_logit"].to_numpy() * has_odds
        poss = sign * state["poss_diff"].to_numpy() * clock / (clock + 5.0)
        return pd.DataFrame(
            {
                "is_home": np.full(len(state), 1.0 if home else 0.0),
                "t": t,
                "t2": t * t,
                "trail2": (gd <= -2).astype(float),
                "trail1": (gd == -1).astype(float),
                "lead1": (gd == 1).astype(float),
                "lead2": (gd >= 2).astype(float),
                "trail1_t": (gd == -1) * t,
                "lead1_t": (gd == 1) * t,
                "red_for": np.clip(state[f"{own}_red"].to_numpy(), 0, 2),
                "red_against": np.clip(state[f"{opp}_red"].to_numpy(), 0, 2),
                "xg_rate_for": state[f"{own}_xg"].to_numpy() / shrink * 10.0,
                "xg_rate_against": state[f"{opp}_xg"].to_numpy() / shrink * 10.0,
                "sot_rate_for": state[f"{own}_sot"].to_numpy() / shrink,
                "sot_rate_against": state[f"{opp}_sot"].to_numpy() / shrink,
                "poss_for": poss,
                "prior": elo,
                "prior_t": elo * t,
                "odds_prior": odds,
                "odds_prior_t": odds * t,
            },
            index=state.index,
        )[self.features]

    def _rates(self, state: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        assert self.params_ is not None
        exposure = remaining_minutes(state["clock"].to_numpy())
        out = []
        for home in (True, False):
            x = self._side_design(state, home).to_numpy(dtype=float)
            eta = self.params_[0] + x @ self.params_[1:]
            out.append(np.exp(np.clip(eta, -20.0, 5.0)) * exposure)
        return out[0], out[1]

    def _fit_glm(self, state: pd.DataFrame) -> np.ndarray:
        from statsmodels.genmod import families
        from statsmodels.genmod.generalized_linear_model import GLM

        rows, ys = [], []
        for home, col, final in ((True, "hg", "final_hg"), (False, "ag", "final_ag")):
            rows.append(self._side_design(state, home).to_numpy(dtype=float))
            ys.append((state[final] - state[col]).clip(lower=0).to_numpy(dtype=float))
        x = np.column_stack([np.ones(2 * len(state)), np.vstack(rows)])
        y = np.concatenate(ys)
        exposure = np.tile(remaining_minutes(state["clock"].to_numpy()), 2)
        # Columns that never vary (e.g. no odds in the training rows) are left at zero.
        keep = np.r_[True, x[:, 1:].std(axis=0) > 1e-12]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = GLM(y, x[:, keep], family=families.Poisson(), exposure=exposure).fit(maxiter=100)
        params = np.zeros(x.shape[1])
        params[keep] = np.asarray(res.params, dtype=float)
        self.dispersion_ = float(res.pearson_chi2 / max(res.df_resid, 1))
        return params

    def _raw_predict(self, state: pd.DataFrame) -> np.ndarray:
        lam_h, lam_a = self._rates(state)
        ph = _poisson_pmf(lam_h, MAX_EXTRA_GOALS)
        pa = _poisson_pmf(lam_a, MAX_EXTRA_GOALS)
        # P(extra_home - extra_away = d) for d in -G..G, then shift by the current difference.
        n, g = len(state), MAX_EXTRA_GOALS
        diff = np.zeros((n, 2 * g + 1))
        for j in range(g + 1):
            diff[:, g - j : 2 * g + 1 - j] += ph * pa[:, [j]]
        d = np.arange(-g, g + 1)[None, :] + state["gd"].to_numpy()[:, None]
        return np.column_stack(
            [
                (diff * (d > 0)).sum(axis=1),
                (diff * (d == 0)).sum(axis=1),
                (diff * (d < 0)).sum(axis=1),
            ]
        )

    def _fit(self, state: pd.DataFrame, y: np.ndarray) -> None:
        if "final_hg" not in state.columns:
            raise ConfigError(f"model {self.name!r} needs 'match_id' in the training rows")
        self.calibrator_ = None
        if self.calibrate and state["match_id"].nunique() >= 2 * self.inner_splits:
            folds = _grouped_folds(state["match_id"].to_numpy(), self.inner_splits)
            oof = np.zeros((len(state), 3))
            for k in range(self.inner_splits):
                test = folds == k
                self.params_ = self._fit_glm(state.loc[~test])
                oof[test] = self._raw_predict(state.loc[test])
            self.calibrator_ = Calibrator().fit(oof, state["t"].to_numpy(), y)
        self.params_ = self._fit_glm(state)

    def _predict(self, state: pd.DataFrame) -> np.ndarray:
        p = _clip_normalise(self._raw_predict(state))
        if self.calibrator_ is not None:
            p = self.calibrator_.transform(p, state["t"].to_numpy())
        return p

    def score_distribution(self, df: pd.DataFrame, max_goals: int = 10) -> np.ndarray:
        """Probability of each final regulation score, from the current state.

        Uses the fitted rates only (no calibration). Rows in extra time get their regulation
        score with probability 1.

        Args:
            df: Snapshot rows.
            max_goals: Largest final goal count per side in the grid (the last cell of each
                side takes the tail).

        Returns:
            An ``(n, max_goals + 1, max_goals + 1)`` array: ``[i, h, a]`` is the probability that
            row ``i`` ends ``h``-``a`` after regulation time.
        """
        if not self.fitted:
            raise ConfigError(f"model {self.name!r} is not fitted; call fit() or load_model()")
        state = prepare_snapshots(self._with_prior(df))
        lam_h, lam_a = self._rates(state)
        decided = (state["period"] >= 3).to_numpy()
        lam_h[decided] = 0.0
        lam_a[decided] = 0.0
        out = np.zeros((len(state), max_goals + 1, max_goals + 1))
        hg = state["hg"].to_numpy().astype(int)
        ag = state["ag"].to_numpy().astype(int)
        for i in range(len(state)):
            ph = _poisson_pmf(lam_h[[i]], max(max_goals - hg[i], 0))[0]
            pa = _poisson_pmf(lam_a[[i]], max(max_goals - ag[i], 0))[0]
            h0, a0 = min(hg[i], max_goals), min(ag[i], max_goals)
            out[i, h0 : h0 + len(ph), a0 : a0 + len(pa)] = np.outer(ph, pa)[
                : max_goals + 1 - h0, : max_goals + 1 - a0
            ]
        return out

    def summary(self) -> dict[str, Any]:
        """Return the GLM coefficients (log rate per minute) and the dispersion."""
        if self.params_ is None:
            return {}
        return {
            "coefficients": dict(
                zip(["const", *self.features], map(float, self.params_), strict=True)
            ),
            "pearson_dispersion": self.dispersion_,
            "calibrated": self.calibrator_ is not None,
        }


class GoalRateOddsModel(GoalRateModel):
    """:class:`GoalRateModel` that also uses de-margined closing odds where a row has them."""

    name: ClassVar[str] = "goal_rate_odds"
    use_odds: ClassVar[bool] = True


class BoostedModel(OutcomeModel):
    """Gradient boosting (sklearn ``HistGradientBoostingClassifier``), calibrated out of fold.

    Features: the state (time, goals, goal difference and ``gd / sqrt(time left)``, red cards,
    xG, shots on target, shots, possession), the pre-match prior and, as a strong summary of
    the score and the time left, the log-odds of an uncalibrated :class:`GoalRateModel` fitted
    on the same rows. Trees are shallow with large leaves, since the 91 rows of a match share
    one result. A :class:`Calibrator` fitted on match-grouped out-of-fold predictions of the
    training rows maps the boosted probabilities to calibrated ones; it also takes the goal-rate
    model's out-of-fold log-odds (a stacker), because trees reach the near-certain probabilities
    of the last minutes only slowly.
    """

    name: ClassVar[str] = "boosted"
    uses_prior: ClassVar[bool] = True
    use_odds: ClassVar[bool] = False
    inner_splits: ClassVar[int] = 3
    params: ClassVar[dict[str, Any]] = {
        "learning_rate": 0.05,
        "max_iter": 150,
        "max_leaf_nodes": 15,
        "min_samples_leaf": 400,
        "l2_regularization": 1.0,
        "early_stopping": False,
    }
    features: ClassVar[list[str]] = [
        "t",
        "gd",
        "gd_sqrt_left",
        "hg",
        "ag",
        "red_diff",
        "xg_diff",
        "h_xg",
        "a_xg",
        "sot_diff",
        "shots_diff",
        "poss_diff",
        "elo",
        "odds_logit",
        "odds_draw",
        "rate_d",
        "rate_a",
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rate_model_: GoalRateModel | None = None
        self.booster_: Any = None
        self.calibrator_: Calibrator | None = None

    def _rate_model(self) -> GoalRateModel:
        model = GoalRateOddsModel() if self.use_odds else GoalRateModel()
        model.calibrate = False  # type: ignore[misc]  # instance override of the class default
        return model

    @property
    def design_columns(self) -> list[str]:
        """The booster's input columns (the odds ones only when the model uses odds)."""
        if self.use_odds:
            return list(self.features)
        return [f for f in self.features if f not in ("odds_logit", "odds_draw")]

    def _design(self, state: pd.DataFrame, rate_model: GoalRateModel) -> np.ndarray:
        left = (1.0 - state["t"]).clip(lower=0.0) + 0.02
        p = _clip_normalise(rate_model._raw_predict(state))
        # Missing priors are 0 (``elo``, ``odds_logit``, ``odds_draw``; see prepare_snapshots).
        frame = state.assign(
            gd_sqrt_left=state["gd"] / np.sqrt(left),
            poss_diff=state["poss_diff"] * state["clock"] / (state["clock"] + 5.0),
            rate_d=np.log(p[:, 1] / p[:, 0]),
            rate_a=np.log(p[:, 2] / p[:, 0]),
        )
        return frame[self.design_columns].to_numpy(dtype=float)

    def _fit_once(self, state: pd.DataFrame, y: np.ndarray) -> tuple[GoalRateModel, Any]:
        from sklearn.ensemble import HistGradientBoostingClassifier

        rate = self._rate_model()
        rate._fit(state, y)
        booster = HistGradientBoostingClassifier(random_state=0, **self.params)
        booster.fit(self._design(state, rate), y)
        return rate, booster

    def _fit(self, state: pd.DataFrame, y: np.ndarray) -> None:
        if "final_hg" not in state.columns:
            raise ConfigError(f"model {self.name!r} needs 'match_id' in the training rows")
        if len(np.unique(y)) < 3:
            raise ConfigError(f"model {self.name!r} needs all three results in the training rows")
        self.calibrator_ = None
        if state["match_id"].nunique() >= 2 * self.inner_splits:
            folds = _grouped_folds(state["match_id"].to_numpy(), self.inner_splits)
            oof = np.zeros((len(state), 3))
            oof_rate = np.zeros((len(state), 3))
            for k in range(self.inner_splits):
                test = folds == k
                if len(np.unique(y[~test])) < 3:
                    break
                rate, booster = self._fit_once(state.loc[~test], y[~test])
                oof[test] = booster.predict_proba(self._design(state.loc[test], rate))
                oof_rate[test] = rate._raw_predict(state.loc[test])
            else:
                self.calibrator_ = Calibrator().fit(
                    _clip_normalise(oof), state["t"].to_numpy(), y, base=_clip_normalise(oof_rate)
                )
        self.rate_model_, self.booster_ = self._fit_once(state, y)

    def _predict(self, state: pd.DataFrame) -> np.ndarray:
        assert self.rate_model_ is not None and self.booster_ is not None
        p = _clip_normalise(self.booster_.predict_proba(self._design(state, self.rate_model_)))
        if self.calibrator_ is not None:
            base = _clip_normalise(self.rate_model_._raw_predict(state))
            p = self.calibrator_.transform(p, state["t"].to_numpy(), base=base)
        return p

    def summary(self) -> dict[str, Any]:
        """Return the boosting settings and whether the model is calibrated."""
        if self.booster_ is None:
            return {}
        return {
            "boosting": dict(self.params),
            "n_iter": int(self.booster_.n_iter_),
            "calibrated": self.calibrator_ is not None,
            "features": list(self.features),
        }


class BoostedOddsModel(BoostedModel):
    """:class:`BoostedModel` that also uses de-margined closing odds where a row has them."""

    name: ClassVar[str] = "boosted_odds"
    use_odds: ClassVar[bool] = True


MODELS: dict[str, type[OutcomeModel]] = {
    ClimatologyModel.name: ClimatologyModel,
    ScoreboardModel.name: ScoreboardModel,
    StateMNLogitModel.name: StateMNLogitModel,
    GoalRateModel.name: GoalRateModel,
    GoalRateOddsModel.name: GoalRateOddsModel,
    BoostedModel.name: BoostedModel,
    BoostedOddsModel.name: BoostedOddsModel,
}
"""Registry of model names to classes."""


def make_model(name: str) -> OutcomeModel:
    """Return a new, unfitted model by registry name.

    Args:
        name: One of the keys of :data:`MODELS`.

    Returns:
        The model instance.

    Raises:
        ConfigError: The name is unknown; the message lists the valid names.
    """
    try:
        cls = MODELS[name]
    except KeyError:
        raise ConfigError(
            f"unknown model {name!r}; valid models: {', '.join(sorted(MODELS))}"
        ) from None
    return cls()


# --------------------------------------------------------------------------------------------
# Persistence
# --------------------------------------------------------------------------------------------


def _library_versions() -> dict[str, str | None]:
    from inplay import __version__ as inplay_version

    versions: dict[str, str | None] = {"python": platform.python_version()}
    for dist in ("pandas", "numpy", "statsmodels", "scikit-learn"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    versions["inplay"] = inplay_version
    return versions


def _json_safe(obj: Any) -> Any:
    """Convert numpy scalars/arrays and paths into plain JSON values; NaN becomes ``None``."""
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _json_safe(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def save_model(
    model: OutcomeModel,
    out_dir: Path,
    *,
    data_info: dict,
    metrics: dict | None = None,
) -> Path:
    """Write a fitted model and its model card.

    Writes ``<out_dir>/<name>/model.pkl`` (pickle) and ``<out_dir>/<name>/model_card.json``.
    The model's :attr:`~OutcomeModel.version` becomes ``<name>-<UTC timestamp>-<hash>``,
    where the hash is the SHA-256 of the pickled model (taken with the version unset).

    Args:
        model: A fitted model.
        out_dir: Folder that holds one sub-folder per model (e.g. ``config.MODELS_DIR``).
        data_info: What it was trained on, e.g. ``{"matches": 693, "rows": 63063,
            "competitions": [11, 16]}``.
        metrics: Evaluation metrics to record (e.g. grouped-CV log loss), or ``None``.

    Returns:
        The folder written, ``<out_dir>/<name>``.

    Raises:
        ConfigError: The model is not fitted.
    """
    if not model.fitted:
        raise ConfigError(f"model {model.name!r} is not fitted; nothing to save")
    target = Path(out_dir) / model.name
    target.mkdir(parents=True, exist_ok=True)

    old_version = model.version
    model.version = None
    try:
        content_hash = hashlib.sha256(pickle.dumps(model, protocol=5)).hexdigest()
    finally:
        model.version = old_version
    now = datetime.now(UTC)
    model.version = f"{model.name}-{now.strftime('%Y%m%dT%H%M%SZ')}-{content_hash[:12]}"

    buffer = io.BytesIO()
    pickle.dump(model, buffer, protocol=5)
    (target / _MODEL_FILE).write_bytes(buffer.getvalue())

    card = {
        "name": model.name,
        "version": model.version,
        "content_hash": f"sha256:{content_hash}",
        "model_class": type(model).__name__,
        "features": list(model.features),
        "classes": list(CLASSES),
        "probability_columns": list(PROB_COLUMNS),
        "trained_at": model.trained_at,
        "saved_at": now.isoformat(timespec="seconds"),
        "n_train_rows": model.n_train_rows,
        "data_info": data_info,
        "metrics": metrics,
        "parameters": model.summary(),
        "rules": {
            "extra_time": "rows with period >= 3 get the one-hot of sign(reg_home_goals - "
            "reg_away_goals), clipped to [1e-6, 1-2e-6] and renormalised",
            "min_probability": EPS,
        },
        "library_versions": _library_versions(),
    }
    (target / _CARD_FILE).write_text(json.dumps(_json_safe(card), indent=2) + "\n")
    return target


def load_model(path: Path | str) -> OutcomeModel:
    """Load a model written by :func:`save_model`.

    Args:
        path: The model folder (holding ``model.pkl``) or the ``model.pkl`` file itself.

    Returns:
        The fitted model, with its saved :attr:`~OutcomeModel.version`.

    Raises:
        ConfigError: There is no model file at ``path`` (run ``inplay fit`` first), or the file
            does not hold an :class:`OutcomeModel`.
    """
    p = Path(path)
    file = p / _MODEL_FILE if p.is_dir() or p.suffix != ".pkl" else p
    if not file.is_file():
        raise ConfigError(
            f"no trained model at {file}; run `inplay fit` first to train and save one"
        )
    with file.open("rb") as fh:
        model = pickle.load(fh)  # noqa: S301 - our own artefact
    if not isinstance(model, OutcomeModel):
        raise ConfigError(f"{file} does not hold an inplay OutcomeModel")
    return model

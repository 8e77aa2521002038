"""Baseline outcome models: climatology and the multinomial logits on the match state.

* ``climatology``: the class frequencies of the training rows, whatever the state.
* ``scoreboard``: the published baseline, a multinomial logit (statsmodels ``MNLogit``) on the
  match time ``t = clock / 90``, the goal difference and their interaction.
* ``state_mnlogit``: a multinomial logit on the full state, with time interactions for the goal
  difference, red cards and xG, plus shots on target and possession.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from inplay.config import ConfigError
from inplay.models.base import CLASSES, OutcomeModel, softmax_rows

__all__ = [
    "ClimatologyModel",
    "MNLogitModel",
    "ScoreboardModel",
    "ScoreboardXGModel",
    "StateMNLogitModel",
]


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
        return softmax_rows(np.column_stack([np.zeros(len(eta)), eta]))

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


class ScoreboardXGModel(MNLogitModel):
    """The scoreboard logit plus red cards and xG: the reference for how much evidence moves.

    Features: ``t``, ``gd``, ``gd t``, ``red_diff`` and ``xg_diff`` (home minus away). It reads
    the same first-minute evidence as the richer models, linearly and without rates, so its
    minute-to-minute movement is the yardstick of :func:`inplay.evaluation.travel.movement`.
    """

    name: ClassVar[str] = "scoreboard_xg"
    features: ClassVar[list[str]] = ["t", "gd", "gd_t", "red_diff", "xg_diff"]

    def design(self, state: pd.DataFrame) -> pd.DataFrame:
        """Build the scoreboard features plus ``red_diff`` and ``xg_diff``."""
        t, gd = state["t"], state["gd"]
        return pd.DataFrame(
            {
                "t": t,
                "gd": gd,
                "gd_t": gd * t,
                "red_diff": state["red_diff"],
                "xg_diff": state["xg_diff"],
            },
            index=state.index,
        )

"""Gradient-boosted outcome models, stacked with the goal-rate model and calibrated out of fold."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from inplay.config import ConfigError
from inplay.models.base import OutcomeModel, clip_normalise
from inplay.models.calibration import Calibrator
from inplay.models.folds import grouped_folds
from inplay.models.goal_rate import GoalRateModel, GoalRateOddsModel

__all__ = ["BoostedModel", "BoostedOddsModel"]


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
        p = clip_normalise(rate_model._raw_predict(state))
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
            folds = grouped_folds(state["match_id"].to_numpy(), self.inner_splits, deal=False)
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
                    clip_normalise(oof), state["t"].to_numpy(), y, base=clip_normalise(oof_rate)
                )
        self.rate_model_, self.booster_ = self._fit_once(state, y)

    def _predict(self, state: pd.DataFrame) -> np.ndarray:
        assert self.rate_model_ is not None and self.booster_ is not None
        p = clip_normalise(self.booster_.predict_proba(self._design(state, self.rate_model_)))
        if self.calibrator_ is not None:
            base = clip_normalise(self.rate_model_._raw_predict(state))
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

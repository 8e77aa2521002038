"""Goal-rate models: a Poisson GLM for each side's remaining goals, convolved into H/D/A.

``goal_rate`` reads the state and the pre-match Elo prior; ``goal_rate_odds`` also reads
closing odds. :meth:`GoalRateModel.score_distribution` gives the final-score grid.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from inplay.config import ConfigError
from inplay.models.base import OutcomeModel, clip_normalise
from inplay.models.calibration import Calibrator
from inplay.models.folds import grouped_folds
from inplay.models.state import prepare_snapshots

__all__ = [
    "STOPPAGE_FIRST_HALF",
    "STOPPAGE_SECOND_HALF",
    "MAX_EXTRA_GOALS",
    "XG_SHRINK_MINUTES",
    "POSSESSION_SHRINK_MINUTES",
    "remaining_minutes",
    "GoalRateModel",
    "GoalRateOddsModel",
    "SkellamModel",
]

# Stoppage time still to come at a minute snapshot: the state at m <= 45 holds the first half
# up to m:00, so first-half stoppage (about 2 min) and the second half's (about 4) remain.
STOPPAGE_FIRST_HALF = 2.0
STOPPAGE_SECOND_HALF = 4.0
MAX_EXTRA_GOALS = 10
# Calm early minutes: a side's xG and shots on target so far are divided by (clock + 30) rather
# than the clock, and the possession share is weighed by clock / (clock + 480), which over a
# match is close to the possession-minutes advantage so far (a share over the first minutes is
# noise). Measured with benchmarks/models.py on the 693 shared matches, leaving one competition
# out: with (10, 5) minutes p_home moved 2.3 points per goal-free minute in minutes 1-15, 3.2x
# the scoreboard + xG + red-card logit; possession was most of it. With (30, 120) 1.34x, with
# (30, 480) 1.15x, log loss unchanged (0.6609 / 0.6611).
XG_SHRINK_MINUTES = 30.0
POSSESSION_SHRINK_MINUTES = 480.0


def remaining_minutes(clock: Any) -> np.ndarray:
    """Expected regulation minutes still to play at a minute snapshot, stoppage included."""
    c = np.clip(np.asarray(clock, dtype=float), 0.0, 90.0)
    return 90.0 - c + STOPPAGE_SECOND_HALF + np.where(c <= 45.0, STOPPAGE_FIRST_HALF, 0.0)


State = pd.DataFrame | Mapping[str, np.ndarray]
"""Prepared rows: a frame (offline) or a dict of 1-D arrays (live, the numpy path)."""


def _values(state: State, name: str) -> np.ndarray:
    """Column ``name`` of prepared rows as a float array."""
    return np.asarray(state[name], dtype=float)


def _poisson_pmf(lam: np.ndarray, n_max: int) -> np.ndarray:
    """``(n, n_max + 1)`` Poisson probabilities of 0..n_max (the last one takes the tail).

    The formula of ``scipy.stats.poisson.pmf`` (the same bits for positive rates), without its
    argument checks: a third of the time for a live batch.
    """
    from scipy import special

    k = np.arange(n_max + 1)[None, :]
    mu = lam[:, None]
    pmf = np.clip(np.exp(special.xlogy(k, mu) - special.gammaln(k + 1) - mu), 0.0, 1.0)
    pmf[:, -1] += np.clip(1.0 - pmf.sum(axis=1), 0.0, None)
    return pmf


class GoalRateModel(OutcomeModel):
    """Poisson GLM for each side's goals in the remaining regulation time.

    One GLM (statsmodels, log link) is fitted on stacked rows, one per side and snapshot: the
    response is the goals the side still scores in regulation, the exposure the remaining
    minutes (:func:`remaining_minutes`), and the rate depends on the state seen from that side:
    home or away (no home advantage at a neutral venue), time, whether it leads or trails by one
    or by two+ (and how that changes with time), red cards for and against, its and the
    opponent's xG and shots on target per minute so far (shrunk towards zero early on:
    :data:`XG_SHRINK_MINUTES`), possession (weighed by the time it covers:
    :data:`POSSESSION_SHRINK_MINUTES`), and the pre-match prior (Elo difference, or the
    closing-odds log-ratio where known) with a time interaction. The prior's weight on the
    *result* fades by itself: it acts on a rate over a shrinking remaining time.

    The two sides' remaining goals are taken as independent Poissons; added to the current
    score they give the distribution of the final score (:meth:`score_distribution`), and
    hence H/D/A. When ``calibrate`` is on, a :class:`Calibrator` fitted on out-of-fold
    predictions of the training rows corrects the result probabilities (the independence
    assumption, for one, under-predicts draws). Its inner folds hold out whole competition
    seasons when the rows name them (``competition_id``, ``season_id``) and there are enough,
    so it learns the errors the model makes on a season it has not seen; else whole matches.
    """

    name: ClassVar[str] = "goal_rate"
    uses_prior: ClassVar[bool] = True
    array_path: ClassVar[bool] = True
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
        self.cov_: np.ndarray | None = None  # of params_, clustered by match (uncertainty.py)

    def _side_design(self, state: State, home: bool) -> np.ndarray:
        """The ``(n, len(features))`` design of one side's rate (a frame or a dict of arrays)."""
        sign = 1.0 if home else -1.0
        own, opp = ("h", "a") if home else ("a", "h")
        t = _values(state, "t")
        clock = _values(state, "clock")
        gd = sign * _values(state, "gd")
        shrink = clock + XG_SHRINK_MINUTES
        has_odds = _values(state, "has_odds") if self.use_odds else np.zeros(len(t))
        elo = sign * _values(state, "elo") * (1.0 - has_odds)
        odds = sign * _values(state, "odds_logit") * has_odds
        poss = sign * _values(state, "poss_diff") * clock / (clock + POSSESSION_SHRINK_MINUTES)
        at_home = (1.0 if home else 0.0) * (1.0 - _values(state, "neutral"))
        columns = {
            "is_home": lambda: at_home,
            "t": lambda: t,
            "t2": lambda: t * t,
            "trail2": lambda: (gd <= -2).astype(float),
            "trail1": lambda: (gd == -1).astype(float),
            "lead1": lambda: (gd == 1).astype(float),
            "lead2": lambda: (gd >= 2).astype(float),
            "trail1_t": lambda: (gd == -1) * t,
            "lead1_t": lambda: (gd == 1) * t,
            "red_for": lambda: np.clip(_values(state, f"{own}_red"), 0, 2),
            "red_against": lambda: np.clip(_values(state, f"{opp}_red"), 0, 2),
            "xg_rate_for": lambda: _values(state, f"{own}_xg") / shrink * 10.0,
            "xg_rate_against": lambda: _values(state, f"{opp}_xg") / shrink * 10.0,
            "sot_rate_for": lambda: _values(state, f"{own}_sot") / shrink,
            "sot_rate_against": lambda: _values(state, f"{opp}_sot") / shrink,
            "poss_for": lambda: poss,
            "prior": lambda: elo,
            "prior_t": lambda: elo * t,
            "odds_prior": lambda: odds,
            "odds_prior_t": lambda: odds * t,
        }
        # Fortran order, as the frame this design once was: the same BLAS path, the same bits.
        x = np.empty((len(t), len(self.features)), dtype=float, order="F")
        for j, name in enumerate(self.features):
            x[:, j] = columns[name]()
        return x

    def _rates(self, state: State) -> tuple[np.ndarray, np.ndarray]:
        assert self.params_ is not None
        exposure = remaining_minutes(_values(state, "clock"))
        out = []
        for home in (True, False):
            x = self._side_design(state, home)
            eta = self.params_[0] + x @ self.params_[1:]
            out.append(np.exp(np.clip(eta, -20.0, 5.0)) * exposure)
        return out[0], out[1]

    def _fit_glm(self, state: pd.DataFrame) -> np.ndarray:
        from statsmodels.genmod import families
        from statsmodels.genmod.generalized_linear_model import GLM

        rows, ys = [], []
        for home, col, final in ((True, "hg", "final_hg"), (False, "ag", "final_ag")):
            rows.append(self._side_design(state, home))
            ys.append((state[final] - state[col]).clip(lower=0).to_numpy(dtype=float))
        x = np.column_stack([np.ones(2 * len(state)), np.vstack(rows)])
        y = np.concatenate(ys)
        exposure = np.tile(remaining_minutes(state["clock"].to_numpy()), 2)
        # Columns that never vary (e.g. no odds in the training rows) are left at zero.
        keep = np.r_[True, x[:, 1:].std(axis=0) > 1e-12]
        # Covariance clustered by match: its rows share its goals (see models/uncertainty.py).
        groups = pd.factorize(np.tile(state["match_id"].to_numpy(), 2))[0]
        ok = groups.max() > 0 and len(y) > keep.sum()  # else plain: one match cannot cluster
        robust = {"cov_type": "cluster", "cov_kwds": {"groups": groups}} if ok else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = GLM(y, x[:, keep], family=families.Poisson(), exposure=exposure).fit(
                maxiter=100, **robust
            )
        params = np.zeros(x.shape[1])
        params[keep] = np.asarray(res.params, dtype=float)
        self.cov_ = np.zeros((x.shape[1], x.shape[1]))
        self.cov_[np.ix_(keep, keep)] = np.asarray(res.cov_params(), dtype=float)
        self.dispersion_ = float(res.pearson_chi2 / max(res.df_resid, 1))
        return params

    def _raw_predict(self, state: State) -> np.ndarray:
        lam_h, lam_a = self._rates(state)
        ph = _poisson_pmf(lam_h, MAX_EXTRA_GOALS)
        pa = _poisson_pmf(lam_a, MAX_EXTRA_GOALS)
        # P(extra_home - extra_away = d) for d in -G..G, then shift by the current difference.
        n, g = len(lam_h), MAX_EXTRA_GOALS
        diff = np.zeros((n, 2 * g + 1))
        for j in range(g + 1):
            diff[:, g - j : 2 * g + 1 - j] += ph * pa[:, [j]]
        d = np.arange(-g, g + 1)[None, :] + _values(state, "gd")[:, None]
        return np.column_stack(
            [
                (diff * (d > 0)).sum(axis=1),
                (diff * (d == 0)).sum(axis=1),
                (diff * (d < 0)).sum(axis=1),
            ]
        )

    def _inner_groups(self, state: pd.DataFrame) -> np.ndarray:
        """Groups of the calibrator's inner folds: competition seasons if enough, else matches."""
        if "season_key" in state.columns:
            seasons = state["season_key"].to_numpy()
            if len(pd.unique(seasons)) >= 2 * self.inner_splits:
                return seasons
        return state["match_id"].to_numpy()

    def _fit(self, state: pd.DataFrame, y: np.ndarray) -> None:
        if "final_hg" not in state.columns:
            raise ConfigError(f"model {self.name!r} needs 'match_id' in the training rows")
        self.calibrator_ = None
        if self.calibrate and state["match_id"].nunique() >= 2 * self.inner_splits:
            folds = grouped_folds(self._inner_groups(state), self.inner_splits, deal=False)
            oof = np.zeros((len(state), 3))
            for k in range(self.inner_splits):
                test = folds == k
                self.params_ = self._fit_glm(state.loc[~test])
                oof[test] = self._raw_predict(state.loc[test])
            self.calibrator_ = Calibrator().fit(
                oof, state["t"].to_numpy(), y, groups=state["match_id"].to_numpy()
            )
        self.params_ = self._fit_glm(state)

    def _predict(self, state: State) -> np.ndarray:
        p = clip_normalise(self._raw_predict(state))
        if self.calibrator_ is not None:
            p = self.calibrator_.transform(p, _values(state, "t"))
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

    def remaining_rates(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Expected regulation goals each side still scores, as :meth:`score_distribution`.

        The fitted rates (no calibration); 0 in rows of period >= 3.

        Args:
            df: Snapshot rows.

        Returns:
            ``(lam_home, lam_away)``, one value per row.
        """
        self._require_fitted()
        state = prepare_snapshots(self._with_prior(df))
        lam_h, lam_a = self._rates(state)
        decided = (state["period"] >= 3).to_numpy()
        return np.where(decided, 0.0, lam_h), np.where(decided, 0.0, lam_a)


class GoalRateOddsModel(GoalRateModel):
    """:class:`GoalRateModel` that also uses de-margined closing odds where a row has them."""

    name: ClassVar[str] = "goal_rate_odds"
    use_odds: ClassVar[bool] = True


class SkellamModel(GoalRateModel):
    """The Poisson-Skellam baseline: constant goal rates from home advantage and red cards.

    Each side scores at a constant rate per minute that depends only on whether it plays at
    home and on the red cards for and against it; with the current score this gives H/D/A as
    for :class:`GoalRateModel` (a Skellam distribution of the remaining goal difference). No
    prior, no match statistics, no recalibration: what a goal-count model gets from the
    scoreboard alone.
    """

    name: ClassVar[str] = "skellam"
    uses_prior: ClassVar[bool] = False
    calibrate: ClassVar[bool] = False
    features: ClassVar[list[str]] = ["is_home", "red_for", "red_against"]

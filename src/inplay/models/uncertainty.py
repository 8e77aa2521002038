"""Honest uncertainty: intervals around H/D/A from the goal-rate model's parameter uncertainty.

:func:`probability_band` draws parameter vectors of a fitted goal-rate model
(:class:`~inplay.models.goal_rate.GoalRateModel` and its variants) from the normal
approximation ``N(params_, cov_)`` of its Poisson GLM and, when the model has a calibrator that
kept its covariance, the calibrator's parameters from theirs
(:attr:`inplay.models.calibration.Calibrator.cov_`, clustered by match too), predicts H/D/A
with each pair and takes the quantiles of each probability: an ``level`` (80 %) interval that
says how much the prediction would move if the model had been fitted on another sample of
matches. It is *not* a prediction interval for the result (a probability already says that),
and it leaves out any error of the model's form.

``cov_`` is the GLM's covariance *clustered by match* (a sandwich estimate): the model is fitted
on every minute snapshot of a match, and those rows share the match's remaining goals, so the
plain GLM covariance, which takes them as independent, is far too small (in simulation its 80 %
bands held the true probability 13 % of the time). The sandwich already carries any
overdispersion, so by default it is used as it is; ``overdispersion=True`` also multiplies it by
the Pearson dispersion (``dispersion_``) when that is above 1, as a quasi-Poisson fit would do
with a plain covariance (a dispersion below 1 never narrows the band).

How far to trust the band: :func:`simulation_coverage` fits the model on matches drawn from a
known goal-rate process and counts how often the true probability lies inside the band;
:func:`oof_bands` and :func:`binned_coverage` do the same on real matches out of fold (the
observed frequency of each bin of predicted probability against the bin's mean interval), and
:func:`width_by_minute` gives the mean width at chosen minutes. ``python benchmarks/models.py``
measures them; the figures are in ``docs/models.md`` (Honest uncertainty).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import ClassVar

import numpy as np
import pandas as pd

from inplay.config import ConfigError
from inplay.models.base import PROB_COLUMNS, encode_result
from inplay.models.folds import grouped_folds
from inplay.models.goal_rate import GoalRateModel, remaining_minutes
from inplay.models.state import prepare_snapshots

__all__ = [
    "BAND_COLUMNS",
    "parameter_covariance",
    "sample_parameters",
    "calibrator_draws",
    "probability_band",
    "simulate_matches",
    "true_probabilities",
    "simulation_coverage",
    "oof_bands",
    "binned_coverage",
    "width_by_minute",
]

BAND_COLUMNS: tuple[str, ...] = tuple(f"{c}_{end}" for c in PROB_COLUMNS for end in ("lo", "hi"))
"""Columns of a band: ``p_home_lo``, ``p_home_hi``, ``p_draw_lo`` ... ``p_away_hi``."""


def parameter_covariance(model: GoalRateModel, overdispersion: bool = False) -> np.ndarray:
    """The covariance of a fitted goal-rate model's parameters, scaled for overdispersion.

    Args:
        model: A fitted :class:`GoalRateModel` (or a subclass).
        overdispersion: Multiply by the Pearson dispersion when it is above 1.

    Returns:
        A ``(p, p)`` matrix in the order of ``params_`` (zeros for columns the fit dropped).

    Raises:
        ConfigError: The model has no covariance (not a goal-rate model, not fitted, or saved
            before the covariance was kept: refit it).
    """
    cov = getattr(model, "cov_", None)
    if cov is None or getattr(model, "params_", None) is None:
        raise ConfigError(
            f"model {model.name!r} has no parameter covariance; refit it (inplay fit) to get one"
        )
    dispersion = getattr(model, "dispersion_", None) or 1.0
    scale = max(dispersion, 1.0) if overdispersion else 1.0
    return np.asarray(cov, dtype=float) * scale


def sample_parameters(mean: np.ndarray, cov: np.ndarray, draws: int, seed: int = 0) -> np.ndarray:
    """Draw parameter vectors from ``N(mean, cov)``.

    Only the coordinates with a positive variance are drawn (through the eigen-decomposition of
    their block, negative eigenvalues of rounding set to 0); the others stay at their mean, so
    a zero covariance gives ``draws`` copies of ``mean``.

    Args:
        mean: The ``(p,)`` parameter vector.
        cov: Its ``(p, p)`` covariance.
        draws: Number of vectors.
        seed: Seed of the normal draws.

    Returns:
        A ``(draws, p)`` array.
    """
    mean = np.asarray(mean, dtype=float)
    out = np.tile(mean, (draws, 1))
    free = np.diag(cov) > 0
    if free.any():
        values, vectors = np.linalg.eigh(cov[np.ix_(free, free)])
        root = vectors * np.sqrt(np.clip(values, 0.0, None))
        z = np.random.default_rng(seed).standard_normal((draws, int(free.sum())))
        out[:, free] += z @ root.T
    return out


def calibrator_draws(model: GoalRateModel, draws: int, seed: int = 0) -> list | None:
    """``draws`` calibrators with parameters from ``N(params_, cov_)`` of the model's calibrator.

    None when the model has no calibrator, or one without a covariance (fitted before it was
    kept, or without match groups): the band then holds the calibrator fixed.
    """
    calibrator = getattr(model, "calibrator_", None)
    cov = getattr(calibrator, "cov_", None)
    if calibrator is None or cov is None:
        return None
    flat = np.asarray(calibrator.params_, dtype=float).ravel(order="F")
    # Another stream than the GLM's draws (seed + 1): the two estimates are drawn independently.
    return [calibrator.with_params(v) for v in sample_parameters(flat, cov, draws, seed + 1)]


def _draw_predictions(
    model: GoalRateModel, rows: pd.DataFrame, params: np.ndarray, calibrators: list | None = None
) -> np.ndarray:
    """``(draws, n, 3)`` probabilities of ``rows`` with each parameter vector of ``params``.

    With ``calibrators`` (one per vector), draw ``k`` also uses calibrator ``k``.
    """
    state = prepare_snapshots(model._with_prior(rows))
    trial = copy.copy(model)  # shares the calibrator and ratings; only params_ changes
    out = np.empty((len(params), len(rows), 3))
    for k, vector in enumerate(params):
        trial.params_ = vector
        if calibrators is not None:
            trial.calibrator_ = calibrators[k]
        out[k] = trial._proba(state)
    return out


def probability_band(
    model: GoalRateModel,
    rows: pd.DataFrame,
    level: float = 0.8,
    draws: int = 200,
    seed: int = 0,
    *,
    overdispersion: bool = False,
    calibrator_uncertainty: bool = True,
) -> pd.DataFrame:
    """The central ``level`` interval of each row's H/D/A from the parameter uncertainty.

    Draws ``draws`` parameter vectors from ``N(params_, cov)`` (:func:`parameter_covariance`,
    :func:`sample_parameters`; fixed ``seed``) and as many calibrators
    (:func:`calibrator_draws`), predicts every row with each pair (extra-time rows decided as
    in ``predict_proba``) and takes the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles.
    Memory: ``draws * len(rows) * 3`` floats.

    Args:
        model: A fitted goal-rate model.
        rows: Snapshot rows, as for ``predict_proba``.
        level: Coverage of the interval, in (0, 1).
        draws: Number of parameter draws.
        seed: Seed of the draws.
        overdispersion: Also widen by the Pearson dispersion when it is above 1 (see the
            module docstring: the clustered covariance already carries it).
        calibrator_uncertainty: Also draw the calibrator's parameters (when it kept their
            covariance); False holds the fitted calibrator fixed.

    Returns:
        A frame indexed like ``rows`` with the point prediction (``p_home``, ``p_draw``,
        ``p_away``) and :data:`BAND_COLUMNS`.

    Raises:
        ConfigError: The model has no covariance, or ``level`` is not in (0, 1).
    """
    if not 0.0 < level < 1.0:
        raise ConfigError(f"level={level} must be between 0 and 1")
    cov = parameter_covariance(model, overdispersion)
    params = sample_parameters(model.params_, cov, draws, seed)
    calibrators = calibrator_draws(model, draws, seed) if calibrator_uncertainty else None
    sampled = _draw_predictions(model, rows, params, calibrators)
    lo, hi = np.quantile(sampled, [(1.0 - level) / 2.0, (1.0 + level) / 2.0], axis=0)
    out = model.predict_frame(rows)
    for j, col in enumerate(PROB_COLUMNS):
        out[f"{col}_lo"] = lo[:, j]
        out[f"{col}_hi"] = hi[:, j]
    return out


# Simulation -------------------------------------------------------------------------------

# Goals per match of each side at a level Elo difference, and the log-rate change per 400 Elo
# points (home +, away -): the known process of :func:`simulate_matches`.
SIM_HOME_GOALS = 1.5
SIM_AWAY_GOALS = 1.15
SIM_ELO_EFFECT = 0.5
SIM_ELO_SD = 150.0
# Minutes of play in the simulated match: 45 + 2 and 45 + 4 of stoppage, as remaining_minutes.
_FIRST_HALF, _SECOND_HALF = 47, 49


def _true_rates(elo_diff: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Goals per played minute of each side in the simulated process."""
    total = _FIRST_HALF + _SECOND_HALF
    shift = SIM_ELO_EFFECT * np.asarray(elo_diff, dtype=float) / 400.0
    return SIM_HOME_GOALS / total * np.exp(shift), SIM_AWAY_GOALS / total * np.exp(-shift)


def _played(clock: np.ndarray) -> np.ndarray:
    """Minutes played by a snapshot at ``clock``.

    First-half stoppage is played after 45; the clock-90 snapshot holds the full-time score
    (stoppage included), as the last minute snapshot of a real match does.
    """
    second = np.where(clock >= 90, _FIRST_HALF + _SECOND_HALF, _FIRST_HALF + clock - 45)
    return np.where(clock <= 45, clock, second).astype(int)


def simulate_matches(n_matches: int, seed: int = 0, every: int = 1) -> pd.DataFrame:
    """Matches from a known goal-rate process, as minute snapshots.

    Each side scores as a Poisson process whose rate depends only on home advantage and the
    pre-match Elo difference (:data:`SIM_HOME_GOALS`, :data:`SIM_AWAY_GOALS`,
    :data:`SIM_ELO_EFFECT`), over 96 minutes of play (47 + 49: the stoppage time of
    :func:`~inplay.models.goal_rate.remaining_minutes`), so a :class:`GoalRateModel` is well
    specified for it (its other terms are truly 0). No cards, shots or xG.

    Args:
        n_matches: Number of matches.
        seed: Random seed.
        every: Minutes between snapshots (0, every, 2 * every, ... up to 90).

    Returns:
        Snapshot rows with ``match_id``, ``clock``, ``period``, the goals, ``elo_diff`` and
        ``result``.
    """
    rng = np.random.default_rng(seed)
    elo = rng.normal(0.0, SIM_ELO_SD, n_matches)
    rate_h, rate_a = _true_rates(elo)
    minutes = _FIRST_HALF + _SECOND_HALF
    goals_h = np.cumsum(rng.poisson(rate_h[:, None], (n_matches, minutes)), axis=1)
    goals_a = np.cumsum(rng.poisson(rate_a[:, None], (n_matches, minutes)), axis=1)
    clocks = np.arange(0, 91, every)
    played = _played(clocks)
    zero = np.zeros((n_matches, 1), dtype=int)
    hg = np.hstack([zero, goals_h])[:, played]
    ag = np.hstack([zero, goals_a])[:, played]
    final = np.sign(goals_h[:, -1] - goals_a[:, -1])
    result = np.array(["A", "D", "H"])[final + 1]
    n_clock = len(clocks)
    return pd.DataFrame(
        {
            "match_id": np.repeat(np.arange(n_matches) + 1, n_clock),
            "clock": np.tile(clocks.astype(float), n_matches),
            "period": np.tile(np.where(clocks < 45, 1, 2), n_matches),
            "home_goals": hg.ravel(),
            "away_goals": ag.ravel(),
            "reg_home_goals": hg.ravel(),
            "reg_away_goals": ag.ravel(),
            "elo_diff": np.repeat(elo, n_clock),
            "result": np.repeat(result, n_clock),
        }
    )


def true_probabilities(rows: pd.DataFrame) -> np.ndarray:
    """The true H/D/A of snapshot rows of the process of :func:`simulate_matches`.

    Remaining goals are Poisson with the true rates over :func:`remaining_minutes`; the result
    is the sign of the current goal difference plus their (Skellam) difference.

    Args:
        rows: Rows with ``clock``, ``home_goals``, ``away_goals`` and ``elo_diff``.

    Returns:
        An ``(n, 3)`` array of H, D, A.
    """
    from scipy.stats import skellam

    rate_h, rate_a = _true_rates(rows["elo_diff"].to_numpy())
    left = remaining_minutes(rows["clock"].to_numpy())
    mu_h, mu_a = rate_h * left, rate_a * left
    gd = (rows["home_goals"] - rows["away_goals"]).to_numpy()
    # home wins when remaining home - away > -gd, i.e. >= 1 - gd
    return np.column_stack(
        [
            skellam.sf(-gd, mu_h, mu_a),
            skellam.pmf(-gd, mu_h, mu_a),
            skellam.cdf(-gd - 1, mu_h, mu_a),
        ]
    )


class UncalibratedGoalRate(GoalRateModel):
    """:class:`GoalRateModel` without the calibrator: the GLM alone, for the simulation."""

    name: ClassVar[str] = "goal_rate_uncalibrated"
    calibrate: ClassVar[bool] = False


def simulation_states(
    clocks: Sequence[float] = (0, 45, 80),
    goal_diffs: Sequence[int] = (-1, 0, 1),
    elo_diffs: Sequence[float] = (-200, 0, 200),
) -> pd.DataFrame:
    """A grid of match states (clock x goal difference x Elo difference) to check bands on."""
    grid = pd.MultiIndex.from_product([clocks, goal_diffs, elo_diffs]).to_frame(index=False)
    grid.columns = ["clock", "gd", "elo_diff"]
    return pd.DataFrame(
        {
            "clock": grid["clock"].astype(float),
            "period": np.where(grid["clock"] < 45, 1, 2),
            "home_goals": grid["gd"].clip(lower=0),
            "away_goals": (-grid["gd"]).clip(lower=0),
            "elo_diff": grid["elo_diff"].astype(float),
        }
    )


def simulation_coverage(
    n_matches: int = 200,
    replications: int = 20,
    level: float = 0.8,
    draws: int = 200,
    seed: int = 0,
    *,
    every: int = 1,
    model: Callable[[], GoalRateModel] = UncalibratedGoalRate,
) -> pd.DataFrame:
    """How often the true probability lies inside the band, on matches of a known process.

    Each replication draws ``n_matches`` matches (:func:`simulate_matches`, seed
    ``seed + r``), fits a fresh ``model()`` and bands the states of
    :func:`simulation_states`, whose true probabilities are known
    (:func:`true_probabilities`). The states share one fit, so their misses are correlated:
    judge the coverage across replications (:func:`coverage_summary`).

    Args:
        n_matches: Matches per replication.
        replications: Independent data sets (and fits).
        level: Band level.
        draws: Parameter draws per band.
        seed: Seed of the first replication's matches (the bands use ``seed`` too).
        every: Minutes between training snapshots.
        model: Factory of the model to fit (default: the GLM without calibrator).

    Returns:
        One row per replication, state and class: ``replication``, ``clock``, ``gd``,
        ``elo_diff``, ``outcome`` (H/D/A), ``p_true``, ``p``, ``lo``, ``hi``, ``covered``.
    """
    states = simulation_states()
    truth = true_probabilities(states)
    frames = []
    for r in range(replications):
        fitted = model().fit(simulate_matches(n_matches, seed + r, every))
        band = probability_band(fitted, states, level, draws, seed)
        for j, (col, outcome) in enumerate(zip(PROB_COLUMNS, "HDA", strict=True)):
            frames.append(
                pd.DataFrame(
                    {
                        "replication": r,
                        "clock": states["clock"],
                        "gd": states["home_goals"] - states["away_goals"],
                        "elo_diff": states["elo_diff"],
                        "outcome": outcome,
                        "p_true": truth[:, j],
                        "p": band[col].to_numpy(),
                        "lo": band[f"{col}_lo"].to_numpy(),
                        "hi": band[f"{col}_hi"].to_numpy(),
                    }
                )
            )
    out = pd.concat(frames, ignore_index=True)
    out["covered"] = (out["lo"] <= out["p_true"]) & (out["p_true"] <= out["hi"])
    return out


def coverage_summary(frame: pd.DataFrame, by: str | list[str] = "outcome") -> pd.DataFrame:
    """Coverage and mean width of :func:`simulation_coverage` rows, by ``by``.

    The standard error treats replications as the independent units (the states of one
    replication share a fit): the spread of the per-replication coverage over
    ``sqrt(replications)``.

    Returns:
        One row per group: ``coverage``, ``coverage_se``, ``mean_width``, ``rows``.
    """
    keys = [by] if isinstance(by, str) else list(by)
    frame = frame.assign(width=frame["hi"] - frame["lo"])
    per_rep = frame.groupby([*keys, "replication"])["covered"].mean()
    se = per_rep.groupby(level=keys).agg(lambda s: s.std(ddof=1) / np.sqrt(len(s)))
    out = frame.groupby(keys).agg(
        coverage=("covered", "mean"), mean_width=("width", "mean"), rows=("covered", "size")
    )
    out.insert(1, "coverage_se", se)
    return out.reset_index()


# Real data, out of fold -------------------------------------------------------------------


def oof_bands(
    rows: pd.DataFrame,
    model: Callable[[], GoalRateModel] = GoalRateModel,
    n_splits: int = 5,
    level: float = 0.8,
    draws: int = 200,
    seed: int = 0,
) -> pd.DataFrame:
    """Bands of every regulation row predicted by a model not fitted on its match.

    Matches are dealt into ``n_splits`` folds (:func:`~inplay.models.folds.grouped_folds`);
    each fold is banded by a ``model()`` fitted on the others.

    Args:
        rows: Snapshot rows with ``match_id``, ``result`` and (for a prior) ``elo_diff``.
        model: Factory of the goal-rate model.
        n_splits: Folds.
        level: Band level.
        draws: Parameter draws per band.
        seed: Seed of the folds and of the draws.

    Returns:
        The regulation rows' ``match_id``, ``clock``, ``result``, ``fold``, point predictions
        and :data:`BAND_COLUMNS`.
    """
    reg = rows[rows["period"] <= 2] if "period" in rows.columns else rows
    folds = grouped_folds(reg["match_id"].to_numpy(), n_splits, seed)
    parts = []
    for k in range(n_splits):
        test = folds == k
        fitted = model().fit(reg.loc[~test])
        band = probability_band(fitted, reg.loc[test], level, draws, seed)
        parts.append(reg.loc[test, ["match_id", "clock", "result"]].assign(fold=k).join(band))
    return pd.concat(parts).sort_index()


def _bin_table(part: pd.DataFrame) -> pd.DataFrame:
    """Per-bin means of one outcome's rows (``bin``, ``match_id``, ``p``, ``lo``, ``hi``, ``hit``).

    ``observed_se`` is clustered by match: the residuals ``hit - observed`` are summed per match
    (a match's rows share its result), and ``se = sqrt(sum of squared match sums) / rows``.
    """
    table = part.groupby("bin").agg(
        rows=("p", "size"),
        matches=("match_id", "nunique"),
        p_mean=("p", "mean"),
        lo_mean=("lo", "mean"),
        hi_mean=("hi", "mean"),
        observed=("hit", "mean"),
    )
    residual = part["hit"] - part["bin"].map(table["observed"])
    per_match = residual.groupby([part["bin"], part["match_id"]]).sum()
    table["observed_se"] = np.sqrt((per_match**2).groupby(level=0).sum()) / table["rows"]
    return table.reset_index()


def binned_coverage(frame: pd.DataFrame, bins: int = 10) -> pd.DataFrame:
    """Does each bin's observed frequency lie inside the bin's mean interval?

    For each outcome, rows are cut into ``bins`` equal-width bins of predicted probability; a
    bin holds its mean prediction, mean ``lo``/``hi``, observed frequency and that frequency's
    standard error clustered by match (:func:`_bin_table`). The band is parameter uncertainty
    only, while the observed frequency also carries the luck of a finite number of matches:
    ``gap_se`` is how far the frequency lies outside the interval in standard errors (0 inside),
    so a bin outside the band but within about 2 of them is not a clear failure of the band.

    Args:
        frame: Rows of :func:`oof_bands` (``match_id``, ``result`` and the band columns).
        bins: Number of bins on [0, 1].

    Returns:
        One row per outcome and non-empty bin: ``outcome``, ``bin``, ``rows``, ``matches``,
        ``p_mean``, ``lo_mean``, ``hi_mean``, ``observed``, ``observed_se``, ``inside``,
        ``gap_se``.
    """
    y = encode_result(frame["result"].to_numpy())
    edges = np.linspace(0.0, 1.0, bins + 1)
    parts = []
    for j, (col, outcome) in enumerate(zip(PROB_COLUMNS, "HDA", strict=True)):
        part = pd.DataFrame(
            {
                "bin": np.clip(np.digitize(frame[col], edges) - 1, 0, bins - 1),
                "match_id": frame["match_id"].to_numpy(),
                "p": frame[col].to_numpy(),
                "lo": frame[f"{col}_lo"].to_numpy(),
                "hi": frame[f"{col}_hi"].to_numpy(),
                "hit": (y == j).astype(float),
            }
        )
        parts.append(_bin_table(part).assign(outcome=outcome))
    out = pd.concat(parts, ignore_index=True)
    out = out[["outcome", *[c for c in out.columns if c != "outcome"]]]
    out["inside"] = (out["lo_mean"] <= out["observed"]) & (out["observed"] <= out["hi_mean"])
    gap = np.maximum(out["lo_mean"] - out["observed"], out["observed"] - out["hi_mean"])
    out["gap_se"] = np.where(out["inside"], 0.0, gap / out["observed_se"].replace(0.0, np.nan))
    return out


def width_by_minute(frame: pd.DataFrame, minutes: Sequence[float] = (0, 45, 80)) -> pd.DataFrame:
    """Mean band width of each outcome at the given clock minutes.

    Args:
        frame: Rows with ``clock`` and the band columns (:func:`probability_band` joined to the
            rows, or :func:`oof_bands`).
        minutes: Clock minutes to report.

    Returns:
        One row per minute: ``clock``, ``rows``, and ``width_home``, ``width_draw``,
        ``width_away`` (mean ``hi - lo``).
    """
    at = frame[frame["clock"].isin(list(minutes))]
    widths = pd.DataFrame(
        {
            "clock": at["clock"],
            **{
                f"width_{col.removeprefix('p_')}": at[f"{col}_hi"] - at[f"{col}_lo"]
                for col in PROB_COLUMNS
            },
        }
    )
    out = widths.groupby("clock").mean()
    out.insert(0, "rows", widths.groupby("clock").size())
    return out.reset_index()

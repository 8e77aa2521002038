"""Evaluate outcome models by match-grouped cross-validation, in one call.

:func:`evaluate` fits every model on the same match-grouped folds (:mod:`.cv`), scores the
out-of-fold predictions (:mod:`.metrics`) and builds the tables (:mod:`.tables`): overall, per
15-minute bin, per game state (level, one-goal, two+ margin, after a red card) and per
competition, each with the improvement over the scoreboard baseline fitted on the same folds.
:func:`with_priors` joins the pre-match priors onto a snapshot table.

The names of :mod:`.metrics`, :mod:`.cv`, :mod:`.tables` and :mod:`.figures` are re-exported
here, so ``from inplay.evaluation import evaluate`` then ``evaluate.log_loss`` (etc.) works.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from inplay.config import ConfigError
from inplay.evaluation.cv import (
    SPLITS,
    game_state,
    grouped_cv_predictions,
    match_folds,
    split_folds,
)
from inplay.evaluation.figures import reliability_figure
from inplay.evaluation.metrics import (
    METRICS,
    accuracy,
    brier,
    class_ece,
    ece,
    log_loss,
    reliability_table,
    rps,
    score,
)
from inplay.evaluation.tables import (
    BASELINE,
    calibration_table,
    clock_bins,
    metrics_by_bin,
    metrics_by_competition,
    metrics_by_group,
    metrics_by_state,
    metrics_table,
    paired_comparison,
)
from inplay.models import CLASSES, DEFAULT_MODELS, json_safe

__all__ = [
    "METRICS",
    "BASELINE",
    "DEFAULT_MODELS",
    "log_loss",
    "brier",
    "rps",
    "accuracy",
    "score",
    "read_snapshot_table",
    "match_folds",
    "grouped_cv_predictions",
    "metrics_table",
    "clock_bins",
    "metrics_by_bin",
    "paired_comparison",
    "SPLITS",
    "game_state",
    "split_folds",
    "metrics_by_group",
    "metrics_by_state",
    "metrics_by_competition",
    "ece",
    "class_ece",
    "reliability_table",
    "calibration_table",
    "reliability_figure",
    "EvaluationResult",
    "with_priors",
    "odds_comparison",
    "evaluate",
]


def read_snapshot_table(source: pd.DataFrame | str | Path) -> pd.DataFrame:
    """Return a snapshot frame from a DataFrame or a parquet/CSV path.

    Args:
        source: A DataFrame (returned as is) or a path to ``.parquet`` or ``.csv``.

    Returns:
        The snapshot frame.

    Raises:
        ConfigError: The path does not exist.
    """
    if isinstance(source, pd.DataFrame):
        return source
    path = Path(source)
    if not path.is_file():
        raise ConfigError(
            f"no snapshot table at {path}; build it first (e.g. `inplay dataset`) or pass "
            "--snapshots PATH"
        )
    if path.suffix == ".csv":
        return pd.read_csv(path)
    return pd.read_parquet(path)


@dataclass
class EvaluationResult:
    """Everything :func:`evaluate` measured.

    Attributes:
        oof: Out-of-fold predictions (:func:`grouped_cv_predictions`).
        overall: Overall metrics per model (:func:`metrics_table`) with the ``ece`` column.
        by_bin: Metrics per model and 15-minute bin (:func:`metrics_by_bin`).
        comparison: Log-loss difference from the baseline with match-level standard errors
            (:func:`paired_comparison`).
        settings: ``n_splits``, ``seed``, split, models, matches, rows and competitions.
        by_state: Metrics per model and game state (:func:`metrics_by_state`).
        by_competition: Metrics per model and competition (:func:`metrics_by_competition`).
        calibration: ECE per model (:func:`calibration_table`).
    """

    oof: pd.DataFrame
    overall: pd.DataFrame
    by_bin: pd.DataFrame
    comparison: pd.DataFrame = field(default_factory=pd.DataFrame)
    settings: dict[str, Any] = field(default_factory=dict)
    by_state: pd.DataFrame = field(default_factory=pd.DataFrame)
    by_competition: pd.DataFrame = field(default_factory=pd.DataFrame)
    calibration: pd.DataFrame = field(default_factory=pd.DataFrame)

    def metrics_for(self, model: str) -> dict[str, float]:
        """Return the overall metrics of one model as a dict (e.g. for a model card)."""
        row = self.overall[self.overall["model"] == model]
        if row.empty:
            raise ConfigError(f"model {model!r} was not evaluated")
        return {k: v for k, v in json_safe(row.iloc[0].to_dict()).items() if k != "model"}

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict of the settings and tables (not the per-row predictions)."""
        return json_safe(
            {
                "settings": self.settings,
                "classes": list(CLASSES),
                "overall": self.overall.to_dict(orient="records"),
                "by_bin": self.by_bin.to_dict(orient="records"),
                "by_state": self.by_state.to_dict(orient="records"),
                "by_competition": self.by_competition.to_dict(orient="records"),
                "calibration": self.calibration.to_dict(orient="records"),
                "comparison": self.comparison.to_dict(orient="records"),
            }
        )


def with_priors(df: pd.DataFrame, data_dir: Path | str | None = None) -> pd.DataFrame:
    """Join the pre-match priors (:mod:`inplay.data.ratings`) onto a snapshot table if possible.

    A table that already has ``elo_diff`` is returned as is. Otherwise the match lists of the
    StatsBomb folder (``data_dir``, default ``INPLAY_DATA_DIR``) give teams, dates and Elo
    ratings, and the odds folder (``INPLAY_ODDS_DIR`` or ``odds/`` beside it) closing odds.
    When the folder is missing or lists none of the table's matches, the table comes back
    unchanged (the models then run without a prior).

    Args:
        df: Snapshot rows with ``match_id``.
        data_dir: StatsBomb open-data folder.

    Returns:
        The table, with the prior columns when they could be found.
    """
    from inplay import config
    from inplay.data.ratings import attach_priors, match_priors
    from inplay.data.statsbomb import StatsBombData

    if "elo_diff" in df.columns:
        return df
    try:
        data = StatsBombData(data_dir if data_dir is not None else config.statsbomb_dir())
        priors = match_priors(data)
    except (ConfigError, OSError, ValueError):
        return df
    if not set(pd.unique(df["match_id"])) & set(priors["match_id"]):
        return df
    return attach_priors(df, priors)


def odds_comparison(
    df: pd.DataFrame,
    model_names: Sequence[str],
    n_splits: int = 5,
    seed: int = 0,
) -> pd.DataFrame:
    """Grouped-CV metrics on the matches that have closing odds, with the baseline.

    Every model (and the baseline) is fitted on the usual folds of *all* matches; only the
    rows of matches with ``odds_home`` are scored.

    Args:
        df: Snapshot rows with the prior columns (:func:`with_priors`).
        model_names: Models to compare.
        n_splits: Match-grouped folds.
        seed: Seed of the folds.

    Returns:
        :func:`metrics_table` plus ``ece`` on those matches; empty when no match has odds.
    """
    if "odds_home" not in df.columns or df["odds_home"].isna().all():
        return pd.DataFrame()
    names = list(dict.fromkeys([BASELINE, *model_names]))
    oof = grouped_cv_predictions(df, names, n_splits=n_splits, seed=seed)
    sub = oof[oof["match_id"].isin(set(df.loc[df["odds_home"].notna(), "match_id"]))]
    return metrics_table(sub).merge(calibration_table(sub)[["model", "ece"]], on="model")


def _matches_with_odds(data: pd.DataFrame) -> int:
    if "odds_home" not in data.columns:
        return 0
    return int(data.loc[data["odds_home"].notna(), "match_id"].nunique())


def _settings(
    data: pd.DataFrame,
    oof: pd.DataFrame,
    names: list[str],
    *,
    n_splits: int,
    seed: int,
    split: str,
    cutoff: str | None,
    bin_width: float,
) -> dict[str, Any]:
    """The :attr:`EvaluationResult.settings` of one :func:`evaluate` run."""
    return {
        "n_splits": n_splits if split == "match" else int(oof["fold"].nunique()),
        "split": split,
        "cutoff": cutoff,
        "seed": seed,
        "models": names,
        "baseline": BASELINE,
        "bin_width": bin_width,
        "n_matches": int(data["match_id"].nunique()),
        "n_test_matches": int(oof["match_id"].nunique()),
        "n_rows": len(data),
        "competitions": sorted(int(c) for c in pd.unique(data["competition_id"])),
        "priors": bool("elo_diff" in data.columns),
        "matches_with_odds": _matches_with_odds(data),
    }


def evaluate(
    df: pd.DataFrame | str | Path,
    model_names: Sequence[str] = DEFAULT_MODELS,
    n_splits: int = 5,
    seed: int = 0,
    bin_width: float = 15,
    split: str = "match",
    cutoff: str | None = None,
    priors: bool = True,
) -> EvaluationResult:
    """Cross-validation of several models on a snapshot table, split by match.

    Args:
        df: Snapshot rows, or a path to a parquet/CSV snapshot table.
        model_names: Registry names of the models to compare (the baseline is added when
            missing, so every model is compared with it on the same rows).
        n_splits: Number of match-grouped folds.
        seed: Seed of the fold assignment.
        bin_width: Width of the clock bins of :attr:`EvaluationResult.by_bin`.
        split: ``"match"`` (grouped K-fold), ``"competition"`` (leave one out) or ``"time"``.
        cutoff: First test date of the ``"time"`` split.
        priors: Join the pre-match priors when the table lacks them (:func:`with_priors`).

    Returns:
        The :class:`EvaluationResult`.
    """
    data = read_snapshot_table(df)
    if priors:
        data = with_priors(data)
    names = list(model_names)
    if BASELINE not in names:
        names.insert(0, BASELINE)
    oof = grouped_cv_predictions(
        data, names, n_splits=n_splits, seed=seed, split=split, cutoff=cutoff
    )
    settings = _settings(
        data,
        oof,
        names,
        n_splits=n_splits,
        seed=seed,
        split=split,
        cutoff=cutoff,
        bin_width=bin_width,
    )
    calibration = calibration_table(oof)
    overall = metrics_table(oof).merge(calibration[["model", "ece"]], on="model", how="left")
    return EvaluationResult(
        oof=oof,
        overall=overall,
        by_bin=metrics_by_bin(oof, width=bin_width),
        comparison=paired_comparison(oof),
        settings=settings,
        by_state=metrics_by_state(oof),
        by_competition=metrics_by_competition(oof),
        calibration=calibration,
    )

"""Evaluation that resembles new data: competitions weighted equally, calibration by phase, calm.

A model that is scored on a competition it has never seen (leave one competition out) or on
seasons after its training data (the time split) shows how it travels. The tables here read the
out-of-fold frame of :func:`inplay.evaluation.cv.grouped_cv_predictions`:

* :func:`travel_table`: log loss, Brier and RPS with every competition weighing the same
  (``weighting="competition"``), and calibration in both definitions, top-label ECE
  (:func:`~inplay.evaluation.metrics.top_label_ece`, 5 bins) and class-wise ECE
  (:func:`~inplay.evaluation.metrics.ece`, 10 bins), overall and by phase (:data:`PHASES`),
  beside the baselines;
* :func:`phase_reliability`: the data of the reliability diagram per phase;
* :func:`movement_table`: how far ``p_home`` moves per goal-free minute, by period of the match
  (:data:`MOVEMENT_PERIODS`), beside a reference model;
* :func:`held_out_evaluation`: all of it for a set of models, holding out competitions (or,
  with one competition, the later matches), as notebook 03 shows it;
* :func:`one_team_competitions`: competitions whose matches all involve one team (the La Liga
  part of StatsBomb's open data is Barcelona's matches only), to report them apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from inplay.evaluation.metrics import ROW_METRICS, ece, top_label_ece, top_label_reliability
from inplay.evaluation.tables import _add_relative
from inplay.models import PROB_COLUMNS, encode_result

__all__ = [
    "PHASES",
    "MOVEMENT_PERIODS",
    "TRAVEL_BASELINES",
    "phase_mask",
    "row_weights",
    "travel_table",
    "phase_reliability",
    "movement_table",
    "one_team_competitions",
    "HeldOutResult",
    "held_out_evaluation",
]

PHASES: dict[str, tuple[float, float]] = {
    "overall": (0.0, 90.0),
    "first_half": (0.0, 45.0),
    "second_half": (46.0, 90.0),
    "final_10pct": (81.0, 90.0),
}
"""Phases of a match by the snapshot minute (inclusive bounds): the whole match, the first half
(minutes 0-45), the second half (46-90) and its final 10 % (81-90), as in Robberechts, Van
Haaren & Davis (KDD 2021)."""

MOVEMENT_PERIODS: tuple[tuple[int, int], ...] = ((1, 15), (16, 45), (46, 75), (76, 90))
"""Periods of :func:`movement_table` (minutes, inclusive)."""

TRAVEL_BASELINES: tuple[str, ...] = ("scoreboard", "skellam")
"""The baselines every model of :func:`travel_table` is compared with."""


def phase_mask(clock: np.ndarray | pd.Series, phase: str) -> np.ndarray:
    """Rows of ``clock`` (snapshot minutes) that fall in ``phase`` (a key of :data:`PHASES`)."""
    lo, hi = PHASES[phase]
    c = np.asarray(clock, dtype=float)
    return (c >= lo) & (c <= hi)


def row_weights(frame: pd.DataFrame, weighting: str = "competition") -> np.ndarray:
    """Row weights with mean 1: equal per row, or equal in total per competition.

    Args:
        frame: Rows of one model with ``competition_id``.
        weighting: ``"row"`` or ``"competition"``.

    Returns:
        One weight per row.

    Raises:
        ValueError: Unknown ``weighting``.
    """
    if weighting == "row":
        return np.ones(len(frame))
    if weighting != "competition":
        raise ValueError(f"unknown weighting {weighting!r}; valid: row, competition")
    counts = frame.groupby("competition_id")["competition_id"].transform("size").to_numpy()
    w = 1.0 / counts
    return w * len(frame) / w.sum()


def _model_row(part: pd.DataFrame, weighting: str) -> dict[str, float]:
    codes = encode_result(part["result"].to_numpy())
    probs = part[list(PROB_COLUMNS)].to_numpy(dtype=float)
    w = row_weights(part, weighting)
    row: dict[str, float] = {
        "n_matches": int(part["match_id"].nunique()),
        "n_competitions": int(part["competition_id"].nunique()),
    }
    for metric in ("log_loss", "brier", "rps"):
        row[metric] = float(np.average(ROW_METRICS[metric](codes, probs), weights=w))
    for phase in PHASES:
        mask = phase_mask(part["clock"], phase)
        suffix = "" if phase == "overall" else f"_{phase}"
        if not mask.any():
            row[f"ece_top{suffix}"] = row[f"ece_class{suffix}"] = np.nan
            continue
        row[f"ece_top{suffix}"] = top_label_ece(codes[mask], probs[mask], 5, w[mask])
        row[f"ece_class{suffix}"] = ece(codes[mask], probs[mask], 10, w[mask])
    return row


def travel_table(
    oof: pd.DataFrame,
    weighting: str = "competition",
    baselines: Sequence[str] = TRAVEL_BASELINES,
) -> pd.DataFrame:
    """Scores of every model with competitions weighed equally, and ECE by phase.

    Args:
        oof: Out-of-fold predictions (``model``, ``match_id``, ``competition_id``, ``clock``,
            ``result`` and the probabilities).
        weighting: ``"competition"`` (each competition weighs the same) or ``"row"``.
        baselines: Models to compare with; each present one adds ``<metric>_vs_<name>_pct``
            for log loss, Brier and RPS (+ = the model's is that much lower).

    Returns:
        One row per model: ``model``, ``n_matches``, ``n_competitions``, ``log_loss``,
        ``brier``, ``rps``, ``ece_top``/``ece_class`` and ``ece_top_<phase>``/
        ``ece_class_<phase>`` for each phase, and the comparisons.
    """
    rows = [
        {"model": name, **_model_row(part, weighting)}
        for name, part in oof.groupby("model", sort=False)
    ]
    table = pd.DataFrame(rows)
    for base in baselines:
        table = _add_relative(table, [], base)
    return table


def phase_reliability(oof: pd.DataFrame, weighting: str = "competition") -> pd.DataFrame:
    """Top-label reliability diagram data per model and phase (5 equal-width bins).

    Returns:
        Rows of :func:`~inplay.evaluation.metrics.top_label_reliability` with ``model`` and
        ``phase`` added.
    """
    parts = []
    for name, part in oof.groupby("model", sort=False):
        w = row_weights(part, weighting)
        for phase in PHASES:
            mask = phase_mask(part["clock"], phase)
            if not mask.any():
                continue
            table = top_label_reliability(
                part["result"].to_numpy()[mask],
                part[list(PROB_COLUMNS)].to_numpy(dtype=float)[mask],
                5,
                w[mask],
            )
            parts.append(table.assign(model=name, phase=phase))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _minute_steps(part: pd.DataFrame) -> pd.DataFrame:
    """``clock`` and ``|Δ p_home|`` of every goal-free one-minute step of one model's rows."""
    ordered = part.sort_values(["match_id", "clock"])
    same_match = ordered["match_id"].eq(ordered["match_id"].shift())
    one_minute = ordered["clock"].diff().eq(1.0)
    no_goal = ordered["goals"].eq(ordered["goals"].shift())
    keep = (same_match & one_minute & no_goal).to_numpy()
    step = ordered["p_home"].diff().abs().to_numpy()
    return pd.DataFrame({"clock": ordered["clock"].to_numpy()[keep], "dp": step[keep]})


def movement_table(oof: pd.DataFrame, reference: str | None = "scoreboard_xg") -> pd.DataFrame:
    """Mean ``|Δ p_home|`` per goal-free minute, in percentage points, by period of the match.

    A step is the change of ``p_home`` from minute m-1 to minute m of one match when no goal
    was scored in between; the period is that of m (:data:`MOVEMENT_PERIODS`).

    Args:
        oof: Out-of-fold predictions with ``goals`` (regulation goals so far).
        reference: A model in ``oof`` to divide by (columns ``ratio_<a>_<b>``), or ``None``.

    Returns:
        One row per model: ``model``, ``dp_<a>_<b>`` for each period and, with a reference,
        ``ratio_<a>_<b>``.
    """
    rows = []
    for name, part in oof.groupby("model", sort=False):
        steps = _minute_steps(part)
        row: dict[str, float | str] = {"model": str(name)}
        for a, b in MOVEMENT_PERIODS:
            inside = steps["clock"].between(a, b)
            row[f"dp_{a}_{b}"] = 100.0 * float(steps.loc[inside, "dp"].mean())
        rows.append(row)
    table = pd.DataFrame(rows)
    if reference is not None and reference in set(table["model"]):
        ref = table.set_index("model").loc[reference]
        for a, b in MOVEMENT_PERIODS:
            table[f"ratio_{a}_{b}"] = table[f"dp_{a}_{b}"] / ref[f"dp_{a}_{b}"]
    return table


def one_team_competitions(df: pd.DataFrame) -> dict[int, str]:
    """Competitions in which one team plays every match, with that team.

    Args:
        df: Snapshot rows (or a match list) with ``competition_id``, ``match_id``,
            ``home_team`` and ``away_team``.

    Returns:
        ``{competition_id: team}`` for competitions with at least two matches, all involving
        the same team; empty without team columns.
    """
    if not {"home_team", "away_team", "competition_id", "match_id"} <= set(df.columns):
        return {}
    matches = df.drop_duplicates("match_id")
    out: dict[int, str] = {}
    for comp, part in matches.groupby("competition_id"):
        if len(part) < 2:
            continue
        teams = pd.concat([part["home_team"], part["away_team"]]).value_counts()
        if teams.iloc[0] == len(part):
            out[int(comp)] = str(teams.index[0])
    return out


@dataclass
class HeldOutResult:
    """What :func:`held_out_evaluation` found.

    Attributes:
        split: ``"competition"`` or ``"time"``.
        oof: The out-of-fold predictions.
        overall: :func:`travel_table` of ``oof``.
        reliability: :func:`phase_reliability` of ``oof``.
        movement: :func:`movement_table` of ``oof``.
    """

    split: str
    oof: pd.DataFrame
    overall: pd.DataFrame
    reliability: pd.DataFrame
    movement: pd.DataFrame


def held_out_evaluation(df: pd.DataFrame, model_names: Sequence[str]) -> HeldOutResult:
    """Score models on data they have not seen: whole competitions, else later matches.

    With two or more competitions each is held out in turn and weighs the same; with one, the
    models are fitted on the matches before the median date and scored on the rest.

    Args:
        df: Snapshot rows with priors (``match_date`` for the time split).
        model_names: Registry names; the baselines of :data:`TRAVEL_BASELINES` and
            ``scoreboard_xg`` (the yardstick of movement) are added when missing.

    Returns:
        A :class:`HeldOutResult`.
    """
    from inplay.evaluation.cv import grouped_cv_predictions

    names = list(model_names)
    for extra in (*TRAVEL_BASELINES, "scoreboard_xg"):
        if extra not in names:
            names.append(extra)
    split = "competition" if df["competition_id"].nunique() >= 2 else "time"
    oof = grouped_cv_predictions(df, names, split=split)
    weighting = "competition" if split == "competition" else "row"
    return HeldOutResult(
        split=split,
        oof=oof,
        overall=travel_table(oof, weighting),
        reliability=phase_reliability(oof, weighting),
        movement=movement_table(oof),
    )

"""P(advance) in knockout matches, out of fold, against the scoreboard baseline.

:func:`evaluate_advance` does the whole comparison: for every knockout match of the data
(:func:`inplay.models.advance.knockout_match_ids`) it turns each model's out-of-fold regulation
H/D/A probabilities (folds by match, :func:`inplay.evaluation.cv.split_folds`, the models
fitted on every other fold's matches, knockout or not) into P(home advances)
(:func:`inplay.models.advance.advance_column`) with extra-time and shoot-out parameters fitted
on the other folds' knockout matches. Rows: the regulation minute snapshots 0..90, extra-time
minutes 91..120 (:func:`extra_time_rows`) and one row before and after each shoot-out kick. In
extra time and the shoot-out the 1X2 model plays no part: those rows score the extra-time and
shoot-out parts alone (the same for every model). Data: StatsBomb Open Data.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from inplay.config import ConfigError
from inplay.data.statsbomb import Match, StatsBombData
from inplay.evaluation.cv import split_folds
from inplay.features import rules
from inplay.features.events import parse_timestamp, sort_events
from inplay.features.match_state import MatchState
from inplay.features.shootout import ShootoutTracker
from inplay.models import make_model
from inplay.models.advance import (
    SHOOTOUT_COLUMNS,
    AdvanceParams,
    advance_column,
    knockout_match_ids,
)

__all__ = [
    "AdvanceEvaluation",
    "knockout_table",
    "extra_time_rows",
    "binary_scores",
    "has_knockout_matches",
    "evaluate_advance",
]

_ET_LAST_MINUTE = 120
_EPS = 1e-6


def _period_minutes(events: list[dict]) -> dict[int, float]:
    """Length of each period in minutes: the timestamp of its last event."""
    out: dict[int, float] = {}
    for event in events:
        period = event.get("period")
        seconds = parse_timestamp(event.get("timestamp"))
        out[period] = max(out.get(period, 0.0), seconds / 60.0)
    return out


def _match_facts(match: Match, events: list[dict]) -> dict[str, Any]:
    """One row of :func:`knockout_table`."""
    state = MatchState(match.match_id, match.home_team, match.away_team)
    shootout = ShootoutTracker(match.home_team, match.away_team)
    for event in sort_events(events):
        state.apply(event)
        shootout.apply(event)
    f, so, length = state.features(), shootout.state, _period_minutes(events)
    row = {
        "match_id": match.match_id,
        "competition": match.competition,
        "season": match.season,
        "stage": match.competition_stage,
        "home_team": match.home_team,
        "away_team": match.away_team,
        "reg_home_goals": f["reg_home_goals"],
        "reg_away_goals": f["reg_away_goals"],
        "reg_minutes": length.get(1, 0.0) + length.get(2, 0.0),
        "et": 3 in length,
        "et_home_goals": f["home_goals"] - f["reg_home_goals"],
        "et_away_goals": f["away_goals"] - f["reg_away_goals"],
        "et_first_minutes": length.get(3, 0.0),
        "et_second_minutes": length.get(4, 0.0),
        "shootout": so.kicks > 0,
        **dict(
            zip(
                SHOOTOUT_COLUMNS,
                (so.home_taken, so.home_scored, so.away_taken, so.away_scored),
                strict=True,
            )
        ),
        "home_first": so.home_first,
    }
    diff = f["home_goals"] - f["away_goals"]
    row["home_advanced"] = int(diff > 0 or (diff == 0 and so.home_scored > so.away_scored))
    return row


def knockout_table(data: StatsBombData, matches: Iterable[Match] | None = None) -> pd.DataFrame:
    """One row per knockout match: regulation, extra-time and shoot-out facts and the winner.

    Columns: ``match_id``, ``competition``, ``season``, ``stage``, teams, regulation goals and
    minutes played (``reg_minutes``, each period's last event), ``et`` (went to extra time),
    extra-time goals and the length of each extra-time half, ``shootout``, the kicks
    (:data:`~inplay.models.advance.SHOOTOUT_COLUMNS`), ``home_first`` and ``home_advanced``
    (1/0). The input of :meth:`AdvanceParams.fit`.
    """
    matches = list(data.matches() if matches is None else matches)
    ids = knockout_match_ids(matches)
    rows = [_match_facts(m, data.events(m.match_id)) for m in matches if m.match_id in ids]
    return pd.DataFrame(rows)


def _et_cutoff(minute: int) -> tuple[int, float]:
    """The last (period, seconds) in the extra-time snapshot of ``minute`` (91..120)."""
    return (3, (minute - 90) * 60.0) if minute <= 105 else (4, (minute - 105) * 60.0)


def _et_row(state: MatchState, tracker: ShootoutTracker, minute: float, key: tuple) -> dict:
    """A snapshot row: the score of ``state`` at (period, seconds) ``key``, the kicks so far."""
    so = tracker.state
    counts = (so.home_taken, so.home_scored, so.away_taken, so.away_scored)
    return {
        "match_id": state.match_id,
        "minute": minute,
        "period": key[0],
        "elapsed_seconds": rules.elapsed_seconds(key[0], key[1]),
        "home_goals": state.features()["home_goals"],
        "away_goals": state.features()["away_goals"],
        **dict(zip(SHOOTOUT_COLUMNS, counts, strict=True)),
    }


def extra_time_rows(events: Iterable[dict], match: Match) -> list[dict[str, Any]]:
    """Snapshots of a match that went to extra time: minutes 91..120, then the shoot-out.

    The extra-time minute ``m`` holds every event up to 3:(m - 90):00 of period 3 (m <= 105)
    or 4:(m - 105):00 of period 4, as the regulation minutes do. A shoot-out adds a row before
    the first kick and one after each kick (``minute`` NaN, period 5). Empty for a match
    without extra time.
    """
    state = MatchState(match.match_id, match.home_team, match.away_team)
    tracker = ShootoutTracker(match.home_team, match.away_team)
    rows: list[dict[str, Any]] = []
    minute = 91
    for event in sort_events(events):
        key = (event["period"], parse_timestamp(event.get("timestamp")))
        while minute <= _ET_LAST_MINUTE and key[0] >= 3 and _et_cutoff(minute) < key:
            rows.append(_et_row(state, tracker, minute, _et_cutoff(minute)))
            minute += 1
        if key[0] == rules.SHOOTOUT_PERIOD and tracker.state.kicks == 0 and minute > 91:
            if rows[-1]["period"] != rules.SHOOTOUT_PERIOD:
                rows.append(_et_row(state, tracker, np.nan, (5, 0.0)))
        state.apply(event)
        if tracker.apply(event):
            rows.append(_et_row(state, tracker, np.nan, key))
    if minute == 91:
        return []  # no extra time
    while minute <= _ET_LAST_MINUTE:  # extra time's last events came before a minute's cutoff
        rows.append(_et_row(state, tracker, minute, _et_cutoff(minute)))
        minute += 1
    return rows


def binary_scores(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> dict[str, float]:
    """Log loss, Brier and expected calibration error (equal-width bins) of P(y = 1)."""
    y, p = np.asarray(y, dtype=float), np.clip(np.asarray(p, dtype=float), _EPS, 1 - _EPS)
    idx = np.minimum((p * n_bins).astype(int), n_bins - 1)
    n = np.bincount(idx, minlength=n_bins)
    gap = np.abs(np.bincount(idx, p, n_bins) - np.bincount(idx, y, n_bins))
    return {
        "log_loss": float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))),
        "brier": float(np.mean((p - y) ** 2)),
        "ece": float(gap.sum() / max(n.sum(), 1)),
    }


@dataclass
class AdvanceEvaluation:
    """What :func:`evaluate_advance` measured (every frame credits StatsBomb Open Data).

    Attributes:
        matches: :func:`knockout_table` (one row per knockout match).
        params: The parameters fitted on every knockout match (one row) and per fold.
        rows: Every scored row: ``match_id``, ``model``, ``phase`` (regulation, extra_time,
            shootout), ``minute``, ``p_advance``, ``home_advanced``.
        summary: Per model and phase: rows, matches, log loss, Brier, ECE.
        by_minute: Per model and minute (0..120): rows, log loss, Brier.
        calibration: Per model, regulation rows, 10 bins: ``mean_p``, ``observed``, ``n_rows``.
    """

    matches: pd.DataFrame
    params: pd.DataFrame
    rows: pd.DataFrame
    summary: pd.DataFrame
    by_minute: pd.DataFrame
    calibration: pd.DataFrame


def _fold_params(table: pd.DataFrame, k: int, prior_minutes: float) -> AdvanceParams:
    """Parameters fitted on the knockout matches outside fold ``k``."""
    return AdvanceParams.fit(table[table["fold"] != k], prior_minutes)


def _extra_rows(data: StatsBombData, table: pd.DataFrame) -> pd.DataFrame:
    """:func:`extra_time_rows` of every knockout match that went to extra time."""
    by_id = {m.match_id: m for m in data.matches()}
    rows: list[dict[str, Any]] = []
    for match_id in table.loc[table["et"].astype(bool), "match_id"]:
        rows.extend(extra_time_rows(data.events(int(match_id)), by_id[int(match_id)]))
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["phase"] = np.where(frame["period"] >= rules.SHOOTOUT_PERIOD, "shootout", "extra_time")
    return frame


def _scored_part(rows: pd.DataFrame, p: np.ndarray, model: str) -> pd.DataFrame:
    """The columns of :attr:`AdvanceEvaluation.rows` for ``rows`` scored ``p`` by ``model``."""
    out = rows[["match_id", "phase", "minute"]].copy()
    out["model"] = model
    out["p_advance"] = p
    return out


def _fold_rows(
    snapshots: pd.DataFrame,
    fold: np.ndarray,
    k: int,
    parts: tuple[pd.DataFrame, pd.DataFrame],
    params: AdvanceParams,
    model_names: Sequence[str],
) -> list[pd.DataFrame]:
    """Scored rows of fold ``k``: each model's regulation rows, then extra time (model-free)."""
    reg, extra = parts
    out = []
    for name in model_names:
        if not reg.empty:
            model = make_model(name).fit(snapshots.loc[fold != k])
            p = advance_column(reg, model.predict_proba(reg), params, knockout=True)
            out.append(_scored_part(reg, p, name))
        if not extra.empty:
            p = advance_column(extra, np.full((len(extra), 3), np.nan), params, knockout=True)
            out.append(_scored_part(extra, p, name))
    return out


def _summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Per model and phase (and all phases): rows, matches, log loss, Brier, ECE."""
    records = []
    every = rows.assign(phase="all")
    for (model, phase), g in pd.concat([rows, every]).groupby(["model", "phase"], sort=False):
        scores = binary_scores(g["home_advanced"], g["p_advance"])
        records.append(
            {"model": model, "phase": phase, "rows": len(g), "matches": g["match_id"].nunique()}
            | scores
        )
    return pd.DataFrame(records)


def _by_minute(rows: pd.DataFrame) -> pd.DataFrame:
    """Per model and minute: rows, log loss, Brier."""
    records = []
    for (model, minute), g in rows.dropna(subset=["minute"]).groupby(["model", "minute"]):
        scores = binary_scores(g["home_advanced"], g["p_advance"])
        records.append(
            {"model": model, "minute": int(minute), "rows": len(g)}
            | {k: scores[k] for k in ("log_loss", "brier")}
        )
    return pd.DataFrame(records)


def _calibration(rows: pd.DataFrame, n_bins: int = 10) -> pd.DataFrame:
    """Reliability of P(advance) in regulation rows, per model and equal-width bin."""
    reg = rows[rows["phase"] == "regulation"]
    b = np.minimum((reg["p_advance"] * n_bins).astype(int), n_bins - 1)
    grouped = reg.assign(bin=b).groupby(["model", "bin"])
    return grouped.agg(
        mean_p=("p_advance", "mean"),
        observed=("home_advanced", "mean"),
        n_rows=("p_advance", "size"),
    ).reset_index()


def has_knockout_matches(snapshots: pd.DataFrame, data: StatsBombData) -> bool:
    """Whether any match of ``snapshots`` is a knockout match (:func:`evaluate_advance` needs one).

    A league's data (or a selection of group matches) has none: the notebook then says so.
    """
    knockouts = knockout_match_ids(data.matches())
    return bool(snapshots["match_id"].isin(knockouts).any())


def evaluate_advance(
    snapshots: pd.DataFrame,
    data: StatsBombData,
    model_names: Sequence[str] = ("goal_rate", "scoreboard"),
    n_splits: int = 5,
    seed: int = 0,
    prior_minutes: float = 240.0,
    table: pd.DataFrame | None = None,
) -> AdvanceEvaluation:
    """P(advance) of each model on every knockout match, out of fold.

    Args:
        snapshots: Minute snapshots of every match (the models' training rows: ``match_id``,
            ``clock``, ``period``, goals, ``result``, the priors if the models use them);
            those of knockout matches are scored.
        data: The StatsBomb folder the snapshots were built from (stages, events).
        model_names: Registry names; ``scoreboard`` is the baseline.
        n_splits: Folds (by match, as :func:`~inplay.evaluation.cv.split_folds`).
        seed: Seed of the folds.
        prior_minutes: See :meth:`AdvanceParams.fit`.
        table: :func:`knockout_table` of ``data`` if already built.

    Raises:
        ConfigError: no knockout match of ``data`` is in ``snapshots``.
    """
    snapshots = snapshots.reset_index(drop=True)
    table = knockout_table(data) if table is None else table
    fold = split_folds(snapshots, "match", n_splits=n_splits, seed=seed)
    fold_of = pd.Series(fold, index=snapshots["match_id"]).groupby(level=0).first()
    table = table[table["match_id"].isin(fold_of.index)].assign(
        fold=lambda t: t["match_id"].map(fold_of)
    )
    if table.empty:
        raise ConfigError("no knockout match of the data is in the snapshot table")
    reg = snapshots[snapshots["match_id"].isin(table["match_id"])].assign(
        phase="regulation", minute=lambda r: r["clock"]
    )
    extra = _extra_rows(data, table)
    parts, fitted = [], []
    for k in sorted(table["fold"].unique()):
        params = _fold_params(table, k, prior_minutes)
        fitted.append({"fold": int(k)} | vars(params))
        here = (reg[reg["match_id"].map(fold_of) == k], _in_fold(extra, fold_of, k))
        parts.extend(_fold_rows(snapshots, fold, k, here, params, model_names))
    rows = pd.concat(parts, ignore_index=True)
    rows["home_advanced"] = rows["match_id"].map(table.set_index("match_id")["home_advanced"])
    whole = {"fold": -1} | vars(AdvanceParams.fit(table, prior_minutes))
    return AdvanceEvaluation(
        matches=table,
        params=pd.DataFrame([whole, *fitted]),
        rows=rows,
        summary=_summary(rows),
        by_minute=_by_minute(rows),
        calibration=_calibration(rows),
    )


def _in_fold(extra: pd.DataFrame, fold_of: pd.Series, k: int) -> pd.DataFrame:
    """The extra-time rows of the matches of fold ``k``."""
    if extra.empty:
        return extra
    return extra[extra["match_id"].map(fold_of) == k]

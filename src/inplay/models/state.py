"""The numeric match state the models read, and the pre-match prior learned from training rows.

:func:`prepare_snapshots` turns snapshot rows (a full snapshot table or live prediction
requests) into the float columns every model's design is built from. The Elo helpers rebuild
the pre-match prior from the training matches themselves when a table lacks ``elo_diff``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from inplay.config import ConfigError
from inplay.data.ratings import ODDS_COLUMNS, EloRatings, demargin

__all__ = [
    "prepare_snapshots",
    "prepare_columns",
    "float_column",
    "match_results",
    "train_ratings",
    "pre_match_elo",
]


class _Columns:
    """Float columns read from snapshot rows: a DataFrame, or a mapping of 1-D arrays.

    A frame's columns are read with ``pd.to_numeric(errors="coerce")`` (text becomes NaN); a
    mapping's with ``np.asarray(dtype=float)`` (its columns must be numeric; None becomes NaN).
    """

    def __init__(self, rows: pd.DataFrame | Mapping[str, Any]) -> None:
        self.rows = rows
        self.frame = isinstance(rows, pd.DataFrame)
        self.names = set(rows.columns) if self.frame else set(rows)
        self.n = len(rows) if self.frame else _length(rows)

    def __contains__(self, name: str) -> bool:
        return name in self.names

    def get(self, name: str, default: np.ndarray | float) -> np.ndarray:
        """Column ``name`` as floats, or ``default`` (broadcast to the rows) when absent."""
        if name not in self.names:
            return np.broadcast_to(np.asarray(default, dtype=float), (self.n,)).copy()
        if self.frame:
            return pd.to_numeric(self.rows[name], errors="coerce").astype(float).to_numpy()
        return np.asarray(self.rows[name], dtype=float)


def _length(columns: Mapping[str, Any]) -> int:
    """The number of rows of a mapping of equally long 1-D columns (0 without columns)."""
    return len(next(iter(columns.values()))) if columns else 0


def float_column(rows: pd.DataFrame | Mapping[str, Any], name: str) -> np.ndarray | None:
    """Column ``name`` of snapshot rows (a frame or a mapping of 1-D arrays) as floats.

    Returns:
        The column as a float array (text becomes NaN in a frame), or None when absent.
    """
    src = _Columns(rows)
    return src.get(name, np.nan) if name in src else None


def _fill(x: np.ndarray, value: float) -> np.ndarray:
    """``x`` with NaN replaced by ``value``."""
    return np.where(np.isnan(x), value, x)


def _require_columns(src: _Columns) -> None:
    """Raise :class:`ConfigError` unless the rows have a clock and goal columns."""
    if "clock" not in src and "current_minute" not in src:
        raise ConfigError("snapshot rows need a 'clock' or a 'current_minute' column")
    if not ("reg_home_goals" in src and "reg_away_goals" in src) and not (
        "home_goals" in src and "away_goals" in src
    ):
        raise ConfigError(
            "snapshot rows need 'reg_home_goals'/'reg_away_goals' or 'home_goals'/'away_goals'"
        )


def _side_diff(src: _Columns, stat: str) -> np.ndarray:
    """Home minus away of ``home_<stat>``/``away_<stat>`` (0 where absent)."""
    return _fill(src.get(f"home_{stat}", 0.0) - src.get(f"away_{stat}", 0.0), 0.0)


def _state_columns(src: _Columns) -> dict[str, np.ndarray]:
    """The clock, score and match-statistics columns of :func:`prepare_snapshots`."""
    minute = src.get("current_minute", 0.0)
    clock = np.clip(_fill(src.get("clock", np.clip(minute, 0.0, 90.0)), 0.0), 0.0, 90.0)
    period = src.get("period", np.where(minute < 45, 1.0, 2.0))
    home = src.get("reg_home_goals", src.get("home_goals", 0.0))
    away = src.get("reg_away_goals", src.get("away_goals", 0.0))
    hp = _fill(src.get("home_possession", 50.0), 50.0)
    ap = _fill(src.get("away_possession", 100.0 - hp), 50.0)
    total = hp + ap
    total = np.where(total > 0, total, 100.0)
    columns = {
        "period": _fill(period, 1.0),
        "clock": clock,
        "t": clock / 90.0,
        "gd": _fill(home - away, 0.0),
        "red_diff": _side_diff(src, "red_cards"),
        "xg_diff": _side_diff(src, "xg"),
        "sot_diff": _side_diff(src, "shots_on_target"),
        "shots_diff": _side_diff(src, "shots"),
        "poss_diff": _fill((hp - ap) / total, 0.0),
        "hg": _fill(home, 0.0),
        "ag": _fill(away, 0.0),
    }
    for short, stat in (("red", "red_cards"), ("xg", "xg"), ("sot", "shots_on_target")):
        columns[f"h_{short}"] = _fill(src.get(f"home_{stat}", 0.0), 0.0)
        columns[f"a_{short}"] = _fill(src.get(f"away_{stat}", 0.0), 0.0)
    return columns


def _add_prior(out: dict[str, np.ndarray], src: _Columns) -> dict[str, np.ndarray]:
    """Add the pre-match prior columns of :func:`prepare_snapshots` to ``out`` (in place).

    The prior (see :mod:`inplay.data.ratings`) is the Elo difference in units of 400 points,
    and the de-margined closing odds as ``log(p_home / p_away)`` where known.
    """
    elo = src.get("elo_diff", np.nan)
    out["has_elo"] = (~np.isnan(elo)).astype(float)
    out["neutral"] = np.clip(_fill(src.get("neutral", 0.0), 0.0), 0.0, 1.0)
    out["elo"] = _fill(np.clip(elo / 400.0, -3.0, 3.0), 0.0)
    if all(c in src for c in ODDS_COLUMNS):
        probs = demargin(np.column_stack([src.get(c, np.nan) for c in ODDS_COLUMNS]))
    else:
        probs = np.full((src.n, 3), np.nan)
    has_odds = np.all(np.isfinite(probs), axis=1)
    safe = np.where(has_odds[:, None], probs, 1.0 / 3.0)
    out["has_odds"] = has_odds.astype(float)
    out["odds_logit"] = np.log(safe[:, 0] / safe[:, 2])
    out["odds_draw"] = np.where(has_odds, safe[:, 1], 0.0)
    return out


def prepare_columns(rows: pd.DataFrame | Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The columns of :func:`prepare_snapshots` as a dict of 1-D float arrays.

    The one implementation behind the DataFrame path (:func:`prepare_snapshots`) and the
    numpy path of live scoring (:meth:`inplay.models.base.OutcomeModel.predict_proba_arrays`).

    Args:
        rows: Snapshot rows: a DataFrame, or a mapping of column name to a 1-D numeric array
            (team names may be there too; they are not read).

    Raises:
        ConfigError: Neither ``clock`` nor ``current_minute`` is present, or no goal columns.
    """
    src = _Columns(rows)
    _require_columns(src)
    return _add_prior(_state_columns(src), src)


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
        the prior: ``elo`` (``elo_diff / 400``, 0 when absent), ``has_elo``, ``neutral`` (1 at
        a neutral venue, 0 when absent), ``has_odds``,
        ``odds_logit`` (log of the de-margined home over away probability, 0 without odds)
        and ``odds_draw`` (de-margined draw probability, 0 without odds).

    Raises:
        ConfigError: Neither ``clock`` nor ``current_minute`` is present, or no goal columns.
    """
    return pd.DataFrame(prepare_columns(df), index=df.index)


def match_results(df: pd.DataFrame) -> pd.DataFrame | None:
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


def train_ratings(df: pd.DataFrame) -> EloRatings | None:
    """Elo ratings after every training match (date order), for live rows that name teams."""
    matches = match_results(df)
    if matches is None:
        return None
    elo = EloRatings()
    elo.run(matches)
    return elo


def pre_match_elo(df: pd.DataFrame) -> pd.Series:
    """Pre-match Elo difference of each row's match, from the earlier matches of ``df``."""
    matches = match_results(df)
    if matches is None:
        return pd.Series(np.nan, index=df.index)
    rated = EloRatings().run(matches).set_index("match_id")["elo_diff"]
    return df["match_id"].map(rated).astype(float)

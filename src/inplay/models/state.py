"""The numeric match state the models read, and the pre-match prior learned from training rows.

:func:`prepare_snapshots` turns snapshot rows (a full snapshot table or live prediction
requests) into the float columns every model's design is built from. The Elo helpers rebuild
the pre-match prior from the training matches themselves when a table lacks ``elo_diff``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from inplay.config import ConfigError
from inplay.data.ratings import ODDS_COLUMNS, EloRatings, demargin

__all__ = ["prepare_snapshots", "match_results", "train_ratings", "pre_match_elo"]


def _column(df: pd.DataFrame, name: str, default: pd.Series | float) -> pd.Series:
    """Return ``df[name]`` as floats, or ``default`` when the column is absent."""
    if name in df.columns:
        return pd.to_numeric(df[name], errors="coerce").astype(float)
    if isinstance(default, pd.Series):
        return default.astype(float)
    return pd.Series(float(default), index=df.index)


def _require_columns(df: pd.DataFrame) -> None:
    """Raise :class:`ConfigError` unless ``df`` has a clock and goal columns."""
    if "clock" not in df.columns and "current_minute" not in df.columns:
        raise ConfigError("snapshot rows need a 'clock' or a 'current_minute' column")
    if not ({"reg_home_goals", "reg_away_goals"} <= set(df.columns)) and not (
        {"home_goals", "away_goals"} <= set(df.columns)
    ):
        raise ConfigError(
            "snapshot rows need 'reg_home_goals'/'reg_away_goals' or 'home_goals'/'away_goals'"
        )


def _side_diff(df: pd.DataFrame, stat: str) -> pd.Series:
    """Home minus away of ``home_<stat>``/``away_<stat>`` (0 where absent)."""
    return (_column(df, f"home_{stat}", 0.0) - _column(df, f"away_{stat}", 0.0)).fillna(0.0)


def _state_columns(df: pd.DataFrame) -> pd.DataFrame:
    """The clock, score and match-statistics columns of :func:`prepare_snapshots`."""
    minute = _column(df, "current_minute", 0.0)
    clock = _column(df, "clock", minute.clip(0.0, 90.0)).fillna(0.0).clip(0.0, 90.0)
    period = _column(df, "period", pd.Series(np.where(minute < 45, 1.0, 2.0), index=df.index))
    home = _column(df, "reg_home_goals", _column(df, "home_goals", 0.0))
    away = _column(df, "reg_away_goals", _column(df, "away_goals", 0.0))
    hp = _column(df, "home_possession", 50.0).fillna(50.0)
    ap = _column(df, "away_possession", 100.0 - hp).fillna(50.0)
    total = (hp + ap).where(lambda s: s > 0, 100.0)
    columns = {
        "period": period.fillna(1.0),
        "clock": clock,
        "t": clock / 90.0,
        "gd": (home - away).fillna(0.0),
        "red_diff": _side_diff(df, "red_cards"),
        "xg_diff": _side_diff(df, "xg"),
        "sot_diff": _side_diff(df, "shots_on_target"),
        "shots_diff": _side_diff(df, "shots"),
        "poss_diff": ((hp - ap) / total).fillna(0.0),
        "hg": home.fillna(0.0),
        "ag": away.fillna(0.0),
    }
    for short, stat in (("red", "red_cards"), ("xg", "xg"), ("sot", "shots_on_target")):
        columns[f"h_{short}"] = _column(df, f"home_{stat}", 0.0).fillna(0.0)
        columns[f"a_{short}"] = _column(df, f"away_{stat}", 0.0).fillna(0.0)
    return pd.DataFrame(columns, index=df.index)


def _add_prior(out: pd.DataFrame, df: pd.DataFrame) -> pd.DataFrame:
    """Add the pre-match prior columns of :func:`prepare_snapshots` to ``out`` (in place).

    The prior (see :mod:`inplay.data.ratings`) is the Elo difference in units of 400 points,
    and the de-margined closing odds as ``log(p_home / p_away)`` where known.
    """
    elo = _column(df, "elo_diff", np.nan)
    out["has_elo"] = elo.notna().astype(float)
    out["neutral"] = _column(df, "neutral", 0.0).fillna(0.0).clip(0.0, 1.0)
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
    _require_columns(df)
    return _add_prior(_state_columns(df), df)


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

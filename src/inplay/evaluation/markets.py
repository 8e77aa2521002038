"""Out-of-fold evaluation of the goal markets: the goal-rate model beside a score-and-clock one.

:func:`evaluate_markets` splits the snapshot rows by match (:func:`~inplay.evaluation.cv.
split_folds`, the folds of the 1X2 evaluation), fits every goal-count model and the
:class:`~inplay.models.markets.ScoreClockBaseline` on the other folds, and scores the markets
of :mod:`inplay.models.markets` on each held-out regulation row:

* ``over_1_5``, ``over_2_5``, ``over_3_5``, ``btts``: binary log loss, Brier (mean
  ``(p - o)^2``) and calibration error (ECE over 10 equal-width bins of ``p``);
* ``next_goal`` (home / none / away): the 3-class log loss, Brier and class-wise ECE of
  :mod:`.metrics`;
* ``exact_score``: the log loss of the final-score grid, and its Brier over the grid's cells.

Labels (:func:`market_outcomes`): the final regulation score of a match is the one its rows
carry (``reg_final_*``: after every event of periods 1-2, stoppage time included, as its
``result``); the next goal after a row is the side whose count rises first in a later snapshot
of the match or, after the last one, in that final score (``none`` if neither does). When both
sides' counts rise between two consecutive snapshots the order is unknown: those rows have no
next-goal label and are left out of that market only. Extra-time rows are not
scored (their regulation markets are decided).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from inplay.config import ConfigError
from inplay.evaluation.cv import split_folds
from inplay.evaluation.metrics import brier, class_ece, log_loss, reliability_table
from inplay.models import make_model
from inplay.models.goal_rate import GoalRateModel
from inplay.models.markets import (
    OVER_LINES,
    ScoreClockBaseline,
    market_frame,
)
from inplay.models.state import prepare_snapshots

__all__ = [
    "MARKETS",
    "BINARY_MARKETS",
    "NEXT_GOAL_OUTCOMES",
    "MarketEvaluation",
    "market_outcomes",
    "market_predictions",
    "market_scores",
    "market_table",
    "market_reliability",
    "evaluate_markets",
]

BINARY_MARKETS: dict[str, str] = {
    "over_1_5": "p_over_1_5",
    "over_2_5": "p_over_2_5",
    "over_3_5": "p_over_3_5",
    "btts": "p_btts",
}
"""Binary market name -> its probability column."""
MARKETS: tuple[str, ...] = (*BINARY_MARKETS, "next_goal", "exact_score")
"""Markets scored, in table order."""
NEXT_GOAL_OUTCOMES: tuple[str, str, str] = ("home", "none", "away")
"""Next-goal outcomes, in the order of the codes 0, 1, 2 and the ``p_next_*`` columns."""
_NEXT_COLUMNS = ["p_next_home", "p_next_none", "p_next_away"]
_LOG_EPS = 1e-15


def _next_goal_codes(match: np.ndarray, hg: np.ndarray, ag: np.ndarray) -> np.ndarray:
    """Next-goal code of rows sorted by match and clock: 0 home, 1 none, 2 away, -1 unknown."""
    n = len(match)
    same = np.r_[False, match[1:] == match[:-1]]
    rise = same & (np.r_[0, np.diff(hg + ag)] > 0)
    change = np.flatnonzero(rise)
    nxt = np.searchsorted(change, np.arange(n), side="right")
    code = np.ones(n, dtype=int)
    has = nxt < len(change)
    c = change[np.minimum(nxt, max(len(change) - 1, 0))] if len(change) else np.zeros(n, int)
    has &= match[c] == match
    dh, da = hg[c] - hg[c - 1], ag[c] - ag[c - 1]
    code[has & (dh > 0) & (da == 0)] = 0
    code[has & (da > 0) & (dh == 0)] = 2
    code[has & (dh > 0) & (da > 0)] = -1
    return code


def market_outcomes(df: pd.DataFrame) -> pd.DataFrame:
    """What happened after each snapshot row, for every market.

    Args:
        df: Snapshot rows with ``match_id`` and ``clock`` (any order).

    Returns:
        A frame indexed like ``df``: ``final_home``, ``final_away`` (the final regulation
        score: ``reg_final_home_goals`` / ``reg_final_away_goals`` when the rows carry them,
        stoppage time included; else the match's last regulation row), ``over_1_5``,
        ``over_2_5``, ``over_3_5``, ``btts`` (0/1) and
        ``next_goal`` (0 home, 1 none, 2 away, -1 unknown order; see the module notes).
    """
    state = prepare_snapshots(df)
    reg = (state["period"] <= 2).to_numpy()
    goals = pd.DataFrame(
        {"match_id": df["match_id"].to_numpy(), "hg": state["hg"], "ag": state["ag"]},
        index=df.index,
    )
    final = _final_scores(df, goals, reg)
    out = pd.DataFrame(index=df.index)
    out["final_home"] = goals["match_id"].map(final["hg"]).fillna(goals["hg"]).astype(int)
    out["final_away"] = goals["match_id"].map(final["ag"]).fillna(goals["ag"]).astype(int)
    total = out["final_home"] + out["final_away"]
    for line in OVER_LINES:
        out[f"over_{line:.1f}".replace(".", "_")] = (total > line).astype(int)
    out["btts"] = ((out["final_home"] > 0) & (out["final_away"] > 0)).astype(int)
    out["next_goal"] = 1  # after regulation: no regulation goal to come
    rows = goals[reg]
    # Each match's final score as a last row after its snapshots: a goal after the last
    # snapshot (stoppage time) is the next goal of the rows before it.
    ids = np.r_[rows["match_id"].to_numpy(), final.index.to_numpy()]
    clock = np.r_[state.loc[reg, "clock"].to_numpy(dtype=float), np.full(len(final), np.inf)]
    hg = np.r_[rows["hg"].to_numpy(dtype=int), final["hg"].to_numpy(dtype=int)]
    ag = np.r_[rows["ag"].to_numpy(dtype=int), final["ag"].to_numpy(dtype=int)]
    order = np.lexsort((clock, ids))
    codes = np.empty(len(ids), dtype=int)
    codes[order] = _next_goal_codes(ids[order], hg[order], ag[order])
    out.loc[reg, "next_goal"] = codes[: len(rows)]
    return out


def _final_scores(df: pd.DataFrame, goals: pd.DataFrame, reg: np.ndarray) -> pd.DataFrame:
    """Final regulation score (``hg``, ``ag``) of each match, indexed by match id."""
    columns = ["reg_final_home_goals", "reg_final_away_goals"]
    if set(columns) <= set(df.columns) and df[columns].notna().all().all():
        given = df.loc[reg, ["match_id", *columns]].groupby("match_id")[columns].first()
        return given.set_axis(["hg", "ag"], axis=1).astype(int)
    return goals[reg].groupby("match_id")[["hg", "ag"]].max()


def _exact_scores(grid: np.ndarray, home: np.ndarray, away: np.ndarray) -> pd.DataFrame:
    """Probability of the final score and the grid's Brier score, per row."""
    top = grid.shape[1] - 1
    p = grid[np.arange(len(home)), np.minimum(home, top), np.minimum(away, top)]
    sq = (grid**2).sum(axis=(1, 2))
    return pd.DataFrame({"p_exact": p, "exact_brier": sq - 2.0 * p + 1.0})


def _fit_market_model(name: str, train: pd.DataFrame) -> Any:
    """A goal-count model fitted on ``train``: the baseline or a goal-rate registry model.

    The goal-rate models' calibrator corrects only H/D/A (never the score grid), so it is
    switched off here to save its inner fits.
    """
    if name == ScoreClockBaseline.name:
        return ScoreClockBaseline().fit(train)
    model = make_model(name)
    if not isinstance(model, GoalRateModel):
        raise ConfigError(f"model {name!r} has no score distribution (use a goal-rate model)")
    model.calibrate = False  # type: ignore[misc]
    return model.fit(train)


def _fold_predictions(model: Any, test: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Markets and exact-score columns of one fitted model on a fold's test rows."""
    grid = model.score_distribution(test)
    lam_home, lam_away = model.remaining_rates(test)
    frame = market_frame(grid, lam_home, lam_away, index=test.index)
    exact = _exact_scores(
        grid, labels["final_home"].to_numpy(), labels["final_away"].to_numpy()
    ).set_index(test.index)
    return pd.concat([frame, exact], axis=1)


def market_predictions(
    df: pd.DataFrame,
    model_names: Sequence[str] = ("goal_rate",),
    n_splits: int = 5,
    seed: int = 0,
    split: str = "match",
    cutoff: str | None = None,
) -> pd.DataFrame:
    """Out-of-fold market probabilities of each model and the baseline, with the outcomes.

    Args:
        df: Snapshot rows with ``match_id``, ``clock`` and ``result`` (plus the prior
            columns of :func:`inplay.data.ratings.attach_priors` for the goal-rate models).
        model_names: Goal-rate registry names (``goal_rate``, ``goal_rate_odds``, ``skellam``);
            :class:`~inplay.models.markets.ScoreClockBaseline` is always added first.
        n_splits: Folds of the ``"match"`` split.
        seed: Seed of the folds.
        split: ``"match"``, ``"competition"`` or ``"time"`` (:func:`split_folds`).
        cutoff: First test date of the ``"time"`` split.

    Returns:
        One row per held-out regulation row and model: ``match_id``, ``clock``, ``fold``,
        ``model``, the columns of :data:`~inplay.models.markets.MARKET_COLUMNS`, ``p_exact``,
        ``exact_brier`` and the outcomes of :func:`market_outcomes`.
    """
    names = list(dict.fromkeys([ScoreClockBaseline.name, *model_names]))
    data = df.reset_index(drop=True)
    fold = split_folds(data, split, n_splits=n_splits, seed=seed, cutoff=cutoff)
    labels = market_outcomes(data)
    reg = (prepare_snapshots(data)["period"] <= 2).to_numpy()
    parts = []
    for k in sorted(set(fold[fold >= 0].tolist())):
        test = (fold == k) & reg
        train = data.loc[fold != k]
        for name in names:
            part = _fold_predictions(
                _fit_market_model(name, train), data.loc[test], labels.loc[test]
            )
            part.insert(0, "model", name)
            parts.append(part)
    preds = pd.concat(parts)
    base = pd.DataFrame({"match_id": data["match_id"], "clock": data["clock"], "fold": fold})
    out = base.join(preds, how="inner").join(labels)
    rank = out["model"].map({name: i for i, name in enumerate(names)})
    order = np.lexsort((out["clock"].to_numpy(), out["match_id"].to_numpy(), rank.to_numpy()))
    return out.iloc[order].reset_index(drop=True)


def _binary_scores(p: np.ndarray, y: np.ndarray, n_bins: int) -> dict[str, float]:
    """Binary log loss, Brier and ECE of probabilities ``p`` of events ``y`` (0/1)."""
    p = np.clip(p, 0.0, 1.0)
    loss = -np.log(np.clip(np.where(y == 1, p, 1.0 - p), _LOG_EPS, 1.0))
    table = _binary_reliability(p, y, n_bins)
    ece = float((table["n_rows"] * (table["mean_p"] - table["observed"]).abs()).sum() / len(p))
    return {"log_loss": float(loss.mean()), "brier": float(((p - y) ** 2).mean()), "ece": ece}


def _binary_reliability(p: np.ndarray, y: np.ndarray, n_bins: int) -> pd.DataFrame:
    """Reliability rows of the event of a binary market (as :func:`reliability_table`)."""
    three = np.column_stack([p, np.zeros_like(p), 1.0 - p])  # the event as class H
    table = reliability_table(np.where(y == 1, 0, 2), three, n_bins)
    return table[table["outcome"] == "H"].assign(outcome="yes")


def _market_score(part: pd.DataFrame, market: str, n_bins: int) -> dict[str, float]:
    """Scores of one model on one market."""
    if market in BINARY_MARKETS:
        y = part[market].to_numpy()
        return {
            "n_rows": len(y),
            **_binary_scores(part[BINARY_MARKETS[market]].to_numpy(), y, n_bins),
        }
    if market == "next_goal":
        known = part[part["next_goal"] >= 0]
        y, p = known["next_goal"].to_numpy(), known[_NEXT_COLUMNS].to_numpy()
        ece = float(np.mean(list(class_ece(y, p, n_bins).values())))
        return {"n_rows": len(y), "log_loss": log_loss(y, p), "brier": brier(y, p), "ece": ece}
    loss = -np.log(np.clip(part["p_exact"].to_numpy(), _LOG_EPS, 1.0))
    return {
        "n_rows": len(part),
        "log_loss": float(loss.mean()),
        "brier": float(part["exact_brier"].mean()),
        "ece": float("nan"),
    }


def market_scores(oof: pd.DataFrame, n_bins: int = 10) -> pd.DataFrame:
    """Log loss, Brier and ECE of every model on every market (lower is better).

    Args:
        oof: :func:`market_predictions`.
        n_bins: Equal-width bins of the ECE.

    Returns:
        A long frame: ``model``, ``market``, ``n_rows``, ``log_loss``, ``brier``, ``ece``
        (NaN for ``exact_score``).
    """
    rows = [
        {"model": model, "market": market, **_market_score(part, market, n_bins)}
        for model, part in oof.groupby("model", sort=False)
        for market in MARKETS
    ]
    return pd.DataFrame(rows)


def market_table(scores: pd.DataFrame, baseline: str = ScoreClockBaseline.name) -> pd.DataFrame:
    """The models side by side, one row per market, with each model's gain over the baseline.

    Args:
        scores: :func:`market_scores`.
        baseline: The model the gains are measured from.

    Returns:
        ``market``, ``n_rows``, then ``<metric>_<model>`` for each metric and model and
        ``log_loss_gain_<model>`` (baseline minus model: positive is better) for the others.
    """
    wide = scores.pivot(index="market", columns="model", values=["log_loss", "brier", "ece"])
    models = list(dict.fromkeys(scores["model"]))
    out = pd.DataFrame(index=list(MARKETS))
    out["n_rows"] = scores.groupby("market")["n_rows"].max()
    for metric in ("log_loss", "brier", "ece"):
        for model in models:
            out[f"{metric}_{model}"] = wide[(metric, model)]
    for model in models:
        if model != baseline and baseline in models:
            out[f"log_loss_gain_{model}"] = out[f"log_loss_{baseline}"] - out[f"log_loss_{model}"]
    return out.rename_axis("market").reset_index()


def market_reliability(oof: pd.DataFrame, n_bins: int = 10) -> pd.DataFrame:
    """Reliability diagram data of every model and market (exact score aside).

    Args:
        oof: :func:`market_predictions`.
        n_bins: Equal-width bins of [0, 1].

    Returns:
        ``model``, ``market``, ``outcome`` (``yes`` for a binary market; ``home``, ``none``,
        ``away`` for the next goal), ``bin``, ``mean_p``, ``observed``, ``n_rows``.
    """
    parts = []
    for model, part in oof.groupby("model", sort=False):
        for market, column in BINARY_MARKETS.items():
            table = _binary_reliability(part[column].to_numpy(), part[market].to_numpy(), n_bins)
            parts.append(table.assign(model=model, market=market))
        known = part[part["next_goal"] >= 0]
        table = reliability_table(known["next_goal"].to_numpy(), known[_NEXT_COLUMNS], n_bins)
        names = dict(zip(("H", "D", "A"), NEXT_GOAL_OUTCOMES, strict=True))
        parts.append(
            table.assign(model=model, market="next_goal", outcome=table["outcome"].map(names))
        )
    columns = ["model", "market", "outcome", "bin", "mean_p", "observed", "n_rows"]
    return pd.concat(parts, ignore_index=True)[columns]


@dataclass
class MarketEvaluation:
    """Everything :func:`evaluate_markets` measured.

    Attributes:
        table: The models side by side per market (:func:`market_table`).
        scores: The same scores, long (:func:`market_scores`).
        reliability: Reliability diagram data (:func:`market_reliability`).
        oof: Out-of-fold predictions and outcomes (:func:`market_predictions`).
        settings: Split, folds, seed, models, matches and rows.
    """

    table: pd.DataFrame
    scores: pd.DataFrame
    reliability: pd.DataFrame
    oof: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)


def evaluate_markets(
    df: pd.DataFrame,
    model_names: Sequence[str] = ("goal_rate",),
    n_splits: int = 5,
    seed: int = 0,
    split: str = "match",
    cutoff: str | None = None,
    n_bins: int = 10,
) -> MarketEvaluation:
    """Out-of-fold evaluation of every goal market, each model beside the score-and-clock one.

    Args:
        df: Snapshot rows (with the prior columns for the goal-rate models:
            :func:`inplay.evaluation.evaluate.with_priors`).
        model_names: Goal-rate registry names to evaluate.
        n_splits: Folds of the ``"match"`` split.
        seed: Seed of the folds.
        split: ``"match"``, ``"competition"`` or ``"time"``.
        cutoff: First test date of the ``"time"`` split.
        n_bins: Bins of the reliability tables and ECE.

    Returns:
        The :class:`MarketEvaluation`.
    """
    oof = market_predictions(df, model_names, n_splits, seed, split, cutoff)
    scores = market_scores(oof, n_bins)
    settings = {
        "split": split,
        "n_splits": n_splits if split == "match" else int(oof["fold"].nunique()),
        "seed": seed,
        "cutoff": cutoff,
        "models": list(dict.fromkeys(oof["model"])),
        "n_matches": int(df["match_id"].nunique()),
        "n_rows": int(len(oof) // max(oof["model"].nunique(), 1)),
    }
    return MarketEvaluation(
        table=market_table(scores),
        scores=scores,
        reliability=market_reliability(oof, n_bins),
        oof=oof,
        settings=settings,
    )

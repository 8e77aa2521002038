"""Calibration that adapts to a competition from its ended matches, starting from none.

Competitions differ in how decisive their matches are and how often they end drawn, and a model
fitted on other competitions carries one scale across them. :class:`CompetitionAdapter` learns,
per competition, two numbers from the matches of that competition that have ended: a sharpness
``a`` (the probabilities become ``p ** a``, renormalised: ``a > 1`` sharper, ``a < 1`` flatter)
and a draw shift ``b`` (the draw's log-odds move by ``b``). Both are fitted by penalised maximum
likelihood over the ended matches' minute rows, with each match weighing the same and a Gaussian
prior on ``log a`` and ``b`` centred on no change, so a competition it has never seen (the cold
start) gets the model's own probabilities, and one with many ended matches gets what they say.

:func:`adapt_in_date_order` replays a table of out-of-sample predictions match by match in date
order, as the live system would see results come in: each match is adapted with what the earlier
matches of its competition taught, then taught to the adapter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from inplay.models.base import EPS, PROB_COLUMNS, encode_result

__all__ = ["PRIOR_SD", "adjust", "CompetitionAdapter", "adapt_in_date_order"]

PRIOR_SD: tuple[float, float, float] = (0.25, 0.25, 0.25)
"""Prior standard deviations of ``log a``, of its early-minutes term and of ``b``: a competition
has to show a clear pattern over several matches before its probabilities move much."""


def adjust(p: np.ndarray, a: float | np.ndarray, b: float) -> np.ndarray:
    """Probabilities ``p`` (n, 3) sharpened by ``a`` with the draw's log-odds shifted by ``b``."""
    logp = np.reshape(a, (-1, 1)) * np.log(np.clip(p, EPS, 1.0))
    logp[:, 1] += b
    logp -= logp.max(axis=1, keepdims=True)
    out = np.exp(logp)
    return out / out.sum(axis=1, keepdims=True)


def _sharpness(theta: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``a`` of each row: ``exp(log_a + early * (1 - t))``."""
    return np.exp(theta[0] + theta[1] * (1.0 - t))


def _objective(
    theta: np.ndarray, logp: np.ndarray, t: np.ndarray, y: np.ndarray, w: np.ndarray
) -> float:
    z = _sharpness(theta, t)[:, None] * logp
    z[:, 1] += theta[2]
    z -= z.max(axis=1, keepdims=True)
    loglik = z[np.arange(len(y)), y] - np.log(np.exp(z).sum(axis=1))
    penalty = 0.5 * float(((theta / np.asarray(PRIOR_SD)) ** 2).sum())
    return float(-(w * loglik).sum() + penalty)


@dataclass
class _History:
    logp: list[np.ndarray] = field(default_factory=list)
    t: list[np.ndarray] = field(default_factory=list)
    y: list[np.ndarray] = field(default_factory=list)
    theta: np.ndarray = field(default_factory=lambda: np.zeros(3))


class CompetitionAdapter:
    """Per-competition sharpness and draw shift, learned from the competition's ended matches."""

    def __init__(self) -> None:
        self._history: dict[object, _History] = {}

    def params(self, competition: object, t: float = 0.0) -> tuple[float, float]:
        """``(a, b)`` of a competition at match time ``t`` (clock / 90).

        A competition never seen gets ``(1.0, 0.0)``: no change.
        """
        history = self._history.get(competition)
        theta = history.theta if history is not None else np.zeros(3)
        return float(_sharpness(theta, np.asarray(t))), float(theta[2])

    def transform(self, p: np.ndarray, competition: object, t: np.ndarray) -> np.ndarray:
        """Adapt the probabilities ``p`` (n, 3) of rows of one competition at times ``t``."""
        history = self._history.get(competition)
        theta = history.theta if history is not None else np.zeros(3)
        a = _sharpness(theta, np.asarray(t, dtype=float))
        return adjust(np.asarray(p, dtype=float), a, float(theta[2]))

    def update(
        self, competition: object, p: np.ndarray, t: np.ndarray, result: object
    ) -> np.ndarray:
        """Learn from one ended match: the model's probabilities of its rows and its result.

        Args:
            competition: The competition's id.
            p: ``(n, 3)`` probabilities the model (before adaptation) gave the match's rows.
            t: Match time of each row (clock / 90).
            result: The regulation result (``H``/``D``/``A`` or a code).

        Returns:
            The competition's new parameters ``(log a, early, b)``.
        """
        from scipy.optimize import minimize

        history = self._history.setdefault(competition, _History())
        rows = np.asarray(p, dtype=float)
        history.logp.append(np.log(np.clip(rows, EPS, 1.0)))
        history.t.append(np.asarray(t, dtype=float))
        history.y.append(np.full(len(rows), int(encode_result([result])[0])))
        logp, times = np.vstack(history.logp), np.concatenate(history.t)
        y = np.concatenate(history.y)
        # Every match weighs one, whatever its number of rows.
        w = np.concatenate([np.full(len(m), 1.0 / len(m)) for m in history.logp])
        res = minimize(_objective, history.theta, args=(logp, times, y, w), method="L-BFGS-B")
        history.theta = np.asarray(res.x, dtype=float)
        return history.theta


def adapt_in_date_order(oof: pd.DataFrame, dates: pd.Series | dict) -> pd.DataFrame:
    """Adapt out-of-sample predictions match by match, in date order, per competition.

    Args:
        oof: Predictions of one or more models (``model``, ``match_id``, ``competition_id``,
            ``result`` and the probability columns), e.g. from leaving one competition out.
        dates: Match date (sortable) by ``match_id``.

    Returns:
        A copy of ``oof`` with the probabilities adapted: each match's rows use what the earlier
        matches of its competition (for the same model) taught the adapter.
    """
    out = oof.copy()
    date_of = pd.Series(dates) if isinstance(dates, dict) else dates
    cols = list(PROB_COLUMNS)
    for _, part in oof.groupby("model", sort=False):
        adapter = CompetitionAdapter()
        order = (
            part.drop_duplicates("match_id")
            .assign(_date=lambda f: f["match_id"].map(date_of).astype(str))
            .sort_values(["_date", "match_id"])
        )
        rows_of = part.groupby("match_id").indices
        index = part.index.to_numpy()
        for match_id, comp, result in zip(
            order["match_id"], order["competition_id"], order["result"], strict=True
        ):
            idx = index[rows_of[match_id]]
            raw = oof.loc[idx, cols].to_numpy(dtype=float)
            t = oof.loc[idx, "clock"].to_numpy(dtype=float) / 90.0
            out.loc[idx, cols] = adapter.transform(raw, comp, t)
            adapter.update(comp, raw, t, result)
    return out

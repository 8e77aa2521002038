"""The extra fields of a batch's results: P(advance) and the regulation goal markets.

Both are computed once per batch, vectorised, from what the batch already has:

* :func:`advance_rows`: in a knockout match (the request's ``knockout``), the probability that
  each side advances (:func:`inplay.models.advance.advance_column`: the regulation 1X2 through
  extra time and the shoot-out, the shoot-out's kicks so far from the match state);
  ``(None, None)`` for the other rows;
* :func:`market_rows`: the model's remaining regulation goal rates for the batch
  (``remaining_rates``), the score grids (:func:`inplay.models.markets.score_grid`) and the
  markets of :data:`inplay.live.messages.RESULT_MARKETS` (the values of
  :func:`inplay.models.markets.market_frame`, without a DataFrame); None when the model has no
  goal rates.

Every value is rounded to 6 decimals (as the 1X2); ``p_advance_away`` is
``1 - p_advance_home`` after rounding, so the two sum to 1.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from inplay.features.shootout import ShootoutState
from inplay.live.messages import RESULT_MARKETS, RequestColumns, round_like_builtin
from inplay.models.advance import SHOOTOUT_COLUMNS, AdvanceParams, advance_column
from inplay.models.markets import (
    btts_probability,
    expected_goals,
    next_goal_probabilities,
    over_probabilities,
    score_grid,
)
from inplay.models.state import prepare_columns

__all__ = ["advance_rows", "market_rows", "remaining_rates", "result_extras"]

_DIGITS = 6
log = logging.getLogger(__name__)


_ADVANCE_INPUTS = ("period", "elapsed_seconds", "home_goals", "away_goals")


def _advance_frame(requests: list[dict], shootouts: list[ShootoutState | None]) -> pd.DataFrame:
    """The rows :func:`advance_column` reads; shoot-out columns only when a kick was taken."""
    rows = pd.DataFrame({name: [r[name] for r in requests] for name in _ADVANCE_INPUTS})
    if any(shootouts):  # else every row is before the shoot-out: the columns' default
        start = ShootoutState()
        counts = [
            (s.home_taken, s.home_scored, s.away_taken, s.away_scored)
            for s in (so or start for so in shootouts)
        ]
        for name, values in zip(SHOOTOUT_COLUMNS, zip(*counts, strict=True), strict=True):
            rows[name] = values
    return rows


def advance_rows(
    requests: list[dict],
    probs: np.ndarray,
    shootouts: Sequence[ShootoutState | None],
    params: AdvanceParams | None = None,
) -> list[tuple[float | None, float | None]]:
    """``(p_advance_home, p_advance_away)`` of each request; ``(None, None)`` unless knockout.

    Args:
        requests: The batch's requests (:func:`~inplay.live.messages.request_message`):
            ``knockout``, ``period``, ``elapsed_seconds``, ``home_goals``, ``away_goals``.
        probs: ``(n, 3)`` the model's regulation H/D/A probabilities (unrounded).
        shootouts: Each row's shoot-out so far (None: no kick).
        params: Extra-time and shoot-out parameters (default :class:`AdvanceParams`).
    """
    out: list[tuple[float | None, float | None]] = [(None, None)] * len(requests)
    knockout = [i for i, request in enumerate(requests) if request["knockout"]]
    if not knockout:
        return out
    rows = _advance_frame([requests[i] for i in knockout], [shootouts[i] for i in knockout])
    p_home = advance_column(rows, np.asarray(probs)[knockout], params, knockout=True)
    home = np.clip(round_like_builtin(p_home, _DIGITS), 0.0, 1.0)
    away = np.clip(round_like_builtin(1.0 - home, _DIGITS), 0.0, 1.0)
    for i, h, a in zip(knockout, home.tolist(), away.tolist(), strict=True):
        out[i] = (h, a)
    return out


def remaining_rates(model, columns: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``model.remaining_rates`` of a batch given as columns, on the numpy path if it has one.

    A goal-rate model with the numpy path (``array_path``) gets the columns as its
    ``predict_proba_arrays`` does (:func:`~inplay.models.state.prepare_columns`, then its rates,
    0 after regulation: what ``remaining_rates`` computes on a frame, tested equal); any other
    model ``remaining_rates(pd.DataFrame(columns))``.
    """
    rates = getattr(model, "_rates", None)
    if getattr(model, "array_path", False) and rates is not None:
        state = prepare_columns(model._with_prior(columns))
        lam_home, lam_away = rates(state)
        decided = np.asarray(state["period"]) >= 3
        return np.where(decided, 0.0, lam_home), np.where(decided, 0.0, lam_away)
    lam_home, lam_away = model.remaining_rates(pd.DataFrame(dict(columns)))
    return np.asarray(lam_home, dtype=float), np.asarray(lam_away, dtype=float)


def market_rows(model, columns: RequestColumns | Mapping[str, np.ndarray]) -> list | None:
    """The :data:`~inplay.live.messages.RESULT_MARKETS` values of each request, or None.

    Args:
        model: The scoring model; without a ``remaining_rates(frame)`` method (e.g. a
            logistic model) there are no markets.
        columns: The batch's requests as columns (``reg_home_goals`` and ``reg_away_goals``:
            the markets are about the regulation score).

    Returns:
        One list of 9 floats per request (rounded to 6 decimals), or None (also when the
        rates fail: the markets are extras, the 1X2 is published anyway; logged).
    """
    if getattr(model, "remaining_rates", None) is None:
        return None
    try:
        lam_home, lam_away = remaining_rates(model, columns)
    except Exception as exc:  # noqa: BLE001 - a worker never stops for the extras
        log.warning("goal markets left null: the model's remaining_rates failed: %r", exc)
        return None
    grid = score_grid(columns["reg_home_goals"], columns["reg_away_goals"], lam_home, lam_away)
    # market_frame's values without its frame (the numpy path builds none; tested equal).
    probs = np.column_stack(
        [
            over_probabilities(grid),
            btts_probability(grid),
            next_goal_probabilities(lam_home, lam_away),
        ]
    )
    values = np.column_stack([np.clip(probs, 0.0, 1.0), expected_goals(grid)])
    return round_like_builtin(values.ravel(), _DIGITS).reshape(values.shape).tolist()


def result_extras(
    model,
    requests: list[dict],
    probs: np.ndarray,
    shootouts: Sequence[ShootoutState | None],
    columns: RequestColumns | None = None,
) -> list[tuple] | None:
    """The :data:`~inplay.live.messages.RESULT_EXTRAS` of each request of a batch.

    Args:
        model: The scoring model (its goal rates, if any).
        requests: The batch's requests (:func:`~inplay.live.messages.request_message`).
        probs: ``(n, 3)`` the model's H/D/A probabilities of the requests (unrounded).
        shootouts: Each request's shoot-out so far (None: no kick).
        columns: The requests as columns, if built already (else built here when needed).

    Returns:
        One tuple per request, its values in :data:`~inplay.live.messages.RESULT_EXTRAS`
        order (:func:`advance_rows`, then :func:`market_rows` or nulls); None when all are
        null.
    """
    advance = advance_rows(requests, probs, shootouts)
    markets = None
    if getattr(model, "remaining_rates", None) is not None:
        markets = market_rows(model, RequestColumns(requests) if columns is None else columns)
    if markets is None:
        if all(adv[0] is None for adv in advance):
            return None
        markets = [_NO_MARKETS] * len(requests)
    return [(*adv, *mk) for adv, mk in zip(advance, markets, strict=True)]


_NO_MARKETS = (None,) * len(RESULT_MARKETS)

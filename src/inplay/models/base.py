"""The common interface of the outcome models and the helpers they share.

Every model answers ``predict_proba(df)`` with an ``(n, 3)`` array whose columns follow
:data:`CLASSES` (``H``, ``D``, ``A``) and whose rows sum to 1. The shared rule lives in
:class:`OutcomeModel`: rows in extra time (``period >= 3``) already have a decided 1X2 result
(the label is the *regulation* result), so they get the near one-hot of the regulation goal
difference; the underlying model is fitted on, and only sees, regulation rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from inplay.config import ConfigError
from inplay.data.ratings import EloRatings
from inplay.models.state import (
    float_column,
    pre_match_elo,
    prepare_columns,
    prepare_snapshots,
    train_ratings,
)

__all__ = [
    "CLASSES",
    "PROB_COLUMNS",
    "EPS",
    "OutcomeModel",
    "encode_result",
    "clip_normalise",
    "softmax_rows",
]

CLASSES: tuple[str, str, str] = ("H", "D", "A")
PROB_COLUMNS: tuple[str, str, str] = ("p_home", "p_draw", "p_away")
EPS = 1e-6
"""Smallest probability any model gives to a class."""

_CLASS_INDEX = {c: i for i, c in enumerate(CLASSES)}

Rows = pd.DataFrame | Mapping[str, Any]
"""Snapshot rows: a DataFrame, or a mapping of column name to a 1-D array (the numpy path)."""


def _rows(state: pd.DataFrame | dict[str, np.ndarray], mask: np.ndarray):
    """The rows of ``state`` (a frame or a dict of arrays) where ``mask`` holds."""
    if isinstance(state, pd.DataFrame):
        return state.loc[mask]
    if mask.all():
        return state
    return {name: column[mask] for name, column in state.items()}


def encode_result(y: Any) -> np.ndarray:
    """Turn results into integer codes 0=H, 1=D, 2=A.

    Args:
        y: A sequence of ``'H'``/``'D'``/``'A'`` strings or of integer codes 0, 1, 2.

    Returns:
        An ``int64`` array of codes.

    Raises:
        ValueError: A value is neither a known result letter nor a code in 0..2.
    """
    arr = np.asarray(y)
    if arr.dtype.kind in "iu":
        codes = arr.astype(np.int64)
    elif arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
        codes = arr.astype(np.int64)
    else:
        try:
            codes = np.array([_CLASS_INDEX[str(v)] for v in arr.ravel()], dtype=np.int64)
        except KeyError as exc:
            raise ValueError(
                f"unknown result {exc.args[0]!r}; expected one of {CLASSES} or codes 0..2"
            ) from None
        codes = codes.reshape(arr.shape)
    if codes.size and (codes.min() < 0 or codes.max() > 2):
        raise ValueError("result codes must be 0 (H), 1 (D) or 2 (A)")
    return codes


def clip_normalise(p: np.ndarray, eps: float = EPS) -> np.ndarray:
    """Clip probabilities into ``[eps, 1 - 2 eps]`` and renormalise each row to sum to 1."""
    p = np.clip(np.asarray(p, dtype=float), eps, 1.0 - 2.0 * eps)
    return p / p.sum(axis=1, keepdims=True)


def softmax_rows(eta: np.ndarray) -> np.ndarray:
    """Softmax over columns of ``eta`` (numerically stable)."""
    eta = eta - eta.max(axis=1, keepdims=True)
    e = np.exp(eta)
    return e / e.sum(axis=1, keepdims=True)


def _final_regulation_goals(
    df: pd.DataFrame, state: pd.DataFrame, mask: np.ndarray
) -> pd.DataFrame:
    """Each regulation row's final regulation score (``hg``, ``ag``): the goal models' target.

    From ``reg_final_home_goals`` / ``reg_final_away_goals`` when the rows carry them (stoppage
    time included); else the most goals of the match's rows (which misses goals after the last
    row: rows built before those columns existed).
    """
    columns = ["reg_final_home_goals", "reg_final_away_goals"]
    if set(columns) <= set(df.columns) and df[columns].notna().all().all():
        values = df.loc[mask, columns].to_numpy(dtype=float)
        return pd.DataFrame({"hg": values[:, 0], "ag": values[:, 1]})
    return state.loc[mask].groupby("match_id")[["hg", "ag"]].transform("max")


class OutcomeModel:
    """Base class of every outcome model.

    Subclasses set :attr:`name` and :attr:`features` and implement :meth:`_fit` and
    :meth:`_predict`, which only ever see regulation rows (``period <= 2``) already passed
    through :func:`prepare_snapshots`. A subclass whose :meth:`_predict` also takes those
    columns as a dict of numpy arrays sets :attr:`array_path`: live batches then skip pandas
    (:meth:`predict_proba_arrays`).

    Attributes:
        name: Registry name of the model.
        features: Names of the design columns the model uses.
        version: A version string; set by :meth:`fit` and replaced by :func:`save_model` with
            one that carries the content hash.
        trained_at: UTC ISO timestamp of the last fit, or ``None``.
        n_train_rows: Number of regulation rows the model was fitted on.
    """

    name: ClassVar[str] = "base"
    features: ClassVar[list[str]] = []
    uses_prior: ClassVar[bool] = False
    """Whether the model reads the pre-match prior (``elo_diff``, odds) of a row."""
    array_path: ClassVar[bool] = False
    """Whether :meth:`_predict` also takes a dict of numpy columns (see
    :meth:`predict_proba_arrays`); without it the numpy path falls back to a DataFrame."""

    def __init__(self) -> None:
        self.version: str | None = None
        self.trained_at: str | None = None
        self.n_train_rows: int = 0
        self.n_train_matches: int = 0
        self.fitted: bool = False
        self.ratings_: EloRatings | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, version={self.version!r})"

    def fit(self, df: pd.DataFrame) -> OutcomeModel:
        """Fit the model on snapshot rows that carry a ``result`` label.

        Extra-time rows (``period >= 3``) are dropped: their 1X2 result is already decided.

        Args:
            df: Snapshot rows with a ``result`` column of ``H``/``D``/``A``.

        Returns:
            The fitted model itself.

        Raises:
            ConfigError: There is no ``result`` column or no regulation row to learn from.
        """
        # One BLAS/OpenMP thread: on a small shared machine, more threads contend (measured on
        # 2 cores under load: a Poisson GLM on 18k rows 3.1 s with 2 threads, 0.3 s with one).
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):
            return self._fit_all(df)

    def _fit_all(self, df: pd.DataFrame) -> OutcomeModel:
        if "result" not in df.columns:
            raise ConfigError("training snapshots need a 'result' column (H/D/A)")
        if self.uses_prior:
            self.ratings_ = train_ratings(df)
            if "elo_diff" not in df.columns and self.ratings_ is not None:
                df = df.assign(elo_diff=pre_match_elo(df))
        state = prepare_snapshots(df)
        mask = (state["period"] <= 2).to_numpy()
        if not mask.any():
            raise ConfigError("no regulation rows (period 1 or 2) to fit on")
        y = encode_result(df["result"].to_numpy()[mask])
        if "match_id" in df.columns:
            self.n_train_matches = int(df.loc[mask, "match_id"].nunique())
            state["match_id"] = df["match_id"].to_numpy()
            if {"competition_id", "season_id"} <= set(df.columns):
                state["season_key"] = (
                    df["competition_id"].astype(str) + "/" + df["season_id"].astype(str)
                ).to_numpy()
            final = _final_regulation_goals(df, state, mask)
            state.loc[mask, "final_hg"] = final["hg"].to_numpy()
            state.loc[mask, "final_ag"] = final["ag"].to_numpy()
        else:
            self.n_train_matches = int(mask.sum())
        self._fit(state.loc[mask], y)
        now = datetime.now(UTC)
        self.trained_at = now.isoformat(timespec="seconds")
        self.version = f"{self.name}-{now.strftime('%Y%m%dT%H%M%SZ')}"
        self.n_train_rows = int(mask.sum())
        self.fitted = True
        return self

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        """Return the probabilities of H, D and A for each row.

        Args:
            df: Snapshot rows (a full snapshot table or live requests).

        Returns:
            An ``(n, 3)`` array in :data:`CLASSES` order; each row sums to 1 and no entry is
            below :data:`EPS`.

        Raises:
            ConfigError: The model has not been fitted.
        """
        self._require_fitted()
        if len(df) == 0:
            return np.empty((0, 3), dtype=float)
        return self._proba(prepare_snapshots(self._with_prior(df)))

    def predict_proba_arrays(self, columns: Mapping[str, Any]) -> np.ndarray:
        """:meth:`predict_proba` of rows given as columns: one call for a whole batch.

        Models with :attr:`array_path` (the goal-rate family: ``goal_rate``,
        ``goal_rate_odds``, ``skellam``) compute on the numpy columns directly, with the same
        code as the DataFrame path (:func:`~inplay.models.state.prepare_columns`, then
        :meth:`_predict` on a dict of arrays). Every other model gets
        ``predict_proba(pd.DataFrame(columns))``.

        Args:
            columns: Column name -> 1-D array (or sequence), all of one length: the fields of
                snapshot rows or live requests (numeric, except ``home_team``/``away_team``).

        Returns:
            As :meth:`predict_proba`, equal to it on ``pd.DataFrame(columns)``.

        Raises:
            ConfigError: The model has not been fitted.
        """
        if not self.array_path:
            return self.predict_proba(pd.DataFrame(dict(columns)))
        self._require_fitted()
        if not columns or len(next(iter(columns.values()))) == 0:
            return np.empty((0, 3), dtype=float)
        return self._proba(prepare_columns(self._with_prior(columns)))

    def _require_fitted(self) -> None:
        if not self.fitted:
            raise ConfigError(f"model {self.name!r} is not fitted; call fit() or load_model()")

    def _proba(self, state: pd.DataFrame | dict[str, np.ndarray]) -> np.ndarray:
        """Probabilities of prepared rows (a frame, or a dict of arrays on the numpy path).

        Extra-time rows get the near one-hot of the regulation goal difference; the others
        go to :meth:`_predict`.
        """
        period = np.asarray(state["period"])
        out = np.empty((len(period), 3), dtype=float)
        decided = period >= 3
        if decided.any():
            sign = np.sign(np.asarray(state["gd"])[decided]).astype(int)
            one_hot = np.zeros((int(decided.sum()), 3))
            one_hot[np.arange(len(sign)), 1 - sign] = 1.0  # +1 -> H (0), 0 -> D (1), -1 -> A (2)
            out[decided] = one_hot
        if (~decided).any():
            out[~decided] = self._predict(_rows(state, ~decided))
        return clip_normalise(out)

    def predict_frame(self, df: pd.DataFrame) -> pd.DataFrame:
        """Return :meth:`predict_proba` as a frame with columns ``p_home``, ``p_draw``, ``p_away``.

        Args:
            df: Snapshot rows.

        Returns:
            A frame indexed like ``df``.
        """
        return pd.DataFrame(self.predict_proba(df), index=df.index, columns=list(PROB_COLUMNS))

    def _with_prior(self, rows: Rows) -> Rows:
        """Fill ``elo_diff`` from the ratings learned at fit time where a row lacks it.

        Live rows carry no prior; when they name the teams (``home_team``, ``away_team``), the
        difference of the teams' ratings after the last training match is used. Rows with
        neither stay without a prior (``elo`` 0, ``has_elo`` 0).

        Args:
            rows: A frame, or a mapping of columns (then a new dict is returned).
        """
        if not self.uses_prior or self.ratings_ is None:
            return rows
        names = rows.columns if isinstance(rows, pd.DataFrame) else rows
        if "home_team" not in names or "away_team" not in names:
            return rows
        looked_up = self._team_prior(rows["home_team"], rows["away_team"])
        given = float_column(rows, "elo_diff")
        if given is not None:
            looked_up = np.where(np.isnan(given), looked_up, given)
        if isinstance(rows, pd.DataFrame):
            return rows.assign(elo_diff=looked_up)
        return {**rows, "elo_diff": looked_up}

    def _team_prior(self, home: Any, away: Any) -> np.ndarray:
        """The rating difference of each (home, away) pair; NaN when neither team is rated."""
        assert self.ratings_ is not None
        known = self.ratings_.ratings
        pairs = list(zip(home, away, strict=True))
        diff = {
            (h, a): self.ratings_.diff(h, a) if (h in known or a in known) else np.nan
            for h, a in set(pairs)
        }
        return np.array([diff[pair] for pair in pairs], dtype=float)

    # Subclass hooks -----------------------------------------------------------------------

    def _fit(self, state: pd.DataFrame, y: np.ndarray) -> None:
        raise NotImplementedError

    def _predict(self, state: pd.DataFrame) -> np.ndarray:
        """Probabilities of prepared regulation rows.

        Args:
            state: Rows of :func:`prepare_snapshots`: a frame, or a dict of 1-D arrays when the
                class sets :attr:`array_path`.
        """
        raise NotImplementedError

    def summary(self) -> dict[str, Any]:
        """Return a small JSON-safe description of the fitted parameters."""
        return {}

"""The common interface of the outcome models and the helpers they share.

Every model answers ``predict_proba(df)`` with an ``(n, 3)`` array whose columns follow
:data:`CLASSES` (``H``, ``D``, ``A``) and whose rows sum to 1. The shared rule lives in
:class:`OutcomeModel`: rows in extra time (``period >= 3``) already have a decided 1X2 result
(the label is the *regulation* result), so they get the near one-hot of the regulation goal
difference; the underlying model is fitted on, and only sees, regulation rows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from inplay.config import ConfigError
from inplay.data.ratings import EloRatings
from inplay.models.state import pre_match_elo, prepare_snapshots, train_ratings

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


class OutcomeModel:
    """Base class of every outcome model.

    Subclasses set :attr:`name` and :attr:`features` and implement :meth:`_fit` and
    :meth:`_predict`, which only ever see regulation rows (``period <= 2``) already passed
    through :func:`prepare_snapshots`.

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
            reg = state.loc[mask]
            final = reg.groupby("match_id")[["hg", "ag"]].transform("max")
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
        if not self.fitted:
            raise ConfigError(f"model {self.name!r} is not fitted; call fit() or load_model()")
        n = len(df)
        out = np.empty((n, 3), dtype=float)
        if n == 0:
            return out
        state = prepare_snapshots(self._with_prior(df))
        decided = (state["period"] >= 3).to_numpy()
        if decided.any():
            sign = np.sign(state["gd"].to_numpy()[decided]).astype(int)
            one_hot = np.zeros((int(decided.sum()), 3))
            one_hot[np.arange(len(sign)), 1 - sign] = 1.0  # +1 -> H (0), 0 -> D (1), -1 -> A (2)
            out[decided] = one_hot
        if (~decided).any():
            out[~decided] = self._predict(state.loc[~decided])
        return clip_normalise(out)

    def predict_frame(self, df: pd.DataFrame) -> pd.DataFrame:
        """Return :meth:`predict_proba` as a frame with columns ``p_home``, ``p_draw``, ``p_away``.

        Args:
            df: Snapshot rows.

        Returns:
            A frame indexed like ``df``.
        """
        return pd.DataFrame(self.predict_proba(df), index=df.index, columns=list(PROB_COLUMNS))

    def _with_prior(self, df: pd.DataFrame) -> pd.DataFrame:
        """Fill ``elo_diff`` from the ratings learned at fit time where a row lacks it.

        Live rows carry no prior; when they name the teams (``home_team``, ``away_team``), the
        difference of the teams' ratings after the last training match is used. Rows with
        neither stay without a prior (``elo`` 0, ``has_elo`` 0).
        """
        if not self.uses_prior or self.ratings_ is None:
            return df
        if not {"home_team", "away_team"} <= set(df.columns):
            return df
        known = self.ratings_.ratings
        looked_up = [
            self.ratings_.diff(h, a) if (h in known or a in known) else np.nan
            for h, a in zip(df["home_team"], df["away_team"], strict=True)
        ]
        looked_up = pd.Series(looked_up, index=df.index, dtype=float)
        if "elo_diff" in df.columns:
            looked_up = pd.to_numeric(df["elo_diff"], errors="coerce").fillna(looked_up)
        return df.assign(elo_diff=looked_up)

    # Subclass hooks -----------------------------------------------------------------------

    def _fit(self, state: pd.DataFrame, y: np.ndarray) -> None:
        raise NotImplementedError

    def _predict(self, state: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError

    def summary(self) -> dict[str, Any]:
        """Return a small JSON-safe description of the fitted parameters."""
        return {}

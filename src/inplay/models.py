"""Outcome models: live home/draw/away probabilities from a snapshot of a match.

A snapshot is one row of a pandas DataFrame: the state of a match at some moment (score, clock,
shots, xG, cards, possession). Every model answers ``predict_proba(df)`` with an ``(n, 3)``
array whose columns follow :data:`CLASSES` (``H``, ``D``, ``A``) and whose rows sum to 1.

The shared rule lives in :class:`OutcomeModel`: rows in extra time (``period >= 3``) already have
a decided 1X2 result (the label is the *regulation* result), so they get the near one-hot of the
regulation goal difference; the underlying model is fitted on, and only sees, regulation rows.

Models:

* ``climatology``: the class frequencies of the training rows, whatever the state.
* ``scoreboard``: the published baseline, a multinomial logit (statsmodels ``MNLogit``) on the
  match time ``t = clock / 90``, the goal difference and their interaction.
* ``state_mnlogit``: a multinomial logit on the full state, with time interactions for the goal
  difference, red cards and xG, plus shots on target and possession.

Persistence: :func:`save_model` writes ``<out_dir>/<name>/model.pkl`` and ``model_card.json``;
:func:`load_model` reads it back.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import platform
import warnings
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from inplay.config import ConfigError

__all__ = [
    "CLASSES",
    "PROB_COLUMNS",
    "EPS",
    "OutcomeModel",
    "ClimatologyModel",
    "MNLogitModel",
    "ScoreboardModel",
    "StateMNLogitModel",
    "MODELS",
    "make_model",
    "encode_result",
    "prepare_snapshots",
    "save_model",
    "load_model",
]

CLASSES: tuple[str, str, str] = ("H", "D", "A")
PROB_COLUMNS: tuple[str, str, str] = ("p_home", "p_draw", "p_away")
EPS = 1e-6
"""Smallest probability any model gives to a class."""

_CLASS_INDEX = {c: i for i, c in enumerate(CLASSES)}
_MODEL_FILE = "model.pkl"
_CARD_FILE = "model_card.json"


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


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


def _clip_normalise(p: np.ndarray, eps: float = EPS) -> np.ndarray:
    """Clip probabilities into ``[eps, 1 - 2 eps]`` and renormalise each row to sum to 1."""
    p = np.clip(np.asarray(p, dtype=float), eps, 1.0 - 2.0 * eps)
    return p / p.sum(axis=1, keepdims=True)


def _column(df: pd.DataFrame, name: str, default: pd.Series | float) -> pd.Series:
    """Return ``df[name]`` as floats, or ``default`` when the column is absent."""
    if name in df.columns:
        return pd.to_numeric(df[name], errors="coerce").astype(float)
    if isinstance(default, pd.Series):
        return default.astype(float)
    return pd.Series(float(default), index=df.index)


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
        ``xg_diff``, ``sot_diff``, ``shots_diff`` and ``poss_diff`` (home minus away, in [-1, 1]).

    Raises:
        ConfigError: Neither ``clock`` nor ``current_minute`` is present, or no goal columns.
    """
    if "clock" not in df.columns and "current_minute" not in df.columns:
        raise ConfigError("snapshot rows need a 'clock' or a 'current_minute' column")
    if not ({"reg_home_goals", "reg_away_goals"} <= set(df.columns)) and not (
        {"home_goals", "away_goals"} <= set(df.columns)
    ):
        raise ConfigError(
            "snapshot rows need 'reg_home_goals'/'reg_away_goals' or 'home_goals'/'away_goals'"
        )
    minute = _column(df, "current_minute", 0.0)
    clock = _column(df, "clock", minute.clip(0.0, 90.0)).fillna(0.0).clip(0.0, 90.0)
    period = _column(df, "period", pd.Series(np.where(minute < 45, 1.0, 2.0), index=df.index))
    period = period.fillna(1.0)
    home = _column(df, "reg_home_goals", _column(df, "home_goals", 0.0))
    away = _column(df, "reg_away_goals", _column(df, "away_goals", 0.0))
    hp = _column(df, "home_possession", 50.0).fillna(50.0)
    ap = _column(df, "away_possession", 100.0 - hp).fillna(50.0)
    total = (hp + ap).where(lambda s: s > 0, 100.0)
    out = pd.DataFrame(
        {
            "period": period,
            "clock": clock,
            "t": clock / 90.0,
            "gd": (home - away).fillna(0.0),
            "red_diff": (
                _column(df, "home_red_cards", 0.0) - _column(df, "away_red_cards", 0.0)
            ).fillna(0.0),
            "xg_diff": (_column(df, "home_xg", 0.0) - _column(df, "away_xg", 0.0)).fillna(0.0),
            "sot_diff": (
                _column(df, "home_shots_on_target", 0.0) - _column(df, "away_shots_on_target", 0.0)
            ).fillna(0.0),
            "shots_diff": (_column(df, "home_shots", 0.0) - _column(df, "away_shots", 0.0)).fillna(
                0.0
            ),
            "poss_diff": ((hp - ap) / total).fillna(0.0),
        },
        index=df.index,
    )
    return out


def _softmax_rows(eta: np.ndarray) -> np.ndarray:
    """Softmax over columns of ``eta`` (numerically stable)."""
    eta = eta - eta.max(axis=1, keepdims=True)
    e = np.exp(eta)
    return e / e.sum(axis=1, keepdims=True)


# --------------------------------------------------------------------------------------------
# Base class
# --------------------------------------------------------------------------------------------


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

    def __init__(self) -> None:
        self.version: str | None = None
        self.trained_at: str | None = None
        self.n_train_rows: int = 0
        self.n_train_matches: int = 0
        self.fitted: bool = False

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
        if "result" not in df.columns:
            raise ConfigError("training snapshots need a 'result' column (H/D/A)")
        state = prepare_snapshots(df)
        mask = (state["period"] <= 2).to_numpy()
        if not mask.any():
            raise ConfigError("no regulation rows (period 1 or 2) to fit on")
        y = encode_result(df["result"].to_numpy()[mask])
        if "match_id" in df.columns:
            self.n_train_matches = int(df.loc[mask, "match_id"].nunique())
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
        state = prepare_snapshots(df)
        decided = (state["period"] >= 3).to_numpy()
        if decided.any():
            sign = np.sign(state["gd"].to_numpy()[decided]).astype(int)
            one_hot = np.zeros((int(decided.sum()), 3))
            one_hot[np.arange(len(sign)), 1 - sign] = 1.0  # +1 -> H (0), 0 -> D (1), -1 -> A (2)
            out[decided] = one_hot
        if (~decided).any():
            out[~decided] = self._predict(state.loc[~decided])
        return _clip_normalise(out)

    def predict_frame(self, df: pd.DataFrame) -> pd.DataFrame:
        """Return :meth:`predict_proba` as a frame with columns ``p_home``, ``p_draw``, ``p_away``.

        Args:
            df: Snapshot rows.

        Returns:
            A frame indexed like ``df``.
        """
        return pd.DataFrame(self.predict_proba(df), index=df.index, columns=list(PROB_COLUMNS))

    # Subclass hooks -----------------------------------------------------------------------

    def _fit(self, state: pd.DataFrame, y: np.ndarray) -> None:
        raise NotImplementedError

    def _predict(self, state: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError

    def summary(self) -> dict[str, Any]:
        """Return a small JSON-safe description of the fitted parameters."""
        return {}


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


class ClimatologyModel(OutcomeModel):
    """The training class frequencies, whatever the state of the match."""

    name: ClassVar[str] = "climatology"
    features: ClassVar[list[str]] = []

    def __init__(self) -> None:
        super().__init__()
        self.class_freq_: np.ndarray | None = None

    def _fit(self, state: pd.DataFrame, y: np.ndarray) -> None:
        counts = np.bincount(y, minlength=3).astype(float)
        self.class_freq_ = counts / counts.sum()

    def _predict(self, state: pd.DataFrame) -> np.ndarray:
        assert self.class_freq_ is not None
        return np.tile(self.class_freq_, (len(state), 1))

    def summary(self) -> dict[str, Any]:
        """Return the class frequencies."""
        if self.class_freq_ is None:
            return {}
        return {"class_freq": dict(zip(CLASSES, map(float, self.class_freq_), strict=True))}


class MNLogitModel(OutcomeModel):
    """A multinomial logit (statsmodels ``MNLogit``) on a design built from the state.

    ``H`` is the reference class. Features are standardised with the training mean and standard
    deviation before fitting, which keeps Newton's method well conditioned. Only the
    coefficients and the scaling are kept (not the statsmodels results object, which holds the
    training data), so the pickle is small and prediction is a plain softmax.

    If the unpenalised fit does not converge (e.g. near-separation late in matches), the model
    falls back to ``fit_regularized`` with a small L1 penalty ``alpha`` per observation.
    """

    name: ClassVar[str] = "mnlogit"
    features: ClassVar[list[str]] = []
    alpha: ClassVar[float] = 1e-4
    maxiter: ClassVar[int] = 100
    # L1 penalty per coefficient, in units of "one match's worth of rows" (0: plain MLE).
    prior_per_match: ClassVar[float] = 0.0

    def __init__(self) -> None:
        super().__init__()
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None
        self.params_: np.ndarray | None = None  # (1 + n_features, 2): D vs H, A vs H
        self.converged_: bool | None = None
        self.fit_method_: str | None = None
        self.llf_: float | None = None

    def design(self, state: pd.DataFrame) -> pd.DataFrame:
        """Build the design columns :attr:`features` from a prepared state frame.

        Args:
            state: Output of :func:`prepare_snapshots`.

        Returns:
            A float frame with one column per feature (no constant).
        """
        raise NotImplementedError

    def _scaled(self, state: pd.DataFrame) -> np.ndarray:
        x = self.design(state)[self.features].to_numpy(dtype=float)
        assert self.mean_ is not None and self.scale_ is not None
        x = (x - self.mean_) / self.scale_
        return np.column_stack([np.ones(len(x)), x])

    def _fit(self, state: pd.DataFrame, y: np.ndarray) -> None:
        from statsmodels.discrete.discrete_model import MNLogit
        from statsmodels.tools.sm_exceptions import ConvergenceWarning, HessianInversionWarning

        if len(np.unique(y)) < 3:
            raise ConfigError(
                f"model {self.name!r} needs all three results (H, D, A) in the training rows"
            )
        x_raw = self.design(state)[self.features].to_numpy(dtype=float)
        self.mean_ = x_raw.mean(axis=0)
        scale = x_raw.std(axis=0)
        self.scale_ = np.where(scale > 1e-12, scale, 1.0)
        x = self._scaled(state)
        model = MNLogit(y, x)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", HessianInversionWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            res = None
            ok = False
            if self.prior_per_match <= 0:
                try:
                    res = model.fit(method="newton", maxiter=self.maxiter, disp=False)
                    ok = bool(res.mle_retvals.get("converged", False)) and np.all(
                        np.isfinite(res.params)
                    )
                    method = "newton"
                except (np.linalg.LinAlgError, ValueError):
                    ok = False
            if not ok:
                k = x.shape[1]
                # Rows of one match are strongly correlated (91 snapshots of one result), so
                # the penalty is set per match: with few matches it shrinks the coefficients,
                # with hundreds it hardly matters.
                per_coef = max(
                    self.alpha * len(y),
                    self.prior_per_match * len(y) / max(1, self.n_train_matches),
                )
                # statsmodels flattens the (k, 2) parameters column by column.
                alpha = np.full(2 * k, per_coef)
                alpha[[0, k]] = 0.0  # no penalty on the intercepts
                res = model.fit_regularized(method="l1", alpha=alpha, maxiter=1000, disp=False)
                ok = bool(res.mle_retvals.get("converged", False))
                method = "l1"
        assert res is not None
        self.params_ = np.asarray(res.params, dtype=float).reshape(x.shape[1], 2)
        self.converged_ = ok
        self.fit_method_ = method
        self.llf_ = float(res.llf)

    def _predict(self, state: pd.DataFrame) -> np.ndarray:
        assert self.params_ is not None
        eta = self._scaled(state) @ self.params_
        return _softmax_rows(np.column_stack([np.zeros(len(eta)), eta]))

    def coefficients(self) -> pd.DataFrame:
        """Return the coefficients on the original (unscaled) feature scale.

        Returns:
            A frame indexed by ``const`` and the features, columns ``D_vs_H`` and ``A_vs_H``.
        """
        if self.params_ is None or self.mean_ is None or self.scale_ is None:
            raise ConfigError(f"model {self.name!r} is not fitted")
        slopes = self.params_[1:] / self.scale_[:, None]
        const = self.params_[0] - (self.mean_[:, None] * slopes).sum(axis=0)
        return pd.DataFrame(
            np.vstack([const, slopes]),
            index=["const", *self.features],
            columns=["D_vs_H", "A_vs_H"],
        )

    def summary(self) -> dict[str, Any]:
        """Return the unscaled coefficients and the fit diagnostics."""
        if self.params_ is None:
            return {}
        coef = self.coefficients()
        return {
            "coefficients": {
                col: {k: float(v) for k, v in coef[col].items()} for col in coef.columns
            },
            "converged": bool(self.converged_),
            "fit_method": self.fit_method_,
            "train_loglik": self.llf_,
        }


class ScoreboardModel(MNLogitModel):
    """The published baseline: multinomial logit on time, goal difference and their product."""

    name: ClassVar[str] = "scoreboard"
    features: ClassVar[list[str]] = ["t", "gd", "gd_t"]

    def design(self, state: pd.DataFrame) -> pd.DataFrame:
        """Build ``t``, ``gd`` and ``gd_t`` (see :meth:`MNLogitModel.design`)."""
        t, gd = state["t"], state["gd"]
        return pd.DataFrame({"t": t, "gd": gd, "gd_t": gd * t}, index=state.index)


class StateMNLogitModel(MNLogitModel):
    """A multinomial logit on the whole match state, with time interactions.

    Features (all home minus away, ``t = clock / 90``, ``r = 1 - t`` the regulation time left):

    * time: ``t``, ``t^2`` and ``log(r + 0.02)``, so a level score can drift to a near-certain
      draw at full time;
    * goal difference: ``gd``, ``gd t``, ``gd t^2`` and ``gd / sqrt(r + 0.02)``, the last one
      because a lead is worth more the less time is left (goal counts are close to Poisson);
    * ``|gd|`` and ``|gd| t``, which let the draw lose probability symmetrically;
    * red cards: ``red_diff``, ``red_diff t``;
    * xG: ``xg_diff``, ``xg_diff t`` (a side's xG so far tells how strong it is);
    * shots on target and possession differences (possession shrunk towards level by
      ``clock / (clock + 5)``, as its share over the first minutes is noise).
    """

    name: ClassVar[str] = "state_mnlogit"
    # Measured (grouped 3/5-fold CV): 60 matches 0.888 -> 0.815 log loss with 0.5, 693 matches
    # 0.6547 -> 0.6558; without it 24 matches blew up to 3.13 (the scoreboard scored 1.25).
    prior_per_match: ClassVar[float] = 0.5
    features: ClassVar[list[str]] = [
        "t",
        "t2",
        "log_left",
        "gd",
        "gd_t",
        "gd_t2",
        "gd_sqrt_left",
        "abs_gd",
        "abs_gd_t",
        "red_diff",
        "red_diff_t",
        "xg_diff",
        "xg_diff_t",
        "sot_diff",
        "poss_diff",
    ]

    def design(self, state: pd.DataFrame) -> pd.DataFrame:
        """Build the state features (see the class docstring)."""
        t, gd = state["t"], state["gd"]
        left = (1.0 - t).clip(lower=0.0) + 0.02
        red, xg = state["red_diff"], state["xg_diff"]
        return pd.DataFrame(
            {
                "t": t,
                "t2": t * t,
                "log_left": np.log(left),
                "gd": gd,
                "gd_t": gd * t,
                "gd_t2": gd * t * t,
                "gd_sqrt_left": gd / np.sqrt(left),
                "abs_gd": gd.abs(),
                "abs_gd_t": gd.abs() * t,
                "red_diff": red,
                "red_diff_t": red * t,
                "xg_diff": xg,
                "xg_diff_t": xg * t,
                "sot_diff": state["sot_diff"],
                # Possession share over the first seconds is noise (one side can hold 100 %
                # of 20 s): shrink it by the time it covers. Grouped 5-fold CV on 693 matches:
                # log loss 0.6558 -> 0.6532 (k = 5 min), first 15 minutes 0.951 -> 0.937.
                "poss_diff": state["poss_diff"] * state["clock"] / (state["clock"] + 5.0),
            },
            index=state.index,
        )


MODELS: dict[str, type[OutcomeModel]] = {
    ClimatologyModel.name: ClimatologyModel,
    ScoreboardModel.name: ScoreboardModel,
    StateMNLogitModel.name: StateMNLogitModel,
}
"""Registry of model names to classes."""


def make_model(name: str) -> OutcomeModel:
    """Return a new, unfitted model by registry name.

    Args:
        name: One of the keys of :data:`MODELS`.

    Returns:
        The model instance.

    Raises:
        ConfigError: The name is unknown; the message lists the valid names.
    """
    try:
        cls = MODELS[name]
    except KeyError:
        raise ConfigError(
            f"unknown model {name!r}; valid models: {', '.join(sorted(MODELS))}"
        ) from None
    return cls()


# --------------------------------------------------------------------------------------------
# Persistence
# --------------------------------------------------------------------------------------------


def _library_versions() -> dict[str, str | None]:
    from inplay import __version__ as inplay_version

    versions: dict[str, str | None] = {"python": platform.python_version()}
    for dist in ("pandas", "numpy", "statsmodels", "scikit-learn"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    versions["inplay"] = inplay_version
    return versions


def _json_safe(obj: Any) -> Any:
    """Convert numpy scalars/arrays and paths into plain JSON values; NaN becomes ``None``."""
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _json_safe(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def save_model(
    model: OutcomeModel,
    out_dir: Path,
    *,
    data_info: dict,
    metrics: dict | None = None,
) -> Path:
    """Write a fitted model and its model card.

    Writes ``<out_dir>/<name>/model.pkl`` (pickle) and ``<out_dir>/<name>/model_card.json``.
    The model's :attr:`~OutcomeModel.version` becomes ``<name>-<UTC timestamp>-<hash>``,
    where the hash is the SHA-256 of the pickled model (taken with the version unset).

    Args:
        model: A fitted model.
        out_dir: Folder that holds one sub-folder per model (e.g. ``config.MODELS_DIR``).
        data_info: What it was trained on, e.g. ``{"matches": 693, "rows": 63063,
            "competitions": [11, 16]}``.
        metrics: Evaluation metrics to record (e.g. grouped-CV log loss), or ``None``.

    Returns:
        The folder written, ``<out_dir>/<name>``.

    Raises:
        ConfigError: The model is not fitted.
    """
    if not model.fitted:
        raise ConfigError(f"model {model.name!r} is not fitted; nothing to save")
    target = Path(out_dir) / model.name
    target.mkdir(parents=True, exist_ok=True)

    old_version = model.version
    model.version = None
    try:
        content_hash = hashlib.sha256(pickle.dumps(model, protocol=5)).hexdigest()
    finally:
        model.version = old_version
    now = datetime.now(UTC)
    model.version = f"{model.name}-{now.strftime('%Y%m%dT%H%M%SZ')}-{content_hash[:12]}"

    buffer = io.BytesIO()
    pickle.dump(model, buffer, protocol=5)
    (target / _MODEL_FILE).write_bytes(buffer.getvalue())

    card = {
        "name": model.name,
        "version": model.version,
        "content_hash": f"sha256:{content_hash}",
        "model_class": type(model).__name__,
        "features": list(model.features),
        "classes": list(CLASSES),
        "probability_columns": list(PROB_COLUMNS),
        "trained_at": model.trained_at,
        "saved_at": now.isoformat(timespec="seconds"),
        "n_train_rows": model.n_train_rows,
        "data_info": data_info,
        "metrics": metrics,
        "parameters": model.summary(),
        "rules": {
            "extra_time": "rows with period >= 3 get the one-hot of sign(reg_home_goals - "
            "reg_away_goals), clipped to [1e-6, 1-2e-6] and renormalised",
            "min_probability": EPS,
        },
        "library_versions": _library_versions(),
    }
    (target / _CARD_FILE).write_text(json.dumps(_json_safe(card), indent=2) + "\n")
    return target


def load_model(path: Path | str) -> OutcomeModel:
    """Load a model written by :func:`save_model`.

    Args:
        path: The model folder (holding ``model.pkl``) or the ``model.pkl`` file itself.

    Returns:
        The fitted model, with its saved :attr:`~OutcomeModel.version`.

    Raises:
        ConfigError: There is no model file at ``path`` (run ``inplay fit`` first), or the file
            does not hold an :class:`OutcomeModel`.
    """
    p = Path(path)
    file = p / _MODEL_FILE if p.is_dir() or p.suffix != ".pkl" else p
    if not file.is_file():
        raise ConfigError(
            f"no trained model at {file}; run `inplay fit` first to train and save one"
        )
    with file.open("rb") as fh:
        model = pickle.load(fh)  # noqa: S301 - our own artefact
    if not isinstance(model, OutcomeModel):
        raise ConfigError(f"{file} does not hold an inplay OutcomeModel")
    return model

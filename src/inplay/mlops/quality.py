"""Live model quality: per-match scores, rolling figures over the latest matches, drift bands.

Pure functions and one small class (numpy and pandas only); the live quality worker calls them
when a match's regulation result is known.

* :func:`match_quality`: one match's log loss, Brier and RPS over its minute snapshots, the
  means of the per-row values exactly as :mod:`inplay.evaluation.metrics` computes them;
  :func:`offline_match_quality` does the same for every match of a labelled snapshot table.
* :class:`RollingQuality`: the latest ``window`` matches; :meth:`RollingQuality.figures` gives
  the means of their per-match scores and the **signed calibration error** of each class, the
  mean over the window's rows of ``p_k - 1[result = k]`` (positive: the class is given more
  probability than it happens).
* :func:`drift_band`: from one model's out-of-fold cross-validation predictions, the interval
  in which the rolling log loss and calibration errors of ``w`` matches fall with probability
  ``level`` (a bootstrap over matches); :func:`check_drift` names the figures outside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from inplay.evaluation.metrics import ROW_METRICS, reliability_table
from inplay.models.base import CLASSES, PROB_COLUMNS, encode_result

__all__ = [
    "SCORES",
    "CALIBRATION_KEYS",
    "match_quality",
    "offline_match_quality",
    "RollingQuality",
    "drift_band",
    "check_drift",
]

SCORES: tuple[str, ...] = ("log_loss", "brier", "rps")
"""The per-match scores (lower is better), as in :data:`inplay.evaluation.metrics.METRICS`."""
CALIBRATION_KEYS: tuple[str, str, str] = ("home", "draw", "away")
"""Keys of the signed calibration error of each class, in :data:`~inplay.models.CLASSES` order."""

_OOF_COLUMNS = ("match_id", "result", *PROB_COLUMNS, "clock")


def _match_arrays(probs: Any, result: str) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, probs)`` of one match's rows: every row is labelled with ``result``.

    Raises:
        ValueError: ``result`` is not H, D or A, or ``probs`` is not a non-empty ``(n, 3)``
            array of finite numbers.
    """
    if result not in CLASSES:
        raise ValueError(f"result must be one of {CLASSES}, got {result!r}")
    p = np.asarray(probs, dtype=float)
    if p.ndim != 2 or p.shape[1] != 3 or p.shape[0] == 0:
        raise ValueError(f"probabilities must have shape (n, 3) with n >= 1; got {p.shape}")
    if not np.isfinite(p).all():
        raise ValueError("probabilities must be finite numbers")
    codes = np.full(p.shape[0], int(encode_result([result])[0]), dtype=np.int64)
    return codes, p


def _scores(codes: np.ndarray, probs: np.ndarray) -> dict[str, float]:
    """Mean of each per-row score of :data:`SCORES`."""
    return {name: float(ROW_METRICS[name](codes, probs).mean()) for name in SCORES}


def _signed_errors(codes: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Per row and class, ``p_k - 1[result = k]``: an ``(n, 3)`` array."""
    errors = probs.copy()
    errors[np.arange(codes.size), codes] -= 1.0
    return errors


def _by_class(values: np.ndarray) -> dict[str, float]:
    """Three per-class values as ``{"home", "draw", "away"}`` plain floats."""
    return {key: float(v) for key, v in zip(CALIBRATION_KEYS, values, strict=True)}


def match_quality(probs: np.ndarray, result: str) -> dict[str, Any]:
    """One match's scores over its minute snapshots.

    Args:
        probs: ``(n, 3)`` home/draw/away probabilities, one row per minute snapshot.
        result: The regulation result, ``'H'``, ``'D'`` or ``'A'``.

    Returns:
        ``{"log_loss", "brier", "rps"}`` (floats, the means over the rows, as
        :func:`inplay.evaluation.metrics.log_loss` etc. compute them) and ``"n_rows"`` (int).

    Raises:
        ValueError: a bad ``result`` or ``probs`` (see the shapes above).
    """
    codes, p = _match_arrays(probs, result)
    return {**_scores(codes, p), "n_rows": int(codes.size)}


def offline_match_quality(rows: pd.DataFrame, model: Any) -> pd.DataFrame:
    """:func:`match_quality` of every match of a labelled snapshot table under ``model``.

    Args:
        rows: Minute snapshots of one or more matches with ``match_id``, ``clock`` and
            ``result`` (plus whatever the model reads).
        model: Anything with ``predict_proba(rows) -> (n, 3)`` (an
            :class:`~inplay.models.OutcomeModel`).

    Returns:
        One row per match, in order of first appearance: ``match_id``, ``result``,
        ``log_loss``, ``brier``, ``rps``, ``n_rows``.

    Raises:
        ValueError: a column is missing, or a match has more than one result.
    """
    missing = [c for c in ("match_id", "clock", "result") if c not in rows.columns]
    if missing:
        raise ValueError(f"snapshot rows lack column(s) {missing}")
    probs = np.asarray(model.predict_proba(rows), dtype=float)
    frame = rows[["match_id", "clock", "result"]].reset_index(drop=True)
    out = []
    for match_id, part in frame.groupby("match_id", sort=False):
        results = part["result"].unique()
        if len(results) != 1:
            raise ValueError(f"match {match_id} has more than one result: {sorted(results)}")
        ordered = part.sort_values("clock", kind="stable").index.to_numpy()
        quality = match_quality(probs[ordered], str(results[0]))
        out.append({"match_id": match_id, "result": str(results[0]), **quality})
    columns = ["match_id", "result", *SCORES, "n_rows"]
    return pd.DataFrame(out, columns=columns)


@dataclass(frozen=True)
class _Entry:
    """One match of the rolling window."""

    codes: np.ndarray
    probs: np.ndarray
    scores: dict[str, float]


class RollingQuality:
    """Quality figures over the latest ``window`` matches whose result is known.

    A match added again (an at-least-once reader sees duplicates) replaces its old entry in
    place, so a repeat changes nothing unless its probabilities differ; a match added after it
    left the window counts as a new one.

    Args:
        window: How many matches to keep (at least 1).

    Raises:
        ValueError: ``window`` is below 1.
    """

    def __init__(self, window: int) -> None:
        if int(window) < 1:
            raise ValueError(f"window must be at least 1, got {window}")
        self.window = int(window)
        self._entries: dict[Any, _Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def match_ids(self) -> list[Any]:
        """The window's match ids, oldest first."""
        return list(self._entries)

    def add(self, match_id: Any, probs: np.ndarray, result: str) -> dict[str, Any]:
        """Add one ended match (its minute snapshots' probabilities and its result).

        Returns:
            The match's :func:`match_quality`.

        Raises:
            ValueError: a bad ``result`` or ``probs`` (nothing changes).
        """
        codes, p = _match_arrays(probs, result)
        entry = _Entry(codes, p.copy(), _scores(codes, p))
        self._entries[match_id] = entry  # an existing key keeps its place
        while len(self._entries) > self.window:
            del self._entries[next(iter(self._entries))]
        return {**entry.scores, "n_rows": int(codes.size)}

    def _pooled(self) -> tuple[np.ndarray, np.ndarray]:
        """Codes and probabilities of every row of the window."""
        entries = list(self._entries.values())
        return (
            np.concatenate([e.codes for e in entries]),
            np.concatenate([e.probs for e in entries]),
        )

    def figures(self) -> dict[str, Any]:
        """The window's figures, JSON-safe.

        Returns:
            ``n_matches`` (int); ``log_loss``, ``brier``, ``rps``: the means of the per-match
            scores; ``calibration``: ``{"home", "draw", "away"}``, the mean over the window's
            rows of ``p_k - 1[result = k]``. The floats are None while the window is empty.
        """
        if not self._entries:
            return {
                "n_matches": 0,
                **{name: None for name in SCORES},
                "calibration": {key: None for key in CALIBRATION_KEYS},
            }
        scores = {
            name: float(np.mean([e.scores[name] for e in self._entries.values()]))
            for name in SCORES
        }
        codes, probs = self._pooled()
        calibration = _by_class(_signed_errors(codes, probs).mean(axis=0))
        return {"n_matches": len(self._entries), **scores, "calibration": calibration}

    def calibration_table(self, n_bins: int = 10) -> list[dict[str, Any]]:
        """Reliability diagram data of the window's pooled rows, JSON-safe.

        Args:
            n_bins: Equal-width bins of [0, 1] per class.

        Returns:
            One dict per class and non-empty bin (see
            :func:`inplay.evaluation.metrics.reliability_table`): ``outcome`` (H/D/A),
            ``bin``, ``mean_p``, ``observed``, ``n_rows``, ``weight``; ``[]`` when empty.
        """
        if not self._entries:
            return []
        codes, probs = self._pooled()
        table = reliability_table(codes, probs, n_bins)
        return [
            {
                "outcome": str(row.outcome),
                "bin": int(row.bin),
                "mean_p": float(row.mean_p),
                "observed": float(row.observed),
                "n_rows": int(row.n_rows),
                "weight": float(row.weight),
            }
            for row in table.itertuples(index=False)
        ]


def _per_match(oof: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per match: log loss, the sums of ``p_k - 1[result = k]`` (``(m, 3)``) and row counts.

    Raises:
        ValueError: a column is missing, the frame holds several models or no row, or a match
            has more than one result.
    """
    missing = [c for c in _OOF_COLUMNS if c not in oof.columns]
    if missing:
        raise ValueError(f"out-of-fold predictions lack column(s) {missing}")
    if "model" in oof.columns and oof["model"].nunique() > 1:
        raise ValueError(
            f"out-of-fold predictions of several models: {sorted(oof['model'].unique())}"
        )
    if oof.empty:
        raise ValueError("no out-of-fold predictions")
    log_loss, sums, n_rows = [], [], []
    for match_id, part in oof.sort_values(["match_id", "clock"], kind="stable").groupby("match_id"):
        results = part["result"].unique()
        if len(results) != 1:
            raise ValueError(f"match {match_id} has more than one result: {sorted(results)}")
        codes, probs = _match_arrays(part[list(PROB_COLUMNS)].to_numpy(), str(results[0]))
        log_loss.append(_scores(codes, probs)["log_loss"])
        sums.append(_signed_errors(codes, probs).sum(axis=0))
        n_rows.append(codes.size)
    return np.array(log_loss), np.array(sums), np.array(n_rows, dtype=float)


def _interval(values: np.ndarray, level: float) -> list[float]:
    """The central ``level`` interval of ``values`` (along axis 0)."""
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(values, [tail, 1.0 - tail])
    return [float(low), float(high)]


def _window_band(
    log_loss: np.ndarray, sums: np.ndarray, n_rows: np.ndarray, draws: np.ndarray, level: float
) -> dict[str, Any]:
    """The intervals of one window size from ``draws``, an ``(n_boot, w)`` array of matches."""
    calibration = sums[draws].sum(axis=1) / n_rows[draws].sum(axis=1)[:, None]
    return {
        "log_loss": _interval(log_loss[draws].mean(axis=1), level),
        "calibration": {
            key: _interval(calibration[:, k], level) for k, key in enumerate(CALIBRATION_KEYS)
        },
    }


def drift_band(
    oof: pd.DataFrame,
    windows: Sequence[int] = (10, 25, 50),
    level: float = 0.99,
    n_boot: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """Where a model's rolling figures over ``w`` matches should fall, from its CV.

    From one model's out-of-fold minute-snapshot predictions
    (:func:`inplay.evaluation.cv.grouped_cv_predictions`), for each window ``w``: ``n_boot``
    windows of ``w`` matches drawn with replacement, each draw's figures computed as
    :meth:`RollingQuality.figures` does (log loss: mean of the per-match values; calibration:
    mean over the drawn matches' rows).

    Args:
        oof: Out-of-fold predictions of one model: ``match_id``, ``result``, ``p_home``,
            ``p_draw``, ``p_away``, ``clock`` (a ``model`` column, if any, has one value).
        windows: Window sizes (matches).
        level: Probability of the central interval, in (0, 1).
        n_boot: Bootstrap draws per window.
        seed: Seed of the draws.

    Returns:
        A JSON-safe dict: ``method`` (one sentence), ``level``, ``n_boot``, ``seed``,
        ``n_matches``, ``mean`` (the whole OOF's ``log_loss`` and ``calibration``) and
        ``windows``: ``{"<w>": {"log_loss": [low, high], "calibration": {"home": [low, high],
        "draw": [...], "away": [...]}}}``.

    Raises:
        ValueError: bad ``oof`` (see :func:`_per_match`), ``level`` not in (0, 1), or a window
            or ``n_boot`` below 1.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if n_boot < 1 or not windows or min(windows) < 1:
        raise ValueError("n_boot and every window must be at least 1")
    log_loss, sums, n_rows = _per_match(oof)
    rng = np.random.default_rng(seed)
    bands = {
        str(w): _window_band(
            log_loss, sums, n_rows, rng.integers(0, log_loss.size, (n_boot, w)), level
        )
        for w in sorted({int(w) for w in windows})
    }
    return {
        "method": (
            f"central {level:.0%} interval of the rolling figures of w matches drawn with "
            f"replacement ({n_boot} draws) from the model's {log_loss.size} out-of-fold matches"
        ),
        "level": float(level),
        "n_boot": int(n_boot),
        "seed": int(seed),
        "n_matches": int(log_loss.size),
        "mean": {
            "log_loss": float(log_loss.mean()),
            "calibration": _by_class(sums.sum(axis=0) / n_rows.sum()),
        },
        "windows": bands,
    }


def _outside(statistic: str, value: Any, interval: list[float], window: int) -> list[dict]:
    """``[flag]`` when ``value`` is a number outside ``interval``, else ``[]``."""
    if value is None:
        return []
    low, high = interval
    if low <= value <= high:
        return []
    return [
        {"statistic": statistic, "value": float(value), "low": low, "high": high, "window": window}
    ]


def check_drift(figures: dict[str, Any], band: dict[str, Any]) -> list[dict[str, Any]]:
    """The rolling figures outside their band.

    The band used is that of the largest window of ``band`` not above
    ``figures["n_matches"]``; before the smallest window is full nothing is checked.

    Args:
        figures: :meth:`RollingQuality.figures`.
        band: :func:`drift_band`.

    Returns:
        One dict per statistic outside its interval: ``statistic`` (``log_loss`` or
        ``calibration.home`` / ``.draw`` / ``.away``), ``value``, ``low``, ``high``,
        ``window``; ``[]`` when every figure is inside (or none is checked yet).
    """
    sizes = [int(w) for w in band["windows"] if int(w) <= figures["n_matches"]]
    if not sizes:
        return []
    window = max(sizes)
    limits = band["windows"][str(window)]
    flags = _outside("log_loss", figures["log_loss"], limits["log_loss"], window)
    for key in CALIBRATION_KEYS:
        flags += _outside(
            f"calibration.{key}",
            figures["calibration"][key],
            limits["calibration"][key],
            window,
        )
    return flags

"""Out-of-fold recalibration of 3-class probabilities."""

from __future__ import annotations

import warnings

import numpy as np

from inplay.models.base import EPS, softmax_rows

__all__ = ["Calibrator"]


class Calibrator:
    """Multinomial recalibration of 3-class probabilities (vector scaling with time terms).

    The calibrated log-odds of D and A against H are a linear function of the log-odds of the
    input, the same multiplied by ``t``, and ``t`` (statsmodels ``MNLogit``, fitted on
    out-of-fold predictions so it corrects the errors a model makes on matches it has not
    seen).
    """

    def __init__(self) -> None:
        self.params_: np.ndarray | None = None

    @staticmethod
    def _design(p: np.ndarray, t: np.ndarray, base: np.ndarray | None = None) -> np.ndarray:
        cols = [np.ones(len(p))]
        for probs in (p,) if base is None else (p, base):
            logp = np.log(np.clip(probs, EPS, 1.0))
            d = logp[:, 1] - logp[:, 0]
            a = logp[:, 2] - logp[:, 0]
            cols += [d, a, d * t, a * t]
        return np.column_stack([*cols, t])

    def fit(
        self, p: np.ndarray, t: np.ndarray, y: np.ndarray, base: np.ndarray | None = None
    ) -> Calibrator:
        """Fit on probabilities ``p`` (n, 3), times ``t`` in [0, 1] and result codes ``y``.

        ``base``: optional second set of probabilities of the same rows (another model) whose
        log-odds join the design, which makes the calibrator a stacker of the two.
        """
        from statsmodels.discrete.discrete_model import MNLogit

        x = self._design(p, t, base)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = MNLogit(y, x).fit(method="newton", maxiter=100, disp=False)
        params = np.asarray(res.params, dtype=float).reshape(x.shape[1], 2)
        if not np.all(np.isfinite(params)):
            params = np.zeros_like(params)
            params[1, 0] = params[2, 1] = 1.0  # identity
        self.params_ = params
        return self

    def transform(self, p: np.ndarray, t: np.ndarray, base: np.ndarray | None = None) -> np.ndarray:
        """Return the calibrated probabilities (pass ``base`` if it was fitted with one)."""
        assert self.params_ is not None
        eta = self._design(p, t, base) @ self.params_
        return softmax_rows(np.column_stack([np.zeros(len(eta)), eta]))

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
        #: Covariance of ``params_.ravel(order="F")`` (equation D's, then A's), clustered by
        #: the ``groups`` given to :meth:`fit`; None when fitted without groups.
        self.cov_: np.ndarray | None = None

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
        self,
        p: np.ndarray,
        t: np.ndarray,
        y: np.ndarray,
        base: np.ndarray | None = None,
        groups: np.ndarray | None = None,
    ) -> Calibrator:
        """Fit on probabilities ``p`` (n, 3), times ``t`` in [0, 1] and result codes ``y``.

        Args:
            p: The probabilities to recalibrate.
            t: Match time of each row in [0, 1].
            y: Result codes (0 H, 1 D, 2 A).
            base: Optional second set of probabilities of the same rows (another model)
                whose log-odds join the design, which makes the calibrator a stacker of the two.
            groups: Each row's match: the parameters' covariance (``cov_``) is then clustered
                by it (the rows of a match share its result; for the uncertainty band).
        """
        from statsmodels.discrete.discrete_model import MNLogit

        x = self._design(p, t, base)
        model, res = MNLogit(y, x), None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if groups is not None:
                try:  # one match, or a degenerate design, has no clustered covariance
                    res = model.fit(
                        method="newton",
                        maxiter=100,
                        disp=False,
                        cov_type="cluster",
                        cov_kwds={"groups": groups},
                    )
                except (np.linalg.LinAlgError, ValueError, ZeroDivisionError):
                    res = None
            robust = res is not None
            if res is None:
                res = model.fit(method="newton", maxiter=100, disp=False)
        params = np.asarray(res.params, dtype=float).reshape(x.shape[1], 2)
        self.cov_ = None
        if not np.all(np.isfinite(params)):
            params = np.zeros_like(params)
            params[1, 0] = params[2, 1] = 1.0  # identity
        elif robust:
            cov = np.asarray(res.cov_params(), dtype=float)
            self.cov_ = cov if np.all(np.isfinite(cov)) else None
        self.params_ = params
        return self

    def with_params(self, flat: np.ndarray) -> Calibrator:
        """A copy with the parameters ``flat`` (in the order of ``cov_``), for the band's draws."""
        other = Calibrator()
        other.params_ = np.asarray(flat, dtype=float).reshape(self.params_.shape, order="F")
        return other

    def transform(self, p: np.ndarray, t: np.ndarray, base: np.ndarray | None = None) -> np.ndarray:
        """Return the calibrated probabilities (pass ``base`` if it was fitted with one)."""
        assert self.params_ is not None
        eta = self._design(p, t, base) @ self.params_
        return softmax_rows(np.column_stack([np.zeros(len(eta)), eta]))

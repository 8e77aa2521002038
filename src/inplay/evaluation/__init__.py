"""Evaluation of the outcome models.

Modules: :mod:`.metrics` (scoring rules, ECE), :mod:`.cv` (match-grouped folds and out-of-fold
predictions), :mod:`.tables` (comparison tables), :mod:`.figures` (reliability diagrams),
:mod:`.evaluate` (:func:`~inplay.evaluation.evaluate.evaluate` in one call, re-exporting the
names of the others) and :mod:`.backtest`.

Nothing is re-exported here on purpose: ``from inplay.evaluation import evaluate`` must keep
giving the :mod:`.evaluate` module (notebook 03 calls ``evaluate.with_priors`` etc.).
"""

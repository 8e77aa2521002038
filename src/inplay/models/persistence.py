"""Saving and loading fitted models with a JSON model card.

:func:`save_model` writes ``<out_dir>/<name>/model.pkl`` and ``model_card.json``;
:func:`load_model` reads it back.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import platform
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from inplay.config import ConfigError
from inplay.models.base import CLASSES, EPS, PROB_COLUMNS, OutcomeModel

__all__ = ["MODEL_FILE", "CARD_FILE", "json_safe", "model_card", "save_model", "load_model"]

MODEL_FILE = "model.pkl"
CARD_FILE = "model_card.json"


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


def json_safe(obj: Any) -> Any:
    """Convert numpy scalars/arrays and paths into plain JSON values; NaN becomes ``None``."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_safe(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def _stamp_version(model: OutcomeModel) -> tuple[str, datetime]:
    """Set ``model.version`` to ``<name>-<UTC timestamp>-<hash>``; return the hash and time.

    The hash is the SHA-256 of the pickled model, taken with the version unset.
    """
    old_version = model.version
    model.version = None
    try:
        content_hash = hashlib.sha256(pickle.dumps(model, protocol=5)).hexdigest()
    finally:
        model.version = old_version
    now = datetime.now(UTC)
    model.version = f"{model.name}-{now.strftime('%Y%m%dT%H%M%SZ')}-{content_hash[:12]}"
    return content_hash, now


def model_card(
    model: OutcomeModel,
    content_hash: str,
    saved_at: datetime,
    data_info: dict,
    metrics: dict | None,
) -> dict[str, Any]:
    """Return the model card of a model stamped by :func:`save_model` (not yet JSON-safe).

    Args:
        model: The fitted model, with its saved version.
        content_hash: SHA-256 (hex) of the pickled model.
        saved_at: When it was saved (UTC).
        data_info: What it was trained on.
        metrics: Evaluation metrics to record, or ``None``.

    Returns:
        The card: name, version, hash, class, features, classes, training and saving times,
        data, metrics, fitted parameters, the extra-time rule and the library versions.
    """
    return {
        "name": model.name,
        "version": model.version,
        "content_hash": f"sha256:{content_hash}",
        "model_class": type(model).__name__,
        "features": list(model.features),
        "classes": list(CLASSES),
        "probability_columns": list(PROB_COLUMNS),
        "trained_at": model.trained_at,
        "saved_at": saved_at.isoformat(timespec="seconds"),
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
    content_hash, now = _stamp_version(model)
    buffer = io.BytesIO()
    pickle.dump(model, buffer, protocol=5)
    (target / MODEL_FILE).write_bytes(buffer.getvalue())
    card = model_card(model, content_hash, now, data_info, metrics)
    (target / CARD_FILE).write_text(json.dumps(json_safe(card), indent=2) + "\n")
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
    file = p / MODEL_FILE if p.is_dir() or p.suffix != ".pkl" else p
    if not file.is_file():
        raise ConfigError(
            f"no trained model at {file}; run `inplay fit` first to train and save one"
        )
    with file.open("rb") as fh:
        model = pickle.load(fh)  # noqa: S301 - our own artefact
    if not isinstance(model, OutcomeModel):
        raise ConfigError(f"{file} does not hold an inplay OutcomeModel")
    return model

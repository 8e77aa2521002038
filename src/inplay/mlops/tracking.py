"""Tracked experiments: one MLflow run per fitted model, registered as a model version.

The store is ``MLFLOW_TRACKING_URI``, by default the SQLite file ``<output>/mlruns/mlflow.db``
(:func:`tracking_uri`); a local SQLite store keeps its artifacts in ``artifacts/`` beside the
file, whatever the working directory. :func:`log_fit` records one fit (parameters, data,
cross-validation metrics overall and per 15-minute bin, the reliability figure, the model
folder) and registers the model folder as a new version of the registered model
(:class:`~inplay.mlops.registry.Registry`); :func:`log_fits` does it for every model of an
``inplay fit`` and moves the ``champion`` alias to the selected one.

MLflow is imported inside the functions: importing it takes about 1.5 s.
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inplay import config

if TYPE_CHECKING:
    import pandas as pd

    from inplay.evaluation.evaluate import EvaluationResult
    from inplay.mlops.registry import Registry
    from inplay.models import OutcomeModel

__all__ = [
    "EXPERIMENT",
    "RELIABILITY_FILE",
    "tracking_uri",
    "artifact_location",
    "experiment_id",
    "use_store",
    "log_fit",
    "log_fits",
]

EXPERIMENT = "inplay"
RELIABILITY_FILE = "reliability.html"


def tracking_uri() -> str:
    """The MLflow store: ``MLFLOW_TRACKING_URI``, else ``sqlite:///<config.MLFLOW_DIR>/mlflow.db``.

    The default store's folder is created.
    """
    uri = config.env_str("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    folder = config.MLFLOW_DIR
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'mlflow.db'}"


def artifact_location(uri: str) -> str | None:
    """Where a new experiment of store ``uri`` keeps its artifacts.

    Returns:
        For a SQLite file, the ``file://`` URI of ``artifacts/`` beside it (MLflow would
        otherwise use ``./mlruns`` of the working directory); else None (the server decides).
    """
    prefix = "sqlite:///"
    if not uri.startswith(prefix):
        return None
    database = Path(uri[len(prefix) :]).resolve()
    return (database.parent / "artifacts").as_uri()


def experiment_id(client: Any, uri: str, name: str = EXPERIMENT) -> str:
    """The id of experiment ``name`` in the store of ``client``, created when missing.

    Args:
        client: An ``mlflow.MlflowClient`` of store ``uri``.
        uri: The store's URI (decides the artifact location of a new experiment).
        name: The experiment's name.
    """
    from mlflow.exceptions import MlflowException

    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    try:
        return client.create_experiment(name, artifact_location=artifact_location(uri))
    except MlflowException:  # created meanwhile by another process
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return found.experiment_id


def use_store(uri: str | None = None) -> str:
    """Point MLflow's fluent API (``mlflow.start_run`` ...) at inplay's store and experiment.

    For a notebook or script that logs its own runs; the setting stays for the process.

    Args:
        uri: The store (default :func:`tracking_uri`).

    Returns:
        The experiment id.

    Raises:
        RegistryUnavailable: The store cannot be reached.
    """
    import mlflow

    from inplay.mlops.registry import store_errors

    uri = uri or tracking_uri()
    with store_errors(uri, "open the experiment"):
        mlflow.set_tracking_uri(uri)
        experiment = experiment_id(mlflow.MlflowClient(uri), uri)
        mlflow.set_experiment(experiment_id=experiment)
    return experiment


def _bin_metrics(result: EvaluationResult, name: str) -> dict[str, float]:
    """``bin_<start>_<end>_<metric>`` for each clock bin of model ``name``."""
    width = float(result.settings.get("bin_width", 15))
    rows = result.by_bin[result.by_bin["model"] == name]
    out: dict[str, float] = {}
    for row in rows.to_dict(orient="records"):
        start = float(row.pop("bin_start"))
        prefix = f"bin_{int(start):02d}_{int(min(start + width, 90.0)):02d}_"
        out.update({prefix + k: v for k, v in row.items() if k not in ("model", "bin")})
    return out


def _numeric(values: Mapping[str, Any]) -> dict[str, float]:
    """The finite numbers of ``values`` as floats (MLflow metrics)."""
    out = {}
    for key, value in values.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            if math.isfinite(float(value)):
                out[key] = float(value)
    return out


def _params(model: OutcomeModel, result: EvaluationResult, train: pd.DataFrame) -> dict:
    """The run's parameters: the model, the cross-validation and the training data."""
    settings = result.settings
    return {
        "model_name": model.name,
        "model_class": type(model).__name__,
        "inplay_version": model.version,
        "features": ",".join(model.features),
        "n_splits": settings.get("n_splits"),
        "seed": settings.get("seed"),
        "split": settings.get("split"),
        "competitions": ",".join(str(int(c)) for c in sorted(train["competition_id"].unique())),
        "n_train_matches": int(train["match_id"].nunique()),
        "n_train_rows": len(train),
    }


def _log_run(client: Any, run_id: str, model: OutcomeModel, model_dir: Path, result, train):
    """Log the parameters, metrics and artifacts of one fit into run ``run_id``."""
    from mlflow.entities import Metric, Param

    from inplay.evaluation.figures import reliability_figure
    from inplay.mlops.registry import MODEL_ARTIFACT, TRAIN_MATCHES_FILE

    overall = result.overall[result.overall["model"] == model.name].to_dict(orient="records")
    values = _numeric({**(overall[0] if overall else {}), **_bin_metrics(result, model.name)})
    now = int(1000 * time.time())
    params = [Param(k, str(v)) for k, v in _params(model, result, train).items()]
    metrics = [Metric(k, v, now, 0) for k, v in sorted(values.items())]
    client.log_batch(run_id, metrics=metrics, params=params)  # well under 1000 metrics
    with tempfile.TemporaryDirectory(prefix="inplay-mlflow-") as tmp:
        oof = result.oof[result.oof["model"] == model.name]
        if not oof.empty:
            figure = reliability_figure(oof, [model.name])
            figure.write_html(Path(tmp) / RELIABILITY_FILE, include_plotlyjs="cdn")
            client.log_artifact(run_id, str(Path(tmp) / RELIABILITY_FILE))
        ids = sorted(int(m) for m in train["match_id"].unique())
        (Path(tmp) / TRAIN_MATCHES_FILE).write_text(json.dumps(ids))
        client.log_artifacts(run_id, str(model_dir), MODEL_ARTIFACT)
        client.log_artifact(run_id, str(Path(tmp) / TRAIN_MATCHES_FILE), MODEL_ARTIFACT)


def log_fit(
    model: OutcomeModel,
    model_dir: Path,
    result: EvaluationResult,
    train: pd.DataFrame,
    registry: Registry | None = None,
) -> tuple[str, int]:
    """Record one fitted model as an MLflow run and register it as a new model version.

    The run (experiment ``inplay``, named after the model's version) holds: parameters
    (model name and class, inplay version, features, CV folds, seed and split, competitions,
    training matches and rows); the model's numeric CV metrics overall (``log_loss``,
    ``brier``, ``rps``, ``accuracy``, ``ece`` ...) and per clock bin
    (``bin_00_15_log_loss`` ...); ``reliability.html``; and the artifact folder ``model``
    (``model.pkl``, ``model_card.json``, ``train_matches.json``), which becomes the version's
    source, tagged with ``inplay_version`` and ``model_name``.

    Args:
        model: The fitted, saved model.
        model_dir: Its folder written by :func:`inplay.models.save_model`.
        result: The cross-validation that measured it (:func:`inplay.evaluation.evaluate`).
        train: The snapshot rows it was fitted on (``match_id``, ``competition_id``).
        registry: The registry to register in (default ``Registry()``).

    Returns:
        (the run id, the new version number)

    Raises:
        RegistryUnavailable: The store cannot be reached or refused the run.
    """
    from inplay.mlops.registry import MODEL_ARTIFACT, Registry, store_errors

    registry = registry or Registry()
    with store_errors(registry.uri, f"log the fit of {model.name}"):
        client = registry.client
        experiment = experiment_id(client, registry.uri)
        run = client.create_run(experiment, run_name=model.version or model.name)
        run_id = run.info.run_id
        try:
            _log_run(client, run_id, model, Path(model_dir), result, train)
        except BaseException:
            client.set_terminated(run_id, "FAILED")
            raise
        client.set_terminated(run_id)
    tags = {"inplay_version": model.version or "", "model_name": model.name}
    version = registry.register(f"{run.info.artifact_uri}/{MODEL_ARTIFACT}", run_id, tags)
    return run_id, version


def log_fits(
    fits: Mapping[str, tuple[OutcomeModel, Path]],
    result: EvaluationResult,
    train: pd.DataFrame,
    champion: str | None = None,
    registry: Registry | None = None,
) -> dict[str, tuple[str, int]]:
    """:func:`log_fit` for each model of one fit; then make ``champion``'s version the champion.

    Args:
        fits: Model name -> (fitted model, its saved folder).
        result: The cross-validation that measured them.
        train: The snapshot rows they were fitted on.
        champion: The model whose new version gets the ``champion`` alias (None: no change).
        registry: The registry (default ``Registry()``).

    Returns:
        Model name -> (run id, version).

    Raises:
        RegistryUnavailable: The store cannot be reached.
    """
    from inplay.mlops.registry import Registry

    registry = registry or Registry()
    logged = {
        name: log_fit(model, folder, result, train, registry)
        for name, (model, folder) in fits.items()
    }
    if champion is not None:
        registry.set_champion(logged[champion][1])
    return logged

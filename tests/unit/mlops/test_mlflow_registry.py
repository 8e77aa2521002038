"""Tracked fits and the model registry on a real MLflow store (a SQLite file in tmp).

One ``fit_models`` run on synthetic snapshots is shared by the module (MLflow's first use of a
store takes seconds); the tests that change the champion use their own registered model name.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from synthetic import make_snapshots, with_teams

from inplay import config
from inplay.cli.parser import build_parser
from inplay.errors import ModelError
from inplay.mlops.registry import (
    CHAMPION,
    TRAIN_MATCHES_FILE,
    Registry,
    RegistryUnavailable,
)
from inplay.mlops.tracking import EXPERIMENT, RELIABILITY_FILE, artifact_location, tracking_uri
from inplay.models import load_model
from inplay.pipeline import fit_models

MODELS = ["scoreboard", "state_mnlogit"]
BINS = ["00_15", "15_30", "30_45", "45_60", "60_75", "75_90"]


@dataclass
class Fit:
    """The shared fit: its store, snapshots, models folder, result and selected model."""

    uri: str
    store: Path
    workdir: Path
    snapshots: pd.DataFrame
    models_dir: Path
    result: object
    selected: str


@pytest.fixture(scope="module")
def fit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fit]:
    """``fit_models`` with tracking into a SQLite store, run from an unrelated folder."""
    root = tmp_path_factory.mktemp("mlflow")
    store, workdir, processed = root / "store", root / "cwd", root / "processed"
    for folder in (store, workdir, processed):
        folder.mkdir()
    snapshots = with_teams(make_snapshots(n_matches=48, seed=3))
    snapshots.to_parquet(processed / "snapshots_minute.parquet")
    uri = f"sqlite:///{store / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", uri)
        mp.setenv("INPLAY_OUTPUT_DIR", str(root / "out"))
        mp.setenv("INPLAY_DATA_DIR", str(root / "no-statsbomb"))
        mp.delenv("INPLAY_REGISTERED_MODEL", raising=False)
        mp.chdir(workdir)
        result, selected = fit_models(MODELS, snapshots_dir=processed, n_splits=3)
        yield Fit(uri, store, workdir, snapshots, config.MODELS_DIR, result, selected)


def runs(fit: Fit) -> pd.DataFrame:
    import mlflow

    client = mlflow.MlflowClient(fit.uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    found = client.search_runs([experiment.experiment_id])
    return pd.DataFrame(
        {
            "run_id": r.info.run_id,
            "status": r.info.status,
            "artifact_uri": r.info.artifact_uri,
            "params": r.data.params,
            "metrics": r.data.metrics,
        }
        for r in found
    )


def artifact_files(client, run_id: str, path: str = "") -> set[str]:
    out: set[str] = set()
    for item in client.list_artifacts(run_id, path or None):
        out |= artifact_files(client, run_id, item.path) if item.is_dir else {item.path}
    return out


def test_fit_logs_one_run_per_model_with_overall_and_bin_metrics(fit: Fit) -> None:
    import mlflow

    table = runs(fit)
    assert sorted(p["model_name"] for p in table["params"]) == sorted(MODELS)
    assert set(table["status"]) == {"FINISHED"}
    overall = fit.result.overall.set_index("model")
    by_bin = fit.result.by_bin.set_index(["model", "bin_start"])
    client = mlflow.MlflowClient(fit.uri)
    for row in table.itertuples():
        name, metrics, params = row.params["model_name"], row.metrics, row.params
        for key in ("log_loss", "brier", "rps", "accuracy", "ece"):
            assert metrics[key] == pytest.approx(overall.loc[name, key], rel=1e-12), key
        for start, label in zip(range(0, 90, 15), BINS, strict=True):
            expected = by_bin.loc[(name, float(start)), "log_loss"]
            assert metrics[f"bin_{label}_log_loss"] == pytest.approx(expected, rel=1e-12)
            assert metrics[f"bin_{label}_n_rows"] == by_bin.loc[(name, float(start)), "n_rows"]
        assert params["n_splits"] == "3" and params["seed"] == "0" and params["split"] == "match"
        assert params["competitions"] == "11,16,43"
        assert params["n_train_matches"] == "48" and params["n_train_rows"] == str(48 * 91)
        card = json.loads((fit.models_dir / name / "model_card.json").read_text())
        assert params["inplay_version"] == card["version"]
        assert params["features"] == ",".join(card["features"])
        files = artifact_files(client, row.run_id)
        assert files == {
            RELIABILITY_FILE,
            "model/model.pkl",
            "model/model_card.json",
            f"model/{TRAIN_MATCHES_FILE}",
        }


def test_artifacts_go_beside_the_sqlite_file_not_the_working_directory(fit: Fit) -> None:
    assert set(runs(fit)["artifact_uri"].str.startswith((fit.store / "artifacts").as_uri())) == {
        True
    }
    assert not (fit.workdir / "mlruns").exists()
    assert artifact_location(fit.uri) == (fit.store / "artifacts").as_uri()
    assert artifact_location("http://mlflow.example:5000") is None


def test_champion_is_the_selected_model_and_loads_like_the_saved_one(fit: Fit) -> None:
    registry = Registry(fit.uri)
    assert registry.name == "inplay"
    champion = registry.champion()
    assert champion is not None
    saved = load_model(fit.models_dir / fit.selected)
    assert (champion.model_name, champion.inplay_version) == (fit.selected, saved.version)
    assert champion.aliases == (CHAMPION,)
    assert runs(fit).set_index("run_id").loc[champion.run_id, "params"]["model_name"] == (
        fit.selected
    )
    folder = registry.download()
    assert folder.parent == config.MLFLOW_DIR / "downloads"
    assert folder.name.startswith(f"inplay-v{champion.version}-")
    assert registry.download(champion.version) == folder  # downloaded once
    card = json.loads((folder / "model_card.json").read_text())
    assert card["version"] == saved.version
    loaded = registry.load()
    assert type(loaded) is type(saved) and loaded.version == saved.version
    rows = fit.snapshots.iloc[::7]
    assert np.array_equal(loaded.predict_proba(rows), saved.predict_proba(rows))
    assert registry.train_match_ids() == sorted(fit.snapshots["match_id"].unique().tolist())
    assert registry.train_match_ids(champion.version) == registry.train_match_ids()


def test_versions_list_every_fit_with_its_tags(fit: Fit) -> None:
    versions = Registry(fit.uri).versions()
    assert [v.version for v in versions] == [1, 2]
    assert [v.model_name for v in versions] == MODELS  # registered in fitting order
    assert [bool(v.aliases) for v in versions] == [m == fit.selected for m in MODELS]
    for info in versions:
        card = json.loads((fit.models_dir / info.model_name / "model_card.json").read_text())
        assert info.inplay_version == card["version"]


def test_champion_alias_moves_between_registered_versions(fit: Fit) -> None:
    registry = Registry(fit.uri, name="moves")
    assert registry.champion() is None
    first = registry.register(fit.models_dir / "scoreboard", tags={"model_name": "scoreboard"})
    second = registry.register(
        fit.models_dir / "state_mnlogit", tags={"model_name": "state_mnlogit"}
    )
    assert (first, second) == (1, 2)
    assert registry.champion() is None  # registering does not promote
    registry.set_champion(first)
    assert registry.champion().version == first
    registry.set_champion(second)
    champion = registry.champion()
    assert (champion.version, champion.model_name) == (second, "state_mnlogit")
    assert [v.aliases for v in registry.versions()] == [(), (CHAMPION,)]
    assert registry.load().name == "state_mnlogit"
    assert registry.load(first).name == "scoreboard"
    with pytest.raises(ModelError, match=f"has no {TRAIN_MATCHES_FILE}"):
        registry.train_match_ids(first)  # a bare folder, not logged by log_fit
    with pytest.raises(ModelError, match="has no version 9"):
        registry.set_champion(9)
    assert registry.champion().version == second


def test_no_promote_registers_new_versions_and_keeps_the_champion(
    fit: Fit, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", fit.uri)
    monkeypatch.setenv("INPLAY_REGISTERED_MODEL", "no-promote")
    monkeypatch.setenv("INPLAY_DATA_DIR", str(tmp_path / "no-statsbomb"))
    processed = tmp_path / "processed"
    processed.mkdir()
    fit.snapshots.to_parquet(processed / "snapshots_minute.parquet")
    registry = Registry()
    assert (registry.uri, registry.name) == (fit.uri, "no-promote")

    fit_models(["scoreboard"], processed, tmp_path / "models", n_splits=2, promote=False)
    assert registry.champion() is None
    assert [v.model_name for v in registry.versions()] == ["scoreboard"]
    fit_models(["scoreboard"], processed, tmp_path / "models", n_splits=2)
    assert registry.champion().version == 2


def test_no_champion_yet_is_none_and_loading_it_says_so(fit: Fit) -> None:
    registry = Registry(fit.uri, name="never-registered")
    assert registry.champion() is None
    assert registry.versions() == []
    with pytest.raises(ModelError, match="has no champion yet"):
        registry.load()
    with pytest.raises(ModelError, match="has no version 3"):
        registry.load(3)


def test_unreachable_store_raises_registry_unavailable_quickly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    registry = Registry("http://127.0.0.1:9")
    started = time.monotonic()
    for call in (registry.champion, registry.versions, lambda: registry.register("file:///m")):
        with pytest.raises(RegistryUnavailable, match="MLFLOW_TRACKING_URI") as caught:
            call()
        assert "http://127.0.0.1:9" in str(caught.value)
    assert time.monotonic() - started < 10


def test_default_store_is_a_sqlite_file_under_the_output_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("INPLAY_OUTPUT_DIR", str(tmp_path / "out"))
    assert tracking_uri() == f"sqlite:///{tmp_path / 'out' / 'mlruns' / 'mlflow.db'}"
    assert (tmp_path / "out" / "mlruns").is_dir()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.example:5000")
    assert tracking_uri() == "http://mlflow.example:5000"


def test_fit_command_takes_no_promote() -> None:
    parser = build_parser()
    assert parser.parse_args(["fit"]).promote is True
    assert parser.parse_args(["fit", "--no-promote"]).promote is False

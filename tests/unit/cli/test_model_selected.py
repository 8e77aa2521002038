"""``inplay score`` and ``inplay backtest`` take ``--model selected`` (models/selected.json)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from inplay import cli, config
from inplay.cli import commands


@pytest.fixture
def output(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """INPLAY_OUTPUT_DIR set after import: models/ (and selected.json) live under it."""
    monkeypatch.setenv("INPLAY_OUTPUT_DIR", str(tmp_path / "out"))
    monkeypatch.delenv("INPLAY_DEBUG", raising=False)
    monkeypatch.setenv("INPLAY_PROGRESS", "0")
    return tmp_path / "out"


def select(output: Path, name: str) -> None:
    (output / "models").mkdir(parents=True)
    (output / "models" / "selected.json").write_text(json.dumps({"model": name}))


def test_help_says_model_selected(capsys: pytest.CaptureFixture) -> None:
    for command in ("score", "backtest"):
        with pytest.raises(SystemExit):
            cli.main([command, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert "'selected' = the model `inplay fit` (or notebook 03) chose" in text, command
        assert "models/selected.json" in text


def test_score_model_selected_loads_the_selected_model(
    monkeypatch: pytest.MonkeyPatch, output: Path, capsys: pytest.CaptureFixture
) -> None:
    select(output, "goal_rate")
    loaded: list[Path] = []
    scored: list[object] = []
    monkeypatch.setattr("inplay.models.load_model", lambda path: loaded.append(Path(path)))
    monkeypatch.setattr(commands, "require_topics", lambda args, topics: "localhost:1")

    def score_live(model, **kwargs):
        scored.append(model)
        return SimpleNamespace(summary=lambda: "scored 0 events")

    monkeypatch.setattr("inplay.pipeline.score_live", score_live)
    assert cli.main(["score", "--model", "selected", "--max-events", "1"]) == 0
    assert loaded == [config.MODELS_DIR / "goal_rate"]
    assert config.MODELS_DIR == output / "models"
    assert scored == ["selected"]  # the selected model, fixed (not following the champion)
    assert "scored 0 events" in capsys.readouterr().out


def test_backtest_model_selected_fits_the_selected_model(
    monkeypatch: pytest.MonkeyPatch, output: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    select(output, "state_mnlogit")
    for name in ("train", "test"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "competitions.json").write_text("[]")
    fitted: list[str] = []

    def backtest(train, test, model_name, out=None, workers=2):
        fitted.append(model_name)
        return pd.DataFrame({"match_id": [1, 1], "minute": [0, 1]})

    monkeypatch.setattr("inplay.evaluation.backtest.backtest", backtest)
    argv = ["backtest", "--train-data", str(tmp_path / "train"), "--test-data"]
    argv += [str(tmp_path / "test"), "--model", "selected", "--out", str(tmp_path / "p.csv")]
    assert cli.main(argv) == 0
    assert fitted == ["state_mnlogit"]
    assert "wrote 2 rows (1 matches)" in capsys.readouterr().out

    (output / "models" / "selected.json").unlink()
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: inplay backtest: --model selected: no fitted model in ")
    assert "inplay fit" in err

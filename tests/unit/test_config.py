"""config: one declaration of every setting, read when used; paths follow the environment."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from inplay import config
from inplay.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    ROOT / "tests" / "conftest.py",
    ROOT / "tests" / "jvm_broker.py",
    *sorted((ROOT / "src" / "inplay").rglob("*.py")),
    *sorted((ROOT / "benchmarks").rglob("*.py")),
]
# A literal name passed to an accessor, and any INPLAY_/KAFKA_ name at all ("KAFKA_X_..." is prose).
ACCESSOR = re.compile(r"\benv_(?:str|int|float|path)\(\s*\"([A-Z0-9_]+)\"")
NAME = re.compile(r"\b((?:INPLAY|KAFKA)_[A-Z0-9_]+)\b(?!\.\.\.)")


def test_every_setting_read_in_src_and_benchmarks_is_declared() -> None:
    declared = {s.name for s in config.SETTINGS}
    found: dict[str, str] = {}
    for path in SOURCES:
        text = path.read_text()
        for name in ACCESSOR.findall(text) + NAME.findall(text):
            found.setdefault(name, str(path.relative_to(ROOT)))
    assert found, "the scan found no settings at all"
    missing = {name: where for name, where in found.items() if name not in declared}
    assert not missing, f"read but not declared in config.SETTINGS: {missing}"


def test_accessors_refuse_an_undeclared_name() -> None:
    for read in (config.env_str, config.env_path):
        with pytest.raises(config.UndeclaredSettingError, match="INPLAY_NO_SUCH"):
            read("INPLAY_NO_SUCH")
    with pytest.raises(config.UndeclaredSettingError):
        config.env_int("INPLAY_NO_SUCH", 1)
    with pytest.raises(config.UndeclaredSettingError):
        config.settings().get("INPLAY_NO_SUCH")


def test_declaration_is_complete_and_unique() -> None:
    names = [s.name for s in config.SETTINGS]
    assert len(names) == len(set(names))
    for s in config.SETTINGS:
        assert s.type in {"str", "int", "float", "bool", "path"}, s
        assert s.meaning and "\n" not in s.meaning, s


def test_settings_are_typed_and_errors_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_RETRIES", "7")
    monkeypatch.setenv("INPLAY_DASHBOARD_REFRESH", "0.5")
    monkeypatch.setenv("INPLAY_DEBUG", "off")
    current = config.settings()
    assert current.get("KAFKA_RETRIES") == 7
    assert current.get("INPLAY_DASHBOARD_REFRESH") == 0.5
    assert current.get("INPLAY_DEBUG") is False
    assert current.get("INPLAY_DASHBOARD_SINCE", 3.0) == 3.0
    monkeypatch.setenv("KAFKA_RETRIES", "many")
    with pytest.raises(ConfigError, match="KAFKA_RETRIES='many' is not a whole number"):
        config.settings().get("KAFKA_RETRIES")
    monkeypatch.setenv("INPLAY_DASHBOARD_SINCE", "soon")
    with pytest.raises(ConfigError, match="INPLAY_DASHBOARD_SINCE='soon' is not a number"):
        config.env_float("INPLAY_DASHBOARD_SINCE", None)


def test_paths_follow_the_environment_set_after_import(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("INPLAY_OUTPUT_DIR", raising=False)
    assert config.PROCESSED_DIR == config.DATA_DIR / "processed"
    monkeypatch.setenv("INPLAY_OUTPUT_DIR", str(tmp_path))
    assert config.PROCESSED_DIR == tmp_path / "processed"
    assert config.INTERIM_DIR == tmp_path / "interim"
    assert config.MODELS_DIR == tmp_path / "models"
    assert config.REPORTS_DIR == tmp_path / "reports"
    monkeypatch.setenv("INPLAY_BROKER_STATE", str(tmp_path / "b.json"))
    assert config.BROKER_STATE_FILE == tmp_path / "b.json"
    monkeypatch.setenv("INPLAY_SCORER_GROUP", "other")
    assert config.SCORER_GROUP == "other"
    with pytest.raises(AttributeError):
        config.NO_SUCH_THING  # noqa: B018


def test_a_module_attribute_set_by_a_test_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("INPLAY_DATA_DIR", raising=False)
    monkeypatch.setattr(config, "RAW_DIR", tmp_path / "raw")
    assert config.RAW_DIR == tmp_path / "raw"
    assert config.statsbomb_dir() == tmp_path / "raw" / "statsbomb"
    monkeypatch.undo()  # restores the value read before: the path is computed again
    assert "RAW_DIR" not in vars(config)
    monkeypatch.setenv("INPLAY_HOME", str(tmp_path))
    assert config.RAW_DIR == tmp_path / "data" / "raw"


def test_relative_path_settings_resolve_against_the_current_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    monkeypatch.setenv("INPLAY_DATA_DIR", "../shared/statsbomb")
    monkeypatch.setenv("INPLAY_OUTPUT_DIR", "out")
    monkeypatch.setenv("INPLAY_PROGRESS", "0")
    assert config.statsbomb_dir() == tmp_path / "shared" / "statsbomb"
    assert config.PROCESSED_DIR == tmp_path / "work" / "out" / "processed"
    env = config.absolute_path_environ()
    assert env["INPLAY_DATA_DIR"] == str(tmp_path / "shared" / "statsbomb")
    assert env["INPLAY_OUTPUT_DIR"] == str(tmp_path / "work" / "out")
    assert "INPLAY_PROGRESS" not in env  # not a path


def test_settings_table_is_generated_and_docs_match(capsys: pytest.CaptureFixture) -> None:
    assert config.main(["--markdown"]) == 0
    text = capsys.readouterr().out
    assert text == config.settings_markdown()
    assert text.startswith("<!-- Generated by `python -m inplay.config --markdown")
    for s in config.SETTINGS:
        assert f"| `{s.name}` |" in text
    docs = ROOT / "docs" / "settings.md"
    assert docs.read_text() == text, (
        "docs/settings.md is stale: python -m inplay.config --markdown > docs/settings.md"
    )
    assert config.main(["--nope"]) == 2

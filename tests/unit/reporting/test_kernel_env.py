"""`inplay reports` gives the notebook kernels absolute path settings (they run in notebooks/)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from inplay.reporting import notebooks


def test_kernels_get_absolute_paths_resolved_where_the_command_ran(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pm = pytest.importorskip("papermill")
    (tmp_path / "repo").mkdir()
    monkeypatch.chdir(tmp_path / "repo")
    monkeypatch.setenv("INPLAY_DATA_DIR", "../shared/data/statsbomb")
    monkeypatch.setenv("INPLAY_ODDS_DIR", "odds")
    monkeypatch.delenv("INPLAY_PROGRESS", raising=False)
    seen: list[dict[str, str]] = []

    def execute_notebook(source: str, target: str, **kwargs: object) -> None:
        assert kwargs["cwd"] == str(tmp_path / "nbs")
        seen.append(dict(os.environ))
        Path(target).write_text("{}")

    monkeypatch.setattr(pm, "execute_notebook", execute_notebook)
    monkeypatch.setattr(notebooks, "render_html", lambda ipynb, out: out)
    runs = notebooks.run_notebooks(
        ["00_topic_setup"],
        out_dir=tmp_path / "reports",
        notebooks_dir=tmp_path / "nbs",
        progress=False,
    )
    assert [r.name for r in runs] == ["00_topic_setup"]
    (env,) = seen
    assert env["INPLAY_DATA_DIR"] == str(tmp_path / "shared" / "data" / "statsbomb")
    assert env["INPLAY_ODDS_DIR"] == str(tmp_path / "repo" / "odds")
    assert env["INPLAY_PROGRESS"] == "0"
    # Restored afterwards: this process keeps what the user set.
    assert os.environ["INPLAY_DATA_DIR"] == "../shared/data/statsbomb"
    assert "INPLAY_PROGRESS" not in os.environ


def test_kernel_environ_holds_only_absolute_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INPLAY_OUTPUT_DIR", "rel/out")
    env = notebooks.kernel_environ()
    paths = {k: v for k, v in env.items() if k != "INPLAY_PROGRESS"}
    assert "INPLAY_OUTPUT_DIR" in paths
    assert all(Path(v).is_absolute() for v in paths.values()), paths

"""Every parameter of every notebook is documented by ``papermill --help-notebook``.

papermill skips a line of the ``parameters`` cell that holds more than one ``=`` (a comment such
as ``# 0 = all`` is enough), silently: the parameter then disappears from ``--help-notebook``.
These tests parse the cell with ``ast`` and check that papermill lists every name it assigns,
with its type and a help text. Fast, no broker, no data: deliberately not marked ``notebooks``.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import papermill
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
PAPERMILL = Path(sys.executable).with_name("papermill")


def parameters_cell(path: Path) -> str:
    """Return the source of the notebook's one cell tagged ``parameters``."""
    cells = [
        cell
        for cell in json.loads(path.read_text())["cells"]
        if "parameters" in cell.get("metadata", {}).get("tags", [])
    ]
    assert len(cells) == 1, f"{path.name}: {len(cells)} cells tagged 'parameters', expected 1"
    source = cells[0]["source"]
    return source if isinstance(source, str) else "".join(source)


def assigned(source: str) -> dict[str, str | None]:
    """Return ``{name: annotation or None}`` for every top-level assignment in ``source``."""
    names: dict[str, str | None] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[node.target.id] = ast.unparse(node.annotation)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    names[target.id] = None
    return names


def test_every_notebook_found():
    assert len(NOTEBOOKS) >= 5, [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_papermill_lists_every_parameter_with_type_and_help(path: Path):
    names = assigned(parameters_cell(path))
    assert names, f"{path.name}: the parameters cell assigns nothing"
    listed = papermill.inspect_notebook(str(path))
    assert sorted(listed) == sorted(names), (
        f"{path.name}: papermill lists {sorted(listed)}, the cell assigns {sorted(names)} "
        "(a comment containing '=' hides a parameter)"
    )
    for name, annotation in names.items():
        parameter = listed[name]
        assert annotation is not None, f"{path.name}: {name} has no type hint"
        assert parameter["inferred_type_name"] == annotation, (name, parameter)
        assert parameter["help"].strip(), f"{path.name}: {name} has no help comment"


@pytest.mark.skipif(not PAPERMILL.exists(), reason="papermill command not in this environment")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_help_notebook_command_shows_every_parameter(path: Path):
    result = subprocess.run(
        [str(PAPERMILL), "--help-notebook", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    for name, annotation in assigned(parameters_cell(path)).items():
        assert f"  {name}: {annotation} (default " in result.stdout, (name, result.stdout)

"""The README stays short and the docs tell the truth about the repo: links, paths, targets."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PAGES = sorted(
    [README, ROOT / "CONTRIBUTING.md", ROOT / "CHANGELOG.md", *(ROOT / "docs").glob("*.md")]
)
README_LIMIT = 10 * 1024  # bytes: what fits on about two screens

LINK = re.compile(r"\]\(([^)\s]+)\)")
MODULE = re.compile(r"python -m (inplay(?:\.\w+)*)")
REPO_PATH = re.compile(r"`((?:tests|benchmarks|scripts|src/inplay)/[\w/.-]+\.(?:py|xml))")
MAKE_TARGET = re.compile(r"`make ([a-z][\w-]*)")


def anchors(page: Path) -> set[str]:
    """GitHub-style anchors of the headings of a Markdown page."""
    found = set()
    for line in page.read_text().splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            found.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return found


def existing_pages() -> list[Path]:
    return [p for p in PAGES if p.exists()]


def test_readme_fits_on_two_screens():
    size = len(README.read_bytes())
    assert size <= README_LIMIT, f"README.md is {size} bytes; move detail into docs/"


def test_readme_starts_with_the_demo_and_the_test_command():
    text = README.read_text()
    assert "export INPLAY_DATA_DIR=../shared/data/statsbomb && make demo" in text
    assert re.search(r"^make test\b", text, re.MULTILINE), "CI runs the README's `make test`"
    assert "Data: StatsBomb Open Data" in text
    assert "reports/figures/win_probability.png" in text


@pytest.mark.parametrize("page", existing_pages(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve(page: Path):
    for target in LINK.findall(page.read_text()):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        assert resolved.exists(), f"{page.name}: link to missing {target}"
        if anchor and resolved.suffix == ".md":
            assert anchor in anchors(resolved), f"{page.name}: no heading #{anchor} in {path}"


@pytest.mark.parametrize("page", existing_pages(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_named_modules_paths_and_make_targets_exist(page: Path):
    text = page.read_text()
    for module in MODULE.findall(text):
        parts = module.split(".")
        base = ROOT / "src" / Path(*parts)
        assert base.with_suffix(".py").exists() or (base / "__init__.py").exists(), module
    for path in REPO_PATH.findall(text):
        assert (ROOT / path).exists(), f"{page.name}: {path} does not exist"
    makefile = (ROOT / "Makefile").read_text()
    for target in MAKE_TARGET.findall(text):
        assert re.search(rf"^{re.escape(target)}:", makefile, re.MULTILINE), f"make {target}"


def test_readme_model_figures_come_from_the_benchmark_results():
    results = json.loads((ROOT / "benchmarks" / "results" / "models.json").read_text())
    text = (ROOT / "README.md").read_text()
    section = text.split("## How good are the probabilities", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 3, rows  # the header and one row per split
    for row, split in zip(rows[1:], ("competition", "time"), strict=True):
        cells = [c.strip() for c in row.strip("|").split("|")]
        model = next(m for m in results["splits"][split]["overall"] if m["model"] == "goal_rate")
        expected = [
            f"{model['log_loss']:.4f}",
            f"{model['log_loss_vs_scoreboard_pct']:+.1f} %",
            f"{model['log_loss_vs_skellam_pct']:+.1f} %",
            f"{model['ece_top']:.3f}",
            f"{model['ece_top_first_half']:.3f}",
        ]
        assert cells[1:] == expected, f"README row {cells[0]!r} differs from models.json"


def _streaming_benchmark(monkeypatch: pytest.MonkeyPatch):
    """benchmarks/streaming.py as a module (it imports its sibling ``_results``)."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location(
        "streaming_benchmark", ROOT / "benchmarks" / "streaming.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_streaming_table_is_rendered_from_the_committed_results(monkeypatch):
    streaming = _streaming_benchmark(monkeypatch)
    page = (ROOT / "docs" / "benchmarks.md").read_text()
    section = page.split("## Streaming", 1)[1].split("\n## ", 1)[0]
    assert streaming.BEGIN in section and streaming.END in section, "markers left the section"
    expected = streaming.render_docs()  # "no results yet" while no results file is committed
    assert streaming.docs_block(page) == expected, (
        "docs/benchmarks.md's streaming table differs from benchmarks/results/streaming*.json: "
        "run `python benchmarks/streaming.py --docs`"
    )
    if not any(path.exists() for path in streaming.DOCS_RESULTS):
        assert "No results yet" in expected

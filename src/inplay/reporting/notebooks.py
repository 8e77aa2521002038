"""Execute the numbered notebooks with papermill and publish them as HTML reports.

``reports/executed/<name>.ipynb`` keeps the executed notebook, ``reports/<name>.html`` is what
people read (code folded into the page, outputs kept) and ``reports/index.html`` links them.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from inplay import config

__all__ = [
    "NOTEBOOKS",
    "SMALL_PARAMETERS",
    "NotebookRun",
    "run_notebooks",
    "kernel_environ",
    "kernel_environment",
    "render_html",
    "write_index",
]

NOTEBOOKS: tuple[str, ...] = (
    "00_topic_setup",
    "01_replay_events",
    "02_feature_engineering",
    "03_model_fitting",
    "04_live_scoring",
    "05_model_monitoring",
)

# "Small mode": the parameters CI and the tests use (a few matches, few folds).
SMALL_PARAMETERS: dict[str, dict] = {
    "00_topic_setup": {},
    "01_replay_events": {"MATCH_IDS": "3869685,3857256", "MAX_EVENTS": 0},
    "02_feature_engineering": {"COMPETITION_IDS": "43", "SEASON_IDS": "", "N_MATCHES": 0},
    "03_model_fitting": {"N_SPLITS": 3},
    "04_live_scoring": {"IDLE_TIMEOUT": 10.0},
    # Nine Champions League finals train the champion; 12 + 4 matches of 2012/13 are replayed.
    "05_model_monitoring": {
        "COMPETITION_IDS": "11,16",
        "CUTOFF": "2012-09-01",
        "FIRST_BATCH": 12,
        "SECOND_BATCH": 4,
        "MIN_MATCHES": 3,
    },
}

TITLES = {
    "00_topic_setup": "00 · Topic setup: the broker and the six topics",
    "01_replay_events": "01 · Replay real matches into Kafka",
    "02_feature_engineering": "02 · Match-state features and the training snapshots",
    "03_model_fitting": "03 · Models: fit and evaluate by match",
    "04_live_scoring": "04 · Live scoring: win probabilities as events arrive",
    "05_model_monitoring": "05 · Model monitoring: live quality, a retrain and a champion switch",
}


@dataclass
class NotebookRun:
    """One executed notebook."""

    name: str
    ipynb: Path
    html: Path
    seconds: float


def render_html(ipynb: Path, out: Path) -> Path:
    """Render an executed notebook to a standalone HTML page."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(ipynb, as_version=4)
    exporter = HTMLExporter(template_name="lab")
    body, _ = exporter.from_notebook_node(nb)
    out.write_text(body, encoding="utf-8")
    return out


def kernel_environ() -> dict[str, str]:
    """What the notebook kernels get on top of this process's environment.

    The kernels run in ``notebooks/``, so every path setting that is set goes to them absolute
    (a relative one means relative to where ``inplay reports`` was run), and
    ``INPLAY_PROGRESS=0`` so that reports show results, not progress-bar frames.
    """
    return {**config.absolute_path_environ(), "INPLAY_PROGRESS": "0"}


@contextlib.contextmanager
def kernel_environment() -> Iterator[dict[str, str]]:
    """Set :func:`kernel_environ` in ``os.environ`` (kernels inherit it), then restore it."""
    overrides = kernel_environ()
    previous = {name: os.environ.get(name) for name in overrides}
    os.environ.update(overrides)
    try:
        yield overrides
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _execute(
    pm: Any,
    name: str,
    notebooks_dir: Path,
    executed_dir: Path,
    parameters: dict[str, dict],
    kernel_name: str | None,
    progress: bool,
) -> Path:
    """Run one notebook with papermill (in ``notebooks_dir``); returns the executed copy.

    The executed copy is rendered by the caller even when a cell failed (papermill writes it
    up to the failure), so the error can be read.
    """
    target = executed_dir / f"{name}.ipynb"
    try:
        pm.execute_notebook(
            str(notebooks_dir / f"{name}.ipynb"),
            str(target),
            parameters=parameters.get(name, {}),
            cwd=str(notebooks_dir),
            kernel_name=kernel_name,
            progress_bar=progress,
            report_mode=False,
        )
    except BaseException:
        if target.is_file():
            render_html(target, executed_dir.parent / f"{name}.html")
        raise
    return target


def run_notebooks(
    names: tuple[str, ...] | list[str] = NOTEBOOKS,
    parameters: dict[str, dict] | None = None,
    out_dir: Path | None = None,
    notebooks_dir: Path | None = None,
    kernel_name: str | None = None,
    progress: bool = True,
) -> list[NotebookRun]:
    """Execute notebooks in order with papermill and render each to HTML, then the index.

    Args:
        names: notebook names without ``.ipynb``, run in this order.
        parameters: per-notebook papermill parameters (missing: the notebook's defaults).
        out_dir: where reports go (default ``reports/``).
        notebooks_dir: where the notebooks are (default ``notebooks/``).
        kernel_name: Jupyter kernel (default: the notebook's own, ``python3``).
        progress: show papermill's cell progress bars.

    Raises:
        papermill.PapermillExecutionError: a cell failed; the executed notebook up to the
            failure is still written (and rendered) so the error can be read.
    """
    import papermill as pm

    parameters = parameters or {}
    out_dir = Path(out_dir or config.REPORTS_DIR)
    notebooks_dir = Path(notebooks_dir or config.NOTEBOOKS_DIR)
    executed_dir = out_dir / "executed"
    executed_dir.mkdir(parents=True, exist_ok=True)
    runs: list[NotebookRun] = []
    with kernel_environment():
        for name in tqdm(list(names), desc="notebooks", unit="nb", disable=not progress):
            start = time.perf_counter()
            target = _execute(
                pm, name, notebooks_dir, executed_dir, parameters, kernel_name, progress
            )
            if target.is_file():
                render_html(target, out_dir / f"{name}.html")
            runs.append(
                NotebookRun(name, target, out_dir / f"{name}.html", time.perf_counter() - start)
            )
            write_index(out_dir, runs)
    return runs


def write_index(out_dir: Path, runs: list[NotebookRun]) -> Path:
    """``reports/index.html``: a page linking every rendered notebook, with run times."""
    items = "\n".join(
        f'<li><a href="{html.escape(r.html.name)}">{html.escape(TITLES.get(r.name, r.name))}</a>'
        f" <small>({r.seconds:.0f} s)</small></li>"
        for r in runs
    )
    summaries = []
    for r in runs:
        path = out_dir / f"{r.name}.json"
        if path.is_file():
            summaries.append(
                f"<h3>{html.escape(r.name)}</h3><pre>"
                f"{html.escape(json.dumps(json.loads(path.read_text()), indent=2))}</pre>"
            )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>inplay reports</title>
<style>body{{font-family:system-ui,sans-serif;max-width:860px;margin:2em auto;line-height:1.5}}
pre{{background:#f6f6f6;padding:.6em;overflow:auto}}</style></head>
<body><h1>inplay: live football win probabilities on Kafka</h1>
<p>Executed notebooks, generated {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}.</p>
<ol>
{items}
</ol>
<h2>Headline numbers</h2>
{"".join(summaries) or "<p>none recorded</p>"}
<p><em>Data: StatsBomb Open Data (https://github.com/statsbomb/open-data).</em></p>
</body></html>
"""
    path = out_dir / "index.html"
    path.write_text(page, encoding="utf-8")
    return path

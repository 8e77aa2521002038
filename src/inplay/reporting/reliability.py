"""Figures from reliability runs (fault injection, bad input, load, security), in one format.

Each scenario run records one JSON file, ``<scenario>--<client>.json``, in :func:`figures_dir`
(``INPLAY_RELIABILITY_DIR``, default ``data/reliability``). :func:`render_markdown` turns the
recorded runs into the table of ``docs/RELIABILITY.md``
(``python -m inplay.reporting.reliability [--out docs/RELIABILITY.md]``).

The standard figures (any may be missing when a scenario has no such thing):

- ``trials``: how many times the fault was injected (or fuzz/soak runs).
- ``events``: event messages that went into the events topic.
- ``predictions``: distinct (match_id, event_index) predictions published.
- ``lost``: events that should have a prediction and have none.
- ``duplicates``: extra copies of predictions (re-processed events).
- ``quarantined``: messages sent to the monitoring topic as bad input.
- ``recovery_s``: seconds from the fault to the first new prediction (the worst trial).
- ``p99_latency_ms``: 99th percentile of event-to-prediction latency.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from inplay import config

__all__ = ["STANDARD_FIGURES", "figures_dir", "record", "load_all", "render_markdown", "main"]

STANDARD_FIGURES = (
    "trials",
    "events",
    "predictions",
    "lost",
    "duplicates",
    "quarantined",
    "recovery_s",
    "p99_latency_ms",
)


def figures_dir() -> Path:
    """Folder of the recorded runs: ``INPLAY_RELIABILITY_DIR`` or ``data/reliability``."""
    env = config.env_str("INPLAY_RELIABILITY_DIR")
    return Path(env).expanduser() if env else config.DATA_DIR / "reliability"


def record(
    scenario: str,
    figures: dict[str, Any],
    *,
    title: str,
    broker: str,
    client: str | None = None,
    passed: bool = True,
    notes: str = "",
    directory: Path | None = None,
) -> Path:
    """Write one run's figures to ``<directory>/<scenario>--<client>.json`` (replacing older ones).

    Args:
        scenario: Short identifier, e.g. ``worker-sigkill``.
        figures: The measured figures; use the names of :data:`STANDARD_FIGURES` where they fit,
            any other JSON-ready keys are kept as extra figures.
        title: One-line description of the scenario, for the report.
        broker: Which broker it ran on, e.g. ``Apache Kafka 4.1.0`` or ``embedded (Tansu)``.
        client: Kafka client (``kafka-python`` or ``confluent``); ``INPLAY_KAFKA_CLIENT`` if None.
        passed: Whether the run met its requirement (the test's assertions).
        notes: Free text: what was done, what was not.
        directory: Where to write; :func:`figures_dir` when None.

    Returns:
        The written file.
    """
    from inplay.kafka.clients import client_name

    out = Path(directory) if directory is not None else figures_dir()
    out.mkdir(parents=True, exist_ok=True)
    body = {
        "scenario": scenario,
        "title": title,
        "broker": broker,
        "client": client or client_name(),
        "passed": bool(passed),
        "figures": figures,
        "notes": notes,
        "recorded_at": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {_cpus()} CPUs, Python {platform.python_version()}",
    }
    path = out / f"{scenario}--{body['client']}.json"
    # Written whole, then renamed: CI runs stages side by side that may record the same file.
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(body, indent=2, default=str) + "\n")
    partial.replace(path)
    return path


def _cpus() -> int:
    return os.cpu_count() or 1


def load_all(directory: Path | None = None) -> list[dict[str, Any]]:
    """Every recorded run in ``directory`` (default :func:`figures_dir`), sorted by scenario."""
    folder = Path(directory) if directory is not None else figures_dir()
    runs = []
    for path in sorted(folder.glob("*.json")):
        try:
            runs.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    return runs


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


HEADER = """\
# Reliability and security: figures

Each row is the last recorded run of a scenario with one Kafka client. The tests that produce
them are `tests/scenarios/test_faults.py` (worker SIGKILL, broker restarts, the embedded
broker's memory loss), `tests/scenarios/test_fuzz.py` (bad input),
`tests/scenarios/test_security.py` (SASL/PLAIN) and the soak benchmark `benchmarks/soak.py`.
Reproduce with `make reliability` (tests) and `.venv/bin/python benchmarks/soak.py`
(10 minutes); this page is
`python -m inplay.reporting.reliability --out docs/RELIABILITY.md`.

Columns: trials (faults injected, or runs), events sent, predictions (distinct
(match_id, event index)), lost (events without a prediction, or missing from the topic),
duplicates (extra prediction copies from re-processing; consumers drop them by key),
quarantined (bad messages sent to `ml-pipeline-monitoring` with their reason), recovery_s (worst
seconds from the fault to the next prediction), p99 latency (event sent -> prediction published,
backlog after a fault included).

"""


def render_markdown(runs: list[dict[str, Any]], details: bool = True) -> str:
    """The figures table (one row per scenario and client), then each run's extra figures."""
    head = ["scenario", "broker / client", "result", *STANDARD_FIGURES]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for run in runs:
        figs = run.get("figures", {})
        row = [
            f"`{run['scenario']}`",
            f"{run.get('broker', '?')} / {run.get('client', '?')}",
            "pass" if run.get("passed") else "**FAIL**",
            *(_cell(figs.get(name)) for name in STANDARD_FIGURES),
        ]
        lines.append("| " + " | ".join(row) + " |")
    for run in runs if details else []:
        who = f"{run.get('broker', '?')}, client {run.get('client', '?')}"
        lines += ["", f"### `{run['scenario']}` ({who}): {run.get('title', '')}", ""]
        lines.append(f"Recorded {run.get('recorded_at', '?')} on {run.get('machine', '?')}.")
        extra = {k: v for k, v in run.get("figures", {}).items() if k not in STANDARD_FIGURES}
        if extra:
            lines.append("")
            lines += [f"- {key}: {_cell(value)}" for key, value in extra.items()]
        if run.get("notes"):
            lines += ["", run["notes"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m inplay.reporting.reliability``: print (or write) the recorded runs' figures."""
    parser = argparse.ArgumentParser(
        prog="python -m inplay.reporting.reliability",
        description="Render the recorded reliability figures (data/reliability/*.json) as a "
        "Markdown table.",
    )
    parser.add_argument("--dir", type=Path, help="folder of recorded runs (default: figures_dir)")
    parser.add_argument("--out", type=Path, help="write the page to this file instead of stdout")
    parser.add_argument(
        "--summary", action="store_true", help="only the table (no per-run details and notes)"
    )
    args = parser.parse_args(argv)
    runs = load_all(args.dir)
    if not runs:
        print(f"error: no recorded runs in {args.dir or figures_dir()}", file=sys.stderr)
        return 1
    text = render_markdown(runs, details=not args.summary)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(HEADER + text)
        print(f"{args.out}: {len(runs)} scenarios")
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())

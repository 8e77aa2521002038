"""What every results file of ``benchmarks/`` starts with: date, machine and versions.

Shared by ``benchmarks/models.py`` and ``benchmarks/streaming.py`` (imported as ``_results``:
a benchmark run as a script has ``benchmarks/`` first on its import path).
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Iterable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any


def utc_now() -> str:
    """The current time in UTC, ISO 8601 to the second (``2026-12-03T15:41:13+00:00``)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def machine() -> dict[str, Any]:
    """The machine without its name: platform string, architecture and CPU count."""
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }


def package_versions(packages: Iterable[str]) -> dict[str, str | None]:
    """The installed version of each distribution (None when it is not installed)."""
    versions: dict[str, str | None] = {}
    for pkg in packages:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return versions


def write_report(path: Path, report: dict[str, Any]) -> None:
    """Write ``report`` as indented JSON (with a final newline), creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")

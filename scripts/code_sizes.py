"""Print the biggest classes and functions of ``src/inplay`` and check them against the limits.

Usage: ``python scripts/code_sizes.py [--top N]``. Sizes are source lines (docstrings included)
from the first line of the ``def``/``class`` to its last. Exit status 1 when a class is longer
than 250 lines or a function longer than 60 (the limits in CONTRIBUTING.md).
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

CLASS_LIMIT = 250
FUNCTION_LIMIT = 60
SRC = Path(__file__).resolve().parents[1] / "src" / "inplay"


def sizes(root: Path = SRC) -> list[tuple[int, str, str]]:
    """Return ``(lines, kind, "path:name")`` for every class and function under ``root``."""
    rows = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                kind = "class" if isinstance(node, ast.ClassDef) else "function"
                lines = node.end_lineno - node.lineno + 1
                rows.append((lines, kind, f"{path.relative_to(root.parent)}:{node.name}"))
    return sorted(rows, reverse=True)


def main() -> int:
    """Print the largest classes and functions; exit 1 when one is over its limit."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=5, help="rows per kind to print (default 5)")
    args = parser.parse_args()
    rows = sizes()
    over = []
    for kind, limit in (("class", CLASS_LIMIT), ("function", FUNCTION_LIMIT)):
        of_kind = [r for r in rows if r[1] == kind]
        print(
            f"largest {kind}es (limit {limit} lines):"
            if kind == "class"
            else f"largest {kind}s (limit {limit} lines):"
        )
        for lines, _, name in of_kind[: args.top]:
            print(f"  {lines:5d}  {name}")
        over += [(lines, name, limit) for lines, _, name in of_kind if lines > limit]
    for lines, name, limit in over:
        print(f"over the limit: {name} has {lines} lines (limit {limit})")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())

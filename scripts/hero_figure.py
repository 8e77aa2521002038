"""Draw the README's figure: the 2022 World Cup final as the live scorer saw it.

Usage: ``python scripts/hero_figure.py [--match 3869685] [--model NAME|PATH] [--out PNG]``.

The match's events go through the scoring worker's code in-process
(:func:`inplay.pipeline.score_offline`: the same predictions as a replay through Kafka) with
the selected model of ``models/`` (notebook 03, or ``inplay fit``), and the win-probability
figure (who goes through in extra time and the shoot-out, goals and kicks marked) is saved as a
PNG by headless Chromium. Data: StatsBomb Open Data.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from inplay import pipeline
from inplay.reporting.export import figure_png
from inplay.reporting.plots import win_probability_figure

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    """Score the match, draw it, save the PNG."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--match", type=int, default=3869685, help="StatsBomb match id")
    parser.add_argument("--model", default=None, help="model name or path (default: selected)")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "reports" / "figures" / "win_probability.png"
    )
    args = parser.parse_args(argv)
    results = pipeline.score_offline([args.match], args.model)
    fig = win_probability_figure(results, args.match)
    print(f"{len(results):,} predictions; wrote {figure_png(fig, args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

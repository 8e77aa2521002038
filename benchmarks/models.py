"""Benchmark the outcome models by match-grouped cross-validation on the minute snapshots.

Usage::

    .venv/bin/python benchmarks/models.py [--snapshots PATH] [--splits 5] [--seed 0]
        [--models climatology,scoreboard,state_mnlogit] [--out reports/model_benchmark.json]

Prints the overall table, the table per 15-minute bin and the paired log-loss comparison with
the scoreboard baseline, and writes them (with timings) as JSON. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import pandas as pd

from inplay import config
from inplay.evaluate import DEFAULT_MODELS, evaluate, read_snapshot_table


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--snapshots",
        type=Path,
        default=config.PROCESSED_DIR / "snapshots_minute.parquet",
        help="minute snapshot table (parquet or csv)",
    )
    parser.add_argument("--splits", type=int, default=5, help="number of match-grouped folds")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fold assignment")
    parser.add_argument(
        "--models", default=",".join(DEFAULT_MODELS), help="comma-separated model names"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=config.REPORTS_DIR / "model_benchmark.json",
        help="where to write the JSON report",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    try:
        t0 = time.perf_counter()
        df = read_snapshot_table(args.snapshots)
        t_load = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = evaluate(df, names, n_splits=args.splits, seed=args.seed)
        t_cv = time.perf_counter() - t0
    except config.ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    s = result.settings
    print(
        f"{s['n_matches']} matches, {s['n_rows']} rows, {len(s['competitions'])} competitions; "
        f"{args.splits}-fold CV grouped by match (seed {args.seed}); "
        f"load {t_load:.1f}s, CV {t_cv:.1f}s"
    )
    fmt = {"float_format": lambda v: f"{v:.4f}", "index": False}
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print("\nOverall")
        print(result.overall.to_string(**fmt))
        print("\nBy 15-minute clock bin")
        cols = ["model", "bin", "log_loss", "brier", "rps", "accuracy", "n_rows"]
        cols += [c for c in result.by_bin.columns if c.startswith("log_loss_vs_")]
        print(result.by_bin[cols].to_string(**fmt))
        if not result.comparison.empty:
            print("\nLog-loss difference vs baseline (per-match standard errors)")
            print(result.comparison.to_string(**fmt))

    report = result.to_dict()
    report["benchmark"] = {
        "snapshots": str(args.snapshots),
        "seconds_load": round(t_load, 3),
        "seconds_cv": round(t_cv, 3),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

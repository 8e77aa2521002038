"""Benchmark the outcome models on the minute snapshots, split by match, against the baseline.

Usage::

    .venv/bin/python benchmarks/models.py [--snapshots PATH] [--splits 5] [--seed 0]
        [--models scoreboard,state_mnlogit,goal_rate,goal_rate_odds]
        [--generalise] [--cutoff 2018-06-01] [--out reports/model_benchmark.json]

Prints, for grouped K-fold cross-validation by match: the overall table (log loss, Brier, RPS,
accuracy, ECE, improvement over the scoreboard baseline fitted on the same folds), the tables
per 15-minute bin, game state and competition, the paired log-loss comparison, and the matches
with closing odds (La Liga) on their own. With ``--generalise`` it also fits on the matches
before ``--cutoff`` and tests on the later ones, and leaves one competition out at a time.
Writes everything (with timings) as JSON. A benchmark, not a test.
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
from inplay.evaluation.evaluate import (
    calibration_table,
    evaluate,
    metrics_table,
    read_snapshot_table,
    with_priors,
)
from inplay.models import json_safe

DEFAULT = "scoreboard,state_mnlogit,goal_rate,goal_rate_odds"


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
    parser.add_argument("--models", default=DEFAULT, help="comma-separated model names")
    parser.add_argument(
        "--generalise",
        action="store_true",
        help="also a forward split in time and leave-one-competition-out",
    )
    parser.add_argument("--cutoff", default="2018-06-01", help="first test date of the time split")
    parser.add_argument(
        "--out",
        type=Path,
        default=config.REPORTS_DIR / "model_benchmark.json",
        help="where to write the JSON report",
    )
    return parser.parse_args(argv)


def _print(title: str, frame: pd.DataFrame, cols: list[str] | None = None) -> None:
    print(f"\n{title}")
    if frame.empty:
        print("(none)")
        return
    shown = frame[[c for c in cols if c in frame.columns]] if cols else frame
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


def _subset_table(oof: pd.DataFrame, match_ids: set) -> pd.DataFrame:
    sub = oof[oof["match_id"].isin(match_ids)]
    if sub.empty:
        return pd.DataFrame()
    return metrics_table(sub).merge(calibration_table(sub)[["model", "ece"]], on="model")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    short = ["model", "log_loss", "brier", "rps", "accuracy", "log_loss_vs_scoreboard_pct"]
    try:
        t0 = time.perf_counter()
        df = with_priors(read_snapshot_table(args.snapshots))
        t_load = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = evaluate(df, names, n_splits=args.splits, seed=args.seed, priors=False)
        t_cv = time.perf_counter() - t0
    except config.ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    s = result.settings
    print(
        f"{s['n_matches']} matches ({s['matches_with_odds']} with closing odds), {s['n_rows']} "
        f"rows, {len(s['competitions'])} competitions; {args.splits}-fold CV grouped by match "
        f"(seed {args.seed}); priors {'on' if s['priors'] else 'off'}; "
        f"load {t_load:.1f}s, CV {t_cv:.1f}s"
    )
    report = result.to_dict()
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        _print("Overall", result.overall, [*short, "ece"])
        _print("By 15-minute clock bin", result.by_bin, ["bin", *short])
        _print("By game state", result.by_state, ["state", *short, "n_rows"])
        _print("By competition", result.by_competition, ["competition_id", *short, "n_matches"])
        _print("Calibration (ECE, 10 bins, class-wise)", result.calibration)
        if not result.comparison.empty:
            _print("Log-loss difference vs baseline (per-match standard errors)", result.comparison)
        if "odds_home" in df.columns:
            odds_ids = set(df.loc[df["odds_home"].notna(), "match_id"])
            odds_table = _subset_table(result.oof, odds_ids)
            _print(f"Matches with closing odds ({len(odds_ids)})", odds_table, [*short, "ece"])
            report["odds_matches"] = json_safe(odds_table.to_dict(orient="records"))

        timings = {"seconds_load": round(t_load, 3), "seconds_cv": round(t_cv, 3)}
        if args.generalise:
            t0 = time.perf_counter()
            later = evaluate(df, names, split="time", cutoff=args.cutoff, priors=False)
            loco = evaluate(df, names, split="competition", priors=False)
            timings["seconds_generalise"] = round(time.perf_counter() - t0, 3)
            n_test = later.settings["n_test_matches"]
            _print(
                f"Forward in time: fit before {args.cutoff}, test on the {n_test} later matches",
                later.overall,
                [*short, "ece"],
            )
            _print(
                "Forward in time, by competition",
                later.by_competition,
                ["competition_id", *short, "n_matches"],
            )
            _print("Leave one competition out", loco.overall, [*short, "ece"])
            _print(
                "Leave one competition out, by held-out competition",
                loco.by_competition,
                ["competition_id", *short, "n_matches"],
            )
            report["time_split"] = later.to_dict()
            report["leave_one_competition_out"] = loco.to_dict()

    report["benchmark"] = {
        "snapshots": str(args.snapshots),
        **timings,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""When does a retrain help? The promotion rule against the champion's training size.

For each cut-off date, the champion (``goal_rate``) is fitted on every match before it; the
next ``--first`` matches by date are the "new" ones: 30 % held out by the retrain's hash, the
challenger fitted on the champion's matches plus the other new ones, both scored on the held-out
matches' minute rows, and the retrain's paired test applied (``inplay.mlops.retrain``: the same
functions ``inplay retrain`` uses, without Kafka or MLflow). Prints a table and writes
``benchmarks/results/retrain.json``.

    python benchmarks/retrain.py                  # needs INPLAY_DATA_DIR (all 693 matches)
    python benchmarks/retrain.py --cutoffs 2012-09-01,2014-01-01 --first 60

Data: StatsBomb Open Data.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import _results
import pandas as pd

from inplay.data.dataset import build_snapshots
from inplay.data.statsbomb import ensure_data
from inplay.evaluation.evaluate import with_priors
from inplay.mlops.loop import split_by_date
from inplay.mlops.retrain import TEST_NAME, holdout_ids, match_log_loss, paired_test
from inplay.models import make_model
from inplay.pipeline import select_matches

OUT = Path(__file__).parent / "results" / "retrain.json"
CUTOFFS = "2012-01-01,2012-09-01,2013-06-01,2014-01-01,2015-01-01,2018-06-01,2019-06-01,2020-01-01"


def scenario(rows: pd.DataFrame, matches, cutoff: str, first: int, model: str) -> dict:
    """The retrain's decision for one cut-off."""
    before, batch, _ = split_by_date(matches, cutoff, first, 1)
    train_ids = {m.match_id for m in before}
    new_ids = [m.match_id for m in batch]
    held = holdout_ids(new_ids, 0.3)
    champion = make_model(model).fit(rows[rows["match_id"].isin(train_ids)])
    challenger = make_model(model).fit(
        rows[rows["match_id"].isin(train_ids | (set(new_ids) - held))]
    )
    test = rows[rows["match_id"].isin(held)].sort_values(["match_id", "clock"])
    decision = paired_test(
        match_log_loss(test, champion.predict_proba(test)),
        match_log_loss(test, challenger.predict_proba(test)),
        alpha=0.05,
        min_matches=10,
    )
    figures = decision.figures()
    return {
        "cutoff": cutoff,
        "champion_matches": len(train_ids),
        "new_matches": len(new_ids),
        "new_competitions": sorted({m.competition for m in batch}),
        "held_out": figures["n_matches"],
        "champion_log_loss": figures["champion_log_loss"],
        "challenger_log_loss": figures["challenger_log_loss"],
        "mean_diff": figures["mean_diff"],
        "se": figures["se"],
        "p_value": figures["p_value"],
        "promoted": figures["promote"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cutoffs", default=CUTOFFS, help="comma separated YYYY-MM-DD")
    parser.add_argument("--first", type=int, default=60, help="new matches after each cut-off")
    parser.add_argument("--model", default="goal_rate")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    data = ensure_data()
    matches = select_matches(data, None, None, None, 0)
    rows, _, _ = build_snapshots(data, matches, per_event=False, workers=2, progress=False)
    rows = with_priors(rows)
    table = [scenario(rows, matches, c, args.first, args.model) for c in args.cutoffs.split(",")]
    frame = pd.DataFrame(table)
    columns = ["cutoff", "champion_matches", "held_out", "champion_log_loss"]
    columns += ["challenger_log_loss", "mean_diff", "se", "p_value", "promoted"]
    print(frame[columns].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    report = {
        "benchmark": "retrain",
        "date": _results.utc_now(),
        "machine": _results.machine(),
        "versions": _results.package_versions(["inplay", "pandas", "statsmodels", "scipy"]),
        "data": f"{len(matches)} StatsBomb Open Data matches ({data.root})",
        "model": args.model,
        "test": TEST_NAME,
        "alpha": 0.05,
        "holdout_share": 0.3,
        "seconds": round(time.perf_counter() - start, 1),
        "scenarios": table,
    }
    _results.write_report(args.out, report)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

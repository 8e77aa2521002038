"""Which events moved the match: the win-probability-added figures quoted in docs/models.md.

A ``goal_rate`` model is fitted on ``--train`` other matches (the first by match id, none of
the matches measured), then every event of the 2022 World Cup final and of StatsBomb's La Liga
2015/16 matches gets its win probability added (:func:`inplay.pipeline.event_wpa_table`: the
same feature code as the live scorer). Prints the final's biggest events and the season's top
players, and writes ``benchmarks/results/wpa.json`` with date, machine and versions. A
benchmark, not a test; needs ``inplay dataset`` first (data/processed) and INPLAY_DATA_DIR.

    .venv/bin/python benchmarks/wpa.py [--train 300]

Data: StatsBomb Open Data.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from _results import machine, package_versions, utc_now, write_report

from inplay import config, pipeline
from inplay.data.statsbomb import ensure_data
from inplay.evaluation.wpa import player_wpa
from inplay.models import make_model, save_model

OUT = Path(__file__).parent / "results" / "wpa.json"
FINAL = ("FIFA World Cup", "2022", "final")
SEASON = ("La Liga", "2015/2016")
COLUMNS = ["minute", "team", "player", "type", "wpa"]


def measured_matches(matches) -> tuple[list[int], list[int]]:
    """The 2022 World Cup final and the La Liga 2015/16 matches."""
    final = [
        m.match_id
        for m in matches
        if (m.competition, str(m.season), str(m.competition_stage).lower()) == FINAL
    ]
    season = [m.match_id for m in matches if (m.competition, str(m.season)) == SEASON]
    return final, season


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=int, default=300, help="matches the model is fitted on")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    t0 = time.time()
    final, season = measured_matches(ensure_data().matches())
    rows = pd.read_parquet(config.PROCESSED_DIR / "snapshots_minute.parquet")
    train = sorted(set(rows["match_id"]) - set(final) - set(season))[: args.train]
    model = make_model("goal_rate").fit(rows[rows["match_id"].isin(train)])
    path = save_model(model, Path(tempfile.mkdtemp()), data_info={"matches": len(train)})
    table = pipeline.event_wpa_table(final + season, model=str(path))
    in_final = table[table["match_id"].isin(final)]
    moments = in_final.reindex(in_final["wpa"].abs().sort_values(ascending=False).index)
    moments = moments[COLUMNS].head(6).round(3)
    players = player_wpa(table[table["match_id"].isin(season)], by=()).head(5).round(3)
    print("2022 World Cup final: biggest events (expected points)")
    print(moments.to_string(index=False))
    print(f"\nLa Liga 2015/16 ({len(season)} matches): top players")
    print(players.to_string(index=False))
    write_report(
        args.out,
        {
            "benchmark": "wpa",
            "date": utc_now(),
            "machine": machine(),
            "versions": package_versions(["inplay", "statsmodels", "pandas", "numpy"]),
            "data": "StatsBomb Open Data",
            "model": "goal_rate",
            "train_matches": len(train),
            "final_match_ids": final,
            "season_matches": len(season),
            "final_moments": moments.to_dict("records"),
            "season_players": players.to_dict("records"),
            "seconds": round(time.time() - t0, 1),
        },
    )
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Training data: labelled match-state snapshots, written under ``data/processed/``.

Two tables, both built with :mod:`inplay.features` (the code the live scorer runs):

* ``snapshots_minute.parquet``: one row per match per regulation minute 0..90 (the training
  and evaluation unit: every match weighs the same);
* ``snapshots_event.parquet``: one row per event (what the live scorer publishes), optional.

Each row carries ``result`` ('H', 'D', 'A'), the result after periods 1-2.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from inplay import config
from inplay.data.statsbomb import DataFileError, Match, StatsBombData
from inplay.features import iter_event_snapshots, minute_snapshots_and_score, rules

__all__ = [
    "DatasetInfo",
    "build_match_rows",
    "build_snapshots",
    "write_dataset",
    "load_snapshots",
    "MINUTE_FILE",
    "EVENT_FILE",
    "INFO_FILE",
]

MINUTE_FILE = "snapshots_minute.parquet"
EVENT_FILE = "snapshots_event.parquet"
INFO_FILE = "dataset_info.json"


@dataclass
class DatasetInfo:
    """What a dataset was built from."""

    data_dir: str
    matches: int
    minute_rows: int
    event_rows: int
    competitions: list[str]
    results: dict[str, int]
    bad_files: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0


def _label(rows: list[dict], match: Match) -> list[dict]:
    return [
        {**row, "competition_id": match.competition_id, "season_id": match.season_id}
        for row in rows
    ]


def build_match_rows(
    match: Match, events: list[dict], per_event: bool = True
) -> tuple[list[dict], list[dict]]:
    """Minute rows and (optionally) event rows for one match, labelled with its result.

    The label is the regulation result after every event of periods 1-2, stoppage time
    included; each row also carries that final regulation score (``reg_final_home_goals``,
    ``reg_final_away_goals``: the goal-rate models' target).
    """
    minute_rows, score = minute_snapshots_and_score(
        events, match.match_id, match.home_team, match.away_team
    )
    final = {
        "reg_final_home_goals": score[0],
        "reg_final_away_goals": score[1],
        "result": rules.result_letter(*score),
    }
    minute_rows = [{**row, **final} for row in _label(minute_rows, match)]
    event_rows: list[dict] = []
    if per_event:
        event_rows = _label(
            list(iter_event_snapshots(events, match.match_id, match.home_team, match.away_team)),
            match,
        )
        event_rows = [{**row, **final} for row in event_rows]
    return minute_rows, event_rows


def _work(args: tuple[str, Match, bool]) -> tuple[int, list[dict], list[dict], str | None]:
    root, match, per_event = args
    try:
        events = StatsBombData(Path(root)).events(match.match_id)
        minute_rows, event_rows = build_match_rows(match, events, per_event)
    except (DataFileError, ValueError, KeyError) as exc:
        return match.match_id, [], [], f"{type(exc).__name__}: {exc}"
    return match.match_id, minute_rows, event_rows, None


def build_snapshots(
    data: StatsBombData,
    matches: list[Match],
    per_event: bool = True,
    workers: int = 2,
    progress: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame, list[tuple[str, str]]]:
    """Build the minute and event snapshot tables for ``matches``.

    A match whose events cannot be read or applied is reported in the third return value
    (path or match id, reason); the others are built.
    """
    jobs = [(str(data.root), match, per_event) for match in matches]
    minute_rows: list[dict] = []
    event_rows: list[dict] = []
    bad: list[tuple[str, str]] = []
    bar = tqdm(
        total=len(jobs), desc="snapshots", unit="match", disable=not config.show_progress(progress)
    )
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = pool.map(_work, jobs, chunksize=4)
            for match_id, m_rows, e_rows, error in results:
                bar.update()
                if error:
                    bad.append((str(match_id), error))
                minute_rows.extend(m_rows)
                event_rows.extend(e_rows)
    else:
        for job in jobs:
            match_id, m_rows, e_rows, error = _work(job)
            bar.update()
            if error:
                bad.append((str(match_id), error))
            minute_rows.extend(m_rows)
            event_rows.extend(e_rows)
    bar.close()
    return pd.DataFrame(minute_rows), pd.DataFrame(event_rows), bad


def write_dataset(
    data: StatsBombData,
    matches: list[Match],
    out_dir: Path | None = None,
    per_event: bool = True,
    workers: int = 2,
    progress: bool = True,
) -> DatasetInfo:
    """Build the snapshot tables and write them (parquet) with ``dataset_info.json``."""
    out_dir = Path(out_dir or config.PROCESSED_DIR)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    minute_df, event_df, bad = build_snapshots(data, matches, per_event, workers, progress)
    if minute_df.empty:
        raise ValueError(
            f"no snapshots built from {len(matches)} matches under {data.root}: "
            f"{bad[:3] if bad else 'no matches selected'}"
        )
    minute_df.to_parquet(out_dir / MINUTE_FILE, index=False)
    if per_event:
        event_df.to_parquet(out_dir / EVENT_FILE, index=False)
    per_match = minute_df.drop_duplicates("match_id")
    info = DatasetInfo(
        data_dir=str(data.root),
        matches=int(per_match.shape[0]),
        minute_rows=int(minute_df.shape[0]),
        event_rows=int(event_df.shape[0]),
        competitions=sorted({f"{m.competition} {m.season}" for m in matches}),
        results={k: int(v) for k, v in per_match["result"].value_counts().items()},
        bad_files=bad,
        seconds=round(time.perf_counter() - start, 2),
    )
    (out_dir / INFO_FILE).write_text(json.dumps(asdict(info), indent=2))
    return info


def load_snapshots(kind: str = "minute", directory: Path | None = None) -> pd.DataFrame:
    """Read a snapshot table written by :func:`write_dataset`.

    Raises:
        config.ConfigError: the file is not there; the message says to run ``inplay dataset``.
    """
    name = {"minute": MINUTE_FILE, "event": EVENT_FILE}[kind]
    path = Path(directory or config.PROCESSED_DIR) / name
    if not path.is_file():
        raise config.ConfigError(
            f"{path} does not exist: build it with `inplay dataset` "
            "(or run notebooks/02_feature_engineering.ipynb)."
        )
    return pd.read_parquet(path)

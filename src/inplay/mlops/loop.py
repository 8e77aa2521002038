"""The whole MLOps loop on one broker, as notebook 05 runs it.

Time moves on: a champion is fitted on every selected match before a cut-off date
(:func:`split_by_date`, :func:`fit_champion`); then a first batch of later matches is replayed
while a scoring worker and the live quality worker run; the retrain compares a challenger with
the champion on held-out matches of that batch (promoting it or not); and a second batch is
replayed, scored by whichever model is champion now (:func:`run_loop`). Every prediction
carries the ``model_version`` that made it, so the switch can be seen and counted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from inplay import config
from inplay.data.statsbomb import Match, StatsBombData

__all__ = ["LoopRun", "split_by_date", "fit_champion", "run_loop", "reconcile"]

LOOP_DIR = "mlops"  # under data/processed and models/: the loop's own dataset and models


def split_by_date(
    matches: list[Match], cutoff: str, first: int, second: int
) -> tuple[list[Match], list[Match], list[Match]]:
    """The matches before ``cutoff`` (YYYY-MM-DD), then the next ``first``, then ``second``.

    Raises:
        ConfigError: a part is empty (the message gives the counts).
    """
    ordered = sorted(matches, key=lambda m: (m.match_date, m.match_id))
    before = [m for m in ordered if m.match_date < cutoff]
    after = [m for m in ordered if m.match_date >= cutoff]
    batch1, batch2 = after[:first], after[first : first + second]
    if not (before and batch1 and batch2):
        raise config.ConfigError(
            f"cut-off {cutoff}: {len(before)} matches before it, {len(after)} on or after it; "
            f"need some before and {first} + {second} after (change the cut-off or the batches)"
        )
    return before, batch1, batch2


def fit_champion(
    data: StatsBombData, matches: list[Match], model: str = "goal_rate", n_splits: int = 3
) -> tuple[str, int]:
    """Build the matches' snapshots, fit ``model`` (and the baseline) and make it the champion.

    The dataset goes to ``data/processed/mlops`` and the models to ``models/mlops``, so the
    notebooks' own dataset and models are left alone. ``model`` becomes the champion whatever
    the selection between it and the baseline says (the loop is about ``model``).

    Returns:
        (``model``, its registry version: the champion)
    """
    from inplay.data.dataset import write_dataset
    from inplay.mlops.registry import Registry
    from inplay.pipeline import fit_models

    folder = config.PROCESSED_DIR / LOOP_DIR
    write_dataset(data, matches, folder, per_event=False)
    fit_models([model], folder, config.MODELS_DIR / LOOP_DIR, n_splits=n_splits, promote=False)
    registry = Registry()
    version = max(v.version for v in registry.versions() if v.model_name == model)
    registry.set_champion(version)
    return model, version


def check_not_replayed(matches: list[Match], bootstrap: str | None = None) -> None:
    """Fail at once when a match was replayed into the topics before.

    It would not be scored again: a match is scored once per topic (docs/architecture.md).

    Raises:
        ConfigError: such matches, named, with what to do.
    """
    from inplay.pipeline import read_json_topic

    raw = read_json_topic(config.TOPIC_RAW, bootstrap, timeout=30)
    if raw.empty or "match_id" not in raw:
        return
    again = sorted({m.match_id for m in matches} & set(raw["match_id"].dropna().astype(int)))
    if again:
        raise config.ConfigError(
            f"matches {again[:5]}{' ...' if len(again) > 5 else ''} were replayed into this "
            "broker's topics before, and a match is scored once per topic: restart the broker "
            "(`inplay broker stop && inplay broker start`, then `inplay topics create`) or pick "
            "other matches"
        )


@dataclass
class LoopRun:
    """What :func:`run_loop` did."""

    first: list[int]
    second: list[int]
    retrain: object  # RetrainResult
    events_sent: int
    scorer: dict
    quality: dict
    versions_before: tuple[str, str]  # (scorer, quality worker) model versions at the start
    versions_after: tuple[str, str]
    seconds: float
    reconciliation: dict = field(default_factory=dict)


def _wait(condition: Callable[[], bool], what: str, timeout: float, observed: Callable[[], str]):
    """Wait for ``condition`` until ``timeout``; then fail saying what was observed."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}: {observed()}")
        time.sleep(0.2)


def _workers(bootstrap: str | None, poll_seconds: float):
    from inplay.live.quality import QualityWorker
    from inplay.live.scorer import Scorer
    from inplay.mlops.champion import ChampionSource, resolve_live_model

    live, _ = resolve_live_model("champion")
    scorer = Scorer(
        live.model, bootstrap=bootstrap, source=ChampionSource(live, None, poll_seconds)
    )
    quality = QualityWorker(ChampionSource(live, None, poll_seconds), bootstrap=bootstrap)
    threads = [
        threading.Thread(target=w.run, kwargs={"progress": False}, daemon=True)
        for w in (scorer, quality)
    ]
    for thread in threads:
        thread.start()
    return scorer, quality, threads


def _ended(scorer, quality, ids: list[int]) -> bool:
    """Both workers saw every match of ``ids`` end."""
    return set(ids) <= set(scorer.ended_matches) and set(ids) <= set(quality.ended)


def _retrain_and_wait(scorer, quality, ids, bootstrap, timeout: float, seen, **comparison):
    """Retrain on the first batch's labelled rows; if promoted, wait for the workers to load it.

    Only the batch's matches count as new: the topic may also hold matches replayed earlier
    (notebook 01's), which are not part of the story of this loop.
    """
    from inplay.mlops.retrain import new_rows_from_topic, retrain

    new = new_rows_from_topic(bootstrap)
    result = retrain(
        new[new["match_id"].isin(ids)] if not new.empty else new,
        bootstrap=bootstrap,
        snapshots_dir=config.PROCESSED_DIR / LOOP_DIR,
        **comparison,
    )
    if result.promoted:  # both workers hold the new champion before the second batch

        def pending() -> bool:
            sources = (scorer.source, quality.source)
            return all(s.pending_version == result.challenger_version for s in sources)

        _wait(pending, "the workers to load the new champion", timeout, seen)
    return result


def run_loop(
    data: StatsBombData,
    first: list[Match],
    second: list[Match],
    *,
    speed: float = 0.0,
    bootstrap: str | None = None,
    holdout_share: float = 0.3,
    min_matches: int = 10,
    alpha: float | None = None,
    timeout: float = 900.0,
    poll_seconds: float = 1.0,
) -> LoopRun:
    """Replay two batches with a retrain between them, scoring and measuring live.

    Args:
        data: The StatsBomb folder.
        first: Matches replayed first; the retrain's new matches (with any earlier ones
            labelled on the processed-data topic).
        second: Matches replayed after the retrain.
        speed: Replay speed (0: as fast as possible).
        bootstrap: Kafka (default: the configured broker, with the six topics).
        holdout_share: Share of the new matches the retrain holds out.
        min_matches: Fewer held-out matches: the challenger is rejected, too few to tell.
        alpha: Level of the retrain's paired test (None: ``INPLAY_PROMOTE_ALPHA``).
        timeout: The longest wait for the workers to finish a batch.
        poll_seconds: How often the workers look at the champion.

    Raises:
        TimeoutError: a batch was not finished in time (the message says what was seen).
    """
    from inplay.live.replay import replay

    check_not_replayed([*first, *second], bootstrap)
    start = time.perf_counter()
    comparison = dict(holdout_share=holdout_share, min_matches=min_matches, alpha=alpha)
    scorer, quality, threads = _workers(bootstrap, poll_seconds)
    before = (scorer.model_version, quality.live.version)
    ids1, ids2 = [m.match_id for m in first], [m.match_id for m in second]
    seen = lambda: f"ended: scorer {len(scorer.ended_matches)}, quality {len(quality.ended)}"  # noqa: E731
    try:
        sent = replay(data, first, speed=speed, bootstrap=bootstrap, raw_topic=config.TOPIC_RAW)
        _wait(lambda: _ended(scorer, quality, ids1), "the first batch", timeout, seen)
        result = _retrain_and_wait(scorer, quality, ids1, bootstrap, timeout, seen, **comparison)
        sent2 = replay(data, second, speed=speed, bootstrap=bootstrap, raw_topic=config.TOPIC_RAW)
        _wait(lambda: _ended(scorer, quality, ids2), "the second batch", timeout, seen)
    finally:
        scorer.stop(), quality.stop()
        for thread in threads:
            thread.join(timeout=60)
    run = LoopRun(
        ids1,
        ids2,
        result,
        sent.events + sent2.events,
        scorer.stats.as_dict(), vars(quality.counts), before,
        (scorer.model_version, quality.live.version), time.perf_counter() - start,
    )  # fmt: skip
    run.reconciliation = reconcile(run, bootstrap)
    return run


def reconcile(run: LoopRun, bootstrap: str | None = None) -> dict:
    """Predictions of the loop's matches read back from the results topic, by model version.

    ``lost`` counts scored events with no prediction on the topic (0 when nothing was lost);
    ``repeated`` the predictions that came more than once (at-least-once copies).
    """
    from inplay.pipeline import read_json_topic

    frame = read_json_topic(config.TOPIC_RESULTS, bootstrap)
    ids = set(run.first) | set(run.second)
    mine = frame[frame["match_id"].isin(ids)] if not frame.empty else frame
    unique = mine.drop_duplicates(["match_id", "event_index"]) if not mine.empty else mine
    by_version = unique.groupby("model_version").size().to_dict() if not unique.empty else {}
    scored = int(run.scorer.get("scored", 0))
    return {
        "events_sent": run.events_sent,
        "scorer_consumed": int(run.scorer.get("consumed", 0)),
        "scored": scored,
        "predictions": int(len(unique)),
        "repeated": int(len(mine) - len(unique)),
        "lost": max(0, scored - int(len(unique))),
        "by_model_version": {str(k): int(v) for k, v in by_version.items()},
    }


def matches_table(matches: list[Match]) -> pd.DataFrame:
    """The loop's matches as a table (date, competition, teams)."""
    return pd.DataFrame(
        [
            {
                "match_id": m.match_id,
                "date": m.match_date,
                "competition": f"{m.competition} {m.season}",
                "match": f"{m.home_team} v {m.away_team}",
            }
            for m in matches
        ]
    )

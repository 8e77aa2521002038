"""The pipeline's stages as plain calls: what the CLI runs and the notebooks import.

Stages hand over through files (``data/processed``, ``models/``) and Kafka topics, never
through memory, so each stage (and each notebook) runs on its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from inplay import config
from inplay.data.statsbomb import Match, StatsBombData, ensure_data
from inplay.errors import InplayError

__all__ = [
    "DEMO_MATCH_IDS",
    "parse_ids",
    "parse_names",
    "select_matches",
    "build_dataset",
    "fit_models",
    "selected_model_name",
    "selection_losses",
    "load_scoring_model",
    "score_live",
    "score_workers",
    "read_json_topic",
    "read_results",
    "read_monitoring",
    "write_summary",
    "event_wpa_table",
    "prediction_bands",
    "score_offline",
]

# World Cup 2022: the final (extra time and a shoot-out), a semi-final, a quarter-final and
# a five-goal group match.
DEMO_MATCH_IDS: tuple[int, ...] = (3869685, 3869519, 3869354, 3857256)
SELECTED_FILE = "selected.json"


def parse_ids(value: str | Iterable[int] | int | None) -> list[int] | None:
    """``"1,2, 3"`` or ``[1, 2]`` or ``5`` -> a list of ints; empty or None -> None.

    Raises:
        config.ConfigError: a part is not a whole number.
    """
    if value is None:
        return None
    if isinstance(value, int):
        return [value]
    if isinstance(value, str):
        parts = [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]
        try:
            ids = [int(p) for p in parts]
        except ValueError:
            raise config.ConfigError(
                f"ids must be whole numbers separated by commas, got {value!r}"
            ) from None
        return ids or None
    ids = [int(v) for v in value]
    return ids or None


def parse_names(value: str | Iterable[str]) -> list[str]:
    """``"a, b"`` or ``["a", "b"]`` -> ``["a", "b"]``."""
    if isinstance(value, str):
        return [p.strip() for p in value.split(",") if p.strip()]
    return list(value)


def select_matches(
    data: StatsBombData,
    competition_ids: str | Iterable[int] | int | None = None,
    season_ids: str | Iterable[int] | int | None = None,
    match_ids: str | Iterable[int] | int | None = None,
    n_matches: int = 0,
) -> list[Match]:
    """Matches by competition, season and match ids, the first ``n_matches`` (0 = all).

    Raises:
        config.ConfigError: nothing matches; the message lists what is there.
    """
    ids = parse_ids(match_ids)
    matches = data.matches(parse_ids(competition_ids), parse_ids(season_ids), ids)
    if ids:
        order = {mid: n for n, mid in enumerate(ids)}
        matches.sort(key=lambda m: order[m.match_id])
        missing = sorted(set(ids) - {m.match_id for m in matches})
        if missing:
            raise config.ConfigError(
                f"match ids {missing} are not in the match lists under {data.root}; "
                "see `inplay data list`."
            )
    if n_matches and n_matches > 0:
        matches = matches[:n_matches]
    if not matches:
        comps = data.competitions()
        listing = ", ".join(
            f"{r.competition_id}/{r.season_id} {r.competition_name} {r.season_name}"
            for r in comps.itertuples()
        )
        raise config.ConfigError(
            f"no match selected (competition={competition_ids}, season={season_ids}, "
            f"match ids={match_ids}); available competition/season ids: {listing}"
        )
    return matches


def build_dataset(
    competition_ids=None,
    season_ids=None,
    match_ids=None,
    n_matches: int = 0,
    per_event: bool = True,
    out_dir: Path | None = None,
    workers: int = 2,
    progress: bool = True,
):
    """Build and write the labelled snapshot tables (see :mod:`inplay.data.dataset`)."""
    from inplay.data.dataset import write_dataset

    data = ensure_data()
    matches = select_matches(data, competition_ids, season_ids, match_ids, n_matches)
    return write_dataset(data, matches, out_dir, per_event, workers, progress)


def _data_info(snapshots: pd.DataFrame, folder: Path) -> dict:
    """What a fit was trained on, for its model card: the dataset's info plus the rows used."""
    from inplay.data.dataset import INFO_FILE

    info_path = folder / INFO_FILE
    data_info = json.loads(info_path.read_text()) if info_path.is_file() else {}
    data_info.update(
        rows=int(len(snapshots)),
        matches_used=int(snapshots["match_id"].nunique()),
        snapshots=str(folder / "snapshots_minute.parquet"),
        priors=bool("elo_diff" in snapshots.columns),
    )
    return data_info


def fit_models(
    names: Iterable[str] | None = None,
    snapshots_dir: Path | None = None,
    models_dir: Path | None = None,
    n_splits: int = 5,
    seed: int = 0,
    *,
    promote: bool = True,
    track: bool = True,
):
    """Evaluate ``names`` (None: ``DEFAULT_MODELS``) by grouped CV, fit each on all data, save it.

    The snapshots get their pre-match priors from the StatsBomb match lists when
    ``INPLAY_DATA_DIR`` lists their matches (:func:`inplay.evaluation.evaluate.with_priors`).
    Among the models that do not need closing odds (the live scorer has none), the one with the
    lowest log loss on held-out competitions (:func:`selection_losses`) is recorded as the
    selected model (``models/selected.json``), which ``inplay score`` uses by default. With
    ``track``, each model becomes an MLflow run and a new version of the registered model
    (:func:`inplay.mlops.tracking.log_fits`); with ``promote`` too, the selected model's new
    version gets the alias ``champion``.

    Returns:
        (the evaluation result, the selected model name)
    """
    from inplay.data.dataset import load_snapshots
    from inplay.evaluation.evaluate import BASELINE, evaluate, with_priors
    from inplay.mlops.quality import drift_band
    from inplay.models import DEFAULT_MODELS, MODELS, make_model, save_model

    names = list(names or DEFAULT_MODELS)
    snapshots = with_priors(load_snapshots("minute", snapshots_dir))
    result = evaluate(snapshots, names, n_splits=n_splits, seed=seed, priors=False)
    overall = result.overall.set_index("model")
    data_info = _data_info(snapshots, Path(snapshots_dir or config.PROCESSED_DIR))
    models_dir = Path(models_dir or config.MODELS_DIR)
    fits = {}
    for name in names if BASELINE in names else [BASELINE, *names]:
        model = make_model(name).fit(snapshots)
        metrics = {
            "cv": {k: float(v) for k, v in overall.loc[name].items() if isinstance(v, int | float)},
            "cv_splits": n_splits,
            "split": "grouped by match",
            "drift_band": drift_band(result.oof[result.oof["model"] == name]),
        }
        fits[name] = (model, save_model(model, models_dir, data_info=data_info, metrics=metrics))
    live = [n for n in overall.index if not getattr(MODELS[n], "use_odds", False)]
    losses, how = selection_losses(snapshots, live, overall["log_loss"])
    selected = str(losses.idxmin())
    (models_dir / SELECTED_FILE).write_text(
        json.dumps({"model": selected, "log_loss": float(losses[selected]), "selected_by": how})
    )
    if track:
        from inplay.mlops.tracking import log_fits

        log_fits(fits, result, snapshots, champion=selected if promote else None)
    return result, selected


def selection_losses(
    snapshots: pd.DataFrame, names: list[str], grouped_cv: pd.Series
) -> tuple[pd.Series, str]:
    """The log loss of each model that picks the live one, and how it was measured.

    With three or more competitions, each is held out in turn and every competition weighs
    the same (:func:`inplay.evaluation.travel.travel_table`): that resembles the new data the
    live model meets. Otherwise (or if a model cannot be fitted without one competition) the
    grouped cross-validation log loss ``grouped_cv`` is used.
    """
    from inplay.evaluation.cv import grouped_cv_predictions
    from inplay.evaluation.travel import travel_table

    if snapshots["competition_id"].nunique() >= 3:
        try:
            oof = grouped_cv_predictions(snapshots, names, split="competition")
        except InplayError:
            pass
        else:
            table = travel_table(oof, "competition", baselines=()).set_index("model")
            return table["log_loss"], "leave one competition out, competitions weighted equally"
    return grouped_cv.loc[names], "grouped cross-validation by match"


def selected_model_name(models_dir: Path | None = None) -> str:
    """The model ``inplay fit`` selected.

    Raises:
        config.ConfigError: no model was fitted yet.
    """
    path = Path(models_dir or config.MODELS_DIR) / SELECTED_FILE
    if not path.is_file():
        raise config.ConfigError(
            f"no fitted model in {path.parent}: run `inplay fit` "
            "(or notebooks/03_model_fitting.ipynb) first."
        )
    return json.loads(path.read_text())["model"]


def load_scoring_model(model: str | Path | None = None, models_dir: Path | None = None):
    """Load a saved model: a name under ``models/``, a path, or (None) the selected one."""
    from inplay.models import load_model

    models_dir = Path(models_dir or config.MODELS_DIR)
    if model is None:
        model = selected_model_name(models_dir)
    path = Path(model)
    if not path.exists():
        path = models_dir / str(model)
    return load_model(path)


def score_live(
    model: str | Path | None = None,
    max_events: int | None = None,
    idle_timeout: float | None = 20.0,
    bootstrap: str | None = None,
    group_id: str | None = None,
    progress: bool = True,
    handle_signals: bool = False,
    client: str | None = None,
    instance_id: str | None = None,
    **topics: str,
):
    """Run one scoring worker until ``max_events`` or ``idle_timeout``; returns its stats.

    ``model``: None (the registry's champion, else the selected model; a newly promoted
    champion is taken between batches), ``"champion"``, ``"selected"``, a name or a path
    (:func:`inplay.mlops.champion.resolve_live_model`).
    """
    from inplay.live.scorer import Scorer
    from inplay.mlops.champion import ChampionSource, resolve_live_model

    live, follow = resolve_live_model(model)
    scorer = Scorer(
        live.model,
        source=ChampionSource(live, follow=follow),
        bootstrap=bootstrap,
        group_id=group_id,
        client=client,
        instance_id=instance_id,
        **topics,
    )
    return scorer.run(
        max_events=max_events,
        idle_timeout=idle_timeout,
        progress=progress,
        handle_signals=handle_signals,
    )


def score_workers(n: int, argv: list[str], instance_id: str | None = None) -> int:
    """Run ``n`` scoring worker processes in one consumer group until they all stop.

    Each worker is ``inplay score`` with the same arguments (``argv``) and ``--workers 1``
    (and, given ``instance_id``, ``--instance-id instance_id-k`` for worker k);
    SIGTERM/SIGINT are passed on, so every worker finishes its batch, commits and leaves.

    Returns:
        0 if every worker exited cleanly, else the first non-zero exit status.
    """
    import signal
    import subprocess
    import sys

    args: list[str] = []
    skip = False
    for arg in argv:  # the same arguments, less --workers N / --workers=N
        if skip:
            skip = False
        elif arg == "--workers":
            skip = True
        elif not arg.startswith("--workers="):
            args.append(arg)
    cmd = [sys.executable, "-m", "inplay.cli", *args, "--workers", "1"]
    ids = [["--instance-id", f"{instance_id}-{k}"] if instance_id else [] for k in range(1, n + 1)]
    procs = [subprocess.Popen(cmd + extra) for extra in ids]

    def forward(signum, _frame):
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        codes = [proc.wait() for proc in procs]
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return next((c for c in codes if c != 0), 0)


def read_json_topic(
    topic: str, bootstrap: str | None = None, timeout: float = 30.0
) -> pd.DataFrame:
    """Every JSON object message of a topic as a DataFrame (with partition and offset)."""
    from inplay.kafka.io import read_topic
    from inplay.live.messages import decode

    rows = []
    for record in read_topic(topic, bootstrap=bootstrap, timeout=timeout):
        body = decode(record.value)
        if body is not None:
            body["_partition"] = record.partition
            body["_offset"] = record.offset
            rows.append(body)
    return pd.DataFrame(rows)


def read_results(
    bootstrap: str | None = None, topic: str = config.TOPIC_RESULTS, timeout: float = 30.0
) -> pd.DataFrame:
    """Predictions from the results topic, one per (match_id, event_index), in match order.

    Delivery is at-least-once, so a prediction may appear twice; the last copy is kept. The
    columns are those of :data:`inplay.live.messages.RESULT` (plus ``_partition``, ``_offset``).
    """
    from inplay.live.messages import PREDICTION_KEY

    frame = read_json_topic(topic, bootstrap, timeout)
    if frame.empty:
        return frame
    frame = frame.drop_duplicates(list(PREDICTION_KEY), keep="last")
    return frame.sort_values(["match_id", "_partition", "_offset"]).reset_index(drop=True)


def read_monitoring(
    bootstrap: str | None = None, topic: str = config.TOPIC_MONITORING, timeout: float = 30.0
) -> pd.DataFrame:
    """Everything on the monitoring topic: ``kind`` ``stats`` and ``quarantine`` messages.

    Their fields: :data:`inplay.live.messages.STATS` and :data:`inplay.live.messages.QUARANTINE`.
    """
    return read_json_topic(topic, bootstrap, timeout)


def write_summary(name: str, values: dict, directory: Path | None = None) -> Path:
    """Write a notebook's headline numbers to ``reports/<name>.json`` (tests read them)."""
    directory = Path(directory or config.REPORTS_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    path.write_text(json.dumps(values, indent=2, default=str))
    return path


def event_wpa_table(
    match_ids: Iterable[int], model: str | Path | None = None, models_dir: Path | None = None
) -> pd.DataFrame:
    """Win probability added of every event of these matches, by the scoring model.

    The events are read from the StatsBomb folder and replayed through the same feature code as
    the live scorer (:func:`inplay.evaluation.wpa.match_wpa`); the model gets what the scorer
    gets (team names and whether the venue is neutral), so the expected points are those of the
    published predictions.

    Args:
        match_ids: StatsBomb match ids.
        model: As :func:`load_scoring_model` (None: the selected model).
        models_dir: The models folder (default ``models/``).

    Returns:
        :func:`inplay.evaluation.wpa.event_wpa` rows of every match, with ``competition``.
    """
    from inplay.data.ratings import neutral_venue
    from inplay.evaluation.wpa import match_wpa

    data = ensure_data()
    scoring = load_scoring_model(model, models_dir)
    frames = []
    for match in data.matches(match_ids=[int(m) for m in match_ids]):
        labels = {
            "competition": f"{match.competition} {match.season}",
            "neutral": float(neutral_venue(match.competition, match.competition_stage)),
        }
        events = data.events(match.match_id)
        frames.append(
            match_wpa(scoring, events, match.match_id, match.home_team, match.away_team, labels)
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def prediction_bands(
    results: pd.DataFrame,
    model: str | Path | None = None,
    models_dir: Path | None = None,
    bootstrap: str | None = None,
    level: float = 0.8,
) -> pd.DataFrame | None:
    """The published predictions with an interval from the model's parameter uncertainty.

    Each prediction's request (the match state it was made from, on the requests topic) is
    predicted again under parameter draws (:func:`inplay.models.uncertainty.probability_band`).

    Args:
        results: :func:`read_results`.
        model: As :func:`load_scoring_model` (None: the selected model); it must be the model
            that made the predictions.
        models_dir: The models folder (default ``models/``).
        bootstrap: Kafka bootstrap servers (default: the configured broker).
        level: Coverage of the interval.

    Returns:
        ``results`` with ``p_home_lo`` ... ``p_away_hi``, or None when the model has no
        parameter covariance (only goal-rate models fitted by this version carry one).
    """
    from inplay.live.messages import PREDICTION_KEY
    from inplay.models.uncertainty import BAND_COLUMNS, probability_band

    scoring = load_scoring_model(model, models_dir)
    if getattr(scoring, "cov_", None) is None:
        return None
    requests = read_json_topic(config.TOPIC_REQUESTS, bootstrap)
    requests = requests.drop_duplicates(list(PREDICTION_KEY), keep="last")
    band = probability_band(scoring, requests.reset_index(drop=True), level=level)
    band[list(PREDICTION_KEY)] = requests[list(PREDICTION_KEY)].to_numpy()
    keep = [*PREDICTION_KEY, *BAND_COLUMNS]
    return results.merge(band[keep], on=list(PREDICTION_KEY), how="left")


def score_offline(
    match_ids: Iterable[int],
    model: str | Path | None = None,
    models_dir: Path | None = None,
    batch: int = 500,
) -> pd.DataFrame:
    """The live scorer's predictions of whole matches, without Kafka.

    Each match's events are encoded as the replay sends them (with the end-of-match marker)
    and scored by :class:`inplay.live.batch.BatchScorer` in batches of ``batch`` records: the
    code a worker runs, the same results as a replay through Kafka, for figures and
    backfills.

    Args:
        match_ids: StatsBomb match ids.
        model: As :func:`load_scoring_model` (None: the selected model).
        models_dir: The models folder (default ``models/``).
        batch: Records per batch.

    Returns:
        The result messages (:data:`inplay.live.messages.RESULT` columns), in match order.
    """
    import orjson

    from inplay.kafka.clients import Record
    from inplay.live.batch import BatchScorer
    from inplay.live.replay import encode_event, match_end_event
    from inplay.models.advance import knockout_match_ids

    data = ensure_data()
    scorer = BatchScorer(load_scoring_model(model, models_dir))
    knockouts = knockout_match_ids(data.matches())
    records = []
    for match in data.matches(match_ids=[int(m) for m in match_ids]):
        events = data.events(match.match_id)
        last = max(events, key=lambda e: int(e["index"]))
        for event in [*events, match_end_event(match, last)]:
            key, value = encode_event(event, match, knockout=match.match_id in knockouts)
            records.append(Record(config.TOPIC_EVENTS, 0, len(records), key, value))
    rows = [
        orjson.loads(value)
        for start in range(0, len(records), batch)
        for topic, _key, value in scorer.process(records[start : start + batch])
        if topic == scorer.results_topic
    ]
    return pd.DataFrame(rows)

"""The ``inplay`` subcommands: ``cmd_<name>(args) -> exit status``, one per subcommand."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from inplay import config
from inplay.cli.checks import (
    SELECTED,
    check_data_folder,
    check_snapshots,
    load_model,
    name_broker_flag,
    require_topics,
    selected_model,
)
from inplay.errors import ConfigError, DataError, InplayError

__all__ = [
    "SCORE_TOPIC_FLAGS",
    "SELECTED",
    "cmd_backtest",
    "cmd_broker",
    "cmd_dashboard",
    "cmd_data",
    "cmd_dataset",
    "cmd_evaluate",
    "cmd_features",
    "cmd_fit",
    "cmd_monitor",
    "cmd_replay",
    "cmd_reports",
    "cmd_score",
    "cmd_topics",
]

# The scorer's topics: flag, default, what it is. Each must exist before `inplay score` starts.
SCORE_TOPIC_FLAGS: tuple[tuple[str, str, str], ...] = (
    ("--events-topic", config.TOPIC_EVENTS, "topic of the live events to score"),
    ("--requests-topic", config.TOPIC_REQUESTS, "topic for the prediction requests"),
    ("--results-topic", config.TOPIC_RESULTS, "topic for the predictions"),
    ("--monitoring-topic", config.TOPIC_MONITORING, "topic for statistics and quarantine"),
)


def cmd_broker(args: argparse.Namespace) -> int:
    """``inplay broker start|stop|status``."""
    from inplay.brokers import embedded as broker

    if config.env_str("KAFKA_BOOTSTRAP_SERVERS") and args.action == "start":
        print(
            "note: KAFKA_BOOTSTRAP_SERVERS is set, so inplay uses that cluster; "
            "the embedded broker is started anyway."
        )
    if args.action == "start":
        info = broker.start()
        print(f"embedded broker running at {info.bootstrap} (pid {info.pid}); log {info.log_file}")
    elif args.action == "stop":
        stopped = broker.stop()
        print("embedded broker stopped" if stopped else "no embedded broker was running")
    else:
        info = broker.status()
        if info is None:
            print("no embedded broker running (start one with `inplay broker start`)")
            return 1
        print(
            f"embedded broker running at {info.bootstrap} (pid {info.pid}), "
            f"up {time.time() - info.started_at:.0f} s"
        )
    return 0


def cmd_topics(args: argparse.Namespace) -> int:
    """``inplay topics create|describe``."""
    from inplay.kafka import topics

    names = list(dict.fromkeys([*config.TOPICS, *(args.topic_names or [])]))
    try:
        if args.action == "create":
            outcome = topics.create_topics(args.kafka_broker, names)
        else:
            rows = topics.describe_topics(args.kafka_broker, names)
    except InplayError as exc:
        raise name_broker_flag(args, exc) from None
    if args.action == "create":
        for name, what in outcome.items():
            print(f"{name:36s} {what}")
        if all(v.startswith("exists") for v in outcome.values()):
            print("all topics already existed: nothing changed")
    else:
        print(topics.format_table(rows))
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    """``inplay data list|validate|download|where``."""
    from inplay.data import statsbomb as data_mod
    from inplay.pipeline import select_matches

    if args.action == "download":
        dest = data_mod.download(dest=args.dest, max_matches=args.max_matches)
        print(f"StatsBomb open data in {dest}")
        return 0
    if args.action == "where":
        print(config.statsbomb_dir())
        return 0
    data = data_mod.StatsBombData()
    matches = select_matches(data, args.competition, args.season, args.match_ids, args.n_matches)
    if args.action == "list":
        for m in matches:
            print(
                f"{m.match_id:>8}  {m.match_date}  {m.competition} {m.season}  "
                f"{m.home_team} {m.home_score}-{m.away_score} {m.away_team}"
            )
        print(f"{len(matches)} matches (Data: StatsBomb Open Data)")
        return 0
    report = data_mod.validate(data, [m.match_id for m in matches])
    print(report.summary())
    return 0 if report.passed else 1


def cmd_replay(args: argparse.Namespace) -> int:
    """``inplay replay``."""
    from inplay.data.statsbomb import ensure_data
    from inplay.live.replay import replay
    from inplay.pipeline import DEMO_MATCH_IDS, select_matches

    data = ensure_data()
    match_ids = ",".join(map(str, DEMO_MATCH_IDS)) if args.demo else args.match_ids
    if not (args.competition or args.season or match_ids or args.n_matches):
        raise ConfigError(
            "say which matches to replay: --match-ids, --competition/--season, --n-matches, "
            "or --demo"
        )
    matches = select_matches(data, args.competition, args.season, match_ids, args.n_matches)
    # Settings first (no network), then the cluster and the topic.
    from inplay.kafka.clients import client_name

    config.producer_settings()
    client_name()
    topics = {"--topic": args.topic}
    if args.raw_topic:
        topics["--raw-topic"] = args.raw_topic
    require_topics(args, topics)
    stats = replay(
        data,
        matches,
        speed=args.speed,
        delay=args.delay,
        max_events=args.max_events,
        stagger=args.stagger,
        topic=args.topic,
        bootstrap=args.kafka_broker,
        raw_topic=args.raw_topic or None,
    )
    print(stats.summary())
    return 0


def cmd_features(args: argparse.Namespace) -> int:
    """``inplay features``."""
    from inplay.data.statsbomb import ensure_data
    from inplay.features import features_upto

    data = ensure_data(download_if_missing=False)
    match = data.match(args.match_id)
    feats = features_upto(
        data.events(match.match_id),
        match.match_id,
        match.home_team,
        match.away_team,
        args.upto_index,
    )
    feats = {"home_team": match.home_team, "away_team": match.away_team, **feats}
    if args.json:
        print(json.dumps(feats, indent=2))
    else:
        width = max(map(len, feats))
        for key, value in feats.items():
            print(f"{key:<{width}}  {value}")
    return 0


def cmd_dataset(args: argparse.Namespace) -> int:
    """``inplay dataset``."""
    from inplay.pipeline import build_dataset

    try:
        info = build_dataset(
            args.competition,
            args.season,
            args.match_ids,
            args.n_matches,
            per_event=not args.no_events,
            out_dir=args.out,
            workers=args.workers,
        )
    except ValueError as exc:
        if not str(exc).startswith("no snapshots built"):
            raise
        raise DataError(
            f"{exc}. List the bad files with `inplay data validate` and replace them "
            f"(INPLAY_DATA_DIR={config.statsbomb_dir()}), or select other matches."
        ) from None
    print(
        f"{info.matches} matches -> {info.minute_rows:,} minute rows, {info.event_rows:,} event "
        f"rows in {info.seconds:.1f} s; results {info.results}"
    )
    for path, reason in info.bad_files:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    return 0


def _print_tables(result) -> None:
    import pandas as pd

    with pd.option_context("display.width", 140, "display.max_columns", 20):
        print(result.overall.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
        print()
        print(result.by_bin.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


def cmd_fit(args: argparse.Namespace) -> int:
    """``inplay fit``."""
    from inplay.mlops.tracking import tracking_uri
    from inplay.pipeline import fit_models, parse_names

    check_snapshots()
    result, selected = fit_models(
        parse_names(args.models), n_splits=args.splits, promote=args.promote
    )
    _print_tables(result)
    print(f"\nselected model: {selected} (saved under {config.MODELS_DIR})")
    champion = "the selected model's new version" if args.promote else "unchanged (--no-promote)"
    print(f"MLflow runs and model versions in {tracking_uri()}; champion: {champion}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """``inplay evaluate``."""
    from inplay.data.dataset import load_snapshots
    from inplay.evaluation.evaluate import evaluate
    from inplay.pipeline import parse_names

    check_snapshots()
    result = evaluate(load_snapshots("minute"), parse_names(args.models), n_splits=args.splits)
    _print_tables(result)
    if args.json_out:
        with open(args.json_out, "w") as fh:
            json.dump(result.to_dict(), fh, indent=2)
    return 0


def cmd_backtest(args: argparse.Namespace) -> int:
    """``inplay backtest`` (``--model selected``: the model ``inplay fit`` chose, refitted)."""
    from inplay.data.statsbomb import DataFileError
    from inplay.evaluation.backtest import backtest

    folders = {"--train-data": args.train_data, "--test-data": args.test_data}
    for flag, value in folders.items():
        check_data_folder(flag, value)
    model = selected_model() if args.model == SELECTED else args.model
    try:
        frame = backtest(args.train_data, args.test_data, model, out=args.out, workers=args.workers)
    except DataFileError as exc:
        path = Path(str(exc.path)).resolve()
        flags = [f for f, v in folders.items() if path.is_relative_to(Path(v).resolve())]
        raise DataError(
            f"{' / '.join(flags) or 'data'}: bad data file {exc.path}: {exc.reason}; replace "
            "it with a good copy (`inplay data validate` with INPLAY_DATA_DIR set to that "
            "folder lists every bad file)."
        ) from None
    print(f"wrote {len(frame)} rows ({frame['match_id'].nunique()} matches) to {args.out}")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    """``inplay score`` (no ``--model`` or ``--model selected``: the selected model)."""
    from inplay.kafka.clients import client_name
    from inplay.live.parse import max_event_bytes
    from inplay.pipeline import score_live, score_workers

    if args.workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {args.workers}")
    # Before any worker starts: settings (no network), the model, then the cluster and topics.
    config.consumer_settings()
    config.producer_settings()
    max_event_bytes()
    client_name(args.client)
    load_model(args.model)
    topics = {flag: getattr(args, flag[2:].replace("-", "_")) for flag, _, _ in SCORE_TOPIC_FLAGS}
    require_topics(args, topics)
    if args.workers > 1:
        return score_workers(args.workers, sys.argv[1:], args.instance_id)
    stats = score_live(
        args.model,
        max_events=args.max_events,
        idle_timeout=args.idle_timeout,
        bootstrap=args.kafka_broker,
        group_id=args.group,
        instance_id=args.instance_id,
        handle_signals=True,
        client=args.client,
        **{flag[2:].replace("-", "_"): name for flag, name in topics.items()},
    )
    print(stats.summary())
    return 0


def cmd_monitor(args: argparse.Namespace) -> int:
    """``inplay monitor``."""
    from inplay.live.monitor import run_monitor

    require_topics(args, {"--topic": args.topic})
    state = run_monitor(
        args.kafka_broker,
        topic=args.topic,
        refresh=args.refresh,
        duration=args.duration,
        from_beginning=not args.new_only,
    )
    print(f"{state.messages} monitoring messages, {len(state.workers)} workers seen")
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    """``inplay dashboard``."""
    from inplay.dashboard.run import run

    return run(args)


def cmd_reports(args: argparse.Namespace) -> int:
    """``inplay reports``."""
    from inplay.pipeline import parse_names
    from inplay.reporting.notebooks import NOTEBOOKS, SMALL_PARAMETERS, run_notebooks

    names = parse_names(args.only) if args.only else list(NOTEBOOKS)
    unknown = sorted(set(names) - set(NOTEBOOKS))
    if unknown:
        raise ConfigError(f"--only: unknown notebooks {unknown}; choose from {NOTEBOOKS}")
    runs = run_notebooks(names, SMALL_PARAMETERS if args.small else None, out_dir=args.out)
    for run in runs:
        print(f"{run.name:26s} {run.seconds:7.1f} s  {run.html}")
    print(f"index: {runs[-1].html.parent / 'index.html'}")
    return 0

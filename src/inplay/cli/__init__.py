"""The ``inplay`` command: every pipeline stage as a subcommand.

Run ``inplay --help`` or ``inplay <command> --help``. A bad setting or data file (unreachable
broker, missing topic, missing or corrupt model, unreadable data) prints one line,
``error: inplay <command>: ...``, that names the setting and what to do, and exits with
status 2 (1 for an unexpected error); ``--debug`` or ``INPLAY_DEBUG=1`` adds the traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path

from inplay import __version__, config

EPILOG = """\
A typical session (embedded broker, data from INPLAY_DATA_DIR):
  inplay broker start
  inplay topics create
  inplay replay --competition 43 --season 106 --n-matches 4 --speed 0
  inplay dataset
  inplay fit
  inplay score --idle-timeout 20
  inplay broker stop

Settings come from the environment: INPLAY_DATA_DIR (StatsBomb open-data folder),
KAFKA_BOOTSTRAP_SERVERS (use this cluster instead of the embedded broker), KAFKA_* producer
and consumer settings (see README), KAFKA_BOOTSTRAP_TIMEOUT_MS (how long to try to reach the
cluster, default 10000). A bad setting prints one line naming it; add --debug (or set
INPLAY_DEBUG=1) for the traceback. Data: StatsBomb Open Data.
"""


# The scorer's topics: flag, default, what it is. Each must exist before `inplay score` starts.
SCORE_TOPIC_FLAGS: tuple[tuple[str, str, str], ...] = (
    ("--events-topic", config.TOPIC_EVENTS, "topic of the live events to score"),
    ("--requests-topic", config.TOPIC_REQUESTS, "topic for the prediction requests"),
    ("--results-topic", config.TOPIC_RESULTS, "topic for the predictions"),
    ("--monitoring-topic", config.TOPIC_MONITORING, "topic for statistics and quarantine"),
)


def _add_broker_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--kafka-broker",
        "--bootstrap-servers",
        dest="kafka_broker",
        metavar="HOST:PORT",
        help="Kafka bootstrap servers (default: KAFKA_BOOTSTRAP_SERVERS, else the embedded broker)",
    )


def _add_selection(p: argparse.ArgumentParser, n_default: int = 0) -> None:
    p.add_argument(
        "--competition", metavar="IDS", help="competition ids, comma separated (e.g. 43)"
    )
    p.add_argument("--season", metavar="IDS", help="season ids, comma separated (e.g. 106)")
    p.add_argument("--match-ids", metavar="IDS", help="match ids, comma separated")
    p.add_argument(
        "--n-matches",
        type=int,
        default=n_default,
        metavar="N",
        help=f"use the first N selected matches by date (0 = all; default {n_default})",
    )


_DEBUG_HELP = "on an error, print the traceback too (same as INPLAY_DEBUG=1)"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``inplay``."""
    parser = argparse.ArgumentParser(
        prog="inplay",
        description="Live football match prediction on Kafka from real StatsBomb events.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"inplay {__version__}")
    parser.add_argument("--debug", action="store_true", help=_DEBUG_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("broker", help="start, stop or inspect the embedded Kafka-compatible broker")
    p.add_argument("action", choices=["start", "stop", "status"])
    p.set_defaults(func=cmd_broker)

    p = sub.add_parser("topics", help="create or describe the six pipeline topics")
    p.add_argument("action", choices=["create", "describe"])
    p.add_argument(
        "--topic",
        dest="topic_names",
        action="append",
        metavar="NAME",
        help="also create or describe this topic, besides the six pipeline topics (repeatable)",
    )
    _add_broker_arg(p)
    p.set_defaults(func=cmd_topics)

    p = sub.add_parser("data", help="list, validate or download StatsBomb open data")
    p.add_argument("action", choices=["list", "validate", "download", "where"])
    _add_selection(p)
    p.add_argument("--dest", help="download folder (default data/raw/statsbomb)")
    p.add_argument("--max-matches", type=int, help="download at most N matches' events")
    p.set_defaults(func=cmd_data)

    p = sub.add_parser(
        "replay",
        help="replay real matches into live_football_events as if live",
        description="Replay real StatsBomb matches into Kafka, interleaved on one clock like a "
        "matchday. Key = match id, value = the StatsBomb event plus match_id, home_team, "
        "away_team and sent_at.",
    )
    _add_selection(p, n_default=0)
    p.add_argument(
        "--speed",
        type=float,
        default=0.0,
        help="N x real time (60 = a match in 1.5 minutes); 0 = as fast as possible (default)",
    )
    p.add_argument("--delay", type=float, help="fixed seconds between events (overrides --speed)")
    p.add_argument("--max-events", type=int, help="stop after N events in all")
    p.add_argument("--stagger", type=float, default=0.0, help="seconds between kick-offs")
    p.add_argument("--topic", default=config.TOPIC_EVENTS, help="topic to write to")
    p.add_argument("--demo", action="store_true", help="replay the demo matches (World Cup 2022)")
    _add_broker_arg(p)
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("features", help="the match state after one event, as a prediction request")
    p.add_argument("--match-id", type=int, required=True)
    p.add_argument("--upto-index", type=int, required=True, help="StatsBomb event index")
    p.add_argument("--json", action="store_true", help="print JSON (default: a table)")
    p.set_defaults(func=cmd_features)

    p = sub.add_parser("dataset", help="build labelled snapshots under data/processed (parquet)")
    _add_selection(p)
    p.add_argument("--no-events", action="store_true", help="skip the per-event table")
    p.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    p.add_argument("--out", help="output folder (default data/processed)")
    p.set_defaults(func=cmd_dataset)

    p = sub.add_parser("fit", help="cross-validate, fit and save the models (models/)")
    p.add_argument(
        "--models",
        default="climatology,scoreboard,state_mnlogit,goal_rate",
        help="comma separated model names (default: all)",
    )
    p.add_argument("--splits", type=int, default=5, help="grouped CV folds (default 5)")
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("evaluate", help="grouped cross-validation table, overall and by 15 minutes")
    p.add_argument("--models", default="climatology,scoreboard,state_mnlogit,goal_rate")
    p.add_argument("--splits", type=int, default=5)
    p.add_argument("--json", dest="json_out", help="also write the tables to this JSON file")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        "backtest",
        help="fit on one StatsBomb folder, predict every regulation minute of another (CSV)",
        description="Fit MODEL on the matches of --train-data and write one row per match of "
        "--test-data and regulation minute 0..90 (the minute-snapshot state): match_id, "
        "minute, p_home, p_draw, p_away.",
    )
    p.add_argument("--train-data", required=True, help="StatsBomb open-data folder to fit on")
    p.add_argument("--test-data", required=True, help="StatsBomb open-data folder to predict")
    p.add_argument("--model", default="goal_rate", help="model name (default goal_rate)")
    p.add_argument("--out", required=True, help="CSV file to write")
    p.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    p.set_defaults(func=cmd_backtest)

    p = sub.add_parser(
        "score",
        help="the live scorer: consume events, publish requests and predictions",
        description="A consumer-group worker: reads live_football_events, publishes each "
        "prediction request to ml-pipeline-prediction-requests and each prediction to "
        "ml-pipeline-prediction-results (key = match id), commits after publishing; bad "
        "messages are quarantined to ml-pipeline-monitoring.",
    )
    p.add_argument("--model", help="model name under models/ or a path (default: selected)")
    p.add_argument("--group", default=config.SCORER_GROUP, help="consumer group")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes in the group (they share the partitions; default 1)",
    )
    p.add_argument(
        "--client",
        choices=["kafka-python", "confluent"],
        help="Kafka client library (default: INPLAY_KAFKA_CLIENT, else kafka-python)",
    )
    p.add_argument("--max-events", type=int, help="stop after N messages (per worker)")
    p.add_argument(
        "--idle-timeout",
        type=float,
        help="stop after N seconds without messages, counted from when the group assigns the "
        "worker its partitions; a worker given none within 60 s stops with a warning "
        "(default: run until Ctrl-C / SIGTERM)",
    )
    for flag, default, what in SCORE_TOPIC_FLAGS:
        p.add_argument(flag, default=default, metavar="TOPIC", help=f"{what} (default {default})")
    _add_broker_arg(p)
    p.set_defaults(func=cmd_score)

    p = sub.add_parser(
        "monitor",
        help="live table of the scoring workers from ml-pipeline-monitoring",
        description="Reads ml-pipeline-monitoring (no consumer group, so any number can watch) "
        "and prints the latest statistics of every scoring worker: consumed, scored, "
        "quarantined, events/s, latency p50/p95/p99, lag.",
    )
    p.add_argument("--refresh", type=float, default=2.0, help="seconds between tables")
    p.add_argument("--duration", type=float, help="stop after N seconds (default: Ctrl-C)")
    p.add_argument("--new-only", action="store_true", help="ignore statistics already published")
    p.add_argument(
        "--topic",
        default=config.TOPIC_MONITORING,
        help=f"monitoring topic to read (default {config.TOPIC_MONITORING})",
    )
    _add_broker_arg(p)
    p.set_defaults(func=cmd_monitor)

    from inplay.dashboard.run import add_arguments as _dashboard_arguments  # no streamlit import

    p = sub.add_parser(
        "dashboard",
        help="live dashboard: replay + scorer + Streamlit app on :8501",
    )
    _dashboard_arguments(p)
    p.set_defaults(func=cmd_dashboard)

    p = sub.add_parser(
        "reports",
        help="execute the notebooks with papermill and render reports/*.html",
    )
    p.add_argument("--small", action="store_true", help="small parameters (a few matches), as CI")
    p.add_argument("--only", help="comma separated notebook names (default: all, in order)")
    p.add_argument("--out", help="reports folder (default reports/)")
    p.set_defaults(func=cmd_reports)

    for p in sub.choices.values():  # `inplay COMMAND --debug` works as well as `inplay --debug`
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=_DEBUG_HELP)
    return parser


# -- checks made before a command starts work ---------------------------------------------


def _cluster(args: argparse.Namespace) -> tuple[str, str]:
    """The bootstrap servers a command uses, and how to name them (with their setting)."""
    from inplay.kafka import io as kafka_io

    if getattr(args, "kafka_broker", None):
        return args.kafka_broker, f"{args.kafka_broker} (--kafka-broker)"
    env = config.env_str(kafka_io.BOOTSTRAP_ENV)
    if env:
        return env, f"{env} ({kafka_io.BOOTSTRAP_ENV})"
    bootstrap = kafka_io.bootstrap_servers()  # ConfigError when no broker is configured
    return bootstrap, f"the embedded broker at {bootstrap}"


def _name_broker_flag(args: argparse.Namespace, exc: config.ConfigError) -> config.ConfigError:
    """``exc`` (about reaching the cluster) naming --kafka-broker when that flag chose it."""
    if getattr(args, "kafka_broker", None) and "--kafka-broker" not in str(exc):
        return config.ConfigError(f"--kafka-broker {args.kafka_broker}: {exc}")
    return exc


def _require_topics(args: argparse.Namespace, topics: dict[str, str]) -> str:
    """Check that the topics exist (setting -> name) before consuming or producing.

    A consumer waits silently forever for a missing topic, and a broker that auto-creates
    topics makes them with its own partition count; so this fails first, with one line.

    Returns:
        The bootstrap servers.
    """
    from inplay.kafka.topics import missing_topics, missing_topics_error

    bootstrap, where = _cluster(args)
    try:
        missing = missing_topics(bootstrap, topics.values())
    except config.ConfigError as exc:
        raise _name_broker_flag(args, exc) from None
    hint = "inplay topics create"
    if getattr(args, "kafka_broker", None):
        hint += f" --kafka-broker {args.kafka_broker}"
    error = missing_topics_error(topics, missing, where, hint)
    if error is not None:
        raise error
    return bootstrap


def _load_model(value: str | None):
    """Load the scorer's model up front: a missing or corrupt one is one line naming --model."""
    from inplay.pipeline import load_scoring_model

    setting = f"--model {value}" if value else "no --model given (so the selected model)"
    try:
        return load_scoring_model(value)
    except config.ConfigError as exc:
        message = str(exc).rstrip(".")
        hint = "" if "inplay fit" in message else " Run `inplay fit` to train and save one."
        raise config.ConfigError(f"{setting}: {message}.{hint}") from None
    except Exception as exc:  # noqa: BLE001 - any failure to unpickle means a bad file
        raise config.ConfigError(
            f"{setting}: cannot load it ({type(exc).__name__}: {exc}), so it is not a model "
            "saved by inplay: run `inplay fit` to train and save one, or pass --model a model "
            f"name or folder under {config.MODELS_DIR}."
        ) from exc


def _check_data_folder(flag: str, value: str) -> None:
    """A StatsBomb folder given by a flag exists and has competitions.json (names the flag)."""
    root = Path(value).expanduser()
    reason = (
        "folder does not exist"
        if not root.is_dir()
        else "no competitions.json"
        if not (root / "competitions.json").is_file()
        else None
    )
    if reason:
        raise config.ConfigError(
            f"{flag} {value}: no StatsBomb open data there ({reason}); pass the data/ folder of "
            "a clone of https://github.com/statsbomb/open-data (competitions.json, matches/, "
            "events/), or fetch one with `inplay data download --dest FOLDER`."
        )


def _check_snapshots() -> None:
    """The snapshot table ``inplay fit``/``evaluate`` read, if present, is readable parquet."""
    from inplay.data.dataset import MINUTE_FILE

    path = config.PROCESSED_DIR / MINUTE_FILE
    if not path.is_file():
        return  # load_snapshots says to run `inplay dataset`
    import pyarrow.parquet as pq

    try:
        pq.read_metadata(path)
    except Exception as exc:  # noqa: BLE001 - any failure means an unreadable file
        raise config.ConfigError(
            f"{path} is not a readable parquet file ({type(exc).__name__}: {exc}): rebuild it "
            "with `inplay dataset` (INPLAY_OUTPUT_DIR sets the folder it goes to)."
        ) from exc


# -- commands ------------------------------------------------------------------------------


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
    except config.ConfigError as exc:
        raise _name_broker_flag(args, exc) from None
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
        raise config.ConfigError(
            "say which matches to replay: --match-ids, --competition/--season, --n-matches, "
            "or --demo"
        )
    matches = select_matches(data, args.competition, args.season, match_ids, args.n_matches)
    # Settings first (no network), then the cluster and the topic.
    from inplay.kafka.clients import client_name

    config.producer_settings()
    client_name()
    _require_topics(args, {"--topic": args.topic})
    stats = replay(
        data,
        matches,
        speed=args.speed,
        delay=args.delay,
        max_events=args.max_events,
        stagger=args.stagger,
        topic=args.topic,
        bootstrap=args.kafka_broker,
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
        raise config.ConfigError(
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
    from inplay.pipeline import fit_models, parse_names

    _check_snapshots()
    result, selected = fit_models(parse_names(args.models), n_splits=args.splits)
    _print_tables(result)
    print(f"\nselected model: {selected} (saved under {config.MODELS_DIR})")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """``inplay evaluate``."""
    from inplay.data.dataset import load_snapshots
    from inplay.evaluation.evaluate import evaluate
    from inplay.pipeline import parse_names

    _check_snapshots()
    result = evaluate(load_snapshots("minute"), parse_names(args.models), n_splits=args.splits)
    _print_tables(result)
    if args.json_out:
        with open(args.json_out, "w") as fh:
            json.dump(result.to_dict(), fh, indent=2)
    return 0


def cmd_backtest(args: argparse.Namespace) -> int:
    """``inplay backtest``."""
    from inplay.data.statsbomb import DataFileError
    from inplay.evaluation.backtest import backtest

    folders = {"--train-data": args.train_data, "--test-data": args.test_data}
    for flag, value in folders.items():
        _check_data_folder(flag, value)
    try:
        frame = backtest(
            args.train_data, args.test_data, args.model, out=args.out, workers=args.workers
        )
    except DataFileError as exc:
        path = Path(str(exc.path)).resolve()
        flags = [f for f, v in folders.items() if path.is_relative_to(Path(v).resolve())]
        raise config.ConfigError(
            f"{' / '.join(flags) or 'data'}: bad data file {exc.path}: {exc.reason}; replace "
            "it with a good copy (`inplay data validate` with INPLAY_DATA_DIR set to that "
            "folder lists every bad file)."
        ) from None
    print(f"wrote {len(frame)} rows ({frame['match_id'].nunique()} matches) to {args.out}")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    """``inplay score``."""
    from inplay.kafka.clients import client_name
    from inplay.pipeline import score_live, score_workers

    if args.workers < 1:
        raise config.ConfigError(f"--workers must be at least 1, got {args.workers}")
    # Before any worker starts: settings (no network), the model, then the cluster and topics.
    config.consumer_settings()
    config.producer_settings()
    client_name(args.client)
    _load_model(args.model)
    topics = {flag: getattr(args, flag[2:].replace("-", "_")) for flag, _, _ in SCORE_TOPIC_FLAGS}
    _require_topics(args, topics)
    if args.workers > 1:
        return score_workers(args.workers, sys.argv[1:])
    stats = score_live(
        args.model,
        max_events=args.max_events,
        idle_timeout=args.idle_timeout,
        bootstrap=args.kafka_broker,
        group_id=args.group,
        handle_signals=True,
        client=args.client,
        **{flag[2:].replace("-", "_"): name for flag, name in topics.items()},
    )
    print(stats.summary())
    return 0


def cmd_monitor(args: argparse.Namespace) -> int:
    """``inplay monitor``."""
    from inplay.live.monitor import run_monitor

    _require_topics(args, {"--topic": args.topic})
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
        raise config.ConfigError(f"--only: unknown notebooks {unknown}; choose from {NOTEBOOKS}")
    runs = run_notebooks(names, SMALL_PARAMETERS if args.small else None, out_dir=args.out)
    for run in runs:
        print(f"{run.name:26s} {run.seconds:7.1f} s  {run.html}")
    print(f"index: {runs[-1].html.parent / 'index.html'}")
    return 0


def _one_line(exc: Exception) -> tuple[str, int]:
    """The error line (without the ``error: inplay COMMAND:`` prefix) and exit status."""
    # Only modules already imported can have raised their errors (no pandas import for this).
    data_mod = sys.modules.get("inplay.data.statsbomb")
    kafka_errors = sys.modules.get("kafka.errors")
    if isinstance(exc, config.ConfigError):
        message, status = str(exc), 2
    elif data_mod is not None and isinstance(exc, data_mod.DataFileError):
        message = (
            f"bad data file {exc.path}: {exc.reason}; replace it with a good copy "
            f"(INPLAY_DATA_DIR={config.statsbomb_dir()}; `inplay data validate` lists every "
            "bad file, `inplay data download` fetches a fresh copy)."
        )
        status = 2
    elif isinstance(exc, KeyError):
        message, status = str(exc.args[0] if exc.args else exc), 2
    elif kafka_errors is not None and isinstance(exc, kafka_errors.KafkaError):
        message = (
            f"Kafka error: {type(exc).__name__}: {exc}; check the cluster that "
            "KAFKA_BOOTSTRAP_SERVERS (or --kafka-broker) names, e.g. with `inplay topics describe`."
        )
        status = 2
    elif isinstance(exc, OSError) and exc.filename:
        message = (
            f"cannot use {exc.filename}: {exc.strerror or exc}; check the path and its "
            "permissions (or the setting that names it)."
        )
        status = 2
    else:
        message = (
            f"unexpected {type(exc).__name__}: {exc} (rerun with --debug or INPLAY_DEBUG=1 for "
            "the traceback)"
        )
        status = 1
    return " ".join(message.split()), status


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``inplay`` command.

    Any error becomes one line on stderr, ``error: inplay COMMAND: ...``, with exit status 2 for
    a bad setting or data file and 1 otherwise; ``--debug`` (or ``INPLAY_DEBUG=1``) also
    prints the traceback.
    """
    args = build_parser().parse_args(argv)
    debug = bool(getattr(args, "debug", False)) or config.debug()
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print(f"inplay {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001 - one line instead of a traceback wall
        message, status = _one_line(exc)
        if debug:
            traceback.print_exc()
        print(f"error: inplay {args.command}: {message}", file=sys.stderr)
        return status


if __name__ == "__main__":
    sys.exit(main())

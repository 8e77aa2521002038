"""The argument parser of ``inplay``: one small function per group of subcommands."""

from __future__ import annotations

import argparse

from inplay import __version__, config
from inplay.cli import commands
from inplay.cli.acl import add_acl_command
from inplay.cli.mlops import add_mlops_commands

__all__ = ["EPILOG", "SCORE_TOPIC_FLAGS", "SELECTED", "build_parser"]

EPILOG = """\
A typical session (embedded broker, data from INPLAY_DATA_DIR):
  inplay broker start
  inplay topics create
  inplay replay --competition 43 --season 106 --n-matches 4 --speed 0
  inplay dataset
  inplay fit
  inplay score --idle-timeout 20
  inplay quality --idle-timeout 20
  inplay retrain --from-topic
  inplay broker stop

Settings come from the environment: INPLAY_DATA_DIR (StatsBomb open-data folder),
KAFKA_BOOTSTRAP_SERVERS (use this cluster instead of the embedded broker), KAFKA_* producer
and consumer settings, KAFKA_BOOTSTRAP_TIMEOUT_MS (how long to try to reach the cluster,
default 10000); every setting is listed in docs/settings.md (`python -m inplay.config
--markdown`). A relative path setting is relative to the directory you run inplay from. A bad
setting prints one line naming it; add --debug (or set INPLAY_DEBUG=1) for the traceback.
Data: StatsBomb Open Data.
"""

SCORE_TOPIC_FLAGS = commands.SCORE_TOPIC_FLAGS
SELECTED = commands.SELECTED

_DEBUG_HELP = "on an error, print the traceback too (same as INPLAY_DEBUG=1)"
_SELECTED_HELP = (
    f"'{SELECTED}' = the model `inplay fit` (or notebook 03) chose, recorded in "
    "models/selected.json"
)

Subparsers = argparse._SubParsersAction


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


def _add_cluster_commands(sub: Subparsers) -> None:
    """``broker`` and ``topics``."""
    p = sub.add_parser("broker", help="start, stop or inspect the embedded Kafka-compatible broker")
    p.add_argument("action", choices=["start", "stop", "status"])
    p.set_defaults(func=commands.cmd_broker)

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
    p.set_defaults(func=commands.cmd_topics)


def _add_data_command(sub: Subparsers) -> None:
    """``data``."""
    p = sub.add_parser("data", help="list, validate or download StatsBomb open data")
    p.add_argument("action", choices=["list", "validate", "download", "where"])
    _add_selection(p)
    p.add_argument("--dest", help="download folder (default data/raw/statsbomb)")
    p.add_argument("--max-matches", type=int, help="download at most N matches' events")
    p.set_defaults(func=commands.cmd_data)


def _add_dataset_commands(sub: Subparsers) -> None:
    """``features`` and ``dataset``."""
    p = sub.add_parser("features", help="the match state after one event, as a prediction request")
    p.add_argument("--match-id", type=int, required=True)
    p.add_argument("--upto-index", type=int, required=True, help="StatsBomb event index")
    p.add_argument("--json", action="store_true", help="print JSON (default: a table)")
    p.set_defaults(func=commands.cmd_features)

    p = sub.add_parser("dataset", help="build labelled snapshots under data/processed (parquet)")
    _add_selection(p)
    p.add_argument("--no-events", action="store_true", help="skip the per-event table")
    p.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    p.add_argument("--out", help="output folder (default data/processed)")
    p.set_defaults(func=commands.cmd_dataset)


def _add_replay_command(sub: Subparsers) -> None:
    """``replay``."""
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
    p.add_argument(
        "--raw-topic",
        default=config.TOPIC_RAW,
        help="where each match's metadata and result go ('' = nowhere; default %(default)s)",
    )
    p.add_argument("--demo", action="store_true", help="replay the demo matches (World Cup 2022)")
    _add_broker_arg(p)
    p.set_defaults(func=commands.cmd_replay)


def _add_model_commands(sub: Subparsers) -> None:
    """``fit``, ``evaluate`` and ``backtest``."""
    p = sub.add_parser("fit", help="cross-validate, fit and save the models (models/)")
    p.add_argument(
        "--models",
        default="climatology,scoreboard,state_mnlogit,goal_rate",
        help="comma separated model names (default: all)",
    )
    p.add_argument("--splits", type=int, default=5, help="grouped CV folds (default 5)")
    p.add_argument(
        "--no-promote",
        dest="promote",
        action="store_false",
        help="register the new model versions in MLflow but leave the champion alias as it is",
    )
    p.set_defaults(func=commands.cmd_fit)

    p = sub.add_parser("evaluate", help="grouped cross-validation table, overall and by 15 minutes")
    p.add_argument("--models", default="climatology,scoreboard,state_mnlogit,goal_rate")
    p.add_argument("--splits", type=int, default=5)
    p.add_argument("--json", dest="json_out", help="also write the tables to this JSON file")
    p.set_defaults(func=commands.cmd_evaluate)

    p = sub.add_parser(
        "backtest",
        help="fit on one StatsBomb folder, predict every regulation minute of another (CSV)",
        description="Fit MODEL on the matches of --train-data and write one row per match of "
        "--test-data and regulation minute 0..90 (the minute-snapshot state): match_id, "
        "minute, p_home, p_draw, p_away, p_over_1_5, p_over_2_5, p_over_3_5, p_btts "
        "(regulation goal markets; from a goal_rate model fitted on the same rows when MODEL "
        "has no score grid) and p_advance_home (knockout matches only, else empty).",
    )
    p.add_argument("--train-data", required=True, help="StatsBomb open-data folder to fit on")
    p.add_argument("--test-data", required=True, help="StatsBomb open-data folder to predict")
    p.add_argument(
        "--model",
        default="goal_rate",
        help=f"model name (default goal_rate), or {_SELECTED_HELP} (it is refitted)",
    )
    p.add_argument("--out", required=True, help="CSV file to write")
    p.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    p.set_defaults(func=commands.cmd_backtest)


def _add_score_command(sub: Subparsers) -> None:
    """``score``."""
    p = sub.add_parser(
        "score",
        help="the live scorer: consume events, publish requests and predictions",
        description="A consumer-group worker: reads live_football_events, publishes each "
        "prediction request to ml-pipeline-prediction-requests and each prediction to "
        "ml-pipeline-prediction-results (key = match id), commits after publishing; bad "
        "messages are quarantined to ml-pipeline-monitoring.",
    )
    p.add_argument(
        "--model",
        help=f"model name under models/, a path, or {_SELECTED_HELP} (default: {SELECTED})",
    )
    p.add_argument("--group", default=config.SCORER_GROUP, help="consumer group")
    p.add_argument(
        "--instance-id",
        default=config.env_str("INPLAY_SCORER_INSTANCE_ID"),
        help="a stable id for this worker in the group (static membership: restarted with the "
        "same id within the session timeout, it gets its partitions back without a "
        "rebalance); with --workers N, worker k gets ID-k (default: INPLAY_SCORER_INSTANCE_ID, "
        "else none)",
    )
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
    p.set_defaults(func=commands.cmd_score)


def _add_watch_commands(sub: Subparsers) -> None:
    """``monitor`` and ``dashboard``."""
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
    p.set_defaults(func=commands.cmd_monitor)

    from inplay.dashboard.run import add_arguments as _dashboard_arguments  # no streamlit import

    p = sub.add_parser("dashboard", help="live dashboard: replay + scorer + Streamlit app on :8501")
    _dashboard_arguments(p)
    p.set_defaults(func=commands.cmd_dashboard)


def _add_reports_command(sub: Subparsers) -> None:
    """``reports``."""
    p = sub.add_parser(
        "reports", help="execute the notebooks with papermill and render reports/*.html"
    )
    p.add_argument("--small", action="store_true", help="small parameters (a few matches), as CI")
    p.add_argument("--only", help="comma separated notebook names (default: all, in order)")
    p.add_argument("--out", help="reports folder (default reports/)")
    p.set_defaults(func=commands.cmd_reports)


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
    _add_cluster_commands(sub)
    _add_data_command(sub)
    _add_replay_command(sub)
    _add_dataset_commands(sub)
    _add_model_commands(sub)
    _add_score_command(sub)
    _add_watch_commands(sub)
    add_mlops_commands(sub, _add_broker_arg)
    add_acl_command(sub, _add_broker_arg)
    _add_reports_command(sub)
    for p in sub.choices.values():  # `inplay COMMAND --debug` works as well as `inplay --debug`
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=_DEBUG_HELP)
    return parser

"""The ``inplay`` command: every pipeline stage as a subcommand.

Run ``inplay --help`` or ``inplay <command> --help``. A bad setting or data file (unreachable
broker, missing topic, missing or corrupt model, unreadable data) prints one line,
``error: inplay <command>: ...``, that names the setting and what to do, and exits with
status 2 (1 for an unexpected error); ``--debug`` or ``INPLAY_DEBUG=1`` adds the traceback.

:mod:`inplay.cli.parser` builds the parser, :mod:`inplay.cli.commands` holds one
``cmd_<name>`` per subcommand and :mod:`inplay.cli.checks` the checks they make first.
"""

from __future__ import annotations

import os
import sys
import traceback

from inplay import config
from inplay.cli.commands import (
    SCORE_TOPIC_FLAGS,
    cmd_backtest,
    cmd_broker,
    cmd_dashboard,
    cmd_data,
    cmd_dataset,
    cmd_evaluate,
    cmd_features,
    cmd_fit,
    cmd_monitor,
    cmd_replay,
    cmd_reports,
    cmd_score,
    cmd_topics,
)
from inplay.cli.parser import EPILOG, build_parser
from inplay.errors import InplayError

__all__ = [
    "EPILOG",
    "SCORE_TOPIC_FLAGS",
    "build_parser",
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
    "main",
]


def _data_file_line(exc: Exception) -> str:
    """The line for a bad StatsBomb file (``DataFileError``: ``path`` and ``reason``)."""
    path, reason = getattr(exc, "path", None), getattr(exc, "reason", exc)
    return (
        f"bad data file {path}: {reason}; replace it with a good copy "
        f"(INPLAY_DATA_DIR={config.statsbomb_dir()}; `inplay data validate` lists every "
        "bad file, `inplay data download` fetches a fresh copy)."
    )


def _one_line(exc: Exception) -> tuple[str, int]:
    """The error line (without the ``error: inplay COMMAND:`` prefix) and exit status."""
    # Only modules already imported can have raised their errors (no pandas import for this).
    data_mod = sys.modules.get("inplay.data.statsbomb")
    kafka_errors = sys.modules.get("kafka.errors")
    if data_mod is not None and isinstance(exc, data_mod.DataFileError):
        message, status = _data_file_line(exc), 2
    elif isinstance(exc, InplayError):
        message, status = str(exc), 2
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
    an :class:`~inplay.errors.InplayError` (a bad setting, data file, model or cluster) and 1
    otherwise; ``--debug`` (or ``INPLAY_DEBUG=1``) also prints the traceback.
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

"""Checks ``inplay`` commands make before they start work: one error line naming the flag."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from inplay import config
from inplay.errors import ConfigError, DataError, InplayError, ModelError

__all__ = [
    "SELECTED",
    "check_data_folder",
    "check_snapshots",
    "cluster",
    "load_model",
    "name_broker_flag",
    "require_topics",
    "selected_model",
]

# `--model selected`: the model `inplay fit` / notebook 03 chose (models/selected.json).
SELECTED = "selected"


def cluster(args: argparse.Namespace) -> tuple[str, str]:
    """The bootstrap servers a command uses, and how to name them (with their setting)."""
    from inplay.kafka import io as kafka_io

    if getattr(args, "kafka_broker", None):
        return args.kafka_broker, f"{args.kafka_broker} (--kafka-broker)"
    env = config.env_str(kafka_io.BOOTSTRAP_ENV)
    if env:
        return env, f"{env} ({kafka_io.BOOTSTRAP_ENV})"
    bootstrap = kafka_io.bootstrap_servers()  # ConfigError when no broker is configured
    return bootstrap, f"the embedded broker at {bootstrap}"


def name_broker_flag(args: argparse.Namespace, exc: InplayError) -> InplayError:
    """``exc`` (about reaching the cluster) naming --kafka-broker when that flag chose it."""
    if getattr(args, "kafka_broker", None) and "--kafka-broker" not in str(exc):
        return type(exc)(f"--kafka-broker {args.kafka_broker}: {exc}")
    return exc


def require_topics(args: argparse.Namespace, topics: dict[str, str]) -> str:
    """Check that the topics exist (setting -> name) before consuming or producing.

    A consumer waits silently forever for a missing topic, and a broker that auto-creates
    topics makes them with its own partition count; so this fails first, with one line.

    Returns:
        The bootstrap servers.
    """
    from inplay.kafka.topics import missing_topics, missing_topics_error

    bootstrap, where = cluster(args)
    try:
        missing = missing_topics(bootstrap, topics.values())
    except InplayError as exc:
        raise name_broker_flag(args, exc) from None
    hint = "inplay topics create"
    if getattr(args, "kafka_broker", None):
        hint += f" --kafka-broker {args.kafka_broker}"
    error = missing_topics_error(topics, missing, where, hint)
    if error is not None:
        raise error
    return bootstrap


def selected_model() -> str:
    """The name of the model ``inplay fit`` (or notebook 03) selected.

    Raises:
        ModelError: no model was selected yet (names ``--model selected``).
    """
    from inplay.pipeline import selected_model_name

    try:
        return selected_model_name()
    except ConfigError as exc:
        raise ModelError(f"--model {SELECTED}: {exc}") from None


def load_model(value: str | None) -> Any:
    """Load the scorer's model up front: a missing or corrupt one is one line naming --model.

    Returns:
        The :class:`~inplay.mlops.champion.LiveModel` and whether it follows the champion.

    Raises:
        ModelError: the model is missing or is not a model saved by inplay.
    """
    from inplay.mlops.champion import resolve_live_model

    setting = f"--model {value}" if value else "no --model given (so the champion, else selected)"
    try:
        return resolve_live_model(value)
    except ConfigError as exc:
        message = str(exc).rstrip(".")
        hint = "" if "inplay fit" in message else " Run `inplay fit` to train and save one."
        raise ModelError(f"{setting}: {message}.{hint}") from None
    except InplayError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to unpickle means a bad file
        raise ModelError(
            f"{setting}: cannot load it ({type(exc).__name__}: {exc}), so it is not a model "
            "saved by inplay: run `inplay fit` to train and save one, or pass --model a model "
            f"name or folder under {config.MODELS_DIR}."
        ) from None


def check_data_folder(flag: str, value: str) -> None:
    """A StatsBomb folder given by a flag exists and has competitions.json (names the flag).

    Raises:
        DataError: it does not.
    """
    root = Path(value).expanduser()
    reason = (
        "folder does not exist"
        if not root.is_dir()
        else "no competitions.json"
        if not (root / "competitions.json").is_file()
        else None
    )
    if reason:
        raise DataError(
            f"{flag} {value}: no StatsBomb open data there ({reason}); pass the data/ folder of "
            "a clone of https://github.com/statsbomb/open-data (competitions.json, matches/, "
            "events/), or fetch one with `inplay data download --dest FOLDER`."
        )


def check_snapshots() -> None:
    """The snapshot table ``inplay fit``/``evaluate`` read, if present, is readable parquet.

    Raises:
        DataError: it is not.
    """
    from inplay.data.dataset import MINUTE_FILE

    path = config.PROCESSED_DIR / MINUTE_FILE
    if not path.is_file():
        return  # load_snapshots says to run `inplay dataset`
    import pyarrow.parquet as pq

    try:
        pq.read_metadata(path)
    except Exception as exc:  # noqa: BLE001 - any failure means an unreadable file
        raise DataError(
            f"{path} is not a readable parquet file ({type(exc).__name__}: {exc}): rebuild it "
            "with `inplay dataset` (INPLAY_OUTPUT_DIR sets the folder it goes to)."
        ) from exc

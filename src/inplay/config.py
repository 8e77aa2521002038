"""Every path, topic name and setting of inplay, in one place.

Paths derive from the project root (the folder holding ``pyproject.toml``; override with
``INPLAY_HOME``). Settings come from the environment, with the defaults of the system inplay
replaces. A bad setting raises :class:`ConfigError`, whose message names the setting.
"""

from __future__ import annotations

import os
from pathlib import Path

from inplay.errors import ConfigError

__all__ = [
    "ConfigError",
    "PROJECT_ROOT",
    "DATA_DIR",
    "RAW_DIR",
    "INTERIM_DIR",
    "PROCESSED_DIR",
    "MODELS_DIR",
    "REPORTS_DIR",
    "NOTEBOOKS_DIR",
    "BROKER_STATE_FILE",
    "TOPIC_EVENTS",
    "TOPIC_RAW",
    "TOPIC_PROCESSED",
    "TOPIC_REQUESTS",
    "TOPIC_RESULTS",
    "TOPIC_MONITORING",
    "TOPICS",
    "TOPIC_PARTITIONS",
    "TOPIC_REPLICATION",
    "DASHBOARD_GROUP",
    "SCORER_GROUP",
    "PREDICTION_REQUEST_FIELDS",
    "statsbomb_dir",
    "env_int",
    "env_str",
    "producer_settings",
    "consumer_settings",
    "security_settings",
    "client_settings",
    "show_progress",
    "debug",
]




def _find_root() -> Path:
    env = os.environ.get("INPLAY_HOME")
    if env:
        return Path(env).expanduser().resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "src" / "inplay").is_dir():
            return parent
    return Path.cwd().resolve()


PROJECT_ROOT: Path = _find_root()
DATA_DIR: Path = PROJECT_ROOT / "data"
RAW_DIR: Path = DATA_DIR / "raw"
# INPLAY_OUTPUT_DIR moves everything the pipeline writes (interim, processed, models, reports)
# to another folder, e.g. for tests or for a second experiment beside the first.
_OUTPUT = os.environ.get("INPLAY_OUTPUT_DIR", "").strip()
_OUTPUT_ROOT: Path | None = Path(_OUTPUT).expanduser().resolve() if _OUTPUT else None
INTERIM_DIR: Path = (_OUTPUT_ROOT or DATA_DIR) / "interim"
PROCESSED_DIR: Path = (_OUTPUT_ROOT or DATA_DIR) / "processed"
MODELS_DIR: Path = (_OUTPUT_ROOT / "models") if _OUTPUT_ROOT else PROJECT_ROOT / "models"
REPORTS_DIR: Path = (_OUTPUT_ROOT / "reports") if _OUTPUT_ROOT else PROJECT_ROOT / "reports"
NOTEBOOKS_DIR: Path = PROJECT_ROOT / "notebooks"
BROKER_STATE_FILE: Path = Path(
    os.environ.get("INPLAY_BROKER_STATE", str(DATA_DIR / "broker.json"))
).expanduser()

# The six topics of the system inplay replaces: names kept, 3 partitions, replication 1.
TOPIC_EVENTS = "live_football_events"
TOPIC_RAW = "ml-pipeline-raw-data"
TOPIC_PROCESSED = "ml-pipeline-processed-data"
TOPIC_REQUESTS = "ml-pipeline-prediction-requests"
TOPIC_RESULTS = "ml-pipeline-prediction-results"
TOPIC_MONITORING = "ml-pipeline-monitoring"
TOPICS: tuple[str, ...] = (
    TOPIC_EVENTS,
    TOPIC_RAW,
    TOPIC_PROCESSED,
    TOPIC_REQUESTS,
    TOPIC_RESULTS,
    TOPIC_MONITORING,
)
TOPIC_PARTITIONS = 3
TOPIC_REPLICATION = 1

DASHBOARD_GROUP = "streamlit_consumer"
# The live scorer's consumer group (INPLAY_SCORER_GROUP; workers in one group share partitions).
SCORER_GROUP = os.environ.get("INPLAY_SCORER_GROUP", "").strip() or "inplay-scorer"

# The prediction request, field for field as the replaced system had it.
PREDICTION_REQUEST_FIELDS: tuple[str, ...] = (
    "home_goals",
    "away_goals",
    "current_minute",
    "home_shots",
    "away_shots",
    "home_shots_on_target",
    "away_shots_on_target",
    "home_possession",
    "away_possession",
    "home_xg",
    "away_xg",
)


SETTINGS_FILE_ENV = "INPLAY_SETTINGS_FILE"


def settings_file() -> dict[str, str]:
    """Settings from the file named by ``INPLAY_SETTINGS_FILE`` (empty when unset).

    One ``NAME=value`` per line (``#`` comments, blank lines and an ``export`` prefix
    allowed; quotes around a value are removed), e.g. the Kafka credentials::

        KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT
        KAFKA_SASL_MECHANISM=PLAIN
        KAFKA_SASL_USERNAME=alice
        KAFKA_SASL_PASSWORD=...

    Keep secrets there (readable only by you) rather than in notebooks. An environment
    variable that is set wins over the file.

    Raises:
        ConfigError: the file cannot be read or a line is not ``NAME=value``.
    """
    path = os.environ.get(SETTINGS_FILE_ENV, "").strip()
    if not path:
        return {}
    try:
        text = Path(path).expanduser().read_text()
    except OSError as exc:
        raise ConfigError(
            f"{SETTINGS_FILE_ENV}={path!r}: cannot read it ({exc.strerror or exc}); point it at "
            "a readable NAME=value file or unset it."
        ) from None
    out: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        name, sep, value = line.partition("=")
        if not sep or not name.strip().replace("_", "").isalnum():
            raise ConfigError(
                f"{SETTINGS_FILE_ENV}={path!r}, line {number}: expected NAME=value, got {raw!r}."
            )
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[name.strip()] = value
    return out


def env_str(name: str, default: str | None = None) -> str | None:
    """Return a setting: the environment variable, else ``INPLAY_SETTINGS_FILE``, else default.

    Empty strings count as unset.
    """
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        value = settings_file().get(name) if os.environ.get(SETTINGS_FILE_ENV) else None
    if value is None or value.strip() == "":
        return default
    return value.strip()


def env_int(name: str, default: int) -> int:
    """Return an integer environment setting.

    Raises:
        ConfigError: the variable is set but is not a whole number.
    """
    value = env_str(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(
            f"{name}={value!r} is not a whole number; set it to an integer or unset it "
            f"(default {default})."
        ) from None


def statsbomb_dir() -> Path:
    """Where the StatsBomb open-data folder is: ``INPLAY_DATA_DIR`` or ``data/raw/statsbomb``."""
    env = env_str("INPLAY_DATA_DIR")
    if env:
        return Path(env).expanduser().resolve()
    return RAW_DIR / "statsbomb"


_COMPRESSION = {"none", "gzip", "snappy", "lz4", "zstd"}


def producer_settings() -> dict:
    """Producer settings: the replaced system's defaults, overridable from the environment.

    acks=all, retries 3, batch 16384, linger 5 ms, buffer 32 MiB, compression snappy.
    """
    compression = env_str("KAFKA_COMPRESSION_TYPE", "snappy").lower()
    if compression not in _COMPRESSION:
        raise ConfigError(
            f"KAFKA_COMPRESSION_TYPE={compression!r} is not one of {sorted(_COMPRESSION)}."
        )
    acks_raw = env_str("KAFKA_ACKS", "all")
    if acks_raw not in {"all", "0", "1", "-1"}:
        raise ConfigError(f"KAFKA_ACKS={acks_raw!r} must be one of all, 0, 1, -1.")
    acks: str | int = acks_raw if acks_raw == "all" else int(acks_raw)
    return {
        "acks": acks,
        "retries": env_int("KAFKA_RETRIES", 3),
        "batch_size": env_int("KAFKA_BATCH_SIZE", 16384),
        "linger_ms": env_int("KAFKA_LINGER_MS", 5),
        "buffer_memory": env_int("KAFKA_BUFFER_MEMORY", 32 * 1024 * 1024),
        "compression_type": None if compression == "none" else compression,
    }


def consumer_settings() -> dict:
    """Consumer settings from the environment, with defaults that join groups quickly."""
    reset = env_str("KAFKA_AUTO_OFFSET_RESET", "earliest").lower()
    if reset not in {"earliest", "latest"}:
        raise ConfigError(f"KAFKA_AUTO_OFFSET_RESET={reset!r} must be 'earliest' or 'latest'.")
    return {
        "auto_offset_reset": reset,
        "auto_commit_interval_ms": env_int("KAFKA_AUTO_COMMIT_INTERVAL_MS", 5000),
        "session_timeout_ms": env_int("KAFKA_SESSION_TIMEOUT_MS", 6000),
        "heartbeat_interval_ms": env_int("KAFKA_HEARTBEAT_INTERVAL_MS", 1000),
        "max_poll_records": env_int("KAFKA_MAX_POLL_RECORDS", 500),
    }


def security_settings() -> dict:
    """Optional SASL/SSL settings from the environment (only the ones that are set)."""
    mapping = {
        "KAFKA_SECURITY_PROTOCOL": "security_protocol",
        "KAFKA_SASL_MECHANISM": "sasl_mechanism",
        "KAFKA_SASL_USERNAME": "sasl_plain_username",
        "KAFKA_SASL_PASSWORD": "sasl_plain_password",
        "KAFKA_SSL_CAFILE": "ssl_cafile",
    }
    return {key: env_str(var) for var, key in mapping.items() if env_str(var) is not None}


def client_settings() -> dict:
    """Settings every client gets: how long to try to reach the cluster before giving up."""
    return {"bootstrap_timeout_ms": env_int("KAFKA_BOOTSTRAP_TIMEOUT_MS", 10000)}


def show_progress(progress: bool = True) -> bool:
    """Whether to draw a progress bar: ``progress`` unless ``INPLAY_PROGRESS=0``.

    ``inplay reports`` sets ``INPLAY_PROGRESS=0`` for the notebooks it executes, so rendered
    reports carry results rather than progress-bar frames.
    """
    return bool(progress) and env_str("INPLAY_PROGRESS", "1") not in {"0", "false", "no"}


def debug() -> bool:
    """Whether ``INPLAY_DEBUG`` asks for full tracebacks (``inplay --debug`` sets it).

    Without it, ``inplay`` reports a bad setting or data file as one line.
    """
    return env_str("INPLAY_DEBUG", "0").lower() not in {"0", "false", "no", "off"}

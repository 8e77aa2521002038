"""Every path, topic name and setting of inplay, in one place.

:data:`SETTINGS` declares every environment variable inplay reads (name, type, default,
meaning); :func:`settings` reads them all from the environment (and ``INPLAY_SETTINGS_FILE``)
each time it is called, and :func:`env_str`, :func:`env_int`, :func:`env_float` and
:func:`env_path` read one declared setting (an undeclared name is a programming error). Paths
derive from the project root (the folder holding ``pyproject.toml``; override with
``INPLAY_HOME``) and are computed when used, so ``config.PROCESSED_DIR`` follows an
``INPLAY_OUTPUT_DIR`` set after import. A relative path setting is relative to the directory the
command was run from. A bad setting raises :class:`ConfigError`, whose message names the
setting and what to do. ``python -m inplay.config --markdown`` prints the settings table.
"""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Mapping
from dataclasses import dataclass
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
    "Setting",
    "SETTINGS",
    "Settings",
    "settings",
    "UndeclaredSettingError",
    "env_float",
    "env_path",
    "absolute_path_environ",
    "settings_markdown",
    "env_int",
    "env_str",
    "producer_settings",
    "consumer_settings",
    "security_settings",
    "client_settings",
    "show_progress",
    "debug",
]


# -- the declaration of every setting ------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """One environment variable inplay reads.

    Attributes:
        name: The variable, e.g. ``INPLAY_DATA_DIR``.
        type: ``str``, ``int``, ``float``, ``bool`` or ``path`` (a relative path means relative
            to the directory the command was run from).
        default: The default as people read it (``""``: unset).
        meaning: What it sets, in one line.
    """

    name: str
    type: str
    default: str
    meaning: str


_REPO = "the repo"
SETTINGS: tuple[Setting, ...] = (
    Setting("INPLAY_HOME", "path", "the folder holding pyproject.toml", "the project root"),
    Setting(
        "INPLAY_SETTINGS_FILE", "path", "", "a NAME=value file of settings (the environment wins)"
    ),
    Setting("INPLAY_DATA_DIR", "path", "data/raw/statsbomb", "StatsBomb open-data folder"),
    Setting("INPLAY_OUTPUT_DIR", "path", _REPO, "where interim/, processed/, models/, reports/ go"),
    Setting("INPLAY_BROKER_STATE", "path", "data/broker.json", "the embedded broker's state file"),
    Setting("INPLAY_ODDS_DIR", "path", "odds/ beside the StatsBomb folder", "closing-odds folder"),
    Setting(
        "INPLAY_OPENDATA_URL",
        "str",
        "StatsBomb's open-data repository",
        "where `inplay data download` fetches from",
    ),
    Setting("INPLAY_RELIABILITY_DIR", "path", "data/reliability", "recorded reliability runs"),
    Setting("INPLAY_SCORER_GROUP", "str", "inplay-scorer", "the live scorer's consumer group"),
    Setting(
        "INPLAY_SCORER_INSTANCE_ID",
        "str",
        "(none)",
        "a scoring worker's stable group.instance.id (static membership: a restarted worker "
        "gets its partitions back at once); one distinct id per worker",
    ),
    Setting(
        "INPLAY_KAFKA_CLIENT", "str", "kafka-python", "Kafka client: kafka-python or confluent"
    ),
    Setting(
        "INPLAY_MAX_EVENT_BYTES",
        "int",
        "1048576",
        "largest event message a worker parses (bytes, at least 65536); a larger one is "
        "quarantined unread",
    ),
    Setting(
        "MLFLOW_TRACKING_URI",
        "str",
        "sqlite:///<output>/mlruns/mlflow.db",
        "MLflow tracking store and model registry (a team server: http://host:5000)",
    ),
    Setting("INPLAY_REGISTERED_MODEL", "str", "inplay", "the MLflow registered model's name"),
    Setting("INPLAY_QUALITY_GROUP", "str", "inplay-quality", "the live quality worker's group"),
    Setting("INPLAY_QUALITY_WINDOW", "int", "50", "matches in the rolling live-quality window"),
    Setting(
        "INPLAY_MODEL_POLL_SECONDS",
        "float",
        "5",
        "seconds between a worker's looks at the registry's champion (0 = never)",
    ),
    Setting(
        "INPLAY_PROMOTE_ALPHA",
        "float",
        "0.05",
        "significance level of the retrain's paired test (challenger better than champion)",
    ),
    Setting("INPLAY_PROGRESS", "bool", "1", "draw progress bars (0 = none)"),
    Setting("INPLAY_DEBUG", "bool", "0", "on an error, print the traceback too"),
    Setting("INPLAY_KAFKA_VERSION", "str", "4.1.0", "Apache Kafka version run on the JVM"),
    Setting(
        "INPLAY_KAFKA_CACHE",
        "path",
        "$XDG_CACHE_HOME/inplay or ~/.cache/inplay",
        "cache of the Apache Kafka jars",
    ),
    Setting(
        "INPLAY_APACHE_KAFKA_STATE",
        "path",
        "data/apache-kafka.json",
        "the JVM Apache Kafka broker's state file",
    ),
    Setting("INPLAY_CHROMIUM", "path", "chromium on PATH", "browser for dashboard screenshots"),
    Setting("INPLAY_DASHBOARD_SCREENSHOT", "path", "a temporary file", "dashboard test screenshot"),
    Setting(
        "INPLAY_DASHBOARD_RESULTS_TOPIC",
        "str",
        "ml-pipeline-prediction-results",
        "topic the dashboard reads predictions from",
    ),
    Setting(
        "INPLAY_DASHBOARD_MONITORING_TOPIC",
        "str",
        "ml-pipeline-monitoring",
        "topic the dashboard reads statistics from",
    ),
    Setting("INPLAY_DASHBOARD_REFRESH", "float", "2", "seconds between dashboard refreshes"),
    Setting("INPLAY_DASHBOARD_SINCE", "float", "", "epoch seconds; older predictions are ignored"),
    Setting("INPLAY_DASHBOARD_START", "str", "earliest", "dashboard reads earliest or latest"),
    Setting("KAFKA_BOOTSTRAP_SERVERS", "str", "the embedded broker", "Kafka cluster host:port"),
    Setting("KAFKA_BOOTSTRAP_TIMEOUT_MS", "int", "10000", "how long to try to reach the cluster"),
    Setting("KAFKA_ACKS", "str", "all", "producer acks: all, 0, 1 or -1"),
    Setting("KAFKA_RETRIES", "int", "3", "producer retries"),
    Setting("KAFKA_BATCH_SIZE", "int", "16384", "producer batch size (bytes)"),
    Setting("KAFKA_LINGER_MS", "int", "5", "producer linger (ms)"),
    Setting("KAFKA_BUFFER_MEMORY", "int", "33554432", "producer buffer (bytes)"),
    Setting("KAFKA_COMPRESSION_TYPE", "str", "snappy", "none, gzip, snappy, lz4 or zstd"),
    Setting("KAFKA_AUTO_OFFSET_RESET", "str", "earliest", "consumer start: earliest or latest"),
    Setting("KAFKA_AUTO_COMMIT_INTERVAL_MS", "int", "5000", "consumer auto-commit interval"),
    Setting("KAFKA_SESSION_TIMEOUT_MS", "int", "6000", "consumer group session timeout"),
    Setting("KAFKA_HEARTBEAT_INTERVAL_MS", "int", "1000", "consumer group heartbeat interval"),
    Setting("KAFKA_MAX_POLL_RECORDS", "int", "500", "records per consumer poll"),
    Setting("KAFKA_SECURITY_PROTOCOL", "str", "", "SASL_PLAINTEXT, SASL_SSL or SSL"),
    Setting("KAFKA_SASL_MECHANISM", "str", "", "SASL mechanism: PLAIN or SCRAM-SHA-512"),
    Setting("KAFKA_SASL_USERNAME", "str", "", "SASL user name"),
    Setting("KAFKA_SASL_PASSWORD", "str", "", "SASL password (keep it in INPLAY_SETTINGS_FILE)"),
    Setting("KAFKA_SSL_CAFILE", "path", "", "CA certificates that signed the broker's"),
    Setting("KAFKA_SSL_CERTFILE", "path", "", "client certificate (PEM) for mutual TLS"),
    Setting("KAFKA_SSL_KEYFILE", "path", "", "its private key (PEM) for mutual TLS"),
    Setting("KAFKA_SSL_KEY_PASSWORD", "str", "", "password of an encrypted KAFKA_SSL_KEYFILE"),
    Setting("JAVA_HOME", "path", "java on PATH", "Java 17+ for Apache Kafka on the JVM"),
    Setting("MAVEN_HOME", "path", "mvn on PATH", "Maven, which fetches the Kafka jars"),
    Setting("XDG_CACHE_HOME", "path", "~/.cache", "the user's cache folder"),
)
_DECLARED: dict[str, Setting] = {s.name: s for s in SETTINGS}


class UndeclaredSettingError(LookupError):
    """A setting was read that :data:`SETTINGS` does not declare (a programming error)."""


def _declared(name: str) -> Setting:
    try:
        return _DECLARED[name]
    except KeyError:
        raise UndeclaredSettingError(
            f"{name} is not a declared setting: add it to inplay.config.SETTINGS"
        ) from None


def _parse(setting: Setting, value: str) -> object:
    """``value`` as the setting's type (ConfigError names the variable and what to do)."""
    if setting.type == "path":
        return Path(value).expanduser().resolve()
    if setting.type == "bool":
        return value.lower() not in {"0", "false", "no", "off"}
    kind = {"int": (int, "a whole number"), "float": (float, "a number")}.get(setting.type)
    if kind is None:
        return value
    try:
        return kind[0](value)
    except ValueError:
        default = f" (default {setting.default})" if setting.default else ""
        raise ConfigError(
            f"{setting.name}={value!r} is not {kind[1]}; set it to one or unset it{default}."
        ) from None


@dataclass(frozen=True)
class Settings:
    """The settings that are set, as read once from the environment and the settings file.

    Attributes:
        raw: Every declared setting that is set (name -> stripped value).
    """

    raw: Mapping[str, str]

    def get(self, name: str, default: object = None) -> object:
        """The typed value of ``name`` (``default`` when unset); paths come back absolute.

        Raises:
            UndeclaredSettingError: ``name`` is not declared in :data:`SETTINGS`.
            ConfigError: the value is not of the setting's type.
        """
        setting = _declared(name)
        value = self.raw.get(name)
        return default if value is None else _parse(setting, value)

    def paths(self) -> dict[str, Path]:
        """Every path setting that is set, as an absolute path."""
        return {
            name: _parse(_DECLARED[name], value)
            for name, value in self.raw.items()
            if _DECLARED[name].type == "path"
        }


def settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read every declared setting now: the environment, else ``INPLAY_SETTINGS_FILE``.

    Args:
        environ: The environment to read (default ``os.environ``).

    Raises:
        ConfigError: the settings file cannot be read.
    """
    environ = os.environ if environ is None else environ
    from_file = settings_file() if environ is os.environ else {}
    raw = {}
    for name in _DECLARED:
        value = (environ.get(name) or "").strip() or (from_file.get(name) or "").strip()
        if value:
            raw[name] = value
    return Settings(types.MappingProxyType(raw))


def absolute_path_environ() -> dict[str, str]:
    """Every path setting that is set, made absolute against the current directory.

    Give this to a process that runs elsewhere (e.g. a notebook kernel in ``notebooks/``) so
    that a relative path means what the user meant: relative to where the command was run.
    """
    return {name: str(path) for name, path in settings().paths().items()}


def settings_markdown() -> str:
    """The settings table in Markdown (docs/settings.md is this text)."""
    lines = [
        "<!-- Generated by `python -m inplay.config --markdown > docs/settings.md`; "
        "do not edit. -->",
        "",
        "# Settings",
        "",
        "Every environment variable inplay reads (also from `INPLAY_SETTINGS_FILE`). "
        "A relative path is relative to the directory the command is run from.",
        "",
        "| name | type | default | meaning |",
        "| --- | --- | --- | --- |",
    ]
    for s in SETTINGS:
        default = s.default if " " in s.default else f"`{s.default}`" if s.default else "unset"
        lines.append(f"| `{s.name}` | {s.type} | {default} | {s.meaning} |")
    return "\n".join(lines) + "\n"


# -- paths, computed when used --------------------------------------------------------------


def _find_root() -> Path:
    env = os.environ.get("INPLAY_HOME", "").strip()
    if env:
        return Path(env).expanduser().resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "src" / "inplay").is_dir():
            return parent
    return Path.cwd().resolve()


def _output_root() -> Path | None:
    """``INPLAY_OUTPUT_DIR``: everything the pipeline writes goes there (None = the repo)."""
    value = os.environ.get("INPLAY_OUTPUT_DIR", "").strip()
    return Path(value).expanduser().resolve() if value else None


def _paths() -> dict[str, Path]:
    """The project's folders for the current environment."""
    root = _find_root()
    data = root / "data"
    output = _output_root()
    state = os.environ.get("INPLAY_BROKER_STATE", "").strip()
    return {
        "PROJECT_ROOT": root,
        "DATA_DIR": data,
        "RAW_DIR": data / "raw",
        "INTERIM_DIR": (output or data) / "interim",
        "PROCESSED_DIR": (output or data) / "processed",
        "MODELS_DIR": (output or root) / "models",
        "REPORTS_DIR": (output or root) / "reports",
        "MLFLOW_DIR": (output or root) / "mlruns",
        "NOTEBOOKS_DIR": root / "notebooks",
        "BROKER_STATE_FILE": Path(state).expanduser() if state else data / "broker.json",
    }


_PATH_NAMES = frozenset(_paths())
# Declared for readers and linters; the values come from __getattr__ (no global is bound).
PROJECT_ROOT: Path
DATA_DIR: Path
RAW_DIR: Path
INTERIM_DIR: Path
PROCESSED_DIR: Path
MODELS_DIR: Path
REPORTS_DIR: Path
MLFLOW_DIR: Path
NOTEBOOKS_DIR: Path
BROKER_STATE_FILE: Path
SCORER_GROUP: str


def _path(name: str) -> Path:
    """A project folder: a value set on the module (tests do) wins over the computed one."""
    return globals().get(name) or _paths()[name]


class _ConfigModule(types.ModuleType):
    """This module, so that setting a path to its computed value keeps it computed.

    ``monkeypatch.setattr(config, "RAW_DIR", ...)`` restores the value it read, which would
    otherwise freeze that path for the rest of the process; a value equal to the one computed
    now is dropped instead, so the path follows the environment again.
    """

    def __setattr__(self, name: str, value: object) -> None:
        if name in _PATH_NAMES and value == _paths()[name]:
            self.__dict__.pop(name, None)
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _ConfigModule


def __getattr__(name: str) -> object:
    """``config.PROCESSED_DIR`` etc. and ``config.SCORER_GROUP``, read from the environment now.

    Raises:
        AttributeError: no such attribute.
    """
    if name in _PATH_NAMES:
        return _paths()[name]
    if name == "SCORER_GROUP":
        return env_str("INPLAY_SCORER_GROUP", "inplay-scorer")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
# The live scorer's consumer group is SCORER_GROUP (INPLAY_SCORER_GROUP, read when used).

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

    Raises:
        UndeclaredSettingError: ``name`` is not declared in :data:`SETTINGS`.
    """
    _declared(name)
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


def env_float(name: str, default: float | None) -> float | None:
    """Return a number setting.

    Raises:
        ConfigError: the variable is set but is not a number.
    """
    value = env_str(name)
    if value is None:
        return default
    try:
        return float(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a number; set it to one or unset it.") from None


def env_path(name: str, default: Path | None = None) -> Path | None:
    """Return a path setting, absolute (a relative one is relative to the current directory)."""
    value = env_str(name)
    return Path(value).expanduser().resolve() if value else default


def statsbomb_dir() -> Path:
    """Where the StatsBomb open-data folder is: ``INPLAY_DATA_DIR`` or ``data/raw/statsbomb``."""
    return env_path("INPLAY_DATA_DIR") or _path("RAW_DIR") / "statsbomb"


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
        "KAFKA_SSL_CERTFILE": "ssl_certfile",
        "KAFKA_SSL_KEYFILE": "ssl_keyfile",
        "KAFKA_SSL_KEY_PASSWORD": "ssl_password",
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


def main(argv: list[str] | None = None) -> int:
    """``python -m inplay.config --markdown``: print the settings table."""
    args = sys.argv[1:] if argv is None else argv
    if args != ["--markdown"]:
        print("usage: python -m inplay.config --markdown", file=sys.stderr)
        return 2
    sys.stdout.write(settings_markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())

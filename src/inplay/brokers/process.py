"""Process handling shared by the brokers: spawn, probe, wait until ready, stop, state files.

Both the embedded Tansu broker (:mod:`inplay.brokers.embedded`) and Apache Kafka on the JVM
(:mod:`inplay.brokers.apache`) run as a detached process (its own session) on 127.0.0.1, and a
small JSON state file records it so that later calls, from any process, find it again.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

__all__ = [
    "HOST",
    "free_port",
    "port_open",
    "pid_alive",
    "command_line",
    "metadata_ok",
    "log_tail",
    "spawn",
    "wait_ready",
    "terminate",
    "kill",
    "read_state",
    "write_state",
    "remove_state",
    "live_state",
]

HOST = "127.0.0.1"
_LOG_TAIL_LINES = 30

# Brokers started by this process, kept so that they can be reaped (no zombies) when stopped
# from the same process, and so that Popen does not warn about a child still running.
_CHILDREN: dict[int, subprocess.Popen] = {}


class _Recorded(Protocol):
    def to_dict(self) -> dict: ...


T = TypeVar("T")


# ---------------------------------------------------------------------------------------------
# Ports


def free_port(host: str = HOST) -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_open(port: int, timeout: float = 1.0, host: str = HOST) -> bool:
    """Whether ``host:port`` accepts a TCP connection within ``timeout`` seconds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def metadata_ok(bootstrap: str, timeout: float) -> bool:
    """Whether a Kafka metadata request to ``bootstrap`` succeeds within about ``timeout`` s."""
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


# ---------------------------------------------------------------------------------------------
# Processes


def pid_alive(pid: int) -> bool:
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


def command_line(pid: int) -> list[str] | None:
    """The arguments of process ``pid`` from /proc, or None where /proc does not tell."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.exists():
        return None
    try:
        return [os.fsdecode(arg) for arg in cmdline.read_bytes().split(b"\0")]
    except OSError:
        return None


def log_tail(log_file: Path, lines: int = _LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of a broker log, or a placeholder when there are none."""
    try:
        text = log_file.read_text(errors="replace")
    except OSError:
        return "(no log)"
    tail = text.strip().splitlines()[-lines:]
    return "\n".join(tail) if tail else "(log is empty)"


def spawn(cmd: list[str], log_file: Path, cwd: Path | None = None) -> subprocess.Popen:
    """Start a broker process in its own session, appending its output to ``log_file``.

    The command line is written to the log first; the process is remembered so that
    :func:`terminate` and :func:`kill` can reap it.
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


def wait_ready(
    proc: subprocess.Popen,
    bootstrap: str,
    *,
    name: str,
    log_file: Path,
    timeout: float,
    stop_timeout: float,
    interval: float,
) -> None:
    """Wait until the broker ``proc`` accepts connections and answers a metadata request.

    Args:
        proc: The broker process, as returned by :func:`spawn`.
        bootstrap: Its ``host:port`` client address.
        name: How error messages name the broker (e.g. ``"Apache Kafka"``).
        log_file: Its log, whose end goes into error messages.
        timeout: Seconds to wait.
        stop_timeout: Seconds :func:`terminate` waits when the broker is stopped after
            ``timeout``.
        interval: Seconds between probes.

    Raises:
        RuntimeError: the broker exited, or did not answer within ``timeout`` (it is then
            stopped); the message holds the end of its log.
    """
    host, _, port = bootstrap.rpartition(":")
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            _CHILDREN.pop(proc.pid, None)
            raise RuntimeError(
                f"{name} exited with code {proc.returncode} while starting on {bootstrap}. "
                f"Log tail ({log_file}):\n{log_tail(log_file)}"
            )
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            terminate(proc.pid, stop_timeout)
            raise RuntimeError(
                f"{name} did not answer on {bootstrap} within {timeout:g} s; it was stopped. "
                f"Log tail ({log_file}):\n{log_tail(log_file)}"
            )
        if port_open(int(port), timeout=0.5, host=host) and metadata_ok(
            bootstrap, min(5.0, remaining)
        ):
            return
        time.sleep(interval)


def _wait_gone(pid: int, child: subprocess.Popen | None, timeout: float) -> bool:
    """Wait up to ``timeout`` s for ``pid`` to end (reaping ``child``); whether it did."""
    if child is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=timeout)
        return child.poll() is not None
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def terminate(pid: int, timeout: float) -> None:
    """Send SIGTERM, wait up to ``timeout`` seconds, then SIGKILL; reap if it is our child."""
    child = _CHILDREN.pop(pid, None)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if _wait_gone(pid, child, timeout):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _wait_gone(pid, child, 5.0)


def kill(pid: int, timeout: float = 30.0) -> None:
    """Send SIGKILL (a crash) and wait up to ``timeout`` seconds for the process to end."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _wait_gone(pid, _CHILDREN.pop(pid, None), timeout)


# ---------------------------------------------------------------------------------------------
# State files


def read_state(path: Path, parse: Callable[[dict], T]) -> T | None:
    """Parse the JSON state file ``path`` with ``parse``; None when missing or unreadable."""
    try:
        return parse(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_state(path: Path, info: _Recorded) -> None:
    """Write ``info.to_dict()`` to ``path`` as JSON, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(info.to_dict(), indent=2) + "\n")
    os.replace(tmp, path)


def remove_state(path: Path) -> None:
    """Remove the state file ``path`` if it exists."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def live_state(path: Path, parse: Callable[[dict], T], alive: Callable[[T], bool]) -> T | None:
    """The broker recorded in ``path`` if ``alive`` says it still runs, else None.

    A stale or unreadable state file is removed.
    """
    if not path.exists():
        return None
    info = read_state(path, parse)
    if info is None or not alive(info):
        remove_state(path)
        return None
    return info

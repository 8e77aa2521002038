"""Security: credentials from the environment or a settings file, SASL/PLAIN on Apache Kafka,
wrong credentials named as such, and an embedded broker that listens on loopback only.

The SASL tests start their own Apache Kafka on the JVM with a SASL_PLAINTEXT listener (users
alice and bob) and skip without its jars (``python -m inplay.brokers.apache jars``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import orjson
import pandas as pd
import pytest
from fixtures_statsbomb import long_match, make_match, write_open_data
from jvm_broker import private_apache_kafka

from inplay import config
from inplay.data.statsbomb import StatsBombData
from inplay.features import minute_snapshots
from inplay.kafka import io as kafka_io
from inplay.live.replay import replay
from inplay.live.scorer import Scorer
from inplay.models import make_model, save_model
from inplay.reporting import reliability

USERS = {"alice": "wonder-land", "bob": 'b0b\'s "pass"'}


# -- the settings file -------------------------------------------------------------------------


def test_settings_file_supplies_credentials_and_the_environment_wins(tmp_path, monkeypatch):
    path = tmp_path / "inplay.env"
    path.write_text(
        "# Kafka credentials\n"
        "export KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT\n"
        "KAFKA_SASL_MECHANISM = PLAIN\n\n"
        "KAFKA_SASL_USERNAME='alice'\n"
        'KAFKA_SASL_PASSWORD="s3cret with spaces"\n'
    )
    for name in ("KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INPLAY_SETTINGS_FILE", str(path))
    assert config.security_settings() == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "PLAIN",
        "sasl_plain_username": "alice",
        "sasl_plain_password": "s3cret with spaces",
    }
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "bob")
    assert config.security_settings()["sasl_plain_username"] == "bob"


def test_bad_settings_file_names_the_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("INPLAY_SETTINGS_FILE", str(tmp_path / "missing.env"))
    with pytest.raises(config.ConfigError, match="INPLAY_SETTINGS_FILE=.*cannot read"):
        config.security_settings()
    bad = tmp_path / "bad.env"
    bad.write_text("KAFKA_SASL_USERNAME alice\n")
    monkeypatch.setenv("INPLAY_SETTINGS_FILE", str(bad))
    with pytest.raises(config.ConfigError, match="line 1: expected NAME=value"):
        config.security_settings()


# -- the embedded broker listens on loopback only ----------------------------------------------


def test_embedded_broker_listens_on_loopback_only(tmp_path):
    psutil = pytest.importorskip("psutil")
    from inplay.brokers import embedded as broker

    try:
        broker.resolve_binary()
    except config.ConfigError as exc:
        pytest.skip(str(exc))
    state = tmp_path / "broker.json"
    info = broker.start(state_file=state)
    try:
        listening = [
            c.laddr
            for c in psutil.Process(info.pid).net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN
        ]
    finally:
        broker.stop(state_file=state)
    assert listening, "the broker listens nowhere?"
    assert {addr.ip for addr in listening} == {"127.0.0.1"}, listening
    assert info.port in {addr.port for addr in listening}


# -- SASL/PLAIN on Apache Kafka ----------------------------------------------------------------


@pytest.fixture(scope="module")
def sasl_kafka(tmp_path_factory):
    """A private Apache Kafka with a SASL_PLAINTEXT listener (its KafkaInfo)."""
    with private_apache_kafka(tmp_path_factory.mktemp("sasl"), sasl_users=USERS) as info:
        yield info


def settings_file(tmp_path: Path, user: str, password: str) -> Path:
    path = tmp_path / f"{user}.env"
    path.write_text(
        "KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT\nKAFKA_SASL_MECHANISM=PLAIN\n"
        f"KAFKA_SASL_USERNAME={user}\nKAFKA_SASL_PASSWORD='{password}'\n"
    )
    path.chmod(0o600)
    return path


def cli(bootstrap: str, env_extra: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_")}
    env.update(INPLAY_PROGRESS="0", KAFKA_BOOTSTRAP_TIMEOUT_MS="4000", **env_extra)
    cmd = [sys.executable, "-m", "inplay.cli", *args, "--kafka-broker", bootstrap]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
    return lines[0]


@pytest.mark.kafka
@pytest.mark.security
@pytest.mark.jvm
def test_sasl_plain_login_right_and_wrong(sasl_kafka, tmp_path, monkeypatch):
    """Right credentials (from a settings file) work end to end; wrong ones say so in a line."""
    bootstrap = sasl_kafka.sasl_bootstrap
    t0 = time.monotonic()
    good = {"INPLAY_SETTINGS_FILE": str(settings_file(tmp_path, "alice", USERS["alice"]))}
    created = cli(bootstrap, good, "topics", "create")
    assert created.returncode == 0, created.stderr

    # Replay and score through the authenticated listener, with the configured client.
    for name, value in (
        ("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT"),
        ("KAFKA_SASL_MECHANISM", "PLAIN"),
        ("KAFKA_SASL_USERNAME", "bob"),
        ("KAFKA_SASL_PASSWORD", USERS["bob"]),
    ):
        monkeypatch.setenv(name, value)
    events = long_match("Lions FC", "Tigers FC", seed=3)
    data = StatsBombData(
        write_open_data(tmp_path / "open", [make_match(77, "Lions FC", "Tigers FC")], {77: events})
    )
    snaps = minute_snapshots(events, 77, "Lions FC", "Tigers FC")
    model = make_model("scoreboard").fit(
        pd.DataFrame([{**r, "result": "HDA"[r["current_minute"] % 3]} for r in snaps])
    )
    scorer = Scorer(model, bootstrap=bootstrap, group_id=f"sasl-{uuid.uuid4().hex[:6]}")
    sent = replay(data, data.matches(), bootstrap=bootstrap, progress=False)
    worker = threading.Thread(
        target=scorer.run, kwargs={"idle_timeout": 10, "progress": False}, daemon=True
    )
    worker.start()
    worker.join(120)
    assert not worker.is_alive()
    results = kafka_io.read_topic(config.TOPIC_RESULTS, bootstrap, timeout=30)
    keys = {(b["match_id"], b["event_index"]) for b in (orjson.loads(r.value) for r in results)}
    assert len(keys) == sent.events == scorer.stats.scored

    # Wrong password, unknown user: one line that names the credentials' settings.
    model_dir = save_model(model, tmp_path / "models", data_info={"matches": 1}, metrics=None)
    messages = []
    for user, password in (("alice", "not-her-password"), ("mallory", "x")):
        bad = {"INPLAY_SETTINGS_FILE": str(settings_file(tmp_path, user, password))}
        for command in (("topics", "create"), ("score", "--model", str(model_dir))):
            line = one_line_error(cli(bootstrap, bad, *command))
            assert "Invalid username or password" in line, line
            assert "KAFKA_SASL_USERNAME" in line and "KAFKA_SASL_PASSWORD" in line, line
            assert password not in line  # the secret is never printed
            messages.append(line)

    # No credentials at all on the authenticated port: still no traceback, names the setting.
    line = one_line_error(cli(bootstrap, {}, "topics", "describe"))
    assert "KAFKA_SECURITY_PROTOCOL" in line, line

    reliability.record(
        "sasl-plain",
        {
            "trials": 1 + len(messages) + 1,
            "events": sent.events,
            "predictions": len(keys),
            "lost": sent.events - len(keys),
            "refused_logins_reported": len(messages),
            "seconds": round(time.monotonic() - t0, 1),
        },
        title="SASL/PLAIN on Apache Kafka: replay and scoring authenticated; wrong "
        "credentials refused with a one-line error",
        broker=f"Apache Kafka {sasl_kafka.version} (SASL_PLAINTEXT listener)",
        notes=f"Example error: {messages[0]}",
    )


# -- TLS: SASL_SSL with a CA file --------------------------------------------------------------


def make_certificates(folder: Path) -> dict[str, Path]:
    """A test CA and a server certificate for 127.0.0.1 signed by it (openssl)."""
    folder.mkdir(parents=True, exist_ok=True)

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=inplay test CA",
    )
    openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    )
    (folder / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "san.cnf",
    )
    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "other.key",
        "-out",
        "other-ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=some other CA",
    )
    return {name: folder / f"{name}.pem" for name in ("ca", "server", "other-ca")} | {
        "key": folder / "server.key"
    }


@pytest.fixture(scope="module")
def tls_kafka(tmp_path_factory):
    """A private Apache Kafka with a SASL_SSL listener: (info, certificate files)."""
    if subprocess.run(["openssl", "version"], capture_output=True).returncode != 0:
        pytest.skip("no openssl to make test certificates")
    folder = tmp_path_factory.mktemp("tls")
    certs = make_certificates(folder / "certs")
    tls = (str(certs["server"]), str(certs["key"]))
    with private_apache_kafka(folder, sasl_users=USERS, tls=tls) as info:
        yield info, certs


@pytest.mark.kafka
@pytest.mark.security
@pytest.mark.jvm
def test_sasl_ssl_with_a_ca_file(tls_kafka, tmp_path, monkeypatch):
    """TLS + SASL/PLAIN: the CA file is a setting; an untrusted certificate is named as such."""
    info, certs = tls_kafka
    bootstrap = info.sasl_bootstrap

    def env(user: str, password: str, ca: Path | None) -> dict[str, str]:
        path = settings_file(tmp_path, user, password)
        text = path.read_text().replace("SASL_PLAINTEXT", "SASL_SSL")
        if ca is not None:
            text += f"KAFKA_SSL_CAFILE={ca}\n"
        path.write_text(text)
        return {"INPLAY_SETTINGS_FILE": str(path)}

    good = env("alice", USERS["alice"], certs["ca"])
    created = cli(bootstrap, good, "topics", "create")
    assert created.returncode == 0, created.stderr
    described = cli(bootstrap, good, "topics", "describe")
    assert described.returncode == 0 and config.TOPIC_EVENTS in described.stdout

    # The configured Kafka client (INPLAY_KAFKA_CLIENT) produces and reads over TLS.
    from inplay.kafka.clients import make_consumer_client, make_producer_client

    for name in [k for k in os.environ if k.startswith("KAFKA_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("INPLAY_SETTINGS_FILE", good["INPLAY_SETTINGS_FILE"])
    topic = config.TOPIC_MONITORING
    producer = make_producer_client(bootstrap)
    sent = [orjson.dumps({"n": n, "tls": True}) for n in range(5)]
    for value in sent:
        producer.send(topic, b"tls", value)
    producer.flush()
    producer.close()
    consumer = make_consumer_client(None, bootstrap)
    parts = [(topic, p) for p in range(config.TOPIC_PARTITIONS)]
    consumer.assign(parts)
    for tp in parts:
        consumer.seek(tp, 0)
    got, deadline = [], time.monotonic() + 30
    while len(got) < len(sent) and time.monotonic() < deadline:
        got += [r.value for r in consumer.poll(max_records=100, timeout=0.5)]
    consumer.close()
    assert sorted(got) == sorted(sent)

    wrong_ca = one_line_error(
        cli(bootstrap, env("alice", USERS["alice"], certs["other-ca"]), "topics", "describe")
    )
    assert "not trusted" in wrong_ca and "KAFKA_SSL_CAFILE" in wrong_ca, wrong_ca
    no_ca = one_line_error(cli(bootstrap, env("alice", USERS["alice"], None), "topics", "describe"))
    assert "not trusted" in no_ca and "KAFKA_SSL_CAFILE" in no_ca, no_ca
    refused = one_line_error(
        cli(bootstrap, env("alice", "nope", certs["ca"]), "topics", "describe")
    )
    assert "Invalid username or password" in refused and "nope" not in refused, refused

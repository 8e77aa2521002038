"""Least privilege on Apache Kafka: SCRAM-SHA-512 and mutual TLS, one ACL set per component.

One broker for the module (StandardAuthorizer, ``allow.everyone.if.no.acl.found=false``) with
a SASL_SSL listener (SCRAM-SHA-512 users created by Kafka's storage tool) and a mutual-TLS
listener (client certificates from a test CA; the principal is the certificate's CN). Its
PLAINTEXT listener on loopback is the operator's (``User:ANONYMOUS``, a super user): topics and
ACLs are made there. Each component works with its own principal and is refused, with one line
naming principal, operation and resource, when it steps outside.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from fixtures_statsbomb import long_match, make_match, write_open_data
from jvm_broker import private_apache_kafka

from inplay import config
from inplay.data.statsbomb import StatsBombData
from inplay.features import minute_snapshots
from inplay.kafka import acl, topics
from inplay.kafka import io as kafka_io
from inplay.kafka.auth import AccessDenied
from inplay.kafka.clients import make_consumer_client, make_producer_client
from inplay.live.replay import replay
from inplay.models import make_model, save_model

pytestmark = [pytest.mark.kafka, pytest.mark.security, pytest.mark.jvm]

# Passwords the storage tool's --add-scram syntax can carry (no quotes, commas, spaces).
USERS = {c: f"{c}-S3cr3t-{os.getpid()}" for c in ("replay", "scorer", "dashboard", "admin")}
GROUP = "sec-scorer"
CHANGELOG = f"inplay-changelog--{GROUP}--{config.TOPIC_EVENTS}"
CERTS = ("replay", "dashboard")


def _certificates(folder: Path) -> dict[str, Path]:
    """A test CA, a server certificate for 127.0.0.1 and client certificates CN=<component>."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "inplay test CA")])

    def issue(cn: str, key, ca: bool, san: bool) -> x509.Certificate:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if san:
            alt = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
        return builder.sign(ca_key, hashes.SHA256())

    def write(stem: str, cert: x509.Certificate, key) -> None:
        (folder / f"{stem}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        (folder / f"{stem}.key").write_bytes(pem)
        (folder / f"{stem}.key").chmod(0o600)

    write("ca", issue("inplay test CA", ca_key, True, False), ca_key)
    for stem in ("server", *CERTS):
        key = ec.generate_private_key(ec.SECP256R1())
        write(
            stem,
            issue("127.0.0.1" if stem == "server" else stem, key, False, stem == "server"),
            key,
        )
    return {p.stem if p.suffix == ".pem" else p.name: p for p in folder.iterdir()}


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    """The secured broker (KafkaInfo), its certificates, with topics and the ACL plan applied."""
    pytest.importorskip("cryptography")
    folder = tmp_path_factory.mktemp("acl")
    certs = _certificates(folder / "certs")
    tls = (str(certs["server"]), str(certs["server.key"]))
    with private_apache_kafka(
        folder, scram_users=USERS, tls=tls, client_ca=str(certs["ca"]), acls=True
    ) as info:
        yield info, certs


def _clear(monkeypatch) -> None:
    for name in [k for k in os.environ if k.startswith("KAFKA_")] + ["INPLAY_SETTINGS_FILE"]:
        monkeypatch.delenv(name, raising=False)


def as_scram(monkeypatch, user: str, password: str, ca: Path) -> None:
    _clear(monkeypatch)
    for name, value in (
        ("KAFKA_SECURITY_PROTOCOL", "SASL_SSL"),
        ("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512"),
        ("KAFKA_SASL_USERNAME", user),
        ("KAFKA_SASL_PASSWORD", password),
        ("KAFKA_SSL_CAFILE", str(ca)),
    ):
        monkeypatch.setenv(name, value)


def as_cert(monkeypatch, certs: dict[str, Path], cn: str) -> None:
    _clear(monkeypatch)
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SSL")
    monkeypatch.setenv("KAFKA_SSL_CAFILE", str(certs["ca"]))
    monkeypatch.setenv("KAFKA_SSL_CERTFILE", str(certs[cn]))
    monkeypatch.setenv("KAFKA_SSL_KEYFILE", str(certs[f"{cn}.key"]))


def _principals() -> dict[str, str]:
    return {c: f"User:{c}" for c in USERS}


def _data(tmp_path: Path) -> tuple[StatsBombData, list]:
    events = {77: long_match("Lions FC", "Tigers FC", 3), 78: long_match("Owls", "Bats", 4)}
    matches = [make_match(77, "Lions FC", "Tigers FC"), make_match(78, "Owls", "Bats")]
    data = StatsBombData(write_open_data(tmp_path / "open", matches, events))
    return data, data.matches()


def _count(bootstrap: str, topic: str, want: int, timeout: float) -> int:
    """Messages in ``topic`` (read as the super user), waiting up to ``timeout`` for ``want``."""
    consumer = make_consumer_client(None, bootstrap)
    try:
        parts = [(topic, p) for p in consumer.partitions_for(topic)]
        deadline = time.monotonic() + timeout
        while True:
            total = sum(consumer.watermarks(tp)[1] for tp in parts)
            if total >= want or time.monotonic() > deadline:
                return total
            time.sleep(0.2)
    finally:
        consumer.close()


def _cli(env_extra: dict[str, str], *args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_")}
    env.update(INPLAY_PROGRESS="0", KAFKA_BOOTSTRAP_TIMEOUT_MS="6000", **env_extra)
    cmd = [sys.executable, "-m", "inplay.cli", *args]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _settings(tmp_path: Path, user: str, password: str, ca: Path) -> dict[str, str]:
    path = tmp_path / f"{user}.env"
    path.write_text(
        "KAFKA_SECURITY_PROTOCOL=SASL_SSL\nKAFKA_SASL_MECHANISM=SCRAM-SHA-512\n"
        f"KAFKA_SASL_USERNAME={user}\nKAFKA_SASL_PASSWORD={password}\nKAFKA_SSL_CAFILE={ca}\n"
    )
    path.chmod(0o600)
    return {"INPLAY_SETTINGS_FILE": str(path)}


def _refused(call) -> str:
    with pytest.raises(AccessDenied) as caught:
        call()
    return str(caught.value)


def _write(topic: str, bootstrap: str) -> None:
    producer = make_producer_client(bootstrap)
    try:
        producer.send(topic, b"k", b"{}")
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=5)


def _read(topic: str, bootstrap: str, group: str | None = None) -> int:
    consumer = make_consumer_client(group, bootstrap)
    try:
        if group is None:
            consumer.assign([(topic, p) for p in range(config.TOPIC_PARTITIONS)])
        else:
            consumer.subscribe([topic])
        got, deadline = 0, time.monotonic() + 20
        while time.monotonic() < deadline:
            got += len(consumer.poll(max_records=500, timeout=0.5))
        return got
    finally:
        consumer.close()


def test_least_privilege_scram_and_mtls(secured, tmp_path, monkeypatch, capfd, caplog):
    """Each component works as itself; stepping outside is refused in one clear line."""
    info, certs = secured
    t0 = time.monotonic()
    _clear(monkeypatch)
    topics.create_topics(info.bootstrap, list(config.TOPICS))
    bindings = acl.plan(_principals(), scorer_group=GROUP)
    created, there = acl.apply(bindings, info.bootstrap)
    assert (len(created), len(there)) == (len(bindings), 0)
    assert acl.apply(bindings, info.bootstrap) == ([], bindings)  # idempotent
    sasl = info.sasl_bootstrap

    # replay writes events (SCRAM); the scorer (a CLI worker, SCRAM) turns them into results.
    data, matches = _data(tmp_path)
    as_scram(monkeypatch, "replay", USERS["replay"], certs["ca"])
    first = replay(data, matches[:1], bootstrap=sasl, progress=False, end_markers=False)
    snaps = minute_snapshots(long_match("Lions FC", "Tigers FC", 3), 77, "Lions FC", "Tigers FC")
    rows = pd.DataFrame([{**r, "result": "HDA"[r["current_minute"] % 3]} for r in snaps])
    model_dir = save_model(
        make_model("scoreboard").fit(rows), tmp_path / "models", data_info={"matches": 1}
    )
    scorer_env = _settings(tmp_path, "scorer", USERS["scorer"], certs["ca"])
    worker = _cli(scorer_env, "score", "--model", str(model_dir), "--group", GROUP,
                  "--kafka-broker", sasl)  # fmt: skip
    try:
        _clear(monkeypatch)
        results = _count(info.bootstrap, config.TOPIC_RESULTS, first.events, 90)
        assert results == first.events, worker.stderr.read() if worker.poll() else results

        # The dashboard reads results; writing them, or joining a group, is refused.
        as_scram(monkeypatch, "dashboard", USERS["dashboard"], certs["ca"])
        assert _read(config.TOPIC_RESULTS, sasl) == first.events
        lines = [_refused(lambda: _write(config.TOPIC_RESULTS, sasl))]
        assert "User:dashboard WRITE on topic 'ml-pipeline-prediction-results'" in lines[-1]
        # replay may not read results.
        as_scram(monkeypatch, "replay", USERS["replay"], certs["ca"])
        lines.append(_refused(lambda: _read(config.TOPIC_RESULTS, sasl)))
        assert "User:replay READ on topic 'ml-pipeline-prediction-results'" in lines[-1]
        # The scorer may not join another group.
        as_scram(monkeypatch, "scorer", USERS["scorer"], certs["ca"])
        lines.append(_refused(lambda: _read(config.TOPIC_EVENTS, sasl, group="not-mine")))
        assert "User:scorer READ on group 'not-mine'" in lines[-1]

        # Mutual TLS: the principal is the certificate's CN.
        as_cert(monkeypatch, certs, "dashboard")
        assert _read(config.TOPIC_RESULTS, info.ssl_bootstrap) == first.events
        lines.append(_refused(lambda: _write(config.TOPIC_RESULTS, info.ssl_bootstrap)))
        assert "User:dashboard WRITE on topic 'ml-pipeline-prediction-results'" in lines[-1]
        as_cert(monkeypatch, certs, "replay")
        lines.append(_refused(lambda: _read(config.TOPIC_RESULTS, info.ssl_bootstrap)))
        assert "User:replay READ on topic 'ml-pipeline-prediction-results'" in lines[-1]

        # ACL removed while scoring: the worker stops with one line; commits stop where the
        # published predictions stop.
        _clear(monkeypatch)
        write_results = acl.Binding("User:scorer", "TOPIC", config.TOPIC_RESULTS, "WRITE")
        acl.revoke([write_results], info.bootstrap)
        as_scram(monkeypatch, "replay", USERS["replay"], certs["ca"])
        second = replay(data, matches[1:], bootstrap=sasl, progress=False, end_markers=False)
        out, err = worker.communicate(timeout=120)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert second.events > 0
    assert worker.returncode != 0 and "Traceback" not in err, err
    stopped = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(stopped) == 1, err
    assert "User:scorer WRITE on topic 'ml-pipeline-prediction-results'" in stopped[0], err
    _clear(monkeypatch)
    group = make_consumer_client(GROUP, info.bootstrap)
    parts = [(config.TOPIC_EVENTS, p) for p in range(config.TOPIC_PARTITIONS)]
    committed = sum(o or 0 for o in group.committed(parts).values())
    group.close()
    assert committed <= first.events  # nothing of the refused batch was committed
    assert _count(info.bootstrap, config.TOPIC_RESULTS, 0, 0) == first.events  # none lost

    # An unknown user: one line naming the user; never a password anywhere.
    unknown = _cli(_settings(tmp_path, "mallory", "Mall0ry-pw", certs["ca"]),
                   "topics", "describe", "--kafka-broker", sasl)  # fmt: skip
    u_out, u_err = unknown.communicate(timeout=120)
    assert unknown.returncode != 0 and "'mallory'" in u_err and "Traceback" not in u_err, u_err
    _clear(monkeypatch)
    published = [
        (r.value or b"").decode("utf-8", "replace")
        for topic in (config.TOPIC_MONITORING, CHANGELOG)
        for r in kafka_io.read_topic(topic, info.bootstrap, timeout=10)
    ]
    assert published  # the scorer's statistics and match states were read back
    captured = capfd.readouterr()
    everything = "\n".join(
        [out, err, u_out, u_err, *lines, captured.out, captured.err, caplog.text, *published]
    )
    for secret in [*USERS.values(), "Mall0ry-pw"]:
        assert secret not in everything
    _record(info, first.events, second.events, committed, [*lines, stopped[0], u_err.strip()], t0)


def _record(info, first: int, second: int, committed: int, lines: list[str], t0: float) -> None:
    """Record the run, with the security table (every row was checked above)."""
    from inplay.reporting import reliability

    scram, mtls = "SCRAM-SHA-512 (SASL_SSL)", "mutual TLS (CN)"
    ok = f"allowed ({first} events)"
    rows = [
        (scram, "replay", "WRITE events", "allowed", ok),
        (scram, "scorer", "READ events in its group; WRITE results etc.", "allowed", ok),
        (scram, "dashboard", "READ results, no group", "allowed", ok),
        (mtls, "dashboard", "READ results, no group", "allowed", ok),
        (scram, "dashboard", "WRITE results", "refused", lines[0]),
        (scram, "replay", "READ results", "refused", lines[1]),
        (scram, "scorer", "READ (join) group 'not-mine'", "refused", lines[2]),
        (mtls, "dashboard", "WRITE results", "refused", lines[3]),
        (mtls, "replay", "READ results", "refused", lines[4]),
        (
            scram,
            "scorer",
            f"WRITE results after its ACL was deleted mid-run ({second} new "
            f"events); committed {committed} of {first}",
            "refused, stops",
            lines[5],
        ),  # fmt: skip
        (scram, "unknown user", "log in", "refused", lines[6]),
    ]
    table = ["| mechanism | component | action | expected | observed |", "|---|---|---|---|---|"]
    table += ["| " + " | ".join(c.replace("|", "/") for c in row) + " |" for row in rows]
    reliability.record(
        "least-privilege",
        {
            "events": first + second,
            "predictions": first,
            "committed_after_refusal": committed,
            "checks": len(rows),
            "seconds": round(time.monotonic() - t0, 1),
        },
        title="Least privilege (SCRAM-SHA-512 and mutual TLS, an ACL set per component): "
        "each component works as itself; stepping outside is refused in one line",
        broker=f"Apache Kafka {info.version} (StandardAuthorizer, SASL_SSL + SSL listeners)",
        notes="\n".join(table),
    )

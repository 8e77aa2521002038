"""A real Apache Kafka 4.x broker on the JVM, without Docker: resolve, start, stop.

The official jars come from Maven Central through Maven (``scripts/kafka-jvm/pom.xml``) and are
copied once into a cache folder (``~/.cache/inplay/kafka-<version>/libs``; Maven keeps its own
copy in ``~/.m2``). ``start`` formats a fresh single-node KRaft storage folder (combined
broker + controller, dynamic quorum formatted with ``--standalone``), runs ``kafka.Kafka`` on
127.0.0.1 and two free ports with a small heap, waits until the client port answers a metadata
request, and records the broker in a JSON state file. ``stop`` sends SIGTERM, waits up to 30 s,
then SIGKILL, and removes the data folder.

Needs Java 17+ and Maven (``mvn``) on PATH, or ``JAVA_HOME``/``MVN``. Command line::

    python -m inplay.brokers.apache start|stop|status|bootstrap|jars|version

Settings: ``INPLAY_KAFKA_VERSION`` (default :data:`DEFAULT_VERSION`), ``INPLAY_KAFKA_CACHE``
(default ``$XDG_CACHE_HOME/inplay`` or ``~/.cache/inplay``), ``INPLAY_APACHE_KAFKA_STATE``
(default ``data/apache-kafka.json``).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from inplay import config
from inplay.brokers import process
from inplay.config import ConfigError

__all__ = [
    "DEFAULT_VERSION",
    "KafkaInfo",
    "kafka_version",
    "cache_dir",
    "libs_dir",
    "jars_available",
    "resolve_jars",
    "java_command",
    "classpath",
    "start",
    "restart",
    "status",
    "stop",
    "main",
]

# The version docker-compose.yml runs (apache/kafka:4.1.0), so CI tests what users deploy.
DEFAULT_VERSION = "4.1.0"
POM = config.PROJECT_ROOT / "scripts" / "kafka-jvm" / "pom.xml"
# maven-dependency-plugin is pinned in the POM; the goal is named by its full coordinates too,
# so an old default plugin of Maven 3.8.x is never used.
_COPY_GOAL = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies"
_HOST = process.HOST
_READY_TIMEOUT = 120.0
_STOP_TIMEOUT = 30.0
_COMPLETE = ".complete"
_JVM_OPTS = [
    "-Xms256m",
    "-Xmx512m",
    "-XX:+UseSerialGC",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
]


@dataclass
class KafkaInfo:
    """What the state file records about a running Apache Kafka broker.

    Attributes:
        pid: Process id of the JVM.
        port: Client (PLAINTEXT) port on 127.0.0.1.
        controller_port: KRaft controller port on 127.0.0.1.
        version: Apache Kafka version (from the broker's own log when it said so).
        data_dir: The run folder: KRaft storage, server.properties, log4j2 configuration.
        log_file: File receiving the broker's stdout and stderr.
        started_at: Start time, seconds since the epoch.
        startup_seconds: Seconds from launching the JVM to the first answered metadata request.
        sasl_port: Port of the SASL_PLAINTEXT listener (mechanism PLAIN), when started with
            users; None otherwise.
        restarts: How many times :func:`restart` brought this broker back on the same data.
        ssl_port: Port of the mutual-TLS listener (``SSL``, client certificates required), when
            started with ``client_ca``; None otherwise.
    """

    pid: int
    port: int
    controller_port: int
    version: str
    data_dir: str
    log_file: str
    started_at: float
    startup_seconds: float
    sasl_port: int | None = None
    restarts: int = 0
    ssl_port: int | None = None

    @property
    def bootstrap(self) -> str:
        """The ``host:port`` string to give Kafka clients as bootstrap servers."""
        return f"{_HOST}:{self.port}"

    @property
    def sasl_bootstrap(self) -> str | None:
        """``host:port`` of the SASL/PLAIN listener, or None when there is none."""
        return f"{_HOST}:{self.sasl_port}" if self.sasl_port else None

    @property
    def ssl_bootstrap(self) -> str | None:
        """``host:port`` of the mutual-TLS listener, or None when there is none."""
        return f"{_HOST}:{self.ssl_port}" if self.ssl_port else None

    def to_dict(self) -> dict:
        """Return the fields, plus ``bootstrap``, as a JSON-ready dict."""
        return {**asdict(self), "bootstrap": self.bootstrap, "sasl_bootstrap": self.sasl_bootstrap}

    @classmethod
    def from_dict(cls, data: dict) -> KafkaInfo:
        """Build a :class:`KafkaInfo` from a dict as written by :meth:`to_dict`.

        Raises:
            KeyError: a field is missing.
            ValueError: a field has the wrong type.
        """
        return cls(
            pid=int(data["pid"]),
            port=int(data["port"]),
            controller_port=int(data["controller_port"]),
            version=str(data["version"]),
            data_dir=str(data["data_dir"]),
            log_file=str(data["log_file"]),
            started_at=float(data["started_at"]),
            startup_seconds=float(data["startup_seconds"]),
            sasl_port=int(data["sasl_port"]) if data.get("sasl_port") else None,
            restarts=int(data.get("restarts", 0)),
            ssl_port=int(data["ssl_port"]) if data.get("ssl_port") else None,
        )


# ---------------------------------------------------------------------------------------------
# Jars


def kafka_version() -> str:
    """The Apache Kafka version to use: ``INPLAY_KAFKA_VERSION`` or :data:`DEFAULT_VERSION`.

    Raises:
        ConfigError: the setting does not look like a 4.x version.
    """
    version = config.env_str("INPLAY_KAFKA_VERSION", DEFAULT_VERSION)
    if not re.fullmatch(r"4\.\d+\.\d+", version):
        raise ConfigError(
            f"INPLAY_KAFKA_VERSION={version!r} is not an Apache Kafka 4.x release such as "
            f"{DEFAULT_VERSION}; unset it or give one from Maven Central."
        )
    return version


def cache_dir() -> Path:
    """Root of inplay's cache: ``INPLAY_KAFKA_CACHE``, else ``$XDG_CACHE_HOME/inplay``."""
    env = config.env_str("INPLAY_KAFKA_CACHE")
    if env:
        return Path(env).expanduser().resolve()
    xdg = config.env_str("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "inplay"


def libs_dir(version: str | None = None) -> Path:
    """Where the jars of ``version`` are (or will be) copied."""
    return cache_dir() / f"kafka-{version or kafka_version()}" / "libs"


def jars_available(version: str | None = None) -> bool:
    """Whether the jars of ``version`` were fully copied into the cache (nothing is fetched)."""
    libs = libs_dir(version)
    return (libs / _COMPLETE).is_file() and any(libs.glob("kafka_2.13-*.jar"))


def _tool(name: str, env_var: str, sub: str) -> str:
    home = config.env_str(env_var)
    if home and (Path(home) / sub).is_file():
        return str(Path(home) / sub)
    found = shutil.which(name)
    if not found:
        raise ConfigError(
            f"`{name}` was not found on PATH (nor under {env_var}); the Apache Kafka broker "
            "needs Java 17+ and Maven. Install them, or set KAFKA_BOOTSTRAP_SERVERS to an "
            "existing cluster."
        )
    return found


def java_command() -> str:
    """Path of ``java`` (``JAVA_HOME/bin/java``, else PATH).

    Raises:
        ConfigError: no Java, or a Java older than 17 (Kafka 4.x needs 17+).
    """
    java = _tool("java", "JAVA_HOME", "bin/java")
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    major = int(match.group(1)) if match else 0
    if major == 1 and match and match.group(2):  # "1.8.0_x" style
        major = int(match.group(2))
    if major < 17:
        raise ConfigError(
            f"{java} is Java {major or '?'}; Apache Kafka 4.x needs Java 17 or newer "
            "(set JAVA_HOME to one)."
        )
    return java


def resolve_jars(version: str | None = None, quiet: bool = True) -> Path:
    """Copy the jars of ``version`` from Maven Central into the cache, unless already there.

    Runs ``mvn dependency:copy-dependencies`` on ``scripts/kafka-jvm/pom.xml`` into a temporary
    folder, then moves it into place, so an interrupted run never leaves a partial cache.

    Args:
        version: Apache Kafka version; :func:`kafka_version` when None.
        quiet: Pass ``-q`` to Maven.

    Returns:
        The folder holding the jars.

    Raises:
        ConfigError: Maven is missing or the POM is not found.
        RuntimeError: Maven failed (the message holds the end of its output).
    """
    version = version or kafka_version()
    libs = libs_dir(version)
    if jars_available(version):
        return libs
    if not POM.is_file():
        raise ConfigError(f"{POM} is missing; it lists the Apache Kafka jars to resolve.")
    mvn = _tool("mvn", "MAVEN_HOME", "bin/mvn")
    libs.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".libs-", dir=libs.parent))
    cmd = [
        mvn,
        "-B",
        *(["-q"] if quiet else []),
        "-f",
        str(POM),
        _COPY_GOAL,
        f"-Dkafka.version={version}",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={staging}",
    ]
    started = time.monotonic()
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0 or not any(staging.glob("kafka_2.13-*.jar")):
        shutil.rmtree(staging, ignore_errors=True)
        tail = "\n".join((out.stdout + out.stderr).strip().splitlines()[-30:])
        raise RuntimeError(
            f"Maven could not resolve Apache Kafka {version} (exit {out.returncode}): "
            f"{' '.join(cmd)}\n{tail}"
        )
    (staging / _COMPLETE).write_text(f"{version} {time.monotonic() - started:.1f}s\n")
    if libs.exists():
        shutil.rmtree(libs)
    os.replace(staging, libs)
    return libs


def classpath(version: str | None = None) -> str:
    """The JVM classpath (a ``libs/*`` wildcard) of ``version``, resolving jars if needed."""
    return str(resolve_jars(version) / "*")


def _run_java(main_class: str, *args: str, version: str | None = None) -> str:
    """Run a Kafka main class in a small JVM and return its stdout (stderr on failure)."""
    cmd = [java_command(), "-Xmx256m", "-cp", classpath(version), main_class, *args]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{main_class} failed ({out.returncode}): {out.stderr or out.stdout}")
    return out.stdout


def jar_version(version: str | None = None) -> str:
    """The version Kafka itself reports (``kafka.Kafka --version``), e.g. ``4.1.0 (Commit:…)``."""
    return _run_java("kafka.Kafka", "--version", version=version).strip()


# ---------------------------------------------------------------------------------------------
# Broker


def _state_path(state_file: Path | str | None) -> Path:
    if state_file is not None:
        return Path(state_file)
    env = config.env_str("INPLAY_APACHE_KAFKA_STATE")
    return Path(env).expanduser() if env else config.DATA_DIR / "apache-kafka.json"


def _is_our_broker(info: KafkaInfo) -> bool:
    """Whether ``info.pid`` is alive and (where /proc tells) runs kafka.Kafka on our data dir."""
    if not process.pid_alive(info.pid):
        return False
    args = process.command_line(info.pid)
    if args is None:
        return True
    return "kafka.Kafka" in args and any(a.startswith(info.data_dir) for a in args)


def status(state_file: Path | str | None = None) -> KafkaInfo | None:
    """Return the running broker described by the state file, if any.

    A stale or unreadable state file is removed.

    Args:
        state_file: State file; ``INPLAY_APACHE_KAFKA_STATE`` or ``data/apache-kafka.json``.
    """
    return process.live_state(_state_path(state_file), KafkaInfo.from_dict, _is_our_broker)


def _cluster_id(random_bytes: Callable[[int], bytes] = os.urandom) -> str:
    """A KRaft cluster id: 16 random bytes, base64url without padding (22 characters).

    Never one that starts with ``-`` (1 in 64 would): the storage tool would read it as an
    option and fail with "argument --cluster-id/-t: expected one argument" (it did, in CI).
    Kafka's own ``Uuid.randomUuid`` skips those too.
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(random_bytes(16)).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _jaas_value(text: str) -> str:
    """Quote a JAAS option value (backslash and double quote escaped)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class Security:
    """What the broker's extra listeners ask of clients, and whether ACLs are enforced.

    Attributes:
        sasl_users: SASL/PLAIN users (name -> password) of the SASL listener.
        scram_users: SCRAM-SHA-512 users of the same listener; their credentials are written
            into the KRaft metadata by Kafka's storage tool (``format --add-scram``).
        tls: (certificate chain PEM file, unencrypted PKCS#8 key PEM file) of the broker: the
            SASL listener is then ``SASL_SSL``.
        client_ca: With ``tls``: PEM file of the CA that signs client certificates; adds a
            mutual-TLS listener (``SSL``, a client certificate required) whose principal is the
            certificate's CN (``User:<CN>``).
        acls: Enforce ACLs with KRaft's ``StandardAuthorizer`` and
            ``allow.everyone.if.no.acl.found=false``. The PLAINTEXT and controller listeners
            (loopback only: the broker's own traffic, and the operator) act as ``User:ANONYMOUS``,
            which is then a super user.
    """

    sasl_users: dict[str, str] | None = None
    scram_users: dict[str, str] | None = None
    tls: tuple[str, str] | None = None
    client_ca: str | None = None
    acls: bool = False

    @property
    def sasl(self) -> bool:
        """Whether there is a SASL listener."""
        return bool(self.sasl_users or self.scram_users)

    @property
    def mutual_tls(self) -> bool:
        """Whether there is a mutual-TLS listener."""
        return bool(self.tls and self.client_ca)


def _pem_value(path: str) -> str:
    """PEM contents for a .properties value, newlines escaped."""
    return Path(path).read_text().strip().replace("\n", "\\n")


def _sasl_properties(name: str, security: Security) -> dict[str, str]:
    """Mechanisms and JAAS settings of the SASL listener ``name``."""
    mechanisms = (["PLAIN"] if security.sasl_users else []) + (
        ["SCRAM-SHA-512"] if security.scram_users else []
    )
    props = {"sasl.enabled.mechanisms": ",".join(mechanisms)}
    if security.sasl_users:
        users = " ".join(
            f"user_{user}={_jaas_value(password)}" for user, password in security.sasl_users.items()
        )
        # A .properties file treats backslashes as escapes: double the JAAS ones.
        props[f"listener.name.{name}.plain.sasl.jaas.config"] = (
            f"org.apache.kafka.common.security.plain.PlainLoginModule required {users};"
        ).replace("\\", "\\\\")
    if security.scram_users:
        props[f"listener.name.{name}.scram-sha-512.sasl.jaas.config"] = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required;"
        )
    return props


def _keystore(name: str, tls: tuple[str, str]) -> dict[str, str]:
    chain, key = tls
    return {
        f"listener.name.{name}.ssl.keystore.type": "PEM",
        f"listener.name.{name}.ssl.keystore.certificate.chain": _pem_value(chain),
        f"listener.name.{name}.ssl.keystore.key": _pem_value(key),
    }


def _security_properties(
    sasl_port: int | None, ssl_port: int | None, security: Security
) -> tuple[list[str], dict[str, str]]:
    """The extra listeners (``PROTOCOL://host:port``) and their settings."""
    listeners: list[str] = []
    props: dict[str, str] = {}
    if sasl_port and security.sasl:
        protocol = "SASL_SSL" if security.tls else "SASL_PLAINTEXT"
        listeners.append(f"{protocol}://{_HOST}:{sasl_port}")
        props.update(_sasl_properties(protocol.lower(), security))
        if security.tls:
            props.update(_keystore(protocol.lower(), security.tls))
    if ssl_port and security.tls and security.client_ca:
        listeners.append(f"SSL://{_HOST}:{ssl_port}")
        props.update(_keystore("ssl", security.tls))
        props["listener.name.ssl.ssl.client.auth"] = "required"
        props["listener.name.ssl.ssl.truststore.type"] = "PEM"
        props["listener.name.ssl.ssl.truststore.certificates"] = _pem_value(security.client_ca)
        # The principal is the CN of the client certificate: User:<CN>.
        props["ssl.principal.mapping.rules"] = "RULE:^CN=([^,]+).*$/$1/,DEFAULT"
    if security.acls:
        props["authorizer.class.name"] = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
        props["allow.everyone.if.no.acl.found"] = "false"
        props["super.users"] = "User:ANONYMOUS"
    return listeners, props


def _server_properties(
    run: Path,
    port: int,
    cport: int,
    sasl_port: int | None = None,
    security: Security | None = None,
    ssl_port: int | None = None,
) -> str:
    security = security or Security()
    extra, secured = _security_properties(sasl_port, ssl_port, security)
    listeners = ",".join([f"PLAINTEXT://{_HOST}:{port}", f"CONTROLLER://{_HOST}:{cport}", *extra])
    protocols = ",".join(
        ["CONTROLLER:PLAINTEXT", "PLAINTEXT:PLAINTEXT"]
        + [f"{p}:{p}" for p in (item.split("://")[0] for item in extra)]
    )
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": f"{_HOST}:{cport}",
        "listeners": listeners,
        "advertised.listeners": listeners,
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": protocols,
        "log.dirs": str(run / "kraft"),
        "num.partitions": "1",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        # Groups form at once instead of after the default 3 s wait for more members.
        "group.initial.rebalance.delay.ms": "0",
        # The cleaner's dedupe buffer (128 MiB by default) lives on the heap.
        "log.cleaner.dedupe.buffer.size": "16777216",
        "num.network.threads": "2",
        "num.io.threads": "2",
        "num.recovery.threads.per.data.dir": "1",
        **secured,
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


_LOG4J2 = """\
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.apache.name = org.apache.kafka
logger.apache.level = INFO
logger.request.name = kafka.request.logger
logger.request.level = WARN
"""


def _logged_version(log_file: Path) -> str | None:
    try:
        text = log_file.read_text(errors="replace")
    except OSError:
        return None
    found = re.findall(r"Kafka version: (\S+)", text)
    return found[-1] if found else None


def _launch(info: KafkaInfo, timeout: float) -> KafkaInfo:
    """Run ``kafka.Kafka`` on the run folder of ``info`` and wait until it answers.

    On success ``info`` gets the new pid, start time, startup seconds and logged version. On
    failure the broker is stopped and RuntimeError holds the end of its log (the run folder is
    left to the caller).
    """
    run = Path(info.data_dir)
    log_file = Path(info.log_file)
    cmd = [java_command(), *_JVM_OPTS, f"-Dlog4j2.configurationFile={run / 'log4j2.properties'}"]
    cmd += ["-cp", classpath(info.version), "kafka.Kafka", str(run / "server.properties")]
    launched = time.monotonic()
    proc = process.spawn(cmd, log_file, cwd=run)
    info.pid = proc.pid
    info.started_at = time.time()
    process.wait_ready(
        proc,
        info.bootstrap,
        name="Apache Kafka",
        log_file=log_file,
        timeout=timeout,
        stop_timeout=_STOP_TIMEOUT,
        interval=0.2,
    )
    info.startup_seconds = round(time.monotonic() - launched, 1)
    info.version = _logged_version(log_file) or info.version
    return info


def start(
    state_file: Path | str | None = None,
    version: str | None = None,
    timeout: float = _READY_TIMEOUT,
    sasl_users: dict[str, str] | None = None,
    tls: tuple[str, str] | None = None,
    scram_users: dict[str, str] | None = None,
    client_ca: str | None = None,
    acls: bool = False,
) -> KafkaInfo:
    """Start a fresh single-node Apache Kafka (KRaft), or return the one already running.

    Args:
        state_file: Where to record the broker; the log goes next to it (suffix ``.log``).
        version: Apache Kafka version; :func:`kafka_version` when None.
        timeout: Seconds to wait for the client port to answer a metadata request.
        sasl_users: With users (name -> password), a second listener on another loopback port
            requires SASL/PLAIN authentication (``SASL_PLAINTEXT``; see
            :attr:`KafkaInfo.sasl_bootstrap`). The PLAINTEXT listener stays for the broker's
            own traffic and for tests.
        tls: With ``sasl_users``: (certificate chain PEM file, unencrypted PKCS#8 private key
            PEM file) for that listener, which is then ``SASL_SSL`` (TLS + SASL/PLAIN).
        scram_users: SCRAM-SHA-512 users (name -> password) of the SASL listener (created by
            Kafka's storage tool when the storage is formatted).
        client_ca: With ``tls``: the CA (PEM file) of client certificates; adds a mutual-TLS
            listener (:attr:`KafkaInfo.ssl_bootstrap`; principal ``User:<certificate CN>``).
        acls: Enforce ACLs (StandardAuthorizer, nothing allowed without an ACL); see
            :class:`Security`.

    Returns:
        The running broker.

    Raises:
        ConfigError: Java 17+ or Maven is missing.
        RuntimeError: formatting failed, or the broker exited or did not answer in time (it is
            then stopped); the message holds the end of its log.
    """
    path = _state_path(state_file)
    current = status(path)
    if current is not None and process.metadata_ok(current.bootstrap, 5.0):
        return current
    if current is not None:
        stop(path)
    version = version or kafka_version()
    java, cp = java_command(), classpath(version)
    path.parent.mkdir(parents=True, exist_ok=True)
    run = Path(tempfile.mkdtemp(prefix=f"inplay-kafka-{version}-"))
    security = Security(sasl_users, scram_users, tls, client_ca, acls)
    try:
        info = _configure_run(run, version, path.with_suffix(".log"), security)
        _format_storage(run, java, cp, scram_users)
        _launch(info, timeout)
    except RuntimeError:
        shutil.rmtree(run, ignore_errors=True)
        raise
    process.write_state(path, info)
    return info


def _free_ports(count: int) -> list[int]:
    """``count`` distinct free ports on 127.0.0.1, in increasing order."""
    ports: set[int] = set()
    while len(ports) < count:
        ports.add(process.free_port())
    return sorted(ports)


def _configure_run(
    run: Path,
    version: str,
    log_file: Path,
    security: Security,
) -> KafkaInfo:
    """Pick free ports and write ``server.properties`` and the log4j2 file into ``run``.

    Returns:
        The broker to launch (no pid yet).
    """
    port, cport, *rest = _free_ports(2 + int(security.sasl) + int(security.mutual_tls))
    sasl_port = rest.pop(0) if security.sasl else None
    ssl_port = rest.pop(0) if security.mutual_tls else None
    (run / "server.properties").write_text(
        _server_properties(run, port, cport, sasl_port, security, ssl_port)
    )
    (run / "log4j2.properties").write_text(_LOG4J2)
    return KafkaInfo(
        pid=0,
        port=port,
        controller_port=cport,
        version=version,
        data_dir=str(run),
        log_file=str(log_file),
        started_at=time.time(),
        startup_seconds=0.0,
        sasl_port=sasl_port,
        ssl_port=ssl_port,
    )


def _scram_arguments(users: dict[str, str] | None) -> list[str]:
    """``--add-scram`` options of the storage tool, one per SCRAM-SHA-512 user.

    Raises:
        ConfigError: a name or password holds a character the tool's syntax cannot carry.
    """
    args: list[str] = []
    for name, password in (users or {}).items():
        if not re.fullmatch(r"[A-Za-z0-9._-]+", name) or re.search(r'["\\\s,=\[\]]', password):
            raise ConfigError(
                f"SCRAM user {name!r}: names are letters, digits, '.', '_', '-'; passwords "
                "have no quotes, backslashes, spaces, commas, '=' or brackets"
            )
        args += ["--add-scram", f'SCRAM-SHA-512=[name={name},password="{password}"]']
    return args


def _format_storage(
    run: Path, java: str, cp: str, scram_users: dict[str, str] | None = None
) -> None:
    """Format a fresh single-node KRaft storage (``--standalone``) for the run folder ``run``.

    Args:
        run: Folder holding ``server.properties`` and ``log4j2.properties``.
        java: The ``java`` command.
        cp: The Kafka classpath.
        scram_users: SCRAM-SHA-512 users to create (name -> password).

    Raises:
        RuntimeError: the storage tool failed.
    """
    fmt = [
        java,
        "-Xmx256m",
        f"-Dlog4j2.configurationFile={run / 'log4j2.properties'}",
        "-cp",
        cp,
        "kafka.tools.StorageTool",
        "format",
        "--standalone",
        "-t",
        _cluster_id(),
        "-c",
        str(run / "server.properties"),
        *_scram_arguments(scram_users),
    ]
    out = subprocess.run(fmt, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        text = out.stdout + out.stderr
        for password in (scram_users or {}).values():
            text = text.replace(password, "***")  # the tool may echo its arguments
        raise RuntimeError(f"Formatting KRaft storage failed: {text}")


def restart(
    state_file: Path | str | None = None,
    kill: bool = False,
    down_seconds: float = 0.0,
    timeout: float = _READY_TIMEOUT,
) -> KafkaInfo:
    """Stop the running broker and start it again on the same ports and the same data.

    Fault injection: clients see the broker vanish and come back with everything it had
    written (topics, records, committed offsets, producer ids).

    Args:
        state_file: State file of the running broker.
        kill: SIGKILL (a crash) instead of SIGTERM (a clean shutdown).
        down_seconds: Seconds to stay down before starting again.
        timeout: Seconds to wait for the restarted broker to answer.

    Returns:
        The restarted broker (new pid; ``restarts`` counts the restarts).

    Raises:
        RuntimeError: no broker is running, or it did not come back.
    """
    path = _state_path(state_file)
    info = status(path)
    if info is None:
        raise RuntimeError(f"no Apache Kafka running for state file {path}")
    if kill:
        process.kill(info.pid, timeout=30.0)
    else:
        process.terminate(info.pid, _STOP_TIMEOUT)
    if down_seconds > 0:
        time.sleep(down_seconds)
    _launch(info, timeout)
    info.restarts += 1
    process.write_state(path, info)
    return info


def stop(state_file: Path | str | None = None, timeout: float = _STOP_TIMEOUT) -> bool:
    """Stop the broker of the state file: SIGTERM, up to ``timeout`` s, then SIGKILL.

    The state file and the run's data folder are removed; the log is kept.

    Args:
        state_file: State file; ``INPLAY_APACHE_KAFKA_STATE`` or ``data/apache-kafka.json``.
        timeout: Seconds to wait after SIGTERM before SIGKILL.

    Returns:
        True if a broker was stopped, False if none was running.
    """
    path = _state_path(state_file)
    info = status(path)
    if info is None:
        return False
    process.terminate(info.pid, timeout)
    if Path(info.data_dir).name.startswith("inplay-kafka-"):
        shutil.rmtree(info.data_dir, ignore_errors=True)
    process.remove_state(path)
    return True


# ---------------------------------------------------------------------------------------------
# Command line


def _parser() -> argparse.ArgumentParser:
    """The command line of ``python -m inplay.brokers.apache``."""
    parser = argparse.ArgumentParser(
        prog="python -m inplay.brokers.apache",
        description="A real single-node Apache Kafka 4.x (KRaft) on the JVM, without Docker.",
    )
    parser.add_argument(
        "verb",
        choices=["start", "stop", "restart", "status", "bootstrap", "jars", "version"],
        help="start: resolve jars, format, start, wait until ready; stop: SIGTERM then "
        "SIGKILL after 30 s; restart: stop (SIGTERM, or SIGKILL with --kill) and start again "
        "on the same ports and data; status: is it running; bootstrap: print host:port; jars: "
        "resolve the jars and print their folder; version: the version the jars report",
    )
    parser.add_argument(
        "--sasl-user",
        action="append",
        default=[],
        metavar="NAME:PASSWORD",
        help="start: add a SASL_PLAINTEXT listener (mechanism PLAIN) with this user; repeat "
        "for more users. Its address is in `status` as sasl_bootstrap",
    )
    parser.add_argument(
        "--scram-user",
        action="append",
        default=[],
        metavar="NAME:PASSWORD",
        help="start: a SCRAM-SHA-512 user of the SASL listener (created when the storage is "
        "formatted); repeat for more users",
    )
    parser.add_argument(
        "--acls",
        action="store_true",
        help="start: enforce ACLs (StandardAuthorizer; nothing allowed without an ACL; the "
        "PLAINTEXT listener on 127.0.0.1 is the operator's super user). Then `inplay acl apply`",
    )
    parser.add_argument("--kill", action="store_true", help="restart: SIGKILL instead of SIGTERM")
    parser.add_argument("--state-file", help="state file (default data/apache-kafka.json)")
    parser.add_argument("--timeout", type=float, default=_READY_TIMEOUT, help="start timeout, s")
    return parser


def _sasl_users(items: list[str]) -> dict[str, str]:
    """Parse ``--sasl-user NAME:PASSWORD`` options into name -> password.

    Raises:
        ConfigError: an item is not ``NAME:PASSWORD``.
    """
    users = {}
    for item in items:
        name, sep, password = item.partition(":")
        if not sep or not name:
            raise ConfigError(f"--sasl-user {item!r} must look like NAME:PASSWORD")
        users[name] = password
    return users


def _cmd_start(args: argparse.Namespace) -> int:
    users = _sasl_users(args.sasl_user)
    scram = _sasl_users(args.scram_user)
    info = start(
        args.state_file,
        timeout=args.timeout,
        sasl_users=users or None,
        scram_users=scram or None,
        acls=args.acls,
    )
    sasl = f", SASL at {info.sasl_bootstrap}" if info.sasl_bootstrap else ""
    print(
        f"Apache Kafka {info.version} running at {info.bootstrap}{sasl} (pid {info.pid}, "
        f"ready in {info.startup_seconds:g} s); data {info.data_dir}; log {info.log_file}"
    )
    return 0


def _cmd_restart(args: argparse.Namespace) -> int:
    info = restart(args.state_file, kill=args.kill, timeout=args.timeout)
    print(
        f"Apache Kafka restarted at {info.bootstrap} (pid {info.pid}, ready in "
        f"{info.startup_seconds:g} s, restart {info.restarts})"
    )
    return 0


def _cmd_stop(args: argparse.Namespace) -> int:
    print("Apache Kafka stopped" if stop(args.state_file) else "Apache Kafka not running")
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    info = status(args.state_file)
    if info is None:
        print("Apache Kafka not running", file=sys.stderr)
        return 1
    if args.verb == "bootstrap":
        print(info.bootstrap)
    else:
        print(json.dumps(info.to_dict(), indent=2))
    return 0


def _cmd_jars(args: argparse.Namespace) -> int:
    started = time.monotonic()
    libs = resolve_jars()
    n = len(list(libs.glob("*.jar")))
    print(f"{libs} ({n} jars, {time.monotonic() - started:.1f} s)")
    return 0


def _cmd_version(args: argparse.Namespace) -> int:
    print(f"Apache Kafka {jar_version()}")
    return 0


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "start": _cmd_start,
    "restart": _cmd_restart,
    "stop": _cmd_stop,
    "status": _cmd_status,
    "bootstrap": _cmd_status,
    "jars": _cmd_jars,
    "version": _cmd_version,
}


def main(argv: list[str] | None = None) -> int:
    """``python -m inplay.brokers.apache start|stop|status|bootstrap|jars|version``.

    Returns:
        The exit status: 0 on success, 1 when ``status``/``bootstrap`` find no broker, 2 on a
        setting error.
    """
    args = _parser().parse_args(argv)
    try:
        return _COMMANDS[args.verb](args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""Tell a wrong SASL login apart from an unreachable broker, and name a refused operation.

Kafka clients report a refused SASL/PLAIN login as a lost connection: kafka-python 3.x only
logs "socket disconnected" and finally "Unable to bootstrap". When a client cannot bootstrap
and SASL/PLAIN is configured, :func:`login_error` logs in once more with a minimal exchange of
the Kafka protocol (SaslHandshake v1, then SaslAuthenticate v0) and returns the broker's own
reason, e.g. ``Authentication failed: Invalid username or password``.

Settings (the same every client uses, see :func:`inplay.config.security_settings`):
``KAFKA_SECURITY_PROTOCOL`` (``SASL_PLAINTEXT``, ``SASL_SSL`` or ``SSL``),
``KAFKA_SASL_MECHANISM`` (``PLAIN`` or ``SCRAM-SHA-512``; SCRAM logins are checked the same way,
with the SCRAM exchange of RFC 5802), ``KAFKA_SASL_USERNAME``, ``KAFKA_SASL_PASSWORD``,
``KAFKA_SSL_CAFILE``, and for mutual TLS ``KAFKA_SSL_CERTFILE``, ``KAFKA_SSL_KEYFILE``
(``KAFKA_SSL_KEY_PASSWORD`` if the key is encrypted).

An operation the cluster's ACLs refuse becomes :class:`AccessDenied` (a ``ConfigError``: one
line from ``inplay``) naming the principal (:func:`principal`), the operation and the resource,
never a secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import socket
import ssl
import struct

from inplay import config

__all__ = [
    "AccessDenied",
    "access_denied",
    "denied_code",
    "refusal",
    "principal",
    "sasl_login",
    "login_error",
    "tls_error",
]

# Kafka's error codes for a refused operation, and the resource each one is about.
DENIED = {29: "topic", 30: "group", 31: "cluster", 53: "transactional id"}
_DENIED_NAMES = {
    29: "TOPIC_AUTHORIZATION_FAILED",
    30: "GROUP_AUTHORIZATION_FAILED",
    31: "CLUSTER_AUTHORIZATION_FAILED",
    53: "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
}


class AccessDenied(config.ConfigError):
    """The cluster's ACLs refused an operation of this client.

    Attributes:
        principal: Who asked (``User:alice``).
        operation: What was refused (``READ``, ``WRITE``, ...).
        resource: On what (``topic 'x'``, ``group 'y'``).
    """

    def __init__(self, principal: str, operation: str, resource: str, code: int) -> None:
        self.principal, self.operation, self.resource = principal, operation, resource
        super().__init__(
            f"Kafka refused {principal} {operation} on {resource} "
            f"({_DENIED_NAMES.get(code, code)}): the cluster's ACLs do not allow it; "
            "an operator grants a component its ACLs with `inplay acl apply`"
        )


_DENIED_NAMES = {"topic": 29, "group": 30, "cluster": 31}
_DENIED_TEXT = re.compile(r"(topic|group|cluster)[ _]authorization[ _]failed", re.IGNORECASE)


def denied_code(exc: BaseException | None) -> int | None:
    """Kafka's authorization error code carried by ``exc`` (either library), or None."""
    for _ in range(4):  # follow wrapped causes a little way
        if exc is None:
            return None
        code = getattr(exc, "errno", None)  # kafka-python error classes
        if code in DENIED:
            return int(code)
        err = exc.args[0] if getattr(exc, "args", None) else None
        get = getattr(err, "code", None)  # confluent_kafka.KafkaError
        if callable(get) and get() in DENIED:
            return int(get())
        # kafka-python wraps some as KafkaError("... [Error 31] ClusterAuthorizationFailedError")
        found = re.search(r"\[Error (\d+)\] \w*AuthorizationFailed", str(exc))
        if found and int(found.group(1)) in DENIED:
            return int(found.group(1))
        # librdkafka's fatal error (code _FATAL) only names the refusal in its text
        named = _DENIED_TEXT.search(str(exc))
        if named:
            return _DENIED_NAMES[named.group(1).lower()]
        exc = exc.__cause__ or exc.__context__
    return None


def _named(exc: BaseException) -> str | None:
    """The topic(s) or group a kafka-python authorization error names, if any."""
    first = exc.args[0] if getattr(exc, "args", None) else None
    if isinstance(first, str) and first and " " not in first:
        return first
    if isinstance(first, set | frozenset | list | tuple) and first:
        return ", ".join(sorted(str(item) for item in first))
    return None


def refusal(
    exc: BaseException, operation: str, topic: str | None = None, group: str | None = None
) -> AccessDenied | None:
    """The :class:`AccessDenied` that ``exc`` means, or None when it is no refusal.

    Args:
        exc: An error of either client library.
        operation: What was being done to a topic (``READ`` or ``WRITE``); in a group it is
            ``READ``, on the cluster ``IDEMPOTENT_WRITE`` (producers) or ``DESCRIBE``.
        topic: The topic concerned, when the library's error does not name it.
        group: The consumer group concerned.
    """
    code = denied_code(exc)
    if code is None:
        return None
    if code == 29:
        return access_denied(code, operation, _named(exc) or topic)
    if code == 30:
        return access_denied(code, "READ", group or _named(exc))
    if code == 31 and operation == "WRITE" and topic:
        # An idempotent producer needs WRITE on some topic (or IDEMPOTENT_WRITE on the
        # cluster) before it may send anything: refused, so it may not write ``topic``.
        return AccessDenied(principal(), "WRITE", f"topic {topic!r}", code)
    if code == 31:
        return access_denied(code, "IDEMPOTENT_WRITE" if operation == "WRITE" else "DESCRIBE", None)
    return access_denied(code, operation, None)


def _certificate_cn(path: str) -> str | None:
    try:
        from cryptography import x509
        from cryptography.x509.oid import NameOID

        with open(path, "rb") as handle:
            cert = x509.load_pem_x509_certificate(handle.read())
        names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(names[0].value) if names else cert.subject.rfc4514_string()
    except (ImportError, OSError, ValueError):
        return None


def principal() -> str:
    """The principal the configured credentials log in as, for messages (never a secret).

    ``User:<name>`` for SASL; ``User:<CN of KAFKA_SSL_CERTFILE>`` for mutual TLS (the broker
    must map certificates to their CN, as :mod:`inplay.brokers.apache` and the compose file do);
    ``User:ANONYMOUS`` otherwise.
    """
    settings = config.security_settings()
    protocol = str(settings.get("security_protocol") or "").upper()
    if protocol.startswith("SASL_"):
        return f"User:{settings.get('sasl_plain_username') or ''}"
    certfile = settings.get("ssl_certfile")
    if protocol == "SSL" and certfile:
        cn = _certificate_cn(str(certfile))
        return f"User:{cn}" if cn else f"the certificate in KAFKA_SSL_CERTFILE={certfile!r}"
    return "User:ANONYMOUS"


def access_denied(code: int, operation: str, name: str | None) -> AccessDenied:
    """The :class:`AccessDenied` for a refusal with Kafka error ``code``.

    Args:
        code: 29 (topic), 30 (group), 31 (cluster) or 53 (transactional id).
        operation: The refused operation, e.g. ``WRITE``.
        name: The topic or group asked for (None when the library did not say).
    """
    kind = DENIED.get(code, "resource")
    resource = f"{kind} {name!r}" if name else ("the cluster" if code == 31 else kind)
    return AccessDenied(principal(), operation, resource, code)


_SASL_HANDSHAKE, _SASL_AUTHENTICATE = 17, 36
_CLIENT_ID = b"inplay-auth-probe"


def _string(value: bytes) -> bytes:
    return struct.pack(">h", len(value)) + value


def _request(
    sock: socket.socket, api_key: int, version: int, correlation: int, body: bytes
) -> bytes:
    header = struct.pack(">hhi", api_key, version, correlation) + _string(_CLIENT_ID)
    payload = header + body
    sock.sendall(struct.pack(">i", len(payload)) + payload)
    size = struct.unpack(">i", _read(sock, 4))[0]
    response = _read(sock, size)
    if struct.unpack(">i", response[:4])[0] != correlation:
        raise ConnectionError("unexpected response from the broker")
    return response[4:]


def _read(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("the broker closed the connection")
        data += chunk
    return data


def _authenticate(sock: socket.socket, correlation: int, token: bytes) -> tuple[int, str, bytes]:
    """One SaslAuthenticate v0 round: (error code, error message, the server's bytes)."""
    body = _request(sock, _SASL_AUTHENTICATE, 0, correlation, struct.pack(">i", len(token)) + token)
    error, length = struct.unpack(">hh", body[:4])
    message = body[4 : 4 + length].decode("utf-8", "replace") if length > 0 else ""
    rest = body[4 + max(length, 0) :]
    size = struct.unpack(">i", rest[:4])[0] if len(rest) >= 4 else 0
    return error, message, rest[4 : 4 + max(size, 0)]


def _scram(sock: socket.socket, username: str, password: str) -> tuple[int, str]:
    """The SCRAM-SHA-512 exchange (RFC 5802): (error code, message) of the failing step."""
    name = username.replace("=", "=3D").replace(",", "=2C")
    bare = f"n={name},r={base64.b64encode(os.urandom(18)).decode()}"
    error, message, first = _authenticate(sock, 2, f"n,,{bare}".encode())
    if error:
        return error, message
    fields = dict(item.split("=", 1) for item in first.decode().split(",") if "=" in item)
    salted = hashlib.pbkdf2_hmac(
        "sha512", password.encode(), base64.b64decode(fields["s"]), int(fields["i"])
    )
    client_key = hmac.new(salted, b"Client Key", "sha512").digest()
    without_proof = f"c=biws,r={fields['r']}"
    auth = f"{bare},{first.decode()},{without_proof}".encode()
    signature = hmac.new(hashlib.sha512(client_key).digest(), auth, "sha512").digest()
    proof = base64.b64encode(bytes(a ^ b for a, b in zip(client_key, signature, strict=True)))
    error, message, _ = _authenticate(sock, 3, f"{without_proof},p={proof.decode()}".encode())
    return error, message


def sasl_login(
    host: str,
    port: int,
    username: str,
    password: str,
    use_ssl: bool = False,
    cafile: str | None = None,
    timeout: float = 5.0,
    mechanism: str = "PLAIN",
) -> str | None:
    """Log in to one broker with SASL and return why it refused, or None if it accepted.

    Args:
        host: Broker host.
        port: Broker port of a SASL listener.
        username: SASL user.
        password: Its password (never part of the answer).
        use_ssl: Wrap the connection in TLS first (``SASL_SSL``).
        cafile: CA certificates for TLS; the system's when None.
        timeout: Socket timeout, seconds.
        mechanism: ``PLAIN`` or ``SCRAM-SHA-512``.

    Returns:
        The broker's reason for refusing the login, or None when the login succeeded.

    Raises:
        OSError: The broker cannot be reached or broke off the exchange.
    """
    with socket.create_connection((host, port), timeout=timeout) as raw:
        sock: socket.socket = raw
        if use_ssl:
            context = ssl.create_default_context(cafile=cafile)
            sock = context.wrap_socket(raw, server_hostname=host)  # closed with raw
        body = _request(sock, _SASL_HANDSHAKE, 1, 1, _string(mechanism.encode()))
        error = struct.unpack(">h", body[:2])[0]
        if error != 0:
            return f"the broker does not offer SASL mechanism {mechanism} (error code {error})"
        if mechanism == "SCRAM-SHA-512":
            error, message = _scram(sock, username, password)
        else:
            token = b"\0" + username.encode() + b"\0" + password.encode()
            error, message, _ = _authenticate(sock, 2, token)
        if error == 0:
            return None
        return message or f"SASL authentication failed (error code {error})"


def tls_error(host: str, port: int, cafile: str | None, timeout: float = 5.0) -> str | None:
    """Why a TLS handshake with ``host:port`` fails certificate checks, or None.

    None also when the broker cannot be reached (then the problem is not the certificate).
    """
    try:
        context = ssl.create_default_context(cafile=cafile)
    except OSError as exc:
        return f"KAFKA_SSL_CAFILE={cafile!r} cannot be read as CA certificates ({exc})"
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=host),
        ):
            return None
    except ssl.SSLCertVerificationError as exc:
        which = f"KAFKA_SSL_CAFILE={cafile!r}" if cafile else "the system's CA certificates"
        return (
            f"the broker's TLS certificate at {host}:{port} is not trusted with {which}: "
            f"{exc.verify_message}. Set KAFKA_SSL_CAFILE to the CA that signed it"
        )
    except OSError:
        return None


def first_address(bootstrap: str) -> tuple[str, int] | None:
    """(host, port) of the first ``host:port`` of a bootstrap list, or None if it has no port."""
    host, _, port = bootstrap.split(",")[0].strip().rpartition(":")
    return (host or "localhost", int(port)) if port.isdigit() else None


def login_error(bootstrap: str) -> str | None:
    """Why the configured TLS or SASL (PLAIN, SCRAM-SHA-512) login to ``bootstrap`` fails, or None.

    None also when SASL is not configured, the login works, or the broker cannot be
    reached at all (then the problem is not the login).

    Args:
        bootstrap: ``host:port[,host:port]``; the first address is tried.
    """
    settings = config.security_settings()
    protocol = str(settings.get("security_protocol") or "").upper()
    mechanism = str(settings.get("sasl_mechanism") or "").upper()
    address = first_address(bootstrap)
    if address is None:
        return None
    host, port = address
    if protocol in {"SSL", "SASL_SSL"}:
        untrusted = tls_error(host, port, settings.get("ssl_cafile"))
        if untrusted:
            return untrusted
    if not protocol.startswith("SASL_") or mechanism not in {"PLAIN", "SCRAM-SHA-512"}:
        return None
    try:
        reason = sasl_login(
            host,
            port,
            str(settings.get("sasl_plain_username") or ""),
            str(settings.get("sasl_plain_password") or ""),
            use_ssl=protocol == "SASL_SSL",
            cafile=settings.get("ssl_cafile"),
            mechanism=mechanism,
        )
    except (OSError, struct.error, KeyError, ValueError):
        return None
    if reason is None:
        return None
    user = settings.get("sasl_plain_username")
    return (
        f"the broker at {bootstrap} refused the SASL/{mechanism} login of user {user!r}: "
        f"{reason}. "
        "Check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (and KAFKA_SECURITY_PROTOCOL, "
        "KAFKA_SASL_MECHANISM)"
    )

"""Tell a wrong SASL login apart from an unreachable broker.

Kafka clients report a refused SASL/PLAIN login as a lost connection: kafka-python 3.x only
logs "socket disconnected" and finally "Unable to bootstrap". When a client cannot bootstrap
and SASL/PLAIN is configured, :func:`login_error` logs in once more with a minimal exchange of
the Kafka protocol (SaslHandshake v1, then SaslAuthenticate v0) and returns the broker's own
reason, e.g. ``Authentication failed: Invalid username or password``.

Settings (the same every client uses, see :func:`inplay.config.security_settings`):
``KAFKA_SECURITY_PROTOCOL`` (``SASL_PLAINTEXT`` or ``SASL_SSL``), ``KAFKA_SASL_MECHANISM``
(``PLAIN``), ``KAFKA_SASL_USERNAME``, ``KAFKA_SASL_PASSWORD``, ``KAFKA_SSL_CAFILE``.
"""

from __future__ import annotations

import socket
import ssl
import struct

from inplay import config

__all__ = ["sasl_plain_login", "login_error", "tls_error"]

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


def sasl_plain_login(
    host: str,
    port: int,
    username: str,
    password: str,
    use_ssl: bool = False,
    cafile: str | None = None,
    timeout: float = 5.0,
) -> str | None:
    """Log in to one broker with SASL/PLAIN and return why it refused, or None if it accepted.

    Args:
        host: Broker host.
        port: Broker port of a SASL listener.
        username: SASL/PLAIN user.
        password: Its password.
        use_ssl: Wrap the connection in TLS first (``SASL_SSL``).
        cafile: CA certificates for TLS; the system's when None.
        timeout: Socket timeout, seconds.

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
        body = _request(sock, _SASL_HANDSHAKE, 1, 1, _string(b"PLAIN"))
        error = struct.unpack(">h", body[:2])[0]
        if error != 0:
            return f"the broker does not offer SASL mechanism PLAIN (error code {error})"
        token = b"\0" + username.encode() + b"\0" + password.encode()
        body = _request(sock, _SASL_AUTHENTICATE, 0, 2, struct.pack(">i", len(token)) + token)
        error = struct.unpack(">h", body[:2])[0]
        if error == 0:
            return None
        length = struct.unpack(">h", body[2:4])[0]
        message = body[4 : 4 + length].decode("utf-8", "replace") if length > 0 else ""
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
    """Why the configured TLS or SASL/PLAIN login to ``bootstrap`` fails, or None.

    None also when SASL/PLAIN is not configured, the login works, or the broker cannot be
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
    if not protocol.startswith("SASL_") or mechanism != "PLAIN":
        return None
    try:
        reason = sasl_plain_login(
            host,
            port,
            str(settings.get("sasl_plain_username") or ""),
            str(settings.get("sasl_plain_password") or ""),
            use_ssl=protocol == "SASL_SSL",
            cafile=settings.get("ssl_cafile"),
        )
    except (OSError, struct.error):
        return None
    if reason is None:
        return None
    user = settings.get("sasl_plain_username")
    return (
        f"the broker at {bootstrap} refused the SASL/PLAIN login of user {user!r}: {reason}. "
        "Check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (and KAFKA_SECURITY_PROTOCOL, "
        "KAFKA_SASL_MECHANISM)"
    )

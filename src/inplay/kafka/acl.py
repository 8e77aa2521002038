"""Least privilege: the ACLs each pipeline component needs, planned and applied.

:func:`plan` is pure: given who each component logs in as, it returns the ACL bindings that let
it do its job and nothing else, on Apache Kafka's standard authorizer (KRaft:
``org.apache.kafka.metadata.authorizer.StandardAuthorizer`` with
``allow.everyone.if.no.acl.found=false``). What each component reads, writes and joins:

==========  ==================================================================================
replay      WRITE the events and raw-data topics
scorer      READ events, READ its group, WRITE requests / results / monitoring; CREATE, READ and
            WRITE its state changelog topic (``inplay-changelog--<group>--<events>``)
dashboard   READ results and monitoring (no group: it assigns partitions)
monitor     READ monitoring (no group)
quality     READ events, READ its group, WRITE processed-data and monitoring
retrain     READ processed-data (no group), WRITE monitoring
admin       CREATE, DESCRIBE and DESCRIBE_CONFIGS the pipeline's topics (``inplay topics create``)
==========  ==================================================================================

READ and WRITE imply DESCRIBE in Kafka's authorizer, so no DESCRIBE binding is listed beside
them. :func:`apply` describes the ACLs already in the cluster and creates only the missing
ones (applying twice changes nothing), with the admin client of either library
(``INPLAY_KAFKA_CLIENT``). ``inplay acl plan|apply`` is the command line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from inplay import config

__all__ = ["COMPONENTS", "Binding", "plan", "apply", "existing", "revoke", "format_plan"]

COMPONENTS = ("replay", "scorer", "dashboard", "monitor", "quality", "retrain", "admin")


@dataclass(frozen=True, order=True)
class Binding:
    """One ACL: ``principal`` may ``operation`` the resource, from any host.

    Attributes:
        principal: ``User:<name>`` (a SASL user or the CN of a client certificate).
        resource_type: ``TOPIC``, ``GROUP`` or ``CLUSTER``.
        name: The resource's name (``kafka-cluster`` for the cluster).
        operation: ``READ``, ``WRITE``, ``CREATE``, ``DESCRIBE``, ``DESCRIBE_CONFIGS``, ...
        pattern: ``LITERAL`` (this name) or ``PREFIXED`` (names starting with it).
        host: Host the principal may connect from (``*``: any).
        permission: ``ALLOW`` (the plan never denies).
    """

    principal: str
    resource_type: str
    name: str
    operation: str
    pattern: str = "LITERAL"
    host: str = "*"
    permission: str = "ALLOW"

    def __str__(self) -> str:
        kind = self.resource_type.lower()
        pattern = "" if self.pattern == "LITERAL" else f" ({self.pattern.lower()})"
        return f"{self.principal} {self.operation} {kind} {self.name!r}{pattern}"


def _grants(
    scorer_group: str, quality_group: str, events_topic: str
) -> dict[str, list[tuple[str, str, str]]]:
    """(resource type, name, operation) per component."""
    from inplay.live.changelog import changelog_topic

    t = config
    changelog = changelog_topic(scorer_group, events_topic)
    every_topic = [*t.TOPICS, changelog]
    return {
        "replay": [("TOPIC", events_topic, "WRITE"), ("TOPIC", t.TOPIC_RAW, "WRITE")],
        "scorer": [
            ("TOPIC", events_topic, "READ"),
            ("GROUP", scorer_group, "READ"),
            *(("TOPIC", n, "WRITE") for n in (t.TOPIC_REQUESTS, t.TOPIC_RESULTS)),
            ("TOPIC", t.TOPIC_MONITORING, "WRITE"),
            *(("TOPIC", changelog, op) for op in ("CREATE", "READ", "WRITE")),
        ],
        "dashboard": [("TOPIC", t.TOPIC_RESULTS, "READ"), ("TOPIC", t.TOPIC_MONITORING, "READ")],
        "monitor": [("TOPIC", t.TOPIC_MONITORING, "READ")],
        "quality": [
            ("TOPIC", events_topic, "READ"),
            ("GROUP", quality_group, "READ"),
            ("TOPIC", t.TOPIC_PROCESSED, "WRITE"),
            ("TOPIC", t.TOPIC_MONITORING, "WRITE"),
        ],
        "retrain": [("TOPIC", t.TOPIC_PROCESSED, "READ"), ("TOPIC", t.TOPIC_MONITORING, "WRITE")],
        "admin": [
            ("TOPIC", name, op)
            for name in every_topic
            for op in ("CREATE", "DESCRIBE", "DESCRIBE_CONFIGS")
        ],
    }


def plan(
    principals: Mapping[str, str | Iterable[str]],
    scorer_group: str | None = None,
    quality_group: str | None = None,
    events_topic: str = config.TOPIC_EVENTS,
) -> list[Binding]:
    """The ACL bindings of a deployment (pure: nothing is asked of a cluster).

    Args:
        principals: Component (one of :data:`COMPONENTS`) -> its principal(s), e.g.
            ``{"scorer": "User:scorer"}``. Components left out get no ACL.
        scorer_group: The scorers' consumer group (default ``INPLAY_SCORER_GROUP``).
        quality_group: The quality worker's group (default ``INPLAY_QUALITY_GROUP``).
        events_topic: The events topic (the scorer's changelog topic is named after it).

    Returns:
        Sorted, distinct bindings.

    Raises:
        ConfigError: an unknown component, or a principal not of the form ``Type:name``.
    """
    grants = _grants(
        scorer_group or config.SCORER_GROUP,
        quality_group or config.env_str("INPLAY_QUALITY_GROUP", "inplay-quality"),
        events_topic,
    )
    out: set[Binding] = set()
    for component, who in principals.items():
        if component not in grants:
            raise config.ConfigError(
                f"unknown component {component!r}: one of {', '.join(COMPONENTS)}"
            )
        for principal in [who] if isinstance(who, str) else list(who):
            kind, sep, name = principal.partition(":")
            if not sep or not kind or not name:
                raise config.ConfigError(
                    f"principal {principal!r} of {component} must look like User:name"
                )
            out.update(Binding(principal, r, n, op) for r, n, op in grants[component])
    return sorted(out)


def format_plan(bindings: Iterable[Binding]) -> str:
    """One binding a line, as ``inplay acl plan`` prints them."""
    return "\n".join(str(b) for b in bindings)


# ---------------------------------------------------------------------------------------------
# The cluster side, with the admin client of either library


class _KafkaPythonAdmin:
    """describe / create / delete ACLs with kafka-python's admin client."""

    def __init__(self, bootstrap: str | None) -> None:
        from kafka import admin as ka

        from inplay.kafka.io import make_admin

        self.ka = ka
        self.admin = make_admin(bootstrap)

    def _acl(self, b: Binding) -> Any:
        ka = self.ka
        pattern = ka.ResourcePattern(
            ka.ResourceType[b.resource_type],
            b.name,
            ka.ACLResourcePatternType[b.pattern],
        )
        return ka.ACL(
            b.principal,
            b.host,
            ka.ACLOperation[b.operation],
            ka.ACLPermissionType[b.permission],
            pattern,
        )

    def describe(self) -> set[Binding]:
        ka = self.ka
        pattern = ka.ResourcePatternFilter(ka.ResourceType.ANY, None, ka.ACLResourcePatternType.ANY)
        wanted = ka.ACLFilter(None, None, ka.ACLOperation.ANY, ka.ACLPermissionType.ANY, pattern)
        acls, error = self.admin.describe_acls(wanted)
        if error is not None and getattr(error, "errno", 0):
            raise config.ConfigError(f"describing the cluster's ACLs failed: {error.__name__}")
        return {
            Binding(
                a.principal,
                a.resource_pattern.resource_type.name,
                a.resource_pattern.resource_name,
                a.operation.name,
                a.resource_pattern.pattern_type.name,
                a.host,
                a.permission_type.name,
            )
            for a in acls
        }

    def create(self, bindings: list[Binding]) -> None:
        result = self.admin.create_acls([self._acl(b) for b in bindings])
        if result.get("failed"):
            acl, error = result["failed"][0]
            raise config.ConfigError(f"creating ACL {acl} failed: {error}")

    def delete(self, bindings: list[Binding]) -> None:
        self.admin.delete_acls([self._acl(b) for b in bindings])

    def close(self) -> None:
        self.admin.close()


class _ConfluentAdmin:
    """describe / create / delete ACLs with confluent-kafka's admin client."""

    def __init__(self, bootstrap: str | None) -> None:
        from confluent_kafka import admin as ca

        from inplay.kafka.clients.confluent import _security
        from inplay.kafka.io import bootstrap_servers

        self.ca = ca
        conf = {"bootstrap.servers": bootstrap or bootstrap_servers(), **_security()}
        self.admin = ca.AdminClient(conf)
        self.timeout = config.client_settings()["bootstrap_timeout_ms"] / 1000.0 + 20

    def _acl(self, b: Binding, kind: str = "AclBinding") -> Any:
        ca = self.ca
        return getattr(ca, kind)(
            ca.ResourceType[b.resource_type],
            b.name,
            ca.ResourcePatternType[b.pattern],
            b.principal,
            b.host,
            ca.AclOperation[b.operation],
            ca.AclPermissionType[b.permission],
        )

    def describe(self) -> set[Binding]:
        ca = self.ca
        wanted = ca.AclBindingFilter(
            ca.ResourceType.ANY,
            None,
            ca.ResourcePatternType.ANY,
            None,
            None,
            ca.AclOperation.ANY,
            ca.AclPermissionType.ANY,
        )
        found = self.admin.describe_acls(wanted, request_timeout=self.timeout)
        return {
            Binding(
                a.principal,
                a.restype.name,
                a.name,
                a.operation.name,
                a.resource_pattern_type.name,
                a.host,
                a.permission_type.name,
            )
            for a in found.result(timeout=self.timeout)
        }

    def create(self, bindings: list[Binding]) -> None:
        futures = self.admin.create_acls([self._acl(b) for b in bindings])
        for future in futures.values():
            future.result(timeout=self.timeout)

    def delete(self, bindings: list[Binding]) -> None:
        filters = [self._acl(b, "AclBindingFilter") for b in bindings]
        for future in self.admin.delete_acls(filters, request_timeout=self.timeout).values():
            future.result(timeout=self.timeout)

    def close(self) -> None:
        """Nothing to release (confluent's admin client has no close)."""


def _admin(bootstrap: str | None, client: str | None):
    from inplay.kafka.clients import client_name

    if client_name(client) == "confluent":
        return _ConfluentAdmin(bootstrap)
    return _KafkaPythonAdmin(bootstrap)


def existing(bootstrap: str | None = None, client: str | None = None) -> set[Binding]:
    """Every ACL binding the cluster holds (needs DESCRIBE on the cluster)."""
    admin = _admin(bootstrap, client)
    try:
        return admin.describe()
    finally:
        admin.close()


def apply(
    bindings: Iterable[Binding], bootstrap: str | None = None, client: str | None = None
) -> tuple[list[Binding], list[Binding]]:
    """Create the bindings the cluster does not hold yet (idempotent).

    Args:
        bindings: What the deployment needs (:func:`plan`).
        bootstrap: ``host:port``; the configured broker when None. The credentials in the
            settings must be allowed to ALTER and DESCRIBE the cluster (a super user).
        client: ``kafka-python`` or ``confluent`` (default ``INPLAY_KAFKA_CLIENT``).

    Returns:
        (created, already there), each sorted.
    """
    wanted = set(bindings)
    admin = _admin(bootstrap, client)
    try:
        there = wanted & admin.describe()
        missing = sorted(wanted - there)
        if missing:
            admin.create(missing)
    finally:
        admin.close()
    return missing, sorted(there)


def revoke(
    bindings: Iterable[Binding], bootstrap: str | None = None, client: str | None = None
) -> None:
    """Delete these bindings from the cluster (those it does not hold are ignored)."""
    admin = _admin(bootstrap, client)
    try:
        admin.delete(list(bindings))
    finally:
        admin.close()

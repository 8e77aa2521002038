"""The compose file's ``secure`` profile, checked statically (no Docker engine here)."""

from __future__ import annotations

import re

import pytest
import yaml

from inplay import config

COMPOSE = config.PROJECT_ROOT / "docker-compose.yml"
SECURE = ("kafka-secure", "kafka-secure-users", "kafka-secure-acl")


@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def test_secure_services_are_one_optional_profile(services):
    for name in SECURE:
        assert services[name]["profiles"] == ["secure"], name
    # The default stack is unchanged: no other service is in that profile.
    assert all(
        "secure" not in s.get("profiles", []) for n, s in services.items() if n not in SECURE
    )


def test_only_a_sasl_ssl_listener_is_reachable_from_outside(services):
    env = {k: str(v) for k, v in services["kafka-secure"]["environment"].items()}
    protocols = dict(p.split(":") for p in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    listeners = dict(item.split("://") for item in env["KAFKA_LISTENERS"].split(","))
    assert set(listeners) <= set(protocols)
    for name, address in listeners.items():
        if protocols[name] != "SASL_SSL":  # plaintext only on the container's loopback
            assert address.startswith("127.0.0.1:"), (name, address)
    assert [p for p in services["kafka-secure"]["ports"]] == ["9094:9094"]
    assert listeners["SECURE"] == ":9094" and protocols["SECURE"] == "SASL_SSL"
    assert env["KAFKA_SASL_ENABLED_MECHANISMS"] == "SCRAM-SHA-512"
    assert env["KAFKA_AUTHORIZER_CLASS_NAME"].endswith(".metadata.authorizer.StandardAuthorizer")
    assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    assert env["KAFKA_INTER_BROKER_LISTENER_NAME"] in listeners
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] in listeners


def test_users_and_acls_are_set_up_without_secrets_in_the_file(services):
    # Every password is a variable ($$...) from ./secrets/users.env, never a value in the file.
    values = re.findall(r"password[\w-]*\s*[=:]\s*([^\s\]]+)", COMPOSE.read_text(), re.I)
    assert values and all(v.startswith("$$") for v in values), values
    users, acls = services["kafka-secure-users"], services["kafka-secure-acl"]
    assert users["env_file"] == "./secrets/users.env"
    assert "kafka-configs.sh" in " ".join(users["command"])
    assert "SCRAM-SHA-512" in " ".join(users["command"])
    assert "inplay acl apply" in " ".join(acls["command"])
    for service in (users, acls):
        assert service["network_mode"] == "service:kafka-secure"
    assert acls["depends_on"]["kafka-secure-users"]["condition"] == (
        "service_completed_successfully"
    )
    from inplay.kafka.acl import COMPONENTS

    for component in COMPONENTS:  # every component gets a user
        assert component in " ".join(users["command"])

"""docker-compose.yml is checked statically (there is no Docker engine on the test machines)."""

from __future__ import annotations

import base64

import pytest
import yaml

from inplay import config

COMPOSE = config.PROJECT_ROOT / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def kafka_env(compose: dict) -> dict[str, str]:
    env = compose["services"]["kafka"]["environment"]
    assert isinstance(env, dict), "use the mapping form for environment"
    return {key: str(value) for key, value in env.items()}


def test_services_exist(compose: dict) -> None:
    assert {"kafka", "ui"} <= set(compose["services"])


def test_kafka_image_and_ports(compose: dict) -> None:
    kafka = compose["services"]["kafka"]
    image, _, tag = kafka["image"].partition(":")
    assert image == "apache/kafka"
    assert tag and tag != "latest"
    assert any(str(port).split(":")[-2:] == ["9092", "9092"] for port in kafka["ports"])


def test_listeners(kafka_env: dict[str, str]) -> None:
    advertised = kafka_env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    hosts = {entry.split("://", 1)[1] for entry in advertised}
    assert {"kafka:29092", "localhost:9092"} <= hosts

    listener_names = {e.split("://")[0] for e in kafka_env["KAFKA_LISTENERS"].split(",")}
    protocol_map = dict(
        pair.split(":") for pair in kafka_env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    )
    assert listener_names <= set(protocol_map)
    assert kafka_env["KAFKA_CONTROLLER_LISTENER_NAMES"] in listener_names
    assert kafka_env["KAFKA_INTER_BROKER_LISTENER_NAME"] in listener_names
    # The controller listener is not advertised to clients.
    assert kafka_env["KAFKA_CONTROLLER_LISTENER_NAMES"] not in {
        e.split("://")[0] for e in advertised
    }


def test_kraft_single_node(kafka_env: dict[str, str]) -> None:
    roles = set(kafka_env["KAFKA_PROCESS_ROLES"].split(","))
    assert roles == {"broker", "controller"}
    node_id = kafka_env["KAFKA_NODE_ID"]
    voters = kafka_env["KAFKA_CONTROLLER_QUORUM_VOTERS"]
    assert voters.startswith(f"{node_id}@kafka:")
    cluster_id = kafka_env["CLUSTER_ID"]
    assert len(cluster_id) == 22
    assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


@pytest.mark.parametrize(
    "setting",
    [
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR",
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR",
        "KAFKA_DEFAULT_REPLICATION_FACTOR",
        "KAFKA_MIN_INSYNC_REPLICAS",
    ],
)
def test_replication_settings_are_one(kafka_env: dict[str, str], setting: str) -> None:
    assert kafka_env[setting] == "1"


def test_fast_group_joins_and_healthcheck(compose: dict, kafka_env: dict[str, str]) -> None:
    assert kafka_env["KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS"] == "0"
    assert "test" in compose["services"]["kafka"]["healthcheck"]


def test_ui_points_at_internal_listener(compose: dict) -> None:
    ui = compose["services"]["ui"]
    assert ui["image"].split(":")[0] in {"provectuslabs/kafka-ui", "kafbat/kafka-ui"}
    env = ui["environment"]
    assert env["KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS"] == "kafka:29092"
    assert any(str(port).startswith("8080:") for port in ui["ports"])
    assert "kafka" in ui["depends_on"]


def test_jupyter_is_optional_and_uses_internal_listener(compose: dict) -> None:
    jupyter = compose["services"]["jupyter"]
    assert jupyter["profiles"] == ["lab"]
    assert jupyter["environment"]["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:29092"
    command = " ".join(jupyter["command"])
    assert 'pip install --no-cache-dir -e ".[lab]"' in command
    assert "--port=8888" in command
    assert any(str(port).startswith("8888:") for port in jupyter["ports"])


def test_dashboard_is_optional_and_uses_internal_listener(compose: dict) -> None:
    dashboard = compose["services"]["dashboard"]
    assert dashboard["profiles"] == ["dashboard"]
    assert dashboard["environment"]["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:29092"
    assert "8501:8501" in dashboard["ports"]
    assert "inplay.dashboard" in " ".join(dashboard["command"])
    assert dashboard["depends_on"]["kafka"]["condition"] == "service_healthy"

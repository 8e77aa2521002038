"""The ACL plan (pure), the refusal messages and the secured broker's settings, no broker."""

from __future__ import annotations

import pytest

from inplay import config
from inplay.brokers import apache
from inplay.cli.acl import principals
from inplay.kafka import acl, auth

CHANGELOG = "inplay-changelog--inplay-scorer--live_football_events"


def grants(bindings, principal: str) -> set[tuple[str, str, str]]:
    return {(b.resource_type, b.name, b.operation) for b in bindings if b.principal == principal}


def test_each_component_gets_exactly_what_it_reads_writes_and_joins(monkeypatch):
    monkeypatch.delenv("INPLAY_SCORER_GROUP", raising=False)
    monkeypatch.delenv("INPLAY_QUALITY_GROUP", raising=False)
    bindings = acl.plan({c: f"User:{c}" for c in acl.COMPONENTS})
    assert grants(bindings, "User:replay") == {
        ("TOPIC", config.TOPIC_EVENTS, "WRITE"),
        ("TOPIC", config.TOPIC_RAW, "WRITE"),
    }
    assert grants(bindings, "User:dashboard") == {
        ("TOPIC", config.TOPIC_RESULTS, "READ"),
        ("TOPIC", config.TOPIC_MONITORING, "READ"),
    }  # and no group
    assert grants(bindings, "User:scorer") == {
        ("TOPIC", config.TOPIC_EVENTS, "READ"),
        ("GROUP", "inplay-scorer", "READ"),
        ("TOPIC", config.TOPIC_REQUESTS, "WRITE"),
        ("TOPIC", config.TOPIC_RESULTS, "WRITE"),
        ("TOPIC", config.TOPIC_MONITORING, "WRITE"),
        ("TOPIC", CHANGELOG, "CREATE"),
        ("TOPIC", CHANGELOG, "READ"),
        ("TOPIC", CHANGELOG, "WRITE"),
    }
    assert grants(bindings, "User:quality") == {
        ("TOPIC", config.TOPIC_EVENTS, "READ"),
        ("GROUP", "inplay-quality", "READ"),
        ("TOPIC", config.TOPIC_PROCESSED, "WRITE"),
        ("TOPIC", config.TOPIC_MONITORING, "WRITE"),
    }
    assert grants(bindings, "User:retrain") == {
        ("TOPIC", config.TOPIC_PROCESSED, "READ"),
        ("TOPIC", config.TOPIC_MONITORING, "WRITE"),
    }
    assert grants(bindings, "User:monitor") == {("TOPIC", config.TOPIC_MONITORING, "READ")}
    # admin: 3 operations on the 6 topics and the scorer's changelog = 21 bindings.
    assert len(grants(bindings, "User:admin")) == 3 * 7
    assert {b.operation for b in bindings if b.principal == "User:admin"} == {
        "CREATE",
        "DESCRIBE",
        "DESCRIBE_CONFIGS",
    }
    # Nothing broad: no cluster ACL, no prefix, no wildcard, only ALLOW from any host.
    assert {b.resource_type for b in bindings} == {"TOPIC", "GROUP"}
    assert {(b.pattern, b.permission, b.host) for b in bindings} == {("LITERAL", "ALLOW", "*")}
    assert not any(b.name == "*" for b in bindings)
    assert bindings == sorted(set(bindings))


def test_groups_and_principals_are_options():
    bindings = acl.plan({"scorer": ["User:a", "User:b"]}, scorer_group="g1")
    assert {b.principal for b in bindings} == {"User:a", "User:b"}
    assert ("GROUP", "g1", "READ") in grants(bindings, "User:b")
    assert ("TOPIC", "inplay-changelog--g1--live_football_events", "WRITE") in grants(
        bindings, "User:a"
    )
    assert acl.plan({}) == []
    with pytest.raises(config.ConfigError, match="unknown component 'scorrer'"):
        acl.plan({"scorrer": "User:x"})
    with pytest.raises(config.ConfigError, match="must look like User:name"):
        acl.plan({"scorer": "scorer"})
    assert principals(["scorer=User:s1", "dashboard=User:d"]) == {
        "scorer": ["User:s1"],
        "dashboard": ["User:d"],
    }
    assert set(principals([])) == set(acl.COMPONENTS)
    with pytest.raises(config.ConfigError, match="COMPONENT=User:NAME"):
        principals(["scorer"])
    line = str(acl.Binding("User:d", "TOPIC", "t", "READ"))
    assert line == "User:d READ topic 't'"


def test_refusals_name_principal_operation_and_resource(monkeypatch, tmp_path):
    from kafka import errors as kerr

    for name in ("KAFKA_SECURITY_PROTOCOL", "KAFKA_SSL_CERTFILE", "INPLAY_SETTINGS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "dash")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "hunter2")
    denied = auth.refusal(kerr.TopicAuthorizationFailedError({"res"}), "WRITE")
    assert isinstance(denied, config.ConfigError)
    assert str(denied).startswith("Kafka refused User:dash WRITE on topic 'res'")
    assert "hunter2" not in str(denied)
    group = auth.refusal(kerr.GroupAuthorizationFailedError("g"), "READ", group="g")
    assert "User:dash READ on group 'g'" in str(group)
    # kafka-python wraps an idempotent producer's refusal: no WRITE on any topic.
    wrapped = kerr.KafkaError("Unexpected error in InitProducerIdResponse: [Error 31] Cluster"
                              "AuthorizationFailedError")  # fmt: skip
    assert "User:dash WRITE on topic 't'" in str(auth.refusal(wrapped, "WRITE", topic="t"))
    assert auth.refusal(kerr.KafkaTimeoutError("slow"), "READ") is None
    assert auth.refusal(RuntimeError("x"), "READ") is None


def test_scram_users_and_mutual_tls_in_the_broker_settings(tmp_path):
    for name in ("crt", "key", "ca"):
        (tmp_path / name).write_text(f"-----BEGIN X-----\n{name}\n-----END X-----\n")
    security = apache.Security(
        scram_users={"scorer": "pw-1"},
        tls=(str(tmp_path / "crt"), str(tmp_path / "key")),
        client_ca=str(tmp_path / "ca"),
        acls=True,
    )
    text = apache._server_properties(tmp_path, 1, 2, 3, security, 4)
    props = dict(line.split("=", 1) for line in text.splitlines())
    assert props["listeners"].endswith(",SASL_SSL://127.0.0.1:3,SSL://127.0.0.1:4")
    assert props["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert props["listener.name.ssl.ssl.client.auth"] == "required"
    assert props["authorizer.class.name"].endswith("StandardAuthorizer")
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert "pw-1" not in text  # SCRAM credentials live in the metadata, not the file
    assert apache._scram_arguments({"scorer": "pw-1"}) == [
        "--add-scram",
        'SCRAM-SHA-512=[name=scorer,password="pw-1"]',
    ]
    with pytest.raises(config.ConfigError, match="passwords have no quotes"):
        apache._scram_arguments({"scorer": 'a"b'})

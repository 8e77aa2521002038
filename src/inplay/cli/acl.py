"""``inplay acl plan|apply``: the ACLs of a least-privilege deployment (:mod:`inplay.kafka.acl`)."""

from __future__ import annotations

import argparse

from inplay import config

__all__ = ["add_acl_command", "cmd_acl"]


def add_acl_command(sub, add_broker_arg) -> None:
    """``acl`` (``add_broker_arg`` adds ``--kafka-broker``)."""
    from inplay.kafka.acl import COMPONENTS

    p = sub.add_parser(
        "acl",
        help="print or apply the ACLs each component needs (least privilege)",
        description="plan: print the ACL bindings of each component's principal; apply: "
        "create the ones the cluster does not hold yet (idempotent; the settings' credentials "
        "must be a super user, or allowed to ALTER and DESCRIBE the cluster).",
    )
    p.add_argument("action", choices=["plan", "apply"])
    p.add_argument(
        "--principal",
        action="append",
        default=[],
        metavar="COMPONENT=User:NAME",
        help=f"who a component logs in as ({', '.join(COMPONENTS)}); repeat. Default: "
        "User:<component> for every component",
    )
    p.add_argument("--scorer-group", help="the scorers' group (default INPLAY_SCORER_GROUP)")
    p.add_argument("--quality-group", help="the quality group (default INPLAY_QUALITY_GROUP)")
    p.add_argument("--client", choices=["kafka-python", "confluent"], help="Kafka client library")
    add_broker_arg(p)
    p.set_defaults(func=cmd_acl)


def principals(items: list[str]) -> dict[str, list[str]]:
    """Parse ``--principal COMPONENT=User:NAME`` options (default: ``User:<component>`` each).

    Raises:
        ConfigError: an option is not ``COMPONENT=Type:name``.
    """
    from inplay.kafka.acl import COMPONENTS

    if not items:
        return {c: [f"User:{c}"] for c in COMPONENTS}
    out: dict[str, list[str]] = {}
    for item in items:
        component, sep, principal = item.partition("=")
        if not sep or ":" not in principal:
            raise config.ConfigError(f"--principal {item!r} must look like COMPONENT=User:NAME")
        out.setdefault(component.strip(), []).append(principal.strip())
    return out


def cmd_acl(args: argparse.Namespace) -> int:
    """``inplay acl plan|apply``."""
    from inplay.kafka import acl

    bindings = acl.plan(principals(args.principal), args.scorer_group, args.quality_group)
    if args.action == "plan":
        print(acl.format_plan(bindings))
        return 0
    created, there = acl.apply(bindings, args.kafka_broker, args.client)
    for binding in created:
        print(f"created  {binding}")
    print(f"{len(created)} ACL(s) created, {len(there)} already there")
    return 0

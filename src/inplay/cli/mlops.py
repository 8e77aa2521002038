"""The MLOps loop's commands: ``inplay quality`` and ``inplay retrain``."""

from __future__ import annotations

import argparse

from inplay import config
from inplay.cli.checks import require_topics

__all__ = ["add_mlops_commands", "cmd_quality", "cmd_retrain"]


def add_mlops_commands(sub, add_broker_arg) -> None:
    """``quality`` and ``retrain`` (``add_broker_arg`` adds ``--kafka-broker``)."""
    p = sub.add_parser(
        "quality",
        help="live model quality: label ended matches, score them, watch for drift",
        description="A consumer-group worker (group inplay-quality) on live_football_events: "
        "builds each match's minute snapshots with the training feature code; when its "
        "regulation result is known, publishes the labelled rows to ml-pipeline-processed-data "
        "and the match's log loss, Brier and RPS under the live champion (kind match_quality), "
        "with rolling figures and drift alerts, to ml-pipeline-monitoring.",
    )
    p.add_argument(
        "--model", help="a fixed model (name, path or 'selected'; default: the champion)"
    )
    p.add_argument("--group", default=None, help="consumer group (default INPLAY_QUALITY_GROUP)")
    p.add_argument("--window", type=int, help="matches in the rolling figures (default 50)")
    p.add_argument("--idle-timeout", type=float, help="stop after N idle seconds")
    p.add_argument("--max-events", type=int, help="stop after N events")
    p.add_argument("--client", choices=["kafka-python", "confluent"], help="Kafka client library")
    add_broker_arg(p)
    p.set_defaults(func=cmd_quality)

    p = sub.add_parser(
        "retrain",
        help="fit a challenger on new matches; promote it if a paired test says it is better",
        description="Takes the matches that ended since the champion was trained (from "
        "ml-pipeline-processed-data with --from-topic, else the data folder's selection), holds "
        "out a share, fits a challenger on the champion's matches plus the other new ones, and "
        "promotes it only if its per-match log loss on the held-out matches is lower by a "
        "one-sided paired t-test over matches (p < INPLAY_PROMOTE_ALPHA). Writes "
        "reports/retrain.json, logs to MLflow and sends model_promoted or model_rejected to "
        "ml-pipeline-monitoring. Exit 0 either way.",
    )
    p.add_argument("--from-topic", action="store_true", help="new matches from processed-data")
    p.add_argument("--competition", help="comma separated competition ids (data folder)")
    p.add_argument("--season", help="comma separated season ids (data folder)")
    p.add_argument("--holdout", type=float, default=0.3, help="share held out (default 0.3)")
    p.add_argument("--alpha", type=float, help="test level (default INPLAY_PROMOTE_ALPHA, 0.05)")
    p.add_argument("--min-matches", type=int, default=10, help="least held-out matches (10)")
    p.add_argument("--no-publish", action="store_true", help="no message to the monitoring topic")
    add_broker_arg(p)
    p.set_defaults(func=cmd_retrain)


def cmd_quality(args: argparse.Namespace) -> int:
    """``inplay quality``."""
    from inplay.cli.checks import load_model
    from inplay.live.quality import QualityWorker
    from inplay.mlops.champion import ChampionSource

    live, follow = load_model(args.model)
    topics = {
        "--events-topic": config.TOPIC_EVENTS,
        "--processed-topic": config.TOPIC_PROCESSED,
        "--monitoring-topic": config.TOPIC_MONITORING,
    }
    require_topics(args, topics)
    worker = QualityWorker(
        ChampionSource(live, follow=follow),
        bootstrap=args.kafka_broker,
        group_id=args.group,
        window=args.window,
        client=args.client,
    )
    counts = worker.run(
        max_events=args.max_events, idle_timeout=args.idle_timeout, handle_signals=True
    )
    print(
        f"quality: {counts.consumed} events, {counts.labelled} matches labelled, "
        f"{counts.drift} drift alerts, {counts.skipped_partial} events of matches seen without "
        f"their start, {counts.skipped_bad} not events"
    )
    return 0


def cmd_retrain(args: argparse.Namespace) -> int:
    """``inplay retrain``."""
    from inplay.mlops.registry import Registry
    from inplay.mlops.retrain import new_rows_from_data, new_rows_from_topic, retrain
    from inplay.pipeline import parse_ids

    registry = Registry()
    info = registry.info(None)  # no champion: one line saying to run `inplay fit`
    if not args.no_publish or args.from_topic:
        require_topics(args, {"monitoring": config.TOPIC_MONITORING})
    if args.from_topic:
        new = new_rows_from_topic(args.kafka_broker)
    else:
        exclude = registry.train_match_ids(info.version)
        new = new_rows_from_data(parse_ids(args.competition), parse_ids(args.season), exclude)
    result = retrain(
        new,
        registry=registry,
        holdout_share=args.holdout,
        alpha=args.alpha,
        min_matches=args.min_matches,
        bootstrap=args.kafka_broker,
        publish=not args.no_publish,
    )
    verdict = "PROMOTED" if result.promoted else "rejected"
    champion = result.challenger_version if result.promoted else result.champion_version
    print(
        f"retrain: challenger v{result.challenger_version} {verdict} (champion: v{champion}); "
        f"{result.decision.reason}; {len(result.new_matches)} new matches, "
        f"{len(result.held_out)} held out; summary in {config.REPORTS_DIR / 'retrain.json'}"
    )
    return 0

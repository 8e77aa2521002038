"""Streaming benchmark of the two Kafka clients behind inplay's seam (a benchmark, not a test).

On one broker (the embedded one by default, or KAFKA_BOOTSTRAP_SERVERS) and real StatsBomb
events (INPLAY_DATA_DIR), for each client:

(a) passthrough: consume the source topic and produce the same bytes to another topic, flush and
    commit per batch, no other work: events/s;
(b) the inplay scorer at full speed on the same events: events/s and its ratio to (a);
(c) many matches replayed concurrently at a scaled pace with the scorer running (in its own
    process): end-to-end latency p50/p95/p99 (sent_at -> prediction), per pace;
(d) 1 vs 2 scorer processes in one consumer group: total events/s.

Prints one table and writes reports/streaming_benchmark.json (with the load average: the
machine's two cores are shared by the broker, the clients and whatever else runs).

    .venv/bin/python benchmarks/streaming.py --matches 20 --clients kafka-python,confluent
    .venv/bin/python benchmarks/streaming.py --skip-latency --profile confluent
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import multiprocessing as mp
import os
import platform
import pstats
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from inplay import config
from inplay.kafka import topics as topics_admin

ROOT = Path(__file__).resolve().parents[1]


def load() -> dict[str, float]:
    one, five, fifteen = os.getloadavg()
    return {"1min": round(one, 2), "5min": round(five, 2), "15min": round(fifteen, 2)}


# -- setup ------------------------------------------------------------------------------------
def pick_matches(n: int, offset: int = 0):
    from inplay.data.statsbomb import StatsBombData

    data = StatsBombData()
    matches = data.matches()
    return data, matches[offset : offset + n]


def fill(bootstrap: str, topic: str, data, matches) -> int:
    """Replay ``matches`` as fast as possible into ``topic``; return the number of events."""
    from inplay.live.replay import replay

    stats = replay(data, matches, topic=topic, bootstrap=bootstrap, progress=True)
    return stats.events


# -- (a) passthrough ---------------------------------------------------------------------------
def passthrough(bootstrap: str, client: str, source: str, sink: str, total: int) -> dict:
    from inplay.kafka.clients import make_consumer_client, make_producer_client, next_offsets

    consumer = make_consumer_client(f"bench-pass-{uuid.uuid4().hex[:8]}", bootstrap, client)
    producer = make_producer_client(bootstrap, client)
    consumed = 0
    first = last = None
    idle_since = time.monotonic()
    bar = tqdm(total=total, desc=f"passthrough {client}", unit="ev", leave=False)
    try:
        consumer.subscribe([source])
        while consumed < total and time.monotonic() - idle_since < 10:
            records = consumer.poll(500, 0.5)
            if not records:
                continue
            idle_since = time.monotonic()
            if first is None:
                first = time.perf_counter()
            for r in records:
                producer.send(sink, r.key, r.value)
            producer.flush()
            consumer.commit(next_offsets(records))
            consumed += len(records)
            last = time.perf_counter()
            bar.update(len(records))
    finally:
        bar.close()
        consumer.close()
        producer.close()
    seconds = (last - first) if first is not None and last is not None else 0.0
    return {
        "consumed": consumed,
        "active_seconds": round(seconds, 3),
        "events_per_second": round(consumed / seconds, 1) if seconds else None,
    }


# -- (b)/(c)/(d) the scorer -------------------------------------------------------------------
def _model():
    from inplay.pipeline import load_scoring_model

    return load_scoring_model()


def score(
    bootstrap: str,
    client: str,
    topics: dict[str, str],
    group: str,
    idle_timeout: float = 5.0,
    profile: bool = False,
) -> dict:
    """Run one scorer in this process until idle; its statistics (and a profile if asked)."""
    from inplay.live.scorer import Scorer

    scorer = Scorer(_model(), bootstrap=bootstrap, group_id=group, client=client, **topics)
    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    stats = scorer.run(idle_timeout=idle_timeout, progress=False)
    out = stats.as_dict()
    if profiler:
        profiler.disable()
        out["profile"] = top_functions(profiler)
    return out


def top_functions(profiler: cProfile.Profile, n: int = 20) -> list[dict]:
    stream = io.StringIO()
    st = pstats.Stats(profiler, stream=stream)
    total = sum(v[2] for v in st.stats.values()) or 1.0  # total internal time
    rows = []
    for (filename, line, func), (_cc, calls, tottime, cumtime, _) in st.stats.items():
        rows.append(
            {
                "function": f"{Path(filename).name}:{line}({func})",
                "calls": calls,
                "tottime_s": round(tottime, 3),
                "cumtime_s": round(cumtime, 3),
                "tottime_share": round(tottime / total, 3),
            }
        )
    rows.sort(key=lambda r: r["tottime_s"], reverse=True)
    return rows[:n]


def _worker(bootstrap: str, client: str, topics: dict, group: str, idle: float, queue) -> None:
    """A scorer in a child process (spawned): put its stats dict (or the error) on ``queue``."""
    try:
        os.environ["INPLAY_KAFKA_CLIENT"] = client
        started = time.time()
        stats = score(bootstrap, client, topics, group, idle_timeout=idle)
        stats["started_at"] = started
        queue.put(stats)
    except BaseException as exc:  # noqa: BLE001 - reported by the parent
        queue.put({"error": repr(exc)})


def workers(bootstrap: str, client: str, topics: dict, n: int, idle: float = 5.0) -> dict:
    """(d) ``n`` scorer processes in one fresh group on the filled source topic."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    group = f"bench-workers-{uuid.uuid4().hex[:8]}"
    procs = [
        ctx.Process(target=_worker, args=(bootstrap, client, topics, group, idle, queue))
        for _ in range(n)
    ]
    for p in procs:
        p.start()
    results = [queue.get(timeout=900) for _ in procs]
    for p in procs:
        p.join(60)
    errors = [r["error"] for r in results if "error" in r]
    if errors:
        return {"workers": n, "error": errors}
    consumed = sum(r["consumed"] for r in results)
    busy = max(r["active_seconds"] for r in results)
    return {
        "workers": n,
        "consumed": consumed,
        "per_worker_consumed": [r["consumed"] for r in results],
        "per_worker_events_per_second": [r["events_per_second"] for r in results],
        "rebalances": [r.get("rebalances") for r in results],
        "busy_seconds": busy,
        "events_per_second": round(consumed / busy, 1) if busy else None,
    }


def latency(
    bootstrap: str,
    client: str,
    prefix: str,
    n_matches: int,
    speed: float,
    seconds: float,
    stagger: float,
) -> dict:
    """(c) replay ``n_matches`` at ``speed`` for ``seconds`` with a scorer process running."""
    from inplay.kafka.clients import make_producer_client
    from inplay.live.replay import encode_event, matchday

    topics = {
        "events_topic": f"{prefix}-lat{int(speed)}-{client}-events",
        "requests_topic": f"{prefix}-lat{int(speed)}-{client}-requests",
        "results_topic": f"{prefix}-lat{int(speed)}-{client}-results",
        "monitoring_topic": f"{prefix}-lat{int(speed)}-{client}-monitoring",
    }
    topics_admin.create_topics(bootstrap, list(topics.values()))
    data, matches = pick_matches(n_matches, offset=100)
    loaded = [(m, data.events(m.match_id)) for m in matches]
    schedule = [
        (t / speed, match, event)
        for t, match, event in matchday(loaded, stagger=stagger)
        if t / speed <= seconds
    ]
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    group = f"bench-latency-{uuid.uuid4().hex[:8]}"
    proc = ctx.Process(
        target=_worker, args=(bootstrap, client, topics, group, 20.0, queue), daemon=True
    )
    proc.start()
    time.sleep(12)  # model load + group join (the embedded broker joins in ~3 s)
    producer = make_producer_client(bootstrap, client)
    start = time.perf_counter()
    sent = 0
    load_during = None
    try:
        for at, match, event in tqdm(schedule, desc=f"latency x{speed:g} {client}", leave=False):
            wait = start + at - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            key, value = encode_event(event, match)
            producer.send(topics["events_topic"], key, value)
            sent += 1
            if load_during is None and time.perf_counter() - start > seconds / 2:
                load_during = load()
        producer.flush()
    finally:
        producer.close()
    stats = queue.get(timeout=600)
    proc.join(60)
    topics_admin.delete_topics(bootstrap, list(topics.values()))
    if "error" in stats:
        return {"error": stats["error"]}
    return {
        "matches": n_matches,
        "speed": speed,
        "stagger_s": stagger,
        "replay_seconds": round(time.perf_counter() - start, 1),
        "sent": sent,
        "offered_events_per_second": round(sent / seconds, 1),
        "scored": stats["scored"],
        "latency_ms": stats["latency_ms"],
        "processing_ms": stats["processing_ms"],
        "load_mid_run": load_during,
    }


# -- main --------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--matches", type=int, default=20, help="matches in the source topic")
    parser.add_argument("--clients", default="kafka-python,confluent")
    parser.add_argument("--skip-latency", action="store_true", help="skip (c)")
    parser.add_argument("--skip-workers", action="store_true", help="skip (d)")
    parser.add_argument("--latency-matches", type=int, default=100)
    parser.add_argument(
        "--latency-speeds", default="1,60", help="replay paces for (c); 1 = real time"
    )
    parser.add_argument("--latency-seconds", type=float, default=60.0)
    parser.add_argument(
        "--stagger", type=float, default=60.0, help="match-clock seconds between kick-offs in (c)"
    )
    parser.add_argument("--profile", default="", help="clients to profile (b) for (cProfile)")
    parser.add_argument("--output", default=str(ROOT / "reports" / "streaming_benchmark.json"))
    args = parser.parse_args(argv)

    from inplay.brokers import embedded
    from inplay.kafka.clients import client_name

    clients = [client_name(c.strip()) for c in args.clients.split(",") if c.strip()]
    profiled = {client_name(c.strip()) for c in args.profile.split(",") if c.strip()}
    bootstrap = config.env_str("KAFKA_BOOTSTRAP_SERVERS")
    own_state = None
    if not bootstrap:
        own_state = Path(f"/tmp/inplay-bench-broker-{os.getpid()}.json")
        bootstrap = embedded.start(state_file=own_state).bootstrap
    broker_kind = "embedded (Tansu)" if own_state else "KAFKA_BOOTSTRAP_SERVERS"

    prefix = f"bench-{uuid.uuid4().hex[:6]}"
    source = f"{prefix}-source"
    report: dict[str, Any] = {
        "broker": broker_kind,
        "bootstrap": bootstrap,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_before": load(),
        "matches": args.matches,
        "clients": {},
    }
    try:
        import confluent_kafka

        report["confluent_kafka"] = f"{confluent_kafka.version()[0]} (librdkafka "
        report["confluent_kafka"] += f"{confluent_kafka.libversion()[0]})"
    except ImportError:
        pass
    import kafka

    report["kafka_python"] = kafka.__version__
    try:
        data, matches = pick_matches(args.matches)
        topics_admin.create_topics(bootstrap, [source])
        total = fill(bootstrap, source, data, matches)
        report["events"] = total
        for client in clients:
            row: dict[str, Any] = {}
            sink = f"{prefix}-{client}-sink"
            topics = {
                "events_topic": source,
                "requests_topic": f"{prefix}-{client}-requests",
                "results_topic": f"{prefix}-{client}-results",
                "monitoring_topic": f"{prefix}-{client}-monitoring",
            }
            topics_admin.create_topics(bootstrap, [sink, *list(topics.values())[1:]])
            row["load_before"] = load()
            row["passthrough"] = passthrough(bootstrap, client, source, sink, total)
            print(f"[{client}] passthrough: {row['passthrough']}", file=sys.stderr)
            group = f"bench-score-{uuid.uuid4().hex[:8]}"
            s = score(bootstrap, client, topics, group)
            row["scorer"] = s
            if client in profiled:  # a second, profiled run: cProfile slows the scorer down
                group = f"bench-profile-{uuid.uuid4().hex[:8]}"
                row["scorer_profiled"] = score(bootstrap, client, topics, group, profile=True)
            a, b = row["passthrough"]["events_per_second"], s["events_per_second"]
            row["scorer_vs_passthrough"] = round(b / a, 3) if a and b else None
            print(f"[{client}] scorer: {s['events_per_second']} ev/s", file=sys.stderr)
            if not args.skip_workers:
                row["workers"] = {}
                for n in (1, 2):
                    row["workers"][str(n)] = workers(bootstrap, client, topics, n)
                    print(f"[{client}] {n} worker(s): {row['workers'][str(n)]}", file=sys.stderr)
            if not args.skip_latency:
                row["latency"] = {}
                for speed in [float(x) for x in args.latency_speeds.split(",") if x.strip()]:
                    row["latency"][f"x{speed:g}"] = latency(
                        bootstrap,
                        client,
                        prefix,
                        args.latency_matches,
                        speed,
                        args.latency_seconds,
                        args.stagger if speed > 1 else 0.0,
                    )
                    print(
                        f"[{client}] latency x{speed:g}: {row['latency'][f'x{speed:g}']}",
                        file=sys.stderr,
                    )
            row["load_after"] = load()
            report["clients"][client] = row
            topics_admin.delete_topics(bootstrap, [sink, *list(topics.values())[1:]])
    finally:
        topics_admin.delete_topics(bootstrap, [source])
        if own_state is not None:
            embedded.stop(state_file=own_state)
    report["load_after"] = load()
    report["targets"] = targets(report)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print_table(report)
    print(f"\nwritten {out}")
    return 0


def targets(report: dict) -> dict:
    """The issue's targets, reported (not asserted)."""
    out = {}
    for client, row in report["clients"].items():
        t = {"scorer >= 50% of passthrough": (row.get("scorer_vs_passthrough") or 0) >= 0.5}
        if client == "confluent":
            t["confluent >= 20,000 events/s per worker"] = (
                row["scorer"].get("events_per_second") or 0
            ) >= 20000
        real = (row.get("latency") or {}).get("x1")
        if real and "latency_ms" in real and real["latency_ms"]["p99"] is not None:
            t["p99 <= 25 ms at real-time pace"] = real["latency_ms"]["p99"] <= 25
        out[client] = t
    return out


def print_table(report: dict) -> None:
    print(
        f"\nstreaming benchmark: {report.get('events', 0):,} events from {report['matches']} "
        f"matches, broker {report['broker']}, load {report['load_before']['1min']} -> "
        f"{report['load_after']['1min']}"
    )
    header = f"{'client':<14}{'measure':<44}{'value':>22}"
    print(header)
    print("-" * len(header))
    for client, row in report["clients"].items():
        lines = [
            ("(a) passthrough events/s", row["passthrough"]["events_per_second"]),
            ("(b) scorer events/s", row["scorer"]["events_per_second"]),
            ("(b) scorer / passthrough", row["scorer_vs_passthrough"]),
        ]
        for n, w in (row.get("workers") or {}).items():
            lines.append((f"(d) {n} worker(s) total events/s", w.get("events_per_second")))
        for pace, lat in (row.get("latency") or {}).items():
            if "latency_ms" in lat:
                ms = lat["latency_ms"]
                lines.append(
                    (
                        f"(c) latency {pace}, {lat['offered_events_per_second']:g} ev/s offered",
                        f"{ms['p50']}/{ms['p95']}/{ms['p99']} ms",
                    )
                )
            else:
                lines.append((f"(c) latency {pace}", lat.get("error")))
        for name, value in lines:
            print(f"{client:<14}{name:<44}{str(value):>22}")
    for client, t in report["targets"].items():
        for name, ok in t.items():
            print(f"target [{client}] {name}: {'met' if ok else 'MISSED'}")


if __name__ == "__main__":
    sys.exit(main())

"""Soak test of the live scorer: many matches live for minutes, lag and memory must stay flat.

A benchmark, not a test. On one broker (a private embedded one by default, started on its own
state file and stopped at the end; or KAFKA_BOOTSTRAP_SERVERS) and real StatsBomb events
(--data-dir, else INPLAY_DATA_DIR, else ../shared/data/statsbomb):

* ``--live`` slots (default 100) each replay real matches back to back on one wall clock, at
  ``--speed`` x real time (by default the pace at which a 95-minute match lasts 150 s, or a
  quarter of the run if that is shorter, at least 30 s). The first kick-offs are spread over
  one nominal match length (the ramp); when a slot's match ends (its synthetic ``Match End``
  marker is sent) the slot kicks off the next match, so about ``--live`` matches are live at
  any time and many matches END during the run. Fresh topics; match ids are offset by 10^8
  per pass if the data runs out.
* The scorer (``inplay.live.scorer.Scorer``, ``--workers`` processes in one consumer group, each a
  separate process) scores them with the project's selected model (``models/selected.json``,
  as ``inplay score`` does), or ``--model``, or, when no model was fitted, a quick
  ``goal_rate`` fitted on the replayed matches' minute snapshots.
* Every ``--sample`` seconds: the scorer's RSS (psutil), its latest statistics from the
  monitoring topic (lag per partition, live matches, end-to-end latency p99 over its latest
  50,000 predictions, events/s) and the backlog (messages sent by the replay minus messages
  consumed by the scorer). A row is printed every ``--print-every`` seconds.
* At the end: the replay stops (live matches are left unfinished), the scorer drains and stops,
  and the results topic is read back: predictions, lost (sent events of periods 1-4 without a
  prediction, keyed by (match_id, event_index); quarantined ones excluded and counted apart),
  duplicates (extra copies), latency p99. Linear fits over the second half: RSS in MB per 100
  ended matches (memory flat if <= --rss-threshold) and lag/backlog in events per minute (lag
  flat if <= --lag-threshold x the offered events per minute).

Prints a per-interval table and a summary, writes JSON (--out, default reports/soak.json) and
records the figures with ``inplay.reporting.reliability.record("soak", ...)``.

    .venv/bin/python benchmarks/soak.py                       # 10 minutes, 100 matches live
    .venv/bin/python benchmarks/soak.py --minutes 1.5 --live 20
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import heapq
import json
import math
import multiprocessing as mp
import os
import platform
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from array import array
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from inplay import config
from inplay.kafka import topics as topics_admin
from inplay.live.messages import PREDICTION_KEY, decode
from inplay.live.stats import keep_latest_stats, percentiles

ROOT = Path(__file__).resolve().parents[1]
MATCH_CLOCK_S = 95 * 60  # nominal match length (90 minutes plus typical stoppage time)
ID_PASS = 10**8  # match-id offset per pass through the data (unique ids when matches repeat)
KEY_BASE = 100_000  # (match_id, event_index) -> match_id * KEY_BASE + event_index


def load() -> dict[str, float]:
    one, five, fifteen = os.getloadavg()
    return {"1min": round(one, 2), "5min": round(five, 2), "15min": round(fifteen, 2)}


# -- data: each match as a schedule of pre-encoded messages -----------------------------------
@dataclass
class Prepared:
    """One match, ready to send: match-clock seconds and the JSON of each message.

    ``values[i]`` is the message as :func:`inplay.live.replay.encode_event` writes it, without the
    closing brace and without ``match_id`` and ``sent_at``, which are added when it is sent
    (so the same match can be replayed under another id).
    """

    match: Any
    times: array
    values: list[bytes]
    indices: array
    expected: bytes  # 1 = should get a prediction (not the end marker, not a shoot-out event)
    rows: list[dict] = field(default_factory=list)  # labelled minute snapshots (model fit)

    @property
    def seconds(self) -> float:
        return self.times[-1] if self.times else 0.0


def _prepare(job: tuple[str, Any, bool]) -> tuple | str:
    """Read one match (in a worker process) and encode its messages; an error as text.

    Returns plain values (a class of this script would not unpickle in the parent).
    """
    from inplay.data.dataset import build_match_rows
    from inplay.data.statsbomb import StatsBombData
    from inplay.live.replay import match_end_event, match_timeline

    root, match, with_rows = job
    try:
        events = StatsBombData(Path(root)).events(match.match_id)
        timeline = match_timeline(events)
        if not timeline:
            return f"{match.match_id}: no events"
        last_index = max(int(e["index"]) for _, e in timeline)
        marker = match_end_event(match, {**timeline[-1][1], "index": last_index})
        timeline.append((timeline[-1][0], marker))
        times, indices, values, expected = array("d"), array("q"), [], bytearray()
        for t, event in timeline:
            body = dict(event)
            body["home_team"] = match.home_team
            body["away_team"] = match.away_team
            values.append(orjson.dumps(body)[:-1])
            times.append(float(t))
            indices.append(int(event["index"]))
            expected.append(0 if event.get("inplay_synthetic") or event["period"] == 5 else 1)
        rows: list[dict] = []
        if with_rows:
            rows, _ = build_match_rows(match, events, per_event=False)
            for row in rows:
                row.update(
                    home_team=match.home_team,
                    away_team=match.away_team,
                    match_date=match.match_date,
                )
        return match, times, values, indices, bytes(expected), rows
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop the soak
        return f"{match.match_id}: {type(exc).__name__}: {exc}"


def prepare(root: Path, matches: list, with_rows: bool, workers: int = 2) -> list[Prepared]:
    from tqdm.auto import tqdm

    out: list[Prepared] = []
    bad: list[str] = []
    jobs = [(str(root), m, with_rows) for m in matches]
    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        for result in tqdm(
            pool.map(_prepare, jobs, chunksize=4),
            total=len(jobs),
            desc="prepare matches",
            unit="match",
            file=sys.stderr,
        ):
            if isinstance(result, str):
                bad.append(result)
            else:
                out.append(Prepared(*result))
    for line in bad[:5]:
        print(f"skipped {line}", file=sys.stderr)
    return out


def message(prefix: bytes, match_id: int) -> bytes:
    """The wire value: the event JSON plus ``match_id`` and ``sent_at`` (now)."""
    return b'%b,"match_id":%d,"sent_at":%b}' % (prefix, match_id, repr(time.time()).encode())


# -- model ------------------------------------------------------------------------------------
def model_path(args, prepared: list[Prepared], tmp: Path) -> tuple[str, str]:
    """(path of the model the scorer loads, how it was chosen)."""
    import pandas as pd

    from inplay.models import make_model, save_model
    from inplay.pipeline import SELECTED_FILE, selected_model_name

    if args.model:
        path = Path(args.model)
        path = path if path.exists() else config.MODELS_DIR / args.model
        return str(path), f"--model {args.model}"
    if (config.MODELS_DIR / SELECTED_FILE).is_file():
        name = selected_model_name()
        return str(config.MODELS_DIR / name), f"selected in models/ ({name})"
    from inplay.evaluation.evaluate import with_priors

    rows = pd.DataFrame([row for p in prepared for row in p.rows])
    rows = with_priors(rows, args.data_dir)
    started = time.perf_counter()
    model = make_model("goal_rate").fit(rows)
    path = save_model(
        model, tmp / "models", data_info={"source": "benchmarks/soak.py quick fit"}, metrics={}
    )
    how = (
        f"quick goal_rate fit on {rows['match_id'].nunique()} replayed matches "
        f"({time.perf_counter() - started:.1f} s; no model in models/)"
    )
    return str(path), how


# -- the scorer, in its own process -----------------------------------------------------------
def _scorer(bootstrap: str, client: str, topics: dict, group: str, model: str, queue) -> None:
    """One scoring worker (spawned): runs until SIGTERM, then puts its statistics on queue."""
    try:
        os.environ["INPLAY_KAFKA_CLIENT"] = client
        from inplay.live.scorer import Scorer
        from inplay.models import load_model

        scorer = Scorer(
            load_model(model), bootstrap=bootstrap, group_id=group, client=client, **topics
        )
        held: dict[str, int] = {}

        def snapshot(*_) -> None:
            # What the worker holds while it runs (leaving the group clears it): live states,
            # and the per-match entries it keeps after a match ended.
            held.update(
                states=len(scorer.states),
                ended_matches=len(scorer.ended_matches),
                partition_of=len(scorer.partition_of),
                stats_matches=scorer.stats.matches,
                latencies=len(scorer.stats.latencies_ms),
            )

        def on_term(*_) -> None:
            snapshot()
            scorer.stop()

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, on_term)
        stats = scorer.run(progress=False)
        out = stats.as_dict()
        out["held"] = held
        queue.put(out)
    except BaseException as exc:  # noqa: BLE001 - reported by the parent
        queue.put({"error": repr(exc)})


# -- sampling ---------------------------------------------------------------------------------
class Monitor:
    """Reads the monitoring topic and samples RSS; its own thread and Kafka consumer."""

    def __init__(self, soak: Soak, interval: float, print_every: float) -> None:
        self.soak = soak
        self.interval = interval
        self.print_every = print_every
        self.workers: dict[str, dict] = {}  # latest stats per worker
        self.quarantine_keys: set[int] = set()
        self.quarantine_messages = 0
        self.samples: list[dict] = []
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-monitor", daemon=True)
        self._consumer = None
        self._last_print = -math.inf

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def _open(self):
        from inplay.kafka.clients import make_consumer_client

        s = self.soak
        consumer = make_consumer_client(None, s.bootstrap, s.client)
        parts = [(s.topics["monitoring_topic"], p) for p in range(config.TOPIC_PARTITIONS)]
        consumer.assign(parts)
        for tp in parts:
            consumer.seek(tp, consumer.watermarks(tp)[0])
        return consumer

    def read(self, timeout: float = 0.2) -> None:
        """Take in every monitoring message published so far."""
        if self._consumer is None:
            self._consumer = self._open()
        while True:
            records = self._consumer.poll(max_records=1000, timeout=timeout)
            if not records:
                return
            for record in records:
                body = decode(record.value)
                if body is None:
                    continue
                if body.get("kind") == "stats":
                    keep_latest_stats(self.workers, body)
                elif body.get("kind") == "quarantine":
                    self.quarantine_messages += 1
                    with contextlib.suppress(Exception):
                        event = orjson.loads(body["value"])
                        key = int(event["match_id"]) * KEY_BASE + int(event["index"])
                        self.quarantine_keys.add(key)

    def latest(self) -> dict:
        """The scorer as its latest statistics (summed over workers) describe it."""
        ws = list(self.workers.values())
        if not ws:
            return {}
        p99s = [w["latency_ms"]["p99"] for w in ws if (w.get("latency_ms") or {}).get("p99")]
        at = min(w["at"] for w in ws)
        consumed = sum(w["consumed"] for w in ws)
        return {
            "workers": len(ws),
            "partitions": sum(len(w.get("partitions") or []) for w in ws),
            "consumed": consumed,
            "scored": sum(w["scored"] for w in ws),
            "ended": sum(w["ended"] for w in ws),
            "quarantined": sum(w["quarantined"] for w in ws),
            "live_matches": sum(w.get("live_matches", 0) for w in ws),
            "lag": sum(int(v) for w in ws for v in (w.get("lag") or {}).values()),
            "backlog": self.soak.sent_by(at) - consumed,
            "p99_ms": max(p99s) if p99s else None,
            "events_per_s": round(sum(w.get("interval_events_per_second", 0) for w in ws), 1),
            "at": at,
        }

    def rss_mb(self) -> float:
        """Resident memory of the scorer processes together, MB."""
        import psutil

        rss = 0
        for proc in self.soak.procs:
            with contextlib.suppress(psutil.Error):
                rss += psutil.Process(proc.pid).memory_info().rss
        return round(rss / 2**20, 1)

    def sample(self) -> dict:
        import psutil

        s = self.soak
        self.read()
        broker_rss = None
        if s.broker_pid:
            with contextlib.suppress(psutil.Error):
                broker_rss = round(psutil.Process(s.broker_pid).memory_info().rss / 2**20, 1)
        row = {
            "t": round(time.monotonic() - s.t0, 1) if s.t0 else 0.0,
            "started": s.started,
            "ended": s.ended,
            "live": s.live,
            "sent": s.sent,
            "rss_mb": self.rss_mb(),
            "broker_rss_mb": broker_rss,
            "harness_rss_mb": round(psutil.Process().memory_info().rss / 2**20, 1),
            "load1": round(os.getloadavg()[0], 2),
            "phase": s.phase,
        }
        latest = self.latest()
        row.update(
            {
                k: latest.get(k)
                for k in ("live_matches", "lag", "backlog", "p99_ms", "events_per_s", "consumed")
            }
        )
        row["scorer_ended"] = latest.get("ended")
        row["stats_age_s"] = round(time.time() - latest["at"], 1) if latest else None
        return row

    def _run(self) -> None:
        try:
            next_at = time.monotonic()
            while not self._stop.is_set():
                row = self.sample()
                if self.soak.phase != "setup":
                    self.samples.append(row)
                    if row["t"] - self._last_print >= self.print_every - 1e-6:
                        self._last_print = row["t"]
                        print(format_row(row), flush=True)
                for proc in self.soak.procs:
                    if proc.exitcode is not None and self.soak.phase in {"soak", "drain"}:
                        self.error = f"scorer process {proc.pid} exited with {proc.exitcode}"
                next_at += self.interval
                self._stop.wait(max(0.0, next_at - time.monotonic()))
        except Exception as exc:  # noqa: BLE001 - reported by the main thread
            self.error = f"monitor: {type(exc).__name__}: {exc}"
        finally:
            if self._consumer is not None:
                with contextlib.suppress(Exception):
                    self.read(timeout=1.0)  # the workers' final statistics and quarantines
                    self._consumer.close()


HEADER = (
    f"{'t_s':>6} {'started':>7} {'ended':>6} {'live':>5} {'scorer_live':>11} {'rss_mb':>7} "
    f"{'lag':>7} {'backlog':>7} {'p99_ms':>8} {'ev/s':>7} {'load1':>5}"
)


def _fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def format_row(r: dict) -> str:
    return (
        f"{r['t']:>6.0f} {r['started']:>7} {r['ended']:>6} {r['live']:>5} "
        f"{_fmt(r.get('live_matches'), '>11')} {r['rss_mb']:>7.1f} {_fmt(r.get('lag'), '>7')} "
        f"{_fmt(r.get('backlog'), '>7')} {_fmt(r.get('p99_ms'), '>8.0f')} "
        f"{_fmt(r.get('events_per_s'), '>7.0f')} {r['load1']:>5.2f}"
    )


# -- the soak ---------------------------------------------------------------------------------
@dataclass
class Run:
    """One match being replayed in a slot."""

    prepared: Prepared
    match_id: int
    key: bytes
    kickoff: float  # monotonic seconds
    pos: int = 0


class Soak:
    def __init__(self, args, bootstrap: str, client: str, topics: dict, pool: list[Prepared]):
        self.args = args
        self.bootstrap = bootstrap
        self.client = client
        self.topics = topics
        self.pool = pool
        self.keep_pool = False
        self.next_match = 0
        self.procs: list = []
        self.broker_pid: int | None = None
        self.t0: float | None = None
        self.phase = "setup"
        self.started = self.ended = self.sent = self.events = 0
        self.live = 0
        self.marks_wall: list[float] = []  # (wall clock, messages sent) every ~0.25 s
        self.marks_sent: list[int] = []
        self.expected = array("q")  # keys of the sent events that should get a prediction
        self.behind_max = 0.0
        self.unfinished: list[int] = []

    def sent_by(self, wall: float) -> int:
        """Messages sent by wall-clock time ``wall`` (from the marks)."""
        i = bisect.bisect_right(self.marks_wall, wall)
        return self.marks_sent[i - 1] if i else 0

    def _next_run(self, kickoff: float) -> Run:
        n = self.next_match
        self.next_match += 1
        prepared = self.pool[n % len(self.pool)]
        if prepared is None:
            raise RuntimeError("ran out of prepared matches (matches_needed underestimated)")
        if not self.keep_pool:
            self.pool[n] = None  # type: ignore[call-overload]  # sent once: let it go
        match_id = prepared.match.match_id + ID_PASS * (n // len(self.pool))
        self.started += 1
        return Run(prepared, match_id, str(match_id).encode(), kickoff)

    def replay(self, producer, speed: float, ramp: float, duration: float, stop) -> None:
        """Send every slot's matches on schedule until ``duration`` seconds have passed."""
        live = self.args.live
        t0 = time.monotonic()
        self.t0 = t0
        end = t0 + duration
        heap: list[tuple[float, int, Run]] = []
        for slot in range(live):
            run = self._next_run(t0 + slot * ramp / live)
            heapq.heappush(heap, (run.kickoff + run.prepared.times[0] / speed, slot, run))
        self.phase = "soak"
        next_mark = next_flush = 0.0
        while heap:
            due = heap[0][0]
            now = time.monotonic()
            if due > end or now > end:
                break
            if now >= next_mark:
                self._mark()
                next_mark = now + 0.25
                if stop():
                    break
            if now >= next_flush:
                producer.flush()  # surfaces delivery errors; ms on a healthy broker
                next_flush = now + 5.0
            wait = due - now
            if wait > 0.002:
                time.sleep(min(wait, 0.25))
                continue
            self.behind_max = max(self.behind_max, -wait)
            self._send_next(producer, heap, speed)
        producer.flush()
        self._mark()
        self.unfinished = [run.match_id for _, _, run in heap if run.pos > 0]
        self.started -= sum(1 for _, _, run in heap if run.pos == 0)  # kicked off in the future

    def _mark(self) -> None:
        """Note the messages sent by now (for the backlog)."""
        self.marks_wall.append(time.time())
        self.marks_sent.append(self.sent)

    def _send_next(self, producer, heap: list, speed: float) -> None:
        """Send the due message of the heap's first slot and schedule that slot's next one."""
        due, slot, run = heapq.heappop(heap)
        p = run.prepared
        i = run.pos
        if i == 0:
            self.live += 1
        producer.send(self.topics["events_topic"], run.key, message(p.values[i], run.match_id))
        self.sent += 1
        if p.expected[i]:
            self.events += 1
            self.expected.append(run.match_id * KEY_BASE + p.indices[i])
        run.pos += 1
        if run.pos < len(p.times):
            heapq.heappush(heap, (run.kickoff + p.times[run.pos] / speed, slot, run))
        else:  # the end marker went out: the slot kicks off its next match
            self.ended += 1
            self.live -= 1
            nxt = self._next_run(due)
            heapq.heappush(heap, (nxt.kickoff + nxt.prepared.times[0] / speed, slot, nxt))


def matches_needed(live: int, ramp: float, duration: float, shortest: float) -> int:
    return sum(max(1, math.ceil((duration - i * ramp / live) / shortest)) + 1 for i in range(live))


def read_results(bootstrap: str, client: str, topic: str, expect: int, idle: float = 5.0):
    """Every prediction on ``topic``: keys, latency (ms) and scored_at, as numpy arrays."""
    from tqdm.auto import tqdm

    from inplay.kafka.clients import make_consumer_client

    consumer = make_consumer_client(None, bootstrap, client)
    keys, lat, at = array("q"), array("d"), array("d")
    try:
        parts = [(topic, p) for p in consumer.partitions_for(topic)]
        consumer.assign(parts)
        for tp in parts:
            consumer.seek(tp, consumer.watermarks(tp)[0])
        last = time.monotonic()
        bar = tqdm(total=expect, desc="read results", unit="msg", file=sys.stderr)
        while True:
            records = consumer.poll(max_records=5000, timeout=0.5)
            if records:
                last = time.monotonic()
                for r in records:
                    body = orjson.loads(r.value)
                    match_id, index = (int(body[k]) for k in PREDICTION_KEY)
                    keys.append(match_id * KEY_BASE + index)
                    latency = body.get("latency_ms")
                    lat.append(float("nan") if latency is None else float(latency))
                    at.append(float(body.get("scored_at") or float("nan")))
                bar.update(len(records))
            elif time.monotonic() - last > (idle if len(keys) >= expect else 3 * idle):
                break
        bar.close()
    finally:
        consumer.close()
    return np.asarray(keys), np.asarray(lat), np.asarray(at)


def slope(x, y) -> float | None:
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3 or np.ptp(x[ok]) == 0:
        return None
    return float(np.polyfit(x[ok], y[ok], 1)[0])


def pct(values, q: float) -> float | None:
    """The ``q``-th percentile of the finite ``values``, to 0.1 (None when none)."""
    return percentiles(np.asarray(values, dtype=float), (q,), digits=1)[f"p{q:g}"]


def intervals(samples: list[dict], every: float, lat, at, t0_wall: float) -> list[dict]:
    """One row per ``every`` seconds of the run: last sample's counts, worst lag, exact p99."""
    rows = []
    soak = [s for s in samples if s["phase"] in {"soak", "drain"}]
    if not soak:
        return rows
    edges = np.arange(0.0, soak[-1]["t"] + every, every)
    rel = at - t0_wall
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        inside = [s for s in soak if lo < s["t"] <= hi]
        if not inside:
            continue
        last = inside[-1]
        mask = (rel > lo) & (rel <= hi)
        lags = [s["lag"] for s in inside if s.get("lag") is not None]
        backlogs = [s["backlog"] for s in inside if s.get("backlog") is not None]
        rows.append(
            {
                **{k: last.get(k) for k in ("t", "started", "ended", "live", "live_matches")},
                "rss_mb": last["rss_mb"],
                "lag": max(lags) if lags else None,
                "backlog": max(backlogs) if backlogs else None,
                "p99_ms": pct(lat[mask], 99),
                "events_per_s": round(float(mask.sum()) / (hi - lo), 1),
                "load1": last["load1"],
                "phase": last["phase"],
            }
        )
    return rows


# -- main --------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--minutes", type=float, default=10.0, help="soak length (default 10)")
    parser.add_argument(
        "--live", type=int, default=100, help="matches live at a time (default 100)"
    )
    parser.add_argument(
        "--speed",
        type=float,
        help="pace, x real time (default: a 95-minute match lasts min(150 s, a quarter of the "
        "run), at least 30 s: x38 for 10 minutes)",
    )
    parser.add_argument(
        "--ramp",
        type=float,
        help="seconds over which the first kick-offs are spread (default: one nominal match)",
    )
    parser.add_argument(
        "--data-dir",
        help="StatsBomb open-data folder (default INPLAY_DATA_DIR, else ../shared/data/statsbomb)",
    )
    parser.add_argument("--workers", type=int, default=1, help="scorer processes (default 1)")
    parser.add_argument(
        "--client",
        choices=["kafka-python", "confluent"],
        help="Kafka client for the replay, the scorer and the readers "
        "(default INPLAY_KAFKA_CLIENT, else kafka-python)",
    )
    parser.add_argument(
        "--model", help="model name under models/ or a path (default: the selected one)"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the match order shuffle (default 0)"
    )
    parser.add_argument(
        "--sample", type=float, default=5.0, help="seconds between samples (default 5)"
    )
    parser.add_argument(
        "--print-every",
        type=float,
        help="seconds between printed rows and table intervals (default 60, run/8 if less)",
    )
    parser.add_argument(
        "--drain",
        type=float,
        default=300.0,
        help="max seconds for the scorer to catch up at the end (default 300)",
    )
    parser.add_argument(
        "--rss-threshold",
        type=float,
        default=5.0,
        help="memory flat: RSS slope <= this many MB per 100 ended matches (default 5; a "
        "match state left behind is about 130 KB, i.e. 13 MB per 100)",
    )
    parser.add_argument(
        "--lag-threshold",
        type=float,
        default=0.01,
        help="lag flat: lag and backlog slopes <= this share of the offered events per minute "
        "(default 0.01)",
    )
    parser.add_argument(
        "--out", default=str(ROOT / "reports" / "soak.json"), help="JSON report to write"
    )
    parser.add_argument(
        "--no-record", action="store_true", help="do not call inplay.reporting.reliability.record"
    )
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.live < 1 or args.workers < 1:
        parser.error("--minutes must be > 0, --live and --workers >= 1")
    return args


@dataclass
class Plan:
    """The run's pace and clock, from the arguments."""

    data_dir: Path
    client: str
    duration: float
    speed: float
    nominal: float
    ramp: float
    print_every: float


def make_plan(args) -> Plan | None:
    """The pace and clock of the soak (None: no StatsBomb data)."""
    from inplay.data.statsbomb import shared_data_dir
    from inplay.kafka.clients import client_name

    data_dir = Path(args.data_dir) if args.data_dir else shared_data_dir()
    if data_dir is None or not data_dir.is_dir():
        return None
    args.data_dir = str(data_dir)
    duration = args.minutes * 60.0
    nominal = min(150.0, max(30.0, duration / 4))
    speed = args.speed or round(MATCH_CLOCK_S / nominal, 1)
    nominal = MATCH_CLOCK_S / speed
    return Plan(
        data_dir=data_dir,
        client=client_name(args.client),
        duration=duration,
        speed=speed,
        nominal=nominal,
        ramp=nominal if args.ramp is None else args.ramp,
        print_every=args.print_every or min(60.0, max(10.0, duration / 8)),
    )


def prepare_pool(args, plan: Plan) -> tuple[list[Prepared], int, int]:
    """(the prepared matches, how many the soak needs, how many the data has)."""
    from inplay.data.statsbomb import StatsBombData

    all_matches = list(StatsBombData(plan.data_dir).matches())
    random.Random(args.seed).shuffle(all_matches)
    need = matches_needed(args.live, plan.ramp, plan.duration, 88 * 60 / plan.speed)
    need_fit = not args.model and not (config.MODELS_DIR / "selected.json").is_file()
    print(
        f"soak: {args.live} matches live for {args.minutes:g} min at x{plan.speed:g} (a 95-minute "
        f"match lasts {plan.nominal:.0f} s), ramp {plan.ramp:.0f} s, client {plan.client}, "
        f"{args.workers} worker(s); preparing {min(need, len(all_matches))} of "
        f"{len(all_matches)} matches from {plan.data_dir}",
        flush=True,
    )
    return prepare(plan.data_dir, all_matches[:need], with_rows=need_fit), need, len(all_matches)


@dataclass
class Broker:
    """The broker of the run: a private embedded one (``own_state``) or KAFKA_BOOTSTRAP_SERVERS."""

    bootstrap: str
    own_state: Path | None = None
    pid: int | None = None

    @property
    def kind(self) -> str:
        return "embedded (Tansu)" if self.own_state else "KAFKA_BOOTSTRAP_SERVERS"


def start_broker(tmp: Path) -> Broker:
    from inplay.brokers import embedded

    bootstrap = config.env_str("KAFKA_BOOTSTRAP_SERVERS")
    if bootstrap:
        return Broker(bootstrap)
    own_state = tmp / "broker.json"
    info = embedded.start(state_file=own_state)
    return Broker(info.bootstrap, own_state, info.pid)


def stop_broker(broker: Broker, topics: dict) -> None:
    """Delete the run's topics (on a broker of KAFKA_BOOTSTRAP_SERVERS) or stop the private one."""
    from inplay.brokers import embedded

    if broker.own_state is None:
        topics_admin.delete_topics(broker.bootstrap, list(topics.values()))
    else:
        embedded.stop(state_file=broker.own_state)


def start_scorers(soak: Soak, ctx, queue, group: str, model: str) -> None:
    for _ in range(soak.args.workers):
        proc = ctx.Process(
            target=_scorer,
            args=(soak.bootstrap, soak.client, soak.topics, group, model, queue),
            daemon=True,
        )
        proc.start()
        soak.procs.append(proc)


def wait_for_group(soak: Soak, monitor: Monitor, timeout: float = 120.0) -> None:
    """Until every worker is in the group and every partition assigned."""
    deadline = time.monotonic() + timeout
    while True:
        latest = monitor.latest()
        if (
            latest.get("workers", 0) >= soak.args.workers
            and latest.get("partitions", 0) >= config.TOPIC_PARTITIONS
        ):
            return
        if monitor.error or any(p.exitcode is not None for p in soak.procs):
            raise RuntimeError(monitor.error or "a scorer process exited at start")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the scorer did not join its group within {timeout:.0f} s")
        time.sleep(0.5)


def drain(soak: Soak, monitor: Monitor) -> tuple[dict, float]:
    """Wait (at most --drain s) for the scorer to consume everything; (its stats, seconds)."""
    soak.phase = "drain"
    drain_start = time.monotonic()
    while time.monotonic() - drain_start < soak.args.drain:
        latest = monitor.latest()
        if latest.get("consumed", 0) >= soak.sent and latest["at"] > soak.marks_wall[-1]:
            break
        time.sleep(1.0)
    time.sleep(soak.args.sample + 0.5)  # one more statistics message, sampled
    return monitor.latest(), round(time.monotonic() - drain_start, 1)


def stop_scorers(soak: Soak, monitor: Monitor, queue) -> list[dict]:
    """SIGTERM every scorer; their final statistics.

    Raises:
        RuntimeError: a scorer failed.
    """
    soak.phase = "stop"
    for proc in soak.procs:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
    finals = [queue.get(timeout=120) for _ in soak.procs]
    for proc in soak.procs:
        proc.join(30)
    monitor.stop()
    errors = [f["error"] for f in finals if "error" in f]
    if errors:
        raise RuntimeError(f"scorer failed: {errors}")
    return finals


@dataclass
class Outcome:
    """What the soak run measured, for :func:`summarise`."""

    finals: list[dict]
    drained: dict
    keys: Any
    lat: Any
    at: Any
    rss_ready: float
    t_wall0: float


def soak_run(
    soak: Soak, monitor: Monitor, plan: Plan, tmp: Path, report: dict, group: str
) -> Outcome:
    """Start the scorers, replay, drain, stop them and read the results back."""
    from inplay.kafka.clients import make_producer_client

    model, how = model_path(soak.args, soak.pool, tmp)
    for p in soak.pool:
        p.rows = []
    report["model"] = {"path": model, "how": how}
    print(f"model: {how}", flush=True)
    topics_admin.create_topics(soak.bootstrap, list(soak.topics.values()))
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    start_scorers(soak, ctx, queue, group, model)
    monitor.start()
    wait_for_group(soak, monitor)
    rss_ready = monitor.rss_mb()
    print(f"scorer ready (RSS {rss_ready} MB); soak starts\n{HEADER}", flush=True)
    producer = make_producer_client(soak.bootstrap, soak.client)
    t_wall0 = time.time()
    try:
        soak.replay(
            producer, plan.speed, plan.ramp, plan.duration, lambda: monitor.error is not None
        )
    finally:
        producer.close()
    if monitor.error:
        raise RuntimeError(monitor.error)
    drained, report["drain_s"] = drain(soak, monitor)
    finals = stop_scorers(soak, monitor, queue)
    scored = sum(f["scored"] for f in finals)
    keys, lat, at = read_results(soak.bootstrap, soak.client, soak.topics["results_topic"], scored)
    return Outcome(finals, drained, keys, lat, at, rss_ready, t_wall0)


def cleanup(soak: Soak, monitor: Monitor, broker: Broker, tmp: Path) -> None:
    soak.phase = "stop"
    monitor.stop()
    for proc in soak.procs:
        if proc.is_alive():
            proc.terminate()
            proc.join(10)
    stop_broker(broker, soak.topics)
    shutil.rmtree(tmp, ignore_errors=True)


def record(args, report: dict) -> None:
    from inplay.reporting import reliability

    path = reliability.record(
        "soak",
        figures=figures(report),
        title=(
            f"{args.minutes:g}-minute soak, {args.live} matches live at x{report['speed']:g} "
            f"({report['matches_started']} matches, {report['matches_ended']} ended): "
            "lag and scorer memory must stay flat"
        ),
        broker=report["broker"],
        client=report["client"],
        passed=report["passed"],
        notes=notes(report),
    )
    print(f"recorded {path}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = make_plan(args)
    if plan is None:
        print("error: no StatsBomb data: set INPLAY_DATA_DIR or --data-dir", file=sys.stderr)
        return 2
    pool, need, _ = prepare_pool(args, plan)
    if not pool:
        print("error: no match could be read", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="inplay-soak-"))
    broker = start_broker(tmp)
    prefix = f"soak-{uuid.uuid4().hex[:6]}"
    topics = {
        "events_topic": f"{prefix}-events",
        "requests_topic": f"{prefix}-requests",
        "results_topic": f"{prefix}-results",
        "monitoring_topic": f"{prefix}-monitoring",
    }
    soak = Soak(args, broker.bootstrap, plan.client, topics, pool)
    soak.keep_pool = need > len(pool)
    soak.broker_pid = broker.pid
    monitor = Monitor(soak, args.sample, plan.print_every)
    report: dict[str, Any] = {
        "broker": broker.kind,
        "bootstrap": broker.bootstrap,
        "client": plan.client,
        "workers": args.workers,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_before": load(),
        "minutes": args.minutes,
        "live": args.live,
        "speed": plan.speed,
        "nominal_match_s": round(plan.nominal, 1),
        "ramp_s": round(plan.ramp, 1),
        "data_dir": str(plan.data_dir),
        "matches_prepared": len(pool),
    }
    try:
        run = soak_run(soak, monitor, plan, tmp, report, group=f"{prefix}-scorer")
    finally:
        cleanup(soak, monitor, broker, tmp)
    report.update(
        summarise(
            args,
            soak,
            monitor,
            run.finals,
            run.drained,
            run.keys,
            run.lat,
            run.at,
            plan.duration,
            plan.speed,
        )
    )
    report["rss_ready_mb"] = run.rss_ready
    report["load_after"] = load()
    report["intervals"] = intervals(monitor.samples, plan.print_every, run.lat, run.at, run.t_wall0)
    report["samples"] = monitor.samples
    report["scorer_final"] = run.finals
    print_table(report)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"\nwritten {out}")
    if not args.no_record:
        record(args, report)
    return 0


def summarise(args, soak, monitor, finals, drained, keys, lat, at, duration, speed) -> dict:
    expected = np.unique(np.asarray(soak.expected, dtype=np.int64))
    predicted = np.unique(keys)
    quarantined_keys = np.asarray(sorted(monitor.quarantine_keys), dtype=np.int64)
    missing = np.setdiff1d(expected, predicted, assume_unique=True)
    lost_quarantined = np.intersect1d(missing, quarantined_keys, assume_unique=True)
    # If the drain timed out, the tail of each partition was never consumed: not lost, late.
    unconsumed = max(0, soak.sent - sum(f.get("consumed", 0) for f in finals))
    lost = max(0, int(missing.size - lost_quarantined.size) - unconsumed)
    unexpected = int(np.setdiff1d(predicted, expected, assume_unique=True).size)
    samples = [s for s in monitor.samples if s["phase"] == "soak"]
    half = [s for s in samples if s["t"] >= duration / 2]
    t_min = [s["t"] / 60 for s in half]
    offered = (
        (half[-1]["sent"] - half[0]["sent"]) / (half[-1]["t"] - half[0]["t"])
        if len(half) > 1 and half[-1]["t"] > half[0]["t"]
        else soak.sent / duration
    )
    # x = matches the scorer has ended (their end markers consumed), y = its RSS
    half = [s for s in half if s.get("scorer_ended") is not None]
    rss_slope = slope([s["scorer_ended"] for s in half], [s["rss_mb"] for s in half])
    rss_slope_100 = None if rss_slope is None else round(rss_slope * 100, 2)
    ended_half = (half[-1]["scorer_ended"] - half[0]["scorer_ended"]) if half else 0
    lag_slope = slope(t_min, [s["lag"] for s in half])
    backlog_slope = slope(t_min, [s["backlog"] for s in half])
    lag_limit = args.lag_threshold * offered * 60
    lag_flat = (
        None
        if lag_slope is None or backlog_slope is None
        else bool(lag_slope <= lag_limit and backlog_slope <= lag_limit)
    )
    memory_flat = (
        None if rss_slope_100 is None or ended_half < 10 else rss_slope_100 <= args.rss_threshold
    )
    rel = at - soak.marks_wall[0]
    held: dict[str, int] = {}
    for f in finals:
        for k, v in (f.get("held") or {}).items():
            held[k] = held.get(k, 0) + v
    scorer_live_end = (drained or {}).get("live_matches")
    p99_all = pct(lat, 99)
    out = {
        "events": soak.events,
        "messages_sent": soak.sent,
        "end_markers": soak.ended,
        "matches_started": soak.started,
        "matches_ended": soak.ended,
        "matches_unfinished": len(soak.unfinished),
        "offered_events_per_s_second_half": round(offered, 1),
        "replay_behind_max_s": round(soak.behind_max, 3),
        "predictions": int(predicted.size),
        "result_messages": int(keys.size),
        "duplicates": int(keys.size - predicted.size),
        "lost": lost,
        "lost_quarantined": int(lost_quarantined.size),
        "missing": int(missing.size),
        "unconsumed_at_stop": unconsumed,
        "unexpected_predictions": unexpected,
        "quarantined": sum(f.get("quarantined", 0) for f in finals),
        "quarantine_messages": monitor.quarantine_messages,
        "scorer_consumed": sum(f.get("consumed", 0) for f in finals),
        "scorer_ended": sum(f.get("ended", 0) for f in finals),
        "scorer_live_after_drain": scorer_live_end,
        "evicted": scorer_live_end == len(soak.unfinished),
        "scorer_held": held,
        "p50_latency_ms": pct(lat, 50),
        "p99_latency_ms": p99_all,
        "p99_latency_ms_second_half": pct(lat[rel >= duration / 2], 99),
        "max_latency_ms": pct(lat, 100),
        "rss_start_mb": samples[0]["rss_mb"] if samples else None,
        "rss_mid_mb": half[0]["rss_mb"] if half else None,
        "rss_end_mb": samples[-1]["rss_mb"] if samples else None,
        "rss_max_mb": max((s["rss_mb"] for s in samples), default=None),
        "rss_slope_mb_per_100_matches": rss_slope_100,
        "rss_slope_mb_per_min": (
            None if (r := slope(t_min, [s["rss_mb"] for s in half])) is None else round(r, 3)
        ),
        "matches_ended_second_half": ended_half,
        "broker_rss_end_mb": samples[-1].get("broker_rss_mb") if samples else None,
        "max_lag": max((s["lag"] for s in samples if s["lag"] is not None), default=None),
        "max_backlog": max(
            (s["backlog"] for s in samples if s["backlog"] is not None), default=None
        ),
        "lag_slope_per_min": None if lag_slope is None else round(lag_slope, 1),
        "backlog_slope_per_min": None if backlog_slope is None else round(backlog_slope, 1),
        "thresholds": {
            "rss_mb_per_100_matches": args.rss_threshold,
            "lag_events_per_min": round(lag_limit, 1),
            "lag_share_of_offered": args.lag_threshold,
        },
        "lag_flat": lag_flat,
        "memory_flat": memory_flat,
    }
    out["passed"] = bool(lag_flat and memory_flat and lost == 0)
    return out


def figures(r: dict) -> dict:
    keys = (
        "events",
        "predictions",
        "lost",
        "duplicates",
        "quarantined",
        "p99_latency_ms",
        "matches_started",
        "matches_ended",
        "live",
        "speed",
        "rss_ready_mb",
        "rss_start_mb",
        "rss_end_mb",
        "rss_max_mb",
        "rss_slope_mb_per_100_matches",
        "rss_slope_mb_per_min",
        "max_lag",
        "lag_slope_per_min",
        "max_backlog",
        "backlog_slope_per_min",
        "p99_latency_ms_second_half",
        "offered_events_per_s_second_half",
        "scorer_live_after_drain",
        "matches_unfinished",
    )
    out = {"trials": 1, **{k: r.get(k) for k in keys}}
    out["duration_s"] = round(r["minutes"] * 60, 1)
    out["matches"] = r.get("matches_started")
    out["lag_flat"] = r.get("lag_flat")
    out["memory_flat"] = r.get("memory_flat")
    return out


def notes(r: dict) -> str:
    return (
        f"{r['live']} slots replay real StatsBomb matches back to back at x{r['speed']:g} "
        f"(a 95-minute match in {r['nominal_match_s']:.0f} s), one scorer process per worker "
        f"({r['workers']}), model: {r['model']['how']}. RSS of the scorer sampled every few "
        "seconds with psutil; memory flat = linear-fit RSS slope over the second half <= "
        f"{r['thresholds']['rss_mb_per_100_matches']:g} MB per 100 ended matches; lag flat = "
        "slopes of the broker-reported lag and of the backlog (sent - consumed) over the second "
        f"half <= {r['thresholds']['lag_share_of_offered']:.0%} of the offered events per "
        f"minute; passed also needs lost == 0. Load average {r['load_before']['1min']} -> "
        f"{r['load_after']['1min']} on {r['cpus']} CPUs shared with the broker, the replay "
        "and whatever else ran."
    )


def yes(flag) -> str:
    return "unknown" if flag is None else ("yes" if flag else "NO")


def print_table(r: dict) -> None:
    print(
        f"\nsoak: {r['live']} matches live, {r['minutes']:g} min at x{r['speed']:g} "
        f"({r['nominal_match_s']:.0f} s per match), broker {r['broker']}, client {r['client']}, "
        f"{r['workers']} worker(s), load {r['load_before']['1min']} -> {r['load_after']['1min']}"
    )
    print("per interval (p99 and ev/s from the predictions read back; lag/backlog: worst sample)")
    print(HEADER)
    for row in r["intervals"]:
        print(format_row(row) + ("  (drain)" if row["phase"] == "drain" else ""))
    th = r["thresholds"]
    lines = [
        ("events sent (periods 1-4)", f"{r['events']:,}"),
        (
            "matches started / ended / unfinished",
            (f"{r['matches_started']} / {r['matches_ended']} / {r['matches_unfinished']}"),
        ),
        ("offered events/s (second half)", f"{r['offered_events_per_s_second_half']:,.0f}"),
        ("replay behind schedule, max s", r["replay_behind_max_s"]),
        ("predictions (distinct)", f"{r['predictions']:,}"),
        (
            "lost",
            f"{r['lost']} (missing {r['missing']}: {r['lost_quarantined']} quarantined, "
            f"{r['unconsumed_at_stop']} never consumed before the stop)",
        ),
        ("duplicates", r["duplicates"]),
        ("quarantined", r["quarantined"]),
        (
            "scorer live matches after drain",
            (f"{r['scorer_live_after_drain']} (unfinished: {r['matches_unfinished']})"),
        ),
        (
            "scorer holds before its stop",
            ", ".join(f"{k} {v}" for k, v in r["scorer_held"].items()),
        ),
        (
            "latency p50 / p99 / max ms",
            (f"{r['p50_latency_ms']} / {r['p99_latency_ms']} / {r['max_latency_ms']}"),
        ),
        ("latency p99 second half ms", r["p99_latency_ms_second_half"]),
        (
            "RSS ready / start / mid / end / max MB",
            (
                f"{r['rss_ready_mb']} / {r['rss_start_mb']} / {r['rss_mid_mb']} / "
                f"{r['rss_end_mb']} / {r['rss_max_mb']}"
            ),
        ),
        (
            "RSS slope, MB per 100 ended matches",
            (
                f"{r['rss_slope_mb_per_100_matches']} ({r['matches_ended_second_half']} ended in "
                f"the second half by the scorer; {r['rss_slope_mb_per_min']} MB/min)"
            ),
        ),
        ("lag max / slope per min", f"{r['max_lag']} / {r['lag_slope_per_min']}"),
        ("backlog max / slope per min", f"{r['max_backlog']} / {r['backlog_slope_per_min']}"),
        ("broker RSS at end MB", r["broker_rss_end_mb"]),
    ]
    print()
    for name, value in lines:
        print(f"{name:<40}{value}")
    print(
        f"lag flat: {yes(r['lag_flat'])} (lag and backlog slopes over the second half <= "
        f"{th['lag_events_per_min']:,.0f} events/min = {th['lag_share_of_offered']:.0%} of the "
        "offered rate)"
    )
    print(
        f"memory flat: {yes(r['memory_flat'])} (scorer RSS slope over the second half <= "
        f"{th['rss_mb_per_100_matches']:g} MB per 100 ended matches, >= 10 matches ended)"
    )
    print(
        f"ended matches evicted: {yes(r['evicted'])} (scorer live matches after the drain "
        "== matches left unfinished)"
    )
    print(f"no events lost: {yes(r['lost'] == 0)}")
    print(f"passed: {yes(r['passed'])}")


if __name__ == "__main__":
    sys.exit(main())

"""Replay real StatsBomb matches into Kafka as if they were live.

Every event goes to ``live_football_events`` with key = match id (so a match stays on one
partition, in order) and value = the event JSON as StatsBomb has it plus ``match_id``,
``home_team``, ``away_team``, ``competition_id``, ``season_id``, ``neutral``, ``knockout`` (the
match cannot end drawn: :func:`inplay.models.advance.knockout_match_ids` over the data's
matches) and ``sent_at`` (wall-clock seconds at publish time, for latency).
Several matches are interleaved on one clock like a real matchday: they kick off together
(or ``stagger`` seconds apart) and their events are sent in match-clock order.

With a raw-data topic (``inplay replay`` uses ``ml-pipeline-raw-data``) each match's metadata
(``kind: "raw_match"``) goes there before its first event and its result (``kind:
"raw_result"``, counted from its events by the feature code) after its last one.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import orjson
import pandas as pd
from tqdm.auto import tqdm

from inplay import config
from inplay.data.ratings import neutral_venue
from inplay.data.statsbomb import Match, StatsBombData
from inplay.features import MatchState, parse_timestamp, sort_events
from inplay.features.rules import result_letter
from inplay.mlops.messages import RAW_MATCH, RAW_RESULT, body
from inplay.models.advance import is_knockout, knockout_match_ids

__all__ = [
    "ReplayStats",
    "match_timeline",
    "match_end_event",
    "matchday",
    "matchday_frame",
    "encode_event",
    "raw_match_message",
    "raw_result_message",
    "replay",
]


@dataclass
class ReplayStats:
    """What a replay sent."""

    events: int
    matches: int
    seconds: float
    topic: str
    markers: int = 0

    @property
    def messages(self) -> int:
        """Everything sent: the events plus one end-of-match marker per finished match."""
        return self.events + self.markers

    @property
    def events_per_second(self) -> float:
        """Throughput of the whole replay."""
        return self.events / self.seconds if self.seconds > 0 else float("inf")

    def summary(self) -> str:
        """One line for people."""
        return (
            f"replayed {self.events:,} events from {self.matches} matches to {self.topic} "
            f"in {self.seconds:.1f} s ({self.events_per_second:,.0f} events/s)"
        )


def match_timeline(events: Iterable[dict], break_seconds: float = 0.0) -> list[tuple[float, dict]]:
    """Each event with its time since kick-off on a continuous clock, in match-clock order.

    A period starts where the previous one ended (its last event) plus ``break_seconds``,
    so first-half stoppage time never overlaps the second half.
    """
    ordered = sort_events(events)
    out: list[tuple[float, dict]] = []
    offset = 0.0
    period = None
    period_end = 0.0
    for event in ordered:
        seconds = parse_timestamp(event["timestamp"])
        if event["period"] != period:
            if period is not None:
                offset += period_end + break_seconds
            period = event["period"]
            period_end = 0.0
        period_end = max(period_end, seconds)
        out.append((offset + seconds, event))
    return out


def match_end_event(match: Match, last: dict) -> dict:
    """The synthetic event the replay sends after a match's last one: the match is over.

    It is shaped like a StatsBomb event (so every reader of the topic can parse it) with
    ``type.name == "Match End"``, the next ``index`` and ``inplay_synthetic: true``.
    """
    return {
        "id": f"inplay-match-end-{match.match_id}",
        "index": int(last["index"]) + 1,
        "period": last["period"],
        "timestamp": last["timestamp"],
        "minute": last.get("minute", 0),
        "second": last.get("second", 0),
        "type": {"id": 0, "name": "Match End"},
        "team": {"id": match.home_team_id, "name": match.home_team},
        "inplay_synthetic": True,
    }


def matchday(
    matches: list[tuple[Match, list[dict]]],
    stagger: float = 0.0,
    break_seconds: float = 0.0,
    end_markers: bool = False,
) -> Iterator[tuple[float, Match, dict]]:
    """All matches' events merged on one clock: (seconds since the first kick-off, match, event).

    With ``end_markers`` each match's stream ends with :func:`match_end_event`.
    """
    streams = []
    for n, (match, events) in enumerate(matches):
        timeline = match_timeline(events, break_seconds)
        stream = [(n * stagger + t, n, i, match, event) for i, (t, event) in enumerate(timeline)]
        if end_markers and timeline:
            t_last, last = timeline[-1]
            last_index = max(int(e["index"]) for _, e in timeline)
            marker = match_end_event(match, {**last, "index": last_index})
            stream.append((n * stagger + t_last, n, len(timeline), match, marker))
        streams.append(stream)
    for t, _n, _i, match, event in heapq.merge(*streams, key=lambda x: (x[0], x[1], x[2])):
        yield t, match, event


def matchday_frame(data: StatsBombData, matches: list[Match], stagger: float = 0.0) -> pd.DataFrame:
    """The replay schedule as a table: minute on the matchday clock, match, event type."""
    loaded = [(m, data.events(m.match_id)) for m in matches]
    rows = [
        {
            "minute": t / 60.0,
            "match_id": match.match_id,
            "match": f"{match.home_team} v {match.away_team}",
            "period": event["period"],
            "type": event["type"]["name"],
        }
        for t, match, event in matchday(loaded, stagger)
    ]
    return pd.DataFrame(rows)


def encode_event(
    event: dict, match: Match, sent_at: float | None = None, knockout: bool | None = None
) -> tuple[bytes, bytes]:
    """Kafka key and value for one event.

    Args:
        event: The StatsBomb event.
        match: Its match.
        sent_at: The send time (default: now).
        knockout: Whether the match cannot end drawn (None: its listed stage says,
            :func:`~inplay.models.advance.is_knockout`; :func:`replay` passes
            :func:`~inplay.models.advance.knockout_match_ids`, which also corrects stages
            StatsBomb lists as league rounds).
    """
    value = dict(event)
    value["match_id"] = match.match_id
    value["home_team"] = match.home_team
    value["away_team"] = match.away_team
    value["competition_id"] = match.competition_id
    value["season_id"] = match.season_id
    value["neutral"] = neutral_venue(match.competition, match.competition_stage)
    value["knockout"] = is_knockout(match.competition_stage) if knockout is None else knockout
    value["sent_at"] = time.time() if sent_at is None else sent_at
    return str(match.match_id).encode(), orjson.dumps(value)


def raw_match_message(match: Match, sent_at: float) -> dict:
    """The ``raw_match`` message of a match (its metadata)."""
    return body(
        RAW_MATCH,
        match_id=match.match_id,
        competition_id=match.competition_id,
        season_id=match.season_id,
        competition=match.competition,
        season=match.season,
        competition_stage=match.competition_stage,
        match_date=match.match_date,
        kick_off=match.kick_off,
        home_team=match.home_team,
        away_team=match.away_team,
        neutral=neutral_venue(match.competition, match.competition_stage),
        sent_at=sent_at,
    )


def raw_result_message(match: Match, events: Iterable[dict], sent_at: float) -> dict:
    """The ``raw_result`` message of a match, its score counted from its events."""
    state = MatchState(match.match_id, match.home_team, match.away_team)
    for event in sort_events(events):
        state.apply(event)
    features = state.features()
    reg_home, reg_away = state.regulation_score
    return body(
        RAW_RESULT,
        match_id=match.match_id,
        home_team=match.home_team,
        away_team=match.away_team,
        reg_home_goals=reg_home,
        reg_away_goals=reg_away,
        result=result_letter(reg_home, reg_away),
        home_goals=features["home_goals"],
        away_goals=features["away_goals"],
        sent_at=sent_at,
    )


def replay(
    data: StatsBombData,
    matches: list[Match],
    *,
    speed: float = 0.0,
    delay: float | None = None,
    max_events: int | None = None,
    stagger: float = 0.0,
    break_seconds: float = 0.0,
    topic: str = config.TOPIC_EVENTS,
    bootstrap: str | None = None,
    producer=None,
    client: str | None = None,
    end_markers: bool = True,
    progress: bool = True,
    raw_topic: str | None = None,
) -> ReplayStats:
    """Replay ``matches`` into ``topic``.

    Args:
        data: where the events are read from.
        matches: the matches to replay, interleaved on one clock.
        speed: N x real time (``2`` = twice as fast as the match); ``0`` = as fast as possible.
        delay: a fixed pause between events in seconds (overrides ``speed``).
        max_events: stop after this many events (all matches together).
        stagger: seconds between the kick-offs of consecutive matches.
        break_seconds: match-clock seconds between periods (half-time), scaled by ``speed``.
        topic: the topic to write to.
        bootstrap: Kafka bootstrap servers (default: the configured broker).
        producer: an existing producer (:class:`inplay.kafka.clients.ProducerClient`) to reuse.
        client: the Kafka client library for a new producer (``INPLAY_KAFKA_CLIENT``).
        end_markers: after each match's last event, send :func:`match_end_event`.
        progress: show a progress bar.
        raw_topic: where each match's ``raw_match`` and ``raw_result`` go (None: nowhere).
    """
    from inplay.kafka.clients import make_producer_client  # Kafka only when used

    if speed < 0:
        raise config.ConfigError(f"--speed must be >= 0 (0 = as fast as possible), got {speed}")
    loaded = [(m, data.events(m.match_id)) for m in matches]
    total = min(n for n in (sum(len(ev) for _, ev in loaded), max_events) if n is not None)
    own = producer is None
    producer = producer or make_producer_client(bootstrap, client)
    pace = _Pace(time.perf_counter(), speed, delay, max_events)
    bar = tqdm(total=total, desc="replay", unit="ev", disable=not config.show_progress(progress))
    try:
        schedule = matchday(loaded, stagger, break_seconds, end_markers)
        raw = raw_topic and _RawData(raw_topic, dict(loaded))
        knockouts = knockout_match_ids(data.matches())  # the season decides: all its matches
        sent, markers = _send(producer, topic, schedule, pace, bar, raw or None, knockouts)
    finally:
        bar.close()
        if own:
            producer.close()
    seconds = time.perf_counter() - pace.start
    n_matches = len({m.match_id for m, _ in loaded})
    return ReplayStats(sent, n_matches, seconds, topic, markers=markers)


@dataclass
class _Pace:
    """When to send: ``delay`` seconds apart, or at ``speed`` x the match clock, or at once."""

    start: float
    speed: float
    delay: float | None
    max_events: int | None = None  # then stop

    def wait(self, t: float, sent: int) -> None:
        """Sleep until the event at matchday second ``t`` is due (``sent`` events so far)."""
        if self.delay is not None and self.delay > 0:
            if sent:
                time.sleep(self.delay)
        elif self.speed > 0:
            wait = self.start + t / self.speed - time.perf_counter()
            if wait > 0:
                time.sleep(wait)


@dataclass
class _RawData:
    """The raw-data topic and the matches' events (for their results)."""

    topic: str
    events: dict[Match, list[dict]]
    started: set[int] = field(default_factory=set)

    def send(self, producer, match: Match, event: dict) -> None:
        """Send the match's metadata before its first event, its result after its end."""
        key = str(match.match_id).encode()
        if match.match_id not in self.started:
            self.started.add(match.match_id)
            producer.send(
                self.topic, key=key, value=orjson.dumps(raw_match_message(match, time.time()))
            )
        if event.get("inplay_synthetic"):
            message = raw_result_message(match, self.events[match], time.time())
            producer.send(self.topic, key=key, value=orjson.dumps(message))


def _send(
    producer,
    topic: str,
    schedule,
    pace: _Pace,
    bar,
    raw: _RawData | None = None,
    knockouts: set[int] | None = None,
):
    """Send the schedule's events and end markers; returns (events, markers) sent.

    ``knockouts``: the knockout match ids (None: each match's listed stage decides).
    """
    sent = markers = 0
    for t, match, event in schedule:
        if pace.max_events is not None and sent >= pace.max_events:
            break
        pace.wait(t, sent)
        knockout = None if knockouts is None else match.match_id in knockouts
        key, value = encode_event(event, match, knockout=knockout)
        if raw is not None and match.match_id not in raw.started:
            raw.send(producer, match, event)
        producer.send(topic, key=key, value=value)
        if event.get("inplay_synthetic"):
            if raw is not None:
                raw.send(producer, match, event)
            markers += 1
            continue
        sent += 1
        if sent % 1000 == 0:
            bar.update(1000)
    producer.flush()
    bar.update(sent - bar.n)
    return sent, markers

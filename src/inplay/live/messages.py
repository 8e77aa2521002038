"""The four message kinds of the live path: their fields, their types and their JSON Schemas.

* ``prediction_request`` on ``ml-pipeline-prediction-requests``: the state the prediction was
  made from (the 11 fields of the replaced system, :data:`inplay.config.PREDICTION_REQUEST_FIELDS`,
  plus ids and extras: :data:`inplay.features.FEATURE_COLUMNS`) and the team names;
* ``prediction_result`` on ``ml-pipeline-prediction-results``: home/draw/away probabilities of
  one ``(match_id, event_index)`` with the scoreboard they were made at;
* ``stats`` (``kind: "stats"``) on ``ml-pipeline-monitoring``: a worker's statistics;
* ``quarantine`` (``kind: "quarantine"``) on ``ml-pipeline-monitoring``: a message the scorer
  could not use, with its reason and original bytes (a bounded copy: :func:`quarantine_message`).

This module is the one definition of each: the scorer builds its messages with the functions
below, the readers (dashboard feed, monitor, pipeline, benchmarks) decode them with
:func:`decode`, and ``docs/schemas/<kind>.schema.json`` is generated from :data:`KINDS`::

    python -m inplay.live.messages --write docs/schemas
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import math
import sys
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from inplay import config
from inplay.features import FEATURE_COLUMNS
from inplay.live.kinds import SCHEMA_DIALECT, Field, Kind, _f
from inplay.live.parse import max_event_bytes
from inplay.mlops.messages import MLOPS_KINDS

# The counters of a worker's ``kind: "stats"`` message (live.stats.ScoreStats keeps them).
STATS_COUNTS = (
    "consumed",
    "scored",
    "duplicates",
    "late",
    "ignored",
    "ended",
    "quarantined",
    "rebuilt",
    "rebalances",
    "commit_failures",
    "publish_retries",
)

__all__ = [
    "Field",
    "Kind",
    "KINDS",
    "REQUEST",
    "RESULT",
    "RESULT_MARKETS",
    "RESULT_EXTRAS",
    "STATS",
    "QUARANTINE",
    "PREDICTION_KEY",
    "decode",
    "schema",
    "write_schemas",
    "validate",
    "request_message",
    "result_message",
    "RequestColumns",
    "rounded_probabilities",
    "rounded_probability_rows",
    "round_like_builtin",
    "latency_since",
    "latencies_since",
    "result_messages",
    "event_type",
    "quarantine_message",
    "quarantine_key",
    "QUARANTINE_KEY_BYTES",
    "QUARANTINE_REASON_CHARS",
]


#: A prediction is identified by these fields (delivery is at-least-once: drop repeats by them).
PREDICTION_KEY: tuple[str, str] = ("match_id", "event_index")

_PERCENTILES = {
    "type": "object",
    "properties": {q: {"type": ["number", "null"]} for q in ("p50", "p95", "p99")},
    "required": ["p50", "p95", "p99"],
}


_FEATURE_TYPES = {
    "clock": "number",
    "elapsed_seconds": "number",
    "home_possession": "number",
    "away_possession": "number",
    "home_xg": "number",
    "away_xg": "number",
    "home_np_xg": "number",
    "away_np_xg": "number",
}

REQUEST = Kind(
    "prediction_request",
    config.TOPIC_REQUESTS,
    "The match state a prediction was made from: the 11 fields of the replaced system plus "
    "ids, extras, the team names, whether the venue is neutral and whether the match is a "
    "knockout match (it cannot end drawn).",
    (
        *(_f(c, _FEATURE_TYPES.get(c, "integer")) for c in FEATURE_COLUMNS),
        _f("home_team", "string"),
        _f("away_team", "string"),
        _f("neutral", "boolean"),
        _f("knockout", "boolean"),
    ),
)

#: The goal markets of a result (:data:`inplay.models.markets.MARKET_COLUMNS`, in order).
RESULT_MARKETS: tuple[str, ...] = (
    "p_over_1_5",
    "p_over_2_5",
    "p_over_3_5",
    "p_btts",
    "p_next_home",
    "p_next_none",
    "p_next_away",
    "exp_home_goals",
    "exp_away_goals",
)

#: The fields a result adds to the 1X2: P(advance) of each side, then the goal markets.
RESULT_EXTRAS: tuple[str, ...] = ("p_advance_home", "p_advance_away", *RESULT_MARKETS)

_UNIT = {"minimum": 0, "maximum": 1}

RESULT = Kind(
    "prediction_result",
    config.TOPIC_RESULTS,
    "Home/draw/away probabilities of one (match_id, event_index), rounded to 6 decimals with "
    "p_away taking the remainder (the three sum to 1); in a knockout match the probability "
    "that each side advances (extra time and shoot-out included; null otherwise); the "
    "regulation goal markets (null when the model has no goal rates). A shoot-out kick's "
    "result keeps the decided regulation 1X2.",
    (
        _f("match_id", "integer"),
        _f("event_index", "integer"),
        _f("event_type", "string", nullable=True),
        _f("minute", "integer"),
        _f("period", "integer"),
        _f("clock", "number"),
        _f("elapsed_seconds", "number"),
        _f("home_team", "string"),
        _f("away_team", "string"),
        _f("home_goals", "integer"),
        _f("away_goals", "integer"),
        _f("home_red_cards", "integer"),
        _f("away_red_cards", "integer"),
        _f("home_xg", "number"),
        _f("away_xg", "number"),
        _f("p_home", "number", minimum=0, maximum=1),
        _f("p_draw", "number", minimum=0, maximum=1),
        _f("p_away", "number", minimum=0, maximum=1),
        *(_f(m, "number", nullable=True, **_UNIT) for m in RESULT_EXTRAS[:9]),
        *(_f(m, "number", nullable=True, minimum=0) for m in RESULT_MARKETS[7:]),
        _f("model_version", "string"),
        _f("latency_ms", "number", nullable=True),
        _f("processing_ms", "number"),
        _f("scored_at", "number"),
    ),
)

STATS = Kind(
    "stats",
    config.TOPIC_MONITORING,
    "A scoring worker's statistics, cumulative since it started and over the last interval.",
    (
        _f("kind", "string", const="stats"),
        _f("worker", "string"),
        _f("model_version", "string"),
        *(_f(n, "integer") for n in STATS_COUNTS),
        _f("reasons", "object", additionalProperties={"type": "integer"}),
        _f("matches", "integer"),
        _f("seconds", "number"),
        _f("active_seconds", "number"),
        _f("events_per_second", "number", nullable=True),
        _f("latency_ms", "object", **_PERCENTILES),
        _f("processing_ms", "object", **_PERCENTILES),
        _f("interval_seconds", "number"),
        _f("interval_events_per_second", "number"),
        _f("lag", "object", additionalProperties={"type": "integer"}),
        _f("live_matches", "integer"),
        _f("partitions", "array", items={"type": "integer"}),
        _f("client", "string"),
        _f("at", "number"),
    ),
)

QUARANTINE = Kind(
    "quarantine",
    config.TOPIC_MONITORING,
    "A message the scorer could not use: why, where it was, and its original bytes (the "
    "first tenth of INPLAY_MAX_EVENT_BYTES of them at most: value_truncated says so; "
    "value_bytes and value_sha256 are those of the whole value).",
    (
        _f("kind", "string", const="quarantine"),
        _f("reason", "string"),
        _f("topic", "string"),
        _f("partition", "integer"),
        _f("offset", "integer"),
        _f("key", "string", nullable=True),
        _f("value", "string"),
        _f("value_base64", "string"),
        _f("value_bytes", "integer", minimum=0),
        _f("value_sha256", "string"),
        _f("value_truncated", "boolean"),
        _f("worker", "string"),
        _f("quarantined_at", "number"),
    ),
)

#: Every message kind by name.
KINDS: dict[str, Kind] = {k.name: k for k in (REQUEST, RESULT, STATS, QUARANTINE, *MLOPS_KINDS)}


# -- reading ---------------------------------------------------------------------------------
def decode(value: bytes | None) -> dict | None:
    """A message's JSON object, or None when the value is not JSON or not an object."""
    if value is None:
        return None
    try:
        body = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    return body if isinstance(body, dict) else None


# -- schemas ---------------------------------------------------------------------------------
def schema(kind: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a message kind; every field is required.

    Raises:
        KeyError: no such kind.
    """
    k = KINDS[kind]
    return {
        "$schema": SCHEMA_DIALECT,
        "title": k.name,
        "description": f"{k.description} Topic: {k.topic}.",
        "type": "object",
        "properties": {f.name: f.schema() for f in k.fields},
        "required": list(k.names),
    }


def schema_text(kind: str) -> str:
    """The schema as it is written to ``docs/schemas/<kind>.schema.json``."""
    return json.dumps(schema(kind), indent=2) + "\n"


def write_schemas(directory: Path) -> list[Path]:
    """Write ``<kind>.schema.json`` for every kind into ``directory``; returns the paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for kind in KINDS:
        path = directory / f"{kind}.schema.json"
        path.write_text(schema_text(kind))
        paths.append(path)
    return paths


@cache
def _validator(kind: str):
    import jsonschema

    cls = jsonschema.validators.validator_for(schema(kind))
    return cls(schema(kind))


def validate(kind: str, message: Mapping[str, Any] | bytes) -> dict:
    """Check a message (decoded or its bytes) against its kind's schema; returns it decoded.

    Raises:
        jsonschema.ValidationError: the message does not fit the schema (or is not JSON).
        KeyError: no such kind.
    """
    import jsonschema

    body = decode(message) if isinstance(message, bytes | bytearray) else dict(message)
    if body is None:
        raise jsonschema.ValidationError(f"{kind} message is not a JSON object")
    _validator(kind).validate(body)
    return body


# -- building (the scorer) -------------------------------------------------------------------
def request_message(features: Mapping[str, Any], event: Mapping[str, Any]) -> dict[str, Any]:
    """The prediction request: the features the model saw, the teams, venue and knockout flag."""
    request = dict(features)
    request["home_team"] = event["home_team"]
    request["away_team"] = event["away_team"]
    request["neutral"] = bool(event.get("neutral", False))
    request["knockout"] = bool(event.get("knockout", False))
    return request


_DTYPES = {"integer": np.int64, "number": np.float64, "boolean": np.bool_, "string": object}


class RequestColumns(Mapping[str, np.ndarray]):
    """A batch of requests as columns: field name -> 1-D numpy array, in :data:`REQUEST` order.

    Integers are ``int64``, numbers ``float64``, the two flags ``bool`` and the team names
    ``object`` arrays. A column is converted when first read (a model reads only some).

    Args:
        requests: Requests of :func:`request_message` (its fields, in its order).
    """

    def __init__(self, requests: list[Mapping[str, Any]]) -> None:
        values = zip(*(request.values() for request in requests), strict=True)
        self._values = dict(zip(REQUEST.names, values, strict=True)) if requests else {}
        self._arrays: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        array = self._arrays.get(name)
        if array is None:
            array = np.array(self._values[name], dtype=_DTYPES[_REQUEST_TYPES[name]])
            self._arrays[name] = array
        return array

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


_REQUEST_TYPES = {f.name: f.type for f in REQUEST.fields}


def rounded_probabilities(row) -> tuple[float, float, float]:
    """Home, draw, away rounded to 6 decimals, ``p_away`` taking the remainder (sum 1)."""
    p_home, p_draw = round(float(row[0]), 6), round(float(row[1]), 6)
    return p_home, p_draw, max(0.0, round(1.0 - p_home - p_draw, 6))


def rounded_probability_rows(probs: np.ndarray) -> list[tuple[float, float, float]]:
    """:func:`rounded_probabilities` of every row of an ``(n, 3)`` array, vectorised."""
    probs = np.asarray(probs, dtype=float).reshape(-1, 3)
    p_home = round_like_builtin(probs[:, 0], 6)
    p_draw = round_like_builtin(probs[:, 1], 6)
    rest = round_like_builtin(1.0 - p_home - p_draw, 6)
    p_away = np.where(rest > 0.0, rest, 0.0)  # max(0.0, rest), -0.0 included
    return list(zip(p_home.tolist(), p_draw.tolist(), p_away.tolist(), strict=True))


def round_like_builtin(x: np.ndarray, digits: int) -> np.ndarray:
    """``round(v, digits)`` of each value, as Python's ``round`` gives it, bit for bit.

    ``round`` returns the double nearest to the correctly rounded decimal (halves to even).
    When ``y = x * 10**digits`` is below 2**30 in size, its floating error (< 2**-23) cannot
    move it across a half unless it lies within 1e-6 of one, so ``rint(y)`` is that decimal's
    numerator and dividing by ``10**digits`` (both exact) gives the nearest double. Values
    near a half, large or not finite go through ``round`` itself.
    """
    x = np.asarray(x, dtype=float)
    scale = 10.0**digits
    with np.errstate(invalid="ignore", over="ignore"):
        y = x * scale
        out = np.rint(y) / scale
        slow = ~(np.abs(y) < 2.0**30) | (np.abs(y - np.floor(y) - 0.5) < 1e-6)
    for i in np.flatnonzero(slow):
        out[i] = round(float(x[i]), digits)
    return out


def latency_since(sent_at: Any, now: float) -> float | None:
    """Milliseconds from ``sent_at`` to ``now``, rounded to 3 decimals.

    None unless ``sent_at`` is a plausible send time: a positive finite number at most a
    minute ahead of this clock.
    """
    if not isinstance(sent_at, int | float) or isinstance(sent_at, bool) or sent_at <= 0:
        return None
    since_sent = (now - sent_at) * 1000.0
    if math.isfinite(since_sent) and since_sent > -60_000.0:  # clock skew allowance
        return round(since_sent, 3)
    return None


def latencies_since(sent_at: list[Any], now: float) -> list[float | None]:
    """:func:`latency_since` of each value (the same results), vectorised for a batch."""
    sent = np.array([v if type(v) is float else np.nan for v in sent_at], dtype=float)
    with np.errstate(invalid="ignore"):
        since = (now - sent) * 1000.0
        ok = (sent > 0) & np.isfinite(since) & (since > -60_000.0)
    rounded = round_like_builtin(np.where(ok, since, 0.0), 3).tolist()
    out: list[float | None] = [
        r if good else None for r, good in zip(rounded, ok.tolist(), strict=True)
    ]
    if not ok.all():  # ints, and what is no number at all, go the scalar way
        for i in np.flatnonzero(~ok).tolist():
            out[i] = latency_since(sent_at[i], now)
    return out


def result_message(
    features: Mapping[str, Any],
    event: Mapping[str, Any],
    probabilities: tuple[float, float, float],
    *,
    model_version: str,
    latency_ms: float | None,
    processing_ms: float,
    scored_at: float,
) -> dict[str, Any]:
    """The prediction result (fields in :data:`RESULT` order).

    Args:
        features: The state's features (or its request, which holds them).
        event: The event scored.
        probabilities: Home, draw, away (:func:`rounded_probabilities`).
        model_version: The model's version.
        latency_ms: See :func:`latency_since`.
        processing_ms: Milliseconds from the poll to the prediction.
        scored_at: When the prediction was made (epoch seconds).
    """
    teams = {"home_team": event["home_team"], "away_team": event["away_team"]}
    return result_messages(
        [{**features, **teams}],
        [event_type(event)],
        [probabilities],
        [latency_ms],
        model_version=model_version,
        processing_ms=processing_ms,
        scored_at=scored_at,
    )[0]


def event_type(event: Mapping[str, Any]) -> str | None:
    """The event's ``type.name`` (None when absent)."""
    return (event.get("type") or {}).get("name")


def result_messages(
    requests: list[Mapping[str, Any]],
    event_types: list[str | None],
    probabilities: list[tuple[float, float, float]],
    latencies_ms: list[float | None],
    *,
    model_version: str,
    processing_ms: float,
    scored_at: float,
    extras: list[tuple] | None = None,
) -> list[dict[str, Any]]:
    """:func:`result_message` of each prediction of a batch (one call per batch).

    Args:
        requests: The requests scored (:func:`request_message`: features and team names).
        event_types: Each scored event's :func:`event_type`.
        probabilities: Home, draw, away of each (:func:`rounded_probability_rows`).
        latencies_ms: Each one's :func:`latency_since`.
        model_version: The model's version.
        processing_ms: Milliseconds from the poll to the predictions.
        scored_at: When the predictions were made (epoch seconds).
        extras: Each one's :data:`RESULT_EXTRAS` values, in order (None: all null).
    """
    extras = extras or [_NO_EXTRAS] * len(requests)
    return _results(
        requests,
        event_types,
        probabilities,
        latencies_ms,
        extras,
        model_version,
        processing_ms,
        scored_at,
    )


def _results(
    requests,
    event_types,
    probabilities,
    latencies_ms,
    extras,
    model_version: str,
    processing_ms: float,
    scored_at: float,
) -> list[dict[str, Any]]:
    """:func:`result_messages` once every row has its extras."""
    # A literal in RESULT order (tests check it): no reordering per message.
    return [
        {
            "match_id": f["match_id"],
            "event_index": f["event_index"],
            "event_type": type_name,
            "minute": f["current_minute"],
            "period": f["period"],
            "clock": f["clock"],
            "elapsed_seconds": f["elapsed_seconds"],
            "home_team": f["home_team"],
            "away_team": f["away_team"],
            "home_goals": f["home_goals"],
            "away_goals": f["away_goals"],
            "home_red_cards": f["home_red_cards"],
            "away_red_cards": f["away_red_cards"],
            "home_xg": f["home_xg"],
            "away_xg": f["away_xg"],
            "p_home": p_home,
            "p_draw": p_draw,
            "p_away": p_away,
            "p_advance_home": x[0],
            "p_advance_away": x[1],
            "p_over_1_5": x[2],
            "p_over_2_5": x[3],
            "p_over_3_5": x[4],
            "p_btts": x[5],
            "p_next_home": x[6],
            "p_next_none": x[7],
            "p_next_away": x[8],
            "exp_home_goals": x[9],
            "exp_away_goals": x[10],
            "model_version": model_version,
            "latency_ms": latency,
            "processing_ms": processing_ms,
            "scored_at": scored_at,
        }
        for f, type_name, (p_home, p_draw, p_away), latency, x in zip(
            requests, event_types, probabilities, latencies_ms, extras, strict=True
        )
    ]


_NO_EXTRAS = (None,) * len(RESULT_EXTRAS)


#: A quarantine message keeps the first this many bytes of the record's key.
QUARANTINE_KEY_BYTES = 256
#: ... and the first this many characters of the reason.
QUARANTINE_REASON_CHARS = 1024


def quarantine_message(record, reason: str, worker: str, at: float) -> dict[str, Any]:
    """The quarantine message of a consumer record that could not be used.

    It must fit on the monitoring topic whatever the record held, so it keeps the first
    ``INPLAY_MAX_EVENT_BYTES // 10`` bytes of the value (``value_truncated`` tells when that
    is not all of it; ``value_bytes`` and ``value_sha256`` are the whole value's size and
    SHA-256), the first :data:`QUARANTINE_KEY_BYTES` of the key and the first
    :data:`QUARANTINE_REASON_CHARS` of the reason. Worst case, every byte of the copy is a
    control character (6 bytes of JSON escape in ``value``) and 4/3 of a byte in
    ``value_base64``: 7.33 tenths of the limit, which leaves over 17 KB for the rest at the
    smallest limit (64 KiB). Nothing else of the value is copied.
    """
    value = record.value if isinstance(record.value, bytes | bytearray | memoryview) else b""
    view = memoryview(value).cast("B")
    raw = bytes(view[: max_event_bytes() // 10])
    key = bytes(record.key[:QUARANTINE_KEY_BYTES]) if record.key else None
    return {
        "kind": "quarantine",
        "reason": reason[:QUARANTINE_REASON_CHARS],
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "key": key.decode("utf-8", "replace") if key else None,
        "value": raw.decode("utf-8", "replace"),
        "value_base64": base64.b64encode(raw).decode("ascii"),
        "value_bytes": view.nbytes,
        "value_sha256": hashlib.sha256(view).hexdigest(),
        "value_truncated": len(raw) < view.nbytes,
        "worker": worker,
        "quarantined_at": at,
    }


def quarantine_key(record) -> bytes:
    """The quarantine message's key: the record's, or ``quarantine``.

    ``quarantine`` when the record has no key, or one over :data:`QUARANTINE_KEY_BYTES` (a
    hostile key is not echoed whole).
    """
    key = record.key
    return bytes(key) if key and len(key) <= QUARANTINE_KEY_BYTES else b"quarantine"


def main(argv: list[str] | None = None) -> int:
    """``python -m inplay.live.messages --write DIR``: write the JSON Schemas."""
    parser = argparse.ArgumentParser(description="Write the live path's message JSON Schemas.")
    parser.add_argument("--write", metavar="DIR", required=True, help="e.g. docs/schemas")
    args = parser.parse_args(argv)
    for path in write_schemas(Path(args.write)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

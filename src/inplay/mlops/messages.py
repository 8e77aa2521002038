"""The MLOps loop's message kinds: match data, labelled snapshots, live quality, model changes.

* ``raw_match`` and ``raw_result`` on ``ml-pipeline-raw-data`` (key: match id): a match's
  metadata before its first event, and its result after its last one (the replay sends both);
* ``match_snapshots`` on ``ml-pipeline-processed-data`` (key: match id): the labelled minute
  snapshots of an ended match, built by the live quality worker with the training code
  (:class:`inplay.features.MinuteTracker`);
* on ``ml-pipeline-monitoring``: ``match_quality`` (one match's log loss, Brier and RPS and the
  rolling figures), ``drift`` (a rolling figure outside its band), ``model_promoted`` and
  ``model_rejected`` (a retrain's decision), ``model_swapped`` and ``model_refused`` (a worker
  took, or refused, a new champion).

:data:`inplay.live.messages.KINDS` lists these too, so ``docs/schemas/`` covers every kind.
"""

from __future__ import annotations

from typing import Any

from inplay import config
from inplay.live.kinds import Field, Kind, _f, kind_field

__all__ = [
    "RAW_MATCH",
    "RAW_RESULT",
    "MATCH_SNAPSHOTS",
    "MATCH_QUALITY",
    "DRIFT",
    "MODEL_PROMOTED",
    "MODEL_REJECTED",
    "MODEL_SWAPPED",
    "MODEL_REFUSED",
    "MLOPS_KINDS",
    "QUALITY_KINDS",
    "MODEL_KINDS",
]

_RESULT = {"enum": ["H", "D", "A"]}
_FIGURES = {
    "type": "object",
    "properties": {
        "n_matches": {"type": "integer"},
        "log_loss": {"type": ["number", "null"]},
        "brier": {"type": ["number", "null"]},
        "rps": {"type": ["number", "null"]},
        "calibration": {"type": "object", "additionalProperties": {"type": ["number", "null"]}},
    },
    "required": ["n_matches", "log_loss", "brier", "rps", "calibration"],
}


def _teams() -> tuple[Field, ...]:
    return (_f("home_team", "string"), _f("away_team", "string"))


RAW_MATCH = Kind(
    "raw_match",
    config.TOPIC_RAW,
    "A match's metadata, sent by the replay before the match's first event.",
    (
        kind_field("raw_match"),
        _f("match_id", "integer"),
        _f("competition_id", "integer"),
        _f("season_id", "integer"),
        _f("competition", "string"),
        _f("season", "string"),
        _f("competition_stage", "string", nullable=True),
        _f("match_date", "string"),
        _f("kick_off", "string", nullable=True),
        *_teams(),
        _f("neutral", "boolean"),
        _f("sent_at", "number"),
    ),
)

RAW_RESULT = Kind(
    "raw_result",
    config.TOPIC_RAW,
    "A match's result, sent by the replay after the match's last event: the regulation "
    "(90-minute) score and result letter, and the score after extra time, counted from the "
    "events by the feature code.",
    (
        kind_field("raw_result"),
        _f("match_id", "integer"),
        *_teams(),
        _f("reg_home_goals", "integer"),
        _f("reg_away_goals", "integer"),
        _f("result", "string", **_RESULT),
        _f("home_goals", "integer"),
        _f("away_goals", "integer"),
        _f("sent_at", "number"),
    ),
)

MATCH_SNAPSHOTS = Kind(
    "match_snapshots",
    config.TOPIC_PROCESSED,
    "The labelled minute snapshots (regulation minutes 0..90) of an ended match, built from "
    "its live events by the training feature code; each row is a training row.",
    (
        kind_field("match_snapshots"),
        _f("match_id", "integer"),
        _f("competition_id", "integer", nullable=True),
        _f("season_id", "integer", nullable=True),
        *_teams(),
        _f("result", "string", **_RESULT),
        _f("rows", "array", items={"type": "object"}),
        _f("worker", "string"),
        _f("labelled_at", "number"),
    ),
)

MATCH_QUALITY = Kind(
    "match_quality",
    config.TOPIC_MONITORING,
    "One ended match's log loss, Brier and RPS over its minute snapshots under the live "
    "model, and the rolling figures over the latest matches.",
    (
        kind_field("match_quality"),
        _f("match_id", "integer"),
        *_teams(),
        _f("result", "string", **_RESULT),
        _f("model_version", "string"),
        _f("n_rows", "integer"),
        _f("log_loss", "number"),
        _f("brier", "number"),
        _f("rps", "number"),
        _f("rolling", "object", **_FIGURES),
        _f("worker", "string"),
        _f("at", "number"),
    ),
)

DRIFT = Kind(
    "drift",
    config.TOPIC_MONITORING,
    "A rolling live-quality figure left the band expected from the model's cross-validation.",
    (
        kind_field("drift"),
        _f("model_version", "string"),
        _f("statistic", "string"),
        _f("value", "number"),
        _f("low", "number"),
        _f("high", "number"),
        _f("window", "integer"),
        _f("n_matches", "integer"),
        _f("match_id", "integer"),
        _f("worker", "string"),
        _f("at", "number"),
    ),
)


def _decision(name: str, description: str) -> Kind:
    return Kind(
        name,
        config.TOPIC_MONITORING,
        description,
        (
            kind_field(name),
            _f("model_name", "string"),
            _f("champion_version", "integer", nullable=True),
            _f("challenger_version", "integer", nullable=True),
            _f("test", "string"),
            _f("metric", "string"),
            _f("n_matches", "integer"),
            _f("champion_log_loss", "number", nullable=True),
            _f("challenger_log_loss", "number", nullable=True),
            _f("mean_diff", "number", nullable=True),
            _f("se", "number", nullable=True),
            _f("p_value", "number", nullable=True),
            _f("alpha", "number"),
            _f("reason", "string"),
            _f("run_id", "string", nullable=True),
            _f("at", "number"),
        ),
    )


MODEL_PROMOTED = _decision(
    "model_promoted", "A retrain's challenger beat the champion and is the new champion."
)
MODEL_REJECTED = _decision(
    "model_rejected", "A retrain's challenger was not better than the champion; nothing changed."
)

MODEL_SWAPPED = Kind(
    "model_swapped",
    config.TOPIC_MONITORING,
    "A running worker switched to a newly promoted champion between two batches.",
    (
        kind_field("model_swapped"),
        _f("worker", "string"),
        _f("old_version", "string"),
        _f("new_version", "string"),
        _f("registry_version", "integer"),
        _f("at", "number"),
    ),
)

MODEL_REFUSED = Kind(
    "model_refused",
    config.TOPIC_MONITORING,
    "A running worker refused a promoted champion (it failed to load or to score a smoke "
    "batch) and keeps its current model.",
    (
        kind_field("model_refused"),
        _f("worker", "string"),
        _f("registry_version", "integer", nullable=True),
        _f("kept_version", "string"),
        _f("reason", "string"),
        _f("at", "number"),
    ),
)

MLOPS_KINDS: tuple[Kind, ...] = (
    RAW_MATCH,
    RAW_RESULT,
    MATCH_SNAPSHOTS,
    MATCH_QUALITY,
    DRIFT,
    MODEL_PROMOTED,
    MODEL_REJECTED,
    MODEL_SWAPPED,
    MODEL_REFUSED,
)
#: Monitoring kinds about live model quality; and about the model itself.
QUALITY_KINDS = ("match_quality", "drift")
MODEL_KINDS = ("model_promoted", "model_rejected", "model_swapped", "model_refused")


def body(kind: Kind, **values: Any) -> dict[str, Any]:
    """A message of ``kind`` with its fields in declared order.

    Raises:
        KeyError: a field of the kind is missing (``kind`` itself is filled in).
    """
    values.setdefault("kind", kind.name)
    return {name: values[name] for name in kind.names}

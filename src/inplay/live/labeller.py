"""The pure part of the live quality worker: event records in, labelled snapshots and quality out.

:class:`Labeller` follows each match of the events topic with a
:class:`~inplay.features.MinuteTracker` (the code that builds the training rows). When a match's
regulation is over (its first extra-time event, or the replay's end marker) its 91 minute rows
are labelled with the regulation result and

* published to ``ml-pipeline-processed-data`` (``kind: "match_snapshots"``, key = match id):
  training rows for ``inplay retrain``;
* scored with the live model: the match's log loss, Brier and RPS go to
  ``ml-pipeline-monitoring`` (``kind: "match_quality"``) with the rolling figures over the
  latest matches, and a rolling figure leaving the band expected from the model's
  cross-validation raises ``kind: "drift"`` (once, when it leaves).

A match is followed from its first event (StatsBomb ``index`` 1): a match first seen later
(after a restart, its start was before the committed offset) is skipped. Records that are not
an event of a match (the scorer quarantines those) are counted and skipped.
:class:`inplay.live.quality.QualityWorker` adds the consumer group.
"""

from __future__ import annotations

import socket
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import orjson
import pandas as pd

from inplay import config
from inplay.features import EventError, MinuteTracker
from inplay.features.rules import result_letter
from inplay.live.batch import Message
from inplay.live.parse import decode_event, match_id_of, teams_of
from inplay.mlops.champion import follow_champion
from inplay.mlops.messages import DRIFT, MATCH_QUALITY, MATCH_SNAPSHOTS, body
from inplay.mlops.quality import RollingQuality, check_drift, match_quality

__all__ = ["Labeller", "label_rows", "predict_rows"]

ENDED_MEMORY = 10_000  # ended matches remembered (their late events are skipped)


def label_rows(
    rows: list[dict], competition_id, season_id, score: tuple[int, int]
) -> tuple[list[dict], str]:
    """Training rows of a match's minute rows: competition, season and result added.

    As offline (:func:`inplay.data.dataset.build_match_rows`): the result and the
    ``reg_final_*`` columns come from ``score``, the regulation score after every event of
    periods 1-2 (the minute-90 row misses goals in stoppage time).
    """
    result = result_letter(*score)
    final = {
        "competition_id": competition_id,
        "season_id": season_id,
        "reg_final_home_goals": score[0],
        "reg_final_away_goals": score[1],
        "result": result,
    }
    return [{**row, **final} for row in rows], result


def predict_rows(model, rows: list[dict], home_team: str, away_team: str, neutral: bool):
    """The model's probabilities of a match's rows, given what a live request carries."""
    frame = pd.DataFrame(rows)
    frame["home_team"], frame["away_team"], frame["neutral"] = home_team, away_team, neutral
    return np.asarray(model.predict_proba(frame), dtype=float)


@dataclass
class _Followed:
    """A match being followed: its tracker, where its first event was, what it is."""

    tracker: MinuteTracker
    tp: tuple[str, int]
    first_offset: int
    teams: tuple[str, str]
    neutral: bool
    competition_id: int | None
    season_id: int | None
    rows: list[dict] = field(default_factory=list)


@dataclass
class LabellerCounts:
    """What a labeller saw."""

    consumed: int = 0
    labelled: int = 0
    skipped_partial: int = 0
    skipped_bad: int = 0
    skipped_ended: int = 0
    drift: int = 0


class Labeller:
    """Labels ended matches' minute snapshots and scores them with the live model.

    Args:
        source: The live model's source (``current`` is a
            :class:`~inplay.mlops.champion.LiveModel`; ``take()`` gives a new one).
        processed_topic, monitoring_topic: where the messages go.
        window: matches in the rolling figures (``INPLAY_QUALITY_WINDOW``).
    """

    def __init__(
        self,
        source,
        *,
        processed_topic: str = config.TOPIC_PROCESSED,
        monitoring_topic: str = config.TOPIC_MONITORING,
        window: int | None = None,
    ) -> None:
        self.source = source
        self.processed_topic = processed_topic
        self.monitoring_topic = monitoring_topic
        self.window = window or config.env_int("INPLAY_QUALITY_WINDOW", 50)
        self.rolling = RollingQuality(self.window)
        self.worker_id = f"{socket.gethostname()}-{id(self):x}"
        self.followed: dict[int, _Followed] = {}
        self.ended: OrderedDict[int, None] = OrderedDict()
        self.counts = LabellerCounts()
        self._out_of_band: set[str] = set()

    @property
    def live(self):
        """The live model (:class:`~inplay.mlops.champion.LiveModel`)."""
        return self.source.current

    @property
    def model_version(self) -> str:
        """The live model's version."""
        return self.live.version

    def use_model(self, model) -> None:
        """A new champion (the source has it already): the rolling figures start again."""
        self.rolling = RollingQuality(self.window)
        self._out_of_band = set()

    def switch_model(self) -> list[Message]:
        """Between batches: take a new champion, if any; the messages that say so."""
        return follow_champion(self.source, self)

    def process(self, records: list) -> list[Message]:
        """Apply a batch of events-topic records; the messages to publish."""
        out: list[Message] = []
        for record in records:
            self.counts.consumed += 1
            try:
                out += self._apply(record)
            except EventError:
                self.counts.skipped_bad += 1
        return out

    def _apply(self, record) -> list[Message]:
        event = decode_event(record.value)
        match_id = match_id_of(event)
        if match_id in self.ended:
            self.counts.skipped_ended += 1
            return []
        followed = self.followed.get(match_id) or self._follow(match_id, event, record)
        if followed is None:
            return []
        followed.rows += followed.tracker.push(event)
        if not followed.tracker.regulation_over:
            return []
        followed.rows += followed.tracker.finish()
        return self._end(match_id, followed)

    def _follow(self, match_id: int, event: dict, record) -> _Followed | None:
        if event.get("index") != 1:
            self.counts.skipped_partial += 1
            return None
        home, away = teams_of(match_id, event, known=False)
        followed = _Followed(
            MinuteTracker(match_id, home, away),
            (record.topic, record.partition),
            record.offset,
            (home, away),
            bool(event.get("neutral", False)),
            event.get("competition_id"),
            event.get("season_id"),
        )
        self.followed[match_id] = followed
        return followed

    def _end(self, match_id: int, followed: _Followed) -> list[Message]:
        del self.followed[match_id]
        self.ended[match_id] = None
        while len(self.ended) > ENDED_MEMORY:
            self.ended.popitem(last=False)
        rows, result = label_rows(
            followed.rows,
            followed.competition_id,
            followed.season_id,
            followed.tracker.state.regulation_score,
        )
        now, key = time.time(), str(match_id).encode()
        home, away = followed.teams
        snapshots = body(
            MATCH_SNAPSHOTS,
            match_id=match_id,
            competition_id=followed.competition_id,
            season_id=followed.season_id,
            home_team=home,
            away_team=away,
            result=result,
            rows=rows,
            worker=self.worker_id,
            labelled_at=now,
        )
        probs = predict_rows(self.live.model, rows, home, away, followed.neutral)
        quality = match_quality(probs, result)
        self.rolling.add(match_id, probs, result)
        rolling = self.rolling.figures()
        message = body(
            MATCH_QUALITY,
            match_id=match_id,
            home_team=home,
            away_team=away,
            result=result,
            model_version=self.live.version,
            **quality,
            rolling=rolling,
            worker=self.worker_id,
            at=now,
        )
        self.counts.labelled += 1
        out = [
            (self.processed_topic, key, orjson.dumps(snapshots)),
            (self.monitoring_topic, key, orjson.dumps(message)),
        ]
        return out + self._drift(match_id, rolling, now)

    def _drift(self, match_id: int, rolling: dict, now: float) -> list[Message]:
        """``drift`` messages for the statistics that just left their band."""
        band = self.live.drift_band
        if not band:
            return []
        outside = {d["statistic"]: d for d in check_drift(rolling, band)}
        new = [d for name, d in outside.items() if name not in self._out_of_band]
        self._out_of_band = set(outside)
        self.counts.drift += len(new)
        return [
            (
                self.monitoring_topic,
                b"drift",
                orjson.dumps(
                    body(
                        DRIFT,
                        model_version=self.live.version,
                        n_matches=rolling["n_matches"],
                        match_id=match_id,
                        worker=self.worker_id,
                        at=now,
                        **d,
                    )
                ),
            )
            for d in new
        ]

    def forget(self, partitions: list[tuple[str, int]]) -> None:
        """Drop the matches of partitions taken away (their new owner reads them again)."""
        gone = set(partitions)
        self.followed = {m: f for m, f in self.followed.items() if f.tp not in gone}

    def safe_offsets(self, handled: dict[tuple[str, int], int]) -> dict[tuple[str, int], int]:
        """What may be committed: per partition, the first offset of a match still followed.

        Args:
            handled: per partition, the offset after the last record handled.

        A restarted worker reads again from there and so sees every followed match whole.
        """
        offsets = dict(handled)
        for followed in self.followed.values():
            if followed.tp in offsets:
                offsets[followed.tp] = min(offsets[followed.tp], followed.first_offset)
        return offsets

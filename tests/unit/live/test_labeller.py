"""The live quality worker's pure part: labels, skipped partial matches, safe commits, swaps."""

from __future__ import annotations

import orjson
import pandas as pd
import pytest
from fixtures_statsbomb import write_league

from inplay.data.statsbomb import StatsBombData
from inplay.features import minute_snapshots
from inplay.kafka.clients import Record
from inplay.live import messages
from inplay.live.labeller import Labeller, label_rows
from inplay.live.replay import encode_event, matchday
from inplay.mlops.champion import ChampionSource, LiveModel
from inplay.models import make_model

HOME, AWAY = "Lions", "Tigers"


@pytest.fixture(scope="module")
def match_events(tmp_path_factory):
    data = StatsBombData(write_league(tmp_path_factory.mktemp("one"), [(HOME, AWAY)], 900, 3))
    return data.matches()[0], data.events(900)


def model_for(events, labels: str = "HDA"):
    rows = []
    for n, label in enumerate(labels):
        rows += [{**r, "result": label} for r in minute_snapshots(events, 900 + n, HOME, AWAY)]
    return make_model("scoreboard").fit(pd.DataFrame(rows))


def records(match, events, start_offset: int = 0) -> list[Record]:
    out = []
    for n, (_t, m, event) in enumerate(matchday([(match, events)], end_markers=True)):
        key, value = encode_event(event, m, sent_at=0.0)
        out.append(Record("events", 0, start_offset + n, key, value))
    return out


class Switching:
    """A source that hands over ``new`` at the first ``take`` (the worker's side only)."""

    def __init__(self, current: LiveModel, new: LiveModel) -> None:
        self.current, self._new = current, new

    def take(self):
        new, self._new = self._new, None
        if new is not None:
            self.current = new
        return new, []


def test_label_rows_use_the_regulation_score_with_stoppage_time():
    # Minute 90 says 1-2; a home goal at 90+3 made it 2-2: the label is a draw.
    rows = [{"reg_home_goals": 0, "reg_away_goals": 0}, {"reg_home_goals": 1, "reg_away_goals": 2}]
    labelled, result = label_rows(rows, 43, 106, (2, 2))
    assert result == "D"
    assert labelled[0] == {"reg_home_goals": 0, "reg_away_goals": 0, "competition_id": 43,
                           "season_id": 106, "reg_final_home_goals": 2,
                           "reg_final_away_goals": 2, "result": "D"}  # fmt: skip


def test_a_whole_match_is_labelled_once_and_its_commit_waits_for_its_end(match_events):
    match, events = match_events
    labeller = Labeller(ChampionSource(LiveModel(model_for(events)), follow=False), window=5)
    recs = records(match, events)
    half = len(recs) // 2
    assert labeller.process(recs[:half]) == []
    # Mid-match, the commit may not pass the match's first event.
    assert labeller.safe_offsets({("events", 0): half}) == {("events", 0): 0}
    out = labeller.process(recs[half:])
    kinds = [messages.decode(value)["kind"] for _, _, value in out]
    assert kinds == ["match_snapshots", "match_quality"]
    snapshots = messages.validate("match_snapshots", out[0][2])
    assert len(snapshots["rows"]) == 91 and snapshots["competition_id"] == match.competition_id
    assert labeller.safe_offsets({("events", 0): len(recs)}) == {("events", 0): len(recs)}
    assert labeller.process(recs[-1:]) == []  # after its end: skipped, not labelled again
    assert labeller.counts.skipped_ended == 1


def test_a_match_first_seen_without_its_start_is_skipped(match_events):
    match, events = match_events
    labeller = Labeller(ChampionSource(LiveModel(model_for(events)), follow=False))
    recs = records(match, events)
    assert labeller.process(recs[10:]) == []
    assert labeller.counts.skipped_partial == len(recs) - 10
    assert labeller.counts.labelled == 0


def test_a_new_champion_is_announced_and_starts_the_rolling_figures_again(match_events):
    match, events = match_events
    old, new = LiveModel(model_for(events)), LiveModel(model_for(events, "ADH"), 7)
    labeller = Labeller(Switching(old, new), window=5)
    labeller.rolling.add(1, [[0.5, 0.3, 0.2]], "H")
    out = labeller.switch_model()
    assert len(out) == 1 and len(labeller.rolling) == 0
    swapped = messages.validate("model_swapped", out[0][2])
    assert (swapped["old_version"], swapped["new_version"]) == (old.version, new.version)
    assert swapped["registry_version"] == 7
    quality = [
        orjson.loads(v) for _, _, v in labeller.process(records(match, events)) if b"quality" in v
    ]
    assert quality[0]["model_version"] == new.version

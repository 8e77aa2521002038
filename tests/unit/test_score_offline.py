"""pipeline.score_offline: the worker's code in-process gives the same results as the batch path."""

from __future__ import annotations

import pandas as pd
import pytest
from fixtures_statsbomb import long_match, make_match, write_open_data

from inplay import pipeline
from inplay.data.dataset import build_match_rows
from inplay.data.statsbomb import StatsBombData
from inplay.models import make_model, save_model


@pytest.fixture
def league(tmp_path, monkeypatch):
    teams = [(f"Home {i}", f"Away {i}") for i in range(6)]
    matches = [make_match(300 + i, *teams[i], competition_id=43) for i in range(6)]
    events = {300 + i: long_match(*teams[i], seed=i) for i in range(6)}
    root = write_open_data(tmp_path / "opendata", matches, events)
    monkeypatch.setenv("INPLAY_DATA_DIR", str(root))
    data = StatsBombData(root)
    rows = [
        r for m in data.matches() for r in build_match_rows(m, data.events(m.match_id), False)[0]
    ]
    model = make_model("scoreboard").fit(pd.DataFrame(rows))
    save_model(model, tmp_path / "models", data_info={})
    return data, tmp_path / "models"


def test_every_event_of_the_matches_is_scored_once_in_match_order(league):
    data, models = league
    ids = [m.match_id for m in data.matches()][:2]
    results = pipeline.score_offline(ids, "scoreboard", models_dir=models, batch=50)
    assert sorted(results["match_id"].unique()) == sorted(ids)
    assert not results.duplicated(["match_id", "event_index"]).any()
    for match_id in ids:
        # Every applied event of the match has its prediction (Starting XI included).
        assert (results["match_id"] == match_id).sum() == len(data.events(match_id))
    probs = results[["p_home", "p_draw", "p_away"]].to_numpy()
    assert ((probs >= 0) & (probs <= 1)).all()
    assert results["p_advance_home"].isna().all()  # group-stage matches: nobody goes through

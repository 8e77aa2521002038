"""Who goes through, evaluation side: data without a knockout match is said so, not crashed on."""

from __future__ import annotations

import pandas as pd
from fixtures_statsbomb import make_match, write_open_data

from inplay.data.statsbomb import StatsBombData
from inplay.evaluation.advance import has_knockout_matches


def test_has_knockout_matches_looks_at_the_snapshots_matches(tmp_path):
    matches = [
        make_match(1, "A", "B", competition_id=43, stage="Group Stage"),
        make_match(2, "C", "D", competition_id=43, stage="Final"),
    ]
    data = StatsBombData(write_open_data(tmp_path / "open", matches, {1: [], 2: []}))
    assert has_knockout_matches(pd.DataFrame({"match_id": [1, 2]}), data)
    assert not has_knockout_matches(pd.DataFrame({"match_id": [1, 1]}), data)  # a league's data

"""The live model is selected on held-out competitions when there are enough of them."""

from __future__ import annotations

import pandas as pd
import pytest
from synthetic import make_snapshots

from inplay.pipeline import selection_losses

NAMES = ["climatology", "scoreboard"]


@pytest.fixture(scope="module")
def snaps() -> pd.DataFrame:
    return make_snapshots(n_matches=60, seed=4, strength=1.5)  # competitions 11, 16 and 43


def test_three_competitions_select_on_held_out_competitions(snaps):
    grouped = pd.Series({"climatology": 0.1, "scoreboard": 0.9})  # would pick climatology
    losses, how = selection_losses(snaps, NAMES, grouped)
    assert how.startswith("leave one competition out")
    assert sorted(losses.index) == sorted(NAMES)
    # The scoreboard reads the score and the clock: on held-out competitions it wins.
    assert losses.idxmin() == "scoreboard"
    assert losses["climatology"] != pytest.approx(grouped["climatology"])


def test_fewer_competitions_fall_back_to_grouped_cv(snaps):
    two = snaps[snaps["competition_id"].isin([11, 43])]
    grouped = pd.Series({"climatology": 0.1, "scoreboard": 0.9, "other": 0.0})
    losses, how = selection_losses(two, NAMES, grouped)
    assert how == "grouped cross-validation by match"
    assert losses.to_dict() == {"climatology": 0.1, "scoreboard": 0.9}

"""Parsing a live event: team names and the venue flag are checked before any state changes."""

from __future__ import annotations

import pytest

from inplay.features.events import EventError
from inplay.live.parse import teams_of

EVENT = {"match_id": 1, "home_team": "Home FC", "away_team": "Away FC"}


@pytest.mark.parametrize("neutral", [True, False])
def test_a_boolean_venue_flag_is_accepted(neutral):
    assert teams_of(1, {**EVENT, "neutral": neutral}, known=False) == ("Home FC", "Away FC")


def test_no_venue_flag_is_a_home_match():
    assert teams_of(1, EVENT, known=True) == ("Home FC", "Away FC")


@pytest.mark.parametrize("bad", ["yes", 1, 0.0, None, {"x": 1}, [True]])
def test_a_venue_flag_that_is_not_a_boolean_is_refused_with_its_name(bad):
    with pytest.raises(EventError, match="'neutral' must be true or false"):
        teams_of(1, {**EVENT, "neutral": bad}, known=False)

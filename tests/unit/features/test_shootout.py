"""The shoot-out tracker: kicks taken and scored per side, who kicked first (period 5 only)."""

from __future__ import annotations

from fixtures_statsbomb import make_event

from inplay.features import MatchState
from inplay.features.shootout import ShootoutState, ShootoutTracker, shootout_state

H, A = "Home FC", "Away FC"


def kick(index: int, team: str, outcome: str, second: int) -> dict:
    """A shoot-out kick ``second`` seconds into period 5."""
    return make_event(
        index, "Shot", team, period=5, minute=120, second=second, outcome=outcome,
        shot_type="Penalty",
    )  # fmt: skip


# Away kicks first: A scores, H scores, A saved, H off target, A scores.
KICKS = [
    kick(10, A, "Goal", 10),
    kick(11, H, "Goal", 40),
    kick(12, A, "Saved", 70),
    kick(13, H, "Off T", 100),
    kick(14, A, "Goal", 130),
]


def test_counts_kicks_and_goals_and_first_kicker() -> None:
    # Home 1 of 2, away 2 of 3, away first.
    assert shootout_state(KICKS, H, A) == ShootoutState(2, 1, 3, 2, home_first=False)


def test_order_of_arrival_does_not_matter() -> None:
    assert shootout_state(list(reversed(KICKS)), H, A) == shootout_state(KICKS, H, A)


def test_before_any_kick_nothing_and_no_first_kicker() -> None:
    state = ShootoutTracker(H, A).state
    assert state == ShootoutState(0, 0, 0, 0, None)
    assert state.kicks == 0


def test_only_period_five_shots_are_kicks_and_duplicates_change_nothing() -> None:
    tracker = ShootoutTracker(H, A)
    in_extra_time = make_event(1, "Shot", H, period=4, minute=118, outcome="Goal")
    not_a_shot = make_event(2, "Pass", H, period=5, minute=120)
    other_team = kick(3, "Somebody Else", "Goal", 5)
    assert not tracker.apply(in_extra_time)
    assert not tracker.apply(not_a_shot)
    assert not tracker.apply(other_team)
    assert tracker.apply(KICKS[1])
    assert not tracker.apply(KICKS[1])  # the same index again
    assert tracker.state == ShootoutState(1, 1, 0, 0, home_first=True)


def test_match_state_features_ignore_the_kicks() -> None:
    # The tracker reads the same events MatchState ignores: its goals stay 0-0.
    state = MatchState(1, H, A)
    for event in KICKS:
        assert state.apply(event) == "kick"
    assert (state.features()["home_goals"], state.features()["away_goals"]) == (0, 0)
    # ... and MatchState's own shoot-out count agrees with the tracker's.
    assert state.shootout == shootout_state(KICKS, H, A)

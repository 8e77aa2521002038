"""P(advance) and the goal markets in every live result, and the shoot-out scored live.

A hand-made match (1-1 after regulation, extra time, then a shoot-out the home side wins 3-0
after four rounds' kicks) is scored twice: as a knockout match and as a league match. The
model is a stub with hand-chosen numbers (fast, and the markets can be derived by hand).
"""

from __future__ import annotations

import math

import numpy as np
import orjson
import pandas as pd
import pytest
from fixtures_statsbomb import make_event

from inplay.features import MatchState, sort_events
from inplay.features.shootout import ShootoutState, ShootoutTracker
from inplay.kafka.clients import Record
from inplay.live import messages
from inplay.live.batch import BatchScorer
from inplay.live.changelog import decode_state, encode_state
from inplay.live.replay import encode_event
from inplay.models.advance import SHOOTOUT_COLUMNS, advance_column
from inplay.models.markets import MARKET_COLUMNS

H, A = "Home FC", "Away FC"
KO, LEAGUE = 101, 202
LAM_HOME, LAM_AWAY = 1.5, 1.0  # the stub's regulation goals still to come at kick-off


def match_events() -> list[dict]:
    """1-1 in regulation, extra time without goals, a shoot-out: home 3/3, away 0/3."""
    events = [
        make_event(1, "Pass", H, minute=0),
        make_event(2, "Shot", H, minute=30, outcome="Goal", xg=0.3),
        make_event(3, "Shot", A, period=2, minute=80, outcome="Goal", xg=0.2),
        make_event(4, "Pass", H, period=3, minute=95),
        make_event(5, "Pass", A, period=4, minute=110),
    ]
    kicks = [(H, "Goal"), (A, "Saved"), (H, "Goal"), (A, "Off T"), (H, "Goal"), (A, "Saved")]
    for i, (team, outcome) in enumerate(kicks):
        events.append(
            make_event(6 + i, "Shot", team, period=5, minute=120, second=i, outcome=outcome)
        )
    events.append(make_event(12, "Half End", H, period=5, minute=120, second=30))  # ignored
    return events


def records_of(match_id: int, knockout: bool | None, events: list[dict]) -> list[Record]:
    """The events as the replay sends them (``knockout`` None: the field is absent)."""
    out = []
    for event in events:
        value = {**event, "match_id": match_id, "home_team": H, "away_team": A, "neutral": True}
        if knockout is not None:
            value["knockout"] = knockout
        out.append(Record("ev", 0, len(out), str(match_id).encode(), orjson.dumps(value)))
    return out


class StubModel:
    """Regulation 1X2 0.5/0.3/0.2, decided after regulation; goals at a constant rate."""

    version = "stub-1"

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        decided = df["period"].to_numpy() >= 3
        sign = np.sign(df["reg_home_goals"] - df["reg_away_goals"]).to_numpy().astype(int)
        one_hot = np.eye(3)[1 - sign]
        return np.where(decided[:, None], one_hot, [0.5, 0.3, 0.2])

    def remaining_rates(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        left = np.where(df["period"] >= 3, 0.0, (90.0 - df["clock"]) / 90.0).astype(float)
        return LAM_HOME * left, LAM_AWAY * left


class NoRatesModel(StubModel):
    """The stub without goal rates (as a logistic model)."""

    remaining_rates = None


def results(model, records: list[Record]) -> tuple[list[dict], list[dict], BatchScorer]:
    """(requests, results, scorer) of scoring ``records`` in one batch."""
    scorer = BatchScorer(model, requests_topic="req", results_topic="res")
    out = scorer.process(records)
    requests = [orjson.loads(v) for topic, _, v in out if topic == "req"]
    return requests, [orjson.loads(v) for topic, _, v in out if topic == "res"], scorer


@pytest.fixture(scope="module")
def knockout_run():
    return results(StubModel(), records_of(KO, True, match_events()))


def test_knockout_results_carry_p_advance_that_sums_to_one(knockout_run):
    _, res, _ = knockout_run
    for r in res:
        messages.validate("prediction_result", r)
        assert 0.0 <= r["p_advance_home"] <= 1.0 and 0.0 <= r["p_advance_away"] <= 1.0
        assert r["p_advance_home"] + r["p_advance_away"] == pytest.approx(1.0, abs=1e-12)


def test_a_league_match_has_no_p_advance_and_its_kicks_stay_ignored():
    _, res, scorer = results(StubModel(), records_of(LEAGUE, None, match_events()))
    assert [r["event_index"] for r in res] == [1, 2, 3, 4, 5]  # the 6 kicks are not scored
    assert all(r["p_advance_home"] is None and r["p_advance_away"] is None for r in res)
    assert all(r["p_over_2_5"] is not None for r in res)  # the markets are there
    s = scorer.stats
    assert (s.scored, s.ignored) == (5, 7)  # 6 kicks and the Half End of period 5
    assert s.consumed == s.scored + s.ignored + s.quarantined + s.duplicates + s.ended


def test_each_kick_is_scored_with_the_decided_1x2_and_its_own_index(knockout_run):
    req, res, scorer = knockout_run
    assert [r["event_index"] for r in res] == list(range(1, 12))  # the Half End is ignored
    assert (scorer.stats.scored, scorer.stats.ignored) == (11, 1)
    last_extra_time = req[4]
    for request, result in zip(req[5:], res[5:], strict=True):
        assert result["event_type"] == "Shot"
        # The request is the state before the shoot-out, at the kick: its key and its place.
        moved = {
            "event_index": 5,
            "period": 4,
            "elapsed_seconds": last_extra_time["elapsed_seconds"],
        }
        assert {**request, **moved} == last_extra_time
        assert request["period"] == 5
        assert (result["p_home"], result["p_draw"], result["p_away"]) == (0.0, 1.0, 0.0)


def test_p_advance_follows_the_kicks(knockout_run):
    _, res, _ = knockout_run
    p = [r["p_advance_home"] for r in res[5:]]
    # Home scores, away misses, alternately: home's chance only grows.
    assert all(b > a for a, b in zip(p, p[1:], strict=False))
    # After the 6th kick home leads 3-0 and away has two kicks left: home has won (by hand).
    assert (res[-1]["p_advance_home"], res[-1]["p_advance_away"]) == (1.0, 0.0)


def offline_advance(model, events: list[dict]) -> list[float]:
    """The offline feature code's rows (MatchState + ShootoutTracker), then advance_column."""
    state, tracker, rows = MatchState(KO, H, A), ShootoutTracker(H, A), []
    for event in sort_events(events):
        status = state.apply(event)
        tracker.apply(event)
        if status in ("applied", "late", "kick"):
            so = tracker.state
            counts = (so.home_taken, so.home_scored, so.away_taken, so.away_scored)
            rows.append({**state.features(), **dict(zip(SHOOTOUT_COLUMNS, counts, strict=True))})
    frame = pd.DataFrame(rows)
    return advance_column(frame, model.predict_proba(frame), knockout=True).tolist()


def test_live_p_advance_after_each_event_equals_the_offline_rows(knockout_run):
    _, res, _ = knockout_run
    offline = offline_advance(StubModel(), match_events())
    assert len(offline) == len(res)
    for result, expected in zip(res, offline, strict=True):
        assert result["p_advance_home"] == pytest.approx(expected, abs=5e-7)  # 6 decimals


def test_markets_by_hand_at_kick_off_and_after_regulation(knockout_run):
    _, res, _ = knockout_run
    first = res[0]  # 0-0 at 0:00: home goals ~ Poisson(1.5), away ~ Poisson(1.0)
    total = LAM_HOME + LAM_AWAY  # total goals ~ Poisson(2.5)
    p0 = math.exp(-total)
    assert first["p_next_none"] == pytest.approx(p0, abs=1e-6)  # 0.082085
    assert first["p_next_home"] == pytest.approx(LAM_HOME / total * (1 - p0), abs=1e-6)
    assert first["p_over_1_5"] == pytest.approx(1 - p0 * (1 + total), abs=1e-6)  # 0.712703
    btts = (1 - math.exp(-LAM_HOME)) * (1 - math.exp(-LAM_AWAY))  # 0.776870 * 0.632121
    assert first["p_btts"] == pytest.approx(btts, abs=1e-6)
    assert first["exp_home_goals"] == pytest.approx(LAM_HOME, abs=1e-5)  # grid tail: < 1e-5
    # Extra time: regulation ended 1-1, nothing more to come.
    decided = res[3]
    assert (decided["p_over_1_5"], decided["p_over_2_5"], decided["p_btts"]) == (1.0, 0.0, 1.0)
    assert (decided["p_next_home"], decided["p_next_none"], decided["p_next_away"]) == (0, 1, 0)
    assert (decided["exp_home_goals"], decided["exp_away_goals"]) == (1.0, 1.0)


def test_over_lines_are_ordered_and_next_goal_sums_to_one(knockout_run):
    _, res, _ = knockout_run
    for r in res:
        assert 1.0 >= r["p_over_1_5"] >= r["p_over_2_5"] >= r["p_over_3_5"] >= 0.0
        assert r["p_next_home"] + r["p_next_none"] + r["p_next_away"] == pytest.approx(1, abs=2e-6)


def test_markets_are_null_for_a_model_without_rates():
    _, res, _ = results(NoRatesModel(), records_of(KO, True, match_events()))
    assert all(r[m] is None for r in res for m in messages.RESULT_MARKETS)
    assert all(r["p_advance_home"] is not None for r in res)


def test_result_markets_are_the_models_market_columns():
    assert messages.RESULT_MARKETS == MARKET_COLUMNS


@pytest.mark.parametrize("bad", ["yes", 1, None, [True]])
def test_a_knockout_flag_that_is_not_a_boolean_is_quarantined(bad):
    record = records_of(KO, True, match_events()[:1])[0]
    value = {**orjson.loads(record.value), "knockout": bad}
    bad_record = Record("ev", 0, 0, record.key, orjson.dumps(value))
    out = BatchScorer(StubModel()).process([bad_record])
    [(_, _, body)] = out
    assert "field 'knockout' must be true or false" in orjson.loads(body)["reason"]


def test_no_knockout_flag_means_not_knockout():
    req, _, _ = results(StubModel(), records_of(LEAGUE, None, match_events()[:2]))
    assert [r["knockout"] for r in req] == [False, False]


def test_the_shootout_survives_a_restart_from_the_changelog(knockout_run):
    _, expected, _ = knockout_run
    records = records_of(KO, True, match_events())
    first = BatchScorer(StubModel())
    first.process(records[:7])  # up to the second kick
    saved = first.states[KO]
    assert saved.shootout == ShootoutState(1, 1, 1, 0, home_first=True)
    state, _ = decode_state(encode_state(saved, 6))
    assert state == saved
    second = BatchScorer(StubModel(), results_topic="res")
    second.store.states[KO] = state
    out = second.process(records[7:])
    after = [orjson.loads(v) for topic, _, v in out if topic == "res"]
    assert [r["p_advance_home"] for r in after] == [r["p_advance_home"] for r in expected[7:]]


def test_replay_marks_knockout_matches():
    class M:  # the Match fields encode_event reads
        match_id, home_team, away_team, competition_id, season_id = 1, H, A, 43, 106
        competition, competition_stage = "FIFA World Cup", "Regular Season"

    event = make_event(1, "Pass", H)
    assert orjson.loads(encode_event(event, M, sent_at=1.0)[1])["knockout"] is False
    assert orjson.loads(encode_event(event, M, sent_at=1.0, knockout=True)[1])["knockout"] is True
    M.competition_stage = "Final"
    assert orjson.loads(encode_event(event, M, sent_at=1.0)[1])["knockout"] is True


def test_rates_that_fail_leave_the_markets_null_and_the_1x2_published():
    class Broken(StubModel):
        def remaining_rates(self, df):
            raise ValueError("no rates today")

    _, res, _ = results(Broken(), records_of(KO, True, match_events()[:3]))
    assert [r["p_home"] for r in res] == [0.5, 0.5, 0.5]
    assert all(r[m] is None for r in res for m in messages.RESULT_MARKETS)


def test_the_numpy_path_rates_and_markets_equal_the_offline_ones():
    from synthetic import make_snapshots, with_teams

    from inplay.live.markets import market_rows, remaining_rates
    from inplay.models import make_model
    from inplay.models.markets import market_columns

    table = with_teams(make_snapshots(n_matches=20, seed=3, extra_time_share=0.5))
    model = make_model("goal_rate").fit(table)
    assert model.array_path  # the numpy path is the one under test
    rows = table.iloc[::7].reset_index(drop=True)
    columns = {c: rows[c].to_numpy() for c in rows}
    pairs = zip(remaining_rates(model, columns), model.remaining_rates(rows), strict=True)
    for got, expected in pairs:
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    live = np.array(market_rows(model, columns))
    np.testing.assert_allclose(live, market_columns(model, rows).to_numpy(), rtol=0, atol=5e-7)

"""Batch scoring: one model call per poll batch, the same messages as scoring event by event.

The reference is the per-event path the scorer used before: each event's request alone through
``model.predict_proba(pd.DataFrame([request]))``. The batch path must publish the same request
bytes and the same probabilities (within 1e-12), for a model with a numpy path (goal_rate) and
for one without (the DataFrame fallback). The results' P(advance) and goal markets must equal
the offline functions on the one-row frame (``advance_column``, ``market_columns``) to the
6-decimal rounding. The real-data tests need the StatsBomb data
(``shared_data``) and are skipped without it.
"""

from __future__ import annotations

import math
import time

import numpy as np
import orjson
import pandas as pd
import pytest
from fixtures_statsbomb import make_event
from synthetic import make_snapshots, with_teams

from inplay.features import EventError
from inplay.kafka.clients import Record
from inplay.live import messages
from inplay.live.batch import BatchScorer, kick_request
from inplay.live.state import MatchStore
from inplay.live.stats import ScoreStats
from inplay.models import make_model
from inplay.models.advance import SHOOTOUT_COLUMNS, advance_column
from inplay.models.markets import market_columns
from inplay.models.state import prepare_columns, prepare_snapshots

TOL = 1e-12


class _Recording(BatchScorer):
    """A BatchScorer that keeps the unrounded probabilities of every batch it scores."""

    def __init__(self, model) -> None:
        super().__init__(model, requests_topic="req", results_topic="res", monitoring_topic="mon")
        self.rows: list[np.ndarray] = []
        self.batches = 0

    def _predict(self, requests):
        probs = super()._predict(requests)
        self.rows.extend(probs)
        self.batches += 1
        return probs


EXTRAS_EVERY = 25  # the extra fields' reference (~3 ms an event) for every 25th event only


def per_event_reference(model, records) -> list[tuple[dict, dict, np.ndarray, dict | None]]:
    """(request, event, probabilities, extra fields) of each scored event, one row each.

    The extra fields are computed for every :data:`EXTRAS_EVERY`-th event and every
    shoot-out kick (None for the others).
    """
    store = MatchStore(ScoreStats())
    out = []
    for record in records:
        try:
            status, state, event = store.apply(record)
        except EventError:
            continue
        kick = status == "kick" and event.get("knockout", False)
        if status in ("applied", "late") or kick:
            request = messages.request_message(state.features(), event)
            if kick:
                request = kick_request(request, event)
            probs = model.predict_proba(pd.DataFrame([request]))[0]
            extras = None
            if kick or len(out) % EXTRAS_EVERY == 0:
                extras = reference_extras(model, request, probs, state.shootout)
            out.append((request, event, probs, extras))
    return out


def reference_extras(model, request: dict, probs: np.ndarray, shootout) -> dict:
    """P(advance) and the markets of one request by the offline functions on a 1-row frame."""
    frame = pd.DataFrame([request])
    extras = dict.fromkeys(NEW_FIELDS)
    if request["knockout"]:
        so = shootout
        counts = (so.home_taken, so.home_scored, so.away_taken, so.away_scored)
        rows = frame.assign(**dict(zip(SHOOTOUT_COLUMNS, counts, strict=True)))
        home = round(float(advance_column(rows, probs[None, :], knockout=True)[0]), 6)
        extras.update(p_advance_home=home, p_advance_away=round(1.0 - home, 6))
    if hasattr(model, "remaining_rates"):
        values = market_columns(model, frame).iloc[0].tolist()
        extras.update(zip(messages.RESULT_MARKETS, values, strict=True))
    return extras


NEW_FIELDS = messages.RESULT_EXTRAS


def assert_extras_equal(result: dict, extras: dict) -> None:
    """The result's extra fields equal the reference's (both null, or within the rounding)."""
    for name, expected in extras.items():
        if expected is None:
            assert result[name] is None, name
        else:
            assert result[name] == pytest.approx(expected, abs=1.5e-6), name


def assert_batch_equals_per_event(model, records, batch_size: int) -> _Recording:
    """Score ``records`` in batches and check every message against the per-event path."""
    reference = per_event_reference(model, records)
    scorer = _Recording(model)
    out = []
    for start in range(0, len(records), batch_size):
        out += scorer.process(records[start : start + batch_size])
    requests = [value for topic, _, value in out if topic == "req"]
    results = [orjson.loads(value) for topic, _, value in out if topic == "res"]
    assert len(requests) == len(results) == len(scorer.rows) == len(reference) > 0
    for value, result, row, (request, event, expected, extras) in zip(
        requests, results, scorer.rows, reference, strict=True
    ):
        assert value == orjson.dumps(request)
        assert np.abs(row - expected).max() <= TOL, (request["match_id"], request["event_index"])
        if extras is not None:
            assert_extras_equal(result, extras)
        assert {**result, **dict.fromkeys(NEW_FIELDS)} == messages.result_message(
            request,
            event,
            messages.rounded_probabilities(row),
            model_version=scorer.model_version,
            latency_ms=result["latency_ms"],
            processing_ms=result["processing_ms"],
            scored_at=result["scored_at"],
        )
    return scorer


def records_of(matches: list[tuple[int, str, str, bool, list[dict]]]) -> list[Record]:
    """Events-topic records of matches, interleaved as on a matchday (round robin)."""
    streams = [
        [
            orjson.dumps(
                {
                    **event,
                    "match_id": match_id,
                    "home_team": home,
                    "away_team": away,
                    "neutral": neutral,
                    "sent_at": time.time(),
                }
            )
            for event in events
        ]
        for match_id, home, away, neutral, events in matches
    ]
    keys = [str(m[0]).encode() for m in matches]
    records: list[Record] = []
    for i in range(max(map(len, streams))):
        for key, stream in zip(keys, streams, strict=True):
            if i < len(stream):
                records.append(Record("ev", 0, len(records), key, stream[i]))
    return records


# -- synthetic (no real data) ------------------------------------------------------------------


def synthetic_events(rng: np.random.Generator, home: str, away: str, extra_time: bool) -> list:
    """A match of passes, shots (goals, penalties), cards, a late event and a duplicate."""
    events, index = [], 1
    periods = [(1, 0, 47), (2, 45, 94)] + ([(3, 90, 106), (4, 105, 121)] if extra_time else [])
    for period, first, last in periods:
        for minute in range(first, last):
            for _ in range(int(rng.integers(1, 4))):
                team = home if rng.random() < 0.5 else away
                at = {"period": period, "minute": minute, "second": int(rng.integers(0, 60))}
                kind = rng.random()
                if kind < 0.08:
                    outcome = str(rng.choice(["Goal", "Saved", "Off T", "Blocked"]))
                    shot_type = "Penalty" if rng.random() < 0.1 else "Open Play"
                    xg = float(rng.uniform(0.01, 0.8))
                    event = make_event(
                        index, "Shot", team, **at, xg=xg, outcome=outcome, shot_type=shot_type
                    )
                elif kind < 0.1:
                    card = str(rng.choice(["Yellow Card", "Second Yellow", "Red Card"]))
                    event = make_event(index, "Foul Committed", team, **at, card=card)
                else:
                    holder = home if rng.random() < 0.55 else away
                    event = make_event(index, "Pass", team, **at, possession_team=holder)
                events.append(event)
                index += 1
    events.sort(key=lambda e: (e["period"], e["timestamp"], e["index"]))
    middle = len(events) // 2
    events.insert(middle, events[middle // 2])  # a duplicate
    events.insert(middle + 5, {**events[middle - 40], "index": index})  # late: 40 events back
    last = events[-1]
    events.append(make_event(index + 1, "Shot", home, period=5, minute=121, outcome="Goal"))
    return [*events, {**last, "index": index + 2, "type": {"id": 0, "name": "Match End"}}]


@pytest.fixture(scope="module")
def synthetic_table() -> pd.DataFrame:
    table = with_teams(make_snapshots(n_matches=60, seed=3, extra_time_share=0.5))
    odds = np.where(np.arange(len(table))[:, None] % 3 == 0, [2.1, 3.3, 3.6], np.nan)
    return table.assign(odds_home=odds[:, 0], odds_draw=odds[:, 1], odds_away=odds[:, 2])


@pytest.fixture(scope="module")
def synthetic_records() -> list[Record]:
    rng = np.random.default_rng(7)
    matches = [
        (901, "team1", "team2", False, synthetic_events(rng, "team1", "team2", True)),
        (902, "team3", "team0", True, synthetic_events(rng, "team3", "team0", False)),
        (903, "team5", "Unknown FC", False, synthetic_events(rng, "team5", "Unknown FC", False)),
    ]
    records = records_of(matches)
    records.insert(100, Record("ev", 0, 10_000, b"901", b"not json"))  # quarantined
    return records


def test_prepare_columns_of_arrays_equals_prepare_snapshots(synthetic_table):
    frame = prepare_snapshots(synthetic_table)
    columns = prepare_columns({c: synthetic_table[c].to_numpy() for c in synthetic_table})
    assert list(columns) == list(frame.columns)
    for name, values in columns.items():
        assert np.array_equal(values, frame[name].to_numpy(), equal_nan=True), name
    # A request carries fewer columns: the same defaults either way.
    small = synthetic_table[["current_minute", "home_goals", "away_goals"]].head(50)
    columns = prepare_columns({c: small[c].to_numpy() for c in small})
    assert pd.DataFrame(columns, index=small.index).equals(prepare_snapshots(small))


@pytest.mark.parametrize(
    ("name", "array_path"),
    [
        ("goal_rate", True),
        ("goal_rate_odds", True),
        ("skellam", True),
        ("climatology", False),
        ("scoreboard", False),
    ],
)
def test_predict_proba_arrays_equals_predict_proba(synthetic_table, name, array_path):
    model = make_model(name).fit(synthetic_table)
    assert model.array_path is array_path
    columns = {c: synthetic_table[c].to_numpy() for c in synthetic_table}
    expected = model.predict_proba(synthetic_table)
    assert (synthetic_table["period"] >= 3).any()  # the decided rows are in the batch too
    np.testing.assert_array_equal(model.predict_proba_arrays(columns), expected)
    rows = np.arange(0, len(synthetic_table), 97)
    single = [model.predict_proba(synthetic_table.iloc[[i]])[0] for i in rows]
    assert np.abs(model.predict_proba_arrays(columns)[rows] - single).max() <= TOL
    assert model.predict_proba_arrays({}).shape == (0, 3)


def test_the_numpy_path_does_not_use_pandas(synthetic_table, synthetic_records, monkeypatch):
    model = make_model("goal_rate").fit(synthetic_table)

    def no_frames(*args, **kwargs):
        raise AssertionError("the numpy path built a DataFrame")

    monkeypatch.setattr(model, "predict_proba", no_frames)
    monkeypatch.setattr(pd.DataFrame, "__init__", no_frames)
    scorer = _Recording(model)
    scorer.process(synthetic_records[:300])
    assert scorer.batches == 1 and len(scorer.rows) > 250


@pytest.mark.parametrize("name", ["goal_rate", "scoreboard"])
def test_synthetic_batches_equal_the_per_event_path(synthetic_table, synthetic_records, name):
    model = make_model(name).fit(synthetic_table)
    scorer = assert_batch_equals_per_event(model, synthetic_records, batch_size=200)
    assert scorer.batches == math.ceil(len(synthetic_records) / 200)
    stats = scorer.stats
    assert stats.quarantined == 1 and stats.duplicates == 3 and stats.late == 3
    assert stats.ignored == 3 and stats.ended == 3
    if model.uses_prior:  # the known teams got their learned strength, the unknown one none
        prior = model._team_prior(["team1", "team5", "Nobody"], ["team2", "Unknown FC", "Nor"])
        assert np.isfinite(prior[:2]).all() and np.isnan(prior[2])


def test_a_model_with_only_predict_proba_gets_a_frame_per_batch(synthetic_records):
    calls = []

    class Fixed:
        version = "fixed-1"

        def predict_proba(self, frame):
            calls.append(len(frame))
            return np.tile([0.5, 0.3, 0.2], (len(frame), 1))

    out = BatchScorer(Fixed()).process(synthetic_records[:250])
    assert calls == [sum(topic.endswith("results") for topic, _, _ in out)]


def test_warm_up_calls_the_model_once_and_changes_nothing(synthetic_table, synthetic_records):
    model = make_model("goal_rate").fit(synthetic_table)
    calls = []
    original = model.predict_proba_arrays
    model.predict_proba_arrays = lambda columns: (
        calls.append(len(columns["clock"])) or original(columns)
    )
    warm, cold = BatchScorer(model), BatchScorer(make_model("goal_rate").fit(synthetic_table))
    warm.warm_up()
    assert calls == [1]
    assert warm.stats == cold.stats and not warm.states and not warm.store.changed
    batch = synthetic_records[:50]
    requests = [[m for m in s.process(batch) if b"scored_at" not in m[2]] for s in (warm, cold)]
    assert requests[0] == requests[1]


def test_round_like_builtin_is_builtin_round():
    rng = np.random.default_rng(0)
    for digits in (2, 3, 4, 6):
        k = rng.integers(0, 10**digits, 20_000).astype(float)
        ties = (k + 0.5) / 10**digits  # halves (as near as a double gets) and their neighbours
        x = np.concatenate(
            [
                rng.random(50_000),
                -rng.random(1_000),
                rng.random(1_000) * 1e7,
                ties,
                np.nextafter(ties, 0.0),
                np.nextafter(ties, 1.0),
                [0.0, -0.0, 1e-300, -1e-12, 1e300, np.inf, -np.inf, np.nan],
            ]
        )
        got = messages.round_like_builtin(x, digits)
        want = np.array([round(float(v), digits) for v in x])
        same = (got == want) & (np.signbit(got) == np.signbit(want))
        assert (same | (np.isnan(got) & np.isnan(want))).all(), x[~same][:5]


def test_batch_helpers_equal_their_per_event_versions():
    rng = np.random.default_rng(1)
    probs = np.vstack([rng.dirichlet([1, 1, 1], 20_000), [[0.3333333, 0.3333333, 0.3333334]]])
    assert messages.rounded_probability_rows(probs) == [
        messages.rounded_probabilities(row) for row in probs
    ]
    now = time.time()
    sent = [*(now - rng.exponential(3.0, 2_000)), now + 59, now + 61, 0.0, -1.0, 1, 2**70]
    sent += [True, None, "1.0", float("nan"), float("inf"), now]
    assert messages.latencies_since(sent, now) == [messages.latency_since(s, now) for s in sent]


def test_request_columns_have_the_schema_types():
    event = make_event(1, "Pass", "Home")
    event.update(match_id=5, home_team="Home", away_team="Away", neutral=True)
    from inplay.features import MatchState

    state = MatchState(5, "Home", "Away")
    state.apply(event)
    requests = [messages.request_message(state.features(), event)] * 3
    columns = messages.RequestColumns(requests)
    assert tuple(columns) == messages.REQUEST.names
    assert columns["match_id"].dtype == np.int64 and columns["clock"].dtype == np.float64
    assert columns["neutral"].dtype == np.bool_ and columns["home_team"].dtype == object
    assert columns["home_team"].tolist() == ["Home"] * 3
    frame = pd.DataFrame(dict(columns))
    assert frame.to_dict("records") == pd.DataFrame(requests).to_dict("records")


# -- real data ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real():
    from inplay.data.statsbomb import StatsBombData, shared_data_dir

    root = shared_data_dir()
    if root is None:
        pytest.skip("StatsBomb shared data not found (set INPLAY_DATA_DIR)")
    return StatsBombData(root)


@pytest.fixture(scope="module")
def real_records(real) -> list[Record]:
    """Five whole matches (one with extra time) as the replay sends them, end markers too."""
    from inplay.live.replay import encode_event, matchday

    matches = real.matches()
    live = matches[:4]
    knockout = [m for m in matches[4:] if "group" not in str(m.competition_stage).lower()]
    extra = next(
        m for m in knockout[:100] if any(e["period"] >= 3 for e in real.events(m.match_id))
    )
    loaded = [(m, real.events(m.match_id)) for m in [*live, extra]]
    records = []
    for _, match, event in matchday(loaded, end_markers=True):
        key, value = encode_event(event, match)
        records.append(Record("ev", 0, len(records), key, value))
    return records


@pytest.fixture(scope="module")
def real_table(real, real_records) -> pd.DataFrame:
    """Labelled minute snapshots of 40 other matches, with teams and dates (for the prior)."""
    from inplay.data.dataset import build_match_rows

    live = {orjson.loads(r.value)["match_id"] for r in real_records}
    rows = []
    for match in [m for m in real.matches() if m.match_id not in live][:40]:
        minute_rows, _ = build_match_rows(match, real.events(match.match_id), per_event=False)
        teams = {
            "home_team": match.home_team,
            "away_team": match.away_team,
            "match_date": match.match_date,
        }
        rows += [{**row, **teams} for row in minute_rows]
    return pd.DataFrame(rows)


@pytest.mark.shared_data
@pytest.mark.parametrize(("name", "n_matches"), [("goal_rate", 3), ("scoreboard_xg", 2)])
def test_real_matches_score_the_same_in_batches(real_table, real_records, name, n_matches):
    """Whole matches; the fallback model on two of them (the reference costs ~4 ms an event)."""
    model = make_model(name).fit(real_table)
    assert model.array_path is (name == "goal_rate")
    keys = list(dict.fromkeys(r.key for r in real_records))[-n_matches:]  # extra time is last
    records = [r for r in real_records if r.key in keys]
    scorer = assert_batch_equals_per_event(model, records, batch_size=500)
    assert scorer.batches == math.ceil(len(records) / 500)
    assert scorer.stats.ended == n_matches and scorer.stats.quarantined == 0
    if model.uses_prior:  # some live teams were rated from the training matches
        events = [orjson.loads(r.value) for r in records[:: len(records) // 50]]
        prior = model._team_prior(
            [e["home_team"] for e in events], [e["away_team"] for e in events]
        )
        assert np.isfinite(prior).any()

"""Live model quality maths: per-match scores, the rolling window, drift bands (hand-checked)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from synthetic import make_snapshots

from inplay.evaluation import metrics
from inplay.evaluation.cv import grouped_cv_predictions
from inplay.mlops.quality import (
    RollingQuality,
    check_drift,
    drift_band,
    match_quality,
    offline_match_quality,
)
from inplay.models import PROB_COLUMNS, make_model

# Three minute rows of one match (home, draw, away).
P3 = np.array([[0.5, 0.3, 0.2], [0.6, 0.3, 0.1], [0.8, 0.1, 0.1]])


def test_match_quality_by_hand_home_win():
    q = match_quality(P3, "H")
    assert q["n_rows"] == 3
    # log loss: -(ln 0.5 + ln 0.6 + ln 0.8) / 3
    assert q["log_loss"] == pytest.approx(-(math.log(0.5) + math.log(0.6) + math.log(0.8)) / 3)
    # Brier: (0.25 + 0.09 + 0.04) + (0.16 + 0.09 + 0.01) + (0.04 + 0.01 + 0.01) = 0.70, / 3
    assert q["brier"] == pytest.approx(0.70 / 3)
    # RPS, cumulative P (0.5, 0.8), (0.6, 0.9), (0.8, 0.9) against O (1, 1):
    # (0.25 + 0.04) / 2 + (0.16 + 0.01) / 2 + (0.04 + 0.01) / 2 = 0.255, / 3
    assert q["rps"] == pytest.approx(0.085)


def test_match_quality_by_hand_draw_and_exactly_the_offline_metrics():
    q = match_quality(P3, "D")
    assert q["log_loss"] == pytest.approx(-(2 * math.log(0.3) + math.log(0.1)) / 3)
    assert q["brier"] == pytest.approx((0.78 + 0.86 + 1.46) / 3)
    # cumulative O is (0, 1): (0.25 + 0.04) / 2 + (0.36 + 0.01) / 2 + (0.64 + 0.01) / 2
    assert q["rps"] == pytest.approx(0.655 / 3)
    letters = ["D"] * 3
    assert (q["log_loss"], q["brier"], q["rps"]) == (
        metrics.log_loss(letters, P3),
        metrics.brier(letters, P3),
        metrics.rps(letters, P3),
    )


@pytest.mark.parametrize(
    ("probs", "result"),
    [(P3, "X"), (P3[:, :2], "H"), (np.empty((0, 3)), "H"), ([[0.5, np.nan, 0.5]], "H")],
)
def test_match_quality_rejects_bad_input(probs, result):
    with pytest.raises(ValueError):
        match_quality(probs, result)


class ColumnModel:
    """A fake model whose probabilities are the rows' ``a``, ``b``, ``c`` columns."""

    def predict_proba(self, rows: pd.DataFrame) -> np.ndarray:
        return rows[["a", "b", "c"]].to_numpy()


def test_offline_match_quality_groups_by_match_in_clock_order():
    rows = pd.DataFrame(
        {
            "match_id": [7, 9, 7, 7, 9],
            "clock": [2.0, 0.0, 0.0, 1.0, 1.0],
            "result": ["H", "A", "H", "H", "A"],
            "a": [0.8, 0.2, 0.5, 0.6, 0.1],
            "b": [0.1, 0.3, 0.3, 0.3, 0.3],
            "c": [0.1, 0.5, 0.2, 0.1, 0.6],
        }
    )
    table = offline_match_quality(rows, ColumnModel())
    assert table.columns.tolist() == ["match_id", "result", "log_loss", "brier", "rps", "n_rows"]
    assert table["match_id"].tolist() == [7, 9] and table["n_rows"].tolist() == [3, 2]
    first = table.iloc[0]
    assert first["result"] == "H" and first["brier"] == pytest.approx(0.70 / 3)  # P3 again
    assert table.iloc[1]["log_loss"] == pytest.approx(-(math.log(0.5) + math.log(0.6)) / 2)


def test_offline_match_quality_rejects_two_results_in_a_match():
    rows = pd.DataFrame(
        {"match_id": [1, 1], "clock": [0.0, 1.0], "result": ["H", "D"], "a": [0.4] * 2}
        | {"b": [0.3] * 2, "c": [0.3] * 2}
    )
    with pytest.raises(ValueError, match="more than one result"):
        offline_match_quality(rows, ColumnModel())


def test_offline_match_quality_equals_the_metrics_per_match():
    snaps = make_snapshots(n_matches=30, seed=4)
    model = make_model("scoreboard").fit(snaps)
    shuffled = snaps.sample(frac=1.0, random_state=1)
    table = offline_match_quality(shuffled, model).set_index("match_id")
    probs = model.predict_proba(shuffled)
    assert sorted(table.index) == sorted(snaps["match_id"].unique())
    for match_id, part in shuffled.reset_index(drop=True).groupby("match_id"):
        order = part.sort_values("clock").index.to_numpy()
        y, p = part.loc[order, "result"].tolist(), probs[order]
        row = table.loc[match_id]
        assert row["n_rows"] == 91 and row["result"] == y[0]
        assert row["log_loss"] == metrics.log_loss(y, p)
        assert row["brier"] == metrics.brier(y, p)
        assert row["rps"] == metrics.rps(y, p)


def test_rolling_window_keeps_the_latest_matches():
    rolling = RollingQuality(window=2)
    assert rolling.figures() == {
        "n_matches": 0,
        "log_loss": None,
        "brier": None,
        "rps": None,
        "calibration": {"home": None, "draw": None, "away": None},
    }
    one = np.array([[0.5, 0.25, 0.25]])  # log loss ln 2 if H, ln 4 otherwise
    rolling.add(1, one, "D")
    rolling.add(2, one, "H")
    rolling.add(3, np.vstack([one, one]), "H")  # evicts match 1
    assert rolling.match_ids == [2, 3] and len(rolling) == 2
    figures = rolling.figures()
    assert figures["n_matches"] == 2
    assert figures["log_loss"] == pytest.approx(math.log(2))
    # Every pooled row is (0.5, 0.25, 0.25) and the result H: 0.5 - 1, 0.25, 0.25.
    assert figures["calibration"] == pytest.approx({"home": -0.5, "draw": 0.25, "away": 0.25})
    json.dumps(figures)
    assert all(type(v) is float for v in [figures["brier"], *figures["calibration"].values()])


def test_rolling_duplicate_replaces_its_entry_in_place():
    one = np.array([[0.5, 0.25, 0.25]])
    rolling = RollingQuality(window=2)
    rolling.add(1, one, "H")
    rolling.add(2, one, "A")
    before = rolling.figures()
    rolling.add(1, one, "H")  # an exact repeat changes nothing
    assert rolling.figures() == before and rolling.match_ids == [1, 2]
    rolling.add(1, np.array([[0.25, 0.25, 0.5]]), "H")  # a changed repeat replaces it
    assert rolling.match_ids == [1, 2]
    assert rolling.figures()["log_loss"] == pytest.approx(math.log(4))  # (ln 4 + ln 4) / 2
    rolling.add(3, one, "H")  # match 1 is still the oldest: it goes
    assert rolling.match_ids == [2, 3]


def test_rolling_calibration_is_over_rows_and_the_table_over_pooled_rows():
    rolling = RollingQuality(window=5)
    rolling.add(1, P3, "H")
    rolling.add(2, np.array([[0.2, 0.3, 0.5]]), "A")
    # four rows: home p (0.5, 0.6, 0.8, 0.2), three home wins: 2.1 / 4 - 3 / 4
    cal = rolling.figures()["calibration"]
    assert cal == pytest.approx({"home": -0.9 / 4, "draw": 1.0 / 4, "away": -0.1 / 4})
    table = rolling.calibration_table()
    json.dumps(table)
    home = {r["bin"]: r for r in table if r["outcome"] == "H"}
    assert sorted(home) == [2, 5, 6, 8]
    assert (home[2]["observed"], home[8]["observed"], home[8]["mean_p"]) == (0.0, 1.0, 0.8)
    assert sum(r["n_rows"] for r in table) == 3 * 4  # each row once per class
    assert RollingQuality(3).calibration_table() == []


def test_rolling_rejects_bad_input_without_changing():
    rolling = RollingQuality(window=3)
    rolling.add(1, P3, "H")
    with pytest.raises(ValueError):
        rolling.add(2, P3, "W")
    assert rolling.match_ids == [1]
    with pytest.raises(ValueError):
        RollingQuality(0)


def calibrated_oof(n_matches: int, seed: int, rows: int = 5) -> pd.DataFrame:
    """Made-up calibrated OOF: each match has one probability vector and its result is drawn
    from it."""
    rng = np.random.default_rng(seed)
    p = rng.dirichlet([4.0, 2.5, 3.0], size=n_matches)
    results = np.array([rng.choice(["H", "D", "A"], p=row) for row in p])
    return pd.DataFrame(
        {
            "match_id": np.repeat(np.arange(n_matches), rows),
            "clock": np.tile(np.arange(rows, dtype=float), n_matches),
            "result": np.repeat(results, rows),
            **{c: np.repeat(p[:, k], rows) for k, c in enumerate(PROB_COLUMNS)},
        }
    )


def test_drift_band_contains_the_mean_and_narrows_with_the_window():
    band = drift_band(calibrated_oof(300, seed=1), windows=(50, 10, 25), n_boot=1000)
    json.dumps(band)
    assert list(band["windows"]) == ["10", "25", "50"]
    assert (band["level"], band["n_matches"], band["n_boot"]) == (0.99, 300, 1000)
    mean = band["mean"]
    widths = []
    for limits in band["windows"].values():
        low, high = limits["log_loss"]
        assert low < mean["log_loss"] < high
        for key in ("home", "draw", "away"):
            c_low, c_high = limits["calibration"][key]
            assert c_low < mean["calibration"][key] < c_high
        widths.append(high - low)
    assert widths[0] > widths[1] > widths[2]
    # Roughly 1/sqrt(w): 10 -> 50 matches should narrow the band by about sqrt(5) = 2.24.
    assert 1.8 < widths[0] / widths[2] < 2.8


def test_drift_band_is_reproducible_and_checks_its_input():
    oof = calibrated_oof(40, seed=2)
    assert drift_band(oof, n_boot=200) == drift_band(oof, n_boot=200)
    with pytest.raises(ValueError):
        drift_band(oof.drop(columns="clock"))
    with pytest.raises(ValueError):
        drift_band(pd.concat([oof.assign(model="a"), oof.assign(model="b")]))
    with pytest.raises(ValueError):
        drift_band(oof, level=1.0)


BAND = {
    "windows": {
        "10": {
            "log_loss": [0.5, 1.5],
            "calibration": {k: [-0.2, 0.2] for k in ("home", "draw", "away")},
        },
        "25": {
            "log_loss": [0.8, 1.2],
            "calibration": {k: [-0.1, 0.1] for k in ("home", "draw", "away")},
        },
    }
}


def figures(n_matches: int, log_loss: float, home: float = 0.0) -> dict:
    return {
        "n_matches": n_matches,
        "log_loss": log_loss,
        "brier": 0.6,
        "rps": 0.2,
        "calibration": {"home": home, "draw": 0.0, "away": -home},
    }


def test_check_drift_uses_the_largest_full_window():
    assert check_drift(figures(9, 3.0, 0.9), BAND) == []  # no window full yet
    assert check_drift(figures(24, 1.4, 0.15), BAND) == []  # window 10: inside
    assert check_drift(figures(25, 1.4, 0.05), BAND) == [
        {"statistic": "log_loss", "value": 1.4, "low": 0.8, "high": 1.2, "window": 25}
    ]
    flags = check_drift(figures(400, 0.7, -0.15), BAND)  # too good is flagged too
    assert [(f["statistic"], f["value"]) for f in flags] == [
        ("log_loss", 0.7),
        ("calibration.home", -0.15),
        ("calibration.away", 0.15),
    ]
    assert {f["window"] for f in flags} == {25}
    assert check_drift(RollingQuality(5).figures(), BAND) == []


@pytest.fixture(scope="module")
def cv_band() -> dict:
    """The band of the scoreboard model's 5-fold CV on 200 synthetic matches."""
    oof = grouped_cv_predictions(make_snapshots(n_matches=200, seed=3), ["scoreboard"])
    return drift_band(oof, windows=(10, 25, 50), n_boot=1000)


def test_check_drift_flags_reversed_probabilities_not_new_matches(cv_band):
    model = make_model("scoreboard").fit(make_snapshots(n_matches=200, seed=3))
    new = make_snapshots(n_matches=300, seed=21)  # unseen matches from the same process
    probs = model.predict_proba(new)
    matches = list(new.groupby("match_id").indices.items())
    flags_per_window = []
    for start in range(0, 300, 50):  # six disjoint windows of 50 new matches
        rolling = RollingQuality(50)
        for match_id, index in matches[start : start + 50]:
            rolling.add(match_id, probs[index], new["result"].iloc[index[0]])
        flags_per_window.append(len(check_drift(rolling.figures(), cv_band)))
    # 4 statistics at 99% each: about 0.24 false flags expected in 6 windows.
    assert flags_per_window[0] == 0 and sum(flags_per_window) <= 1
    reversed_ = RollingQuality(50)
    for match_id, index in matches[:50]:
        reversed_.add(match_id, probs[index][:, ::-1], new["result"].iloc[index[0]])
    flagged = {f["statistic"]: f for f in check_drift(reversed_.figures(), cv_band)}
    assert {"log_loss", "calibration.home"} <= set(flagged)
    assert flagged["log_loss"]["value"] > flagged["log_loss"]["high"]
    assert flagged["calibration.home"]["value"] < flagged["calibration.home"]["low"]
    assert {f["window"] for f in flagged.values()} == {50}

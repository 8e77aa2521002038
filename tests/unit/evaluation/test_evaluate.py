import json
import math

import numpy as np
import pandas as pd
import pytest
from synthetic import make_snapshots

from inplay.config import ConfigError
from inplay.evaluation.evaluate import (
    EvaluationResult,
    accuracy,
    brier,
    class_ece,
    clock_bins,
    ece,
    evaluate,
    game_state,
    grouped_cv_predictions,
    log_loss,
    match_folds,
    metrics_by_bin,
    metrics_by_competition,
    metrics_by_state,
    metrics_table,
    paired_comparison,
    reliability_figure,
    reliability_table,
    rps,
    score,
)

MODELS3 = ("climatology", "scoreboard", "state_mnlogit")


@pytest.fixture(scope="module")
def snaps() -> pd.DataFrame:
    return make_snapshots(n_matches=120, seed=7, strength=1.5)


@pytest.fixture(scope="module")
def oof(snaps) -> pd.DataFrame:
    return grouped_cv_predictions(snaps, MODELS3, n_splits=5, seed=0)


# ---- metrics, hand-checked ---------------------------------------------------------------


def test_log_loss_values():
    assert log_loss(["H"], [[0.5, 0.25, 0.25]]) == pytest.approx(math.log(2))
    assert log_loss([1], [[0.5, 0.25, 0.25]]) == pytest.approx(math.log(4))
    assert log_loss(["H", "A"], [[1, 0, 0], [0, 0, 1]]) == pytest.approx(0.0)
    assert log_loss(["D"], [[1 / 3] * 3]) == pytest.approx(math.log(3))
    assert np.isfinite(log_loss(["A"], [[1, 0, 0]]))


def test_brier_values():
    assert brier(["H"], [[1, 0, 0]]) == pytest.approx(0.0)
    assert brier(["A"], [[1, 0, 0]]) == pytest.approx(2.0)
    # (0.5-1)^2 + 0.25^2 + 0.25^2 = 0.375
    assert brier(["H"], [[0.5, 0.25, 0.25]]) == pytest.approx(0.375)
    assert brier(["D"], [[1 / 3] * 3]) == pytest.approx(2 / 3)


def test_rps_values():
    assert rps(["H", "D", "A"], np.eye(3)) == pytest.approx(0.0)
    assert rps(["A"], [[1, 0, 0]]) == pytest.approx(1.0)
    assert rps(["H"], [[0, 0, 1]]) == pytest.approx(1.0)
    # next-door miss costs half: cum (1,1) vs (0,1) -> 0.5 * 1
    assert rps(["D"], [[1, 0, 0]]) == pytest.approx(0.5)
    # y=H, p=(0.5,0.25,0.25): cum (0.5, 0.75) vs (1, 1) -> 0.5*(0.25+0.0625)
    assert rps(["H"], [[0.5, 0.25, 0.25]]) == pytest.approx(0.15625)


def test_accuracy_and_score():
    p = [[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.1, 0.2, 0.7], [0.4, 0.4, 0.2]]
    assert accuracy(["H", "D", "H", "D"], p) == pytest.approx(0.5)
    s = score([0, 1, 2, 2], p)
    assert set(s) == {"log_loss", "brier", "rps", "accuracy"}
    assert s["accuracy"] == pytest.approx(0.75)  # argmax (H, D, A, H)


def test_metric_input_checks():
    with pytest.raises(ValueError):
        log_loss(["H"], [[0.5, 0.5]])
    with pytest.raises(ValueError):
        brier(["H", "D"], [[0.5, 0.25, 0.25]])


# ---- grouped CV ------------------------------------------------------------------------


def test_match_folds_balanced_and_seeded():
    folds = match_folds(range(103), n_splits=5, seed=3)
    sizes = np.bincount(list(folds.values()))
    assert sizes.max() - sizes.min() <= 1
    assert folds == match_folds(range(103), n_splits=5, seed=3)
    assert folds != match_folds(range(103), n_splits=5, seed=4)
    with pytest.raises(ConfigError):
        match_folds(range(3), n_splits=5)


def test_oof_columns(oof):
    assert list(oof.columns) == [
        "match_id",
        "clock",
        "competition_id",
        "result",
        "fold",
        "model",
        "p_home",
        "p_draw",
        "p_away",
        "game_state",
        "red_card",
        "goals",
    ]


def test_each_match_in_one_fold(oof):
    assert (oof.groupby("match_id")["fold"].nunique() == 1).all()
    assert set(oof["fold"]) == set(range(5))


def test_every_row_predicted_once_per_model(snaps, oof):
    counts = oof.groupby("model").size()
    assert (counts == len(snaps)).all()
    assert set(counts.index) == set(MODELS3)
    p = oof[["p_home", "p_draw", "p_away"]].to_numpy()
    assert np.isfinite(p).all()
    assert np.allclose(p.sum(axis=1), 1.0)
    for _, part in oof.groupby("model"):
        np.testing.assert_array_equal(part["match_id"].to_numpy(), snaps["match_id"].to_numpy())
        np.testing.assert_array_equal(part["clock"].to_numpy(), snaps["clock"].to_numpy())
        np.testing.assert_array_equal(part["fold"].to_numpy(), oof["fold"].iloc[: len(snaps)])


def test_models_never_see_their_test_match(snaps):
    # Each fold's climatology must equal the class frequencies of the *other* folds' matches.
    oof = grouped_cv_predictions(snaps, ["climatology"], n_splits=4, seed=1)
    for _, part in oof.groupby("fold"):
        train = snaps[~snaps["match_id"].isin(part["match_id"])]
        freq = train["result"].value_counts(normalize=True)
        np.testing.assert_allclose(part["p_home"].iloc[0], freq.get("H", 0.0), atol=1e-5)


def test_unknown_model_and_missing_columns(snaps):
    with pytest.raises(ConfigError, match="valid models"):
        grouped_cv_predictions(snaps, ["nope"])
    with pytest.raises(ConfigError):
        grouped_cv_predictions(snaps.drop(columns="competition_id"), ["climatology"])


# ---- tables ----------------------------------------------------------------------------


def test_metrics_table(oof):
    table = metrics_table(oof)
    assert list(table["model"]) == list(MODELS3)
    for col in ("log_loss", "brier", "rps", "accuracy", "n_rows", "n_matches"):
        assert col in table.columns
    assert (table["n_matches"] == 120).all()
    base = table.set_index("model")
    assert base.loc["scoreboard", "log_loss_vs_scoreboard_pct"] == pytest.approx(0.0)
    expected = 100 * (base.loc["scoreboard", "log_loss"] - base.loc["state_mnlogit", "log_loss"])
    expected /= base.loc["scoreboard", "log_loss"]
    assert base.loc["state_mnlogit", "log_loss_vs_scoreboard_pct"] == pytest.approx(expected)
    # strong synthetic signal: the state model beats the constant forecast clearly
    assert base.loc["state_mnlogit", "log_loss"] < base.loc["climatology", "log_loss"] - 0.1


def test_metrics_table_without_baseline(oof):
    table = metrics_table(oof[oof["model"] == "climatology"])
    assert not any(c.endswith("_pct") for c in table.columns)


def test_clock_bins():
    labels = clock_bins(np.array([0, 14.9, 15, 45, 74.99, 75, 89.5, 90]))
    assert labels.tolist() == [
        "[0,15)",
        "[0,15)",
        "[15,30)",
        "[45,60)",
        "[60,75)",
        "[75,90]",
        "[75,90]",
        "[75,90]",
    ]


def test_metrics_by_bin(snaps, oof):
    table = metrics_by_bin(oof, width=15)
    assert len(table) == 3 * 6
    per_model = table[table["model"] == "scoreboard"]
    assert per_model["bin"].tolist() == [
        "[0,15)",
        "[15,30)",
        "[30,45)",
        "[45,60)",
        "[60,75)",
        "[75,90]",
    ]
    assert per_model["n_rows"].sum() == len(snaps)
    assert per_model["n_rows"].iloc[-1] == 16 * 120  # minutes 75..90
    assert (table[table["model"] == "scoreboard"]["log_loss_vs_scoreboard_pct"] == 0).all()
    # the score tells more late in the match
    assert per_model["log_loss"].iloc[-1] < per_model["log_loss"].iloc[0]


def test_paired_comparison(oof):
    comp = paired_comparison(oof)
    assert set(comp["model"]) == {"climatology", "state_mnlogit"}
    overall = metrics_table(oof).set_index("model")["log_loss"]
    row = comp.set_index("model").loc["state_mnlogit"]
    assert row["mean_diff"] == pytest.approx(overall["state_mnlogit"] - overall["scoreboard"])
    assert row["se"] > 0


def test_evaluate_end_to_end(tmp_path, snaps):
    path = tmp_path / "snaps.parquet"
    snaps.to_parquet(path)
    result = evaluate(path, MODELS3, n_splits=3, seed=0)
    assert isinstance(result, EvaluationResult)
    assert len(result.oof) == 3 * len(snaps)
    assert result.settings["n_matches"] == 120
    d = result.to_dict()
    text = json.dumps(d, allow_nan=False)
    assert "overall" in json.loads(text)
    assert {r["model"] for r in d["overall"]} == set(MODELS3)
    assert result.metrics_for("state_mnlogit")["n_matches"] == 120
    with pytest.raises(ConfigError):
        evaluate(tmp_path / "missing.parquet")


# ---- calibration, game state, competition, other splits ----------------------------------


def test_ece_hand_checked():
    # H forecast 0.8 four times, H happens 3 times: H error |0.8 - 0.75| = 0.05;
    # D forecast 0.1 (never happens): 0.1; A forecast 0.1, happens once: |0.1 - 0.25| = 0.15.
    p = [[0.8, 0.1, 0.1]] * 4
    y = ["H", "H", "H", "A"]
    assert class_ece(y, p) == pytest.approx({"H": 0.05, "D": 0.1, "A": 0.15})
    assert ece(y, p) == pytest.approx(0.1)
    assert ece(["H", "D", "A"], np.eye(3)) == pytest.approx(0.0)
    table = reliability_table(y, p, n_bins=10)
    assert set(table["outcome"]) == {"H", "D", "A"}
    assert table.loc[table["outcome"] == "H", "bin"].tolist() == [8]


def test_state_and_competition_tables(oof):
    by_state = metrics_by_state(oof)
    assert set(by_state["state"]) <= {"level", "one-goal", "two+", "red card"}
    per = by_state[(by_state["model"] == "scoreboard") & (by_state["state"] != "red card")]
    assert per["n_rows"].sum() == (oof["model"] == "scoreboard").sum()
    by_comp = metrics_by_competition(oof)
    assert set(by_comp["competition_id"]) == set(oof["competition_id"])
    assert (by_comp.loc[by_comp["model"] == "scoreboard", "log_loss_vs_scoreboard_pct"] == 0).all()


def test_game_state_labels():
    df = pd.DataFrame({"reg_home_goals": [0, 1, 3, 0], "reg_away_goals": [0, 0, 1, 2]})
    assert game_state(df).tolist() == ["level", "one-goal", "two+", "two+"]


def test_leave_one_competition_out(snaps):
    oof = grouped_cv_predictions(snaps, ["climatology"], split="competition")
    for comp, part in oof.groupby("competition_id"):
        assert part["fold"].nunique() == 1
        train = snaps[snaps["competition_id"] != comp]
        freq = train["result"].value_counts(normalize=True)
        np.testing.assert_allclose(part["p_home"].iloc[0], freq.get("H", 0.0), atol=1e-5)


def test_time_split_tests_only_later_matches(snaps):
    dated = snaps.assign(match_date=np.where(snaps["match_id"] < 1080, "2019-01-01", "2021-01-01"))
    oof = grouped_cv_predictions(dated, ["climatology"], split="time", cutoff="2020-01-01")
    assert set(oof["match_id"]) == set(range(1080, 1120))
    train = dated[dated["match_id"] < 1080]
    freq = train["result"].value_counts(normalize=True)
    np.testing.assert_allclose(oof["p_home"].iloc[0], freq.get("H", 0.0), atol=1e-5)
    with pytest.raises(ConfigError):
        grouped_cv_predictions(snaps, ["climatology"], split="time")
    with pytest.raises(ConfigError):
        grouped_cv_predictions(snaps, ["climatology"], split="row")


def test_evaluate_adds_baseline_and_calibration(snaps):
    result = evaluate(snaps, ["climatology"], n_splits=3, priors=False)
    assert list(result.overall["model"]) == ["scoreboard", "climatology"]
    assert "ece" in result.overall.columns
    assert set(result.calibration["model"]) == {"scoreboard", "climatology"}
    assert not result.by_state.empty and not result.by_competition.empty
    d = result.to_dict()
    assert {"by_state", "by_competition", "calibration"} <= set(d)
    fig = reliability_figure(result.oof)
    assert len(fig.data) == 2 * 3 + 3
    assert "StatsBomb" in str(fig.layout.annotations)


def test_time_split_without_cutoff_tests_from_the_median_date(snaps):
    # Regression: the default cutoff took the median of date strings, which pandas refuses.
    ids = sorted(snaps["match_id"].unique())
    dates = {m: f"2020-01-{1 + i % 28:02d}" if i < 28 else "2021-06-01" for i, m in enumerate(ids)}
    dated = snaps.assign(match_date=snaps["match_id"].map(dates))
    ordered = sorted(dates.values())
    cutoff = ordered[len(ordered) // 2]
    oof = grouped_cv_predictions(dated, ["climatology"], split="time")
    tested = {m for m, d in dates.items() if d >= cutoff}
    assert set(oof["match_id"]) == tested
    assert 0 < len(tested) < len(ids)

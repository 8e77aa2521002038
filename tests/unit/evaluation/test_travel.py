"""Top-label ECE and the travel tables (competition weighting, phases, calm), hand-checked."""

import numpy as np
import pandas as pd
import pytest

from inplay.evaluation.metrics import top_label_ece, top_label_reliability
from inplay.evaluation.travel import (
    movement_table,
    one_team_competitions,
    phase_mask,
    row_weights,
    travel_table,
)

# Two bins of top-label confidence used by several tests:
# group A: 2 rows, top class H at 0.9 (bin 4); results H, D -> observed 0.5, gap 0.4
# group B: 3 rows, top class A at 0.4 (bin 2); results A, H, H -> observed 1/3, gap 1/15
P_AB = [[0.9, 0.05, 0.05]] * 2 + [[0.3, 0.3, 0.4]] * 3
Y_AB = ["H", "D", "A", "H", "H"]


# ---- top-label ECE -----------------------------------------------------------------------


def test_top_label_ece_is_zero_when_calibrated():
    # bin 2: confidence 0.5, 1 hit of 2; bin 3: confidence 0.75, 3 hits of 4
    p = [[0.5, 0.3, 0.2]] * 2 + [[0.75, 0.15, 0.1]] * 4
    y = ["H", "D", "H", "H", "H", "A"]
    assert top_label_ece(y, p) == pytest.approx(0.0, abs=1e-12)
    table = top_label_reliability(y, p)
    assert table["bin"].tolist() == [2, 3]
    np.testing.assert_allclose(table["confidence"], [0.5, 0.75])
    np.testing.assert_allclose(table["observed"], [0.5, 0.75])
    np.testing.assert_allclose(table["weight"], [2 / 6, 4 / 6])
    assert table["n_rows"].tolist() == [2, 4]


def test_top_label_ece_hand_computed():
    # 2/5 * 0.4 + 3/5 * (0.4 - 1/3) = 0.16 + 0.04 = 0.2
    assert top_label_ece(Y_AB, P_AB) == pytest.approx(0.2)
    table = top_label_reliability(Y_AB, P_AB).set_index("bin")
    assert table.loc[4, "observed"] == pytest.approx(0.5)
    assert table.loc[2, "observed"] == pytest.approx(1 / 3)
    # letters or codes give the same
    assert top_label_ece([0, 1, 2, 0, 0], P_AB) == pytest.approx(0.2)


def test_top_label_ece_weights():
    # doubling group A: bin weights 4/7 and 3/7 -> 4/7 * 0.4 + 3/7 * 1/15 = 1.8 / 7
    w = [2, 2, 1, 1, 1]
    assert top_label_ece(Y_AB, P_AB, weights=w) == pytest.approx(1.8 / 7)
    # doubling only the hit of group A: its observed share is 2/3, gap 0.9 - 2/3 = 7/30,
    # and each bin weighs 3 -> 0.5 * 7/30 + 0.5 * 2/30 = 0.15
    w = [2, 1, 1, 1, 1]
    assert top_label_ece(Y_AB, P_AB, weights=w) == pytest.approx(0.15)
    table = top_label_reliability(Y_AB, P_AB, weights=w).set_index("bin")
    assert table.loc[4, "observed"] == pytest.approx(2 / 3)
    np.testing.assert_allclose(table["weight"], [0.5, 0.5])
    assert table.loc[4, "n_rows"] == 2  # a count of rows, not of weight
    # equal weights, whatever their scale, are no weights
    assert top_label_ece(Y_AB, P_AB, weights=[3.0] * 5) == pytest.approx(0.2)
    # a zero weight removes the row: group A is then one hit at 0.9 -> 1/4 * 0.1 + 3/4 * 1/15
    w = [1, 0, 1, 1, 1]
    assert top_label_ece(Y_AB, P_AB, weights=w) == pytest.approx(0.025 + 0.05)


@pytest.mark.parametrize(
    "weights",
    [[1, 1, 1, 1], [1, 1, 1, 1, 1, 1], [[1], [1], [1], [1], [1]], [1, -1, 1, 1, 1], [0] * 5],
    ids=["short", "long", "2d", "negative", "all_zero"],
)
def test_top_label_ece_bad_weights(weights):
    with pytest.raises(ValueError, match="weights"):
        top_label_ece(Y_AB, P_AB, weights=weights)
    with pytest.raises(ValueError, match="weights"):
        top_label_reliability(Y_AB, P_AB, weights=weights)


def test_top_label_bins_equal_width_five_by_default():
    p = [[0.35, 0.33, 0.32], [0.03, 0.95, 0.02], [0.0, 0.0, 1.0], [0.19, 0.8, 0.01]]
    y = ["H", "H", "A", "D"]
    table = top_label_reliability(y, p)
    # 0.35 -> bin 1; 0.8, 0.95 and 1.0 -> bin 4 (the last bin is closed at 1)
    assert table["bin"].tolist() == [1, 4]
    assert table["n_rows"].tolist() == [1, 3]
    top = table.set_index("bin").loc[4]
    assert top["confidence"] == pytest.approx((0.95 + 1.0 + 0.8) / 3)
    assert top["observed"] == pytest.approx(2 / 3)  # D at 0.95 missed, A and D hit
    # with ten bins 0.35 falls in bin 3 and 0.8 in bin 8
    assert top_label_reliability(y, p, n_bins=10)["bin"].tolist() == [3, 8, 9]


# ---- phases and weights ------------------------------------------------------------------


def test_phase_mask_bounds():
    clock = np.arange(91.0)
    assert np.flatnonzero(phase_mask(clock, "overall")).tolist() == list(range(91))
    assert np.flatnonzero(phase_mask(clock, "first_half")).tolist() == list(range(46))
    assert np.flatnonzero(phase_mask(clock, "second_half")).tolist() == list(range(46, 91))
    assert np.flatnonzero(phase_mask(clock, "final_10pct")).tolist() == list(range(81, 91))
    s = pd.Series([45.0, 46.0, 80.0, 81.0, 90.0])
    assert phase_mask(s, "first_half").tolist() == [True, False, False, False, False]
    assert phase_mask(s, "second_half").tolist() == [False, True, True, True, True]
    assert phase_mask(s, "final_10pct").tolist() == [False, False, False, True, True]


def test_row_weights():
    frame = pd.DataFrame({"competition_id": [7, 7, 7, 9, 5, 5]})
    w = row_weights(frame, "competition")
    # raw 1/3, 1/3, 1/3, 1, 1/2, 1/2 (sum 3), scaled to mean 1 by 6/3
    np.testing.assert_allclose(w, [2 / 3, 2 / 3, 2 / 3, 2.0, 1.0, 1.0])
    totals = pd.Series(w).groupby(frame["competition_id"]).sum()
    np.testing.assert_allclose(totals.to_numpy(), [2.0, 2.0, 2.0])
    assert w.mean() == pytest.approx(1.0)
    np.testing.assert_array_equal(row_weights(frame, "row"), np.ones(6))
    np.testing.assert_array_equal(row_weights(frame), w)  # competition is the default
    with pytest.raises(ValueError, match="weighting"):
        row_weights(frame, "match")


# ---- travel table ------------------------------------------------------------------------

TRAVEL_ROWS = pd.DataFrame(
    {
        "match_id": [1, 1, 2, 3],
        "competition_id": [10, 10, 10, 20],
        "clock": [10.0, 85.0, 50.0, 30.0],
        "result": ["H", "H", "D", "A"],
        "goals": [0, 0, 0, 0],
    }
)
P_SCOREBOARD = np.array([[0.45, 0.30, 0.25]] * 4)
P_BETTER = np.array([[0.6, 0.25, 0.15], [0.9, 0.07, 0.03], [0.3, 0.5, 0.2], [0.2, 0.3, 0.5]])


def travel_oof() -> pd.DataFrame:
    parts = []
    for name, p in (("scoreboard", P_SCOREBOARD), ("better", P_BETTER)):
        probs = pd.DataFrame(p, columns=["p_home", "p_draw", "p_away"])
        parts.append(TRAVEL_ROWS.assign(model=name).join(probs))
    return pd.concat(parts, ignore_index=True)


def test_travel_table_competition_weighted_log_loss():
    table = travel_table(travel_oof()).set_index("model")
    assert table.index.tolist() == ["scoreboard", "better"]
    assert table.loc["better", "n_matches"] == 3
    assert table.loc["better", "n_competitions"] == 2
    # competition 10: rows 0-2, competition 20: row 3; the mean of the two means
    for name, p in (("scoreboard", P_SCOREBOARD), ("better", P_BETTER)):
        row_loss = -np.log(p[[0, 1, 2, 3], [0, 0, 1, 2]])
        expected = np.mean([row_loss[:3].mean(), row_loss[3]])
        assert table.loc[name, "log_loss"] == pytest.approx(expected)
        by_row = travel_table(travel_oof(), weighting="row").set_index("model")
        assert by_row.loc[name, "log_loss"] == pytest.approx(row_loss.mean())
        assert by_row.loc[name, "log_loss"] != pytest.approx(expected)
    sb, better = table.loc["scoreboard", "log_loss"], table.loc["better", "log_loss"]
    assert table.loc["scoreboard", "log_loss_vs_scoreboard_pct"] == pytest.approx(0.0)
    assert table.loc["better", "log_loss_vs_scoreboard_pct"] == pytest.approx(
        100.0 * (1.0 - better / sb)
    )
    assert table.loc["better", "log_loss_vs_scoreboard_pct"] > 0
    assert "log_loss_vs_skellam_pct" not in table.columns  # no skellam rows
    # Brier of the scoreboard, competition-weighted: the H rows cost 0.55^2 + 0.3^2 + 0.25^2
    h, d, a = 0.4550, 0.45**2 + 0.7**2 + 0.25**2, 0.45**2 + 0.3**2 + 0.75**2
    assert table.loc["scoreboard", "brier"] == pytest.approx(np.mean([(2 * h + d) / 3, a]))


def test_travel_table_ece_by_phase():
    table = travel_table(travel_oof()).set_index("model")
    sb = table.loc["scoreboard"]
    # competition weights: 2/3 for each row of competition 10, 2 for the row of competition 20;
    # the scoreboard's top label is always H at 0.45 (bin 2)
    # overall: hits (rows 0, 1) weigh 4/3 of 4 -> |0.45 - 1/3|
    assert sb["ece_top"] == pytest.approx(0.45 - 1 / 3)
    # first half (rows 0 and 3): hit weighs 2/3 of 8/3 -> |0.45 - 0.25|
    assert sb["ece_top_first_half"] == pytest.approx(0.2)
    # second half (rows 1 and 2): one hit in two equal weights -> |0.45 - 0.5|
    assert sb["ece_top_second_half"] == pytest.approx(0.05)
    # final 10 % (row 1 only): a hit -> |0.45 - 1|
    assert sb["ece_top_final_10pct"] == pytest.approx(0.55)
    # with equal row weights, the first half is one hit of two
    by_row = travel_table(travel_oof(), weighting="row").set_index("model")
    assert by_row.loc["scoreboard", "ece_top_first_half"] == pytest.approx(0.05)


def test_travel_table_phase_without_rows_is_nan():
    oof = travel_oof()
    oof = oof[oof["clock"] < 80]
    table = travel_table(oof).set_index("model")
    assert np.isnan(table.loc["scoreboard", "ece_top_final_10pct"])
    assert np.isfinite(table.loc["scoreboard", "ece_top_first_half"])


# ---- movement ----------------------------------------------------------------------------


def movement_oof() -> pd.DataFrame:
    # match 1: minutes 0-3, a goal in minute 2; match 2 starts at minute 4 (one minute after
    # match 1 ends, same goal count: only the match id separates them), then 46 and 47.
    base = pd.DataFrame(
        {
            "match_id": [1, 1, 1, 1, 2, 2, 2, 2],
            "competition_id": 1,
            "clock": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 46.0, 47.0],
            "goals": [0, 0, 1, 1, 1, 1, 1, 1],
            "result": "H",
        }
    )
    p_model = [0.50, 0.52, 0.70, 0.71, 0.20, 0.23, 0.40, 0.35]
    p_ref = [0.50, 0.51, 0.80, 0.81, 0.30, 0.31, 0.50, 0.52]
    parts = []
    for name, p in (("model", p_model), ("scoreboard_xg", p_ref)):
        ph = np.array(p)
        parts.append(base.assign(model=name, p_home=ph, p_draw=(1 - ph) / 2, p_away=(1 - ph) / 2))
    oof = pd.concat(parts, ignore_index=True)
    return oof.sample(frac=1.0, random_state=3)  # order must not matter


def test_movement_table_steps_and_ratios():
    table = movement_table(movement_oof()).set_index("model")
    # kept steps of "model": minute 1 (0.02), minute 3 (0.01), minute 5 (0.03); minute 47 (0.05)
    # dropped: minute 2 (goal), minute 4 (new match), minute 46 (41-minute gap)
    assert table.loc["model", "dp_1_15"] == pytest.approx(2.0)
    assert table.loc["model", "dp_46_75"] == pytest.approx(5.0)
    assert np.isnan(table.loc["model", "dp_16_45"])
    assert np.isnan(table.loc["model", "dp_76_90"])
    # the reference moves 0.01 per kept step early and 0.02 at minute 47
    assert table.loc["scoreboard_xg", "dp_1_15"] == pytest.approx(1.0)
    assert table.loc["scoreboard_xg", "dp_46_75"] == pytest.approx(2.0)
    assert table.loc["model", "ratio_1_15"] == pytest.approx(2.0)
    assert table.loc["model", "ratio_46_75"] == pytest.approx(2.5)
    assert table.loc["scoreboard_xg", "ratio_1_15"] == pytest.approx(1.0)
    assert np.isnan(table.loc["model", "ratio_16_45"])


def test_movement_table_without_reference():
    oof = movement_oof()
    no_ratio = movement_table(oof, reference=None)
    assert not [c for c in no_ratio.columns if c.startswith("ratio_")]
    missing = movement_table(oof[oof["model"] == "model"])
    assert not [c for c in missing.columns if c.startswith("ratio_")]
    assert missing["dp_1_15"].iloc[0] == pytest.approx(2.0)
    other = movement_table(oof, reference="model").set_index("model")
    assert other.loc["scoreboard_xg", "ratio_1_15"] == pytest.approx(0.5)


# ---- one-team competitions ---------------------------------------------------------------


def test_one_team_competitions():
    matches = pd.DataFrame(
        {
            # competition 1: Barcelona in every match; 2: A, B, C in turn; 3: one match only
            "match_id": [1, 2, 3, 4, 5, 6, 7],
            "competition_id": [1, 1, 1, 2, 2, 2, 3],
            "home_team": ["Barcelona", "Getafe", "Barcelona", "A", "B", "C", "E"],
            "away_team": ["Sevilla", "Barcelona", "Eibar", "B", "C", "A", "F"],
        }
    )
    assert one_team_competitions(matches) == {1: "Barcelona"}
    # snapshot rows repeat a match many times: still one match each
    snaps = matches.loc[matches.index.repeat(5)].reset_index(drop=True)
    assert one_team_competitions(snaps) == {1: "Barcelona"}
    # one extra match without Barcelona makes competition 1 mixed
    extra = pd.DataFrame(
        {"match_id": [8], "competition_id": [1], "home_team": ["Getafe"], "away_team": ["Eibar"]}
    )
    assert one_team_competitions(pd.concat([matches, extra])) == {}
    assert one_team_competitions(matches.drop(columns=["home_team", "away_team"])) == {}
    assert one_team_competitions(matches.drop(columns=["away_team"])) == {}


def test_class_ece_takes_weights():
    from inplay.evaluation.metrics import ece, reliability_table

    # Rows 0-1 say H at 0.6 (bin 6) and both end H; row 2 says H at 0.6 and ends A.
    p = np.array([[0.6, 0.2, 0.2], [0.6, 0.2, 0.2], [0.6, 0.2, 0.2]])
    y = np.array(["H", "H", "A"])
    plain = ece(y, p)
    # Unweighted: H bin: observed 2/3 vs 0.6; D: 0 vs 0.2; A: 1/3 vs 0.2.
    assert plain == pytest.approx(np.mean([2 / 3 - 0.6, 0.2, 1 / 3 - 0.2]))
    # Weight 2 on the away win: H observed 2/4, A observed 2/4.
    weighted = ece(y, p, weights=[1.0, 1.0, 2.0])
    assert weighted == pytest.approx(np.mean([0.6 - 0.5, 0.2, 0.5 - 0.2]))
    table = reliability_table(y, p, weights=[1.0, 1.0, 2.0])
    assert table.loc[table["outcome"] == "H", "weight"].iloc[0] == pytest.approx(4.0)
    assert table.loc[table["outcome"] == "H", "n_rows"].iloc[0] == 3
    with pytest.raises(ValueError, match="weights"):
        ece(y, p, weights=[1.0, -1.0, 1.0])

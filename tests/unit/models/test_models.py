import json
import pickle

import numpy as np
import pandas as pd
import pytest
from synthetic import make_snapshots

from inplay.config import ConfigError
from inplay.evaluation.evaluate import log_loss
from inplay.models import (
    CLASSES,
    EPS,
    MODELS,
    PROB_COLUMNS,
    BoostedModel,
    OutcomeModel,
    encode_result,
    load_model,
    make_model,
    prepare_snapshots,
    save_model,
)

ALL = sorted(MODELS)


def quick_model(name: str) -> OutcomeModel:
    """A registry model; boosted ones with few, large-leaved trees to keep the tests fast."""
    model = make_model(name)
    if isinstance(model, BoostedModel):
        model.params = {**BoostedModel.params, "max_iter": 20, "min_samples_leaf": 100}
    return model


@pytest.fixture(scope="module")
def snaps() -> pd.DataFrame:
    return make_snapshots(n_matches=120, seed=1, extra_time_share=1.0)


@pytest.fixture(scope="module")
def fitted(snaps) -> dict[str, OutcomeModel]:
    return {name: quick_model(name).fit(snaps) for name in ALL}


def test_class_order():
    assert CLASSES == ("H", "D", "A")
    assert PROB_COLUMNS == ("p_home", "p_draw", "p_away")


def test_registry_and_unknown_name():
    assert {"climatology", "scoreboard", "state_mnlogit"} <= set(MODELS)
    for name in MODELS:
        model = make_model(name)
        assert isinstance(model, OutcomeModel)
        assert model.name == name
    with pytest.raises(ConfigError) as err:
        make_model("nope")
    for name in MODELS:
        assert name in str(err.value)


def test_encode_result():
    assert encode_result(["H", "D", "A"]).tolist() == [0, 1, 2]
    assert encode_result(np.array([2, 0])).tolist() == [2, 0]
    with pytest.raises(ValueError):
        encode_result(["X"])


@pytest.mark.parametrize("name", ALL)
def test_probabilities_are_valid(fitted, snaps, name):
    p = fitted[name].predict_proba(snaps)
    assert p.shape == (len(snaps), 3)
    assert np.allclose(p.sum(axis=1), 1.0)
    assert np.all(p >= EPS * 0.99)
    assert np.all(p < 1.0)
    frame = fitted[name].predict_frame(snaps.head(5))
    assert list(frame.columns) == list(PROB_COLUMNS)


@pytest.mark.parametrize("name", ALL)
def test_extra_time_rows_are_one_hot(fitted, snaps, name):
    et = snaps[snaps["period"] >= 3]
    assert len(et) > 0
    p = fitted[name].predict_proba(et)
    # all extra-time rows are regulation draws in the synthetic data
    assert np.allclose(p[:, 1], 1 - 2e-6, atol=1e-9)
    assert np.allclose(p[:, [0, 2]], 1e-6, atol=1e-9)
    # a hand-made extra-time row with a regulation home lead is a home win
    row = et.iloc[[0]].copy()
    row["reg_home_goals"] = row["reg_away_goals"] + 1
    row["away_goals"] = row["home_goals"] + 3  # the current score does not matter
    assert fitted[name].predict_proba(row).argmax() == 0


def test_extra_time_rows_not_used_for_fitting(snaps):
    reg_only = snaps[snaps["period"] <= 2]
    a = make_model("scoreboard").fit(snaps)
    b = make_model("scoreboard").fit(reg_only)
    assert a.n_train_rows == len(reg_only)
    np.testing.assert_allclose(a.predict_proba(reg_only), b.predict_proba(reg_only))


def test_climatology_is_class_frequency(fitted, snaps):
    reg = snaps[snaps["period"] <= 2]
    freq = reg["result"].value_counts(normalize=True)
    p = fitted["climatology"].predict_proba(reg.head(3))
    expected = np.array([freq.get(c, 0.0) for c in CLASSES])
    np.testing.assert_allclose(p[0], expected / expected.sum(), atol=1e-5)


def test_goal_lead_late_is_near_certain(fitted, snaps):
    row = snaps[snaps["clock"] == 89].iloc[[0]].copy()
    row[["reg_home_goals", "reg_away_goals", "home_goals", "away_goals"]] = [3, 0, 3, 0]
    for name in ("scoreboard", "state_mnlogit"):
        assert fitted[name].predict_proba(row)[0, 0] > 0.9


def test_state_beats_climatology_and_scoreboard_in_sample(snaps):
    train = make_snapshots(n_matches=300, seed=2, strength=2.0)
    test = make_snapshots(n_matches=150, seed=3, strength=2.0)
    y = test["result"].to_numpy()
    losses = {
        name: log_loss(y, make_model(name).fit(train).predict_proba(test))
        for name in ("climatology", "scoreboard", "state_mnlogit")
    }
    assert losses["state_mnlogit"] < losses["climatology"] - 0.1
    assert losses["scoreboard"] < losses["climatology"]


def test_prediction_request_fields_only(fitted):
    request = pd.DataFrame(
        [
            {
                "home_goals": 2,
                "away_goals": 0,
                "current_minute": 80,
                "home_shots": 10,
                "away_shots": 4,
                "home_shots_on_target": 5,
                "away_shots_on_target": 1,
                "home_possession": 55.0,
                "away_possession": 45.0,
                "home_xg": 1.8,
                "away_xg": 0.4,
            }
        ]
    )
    state = prepare_snapshots(request)
    assert state.loc[0, "clock"] == 80 and state.loc[0, "period"] == 2
    for model in fitted.values():
        p = model.predict_proba(request)
        assert p.shape == (1, 3) and np.isclose(p.sum(), 1.0)
    assert fitted["state_mnlogit"].predict_proba(request)[0, 0] > 0.8


def test_unfitted_model_raises(snaps):
    with pytest.raises(ConfigError):
        make_model("state_mnlogit").predict_proba(snaps.head())


def test_fit_needs_result(snaps):
    with pytest.raises(ConfigError):
        make_model("scoreboard").fit(snaps.drop(columns="result"))


@pytest.mark.parametrize("name", ALL)
def test_save_load_roundtrip(tmp_path, fitted, snaps, name):
    model = fitted[name]
    info = {"matches": 120, "rows": len(snaps), "competitions": [11, 16, 43]}
    out = save_model(model, tmp_path, data_info=info, metrics={"log_loss": 0.5})
    assert out == tmp_path / name
    assert (out / "model.pkl").is_file()
    card = json.loads((out / "model_card.json").read_text())
    for key in (
        "name",
        "version",
        "content_hash",
        "features",
        "classes",
        "trained_at",
        "data_info",
        "metrics",
        "library_versions",
    ):
        assert key in card
    assert card["name"] == name
    assert card["classes"] == ["H", "D", "A"]
    assert card["features"] == list(model.features)
    assert card["data_info"] == info
    assert card["metrics"] == {"log_loss": 0.5}
    assert card["version"].startswith(f"{name}-")
    assert card["content_hash"].split(":")[1][:12] in card["version"]
    for lib in ("python", "pandas", "numpy", "statsmodels", "scikit-learn", "inplay"):
        assert lib in card["library_versions"]

    for path in (out, out / "model.pkl"):
        loaded = load_model(path)
        assert loaded.version == card["version"] == model.version
        np.testing.assert_array_equal(loaded.predict_proba(snaps), model.predict_proba(snaps))


def test_pickle_is_small(tmp_path, fitted):
    out = save_model(fitted["state_mnlogit"], tmp_path, data_info={})
    assert (out / "model.pkl").stat().st_size < 20_000
    assert isinstance(pickle.loads((out / "model.pkl").read_bytes()), OutcomeModel)


def test_load_missing_model_says_run_fit(tmp_path):
    with pytest.raises(ConfigError, match="inplay fit"):
        load_model(tmp_path / "state_mnlogit")
    with pytest.raises(ConfigError, match="inplay fit"):
        load_model(tmp_path / "model.pkl")


def test_save_unfitted_raises(tmp_path):
    with pytest.raises(ConfigError):
        save_model(make_model("climatology"), tmp_path, data_info={})


def test_coefficients_unscaled_match_predictions(fitted, snaps):
    model = fitted["scoreboard"]
    coef = model.coefficients()
    state = prepare_snapshots(snaps.head(50))
    x = model.design(state)[model.features].to_numpy()
    eta = coef.loc["const"].to_numpy() + x @ coef.loc[model.features].to_numpy()
    logits = np.column_stack([np.zeros(len(x)), eta])
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(model.predict_proba(snaps.head(50)), p, atol=1e-5)

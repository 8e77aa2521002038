"""The per-competition adapter: no change cold, learns sharpness and draws from ended matches."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from inplay.models.adapt import CompetitionAdapter, adapt_in_date_order, adjust


def test_adjust_identity_and_direction():
    p = np.array([[0.5, 0.3, 0.2], [0.2, 0.3, 0.5]])
    np.testing.assert_allclose(adjust(p, 1.0, 0.0), p)
    sharp = adjust(p, 2.0, 0.0)
    assert (sharp.max(axis=1) > p.max(axis=1)).all()
    np.testing.assert_allclose(sharp.sum(axis=1), 1.0)
    drawier = adjust(p, 1.0, 0.5)
    assert (drawier[:, 1] > p[:, 1]).all()
    # The draw's odds against each other result grow by exactly exp(0.5).
    np.testing.assert_allclose(drawier[:, 1] / drawier[:, 0], np.exp(0.5) * p[:, 1] / p[:, 0])


def test_cold_start_changes_nothing():
    p = np.array([[0.6, 0.25, 0.15]])
    adapter = CompetitionAdapter()
    assert adapter.params(99) == (1.0, 0.0)
    np.testing.assert_allclose(adapter.transform(p, 99, np.array([0.3])), p)


T = np.linspace(0.0, 1.0, 5)


def _teach(adapter, comp, p, results):
    for result in results:
        adapter.update(comp, np.tile(p, (5, 1)), T, result)


def test_learns_sharper_when_the_favourite_always_wins():
    adapter = CompetitionAdapter()
    _teach(adapter, 1, np.array([0.5, 0.3, 0.2]), ["H"] * 40)
    a, _ = adapter.params(1)
    assert a > 1.2
    assert adapter.params(2) == (1.0, 0.0)  # another competition is untouched


def test_learns_more_draws_when_draws_come_more_often_than_said():
    adapter = CompetitionAdapter()
    results = ["D", "D", "H", "A"] * 10  # 50 % draws against 20 % stated
    _teach(adapter, 1, np.array([0.4, 0.2, 0.4]), results)
    _, b = adapter.params(1)
    assert b > 0.3
    assert adapter.transform(np.array([[0.4, 0.2, 0.4]]), 1, np.array([0.5]))[0, 1] > 0.3


def test_few_matches_move_little():
    one = CompetitionAdapter()
    _teach(one, 1, np.array([0.5, 0.3, 0.2]), ["H"])
    many = CompetitionAdapter()
    _teach(many, 1, np.array([0.5, 0.3, 0.2]), ["H"] * 40)
    assert 1.0 < one.params(1)[0] < many.params(1)[0]


def test_adapt_in_date_order_uses_only_earlier_matches():
    rows = []
    for m in (1, 2, 3):
        for clock in range(3):
            rows.append((m, clock, 7, "H", 0.5, 0.3, 0.2))
    oof = pd.DataFrame(
        rows,
        columns=["match_id", "clock", "competition_id", "result", "p_home", "p_draw", "p_away"],
    ).assign(model="m")
    dates = {1: "2020-01-03", 2: "2020-01-01", 3: "2020-01-02"}
    out = adapt_in_date_order(oof, dates)
    first = out[out["match_id"] == 2]  # the earliest match: cold start, unchanged
    np.testing.assert_allclose(first["p_home"], 0.5)
    second = out[out["match_id"] == 3]["p_home"].iloc[0]
    third = out[out["match_id"] == 1]["p_home"].iloc[0]
    assert 0.5 < second < third  # more home wins seen, more confidence
    assert out["p_home"].add(out["p_draw"]).add(out["p_away"]).to_numpy() == pytest.approx(1.0)

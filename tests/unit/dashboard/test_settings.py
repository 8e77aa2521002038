"""The dashboard's settings: what a refresh may spend reading Kafka."""

from __future__ import annotations

import pytest

from inplay.dashboard import AppSettings


@pytest.mark.parametrize(("refresh", "budget"), [(0.5, 0.25), (1.0, 0.5), (2.0, 1.0), (10.0, 1.5)])
def test_a_refresh_reads_for_at_most_half_its_interval(refresh, budget):
    # A CI run once lost the live table for over 5 s mid-redraw: with refresh 1 s the page read
    # Kafka for the whole second, so every refresh outlasted its interval under load.
    assert AppSettings(refresh=refresh).poll_budget == pytest.approx(budget)

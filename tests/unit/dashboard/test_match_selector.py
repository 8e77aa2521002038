"""The dashboard's match selector (inplay.dashboard.selection), one refresh at a time.

Each step is what Streamlit does on a refresh: the browser's selector value lands in the
session, ``on_change`` runs when that value changed, then the page settles the selection
before drawing the widget.
"""

from __future__ import annotations

from inplay.dashboard.selection import (
    CHOSEN,
    SELECT,
    record_choice,
    settle_selection,
    wanted_match,
)


def refresh(state: dict, options: list[int], url: int | None, sent: int | None = None) -> int:
    """One refresh; ``sent``: the value the browser sends (None: as the server left it)."""
    if sent is not None and sent != state.get(SELECT):
        state[SELECT] = sent
        record_choice(state, options)
    settle_selection(state, options, url)
    return state[SELECT]


def test_the_url_match_is_shown_as_soon_as_it_is_live():
    state: dict = {}
    assert refresh(state, [202], url=201) == 202  # not live yet: the first match
    assert refresh(state, [202, 201], url=201) == 201
    assert refresh(state, [202, 201], url=201, sent=201) == 201
    assert CHOSEN not in state


def test_a_refresh_sent_before_the_browser_saw_the_switch_does_not_undo_it():
    # Seen in the browser test under CPU load: the page stayed on match 202 for good.
    state: dict = {}
    refresh(state, [202], url=201)
    assert refresh(state, [202, 201], url=201) == 201  # the automatic switch
    assert refresh(state, [202, 201], url=201, sent=202) == 201  # stale: not a choice
    assert CHOSEN not in state and wanted_match(state, 201) == 201
    assert refresh(state, [202, 201], url=201, sent=201) == 201  # the browser caught up


def test_the_viewers_choice_wins_over_the_url_once_the_switch_was_seen():
    state: dict = {}
    refresh(state, [202], url=201)
    refresh(state, [202, 201], url=201)
    refresh(state, [202, 201], url=201, sent=201)  # acknowledged
    assert refresh(state, [202, 201], url=201, sent=202) == 202  # a real choice
    assert state[CHOSEN] == 202
    for _ in range(3):
        assert refresh(state, [202, 201], url=201) == 202
    assert refresh(state, [202, 201, 203], url=201, sent=203) == 203


def test_a_selection_that_is_no_longer_live_falls_back_to_the_first_match():
    state: dict = {SELECT: 999}
    assert refresh(state, [7, 8], url=None) == 7
    assert record_choice({SELECT: 999}, [7, 8]) is None

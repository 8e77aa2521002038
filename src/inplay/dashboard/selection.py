"""Which match the dashboard shows: the viewer's choice, else ``?match=ID``, else the first.

The selector's value lives in the session (``match_select``) and is set on every refresh
before the widget is drawn (:func:`settle_selection`), because a widget otherwise keeps its
first value: a page opened with ``?match=201`` while only another match had predictions would
stay on that other match. A choice the viewer makes is remembered (:func:`record_choice`, the
widget's ``on_change``) and wins over the URL from then on.

One race needs care. A refresh that the browser requested before it saw an automatic switch
carries the selector's value from before the switch; Streamlit takes that as a change and
calls ``on_change``. Remembered as the viewer's choice, it would undo the switch for good (the
browser test caught it under CPU load: the page stayed on the first match). So the value
before an automatic switch is kept (``match_switched_from``) until the browser sends the new
one, and an ``on_change`` that brings back exactly that value is not taken as a choice.

Pure functions over a mapping (``st.session_state`` in the app), tested without Streamlit.
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from typing import Any

__all__ = ["SELECT", "CHOSEN", "SWITCHED_FROM", "wanted_match", "settle_selection", "record_choice"]

SELECT = "match_select"
"""Session key of the selector widget's value."""
CHOSEN = "selected_match"
"""Session key of the match the viewer chose."""
SWITCHED_FROM = "match_switched_from"
"""Session key of the selector's value before the last automatic switch, until acknowledged."""


def wanted_match(state: MutableMapping[str, Any], url_match: int | None) -> int | None:
    """The match this viewer wants: the one they chose, else the URL's ``?match=``."""
    chosen = state.get(CHOSEN)
    return url_match if chosen is None else chosen


def settle_selection(
    state: MutableMapping[str, Any], options: Sequence[int], url_match: int | None
) -> None:
    """Set the selector's value for this refresh, before the widget is drawn.

    Args:
        state: The session state.
        options: The live matches, in the selector's order (not empty).
        url_match: The URL's ``?match=`` (None when absent or not a number).
    """
    wanted = wanted_match(state, url_match)
    current = state.get(SELECT)
    if current == wanted:
        state.pop(SWITCHED_FROM, None)  # the browser has sent the switched value back
    if wanted in options and current != wanted:
        state[SWITCHED_FROM] = current
        state[SELECT] = wanted
    elif current not in options:
        state[SELECT] = options[0]


def record_choice(state: MutableMapping[str, Any], options: Sequence[int]) -> int | None:
    """The selector's ``on_change``: remember the viewer's choice.

    Returns:
        The match remembered, or None: not a live match, or the value from before an
        automatic switch that the browser sent before it saw the switch (not a choice).
    """
    chosen = state.get(SELECT)
    if chosen not in options:
        return None
    if SWITCHED_FROM in state and chosen == state[SWITCHED_FROM]:
        return None
    state[CHOSEN] = chosen
    state.pop(SWITCHED_FROM, None)
    return chosen

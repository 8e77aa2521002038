"""The Streamlit page: live matches, win probability and xG, scorer health, model quality.

Run it with ``streamlit run src/inplay/dashboard/app.py`` (or :func:`inplay.dashboard.launch`,
or ``python -m inplay.dashboard.run`` for the whole demo). Settings come from the environment:
see :class:`inplay.dashboard.AppSettings`.

One :class:`~inplay.dashboard.feed.LiveFeed` per server process is shared by every viewer
(``st.cache_resource``); a fragment re-runs every ``refresh`` seconds, polls what arrived since
the last refresh and redraws. Nothing is re-read from the start of the topics.
"""

from __future__ import annotations

import logging
import time

import pandas as pd
import streamlit as st

from inplay import config
from inplay.dashboard import AppSettings, selection
from inplay.dashboard import quality as model_quality
from inplay.dashboard.feed import LiveFeed
from inplay.dashboard.views import (
    ago,
    match_label,
    matches_table_html,
    percent,
    swings_table_html,
    xg_figure,
)
from inplay.evaluation.wpa import prediction_swings
from inplay.models.markets import top_scores_of_predictions
from inplay.reporting.mlops_plots import live_quality_figure
from inplay.reporting.plots import CREDIT, match_minutes, win_probability_figure

log = logging.getLogger("inplay.dashboard")

st.set_page_config(
    page_title="inplay: live win probabilities", page_icon=":material/sports_soccer:", layout="wide"
)


@st.cache_resource(show_spinner=False)
def get_feed(
    bootstrap: str | None,
    results_topic: str,
    monitoring_topic: str,
    since: float | None,
    start: str,
) -> LiveFeed:
    """The feed shared by every session of this server process (one per settings)."""
    return LiveFeed(
        bootstrap,
        results_topic,
        monitoring_topic,
        since=since,
        start=start,
        client_id=config.DASHBOARD_GROUP,
    )


def _url_match() -> int | None:
    """``?match=ID`` from the URL (None when absent or not a number)."""
    try:
        return int(st.query_params.get("match", ""))
    except ValueError:
        return None


def _selected_match(options: list[int], labels: dict[int, str]) -> int:
    """The match selector: the viewer's choice (or ``?match=``) as soon as that match is live.

    See :mod:`inplay.dashboard.selection`. Labels must not change while a match is live (the
    browser sends the chosen label back), so they carry no score.
    """
    selection.settle_selection(st.session_state, options, _url_match())

    def remember() -> None:
        chosen = selection.record_choice(st.session_state, options)
        if chosen is not None:
            st.query_params["match"] = str(chosen)

    return st.selectbox(
        "Match",
        options,
        format_func=lambda m: labels.get(m, str(m)),
        key=selection.SELECT,
        on_change=remember,
    )


def _delta(frame: pd.DataFrame, column: str, minutes: float = 5.0) -> str | None:
    """Change of ``column`` over the last ``minutes`` match minutes, in percentage points."""
    if len(frame) < 2:
        return None
    ordered = frame.sort_values(["period", "elapsed_seconds", "event_index"]).reset_index(drop=True)
    x = match_minutes(ordered)
    earlier = ordered[x <= x.iloc[-1] - minutes]
    if earlier.empty:
        earlier = ordered.iloc[:1]
    change = float(frame[column].iloc[-1]) - float(earlier[column].iloc[-1])
    return f"{change * 100:+.1f} pp in {minutes:.0f} min"


def _status(feed: LiveFeed, settings: AppSettings) -> bool:
    """Say what is missing (broker, topics, data); True when there is something to show."""
    has_data = bool(feed.match_ids())
    if feed.connected_to is None:
        target = settings.bootstrap or "the embedded broker (data/broker.json)"
        st.error(
            f"**No Kafka broker.** Could not connect to {target}: {feed.error or 'not tried yet'}"
            "\n\nStart one (`inplay broker start`, `make dashboard`, or `make kafka-up` and "
            "`KAFKA_BOOTSTRAP_SERVERS=localhost:9092`); this page retries by itself.",
            icon=":material/cloud_off:",
        )
        return has_data
    if feed.error:
        st.warning(f"Kafka: {feed.error}. Retrying.", icon=":material/warning:")
    elif not feed.reachable() and has_data:
        st.warning(
            f"Lost the connection to {feed.connected_to}; showing what was read so far.",
            icon=":material/warning:",
        )
    if feed.missing_topics:
        st.warning(
            f"Connected to `{feed.connected_to}`, but topic(s) "
            f"{', '.join(f'`{t}`' for t in feed.missing_topics)} do not exist yet. "
            "Create them with `inplay topics create`.",
            icon=":material/topic:",
        )
    if not has_data:
        st.info(
            f"Connected to `{feed.connected_to}`. **No predictions yet** on "
            f"`{settings.results_topic}`: waiting for live matches. Start a replay and the "
            "scorer (`inplay replay --demo --speed 30` and `inplay score`, or "
            "`make dashboard`).",
            icon=":material/hourglass_empty:",
        )
    return has_data


def _match_panel(feed: LiveFeed, matches: pd.DataFrame) -> None:
    labels = {
        int(r["match_id"]): f"{match_label(r, with_score=False)} · match {int(r['match_id'])}"
        for r in matches.to_dict("records")
    }
    options = [int(m) for m in matches["match_id"]]
    match_id = _selected_match(options, labels)
    frame = feed.match_results(match_id)
    if frame.empty:
        return
    last = frame.iloc[-1]
    home, away = last["home_team"], last["away_team"]
    cols = st.columns(5)
    cols[0].metric("Score", f"{int(last['home_goals'])} - {int(last['away_goals'])}")
    cols[1].metric("Minute", f"{int(last['minute'])}'", help="StatsBomb match minute")
    for col, key, name in (
        (cols[2], "p_home", f"{home} win"),
        (cols[3], "p_draw", "Draw"),
        (cols[4], "p_away", f"{away} win"),
    ):
        col.metric(name, percent(last[key]), delta=_delta(frame, key), delta_color="off")
    _markets_panel(last, home, away)
    left, right = st.columns([3, 2])
    with left:
        fig = win_probability_figure(frame, match_id)
        st.plotly_chart(fig, config={"displayModeBar": False})
    with right:
        st.plotly_chart(xg_figure(frame), config={"displayModeBar": False})
    _swings_panel(frame)


def _present(value) -> bool:
    return value is not None and value == value  # not None, not NaN


def _markets_panel(last: pd.Series, home: str, away: str) -> None:
    """Who goes through and the goal markets of the latest prediction.

    Who goes through: knockout matches only; the markets are null when the model has no goal
    rates. Nothing is drawn when there is neither.
    """
    shown = []
    if _present(last.get("p_advance_home")):
        shown.append(
            (f"{home} through", percent(last["p_advance_home"]), "extra time and shoot-out")
        )
        shown.append((f"{away} through", percent(last["p_advance_away"]), None))
    if _present(last.get("p_over_2_5")):
        shown += [
            ("Over 2.5 goals", percent(last["p_over_2_5"]), "total goals after 90 minutes"),
            ("Both score", percent(last["p_btts"]), "both teams score in the 90 minutes"),
            (
                "Next goal",
                f"{percent(last['p_next_home'])} / {percent(last['p_next_none'])} / "
                f"{percent(last['p_next_away'])}",
                f"{home} / none / {away}",
            ),
            (
                "Expected score",
                f"{float(last['exp_home_goals']):.1f} - {float(last['exp_away_goals']):.1f}",
                "expected goals after 90 minutes, the score so far included",
            ),
            ("Likeliest scores", _likeliest(last), "the three most likely scores after 90 minutes"),
        ]
    if not shown:
        return
    for col, (label, value, help_text) in zip(st.columns(len(shown)), shown, strict=True):
        col.metric(label, value, help=help_text)


def _likeliest(last: pd.Series, k: int = 3) -> str:
    """The ``k`` most likely final regulation scores of a prediction, e.g. ``1-0 27 %``."""
    top = top_scores_of_predictions(last.to_frame().T, k)
    return " · ".join(
        f"{int(r['home_goals'])}-{int(r['away_goals'])} {float(r['p']) * 100:.0f} %"
        for r in top.to_dict("records")
    )


def _swings_panel(frame: pd.DataFrame) -> None:
    """The predictions that moved the selected match most (expected points, 3 P(win) + P(draw))."""
    swings = prediction_swings(frame, n=5)
    if swings.empty:
        return
    st.markdown("**Biggest swings** (expected points gained, 3 × P(win) + P(draw))")
    st.html(swings_table_html(swings))


def _monitoring_panel(feed: LiveFeed) -> None:
    summary = feed.monitoring()
    st.subheader("Scorer health")
    if summary.workers == 0:
        st.caption(
            "No statistics on the monitoring topic yet (the scorer sends them every few seconds)."
        )

    def ms(value: float | None) -> str:
        return "–" if value is None else f"{value:,.0f} ms"

    cols = st.columns(6)
    rate = summary.events_per_second
    cols[0].metric(
        "Events/s",
        "–" if rate is None else f"{rate:,.1f}",
        help="Events the scorer consumed per second over its last statistics interval. "
        f"Per busy second since it started: {summary.busy_events_per_second or 0:,.0f}.",
    )
    cols[1].metric("Latency p50", ms(summary.latency_p50_ms), help="event sent -> scored")
    cols[2].metric("Latency p99", ms(summary.latency_p99_ms), help="event sent -> scored")
    cols[3].metric("Consumer lag", f"{summary.lag:,}", help="events waiting for the scorer")
    cols[4].metric(
        "Quarantined",
        f"{max(summary.quarantined, summary.quarantine_seen):,}",
        help="messages the scorer could not use (reason below)",
    )
    cols[5].metric(
        "Predictions read",
        f"{feed.received:,}",
        help=f"{feed.duplicates:,} duplicates dropped (at-least-once delivery)",
    )
    versions = ", ".join(summary.model_versions) or "–"
    st.caption(
        f"{summary.workers} scoring worker(s); consumed {summary.consumed:,}, scored "
        f"{summary.scored:,}, duplicates {summary.duplicates:,}, late {summary.late:,}; "
        f"model {versions}; last statistics {ago(summary.stats_age_s)}."
    )
    if summary.quarantine:
        st.markdown("**Quarantined messages** (newest first)")
        table = pd.DataFrame(summary.quarantine)
        table["at"] = pd.to_datetime(table["at"], unit="s", errors="coerce").dt.strftime("%H:%M:%S")
        st.dataframe(table, hide_index=True, width="stretch")


def _quality_panel(feed: LiveFeed) -> None:
    """The live model's quality: recent matches, rolling figures, drift, the last model event."""
    panel = feed.quality.panel()
    st.subheader("Model quality")
    event = model_quality.last_event_text(panel)
    if event:
        st.caption(f"Last model event: {event}")
    if not panel.quality:
        st.caption(
            "No match_quality messages yet: the live quality worker (`inplay quality`) publishes "
            "one when a match ends."
        )
        return
    for alert in model_quality.drift_alerts(panel):
        st.warning(f"Drift: {alert}", icon=":material/trending_up:")
    items = model_quality.rolling_items(panel)
    for col, (label, value, text) in zip(st.columns(len(items)), items, strict=True):
        col.metric(label, value, help=text)
    left, right = st.columns([2, 3])
    columns = ["match_id", "home_team", "away_team", "result", "model_version", "log_loss"]
    left.dataframe(model_quality.matches_frame(panel)[columns], hide_index=True, height=380)
    fig = live_quality_figure(model_quality.matches_frame(panel, newest_first=False))
    right.plotly_chart(fig, config={"displayModeBar": False})


def main() -> None:
    """Draw the page."""
    try:
        settings = AppSettings.from_env()
    except config.ConfigError as exc:
        st.error(f"Bad dashboard setting: {exc}")
        st.stop()
    # The "running" indicator would blink at every refresh.
    st.html("<style>[data-testid='stStatusWidget'] {visibility: hidden;}</style>")
    st.title(":material/sports_soccer: inplay: live win probabilities")
    st.caption(
        f"Kafka `{settings.bootstrap or 'embedded broker'}` · predictions "
        f"`{settings.results_topic}` · monitoring `{settings.monitoring_topic}` · refreshed "
        f"every {settings.refresh:g} s · {CREDIT}"
    )
    feed = get_feed(
        settings.bootstrap,
        settings.results_topic,
        settings.monitoring_topic,
        settings.since,
        settings.start,
    )

    @st.fragment(run_every=settings.refresh)
    def live() -> None:
        try:
            feed.poll(budget=settings.poll_budget)
            has_data = _status(feed, settings)
            if feed.connected_to is None and not has_data:
                return
            if has_data:
                matches = feed.matches()
                selected = selection.wanted_match(st.session_state, _url_match())
                if selected not in set(matches["match_id"]):
                    selected = int(matches["match_id"].iloc[0])
                st.subheader(f"Live matches ({len(matches)})")
                st.html(matches_table_html(matches, selected, time.time()))
                _match_panel(feed, matches)
            _monitoring_panel(feed)
            _quality_panel(feed)
        except Exception as exc:  # noqa: BLE001 - a message in the page, not a traceback
            log.exception("dashboard refresh failed")
            st.error(f"The dashboard could not draw this refresh: {exc}. Retrying.")

    live()


main()

"""The live dashboard: feed and views without Kafka, then the whole page in a real browser.

The browser test runs a real broker (embedded, or KAFKA_BOOTSTRAP_SERVERS), a scorer, a slow
replay of synthetic matches with known goals and the Streamlit app, and reads the page with
Playwright driving the system's Chromium.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from pathlib import Path

import orjson
import pandas as pd
import pytest
from fixtures_statsbomb import make_event, make_match, write_open_data

from inplay import config
from inplay.dashboard import AppSettings, free_port, launch, wait_until_ready
from inplay.dashboard.feed import LiveFeed
from inplay.dashboard.views import matches_table_html, xg_figure
from inplay.data.statsbomb import StatsBombData
from inplay.features import minute_snapshots
from inplay.models import make_model

RESULTS, MONITORING = "results-t", "monitoring-t"


def result(match_id: int, index: int, p_home: float, **extra) -> bytes:
    body = {
        "match_id": match_id,
        "event_index": index,
        "event_type": "Pass",
        "minute": index,
        "period": 1,
        "clock": float(index),
        "elapsed_seconds": 60.0 * index,
        "home_team": "Lions FC",
        "away_team": "Tigers FC",
        "home_goals": 0,
        "away_goals": 0,
        "home_red_cards": 0,
        "away_red_cards": 0,
        "home_xg": 0.1 * index,
        "away_xg": 0.05 * index,
        "p_home": p_home,
        "p_draw": 0.3,
        "p_away": 0.7 - p_home,
        "model_version": "m1",
        "latency_ms": 5.0,
        "scored_at": 1000.0 + index,
    }
    body.update(extra)
    return orjson.dumps(body)


# -- feed and views, no Kafka ------------------------------------------------------------------


def test_feed_deduplicates_and_keeps_the_latest_state():
    feed = LiveFeed("unused:1", RESULTS, MONITORING)
    assert feed.ingest(RESULTS, result(7, 1, 0.40), offset=0) == "new"
    assert feed.ingest(RESULTS, result(7, 2, 0.45, home_goals=1), offset=1) == "new"
    assert feed.ingest(RESULTS, result(7, 2, 0.45, home_goals=1), offset=2) == "duplicate"
    assert feed.ingest(RESULTS, result(8, 1, 0.20), offset=0, partition=1) == "new"
    assert feed.ingest(RESULTS, b"not json") == "bad"
    assert feed.received == 4 and feed.duplicates == 1 and feed.bad_messages == 1
    assert feed.match_ids() == [7, 8]
    matches = feed.matches().set_index("match_id")
    assert matches.loc[7, "p_home"] == 0.45 and matches.loc[7, "home_goals"] == 1
    assert matches.loc[7, "n_predictions"] == 2
    frame = feed.match_results(7)
    assert list(frame["event_index"]) == [1, 2]


def test_feed_ignores_results_before_since():
    feed = LiveFeed("unused:1", RESULTS, MONITORING, since=1001.5)
    assert feed.ingest(RESULTS, result(7, 1, 0.4)) == "old"  # scored at 1001
    assert feed.ingest(RESULTS, result(7, 2, 0.4)) == "new"  # scored at 1002
    assert feed.match_ids() == [7]


def test_feed_monitoring_summary():
    feed = LiveFeed("unused:1", RESULTS, MONITORING)

    def stats(at: float, consumed: int, **extra) -> bytes:
        body = {
            "kind": "stats",
            "worker": "w1",
            "model_version": "m1",
            "consumed": consumed,
            "scored": consumed - 1,
            "quarantined": 1,
            "duplicates": 0,
            "late": 0,
            "events_per_second": 50.0,
            "latency_ms": {"p50": 12.0, "p95": 30.0, "p99": 40.0},
            "lag": {"0": 3, "1": 0, "2": 2},
            "at": at,
        }
        body.update(extra)
        return orjson.dumps(body)

    assert feed.ingest(MONITORING, stats(100.0, 10)) == "stats"
    assert feed.ingest(MONITORING, stats(102.0, 70)) == "stats"
    quarantine = {"kind": "quarantine", "reason": "not JSON: x", "topic": "e", "value": "zz"}
    assert feed.ingest(MONITORING, orjson.dumps(quarantine)) == "quarantine"
    summary = feed.monitoring(now=105.0)
    assert summary.workers == 1 and summary.consumed == 70 and summary.quarantined == 1
    assert summary.events_per_second == pytest.approx(30.0)
    assert summary.latency_p50_ms == 12.0 and summary.latency_p99_ms == 40.0
    assert summary.lag == 5 and summary.stats_age_s == pytest.approx(3.0)
    assert summary.quarantine[0]["reason"] == "not JSON: x"


def test_feed_without_a_broker_reports_instead_of_raising():
    feed = LiveFeed("127.0.0.1:1", RESULTS, MONITORING, connect_timeout_ms=500)
    assert feed.poll(budget=0.5) == 0
    assert feed.connected_to is None and "127.0.0.1:1" in (feed.error or "")


def test_views_render():
    feed = LiveFeed("unused:1", RESULTS, MONITORING)
    for i in range(1, 6):
        feed.ingest(RESULTS, result(7, i, 0.3 + 0.05 * i, home_goals=int(i >= 3)), offset=i)
    page = matches_table_html(feed.matches(), selected=7)
    assert "data-match-id='7'" in page and "class='selected'" in page
    assert "<td class='num p-home'>55.0%</td>" in page
    fig = xg_figure(feed.match_results(7))
    assert [trace.name for trace in fig.data] == ["Lions FC 0.50 xG", "Tigers FC 0.25 xG"]


def test_settings_from_environment(monkeypatch):
    monkeypatch.setenv("INPLAY_DASHBOARD_RESULTS_TOPIC", "r")
    monkeypatch.setenv("INPLAY_DASHBOARD_REFRESH", "0.5")
    monkeypatch.setenv("INPLAY_DASHBOARD_SINCE", "12.5")
    settings = AppSettings.from_env()
    assert (settings.results_topic, settings.refresh, settings.since) == ("r", 0.5, 12.5)
    assert settings.monitoring_topic == config.TOPIC_MONITORING
    assert AppSettings.from_env().environ()["INPLAY_DASHBOARD_RESULTS_TOPIC"] == "r"
    monkeypatch.setenv("INPLAY_DASHBOARD_START", "middle")
    with pytest.raises(config.ConfigError, match="INPLAY_DASHBOARD_START"):
        AppSettings.from_env()


# -- the page in a real browser ----------------------------------------------------------------

GOALS = {  # match -> (minute, period, scoring side)
    201: [(12, 1, "home"), (33, 1, "away"), (58, 2, "home")],
    202: [(25, 1, "away")],
}
TEAMS = {201: ("Lions FC", "Tigers FC"), 202: ("Owls FC", "Hawks FC")}


def timed_match(home: str, away: str, goals: list[tuple[int, int, str]]) -> list[dict]:
    """A match with an event every minute and goals at known minutes."""
    events = [make_event(1, "Starting XI", home), make_event(2, "Starting XI", away)]
    index = 3
    for period, minutes in ((1, range(0, 46)), (2, range(45, 91))):
        events.append(make_event(index, "Half Start", home, period=period, minute=minutes[0]))
        index += 1
        for minute in minutes:
            scorers = [side for m, p, side in goals if (m, p) == (minute, period)]
            for side in scorers:
                team = home if side == "home" else away
                events.append(
                    make_event(
                        index,
                        "Shot",
                        team,
                        period=period,
                        minute=minute,
                        second=30,
                        xg=0.35,
                        outcome="Goal",
                    )
                )
                index += 1
            team = home if minute % 2 else away
            events.append(make_event(index, "Pass", team, period=period, minute=minute, second=10))
            index += 1
    return events


def fitted_scoreboard():
    """The scoreboard model fitted on random synthetic matches (probabilities move with time)."""
    rng = random.Random(7)
    rows = []
    for n in range(40):
        goals = [
            (rng.randrange(1, 90), 1, rng.choice(["home", "home", "away"]))
            for _ in range(rng.randrange(0, 5))
        ]
        goals = [(m, 1 if m < 45 else 2, side) for m, _, side in goals]
        home_goals = sum(side == "home" for *_, side in goals)
        away_goals = len(goals) - home_goals
        label = "H" if home_goals > away_goals else "A" if away_goals > home_goals else "D"
        events = timed_match("A FC", "B FC", goals)
        for row in minute_snapshots(events, 900 + n, "A FC", "B FC"):
            rows.append({**row, "result": label})
    return make_model("scoreboard").fit(pd.DataFrame(rows))


@pytest.fixture
def browser_ready():
    pytest.importorskip("streamlit", reason="streamlit not installed (pip install -e .[dashboard])")
    pytest.importorskip(
        "playwright.sync_api", reason="playwright not installed (pip install -e .[dashboard])"
    )
    from inplay.dashboard.browser import chromium_path

    if chromium_path() is None:
        pytest.skip("no Chromium (apt-get install -y chromium, or set INPLAY_CHROMIUM)")


# Records, in the page, every time the rows of the live-matches table appear or vanish and
# what the page showed instead (alerts, headers), for the failure message.
WATCH_ROWS_JS = """
() => {
  window.__rowLog = [];
  let last = null;
  const t0 = performance.now();
  const check = () => {
    const n = document.querySelectorAll("tr[data-match-id] td.p-home").length;
    if (n !== last) {
      const alerts = [...document.querySelectorAll("[data-testid='stAlert']")]
        .map(e => e.innerText.slice(0, 120));
      const heads = [...document.querySelectorAll("h3")].map(e => e.innerText.slice(0, 40));
      window.__rowLog.push({ms: Math.round(performance.now() - t0), rows: n, alerts, heads});
      last = n;
    }
  };
  new MutationObserver(check).observe(document.body, {childList: true, subtree: true});
  check();
}
"""


def p_home(page, match_id: int) -> str | None:
    """The home-win cell of a match's row, read in one step (None while the row is not drawn).

    A Streamlit fragment redraws the table at every refresh; under CPU load a redraw can leave
    the table out for a moment (a CI run once timed out reading the cell mid-redraw), so callers
    wait for the condition with a deadline rather than for one element.
    """
    return page.evaluate(
        "id => document.querySelector(`tr[data-match-id='${id}'] td.p-home`)?.innerText ?? null",
        match_id,
    )


def wait_for_p_home(page, match_id: int, differs_from: str | None, seconds: float) -> str:
    """Wait until the match's home-win cell is drawn and differs from ``differs_from``.

    Raises:
        AssertionError: At the deadline, with the last value seen and the table's history.
    """
    value, deadline = None, time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = p_home(page, match_id)
        if value is not None and value != differs_from:
            return value
        page.wait_for_timeout(250)
    raise AssertionError(
        f"match {match_id}: home-win cell {value!r} after {seconds:g} s (waited for a value "
        f"other than {differs_from!r}); rows drawn over time: {page.evaluate('window.__rowLog')}"
    )


@pytest.mark.kafka
@pytest.mark.browser
@pytest.mark.timeout(180)
def test_dashboard_in_a_browser(browser_ready, kafka_bootstrap, fresh_topics, tmp_path):
    from inplay.dashboard.browser import fit_page_height, open_browser
    from inplay.kafka import io as kafka_io
    from inplay.live.replay import replay
    from inplay.live.scorer import Scorer

    t0 = time.monotonic()
    events_t, requests_t, results_t, monitoring_t = fresh_topics(
        "events", "requests", "results", "monitoring"
    )
    matches = [make_match(mid, *TEAMS[mid], competition_id=43) for mid in TEAMS]
    data = StatsBombData(
        write_open_data(
            tmp_path / "opendata",
            matches,
            {mid: timed_match(*TEAMS[mid], GOALS[mid]) for mid in TEAMS},
        )
    )
    scorer = Scorer(
        fitted_scoreboard(),
        bootstrap=kafka_bootstrap,
        group_id=f"test-dash-{uuid.uuid4().hex[:8]}",
        events_topic=events_t,
        requests_topic=requests_t,
        results_topic=results_t,
        monitoring_topic=monitoring_t,
        stats_interval=1.0,
    )
    scorer_thread = threading.Thread(target=scorer.run, kwargs={"progress": False}, daemon=True)
    scorer_thread.start()

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = AppSettings(
        bootstrap=kafka_bootstrap,
        results_topic=results_t,
        monitoring_topic=monitoring_t,
        refresh=1.0,
    )
    app = launch(port, settings=settings, log_file=tmp_path / "app.log")
    replay_thread = None
    try:
        wait_until_ready(url, timeout=60, proc=app)
        with open_browser() as page:
            page.goto(f"{url}/?match=201", wait_until="domcontentloaded")
            page.evaluate(WATCH_ROWS_JS)
            # Connected, nothing scored yet: the page says so (no traceback).
            page.get_by_text("No predictions yet").first.wait_for(timeout=30_000)

            # A poison message and an early prediction, then both matches at 300x (about 20 s).
            producer = kafka_io.make_producer(kafka_bootstrap)
            producer.send(events_t, key=b"201", value=b"this is not json")
            # The other match has a prediction first: the page must still switch to the match
            # of its URL (?match=201) once that one appears.
            early = result(202, 0, 0.4, home_team="Owls FC", away_team="Hawks FC", minute=0)
            producer.send(results_t, key=b"202", value=early)
            producer.flush()
            page.locator("tr[data-match-id='202']").wait_for(timeout=30_000)
            producer.close()
            replay_thread = threading.Thread(
                target=replay,
                args=(data, data.matches()),
                kwargs={
                    "speed": 300.0,
                    "topic": events_t,
                    "bootstrap": kafka_bootstrap,
                    "progress": False,
                },
                daemon=True,
            )
            replay_thread.start()

            # The match appears, and its home-win probability changes as events arrive.
            row = page.locator("tr[data-match-id='201']")
            row.wait_for(timeout=30_000)
            assert "Lions FC" in row.inner_text() and "Tigers FC" in row.inner_text()
            first = wait_for_p_home(page, 201, differs_from=None, seconds=30)
            second = wait_for_p_home(page, 201, differs_from=first, seconds=30)
            assert first.endswith("%") and second.endswith("%")

            # At the end: the known goals are marked on the selected match's chart.
            replay_thread.join(timeout=60)
            final = page.get_by_text("GOAL Lions FC 2-1")
            try:
                final.first.wait_for(timeout=30_000)
            except Exception as exc:  # say where the pipeline stopped, not only "timeout"
                table = page.locator("table").first.inner_text(timeout=2000)
                # Which match the selector and the charts show, and what the charts mark (a
                # CI run once had the table at 2-1 but no "2-1" mark; not reproduced since).
                chosen = page.locator("[data-testid='stSelectbox']").all_inner_texts()
                marks = page.locator("g.annotation-text-g").all_inner_texts()
                errors = page.locator("[data-testid='stAlert']").all_inner_texts()
                raise AssertionError(
                    f"final goal not shown: replay alive={replay_thread.is_alive()}, "
                    f"scorer {scorer.stats.as_dict()}, page table:\n{table}\nselected: "
                    f"{chosen!r}; chart marks: {marks}; alerts: {errors}"
                ) from exc
            for label in ("GOAL Lions FC 1-0", "GOAL Tigers FC 1-1"):
                assert page.get_by_text(label).count() >= 1, label
            # The biggest swings of the selected match: its goals (shots) lead.
            swing = page.locator("tr.swing").first
            swing.wait_for(timeout=15_000)
            assert "Shot" in swing.inner_text(), swing.inner_text()
            assert page.get_by_text("GOAL Hawks FC").count() == 0  # the other match's goal
            assert page.locator("tr[data-match-id='202']").count() == 1
            score = page.locator("tr[data-match-id='201'] td.score").inner_text()
            assert score.replace(" ", "").startswith("2-1")

            # The monitoring panel: the poison message is counted as quarantined.
            quarantined = page.locator("[data-testid='stMetric']").filter(has_text="Quarantined")
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and "1" not in quarantined.inner_text():
                page.wait_for_timeout(500)
            assert quarantined.inner_text().strip().endswith("1")
            assert page.get_by_text("not JSON").count() >= 1
            assert page.locator("text=Traceback").count() == 0

            shot = Path(config.env_str("INPLAY_DASHBOARD_SCREENSHOT") or tmp_path / "dash.png")
            shot.parent.mkdir(parents=True, exist_ok=True)
            fit_page_height(page, 1500)
            page.wait_for_timeout(500)
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 20_000

            # The viewer picks the other match: its chart (and only its goal) is shown.
            page.locator("[data-testid='stSelectbox']").first.click()
            page.get_by_role("option", name="Owls FC v Hawks FC").click()
            page.get_by_text("GOAL Hawks FC 0-1").first.wait_for(timeout=15_000)
            page.wait_for_timeout(2500)  # a few refreshes: the choice sticks
            assert page.get_by_text("GOAL Lions FC").count() == 0
            assert page.get_by_text("GOAL Hawks FC 0-1").count() >= 1
    finally:
        scorer.stop()
        app.terminate()
        app.wait(15)
        scorer_thread.join(timeout=15)
    print(f"browser test: {time.monotonic() - t0:.1f} s")

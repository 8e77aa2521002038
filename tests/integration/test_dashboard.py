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


# Each Plotly chart's title and the texts of its marks (annotations), whether its container is
# stale or retained, the metrics and the selector's value, for the failure message.
CHARTS_JS = """
() => ({
  charts: [...document.querySelectorAll('.js-plotly-plot')].map(p => {
    const box = p.closest("[data-testid='stElementContainer']");
    return {
      title: p.querySelector('.gtitle')?.textContent ?? null,
      marks: [...p.querySelectorAll('g.annotation-text-g')].map(a => a.textContent),
      stale: box?.getAttribute('data-stale') ?? null,
      retained: box?.getAttribute('data-retained') ?? null,
    };
  }),
  stale_elements: document.querySelectorAll("[data-stale='true']").length,
  metrics: [...document.querySelectorAll("[data-testid='stMetric']")]
    .map(m => m.innerText.replace(/\\s+/g, ' ').slice(0, 60)),
  selector: [...document.querySelectorAll("[data-testid='stSelectbox'] input")]
    .map(i => i.value || i.getAttribute('aria-label')),
  selector_text: [...document.querySelectorAll("[data-testid='stSelectbox']")]
    .map(e => e.textContent.slice(0, 120)),
})
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


def text_of(page, selector: str) -> str | None:
    """The text of the first element matching ``selector``, read in one step (None if none)."""
    return page.evaluate("s => document.querySelector(s)?.innerText ?? null", selector)


def shown(page, text: str) -> int:
    """How many elements show ``text`` now (the chart marks, captions and tables)."""
    return page.get_by_text(text).count()


class PageWatch:
    """Waits for conditions on the page, each with a deadline; a timeout says what was seen.

    Every element of the page sits in a fragment redrawn each refresh, and CI machines are
    loaded (three test lanes on two cores): so every check is a condition polled until its
    deadline, never one look, and a timeout reports the table's history, the alerts, the
    last refreshes' errors in the app's log and the pipeline's state.
    """

    def __init__(self, page, app_log: Path, context=lambda: "") -> None:
        self.page, self.app_log, self.context = page, app_log, context
        self.console: list[str] = []  # the browser's errors and warnings
        page.on("pageerror", lambda exc: self.console.append(f"page error: {exc}"))
        page.on(
            "console",
            lambda msg: (
                msg.type in ("error", "warning")
                and self.console.append(f"{msg.type}: {msg.text[:300]}")
            ),
        )

    def until(self, what: str, check, seconds: float = 60.0):
        """Return ``check()``'s first truthy value, polling every 250 ms for ``seconds``.

        Raises:
            AssertionError: At the deadline, with the last value seen and the page's state.
        """
        value, deadline = None, time.monotonic() + seconds
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            self.page.wait_for_timeout(250)
        raise AssertionError(f"{what}: not seen within {seconds:g} s (last: {value!r})\n{self}")

    def __str__(self) -> str:
        page, lines = self.page, []
        if self.app_log.exists():
            lines = self.app_log.read_text(errors="replace").splitlines()[-15:]
        charts = page.evaluate(CHARTS_JS)
        alerts = page.locator("[data-testid='stAlert']").all_inner_texts()
        return "\n".join(
            [
                f"table: {text_of(page, 'table')!r}",
                f"url: {page.url}; alerts: {alerts}",
                f"charts, metrics and selector: {charts}",
                f"browser console: {self.console[-10:]}",
                f"rows drawn over time: {page.evaluate('window.__rowLog')}",
                self.context(),
                "app log (last 15 lines):",
                *lines,
            ]
        )


def wait_for_p_home(watch: PageWatch, match_id: int, differs_from: str | None) -> str:
    """Wait until the match's home-win cell is drawn and differs from ``differs_from``."""

    def changed() -> str | None:
        value = p_home(watch.page, match_id)
        return value if value is not None and value != differs_from else None

    return watch.until(f"match {match_id}: a home-win cell other than {differs_from!r}", changed)


def pick_match(watch: PageWatch, option: str, goal: str) -> None:
    """Choose ``option`` in the match selector until the page shows ``goal``.

    The selector is redrawn at every refresh; a redraw can close its list between the two
    clicks, so the choice is made again until the page has switched.
    """
    page = watch.page

    def switched() -> bool:
        if shown(page, goal):
            return True
        choice = page.get_by_role("option", name=option)
        if choice.count():
            choice.first.click(timeout=5000)
        else:
            page.locator("[data-testid='stSelectbox']").first.click(timeout=5000)
        return bool(shown(page, goal))

    watch.until(f"the chart of {option!r} ({goal!r})", switched)


@pytest.mark.kafka
@pytest.mark.browser
@pytest.mark.timeout(420)
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
    app_log = tmp_path / "app.log"
    app = launch(port, settings=settings, log_file=app_log)
    replay_thread = None
    try:
        wait_until_ready(url, timeout=60, proc=app)
        with open_browser() as page:
            watch = PageWatch(
                page,
                app_log,
                lambda: (
                    f"replay alive={replay_thread is not None and replay_thread.is_alive()}, "
                    f"scorer {scorer.stats.as_dict()}"
                ),
            )
            page.goto(f"{url}/?match=201", wait_until="domcontentloaded")
            page.evaluate(WATCH_ROWS_JS)
            # Connected, nothing scored yet: the page says so (no traceback).
            watch.until("'No predictions yet'", lambda: shown(page, "No predictions yet"))

            # A poison message and an early prediction, then both matches at 300x (about 20 s).
            producer = kafka_io.make_producer(kafka_bootstrap)
            producer.send(events_t, key=b"201", value=b"this is not json")
            # The other match has a prediction first: the page must still switch to the match
            # of its URL (?match=201) once that one appears.
            early = result(202, 0, 0.4, home_team="Owls FC", away_team="Hawks FC", minute=0)
            producer.send(results_t, key=b"202", value=early)
            producer.flush()
            watch.until("row 202", lambda: text_of(page, "tr[data-match-id='202']"))
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
            row = watch.until("row 201", lambda: text_of(page, "tr[data-match-id='201']"))
            assert "Lions FC" in row and "Tigers FC" in row, row
            first = wait_for_p_home(watch, 201, differs_from=None)
            second = wait_for_p_home(watch, 201, differs_from=first)
            assert first.endswith("%") and second.endswith("%")

            # At the end: the known goals are marked on the selected match's chart.
            replay_thread.join(timeout=120)
            assert not replay_thread.is_alive(), f"replay still running after 120 s\n{watch}"
            for label in ("GOAL Lions FC 2-1", "GOAL Lions FC 1-0", "GOAL Tigers FC 1-1"):
                watch.until(f"the chart mark {label!r}", lambda label=label: shown(page, label))
            cell = "tr[data-match-id='201'] td.score"
            watch.until(
                "the table's 2-1",
                lambda: (text_of(page, cell) or "").replace(" ", "").startswith("2-1"),
            )
            # The biggest swings of the selected match: its goals (shots) lead.
            swing = watch.until("the biggest swings", lambda: text_of(page, "tr.swing"))
            assert "Shot" in swing, swing
            assert shown(page, "GOAL Hawks FC") == 0  # the other match's goal
            assert page.locator("tr[data-match-id='202']").count() <= 1

            # The monitoring panel: the poison message is counted as quarantined.
            quarantined = page.locator("[data-testid='stMetric']").filter(has_text="Quarantined")
            watch.until(
                "Quarantined 1",
                lambda: (
                    quarantined.count()
                    and quarantined.first.inner_text(timeout=5000).strip().endswith("1")
                ),
            )
            watch.until("the quarantine reason", lambda: shown(page, "not JSON"))
            assert page.locator("text=Traceback").count() == 0, watch

            shot = Path(config.env_str("INPLAY_DASHBOARD_SCREENSHOT") or tmp_path / "dash.png")
            shot.parent.mkdir(parents=True, exist_ok=True)
            fit_page_height(page, 1500)
            watch.until("the chart after resizing", lambda: shown(page, "GOAL Lions FC 2-1"))
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 20_000

            # The viewer picks the other match: its chart (and only its goal) is shown, and the
            # choice sticks over the next refreshes (a refresh every second).
            pick_match(watch, "Owls FC v Hawks FC", "GOAL Hawks FC 0-1")
            watch.until("the other chart gone", lambda: shown(page, "GOAL Lions FC") == 0)
            stay = time.monotonic() + 3 * settings.refresh
            while time.monotonic() < stay:
                assert shown(page, "GOAL Lions FC") == 0, f"the choice did not stick\n{watch}"
                page.wait_for_timeout(250)
            watch.until("the Hawks goal", lambda: shown(page, "GOAL Hawks FC 0-1"))
            print(f"the page at the end:\n{watch}")
    finally:
        scorer.stop()
        app.terminate()
        app.wait(15)
        scorer_thread.join(timeout=15)
    print(f"browser test: {time.monotonic() - t0:.1f} s")

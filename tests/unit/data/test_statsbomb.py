"""Tests of inplay.data.statsbomb: reading, validating and downloading StatsBomb open data."""

from __future__ import annotations

import functools
import http.server
import os
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from inplay import config
from inplay.config import ConfigError
from inplay.data.statsbomb import (
    DataFileError,
    DataWarning,
    Match,
    StatsBombData,
    ValidationReport,
    download,
    ensure_data,
    shared_data_dir,
    validate,
)

try:
    from fixtures_statsbomb import make_event, make_match, write_open_data
except ImportError:  # tests/ imported as a package
    from tests.fixtures_statsbomb import make_event, make_match, write_open_data

# -- a mini open-data layout -----------------------------------------------------------------

MATCHES = [
    make_match(
        101,
        "Qatar",
        "Ecuador",
        0,
        2,
        competition_id=43,
        season_id=106,
        season_name="2022",
        match_date="2022-11-20",
    ),
    make_match(
        102,
        "England",
        "Iran",
        6,
        2,
        competition_id=43,
        season_id=106,
        season_name="2022",
        match_date="2022-11-21",
        kick_off="14:00:00.000",
        stage="Group Stage",
    ),
    make_match(
        201,
        "Arsenal WFC",
        "Liverpool WFC",
        5,
        0,
        competition_id=37,
        season_id=4,
        season_name="2018/2019",
        match_date="2018-09-09",
    ),
]


def _events(home: str, away: str, goals_home: int = 0, goals_away: int = 1) -> list[dict]:
    evs = [
        make_event(1, "Starting XI", home),
        make_event(2, "Starting XI", away),
        make_event(3, "Half Start", home),
        make_event(4, "Pass", home, minute=1, second=3),
    ]
    idx = 5
    for _ in range(goals_home):
        evs.append(make_event(idx, "Shot", home, minute=20, xg=0.4, outcome="Goal"))
        idx += 1
    for _ in range(goals_away):
        evs.append(make_event(idx, "Shot", away, period=2, minute=60, xg=0.3, outcome="Goal"))
        idx += 1
    evs.append(make_event(idx, "Foul Committed", home, period=2, minute=70, card="Yellow Card"))
    evs.append(make_event(idx + 1, "Half End", away, period=2, minute=93))
    return evs


EVENTS = {101: _events("Qatar", "Ecuador", 0, 2), 102: _events("England", "Iran", 6, 2)}


@pytest.fixture
def mini(tmp_path: Path) -> Path:
    """A mini layout: 101 plain .json, 102 .json.gz, 201 a corrupt .json.gz."""
    return write_open_data(
        tmp_path / "open-data", MATCHES, EVENTS, gzip_ids=[102], corrupt_ids=[201]
    )


@pytest.fixture
def data(mini: Path) -> StatsBombData:
    return StatsBombData(mini)


# -- reading ---------------------------------------------------------------------------------


def test_competitions(data: StatsBombData) -> None:
    comps = data.competitions()
    assert isinstance(comps, pd.DataFrame)
    assert len(comps) == 2
    assert set(zip(comps.competition_id, comps.season_id, strict=True)) == {(43, 106), (37, 4)}


def test_matches_sorted_and_fields(data: StatsBombData) -> None:
    matches = data.matches()
    assert [m.match_id for m in matches] == [201, 101, 102]  # by date
    m = data.match(102)
    assert isinstance(m, Match)
    assert (m.home_team, m.away_team, m.home_score, m.away_score) == ("England", "Iran", 6, 2)
    assert (m.competition, m.season, m.competition_stage) == (
        "FIFA World Cup",
        "2022",
        "Group Stage",
    )
    assert m.kick_off == "14:00:00.000"
    d = m.to_dict()
    assert d["match_id"] == 102 and d["home_team_id"] == m.home_team_id
    assert set(d) == {
        "match_id",
        "competition_id",
        "season_id",
        "competition",
        "season",
        "match_date",
        "kick_off",
        "home_team",
        "away_team",
        "home_team_id",
        "away_team_id",
        "home_score",
        "away_score",
        "competition_stage",
    }
    with pytest.raises(KeyError):
        data.match(999)


def test_matches_selection(data: StatsBombData) -> None:
    assert [m.match_id for m in data.matches(competition_ids=[43])] == [101, 102]
    assert [m.match_id for m in data.matches(competition_ids=43)] == [101, 102]
    assert [m.match_id for m in data.matches(season_ids=[4])] == [201]
    assert [m.match_id for m in data.matches(competition_ids=[43], season_ids=[4])] == []
    assert [m.match_id for m in data.matches(match_ids=[102, 201])] == [201, 102]
    assert data.matches(match_ids=[12345]) == []


def test_events_plain_and_gz(data: StatsBombData, mini: Path) -> None:
    plain = data.events(101)
    gz = data.events(102)
    assert plain == EVENTS[101]
    assert gz == EVENTS[102]
    assert data.events_path(101).name == "101.json"
    assert data.events_path(102).name == "102.json.gz"


def test_events_prefers_existing_file(data: StatsBombData, mini: Path) -> None:
    # 201 has only a corrupt .json.gz; a good .json next to it is preferred.
    write_open_data(mini, MATCHES, {201: _events("Arsenal WFC", "Liverpool WFC", 5, 0)})
    assert len(data.events(201)) == 11


def test_events_errors_name_file(data: StatsBombData, mini: Path) -> None:
    with pytest.raises(DataFileError) as info:
        data.events(201)
    assert isinstance(info.value, ValueError)
    assert info.value.path == mini / "events" / "201.json.gz"
    assert "201.json.gz" in str(info.value)
    assert "gzip" in info.value.reason

    (mini / "events" / "101.json").write_text('{"not": "an array"}')
    with pytest.raises(DataFileError, match="not a JSON array"):
        data.events(101)
    (mini / "events" / "101.json").write_text("[{broken")
    with pytest.raises(DataFileError, match="invalid JSON"):
        data.events(101)
    with pytest.raises(DataFileError, match="no events file"):
        data.events(555)


def test_iter_events_skips_corrupt_and_continues(data: StatsBombData) -> None:
    with pytest.warns(DataWarning, match=r"201\.json\.gz"):
        got = [(m.match_id, len(e)) for m, e in data.iter_events(data.matches(), progress=False)]
    assert got == [(101, 8), (102, 14)]
    assert len(data.bad_files) == 1
    path, reason = data.bad_files[0]
    assert path.name == "201.json.gz" and "gzip" in reason
    # a second pass does not warn again nor duplicate the entry
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        list(data.iter_events(progress=False))
    assert len(data.bad_files) == 1


def test_missing_dir_error_mentions_env(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        StatsBombData(tmp_path / "nowhere")
    msg = str(info.value)
    assert "INPLAY_DATA_DIR" in msg and "inplay data download" in msg
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="competitions.json.*INPLAY_DATA_DIR"):
        StatsBombData(tmp_path / "empty")


def test_default_root_from_env(mini: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INPLAY_DATA_DIR", str(mini))
    assert StatsBombData().root == mini.resolve()
    assert shared_data_dir() == mini.resolve()


# -- validation ------------------------------------------------------------------------------


def test_validate_reports_corrupt_by_name(data: StatsBombData) -> None:
    report = validate(data, progress=False)
    assert isinstance(report, ValidationReport)
    assert report.checked == 3 and report.ok == 2
    assert len(report.problems) == 1
    match_id, path, reason = report.problems[0]
    assert match_id == 201 and path.name == "201.json.gz" and "gzip" in reason
    assert "201.json.gz" in report.summary()
    assert "checked 3 matches: 2 ok" in report.summary()


def test_validate_structural_problems(data: StatsBombData, mini: Path) -> None:
    evs = _events("Qatar", "Ecuador", 0, 2)
    del evs[3]["timestamp"]
    evs[4]["type"] = {"id": 16}
    evs[5]["team"] = {"id": 1, "name": "Brazil"}
    evs[6]["index"] = evs[7]["index"]
    write_open_data(mini, MATCHES, {101: evs, 102: []})
    report = validate(data, match_ids=[101, 102, 999], progress=False)
    assert report.checked == 3 and report.ok == 0
    reasons = {(mid, r) for mid, _, r in report.problems}
    text = report.summary()
    assert any(mid == 101 and "'timestamp'" in r for mid, r in reasons)
    assert any(mid == 101 and "'type.name'" in r for mid, r in reasons)
    assert any(mid == 101 and "Brazil" in r for mid, r in reasons)
    assert any(mid == 101 and "duplicate event index" in r for mid, r in reasons)
    assert any(mid == 102 and "empty" in r for mid, r in reasons)
    assert any(mid == 999 and "not in any match list" in r for mid, r in reasons)
    assert "101.json" in text


# -- download --------------------------------------------------------------------------------


class _Server:
    """A static HTTP server on 127.0.0.1 that records the paths requested."""

    def __init__(self, directory: Path) -> None:
        self.requests: list[str] = []
        requests = self.requests

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                requests.append(self.path)
                super().do_GET()

            def log_message(self, *args: object) -> None:
                pass

        handler = functools.partial(Handler, directory=str(directory))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/data"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[_Server]:
    site = tmp_path / "site"
    write_open_data(site / "data", MATCHES, EVENTS)
    # the served open-data repo stores events as plain .json
    srv = _Server(site)
    try:
        yield srv
    finally:
        srv.close()


def test_download_and_cache(server: _Server, tmp_path: Path) -> None:
    dest = tmp_path / "dl"
    out = download(dest, competition_id=43, season_id=106, base_url=server.url, progress=False)
    assert out == dest
    assert sorted(server.requests) == sorted(
        [
            "/data/competitions.json",
            "/data/matches/43/106.json",
            "/data/events/101.json",
            "/data/events/102.json",
        ]
    )
    assert (dest / "events" / "101.json").is_file() and (dest / "events" / "102.json").is_file()
    assert not list(dest.rglob("*.part"))
    data = StatsBombData(dest)
    assert [m.match_id for m in data.matches()] == [101, 102]
    assert data.events(102) == EVENTS[102]

    server.requests.clear()
    download(dest, competition_id=43, season_id=106, base_url=server.url, progress=False)
    assert server.requests == []  # everything came from the cache


def test_download_max_matches_and_env_url(
    server: _Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INPLAY_OPENDATA_URL", server.url)
    dest = tmp_path / "dl"
    download(dest, competition_id=43, season_id=106, progress=False, max_matches=1)
    assert "/data/events/101.json" in server.requests
    assert not (dest / "events" / "102.json").exists()


def test_download_missing_season_is_config_error(server: _Server, tmp_path: Path) -> None:
    dest = tmp_path / "dl"
    with pytest.raises(ConfigError, match="HTTP 404"):
        download(dest, competition_id=99, season_id=1, base_url=server.url, progress=False)
    assert not (dest / "matches" / "99").exists() or not list((dest / "matches" / "99").iterdir())


def test_download_no_network(tmp_path: Path) -> None:
    dest = tmp_path / "dl"
    with pytest.raises(ConfigError) as info:
        download(dest, base_url="http://127.0.0.1:1/data", progress=False, timeout=5)
    msg = str(info.value)
    assert "no network" in msg and "INPLAY_DATA_DIR" in msg and "statsbomb/open-data" in msg
    assert not list(dest.rglob("*.json")) and not list(dest.rglob("*.part"))


def test_ensure_data(
    server: _Server, mini: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INPLAY_DATA_DIR", str(mini))
    assert ensure_data().root == mini.resolve()
    monkeypatch.setenv("INPLAY_DATA_DIR", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="INPLAY_DATA_DIR"):
        ensure_data()

    monkeypatch.delenv("INPLAY_DATA_DIR")
    monkeypatch.setattr(config, "RAW_DIR", tmp_path / "raw")
    with pytest.raises(ConfigError, match="INPLAY_DATA_DIR"):
        ensure_data(download_if_missing=False)
    monkeypatch.setenv("INPLAY_OPENDATA_URL", server.url)
    data = ensure_data()
    assert data.root == tmp_path / "raw" / "statsbomb"
    assert [m.match_id for m in data.matches()] == [101, 102]


# -- the real data ---------------------------------------------------------------------------

SHARED_DIR = Path(__file__).resolve().parents[4] / "shared/data/statsbomb"


def _real_dir() -> Path | None:
    env = os.environ.get("INPLAY_DATA_DIR", "").strip()
    candidates = [Path(env).expanduser()] if env else [SHARED_DIR]
    for path in candidates:
        if (path / "competitions.json").is_file():
            return path
    return None


@pytest.fixture(scope="module")
def real() -> StatsBombData:
    path = _real_dir()
    if path is None:
        pytest.skip("real StatsBomb data not found (INPLAY_DATA_DIR or ../shared/data/statsbomb)")
    return StatsBombData(path)


@pytest.mark.shared_data
def test_real_match_count(real: StatsBombData) -> None:
    matches = real.matches()
    assert len(matches) == 693
    assert len({m.match_id for m in matches}) == 693
    assert len(real.competitions()) == 28
    assert len(real.matches(competition_ids=[43], season_ids=[106])) == 63
    assert shared_data_dir() is not None


@pytest.mark.shared_data
def test_real_validate_sample(real: StatsBombData) -> None:
    matches = real.matches()
    ids = [m.match_id for m in matches[:: max(1, len(matches) // 6)]][:6]
    ids.append(8658)  # World Cup 2018 final
    report = validate(real, match_ids=ids, progress=False)
    assert report.checked == len(ids)
    assert report.problems == [], report.summary()
    assert report.ok == len(ids)

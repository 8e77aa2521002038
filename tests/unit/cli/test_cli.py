"""The ``inplay`` command, run as a real subprocess on a mini StatsBomb folder (nothing faked)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pandas as pd
import pytest
from fixtures_statsbomb import make_event, make_match, write_open_data

from inplay import config
from inplay.brokers import embedded as broker
from inplay.kafka import io as kafka_io

HOME, AWAY = "Home FC", "Away FC"
# Every subcommand, in help order, with options its --help must mention.
HELP_OPTIONS: dict[str, tuple[str, ...]] = {
    "broker": ("start", "stop", "status"),
    "topics": ("create", "describe", "--kafka-broker"),
    "data": ("list", "validate", "download", "--match-ids"),
    "replay": ("--kafka-broker", "--delay", "--max-events", "--speed", "--topic", "--raw-topic"),
    "features": ("--match-id", "--upto-index", "--json"),
    "dataset": ("--competition", "--season", "--match-ids", "--no-events"),
    "fit": ("--models", "--splits", "--no-promote"),
    "evaluate": ("--models", "--splits", "--json"),
    "backtest": ("--train-data", "--test-data", "--model", "--out"),
    "score": ("--max-events", "--idle-timeout", "--kafka-broker", "--group"),
    "monitor": ("--refresh", "--duration", "--kafka-broker"),
    "dashboard": ("--speed", "--port", "--app-only"),
    "quality": ("--model", "--window", "--idle-timeout", "--kafka-broker"),
    "retrain": ("--from-topic", "--competition", "--holdout", "--alpha", "--no-publish"),
    "acl": ("plan", "apply", "--principal", "--scorer-group", "--kafka-broker"),
    "reports": ("--small", "--only"),
}
SUBCOMMANDS = tuple(HELP_OPTIONS)


# -- helpers --------------------------------------------------------------------------------


def cli_env(
    data_dir: Path | str | None,
    tmp: Path,
    kafka: str | None = None,
    **extra: str,
) -> dict[str, str]:
    """Environment for one ``inplay`` run: data, outputs and broker state all under ``tmp``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INPLAY_")}
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    # The MLflow store follows INPLAY_OUTPUT_DIR (<tmp>/out/mlruns): no champion of another test.
    env.pop("MLFLOW_TRACKING_URI", None)
    if data_dir is not None:
        env["INPLAY_DATA_DIR"] = str(data_dir)
    env["INPLAY_OUTPUT_DIR"] = str(tmp / "out")
    env["INPLAY_BROKER_STATE"] = str(tmp / "state" / "broker.json")
    if kafka is not None:
        env["KAFKA_BOOTSTRAP_SERVERS"] = kafka
    env.update(extra)
    return env


def run(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``inplay ARGS`` in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "inplay.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    """Exit 2, a single stderr line containing every needle, no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def match_101() -> list[dict]:
    """A hand-checked match: Home scores at 10', Away gets an own goal at 75'.

    Possession (time to the ``possession_team`` of the earlier of two consecutive events):
    first half Home 60+540+120 s, Away 1080+600 s up to index 8 (40'), then Away 300 s;
    second half Home 900+900 s, Away 900 s.
    """
    return [
        make_event(1, "Starting XI", HOME),
        make_event(2, "Starting XI", AWAY),
        make_event(3, "Half Start", HOME),
        make_event(4, "Pass", HOME, minute=1),
        make_event(5, "Shot", HOME, minute=10, xg=0.3, outcome="Goal"),
        make_event(6, "Pass", AWAY, minute=12),
        make_event(7, "Shot", AWAY, minute=30, xg=0.15, outcome="Off T"),
        make_event(8, "Shot", AWAY, minute=40, xg=0.05, outcome="Saved"),
        make_event(9, "Half End", HOME, minute=45),
        make_event(10, "Half Start", HOME, period=2, minute=45),
        make_event(11, "Shot", HOME, period=2, minute=60, xg=0.2, outcome="Saved"),
        make_event(12, "Own Goal Against", HOME, period=2, minute=75, possession_team=AWAY),
        make_event(13, "Own Goal For", AWAY, period=2, minute=75, possession_team=AWAY),
        make_event(14, "Half End", HOME, period=2, minute=90),
    ]


def match_102() -> list[dict]:
    """A 2-0 home win."""
    home, away = "Red FC", "Blue FC"
    return [
        make_event(1, "Half Start", home),
        make_event(2, "Shot", home, minute=5, xg=0.5, outcome="Goal"),
        make_event(3, "Pass", away, minute=20),
        make_event(4, "Half Start", home, period=2, minute=45),
        make_event(5, "Shot", home, period=2, minute=80, xg=0.4, outcome="Goal"),
    ]


@pytest.fixture
def mini(tmp_path: Path) -> Path:
    """A mini open-data folder with matches 101 (1-1) and 102 (2-0)."""
    matches = [
        make_match(101, HOME, AWAY, 1, 1, match_date="2022-11-20"),
        make_match(102, "Red FC", "Blue FC", 2, 0, match_date="2022-11-21"),
    ]
    return write_open_data(tmp_path / "opendata", matches, {101: match_101(), 102: match_102()})


class Background:
    """A command started at once and checked later (its result is cached)."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "inplay.cli", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._result: subprocess.CompletedProcess | None = None

    def result(self, timeout: float) -> subprocess.CompletedProcess:
        if self._result is None:
            out, err = self.proc.communicate(timeout=timeout)
            self._result = subprocess.CompletedProcess(
                self.proc.args, self.proc.returncode, out, err
            )
        return self._result

    def close(self) -> None:
        if self._result is None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.communicate()


@pytest.fixture(scope="module", autouse=True)
def unreachable_describe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Background]:
    """``inplay topics describe`` against a closed port, started before the other tests.

    kafka-python only gives up bootstrapping after its 30 s ``bootstrap_timeout_ms``, so
    this runs in the background while the rest of the module does.
    """
    tmp = tmp_path_factory.mktemp("unreachable")
    job = Background(cli_env(None, tmp, kafka="127.0.0.1:1"), "topics", "describe")
    yield job
    job.close()


# -- help -----------------------------------------------------------------------------------


def test_top_level_help_lists_every_subcommand(tmp_path: Path) -> None:
    proc = run(cli_env(None, tmp_path), "--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: inplay")
    listed = re.findall(r"^    (\w+)(?:\s|$)", proc.stdout, flags=re.MULTILINE)
    assert tuple(listed) == SUBCOMMANDS
    for setting in ("INPLAY_DATA_DIR", "KAFKA_BOOTSTRAP_SERVERS", "StatsBomb"):
        assert setting in proc.stdout


@pytest.mark.parametrize(("command", "options"), list(HELP_OPTIONS.items()))
def test_subcommand_help(tmp_path: Path, command: str, options: tuple[str, ...]) -> None:
    proc = run(cli_env(None, tmp_path), command, "--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"usage: inplay {command}")
    for option in options:
        assert option in proc.stdout, option


# -- features -------------------------------------------------------------------------------


def test_features_json_hand_checked(mini: Path, tmp_path: Path) -> None:
    env = cli_env(mini, tmp_path)
    proc = run(env, "features", "--match-id", "101", "--upto-index", "8", "--json")
    assert proc.returncode == 0, proc.stderr
    feats = json.loads(proc.stdout)
    assert feats["home_team"] == HOME and feats["away_team"] == AWAY
    request = {name: feats[name] for name in config.PREDICTION_REQUEST_FIELDS}
    assert request == {
        "home_goals": 1,
        "away_goals": 0,
        "current_minute": 40,
        "home_shots": 1,
        "away_shots": 2,
        "home_shots_on_target": 1,
        "away_shots_on_target": 1,
        "home_possession": 30.0,  # 720 s of 2400 s
        "away_possession": 70.0,
        "home_xg": pytest.approx(0.3),
        "away_xg": pytest.approx(0.2),
    }

    # End of the match: the own goal counts for Away (once), possession 2520 s vs 2880 s.
    proc = run(env, "features", "--match-id", "101", "--upto-index", "14", "--json")
    assert proc.returncode == 0, proc.stderr
    feats = json.loads(proc.stdout)
    assert {name: feats[name] for name in config.PREDICTION_REQUEST_FIELDS} == {
        "home_goals": 1,
        "away_goals": 1,
        "current_minute": 90,
        "home_shots": 2,
        "away_shots": 2,
        "home_shots_on_target": 2,
        "away_shots_on_target": 1,
        "home_possession": 46.67,
        "away_possession": 53.33,
        "home_xg": pytest.approx(0.5),
        "away_xg": pytest.approx(0.2),
    }

    # Without --json: one "key  value" line per field.
    proc = run(env, "features", "--match-id", "101", "--upto-index", "8")
    assert proc.returncode == 0, proc.stderr
    table = dict(line.split(None, 1) for line in proc.stdout.splitlines())
    assert table["home_possession"] == "30.0" and table["away_shots"] == "2"


def test_features_unknown_index_or_match(mini: Path, tmp_path: Path) -> None:
    env = cli_env(mini, tmp_path)
    proc = run(env, "features", "--match-id", "101", "--upto-index", "999", "--json")
    assert_one_line_error(proc, "inplay features", "999")
    assert proc.stdout == ""
    proc = run(env, "features", "--match-id", "777", "--upto-index", "1")
    assert_one_line_error(proc, "777")


# -- configuration errors -------------------------------------------------------------------


def test_missing_data_dir_names_the_setting(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "no-such-folder", tmp_path)
    for args in (("features", "--match-id", "1", "--upto-index", "1"), ("data", "list")):
        proc = run(env, *args)
        assert_one_line_error(proc, "INPLAY_DATA_DIR", str(tmp_path / "no-such-folder"))


def test_bad_acks_names_the_setting(mini: Path, tmp_path: Path) -> None:
    env = cli_env(mini, tmp_path, KAFKA_ACKS="banana")
    proc = run(env, "replay", "--match-ids", "101", "--kafka-broker", "127.0.0.1:1")
    assert_one_line_error(proc, "KAFKA_ACKS", "banana")


def test_unreachable_broker_names_the_setting(unreachable_describe: Background) -> None:
    proc = unreachable_describe.result(timeout=90)
    assert_one_line_error(proc, "KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")


def test_replay_without_selection_says_which_flags(mini: Path, tmp_path: Path) -> None:
    proc = run(cli_env(mini, tmp_path), "replay", "--kafka-broker", "127.0.0.1:1")
    assert_one_line_error(proc, "--match-ids", "--competition", "--n-matches", "--demo")


# -- data and dataset -----------------------------------------------------------------------


def test_data_list(mini: Path, tmp_path: Path) -> None:
    proc = run(cli_env(mini, tmp_path), "data", "list")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0].split()[:2] == ["101", "2022-11-20"]
    assert f"{HOME} 1-1 {AWAY}" in lines[0]
    assert lines[1].split()[:2] == ["102", "2022-11-21"]
    assert "Red FC 2-0 Blue FC" in lines[1]
    assert lines[2].startswith("2 matches")


def test_data_validate_names_the_bad_file(tmp_path: Path) -> None:
    matches = [
        make_match(101, HOME, AWAY, 1, 1),
        make_match(102, "Red FC", "Blue FC", 2, 0),
        make_match(103, "Green FC", "Gold FC"),
    ]
    root = write_open_data(
        tmp_path / "opendata",
        matches,
        {101: match_101(), 102: match_102()},
        corrupt_ids=[103],
    )
    proc = run(cli_env(root, tmp_path), "data", "validate")
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert "checked 3 matches: 2 ok, 1 with problems" in proc.stdout
    bad = [line for line in proc.stdout.splitlines() if line.startswith("  match ")]
    assert len(bad) == 1
    assert "103" in bad[0] and str(root / "events" / "103.json.gz") in bad[0]
    assert "gzip" in bad[0]

    good = run(cli_env(root, tmp_path), "data", "validate", "--match-ids", "101,102")
    assert good.returncode == 0, good.stdout
    assert "checked 2 matches: 2 ok, 0 with problems" in good.stdout


def test_dataset_writes_minute_snapshots(mini: Path, tmp_path: Path) -> None:
    proc = run(cli_env(mini, tmp_path), "dataset")
    assert proc.returncode == 0, proc.stderr
    assert "2 matches -> 182 minute rows" in proc.stdout
    processed = tmp_path / "out" / "processed"
    frame = pd.read_parquet(processed / "snapshots_minute.parquet")
    assert frame.groupby("match_id").size().to_dict() == {101: 91, 102: 91}
    results = frame.groupby("match_id")["result"].unique().to_dict()
    assert {k: list(v) for k, v in results.items()} == {101: ["D"], 102: ["H"]}
    assert set(config.PREDICTION_REQUEST_FIELDS) <= set(frame.columns)
    last = frame[(frame.match_id == 102) & (frame.current_minute == 90)].iloc[0]
    assert (last.home_goals, last.away_goals) == (2, 0)
    assert (processed / "snapshots_event.parquet").is_file()
    assert json.loads((processed / "dataset_info.json").read_text())["data_dir"] == str(mini)


# -- Kafka ----------------------------------------------------------------------------------


@pytest.mark.kafka
def test_topics_create_twice_and_describe(kafka_bootstrap: str, tmp_path: Path) -> None:
    admin = kafka_io.make_admin(kafka_bootstrap)
    try:
        before = set(admin.list_topics())
    finally:
        admin.close()
    env = cli_env(None, tmp_path, kafka=kafka_bootstrap)

    first = run(env, "topics", "create")
    assert first.returncode == 0, first.stderr
    status = dict(line.split(None, 1) for line in first.stdout.strip().splitlines()[:6])
    assert list(status) == list(config.TOPICS)
    for name, what in status.items():
        assert what == ("exists" if name in before else "created"), (name, what)
    if not set(config.TOPICS) <= before:
        assert "already existed" not in first.stdout

    second = run(env, "topics", "create")
    assert second.returncode == 0, second.stderr
    assert "all topics already existed: nothing changed" in second.stdout
    assert "created" not in second.stdout

    described = run(env, "topics", "describe")
    assert described.returncode == 0, described.stderr
    lines = described.stdout.strip().splitlines()
    assert lines[0].split() == ["name", "partitions", "replication", "messages", "exists"]
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert set(rows) == set(config.TOPICS)
    for fields in rows.values():
        assert fields[1] == "3" and fields[2] == "1" and fields[4] == "True"


@pytest.mark.kafka
def test_replay_with_the_replaced_producers_flags(
    kafka_bootstrap: str, fresh_topics, mini: Path, tmp_path: Path
) -> None:
    (topic,) = fresh_topics("events")
    # No KAFKA_BOOTSTRAP_SERVERS: the broker comes from --kafka-broker alone.
    env = cli_env(mini, tmp_path)
    proc = run(
        env,
        "replay",
        "--match-ids",
        "101,102",
        "--kafka-broker",
        kafka_bootstrap,
        "--delay",
        "0",
        "--max-events",
        "5",
        "--topic",
        topic,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"replayed 5 events from 2 matches to {topic}" in proc.stdout
    assert "events/s" in proc.stdout
    records = kafka_io.read_topic(topic, kafka_bootstrap)
    assert len(records) == 5
    for record in records:
        body = orjson.loads(record.value)
        assert record.key == str(body["match_id"]).encode()
        assert body["match_id"] in (101, 102)
        assert {"index", "type", "team", "home_team", "away_team", "sent_at"} <= set(body)


# -- embedded broker ------------------------------------------------------------------------


def test_broker_status_without_broker(tmp_path: Path) -> None:
    proc = run(cli_env(None, tmp_path), "broker", "status")
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert "no embedded broker running" in proc.stdout
    assert "inplay broker start" in proc.stdout


@pytest.mark.kafka
def test_broker_start_status_stop(tmp_path: Path) -> None:
    try:
        broker.resolve_binary()
    except config.ConfigError as exc:
        pytest.skip(f"embedded broker unavailable: {exc}")
    env = cli_env(None, tmp_path)
    state = Path(env["INPLAY_BROKER_STATE"])
    try:
        started = run(env, "broker", "start")
        assert started.returncode == 0, started.stderr
        assert "embedded broker running at 127.0.0.1:" in started.stdout
        info = json.loads(state.read_text())

        status = run(env, "broker", "status")
        assert status.returncode == 0, status.stderr
        assert f"running at 127.0.0.1:{info['port']} (pid {info['pid']})" in status.stdout

        stopped = run(env, "broker", "stop")
        assert stopped.returncode == 0, stopped.stderr
        assert "embedded broker stopped" in stopped.stdout
        assert not state.exists()
        assert run(env, "broker", "status").returncode == 1
        assert "no embedded broker was running" in run(env, "broker", "stop").stdout
    finally:
        with contextlib.suppress(Exception):
            broker.stop(state_file=state, timeout=5)

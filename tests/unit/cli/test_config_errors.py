"""Bad configuration: one ``error:`` line naming the setting and what to do, no traceback.

Every case runs the real ``inplay`` command in a fresh interpreter (helpers from test_cli):
unreachable or unconfigured broker, missing topics, missing or corrupt model files, missing
or unreadable data, for each subcommand that uses the setting.
"""

from __future__ import annotations

import contextlib
import pickle
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fixtures_statsbomb import make_match, write_open_data
from kafka.errors import KafkaTimeoutError
from test_cli import AWAY, HOME, Background, cli_env, match_101, match_102, run

from inplay import config
from inplay.kafka import io as kafka_io

# -- helpers --------------------------------------------------------------------------------


def env_for(data_dir: Path | str | None, tmp: Path, kafka: str | None = None, **extra: str):
    """cli_env without progress bars, and short Kafka bootstrap attempts."""
    extra.setdefault("INPLAY_PROGRESS", "0")
    extra.setdefault("KAFKA_BOOTSTRAP_TIMEOUT_MS", "1000")
    return cli_env(data_dir, tmp, kafka=kafka, **extra)


def assert_error_line(
    proc: subprocess.CompletedProcess, *needles: str, status: int = 2, traceback: bool = False
) -> str:
    """Exit ``status``; stderr's last non-empty line is the only one, starts ``error: inplay``.

    With ``traceback`` (``--debug``) the traceback comes first, then the same single line.
    """
    assert proc.returncode == status, (proc.returncode, proc.stdout, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines, proc.stderr
    last = lines[-1]
    assert last.startswith("error: inplay "), proc.stderr
    if traceback:
        assert lines[0].startswith("Traceback"), proc.stderr
    else:
        assert "Traceback" not in proc.stderr
        assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in last, (needle, last)
    return last


def closed_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_fitted_model(data_dir: Path, models_dir: Path) -> Path:
    """Fit the climatology model on the mini data and save it; returns its folder."""
    from inplay.data.statsbomb import StatsBombData
    from inplay.features import minute_snapshots
    from inplay.models import make_model, save_model

    data = StatsBombData(data_dir)
    rows = [
        {**row, "result": "H" if match.match_id == 101 else "D"}
        for match in data.matches()
        for row in minute_snapshots(
            data.events(match.match_id), match.match_id, match.home_team, match.away_team
        )
    ]
    model = make_model("climatology").fit(pd.DataFrame(rows))
    return save_model(model, models_dir, data_info={}, metrics=None)


# -- shared files ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Good and broken StatsBomb folders, a fitted model, and broken model and parquet files."""
    root = tmp_path_factory.mktemp("config-errors")
    matches = [
        make_match(101, HOME, AWAY, 1, 1, match_date="2022-11-20"),
        make_match(102, "Red FC", "Blue FC", 2, 0, match_date="2022-11-21"),
    ]
    events = {101: match_101(), 102: match_102()}
    out = {"good": write_open_data(root / "good", matches, events)}

    out["missing"] = root / "no-such-folder"
    out["no-competitions"] = root / "no-competitions"
    out["no-competitions"].mkdir()
    (out["no-competitions"] / "matches").mkdir()

    # 101's events as a .json.gz that is not gzip (only .json.gz, so it is the one read).
    corrupt = write_open_data(root / "corrupt-gzip", matches, {102: match_102()})
    (corrupt / "events" / "101.json.gz").write_bytes(b"\x1f\x8b\x08\x00 not really gzip")
    out["corrupt-gzip"] = corrupt

    bad_json = write_open_data(root / "bad-json", matches, events)
    (bad_json / "events" / "101.json").write_text('[{"index": 1, "type": ')
    out["bad-json"] = bad_json

    bad_list = write_open_data(root / "bad-match-list", matches, events)
    (bad_list / "matches" / "43" / "106.json").write_text('[{"match_id": 101, ')
    out["bad-match-list"] = bad_list

    out["model"] = make_fitted_model(out["good"], root / "models")
    out["garbage-model"] = root / "garbage.pkl"
    out["garbage-model"].write_bytes(b"this is not a pickle")
    out["garbage-model-dir"] = root / "garbage-model"
    out["garbage-model-dir"].mkdir()
    (out["garbage-model-dir"] / "model.pkl").write_bytes(pickle.dumps({"a": "dict"})[:-3])
    out["not-a-model"] = root / "not-a-model.pkl"
    out["not-a-model"].write_bytes(pickle.dumps({"a": "dict"}))

    out["bad-parquet-output"] = root / "bad-parquet-output"
    (out["bad-parquet-output"] / "processed").mkdir(parents=True)
    (out["bad-parquet-output"] / "processed" / "snapshots_minute.parquet").write_text("garbage")
    return out


# -- data: missing folder, no competitions.json, unreadable files ----------------------------

FEATURES = ("features", "--match-id", "101", "--upto-index", "5")
DATASET = ("dataset", "--match-ids", "101", "--no-events", "--workers", "1")
REPLAY = ("replay", "--match-ids", "101")
DATA_LIST = ("data", "list")
HOW_TO_GET_DATA = ("INPLAY_DATA_DIR", "inplay data download")
BAD_FILE = ("INPLAY_DATA_DIR", "inplay data validate")

DATA_CASES = [
    # (data folder, command, what the line must say besides the path)
    # (features and data list with a missing folder: test_cli)
    ("missing", DATASET, ("folder does not exist", *HOW_TO_GET_DATA)),
    ("missing", REPLAY, ("folder does not exist", *HOW_TO_GET_DATA)),
    ("no-competitions", FEATURES, ("no competitions.json", *HOW_TO_GET_DATA)),
    ("no-competitions", DATASET, ("no competitions.json", *HOW_TO_GET_DATA)),
    ("corrupt-gzip", FEATURES, ("events/101.json.gz", "corrupt gzip", *BAD_FILE)),
    ("corrupt-gzip", DATASET, ("101.json.gz", "corrupt gzip", *BAD_FILE)),
    ("bad-json", FEATURES, ("events/101.json", "invalid JSON", *BAD_FILE)),
    ("bad-json", DATASET, ("101.json", "invalid JSON", *BAD_FILE)),
    ("bad-match-list", REPLAY, ("matches/43/106.json", "invalid JSON", *BAD_FILE)),
    ("bad-match-list", DATA_LIST, ("matches/43/106.json", "invalid JSON", *BAD_FILE)),
]


@pytest.mark.parametrize(
    ("folder", "args", "needles"),
    DATA_CASES,
    ids=[f"{folder}-{args[0]}" for folder, args, _ in DATA_CASES],
)
def test_bad_data_folder(
    files: dict[str, Path], tmp_path: Path, folder: str, args: tuple[str, ...], needles
) -> None:
    proc = run(env_for(files[folder], tmp_path), *args)
    assert_error_line(proc, f"inplay {args[0]}", str(files[folder]), *needles)


def test_backtest_names_the_folder_flag(files: dict[str, Path], tmp_path: Path) -> None:
    out = str(tmp_path / "backtest.csv")
    env = env_for(None, tmp_path)
    proc = run(
        env,
        "backtest",
        *("--train-data", str(files["missing"]), "--test-data", str(files["good"]), "--out", out),
    )
    assert_error_line(proc, "--train-data", str(files["missing"]), "folder does not exist")
    proc = run(
        env,
        "backtest",
        "--train-data",
        str(files["good"]),
        "--test-data",
        str(files["no-competitions"]),
        "--out",
        out,
    )
    assert_error_line(proc, "--test-data", "no competitions.json", "inplay data download")


def test_fit_and_evaluate_without_or_with_a_corrupt_dataset(
    files: dict[str, Path], tmp_path: Path
) -> None:
    proc = run(env_for(files["good"], tmp_path), "fit", "--splits", "2")
    assert_error_line(proc, "snapshots_minute.parquet does not exist", "inplay dataset")
    env = env_for(files["good"], tmp_path, INPLAY_OUTPUT_DIR=str(files["bad-parquet-output"]))
    for command in ("fit", "evaluate"):
        proc = run(env, command, "--splits", "2")
        assert_error_line(
            proc,
            f"inplay {command}",
            "snapshots_minute.parquet",
            "not a readable parquet",
            "inplay dataset",
            "INPLAY_OUTPUT_DIR",
        )


# -- model: missing or corrupt -------------------------------------------------------------

MODEL_CASES = {
    "missing-path": ("/nonexistent/model", ("--model /nonexistent/model", "no trained model")),
    "garbage-file": ("garbage-model", ("cannot load", "UnpicklingError")),
    "garbage-folder": ("garbage-model-dir", ("cannot load",)),
    "not-a-model": ("not-a-model", ("does not hold an inplay OutcomeModel",)),
    "nothing-fitted": (None, ("no --model given", "no fitted model")),
}


@pytest.mark.parametrize("case", list(MODEL_CASES))
def test_score_with_a_bad_model(files: dict[str, Path], tmp_path: Path, case: str) -> None:
    """The model is checked before the broker: no broker is configured here at all."""
    value, needles = MODEL_CASES[case]
    args = ["score", "--idle-timeout", "1"]
    if value is not None:
        args += ["--model", str(files.get(value, value))]
    proc = run(env_for(files["good"], tmp_path), *args)
    setting = f"--model {files.get(value, value)}" if value else "--model"
    assert_error_line(proc, "inplay score", setting, "inplay fit", *needles)


# -- broker: none configured, unreachable, bad client settings ----------------------------


@pytest.mark.parametrize(
    "args",
    [("topics", "describe"), REPLAY, ("monitor", "--duration", "1"), ("score",)],
    ids=["topics", "replay", "monitor", "score"],
)
def test_no_broker_configured(
    files: dict[str, Path], tmp_path: Path, args: tuple[str, ...]
) -> None:
    extra = ("--model", str(files["model"])) if args[0] == "score" else ()
    proc = run(env_for(files["good"], tmp_path), *args, *extra)
    assert_error_line(proc, "No Kafka broker", "inplay broker start", "KAFKA_BOOTSTRAP_SERVERS")


UNREACHABLE = {
    "topics-describe": (("topics", "describe"), "env"),
    "topics-create": (("topics", "create"), "flag"),
    "replay": (REPLAY, "env"),
    "monitor": (("monitor", "--duration", "1"), "env"),
    "score": (("score", "--idle-timeout", "1"), "env"),
    "score-flag": (("score", "--idle-timeout", "1"), "flag"),
}


@pytest.fixture(scope="module", autouse=True)
def unreachable(
    files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, Background]]]:
    """Every unreachable-broker case, started with the module's first test.

    Each waits out its bootstrap timeout (KAFKA_BOOTSTRAP_TIMEOUT_MS=1000) while the rest of the
    module runs.
    """
    address = f"127.0.0.1:{closed_port()}"
    jobs: dict[str, Background] = {}
    for name, (args, how) in UNREACHABLE.items():
        tmp = tmp_path_factory.mktemp(f"unreachable-{name}")
        env = env_for(files["good"], tmp, kafka=address if how == "env" else None)
        extra = ["--model", str(files["model"])] if args[0] == "score" else []
        if how == "flag":
            extra += ["--kafka-broker", address]
        jobs[name] = Background(env, *args, *extra)
    yield address, jobs
    for job in jobs.values():
        job.close()


@pytest.mark.parametrize("case", list(UNREACHABLE))
def test_unreachable_broker(unreachable, case: str) -> None:
    address, jobs = unreachable
    proc = jobs[case].result(timeout=60)
    setting = "--kafka-broker" if UNREACHABLE[case][1] == "flag" else "KAFKA_BOOTSTRAP_SERVERS="
    assert_error_line(proc, "Cannot reach a Kafka broker", address, setting, "inplay broker start")


@pytest.mark.parametrize(
    ("variable", "value", "args"),
    [
        ("KAFKA_BOOTSTRAP_TIMEOUT_MS", "soon", ("topics", "describe")),
        ("INPLAY_KAFKA_CLIENT", "bogus", ("score", "--idle-timeout", "1")),
        ("KAFKA_AUTO_OFFSET_RESET", "middle", ("score", "--idle-timeout", "1")),
    ],
    ids=["timeout", "client", "offset-reset"],
)
def test_bad_kafka_setting(
    files: dict[str, Path], tmp_path: Path, variable: str, value: str, args: tuple[str, ...]
) -> None:
    """Checked before connecting: the broker address is a closed port and is never reached."""
    env = env_for(files["good"], tmp_path, kafka=f"127.0.0.1:{closed_port()}", **{variable: value})
    proc = run(env, *args)
    assert_error_line(proc, f"{variable}={value!r}")


# -- --debug --------------------------------------------------------------------------------


def test_debug_shows_the_traceback_too(files: dict[str, Path], tmp_path: Path) -> None:
    env = env_for(files["good"], tmp_path)
    for args, extra_env in ((("score", "--debug"), {}), (("score",), {"INPLAY_DEBUG": "1"})):
        proc = run({**env, **extra_env}, *args, "--model", str(files["garbage-model"]))
        last = assert_error_line(proc, "--model", "inplay fit", traceback=True)
        assert "UnpicklingError" in proc.stderr.split(last)[0]  # the original cause is shown


def _raiser(exc: BaseException):
    def command(_args):
        raise exc

    return command


@pytest.mark.parametrize(
    ("exc", "status", "needles"),
    [
        (RuntimeError("boom\non two lines"), 1, ("unexpected RuntimeError: boom on two lines",)),
        (PermissionError(13, "Permission denied", "/x/out.csv"), 2, ("/x/out.csv", "permission")),
        (KafkaTimeoutError("Failed to update metadata"), 2, ("KAFKA_BOOTSTRAP_SERVERS",)),
    ],
    ids=["unexpected", "os-error", "kafka-error"],
)
def test_any_other_error_is_one_line_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, exc, status, needles
) -> None:
    """Whatever a command raises ends as one line (in-process: the command is replaced)."""
    from inplay import cli
    from inplay.cli import commands

    monkeypatch.delenv("INPLAY_DEBUG", raising=False)
    monkeypatch.setattr(commands, "cmd_data", _raiser(exc))
    code = cli.main(["data", "where"])
    proc = subprocess.CompletedProcess([], code, *capsys.readouterr())
    line = assert_error_line(proc, "error: inplay data: ", *needles, status=status)
    if status == 1:
        assert "--debug" in line

    code = cli.main(["data", "where", "--debug"])
    proc = subprocess.CompletedProcess([], code, *capsys.readouterr())
    assert assert_error_line(proc, status=status, traceback=True) == line


# -- topics that do not exist (real broker) -------------------------------------------------


@pytest.fixture
def missing_topic(kafka_bootstrap: str, unique_topic_prefix: str) -> Iterator[str]:
    """A topic name that does not exist (deleted afterwards if a test created it)."""
    name = f"{unique_topic_prefix}-missing-{uuid.uuid4().hex[:6]}"
    yield name
    admin = kafka_io.make_admin(kafka_bootstrap)
    with contextlib.suppress(Exception):
        admin.delete_topics([name])
    admin.close()


def topic_exists(bootstrap: str, name: str) -> bool:
    admin = kafka_io.make_admin(bootstrap)
    try:
        return name in set(admin.list_topics())
    finally:
        admin.close()


@pytest.mark.kafka
def test_score_and_replay_check_their_topics(
    kafka_bootstrap: str, fresh_topics, missing_topic: str, files: dict[str, Path], tmp_path: Path
) -> None:
    requests, results, monitoring = fresh_topics("requests", "results", "monitoring")
    outputs = [
        *("--requests-topic", requests),
        *("--results-topic", results),
        *("--monitoring-topic", monitoring),
    ]
    env = env_for(files["good"], tmp_path, kafka=kafka_bootstrap)
    model = ("--model", str(files["model"]))
    create = f"inplay topics create --topic {missing_topic}"

    proc = run(env, "score", *model, "--events-topic", missing_topic, *outputs)
    line = assert_error_line(proc, "inplay score", repr(missing_topic), "setting --events-topic")
    assert f"does not exist on {kafka_bootstrap} (KAFKA_BOOTSTRAP_SERVERS)" in line
    assert create in line
    assert requests not in line  # only the missing topic is named

    # Via --kafka-broker the command to run says so; output topics are checked too.
    flag_env = env_for(files["good"], tmp_path)
    proc = run(
        flag_env,
        "score",
        *model,
        "--kafka-broker",
        kafka_bootstrap,
        "--events-topic",
        requests,
        "--requests-topic",
        missing_topic,
        "--results-topic",
        results,
        "--monitoring-topic",
        monitoring,
    )
    line = assert_error_line(proc, repr(missing_topic), "setting --requests-topic")
    assert f"does not exist on {kafka_bootstrap} (--kafka-broker)" in line
    hint = f"inplay topics create --kafka-broker {kafka_bootstrap} --topic {missing_topic}"
    assert f"`{hint}`" in line

    proc = run(env, *REPLAY, "--topic", missing_topic)
    assert_error_line(proc, "inplay replay", repr(missing_topic), "setting --topic", create)

    proc = run(env, "monitor", "--duration", "1", "--topic", missing_topic)
    assert_error_line(proc, "inplay monitor", repr(missing_topic), "setting --topic", create)

    # Checking did not create it (a broker that auto-creates topics would have, with its own
    # partition count, had the scorer subscribed).
    assert not topic_exists(kafka_bootstrap, missing_topic)

    # The suggested command works, and then so does the scorer.
    made = run(env, "topics", "create", "--topic", missing_topic)
    assert made.returncode == 0, made.stderr
    assert f"{missing_topic:36s} created" in made.stdout
    described = run(env, "topics", "describe", "--topic", missing_topic)
    assert described.returncode == 0, described.stderr
    row = next(line for line in described.stdout.splitlines() if line.startswith(missing_topic))
    assert row.split()[1:] == [str(config.TOPIC_PARTITIONS), "1", "0", "True"]
    proc = run(
        env, "score", *model, "--events-topic", missing_topic, "--idle-timeout", "1", *outputs
    )
    assert proc.returncode == 0, proc.stderr
    assert "error" not in proc.stderr


@pytest.mark.kafka
def test_replay_corrupt_events_file_with_a_broker(
    kafka_bootstrap: str, fresh_topics, files: dict[str, Path], tmp_path: Path
) -> None:
    (topic,) = fresh_topics("events")
    env = env_for(files["corrupt-gzip"], tmp_path, kafka=kafka_bootstrap)
    proc = run(env, *REPLAY, "--topic", topic)
    assert_error_line(proc, "inplay replay", "101.json.gz", "corrupt gzip", *BAD_FILE)
    assert kafka_io.read_topic(topic, kafka_bootstrap, timeout=2) == []  # nothing half-sent

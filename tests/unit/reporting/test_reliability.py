"""The reliability figures: recorded per scenario and client, rendered as one Markdown table."""

from __future__ import annotations

import json

from inplay.reporting import reliability


def test_record_load_and_render(tmp_path):
    for client, lost in (("kafka-python", 0), ("confluent", 2)):
        reliability.record(
            "worker-sigkill",
            {"trials": 20, "events": 9400, "lost": lost, "recovery_s": 12.345, "extra": "x"},
            title="worker killed",
            broker="Apache Kafka 4.1.0",
            client=client,
            passed=lost == 0,
            notes="a note",
            directory=tmp_path,
        )
    files = sorted(p.name for p in tmp_path.glob("*.json"))
    assert files == ["worker-sigkill--confluent.json", "worker-sigkill--kafka-python.json"]
    runs = reliability.load_all(tmp_path)
    assert [r["client"] for r in runs] == ["confluent", "kafka-python"]
    text = reliability.render_markdown(runs)
    rows = [line for line in text.splitlines() if line.startswith("| `worker-sigkill`")]
    assert len(rows) == 2
    assert "**FAIL**" in rows[0] and "| 2 |" in rows[0] and "12.3" in rows[0]
    assert "pass" in rows[1] and "| 0 |" in rows[1]
    assert "- extra: x" in text and "a note" in text


def test_main_writes_the_table_and_fails_without_runs(tmp_path, capsys):
    out = tmp_path / "RELIABILITY.md"
    assert reliability.main(["--dir", str(tmp_path), "--out", str(out)]) == 1
    (tmp_path / "fuzz--none.json").write_text(
        json.dumps({"scenario": "fuzz", "client": "none", "passed": True, "figures": {}})
    )
    assert reliability.main(["--dir", str(tmp_path), "--out", str(out)]) == 0
    assert "`fuzz`" in out.read_text()

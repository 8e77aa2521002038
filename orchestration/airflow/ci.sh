#!/usr/bin/env bash
# CI stage: run the inplay_retrain DAG once with `airflow dags test`, in Airflow's own venv,
# against a private embedded broker, a temporary output folder and MLflow store, and small data.
#
#   bash orchestration/airflow/ci.sh                 (from anywhere; needs inplay's .venv: make env)
#   bash orchestration/airflow/ci.sh --install-only  (only phase 1: build or check the venv)
#
# Phases (each prints its time): the Airflow venv (orchestration/airflow/.venv, reused while its
# stamp matches requirements.txt + constraints + Python), Airflow's SQLite database, the broker,
# small data and a champion (`inplay dataset` + `inplay fit`), then `airflow dags test` and the
# checks: every task succeeded, <reports>/retrain.json exists, the two notebooks were rendered,
# and the registry's champion is the retrain's decision (notebook 03 ran with PROMOTE=False).
# Airflow's own output goes to a log; what is printed is each task's output, and on a failure
# the log's last lines. Settings: INPLAY_DATA_DIR (StatsBomb folder; else inplay's default),
# AIRFLOW_PYTHON (default python3.11), AIRFLOW_CI_TIMEOUT (deadline of `dags test`, default
# 900 s), AIRFLOW_CI_KEEP=1 keeps the temporary folder.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$repo"
start=$(date +%s)
phase_t0=$start
phase() {  # phase NAME: print the time of the phase that just ended
  local now
  now=$(date +%s)
  echo "airflow-ci: $1: $((now - phase_t0)) s"
  phase_t0=$now
}

# ---- 1. Airflow's venv (never inplay's) ---------------------------------------------------------
python="${AIRFLOW_PYTHON:-python3.11}"
command -v "$python" >/dev/null 2>&1 || python=python3
pyver="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
constraints="$here/constraints-$pyver.txt"
[ -f "$constraints" ] || {
  echo "airflow-ci: error: no $constraints (Python $pyver); run update-constraints.sh" >&2
  exit 2
}
venv="$here/.venv"
stamp="$(cat "$here/requirements.txt" "$constraints" | sha256sum | cut -c1-16) python$pyver"
if [ -x "$venv/bin/airflow" ] && [ "$(cat "$venv/.installed" 2>/dev/null)" = "$stamp" ]; then
  echo "airflow-ci: reusing $venv ($stamp)"
else
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet --no-compile -r "$here/requirements.txt" -c "$constraints"
  echo "$stamp" >"$venv/.installed"
fi
echo "airflow-ci: apache-airflow $("$venv/bin/python" -c \
  'import importlib.metadata as m; print(m.version("apache-airflow"))') in $venv"
phase "install"
[ "${1:-}" = --install-only ] && exit 0
inplay="$repo/.venv/bin/inplay"
[ -x "$inplay" ] || { echo "airflow-ci: error: $inplay missing; run make env first" >&2; exit 2; }

# ---- 2. a private Airflow home: SQLite, no examples, this repo's DAG folder ---------------------
tmp="$(mktemp -d "${TMPDIR:-/tmp}/inplay-airflow-ci.XXXXXX")"
export INPLAY_BROKER_STATE="$tmp/broker.json"
cleanup() {
  "$inplay" broker stop >/dev/null 2>&1 || true
  if [ "${AIRFLOW_CI_KEEP:-0}" = 1 ]; then echo "airflow-ci: kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
export AIRFLOW_HOME="$tmp/airflow"
export AIRFLOW__CORE__DAGS_FOLDER="$here/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__UNIT_TEST_MODE=False
export AIRFLOW__LOGGING__COLORED_CONSOLE_LOG=False
export AIRFLOW__LOGGING__LOGGING_LEVEL=INFO
mkdir -p "$AIRFLOW_HOME"
"$venv/bin/airflow" db migrate >"$tmp/db-migrate.log" 2>&1 || {
  tail -n 40 "$tmp/db-migrate.log"
  exit 1
}
phase "airflow db migrate"

# ---- 3. broker, small data and a champion --------------------------------------------------------
export INPLAY_OUTPUT_DIR="$tmp/out"
export MLFLOW_TRACKING_URI="sqlite:///$tmp/mlflow.db"
export INPLAY_PROGRESS=0
unset KAFKA_BOOTSTRAP_SERVERS
mkdir -p "$INPLAY_OUTPUT_DIR"
"$inplay" broker start
"$inplay" topics create >/dev/null
phase "broker + topics"
# The champion: the 2022 World Cup (63 matches). The DAG then retrains on both World Cups.
"$inplay" dataset --competition 43 --season 106 --no-events
"$inplay" fit --splits 3 >"$tmp/fit.log" 2>&1 || { tail -n 40 "$tmp/fit.log"; exit 1; }
tail -n 1 "$tmp/fit.log"
phase "data + champion (inplay dataset, fit)"

# ---- 4. the DAG, once ----------------------------------------------------------------------------
export INPLAY_HOME="$repo" INPLAY_BIN="${INPLAY_BIN:-$inplay}" PAPERMILL_BIN="$repo/.venv/bin/papermill"
run_date="$(date -u +%F)"
conf='{"competition": "43", "report_n_matches": 24, "report_n_splits": 3, "report_per_event": false}'
echo "airflow-ci: airflow dags test inplay_retrain $run_date -c '$conf'"
rc=0
timeout --kill-after=30 "${AIRFLOW_CI_TIMEOUT:-900}" \
  "$venv/bin/airflow" dags test inplay_retrain "$run_date" -c "$conf" >"$tmp/dags-test.log" 2>&1 ||
  rc=$?
[ "$rc" != 124 ] || echo "airflow-ci: airflow dags test passed its ${AIRFLOW_CI_TIMEOUT:-900} s deadline"
# Each task's own output (the BashOperator's subprocess lines), without Airflow's decoration.
sed -n -E \
  -e 's/^.*\[DAG TEST\] (starting|end task) task_id=([a-z_]+).*$/---- \1 \2/p' \
  -e 's/^[0-9TZ:.-]+ \[[a-z ]+\] (.*[^ ]) *\[airflow\.task\.hooks\.[^]]*SubprocessHook\] .*$/  \1/p' \
  -e 's/^[0-9TZ:.-]+ \[(error|critical) *\] (.*)$/  ERROR \2/p' \
  "$tmp/dags-test.log" |
  grep -v -E '^  (Tmp dir root location|Running command:|Output:$)|Kernel is running over TCP' || true
phase "airflow dags test (exit $rc)"

# ---- 5. checks -----------------------------------------------------------------------------------
fail=()
states="$("$venv/bin/python" - "$AIRFLOW_HOME/airflow.db" <<'EOF'
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute(
    "SELECT task_id, state FROM task_instance WHERE dag_id = 'inplay_retrain' ORDER BY task_id"
).fetchall()
print(" ".join(f"{task}={state}" for task, state in rows) or "no-task-instances")
EOF
)"
echo "airflow-ci: task states: $states"
for task in retrain render_reports; do
  [[ " $states " == *" $task=success "* ]] || fail+=("task $task did not succeed")
done
reports="$INPLAY_OUTPUT_DIR/reports"
[ -s "$reports/retrain.json" ] || fail+=("no $reports/retrain.json")
if [[ " $states " == *" render_reports=success "* ]]; then
  for f in retrain.json 02_feature_engineering.ipynb 03_model_fitting.ipynb \
    02_feature_engineering.html 03_model_fitting.html; do
    [ -s "$reports/airflow/$run_date/$f" ] || fail+=("no reports/airflow/$run_date/$f")
  done
fi
[ "$rc" = 0 ] || fail+=("airflow dags test exited $rc")
if [ -s "$reports/retrain.json" ]; then
  # The summary, and the champion afterwards: the retrain's decision, not moved by notebook 03.
  "$repo/.venv/bin/python" - "$reports/retrain.json" <<'EOF' || fail+=("champion check")
import json, sys
from inplay.mlops.registry import Registry
s = json.load(open(sys.argv[1]))
print(f"airflow-ci: retrain.json: {s['decision']}: {s.get('reason', '')}")
expected = s["challenger_version"] if s["decision"] == "promoted" else s["champion_version"]
champion = Registry().champion()
print(f"airflow-ci: champion after the run: v{champion.version if champion else None}"
      f" (expected v{expected})")
sys.exit(0 if champion and champion.version == expected else 1)
EOF
fi
if [ "${#fail[@]}" -ne 0 ]; then
  echo "airflow-ci: ---- last 40 lines of airflow dags test ----"
  tail -n 40 "$tmp/dags-test.log" | cut -c1-300
  printf 'airflow-ci: FAILED: %s\n' "${fail[@]}"
  echo "airflow-ci: total $(($(date +%s) - start)) s"
  exit 1
fi
echo "airflow-ci: OK (retrain and render_reports succeeded; reports in reports/airflow/$run_date)"
echo "airflow-ci: total $(($(date +%s) - start)) s"

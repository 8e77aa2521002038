"""Airflow DAG ``inplay_retrain``: retrain-and-promote every day, then the run's reports.

Two tasks, both shell commands calling inplay's own environment by absolute path (Airflow runs in
an environment of its own and never imports inplay), so a crontab line does the same
(``orchestration/README.md``):

1. ``retrain``: ``inplay retrain`` fits a challenger, compares it with the registry's champion on
   held-out matches and promotes it or not; exit 0 either way, 2 on a configuration error. Its
   JSON summary is ``<reports>/retrain.json``; the task fails if it is missing.
2. ``render_reports``: papermill runs notebooks 02 (features) and 03 (models, with
   ``PROMOTE=False`` so that the report never moves the champion) into
   ``<reports>/airflow/<run date>/``, renders them to HTML and copies the run's retrain summary
   beside them.

Settings come from the worker's environment: ``INPLAY_BIN`` and ``PAPERMILL_BIN`` (the commands,
default ``inplay`` and ``papermill`` on PATH), ``INPLAY_HOME`` (the checkout holding
``notebooks/``; default: the checkout this file is in), and, passed through unchanged,
``INPLAY_OUTPUT_DIR``, ``INPLAY_DATA_DIR``, ``MLFLOW_TRACKING_URI``, ``KAFKA_BOOTSTRAP_SERVERS``
and every other inplay setting. Commands run in ``INPLAY_HOME``, so a relative path setting is
relative to it. ``<reports>`` is ``$INPLAY_OUTPUT_DIR/reports`` (else ``$INPLAY_HOME/reports``),
where inplay writes its reports. ``INPLAY_RETRAIN_SCHEDULE`` (cron, default ``0 4 * * *``, UTC),
``INPLAY_RETRAIN_COMPETITION``, ``INPLAY_RETRAIN_SEASON`` and ``INPLAY_RETRAIN_FROM_TOPIC`` set
defaults when the DAG file is parsed; the run parameters below override them per run
(``airflow dags trigger -c '{"competition": "43"}'``).
"""

from __future__ import annotations

import os
import shlex
from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, Param

DAG_ID = "inplay_retrain"


def _default_home() -> str:
    """The checkout this file lives in (``orchestration/airflow/dags/``), if it is one."""
    root = Path(__file__).resolve().parents[3]
    return str(root) if (root / "notebooks").is_dir() else ""


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes"}


# Shared prologue of both tasks: resolve the commands and folders, fail with one clear line.
# INPLAY_DAG_HOME (set on each task below) is the checkout this file is in.
PROLOGUE = """set -euo pipefail
home="${INPLAY_HOME:-$INPLAY_DAG_HOME}"
if [ -z "$home" ] || [ ! -d "$home/notebooks" ]; then
  echo "error: INPLAY_HOME='$home' is not an inplay checkout (no notebooks/): set it" >&2
  exit 2
fi
export INPLAY_HOME="$home" INPLAY_PROGRESS="${INPLAY_PROGRESS:-0}"
export MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR="${MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR:-false}"
cd "$home"
inplay="${INPLAY_BIN:-inplay}"
papermill="${PAPERMILL_BIN:-papermill}"
reports="$(realpath -m "${INPLAY_OUTPUT_DIR:-$home}")/reports"
run_date="{{ ds if ds is defined and ds else dag_run.run_after.strftime('%Y-%m-%d') }}"
"""

RETRAIN = (
    PROLOGUE
    + """
if ! "$inplay" retrain --help >/dev/null 2>&1; then
  echo "error: '$inplay retrain' is not available (INPLAY_BIN names an inplay without retrain?)" >&2
  exit 2
fi
rm -f "$reports/retrain.json"
echo "retrain: $inplay retrain{{ retrain_args(params) }} (reports in $reports)"
"$inplay" retrain{{ retrain_args(params) }}
if [ ! -s "$reports/retrain.json" ]; then
  echo "error: inplay retrain exited 0 but wrote no $reports/retrain.json" >&2
  exit 1
fi
"""
)

RENDER = (
    PROLOGUE
    + """
nb03="$home/notebooks/03_model_fitting.ipynb"
if ! "$papermill" --help-notebook "$nb03" 2>/dev/null | grep -q '^  PROMOTE:'; then
  echo "error: $nb03 has no PROMOTE parameter: not run, it could move the champion" >&2
  exit 1
fi
out="$reports/airflow/$run_date"
mkdir -p "$out"
cp "$reports/retrain.json" "$out/retrain.json"
pm() {  # pm NOTEBOOK -p NAME VALUE ...: execute one notebook into $out
  local name=$1; shift
  echo "render_reports: $name -> $out/$name.ipynb"
  "$papermill" --cwd "$home/notebooks" --no-progress-bar --log-level WARNING \\
    "$home/notebooks/$name.ipynb" "$out/$name.ipynb" "$@"
}
pm 02_feature_engineering -p COMPETITION_IDS {{ params.competition | sh }} \\
  -p SEASON_IDS {{ params.season | sh }} -p N_MATCHES {{ params.report_n_matches }} \\
  -p PER_EVENT {{ params.report_per_event }}
pm 03_model_fitting -p N_SPLITS {{ params.report_n_splits }} -p PROMOTE False
nbconvert="$(dirname "$(command -v "$papermill")")/jupyter-nbconvert"
if [ -x "$nbconvert" ]; then
  "$nbconvert" --to html --log-level WARN "$out"/02_feature_engineering.ipynb \\
    "$out"/03_model_fitting.ipynb
fi
for name in 02_feature_engineering 03_model_fitting; do  # the notebooks' headline numbers
  if [ -f "$reports/$name.json" ]; then cp "$reports/$name.json" "$out/"; fi
done
ls "$out"
"""
)


def _retrain_args(params: dict) -> str:
    """The ``inplay retrain`` options from the run's parameters, shell-quoted."""
    args = []
    if params.get("competition"):
        args += ["--competition", str(params["competition"])]
    if params.get("season"):
        args += ["--season", str(params["season"])]
    if params.get("from_topic"):
        args.append("--from-topic")
    return "".join(" " + shlex.quote(a) for a in args)


with DAG(
    dag_id=DAG_ID,
    description="inplay: retrain a challenger, promote it if it beats the champion; reports",
    schedule=os.environ.get("INPLAY_RETRAIN_SCHEDULE", "0 4 * * *"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["inplay", "mlops"],
    default_args={"retries": 0, "execution_timeout": timedelta(hours=3)},
    user_defined_filters={"sh": shlex.quote},
    user_defined_macros={"retrain_args": _retrain_args},
    params={
        "competition": Param(
            os.environ.get("INPLAY_RETRAIN_COMPETITION", ""),
            type="string",
            description="competition ids, comma separated ('' = every competition)",
        ),
        "season": Param(
            os.environ.get("INPLAY_RETRAIN_SEASON", ""),
            type="string",
            description="season ids, comma separated ('' = all)",
        ),
        "from_topic": Param(
            _env_flag("INPLAY_RETRAIN_FROM_TOPIC"),
            type="boolean",
            description="retrain on the finished matches read from Kafka (--from-topic)",
        ),
        "report_n_matches": Param(
            0, type="integer", minimum=0, description="notebook 02: first N matches (0 = all)"
        ),
        "report_n_splits": Param(
            5, type="integer", minimum=2, description="notebook 03: grouped CV folds"
        ),
        "report_per_event": Param(
            True, type="boolean", description="notebook 02: also build the per-event table"
        ),
    },
    doc_md=__doc__,
) as dag:
    task_env = {"INPLAY_DAG_HOME": _default_home()}  # added to the worker's environment
    retrain = BashOperator(task_id="retrain", bash_command=RETRAIN, env=task_env, append_env=True)
    render_reports = BashOperator(
        task_id="render_reports", bash_command=RENDER, env=task_env, append_env=True
    )
    retrain >> render_reports

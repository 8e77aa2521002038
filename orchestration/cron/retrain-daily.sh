#!/usr/bin/env bash
# The inplay_retrain DAG without Airflow, for cron: `inplay retrain`, then notebooks 02 and 03
# rendered into <reports>/cron/<date>/ (03 with PROMOTE=False: the report never moves the
# champion). Options are passed to `inplay retrain` (e.g. --competition 43 --season 106).
#
#   0 4 * * *  INPLAY_HOME=/srv/inplay INPLAY_SETTINGS_FILE=/srv/inplay/inplay.env /srv/inplay/orchestration/cron/retrain-daily.sh >>/var/log/inplay-retrain.log 2>&1
#
# Settings as for the DAG (orchestration/README.md): INPLAY_HOME (default: the checkout this file
# is in), INPLAY_BIN / PAPERMILL_BIN (default: that checkout's .venv/bin, else PATH), the inplay
# settings from the environment or INPLAY_SETTINGS_FILE. RETRAIN_REPORTS=0 skips the notebooks.
# Exit status: inplay retrain's (0 promoted or rejected, 2 configuration error), 1 if the
# summary or a notebook is missing, 75 if the previous run still holds the lock.
set -euo pipefail
home="${INPLAY_HOME:-$(cd "$(dirname "$0")/../.." && pwd)}"
[ -d "$home/notebooks" ] || { echo "error: INPLAY_HOME=$home has no notebooks/" >&2; exit 2; }
export INPLAY_HOME="$home" INPLAY_PROGRESS="${INPLAY_PROGRESS:-0}"
export MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR="${MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR:-false}"
cd "$home"
default_bin() { if [ -x "$home/.venv/bin/$1" ]; then echo "$home/.venv/bin/$1"; else echo "$1"; fi; }
inplay="${INPLAY_BIN:-$(default_bin inplay)}"
papermill="${PAPERMILL_BIN:-$(default_bin papermill)}"
reports="$(realpath -m "${INPLAY_OUTPUT_DIR:-$home}")/reports"
run_date="$(date -u +%F)"
mkdir -p "$reports"

exec 9>"$reports/.retrain.lock"  # one run at a time, as the DAG's max_active_runs=1
flock -n 9 || { echo "$(date -u +%FT%TZ) retrain: previous run still going; skipped" >&2; exit 75; }

echo "$(date -u +%FT%TZ) retrain: $inplay retrain $*"
rm -f "$reports/retrain.json"
"$inplay" retrain "$@"
[ -s "$reports/retrain.json" ] || { echo "error: no $reports/retrain.json" >&2; exit 1; }
[ "${RETRAIN_REPORTS:-1}" = 0 ] && exit 0

# The notebooks' selection follows --competition/--season when given.
competition="" season=""
while [ $# -gt 0 ]; do
  case $1 in
    --competition) competition=${2:-}; shift ;;
    --competition=*) competition=${1#*=} ;;
    --season) season=${2:-}; shift ;;
    --season=*) season=${1#*=} ;;
  esac
  shift
done
nb03="$home/notebooks/03_model_fitting.ipynb"
if ! "$papermill" --help-notebook "$nb03" 2>/dev/null | grep -q '^  PROMOTE:'; then
  echo "error: $nb03 has no PROMOTE parameter: not run, it could move the champion" >&2
  exit 1
fi
out="$reports/cron/$run_date"
mkdir -p "$out"
cp "$reports/retrain.json" "$out/retrain.json"
for nb in 02_feature_engineering 03_model_fitting; do
  echo "$(date -u +%FT%TZ) reports: $nb -> $out"
  if [ "$nb" = 02_feature_engineering ]; then
    params=(-p COMPETITION_IDS "$competition" -p SEASON_IDS "$season")
  else
    params=(-p PROMOTE False)
  fi
  "$papermill" --cwd "$home/notebooks" --no-progress-bar --log-level WARNING \
    "$home/notebooks/$nb.ipynb" "$out/$nb.ipynb" "${params[@]}"
done
for nb in 02_feature_engineering 03_model_fitting; do  # the notebooks' headline numbers
  if [ -f "$reports/$nb.json" ]; then cp "$reports/$nb.json" "$out/"; fi
done
nbconvert="$(dirname "$(command -v "$papermill")")/jupyter-nbconvert"
[ -x "$nbconvert" ] && "$nbconvert" --to html --log-level WARN "$out"/0[23]_*.ipynb
echo "$(date -u +%FT%TZ) done: $out"

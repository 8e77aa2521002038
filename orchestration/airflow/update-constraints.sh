#!/usr/bin/env bash
# Refresh constraints-<python>.txt for the Airflow version pinned in requirements.txt.
#
#   orchestration/airflow/update-constraints.sh            # published file, else regenerate
#   orchestration/airflow/update-constraints.sh --generate # always regenerate from PyPI
#
# Airflow publishes reference constraints per release and Python version on GitHub
# (constraints-X.Y.Z/constraints-3.11.txt). Where that host answers, this takes that file.
# Otherwise it regenerates the file the way Airflow's are made: a fresh venv, `pip install` of
# requirements.txt at the highest versions PyPI resolves, `pip freeze`, with a header saying so.
# Commit the result; ci.sh then installs only from this repo's files and PyPI.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${AIRFLOW_PYTHON:-python3.11}"
command -v "$python" >/dev/null || python=python3
pyver="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
version="$(sed -n 's/^apache-airflow==\([0-9.]*\).*/\1/p' "$here/requirements.txt")"
[ -n "$version" ] || { echo "error: no apache-airflow==X.Y.Z line in requirements.txt" >&2; exit 2; }
target="$here/constraints-$pyver.txt"
url="https://raw.githubusercontent.com/apache/airflow/constraints-$version/constraints-$pyver.txt"

if [ "${1:-}" != "--generate" ] && curl -fsSL --max-time 30 -o "$target.new" "$url" 2>/dev/null; then
  mv "$target.new" "$target"
  echo "constraints: published file for Airflow $version, Python $pyver -> $target"
  exit 0
fi
rm -f "$target.new"
echo "constraints: $url not reachable (or --generate): regenerating from PyPI"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$python" -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install --quiet --upgrade pip
"$tmp/venv/bin/python" -m pip install --quiet -r "$here/requirements.txt"
pipv="$("$tmp/venv/bin/python" -m pip --version | cut -d' ' -f2)"
{
  cat <<EOF
#
# Constraints for apache-airflow==$version on Python $pyver (orchestration/airflow/requirements.txt).
#
# Airflow publishes its reference constraints at
#   $url
# That host is not reachable from this project's machines (CI installs only from the repo's files
# and PyPI), so this file was produced the way Airflow's own constraints are, on $(date -u +%F):
# \`pip install apache-airflow==$version\` (pip $pipv, highest resolution) into a fresh Python $pyver
# venv, then \`pip freeze\` of the result (pip/setuptools/wheel left out). It pins exactly the
# packages that install brings, no more. To replace it with the published file, run
# \`orchestration/airflow/update-constraints.sh\` where that URL is reachable (it prefers the
# published file and falls back to regenerating this one).
#
EOF
  "$tmp/venv/bin/python" -m pip freeze --all | grep -v -E '^(pip|setuptools|wheel)=='
} >"$target"
echo "constraints: regenerated for Airflow $version, Python $pyver -> $target ($(grep -c '==' "$target") pins)"

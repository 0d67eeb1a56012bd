#!/usr/bin/env bash
# Installs the wheel that tests/python/wheel_test.sh built into the smolagents
# venv that venv.sh made, and runs the tests beside this script with unittest.
# Usage: run_tests.sh WORK_DIR [unittest args]
set -euo pipefail
work=$(mkdir -p "$1" && cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
shift
venv="$work/smolagents-venv"
wheels=("$work"/wheel/pycell-*.whl)
[ -f "${wheels[0]}" ] || { echo "run_tests.sh: no wheel in $work/wheel (run the python_wheel test)" >&2; exit 1; }
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-index --no-deps --force-reinstall "${wheels[0]}"
cd "$work"
exec "$venv/bin/python" -m unittest discover -s "$here" -t "$here" "$@"

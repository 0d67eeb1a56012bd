#!/usr/bin/env bash
# Creates WORK_DIR/smolagents-venv, a venv of the machine's python3 with
# smolagents and its dependencies from PyPI, pinned by hash (requirements.txt
# beside this script). Kept while it is newer than the requirements file.
# Usage: venv.sh WORK_DIR
set -euo pipefail
work=$(mkdir -p "$1" && cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
venv="$work/smolagents-venv"
requirements="$here/requirements.txt"

if [ ! "$venv/.installed" -nt "$requirements" ]; then
  rm -rf "$venv"
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --require-hashes --only-binary=:all: -r "$requirements"
  touch "$venv/.installed"
fi
"$venv/bin/python" -c "import smolagents; print('venv.sh: smolagents', smolagents.__version__)"

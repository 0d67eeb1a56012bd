#!/usr/bin/env bash
# The MCP Python SDK tests: makes (once per requirements change) a venv of the
# machine's python3 with the official `mcp` package, pinned by hash, then runs
# test_python_sdk.py against PYCELL_SERVER (default build/pycell).
# Env: MCP_PYTHON_VENV (default build/mcp-python-venv).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../../.."
export PYCELL_SERVER=$(realpath "${PYCELL_SERVER:-build/pycell}")
venv=${MCP_PYTHON_VENV:-build/mcp-python-venv}
requirements=$here/requirements.txt
python=python3
[ -x /usr/bin/python3 ] && python=/usr/bin/python3
if [ ! "$venv/.installed" -nt "$requirements" ]; then
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --require-hashes --only-binary=:all: -r "$requirements"
  touch "$venv/.installed"
fi
exec "$venv/bin/python" "$here/test_python_sdk.py"

#!/usr/bin/env bash
# Installs the pycell Python package into a venv and runs tests/python with unittest.
# Usage: run_tests.sh WORK_DIR [--guest GUEST_DIR] [unittest args, e.g. -k final_answer]
#   WORK_DIR   holds the venv and the extension's CMake build (reused between runs)
#   GUEST_DIR  the cached guest (default: what guest/build-guest.sh prints)
# Env: PYCELL_BINARY, the pycell CLI whose `serve` test_client.py starts (default build/pycell).
set -euo pipefail
source "$(dirname "$0")/work_dir.sh"
PYCELL_WERROR=ON PYCELL_BUILD_DIR="$work/cmake" "$work/venv/bin/pip" install --no-build-isolation --no-index --no-deps \
  --disable-pip-version-check -q "$repo/python"

# From the work dir, so `import pycell` finds the installed package, not python/pycell.
export PYCELL_BINARY=${PYCELL_BINARY:-$repo/build/pycell}
cd "$work"
exec "$work/venv/bin/python" -m unittest discover -s "$repo/tests/python" -t "$repo/tests/python" "$@"

#!/usr/bin/env bash
# Builds the pycell wheel with `pip wheel` and checks that it installs into a
# clean venv of the machine's python3 (no system site packages, no index) and
# works there. Leaves the wheel in WORK_DIR/wheel for tests/python/smolagents.
# Usage: wheel_test.sh WORK_DIR [--guest GUEST_DIR]
set -euo pipefail
source "$(dirname "$0")/work_dir.sh"
rm -rf "$work/wheel"
PYCELL_WERROR=ON PYCELL_BUILD_DIR="$work/cmake" "$work/venv/bin/pip" wheel --no-build-isolation --no-index --no-deps \
  --disable-pip-version-check -q -w "$work/wheel" "$repo/python"
wheels=("$work"/wheel/pycell-*.whl)
[ ${#wheels[@]} -eq 1 ] || { echo "wheel_test.sh: expected one wheel, got: ${wheels[*]}" >&2; exit 1; }
echo "wheel_test.sh: built $(basename "${wheels[0]}")"

clean="$work/clean-venv"
rm -rf "$clean"
/usr/bin/python3 -m venv "$clean"
"$clean/bin/pip" install --no-index --disable-pip-version-check -q "${wheels[0]}"
"$clean/bin/pip" check --disable-pip-version-check

# From an empty directory, so that nothing but the installed wheel can be imported.
cd "$(mktemp -d)"
"$clean/bin/python" - <<'PY'
import pathlib
import sys

import pycell
from pycell.executor import PycellExecutor

package = pathlib.Path(pycell.__file__).parent
assert str(package).startswith(sys.prefix), f"pycell imported from {package}, not from the venv {sys.prefix}"
for name in ("py.typed", "_pycell.pyi", "pycell-stdlib.tar", "pycell-packages.tar"):
    assert (package / name).is_file(), f"{name} is not in the wheel"
with pycell.Sandbox(timeout_ms=10_000) as sandbox:
    r = sandbox.run("import json, sqlite3\nprint('hello')\n6 * 7")
    assert (r.exit_reason, r.stdout, r.value) == ("ok", "hello\n", 42), r
    r = sandbox.run("import numpy as np\nfloat(np.linspace(0, 1, 5).sum())")
    assert (r.exit_reason, r.value) == ("ok", 2.5), r
    with PycellExecutor(sandbox=sandbox) as ex:
        out = ex("final_answer((1, 2))")
        assert (out.output, out.is_final_answer) == ((1, 2), True), out
print(f"wheel_test.sh: pycell {pycell.__version__} (guest CPython {pycell.guest_python_version}) works in a clean venv")
PY

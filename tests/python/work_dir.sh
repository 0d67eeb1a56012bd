# Sourced (without arguments) by run_tests.sh and wheel_test.sh: takes WORK_DIR
# and an optional `--guest GUEST_DIR` off the caller's arguments, sets `work`
# and `repo`, and makes the build venv both share: Debian's interpreter, not
# whatever python3 is first on PATH, with Debian's setuptools and wheel through
# --system-site-packages (the package builds offline).
work=$(mkdir -p "$1" && cd "$1" && pwd)
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
shift
if [ "${1:-}" = --guest ]; then
  export PYCELL_GUEST_DIR=$2
  shift 2
fi
[ -x "$work/venv/bin/python" ] || /usr/bin/python3 -m venv --system-site-packages "$work/venv"

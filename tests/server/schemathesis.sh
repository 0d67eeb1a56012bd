#!/usr/bin/env bash
# Property-based API testing: schemathesis (PyPI, pinned by hash) generates
# requests from the OpenAPI document a running `pycell serve` serves at
# /openapi.json, and checks every response: no 5xx, status codes, content
# types, headers and bodies as documented, invalid input refused.
# Usage: tests/server/schemathesis.sh [PYCELL_BINARY] (default build/pycell).
# Env: SCHEMATHESIS_MAX_TIME (seconds, default 120), SCHEMATHESIS_MAX_EXAMPLES
# (per operation, default 25), SCHEMATHESIS_VENV (default build/schemathesis-venv),
# SCHEMATHESIS_SEED (default 1; CI's runs are reproducible, other seeds explore).
# tests/server/schemathesis.toml names the few statuses the MCP transport
# answers by design to requests the document cannot tell apart.
set -euo pipefail
cd "$(dirname "$0")/../.."
pycell=$(realpath "${1:-build/pycell}")
venv=${SCHEMATHESIS_VENV:-build/schemathesis-venv}
max_time=${SCHEMATHESIS_MAX_TIME:-120}
max_examples=${SCHEMATHESIS_MAX_EXAMPLES:-25}
requirements=tests/server/schemathesis-requirements.txt

python=python3
[ -x /usr/bin/python3 ] && python=/usr/bin/python3
if [ ! "$venv/.installed" -nt "$requirements" ]; then
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --require-hashes --only-binary=:all: \
    -r "$requirements"
  touch "$venv/.installed"
fi

log=$(mktemp)
workdir=$(mktemp -d)
server=
cleanup() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    kill -TERM "$server"
    wait "$server" || true
  fi
  rm -rf "$log" "$workdir"
}
trap cleanup EXIT

# The document requires a bearer token (so schemathesis also checks that
# requests without it, or with a wrong one, are refused); it stays out of argv.
# Port 0: the server picks a free loopback port and names it on stderr.
export SCHEMATHESIS_TOKEN=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
# Sessions idle for 3 s are closed, so that those the fuzzing phase leaves
# behind free the cap for the stateful phase's (linked) sessions.
"$pycell" serve --host 127.0.0.1 --port 0 --bearer-token @SCHEMATHESIS_TOKEN --timeout-ms 2000 \
  --max-sessions 16 --session-idle-ms 3000 2>"$log" &
server=$!
port=
for _ in $(seq 1 300); do
  port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$log")
  [ -n "$port" ] && break
  kill -0 "$server" 2>/dev/null || { cat "$log" >&2; echo "schemathesis.sh: the server did not start" >&2; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { cat "$log" >&2; echo "schemathesis.sh: no listening line" >&2; exit 1; }
echo "schemathesis.sh: pycell serve on 127.0.0.1:$port"

# One worker: schemathesis parses lambdas' sources with ast.parse while it
# generates, and Debian bookworm's Python 3.11 keeps the AST constructor's
# recursion counter per interpreter, not per thread (CPython gh-106905), so two
# worker threads parsing at once can fail with "SystemError: AST constructor
# recursion depth mismatch" -- a CI failure of the tool, not of the server.
status=0
(cd "$workdir" && "$OLDPWD/$venv/bin/schemathesis" --config-file "$OLDPWD/tests/server/schemathesis.toml" run "http://127.0.0.1:$port/openapi.json" \
  --header "Authorization: Bearer $SCHEMATHESIS_TOKEN" \
  --checks all --max-examples "$max_examples" --max-time "$max_time" \
  --request-timeout 10 --workers 1 --seed "${SCHEMATHESIS_SEED:-1}" --no-color) || status=$?
if ! kill -0 "$server" 2>/dev/null; then
  echo "schemathesis.sh: the server died during the run:" >&2
  cat "$log" >&2
  status=1
fi
exit "$status"

#!/usr/bin/env bash
# HTTP load test of `pycell serve` with wrk (loopback only):
#   1. requests/s and p99 latency of a trivial stateless exec (POST /v1/exec);
#   2. the same for an exec in one live session (POST /v1/sessions/{id}/exec);
#   3. session creation far past the cap: 429s, no crash, the server still healthy;
#   4. hostile clients (bench/http_attack.py): /v1/health latency while SLOW_CONNECTIONS
#      slowloris connections trickle headers, and the server's peak RSS growth under one
#      request with 60,000 header fields of 1 KiB.
# Usage: bench/http_load.sh [SERVER_COMMAND...]   (default: build/pycell serve)
# Env: DURATION (10s), THREADS (2), CONNECTIONS (16), MAX_SESSIONS (16), SLOW_CONNECTIONS (20).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -gt 0 ]; then server=("$@"); else server=(build/pycell serve); fi
duration=${DURATION:-10s}
threads=${THREADS:-2}
connections=${CONNECTIONS:-16}
max_sessions=${MAX_SESSIONS:-16}
command -v wrk >/dev/null || { echo "http_load: wrk is not installed (apt-get install wrk)" >&2; exit 1; }

log=$(mktemp)
"${server[@]}" --port 0 --max-sessions "$max_sessions" 2>"$log" &
pid=$!
cleanup() { kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$log"; }
trap cleanup EXIT
url=""
for _ in $(seq 600); do
  url=$(grep -o 'http://[^ ]*' "$log" | head -1 || true)
  [ -n "$url" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "http_load: server did not start" >&2; cat "$log" >&2; exit 1; }
echo "server: ${server[*]} at $url ($(nproc) cores)"

echo
echo "== 1. trivial exec: POST /v1/exec {\"code\": \"1 + 1\"}, $threads threads, $connections connections, $duration"
out=$(wrk -t"$threads" -c"$connections" -d"$duration" --latency -s bench/wrk/exec.lua "$url")
echo "$out"
rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
echo "RESULT exec: ${rps} requests/s, p99 ${p99}, non-2xx ${non2xx:-0}"

echo
echo "== 2. exec in a live session: POST /v1/sessions/{id}/exec {\"code\": \"1 + 1\"}, $threads threads, $connections connections, $duration"
sid=$(python3 -c 'import json, sys, urllib.request
r = urllib.request.Request(sys.argv[1] + "/v1/sessions", data=b"{}", headers={"Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(r))["session_id"])' "$url")
out=$(wrk -t"$threads" -c"$connections" -d"$duration" --latency -s bench/wrk/session_exec.lua "$url" -- "/v1/sessions/$sid/exec")
echo "$out"
rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
echo "RESULT session exec: ${rps} requests/s, p99 ${p99}, non-2xx ${non2xx:-0}"
python3 -c 'import sys, urllib.request
urllib.request.urlopen(urllib.request.Request(sys.argv[1], method="DELETE"))' "$url/v1/sessions/$sid"

echo
echo "== 3. session cap: POST /v1/sessions past --max-sessions $max_sessions"
out=$(wrk -t"$threads" -c"$connections" -d5s -s bench/wrk/sessions.lua "$url")
echo "$out"
health=$(python3 -c 'import json, sys, urllib.request
h = json.load(urllib.request.urlopen(sys.argv[1] + "/v1/health"))
print(h["status"], h["sessions"], h["max_sessions"])' "$url")
read -r status sessions cap <<<"$health"
echo "RESULT cap: $(grep -o 'created=.*' <<<"$out"); health after: status=$status sessions=$sessions/$cap"
kill -0 "$pid" || { echo "http_load: the server died" >&2; exit 1; }
[ "$status" = ok ] && [ "$sessions" = "$cap" ] || { echo "http_load: unexpected health" >&2; exit 1; }

echo
echo "== 4. hostile clients: ${SLOW_CONNECTIONS:-20} slowloris connections; 60,000 header fields"
python3 bench/http_attack.py "$url" "$pid" "${SLOW_CONNECTIONS:-20}"
kill -0 "$pid" || { echo "http_load: the server died" >&2; exit 1; }

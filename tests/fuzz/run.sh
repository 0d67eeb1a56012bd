#!/usr/bin/env bash
# Builds the libFuzzer harnesses (preset `fuzz`, build-fuzz/) and runs each for
# SECONDS over its seed corpus (tests/fuzz/corpus/<target>, read only; new
# inputs go to build-fuzz/corpus/<target>). Prints each target's executions,
# executions per second and coverage from libFuzzer's final statistics. Exits
# non-zero if any target finds a crash, leak, timeout or oversized allocation;
# the input is saved as build-fuzz/artifacts/<target>/crash-* (or leak-, timeout-,
# oom-), and `build-fuzz/fuzz/pycell_fuzz_<target> FILE` replays it.
# Usage: tests/fuzz/run.sh [SECONDS (default 60)] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
shift || true
all=(mcp_stdio http_request policy snapshot host_call wasi store_entry)
[ $# -gt 0 ] && targets=("$@") || targets=("${all[@]}")

guest=$(bash guest/build-guest.sh)
cmake --preset fuzz -DPYCELL_GUEST_DIR="$guest" >/dev/null
cmake --build build-fuzz --target "${targets[@]/#/pycell_fuzz_}"

# See scripts/test-asan.sh for allow_user_segv_handler.
export ASAN_OPTIONS=allow_user_segv_handler=1:${ASAN_OPTIONS:-}
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}
failed=()
for t in "${targets[@]}"; do
  corpus=build-fuzz/corpus/$t artifacts=build-fuzz/artifacts/$t log=build-fuzz/fuzz-$t.log
  mkdir -p "$corpus" "$artifacts"
  # -timeout: one input may not stall the host for 10 s (an uninterruptible
  # stall); -malloc_limit_mb: no single host allocation of 256 MiB or more
  # from one input (an unbounded allocation); -rss_limit_mb: the whole process.
  dict=()
  case $t in
    mcp_*|http_request) dict=(-dict=tests/fuzz/mcp.dict) ;;
    policy) dict=(-dict=tests/fuzz/policy.dict) ;;
  esac
  status=0
  "build-fuzz/fuzz/pycell_fuzz_$t" "${dict[@]}" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
    -malloc_limit_mb=256 -rss_limit_mb=3072 -artifact_prefix="$artifacts/" \
    "$corpus" "tests/fuzz/corpus/$t" >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  printf 'fuzz %-10s %8s execs %6s execs/s  cov %6s  ft %6s  corpus %s\n' \
    "$t" "${runs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$(ls "$corpus" | wc -l)"
  if [ "$status" -ne 0 ]; then
    failed+=("$t")
    echo "fuzz $t: FAILED (exit $status); log: $log" >&2
    grep -E '^(==[0-9]+==ERROR|SUMMARY|fuzz:)|Test unit written' "$log" | head -20 >&2 || true
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in ${failed[*]}" >&2
  exit 1
fi

#!/usr/bin/env bash
# The test suite under AddressSanitizer + UndefinedBehaviorSanitizer: configures
# the `asan` preset (build-asan/), builds everything, runs ctest.
# Not instrumented: the translated guest object (pycell_guest.o, compiled by
# guest/build-guest.sh without sanitizers). Not run: `python`, which builds its
# own uninstrumented extension with pip and loads it into Debian's python3
# (an ASan-linked module cannot be loaded into an interpreter without ASan).
# Extra arguments go to ctest (e.g. -R Snapshot).
set -euo pipefail
cd "$(dirname "$0")/.."
guest=$(bash guest/build-guest.sh)
cmake --preset asan -DPYCELL_GUEST_DIR="$guest" >/dev/null
cmake --build build-asan
# allow_user_segv_handler=1: pycell installs its own SIGSEGV/SIGBUS handler,
# which turns faults of guest code (linear-memory guard pages, guest stack
# guard) into traps and passes every other fault on to the handler installed
# before it: ASan's, which reports it. Without it ASan would keep the signals
# to itself and report every guest trap as a host crash; handle_segv=0 would
# instead lose ASan's report of a real host fault.
export ASAN_OPTIONS=allow_user_segv_handler=1:abort_on_error=1:detect_leaks=1:strict_string_checks=1:${ASAN_OPTIONS:-}
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}
if [ $# -gt 0 ]; then
  exec ctest --test-dir build-asan --output-on-failure -j "$(nproc)" -E '^python$' "$@"
fi
soak='^Soak\.CreateRunTrapDestroyReturnsToBaseline$'
ctest --test-dir build-asan --output-on-failure -j "$(nproc)" -E "^python\$|$soak"
# That test asserts RSS returns to its baseline after 2000 sessions. ASan's
# quarantine holds freed memory back on purpose (up to 256 MiB), so it runs
# with the quarantine off; leaks are LeakSanitizer's to find, at every exit.
ASAN_OPTIONS=$ASAN_OPTIONS:quarantine_size_mb=0:thread_local_quarantine_size_kb=0 \
  ctest --test-dir build-asan --output-on-failure -R "$soak"

#!/usr/bin/env bash
# Builds pycell with a guest that has no fuel instrumentation, into build-nofuel/,
# only to measure what the instrumentation costs (bench/run.py --runtimes ...,pycell-nofuel).
# The extra guest compile (~3-4 min) is cached like every guest stage.
set -euo pipefail
cd "$(dirname "$0")/.."
guest=$(bash guest/build-guest.sh --no-fuel)
cmake -S . -B build-nofuel -G Ninja -DCMAKE_BUILD_TYPE=Release -DPYCELL_GUEST_DIR="$guest" -DPYCELL_TESTS=OFF >/dev/null
cmake --build build-nofuel --target pycell_cli

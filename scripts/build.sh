#!/usr/bin/env bash
# Builds the guest (cached by content hash in $PYCELL_CACHE) and the host (in build/).
set -euo pipefail
cd "$(dirname "$0")/.."
guest=$(bash guest/build-guest.sh)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="${PYCELL_BUILD_TYPE:-Release}" \
  -DPYCELL_GUEST_DIR="$guest" -DPYCELL_WERROR=ON >/dev/null
cmake --build build

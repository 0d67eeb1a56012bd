#!/usr/bin/env bash
# README command 1: install every dependency, build, and run pycell on an example.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
./build/pycell exec -c "print(sum(range(100)))"

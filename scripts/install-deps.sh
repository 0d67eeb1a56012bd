#!/usr/bin/env bash
# Installs every build and test dependency of pycell from Debian (bookworm) and
# the trixie-only guest sysroot (wasi-libc), without touching the machine's apt sources.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/trixie-apt.sh"

packages=(
  # host build
  build-essential cmake ninja-build ccache pkg-config git
  # guest toolchain (wasm32-wasi) and wasm2c; tclsh generates SQLite's amalgamation
  clang-19 llvm-19 lld-19 libclang-rt-19-dev-wasm32 wabt tcl
  # C++ in guest packages (numpy's sorting and string ufuncs): libc++ for wasm32
  libc++-19-dev-wasm32 libc++abi-19-dev-wasm32
  # host libraries
  libgtest-dev libgmock-dev nlohmann-json3-dev libcli11-dev libssl-dev libboost-context-dev
  libcurl4-openssl-dev libedit-dev
  # the HTTP server's transport: Boost.Beast 1.74 (header-only)
  libboost1.74-dev
  # the unit tests' loopback HTTP server
  libcpp-httplib-dev
  # the Python package (pybind11, built by pip without network access)
  python3-dev python3-pip python3-setuptools python3-venv pybind11-dev
  # source fetching and verification
  dpkg-dev xz-utils ca-certificates curl
  # tests, benchmarks and peers
  python3 nodejs wrk
  # scale-out (pycell serve --store, deploy/): the hiredis client and zstd for
  # delta snapshots; Redis 7.0 and HAProxy 2.6 for tests/server/scaleout_test.py;
  # PyYAML to check deploy/'s Kubernetes manifests and compose file
  libhiredis-dev libzstd-dev redis-server haproxy python3-yaml
  # fuzzing and sanitizers (tests/fuzz, scripts/test-asan.sh): libFuzzer and clang's
  # ASan/UBSan runtimes for x86_64 (gcc's come with build-essential)
  libclang-rt-19-dev
)

export DEBIAN_FRONTEND=noninteractive
if dpkg-query -W -f='${db:Status-Abbrev}\n' "${packages[@]}" 2>/dev/null | grep -qv '^ii' ||
   [ "$(dpkg-query -W "${packages[@]}" 2>/dev/null | wc -l)" -ne "${#packages[@]}" ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${packages[@]}"
else
  echo "install-deps: Debian packages already installed"
fi

# wasi-libc: bookworm's copy is too old for CPython 3.13; trixie's is architecture
# 'all' with no dependencies, so it installs cleanly on bookworm.
want_wasi=$(pin_version wasi-libc)
have_wasi=$(dpkg-query -W -f='${Version}' wasi-libc 2>/dev/null || true)
if [ "$have_wasi" != "$want_wasi" ]; then
  deb=$(trixie_download wasi-libc "$want_wasi")
  dpkg -i "$deb"
fi
# MCP end-to-end tests: the official TypeScript SDK clients (v1 and v2) and the
# Inspector CLI from the npm registry, pinned by tests/mcp/package-lock.json
# (the Python SDK's venv is made by tests/mcp/python/run_tests.sh). (Node's Debian package for this machine
# kind bundles npm; plain Debian ships it separately.)
command -v npm >/dev/null || apt-get install -y -qq --no-install-recommends npm
mcp="$here/../tests/mcp"
if [ ! "$mcp/node_modules/.package-lock.json" -nt "$mcp/package-lock.json" ]; then
  # Not `npm ci`: it refuses this lock because vite (a dependency of the
  # Inspector) names a Windows-only optional package the registry does not
  # have, so no lock can list it. `npm install --no-save` installs exactly the
  # versions and integrity hashes of the lock and never rewrites it.
  npm install --prefix "$mcp" --no-save --no-audit --no-fund
fi
echo "install-deps: done"

#!/usr/bin/env bash
# Builds CPython twice from the pinned Debian source: natively (the build-python
# that cross-compiling needs, and the speed reference for benchmarks) and for
# wasm32-wasi (libpython and the stdlib that the guest links and packs).
# Everything lands in $PYCELL_CACHE, keyed by the source pin and this script's
# hash, so a host-only change never rebuilds it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../scripts/lib/trixie-apt.sh"

export PATH=/usr/lib/llvm-19/bin:$PATH
jobs=${PYCELL_JOBS:-$(nproc)}
ver=$(pin_version python3.13); up=${ver%%-*}
key=$(cat "$0" "$here/../scripts/lib/trixie-apt.sh" | sha256sum | cut -c1-12)
root="$PYCELL_CACHE/cpython-$up-$key"
src="$root/src" native="$root/native" wasi="$root/wasi"

if [ ! -f "$src/.extracted" ]; then
  tarball=$(trixie_orig_tarball python3.13)
  rm -rf "$src"; mkdir -p "$src"
  tar -xf "$tarball" -C "$src" --strip-components=1
  touch "$src/.extracted"
fi

if [ ! -f "$native/.built" ]; then
  echo "build-cpython: native build-python ($jobs jobs)" >&2
  rm -rf "$native"; mkdir -p "$native"
  (cd "$native" && "$src/configure" --prefix="$native/install" --without-ensurepip \
      CC=gcc >configure.log 2>&1 \
   && make -j"$jobs" >make.log 2>&1) || { tail -30 "$native"/*.log >&2; exit 1; }
  touch "$native/.built"
fi

if [ ! -f "$wasi/.built" ]; then
  echo "build-cpython: wasm32-wasi ($jobs jobs)" >&2
  rm -rf "$wasi"; mkdir -p "$wasi" "$root/empty-pkgconfig"
  # PKG_CONFIG_* empty: otherwise configure finds the host's libffi/zlib/... and
  # tries to link native libraries into the wasm module.
  (cd "$wasi" && CONFIG_SITE="$src/Tools/wasm/config.site-wasm32-wasi" \
      PKG_CONFIG_PATH= PKG_CONFIG_LIBDIR="$root/empty-pkgconfig" \
      CC="clang --target=wasm32-wasi" CPP="clang --target=wasm32-wasi -E" \
      AR=llvm-ar RANLIB=llvm-ranlib \
      "$src/configure" --host=wasm32-wasip1 --build="$("$src/config.guess")" \
        --with-build-python="$native/python" --disable-test-modules \
        >configure.log 2>&1 \
   && make -j"$jobs" >make.log 2>&1) || { tail -40 "$wasi"/*.log >&2; exit 1; }
  touch "$wasi/.built"
fi
echo "$root"

#!/usr/bin/env bash
# Builds CPython twice from the pinned Debian source: natively (the build-python
# that cross-compiling needs, and the speed reference for benchmarks) and for
# wasm32-wasi with a wasm zlib (libpython and the stdlib the guest links and
# packs). Each build lives in $PYCELL_CACHE under a hash of its own recipe, so a
# change to one never redoes the other and host-only changes redo neither.
# Prints "SRC NATIVE WASI" (three directories).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../scripts/lib/trixie-apt.sh"

export PATH=/usr/lib/llvm-19/bin:$PATH
jobs=${PYCELL_JOBS:-$(nproc)}
up=$(upstream_version "$(pin_version python3.13)")
root="$PYCELL_CACHE/cpython-$up"
src="$root/src"
hash() { sha256sum | cut -c1-12; }
wasm_cc="clang --target=wasm32-wasi"

extract() { # pin-name dest
  if [ ! -f "$2/.extracted" ]; then
    local tarball; tarball=$(trixie_orig_tarball "$1")
    rm -rf "$2"; mkdir -p "$2"
    tar -xf "$tarball" -C "$2" --strip-components=1
    touch "$2/.extracted"
  fi
}
extract python3.13 "$src"

native_recipe="configure --without-ensurepip CC=gcc"
native="$root/native-$(echo "$native_recipe $(gcc --version | head -1)" | hash)"
if [ ! -f "$native/.built" ]; then
  echo "build-cpython: native build-python ($jobs jobs)" >&2
  rm -rf "$native"; mkdir -p "$native"
  (cd "$native" && "$src/configure" --prefix="$native/install" --without-ensurepip \
      CC=gcc >configure.log 2>&1 \
   && make -j"$jobs" >make.log 2>&1) || { tail -30 "$native"/*.log >&2; exit 1; }
  touch "$native/.built"
fi

# zlib for the guest: static, wasm32-wasi, installed into the wasi build's prefix.
zlib_up=$(upstream_version "$(pin_version zlib)")
wasi_recipe="$wasm_cc zlib-$zlib_up --disable-test-modules CONFIG_SITE=config.site-wasm32-wasi"
wasi="$root/wasi-$(echo "$wasi_recipe $(clang --version | head -1) $(pin_sha256 wasi-libc)" | hash)"
if [ ! -f "$wasi/.built" ]; then
  echo "build-cpython: zlib + CPython for wasm32-wasi ($jobs jobs)" >&2
  rm -rf "$wasi"; mkdir -p "$wasi/zlib" "$wasi/deps" "$wasi/empty-pkgconfig"
  extract zlib "$wasi/zlib"
  (cd "$wasi/zlib" && CC="$wasm_cc" AR=llvm-ar RANLIB=llvm-ranlib CFLAGS="-O2" \
      ./configure --static --prefix="$wasi/deps" >configure.log 2>&1 \
   && make -j"$jobs" libz.a >make.log 2>&1 && make install >>make.log 2>&1) \
    || { tail -30 "$wasi"/zlib/*.log >&2; exit 1; }
  # PKG_CONFIG_* empty: otherwise configure finds the host's libffi/zlib/... and
  # tries to link native libraries into the wasm module.
  mkdir -p "$wasi/build"
  (cd "$wasi/build" && CONFIG_SITE="$src/Tools/wasm/config.site-wasm32-wasi" \
      PKG_CONFIG_PATH= PKG_CONFIG_LIBDIR="$wasi/empty-pkgconfig" \
      CC="$wasm_cc" CPP="$wasm_cc -E" AR=llvm-ar RANLIB=llvm-ranlib \
      ZLIB_CFLAGS="-I$wasi/deps/include" ZLIB_LIBS="-L$wasi/deps/lib -lz" \
      "$src/configure" --host=wasm32-wasip1 --build="$("$src/config.guess")" \
        --with-build-python="$native/python" --disable-test-modules \
        >configure.log 2>&1 \
   && make -j"$jobs" >make.log 2>&1) || { tail -40 "$wasi"/build/*.log >&2; exit 1; }
  grep -q "^MODULE_ZLIB_STATE=yes" "$wasi/build/Makefile" || { echo "build-cpython: zlib not picked up" >&2; exit 1; }
  touch "$wasi/.built"
fi
echo "$src $native $wasi/build"

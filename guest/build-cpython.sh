#!/usr/bin/env bash
# Builds CPython twice from the pinned Debian source: natively (the build-python
# that cross-compiling needs, and the speed reference for benchmarks) and for
# wasm32-wasi with wasm builds of zlib, bzip2, liblzma and SQLite (libpython and
# the stdlib the guest links and packs). Each build lives in $PYCELL_CACHE under a hash of its own recipe, so a
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

# C libraries for the guest: static, wasm32-wasi, installed into the wasi
# build's prefix ($wasi/deps), where CPython's configure finds them through the
# *_CFLAGS / *_LIBS variables below.
wasm_env=(CC="$wasm_cc" AR=llvm-ar RANLIB=llvm-ranlib)
build_zlib() {
  (cd "$wasi/zlib" && env "${wasm_env[@]}" CFLAGS="-O2" \
      ./configure --static --prefix="$wasi/deps" >configure.log 2>&1 \
   && make -j"$jobs" libz.a >make.log 2>&1 && make install >>make.log 2>&1)
}
build_bzip2() {  # its Makefile builds the tools too: only the library
  (cd "$wasi/bzip2" && make -j"$jobs" libbz2.a "${wasm_env[@]}" CFLAGS="-O2 -D_FILE_OFFSET_BITS=64" \
      >make.log 2>&1 && cp libbz2.a "$wasi/deps/lib/" && cp bzlib.h "$wasi/deps/include/")
}
build_xz() {  # liblzma only, single-threaded (the guest has no threads)
  (cd "$wasi/xz" && env "${wasm_env[@]}" CFLAGS="-O2" ./configure --host=wasm32-unknown-wasi \
      --prefix="$wasi/deps" --enable-static --disable-shared --disable-threads --disable-xz \
      --disable-xzdec --disable-lzmadec --disable-lzmainfo --disable-lzma-links --disable-scripts \
      --disable-doc --disable-nls --disable-rpath >configure.log 2>&1 \
   && make -j"$jobs" -C src/liblzma >make.log 2>&1 && make -C src/liblzma install >>make.log 2>&1)
}
# SQLite: Debian's orig tarball is the full source tree; its native build
# generates the amalgamation (sqlite3.c, needs tclsh), which is compiled for
# wasm with guest/sqlite/pycell_sqlite.c (the VFS and journal mode; see there).
# SQLite's own WASI settings already omit WAL (no shared memory), extension
# loading (no dlopen) and threads; no mmap either. FTS4/5, R*Tree and the math
# functions are what Debian's build users expect.
sqlite_defs="-DSQLITE_EXTRA_INIT=pycell_sqlite_init -DSQLITE_THREADSAFE=0 -DSQLITE_OMIT_WAL \
  -DSQLITE_OMIT_LOAD_EXTENSION -DSQLITE_MAX_MMAP_SIZE=0 -DHAVE_USLEEP=1 -DHAVE_LOCALTIME_R=1 \
  -DHAVE_GMTIME_R=1 -DSQLITE_ENABLE_FTS4 -DSQLITE_ENABLE_FTS5 -DSQLITE_ENABLE_RTREE \
  -DSQLITE_ENABLE_MATH_FUNCTIONS"
build_sqlite() {
  mkdir -p "$wasi/sqlite/amalgamation"
  (cd "$wasi/sqlite/amalgamation" && ../configure --disable-tcl --disable-readline >configure.log 2>&1 \
   && make sqlite3.c >make.log 2>&1 \
   && $wasm_cc -O2 $sqlite_defs -c sqlite3.c -o sqlite3.o \
   && $wasm_cc -O2 -Wall -Wextra -Werror -I. -c "$here/sqlite/pycell_sqlite.c" -o pycell_sqlite.o \
   && llvm-ar rcs "$wasi/deps/lib/libsqlite3.a" sqlite3.o pycell_sqlite.o \
   && cp sqlite3.h sqlite3ext.h "$wasi/deps/include/")
}

libs="zlib-$(pin_version zlib) bzip2-$(pin_version bzip2) xz-$(pin_version xz-utils) sqlite-$(pin_version sqlite3)"
wasi_recipe="$wasm_cc $libs $sqlite_defs $(cat "$here/sqlite/pycell_sqlite.c" | hash) --disable-test-modules CONFIG_SITE=config.site-wasm32-wasi"
wasi="$root/wasi-$(echo "$wasi_recipe $(clang --version | head -1) $(pin_sha256 wasi-libc)" | hash)"
if [ ! -f "$wasi/.built" ]; then
  echo "build-cpython: zlib, bzip2, liblzma, SQLite + CPython for wasm32-wasi ($jobs jobs)" >&2
  rm -rf "$wasi"; mkdir -p "$wasi/deps/lib" "$wasi/deps/include" "$wasi/empty-pkgconfig"
  for lib in zlib:zlib bzip2:bzip2 xz:xz-utils sqlite:sqlite3; do
    dir=${lib%%:*}; t0=$SECONDS
    extract "${lib#*:}" "$wasi/$dir"
    "build_$dir" || { tail -30 "$wasi/$dir"/*.log "$wasi/$dir"/*/*.log 2>/dev/null >&2; exit 1; }
    echo "build-cpython: $dir built in $((SECONDS - t0)) s" >&2
  done
  # PKG_CONFIG_* empty: otherwise configure finds the host's libffi/zlib/... and
  # tries to link native libraries into the wasm module.
  mkdir -p "$wasi/build"
  deps_i="-I$wasi/deps/include" deps_l="-L$wasi/deps/lib"
  t0=$SECONDS
  (cd "$wasi/build" && CONFIG_SITE="$src/Tools/wasm/config.site-wasm32-wasi" \
      PKG_CONFIG_PATH= PKG_CONFIG_LIBDIR="$wasi/empty-pkgconfig" \
      CC="$wasm_cc" CPP="$wasm_cc -E" AR=llvm-ar RANLIB=llvm-ranlib \
      ZLIB_CFLAGS="$deps_i" ZLIB_LIBS="$deps_l -lz" \
      BZIP2_CFLAGS="$deps_i" BZIP2_LIBS="$deps_l -lbz2" \
      LIBLZMA_CFLAGS="$deps_i" LIBLZMA_LIBS="$deps_l -llzma" \
      LIBSQLITE3_CFLAGS="$deps_i" LIBSQLITE3_LIBS="$deps_l -lsqlite3" \
      "$src/configure" --host=wasm32-wasip1 --build="$("$src/config.guess")" \
        --with-build-python="$native/python" --disable-test-modules \
        >configure.log 2>&1 \
   && make -j"$jobs" >make.log 2>&1) || { tail -40 "$wasi"/build/*.log >&2; exit 1; }
  for m in ZLIB _BZ2 _LZMA _SQLITE3; do
    grep -q "^MODULE_${m}_STATE=yes" "$wasi/build/Makefile" || { echo "build-cpython: $m not picked up" >&2; exit 1; }
  done
  echo "build-cpython: CPython built in $((SECONDS - t0)) s" >&2
  touch "$wasi/.built"
fi
echo "$src $native $wasi/build"

#!/usr/bin/env bash
# Builds the guest's third-party packages from their recipes (guest/packages/<name>/recipe.sh):
# each release sdist from PyPI (pinned by sha256) is cross-compiled for wasm32-wasi with
# meson; its extension modules are collected for static linking (collect.py) and its
# pure-Python part is installed into a site-packages tree. Each package is cached in
# $PYCELL_CACHE under a hash of its recipe and the toolchain; the combined output
# (inittab.c, link.rsp, packages.tar) under a hash of all of them.
# Usage: build-packages.sh SRC NATIVE WASI  (as printed by build-cpython.sh)
# Prints the combined output directory.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$1 native=$2 wasi=$3
llvm=/usr/lib/llvm-19/bin
PYCELL_CACHE=${PYCELL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pycell}
jobs=${PYCELL_JOBS:-$(nproc)}
hash() { sha256sum | cut -c1-16; }
recipes=$(cd "$here" && ls -d */ | tr -d / | sort)

# Build-only tools (Cython) in a private venv, exactly as pinned.
venv_key=$( { cat "$here/build-requirements.txt"; python3 --version; } | hash)
venv="$PYCELL_CACHE/tools/buildenv-$venv_key"
if [ ! -f "$venv/.done" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --require-hashes -r "$here/build-requirements.txt" >&2
  touch "$venv/.done"
fi

toolchain_key=$( { echo "$src $native $wasi"; "$llvm/clang" --version | head -1;
                   dpkg-query -W -f='${Version}\n' libc++-19-dev-wasm32 wasi-libc;
                   cat "$0" "$here/cross-wasm32-wasi.ini" "$here/collect.py"; } | hash)

build_one() { # name out
  local name=$1 out=$2 version sdist_url sdist_sha256 meson meson_options skip_modules
  source "$here/$name/recipe.sh"
  local file="$PYCELL_CACHE/downloads/${sdist_url##*/}"
  mkdir -p "$PYCELL_CACHE/downloads"
  if [ ! -f "$file" ]; then curl -sSfL -o "$file.tmp" "$sdist_url" && mv "$file.tmp" "$file"; fi
  echo "$sdist_sha256  $file" | sha256sum -c --quiet - || { rm -f "$file"; exit 1; }
  mkdir -p "$out/src"
  tar -xzf "$file" -C "$out/src" --strip-components=1
  for p in "$here/$name"/*.patch; do
    if [ -e "$p" ]; then patch -d "$out/src" -p1 -s < "$p"; fi
  done

  # The native build-python, but answering sysconfig questions about the wasi
  # build (include dirs, EXT_SUFFIX), as CPython's own cross builds do. The
  # wasi build's sysconfigdata records the paths it was built at: rewrite them.
  mkdir -p "$out/sysconfig"
  local data; data=$(ls "$wasi"/build/lib.*/_sysconfigdata__wasi_*.py)
  local built_src; built_src=$(sed -n "s/^ *'srcdir': '\(.*\)',$/\1/p" "$data" | head -1)
  sed "s#$built_src#$src#g" "$data" > "$out/sysconfig/${data##*/}"
  local dataname=${data##*/}; dataname=${dataname%.py}
  cat > "$out/python-wasi" <<EOF
#!/bin/sh
_PYTHON_PROJECT_BASE=$wasi _PYTHON_SYSCONFIGDATA_NAME=$dataname PYTHONPATH=$out/sysconfig exec $native/python "\$@"
EOF
  chmod +x "$out/python-wasi"
  sed "s#@LLVM@#$llvm#g; s#@PYTHON@#$out/python-wasi#g" "$here/cross-wasm32-wasi.ini" > "$out/cross.ini"

  local t0=$SECONDS
  (cd "$out/src" && PATH="$venv/bin:$PATH" python "$meson" setup "$out/build" --cross-file "$out/cross.ini" \
      -Dbuildtype=release -Db_ndebug=if-release "${meson_options[@]}" > "$out/setup.log" 2>&1) ||
    { tail -30 "$out/setup.log" >&2; exit 1; }
  # Only what the guest links: meson's own links would make shared modules.
  local inputs
  inputs=$(cd "$out/build" && PATH="$venv/bin:$PATH" python "$out/src/$meson" introspect --targets . |
    python3 -c 'import json,sys; [print(f) for t in json.load(sys.stdin) if t["type"]=="shared module" for f in t["filename"]]' |
    while read -r so; do ninja -C "$out/build" -t commands -s "${so#$out/build/}" | tail -1 | tr ' ' '\n' | grep -E '\.(o|a)$'; done | sort -u)
  (cd "$out/build" && PATH="$venv/bin:$PATH" ninja -j"$jobs" $inputs > "$out/ninja.log" 2>&1) ||
    { grep -A20 FAILED "$out/ninja.log" | head -60 >&2; exit 1; }
  echo "build-packages: $name compiled in $((SECONDS - t0)) s" >&2
  PATH="$venv/bin:$PATH" python3 "$here/collect.py" --build "$out/build" --meson "python $out/src/$meson" \
    --nm "$llvm/llvm-nm" --ar "$llvm/llvm-ar" --skip "$skip_modules" --out "$out/collected"
  # The pure-Python part (python-runtime: no extension modules, headers or tests).
  (cd "$out/build" && PATH="$venv/bin:$PATH" python "$out/src/$meson" install --no-rebuild \
      --destdir "$out/dest" --tags python-runtime > "$out/install.log" 2>&1) ||
    { tail -30 "$out/install.log" >&2; exit 1; }
  local site; site=$(ls -d "$out"/dest/usr/local/lib/python3.*/site-packages)
  mv "$site" "$out/site-packages"
  rm -rf "$out/dest" "$out/build" "$out/src"
}

outs=()
for name in $recipes; do
  key=$( { echo "$toolchain_key $venv_key"; cat "$here/$name"/*; } | hash)
  out="$PYCELL_CACHE/packages/$name-$key"
  if [ ! -f "$out/.done" ]; then
    echo "build-packages: building $name" >&2
    rm -rf "$out"
    build_one "$name" "$out"
    touch "$out/.done"
  fi
  outs+=("$out")
done

all_key=$( { printf '%s\n' "${outs[@]}"; cat "$here/inittab.py" "$here/../pack_stdlib.py"; } | hash)
all="$PYCELL_CACHE/guest-packages-$all_key"
if [ ! -f "$all/.done" ]; then
  rm -rf "$all"; mkdir -p "$all"
  python3 "$here/inittab.py" "$all/inittab.c" "${outs[@]/%//collected/modules.json}"
  for o in "${outs[@]}"; do
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1]+"/collected/modules.json")); [print(sys.argv[1]+"/collected/"+p) for p in d["objects"]+d["archives"]]' "$o"
  done > "$all/link.rsp"
  "$native/python" "$here/../pack_stdlib.py" --packages "${outs[@]/%//site-packages}" --out "$all/packages.tar"
  echo "$all_key" > "$all/key"
  touch "$all/.done"
fi
echo "$all"

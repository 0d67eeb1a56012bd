#!/usr/bin/env bash
# Builds the guest's third-party packages from their recipes (guest/packages/<name>/recipe.sh).
# Two kinds: "meson" (the default): the release sdist from PyPI (pinned by sha256) is
# cross-compiled for wasm32-wasi with meson, its extension modules are collected for
# static linking (collect.py) and its pure-Python part is installed into a
# site-packages tree; "wheel": a pure-Python wheel from PyPI (pinned) is unpacked
# into one. A recipe may depend on others, built before it (pandas compiles against
# numpy's headers). Each package is cached in $PYCELL_CACHE under a hash of its
# recipe, its dependencies and the toolchain; the combined output (inittab.c,
# link.rsp, packages.tar) under a hash of all of them.
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

# Build-only tools (Cython, meson) in a private venv, exactly as pinned.
venv_key=$( { cat "$here/build-requirements.txt"; python3 --version; } | hash)
venv="$PYCELL_CACHE/tools/buildenv-$venv_key"
if [ ! -f "$venv/.done" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --require-hashes -r "$here/build-requirements.txt" >&2
  touch "$venv/.done"
fi
venv_site=$(ls -d "$venv"/lib/python3*/site-packages)

toolchain_key=$( { echo "$src $native $wasi"; "$llvm/clang" --version | head -1;
                   dpkg-query -W -f='${Version}\n' libc++-19-dev-wasm32 wasi-libc;
                   cat "$0" "$here/cross-wasm32-wasi.ini" "$here/collect.py"; } | hash)

# Downloads URL into the cache once and checks it against SHA256; prints its path.
download() { # url sha256
  local file="$PYCELL_CACHE/downloads/${1##*/}"
  mkdir -p "$PYCELL_CACHE/downloads"
  if [ ! -f "$file" ]; then curl -sSfL -o "$file.tmp" "$1" && mv "$file.tmp" "$file"; fi
  echo "$2  $file" | sha256sum -c --quiet - >&2 || { rm -f "$file"; exit 1; }
  echo "$file"
}

# A pure-Python wheel: unpacked as it is; it has no extension modules.
build_wheel() { # out
  local out=$1 file
  file=$(download "$wheel_url" "$wheel_sha256")
  mkdir -p "$out/site-packages" "$out/collected"
  python3 -m zipfile -e "$file" "$out/site-packages"
  echo '{"archives": [], "modules": [], "objects": []}' > "$out/collected/modules.json"
}

build_meson() { # name out
  local name=$1 out=$2 file
  file=$(download "$sdist_url" "$sdist_sha256")
  mkdir -p "$out/src"
  tar -xzf "$file" -C "$out/src" --strip-components=1
  for p in "$here/$name"/*.patch; do
    if [ -e "$p" ]; then patch -d "$out/src" -p1 -s < "$p"; fi
  done

  # The native build-python, but answering sysconfig questions about the wasi
  # build (include dirs, EXT_SUFFIX), as CPython's own cross builds do. The
  # wasi build's sysconfigdata records the paths it was built at: rewrite them.
  # The build venv's pure-Python tools are importable too: packages' build
  # scripts run with this python (pandas': Cython.Tempita, versioneer).
  mkdir -p "$out/sysconfig"
  local data; data=$(ls "$wasi"/build/lib.*/_sysconfigdata__wasi_*.py)
  local built_src; built_src=$(sed -n "s/^ *'srcdir': '\(.*\)',$/\1/p" "$data" | head -1)
  sed "s#$built_src#$src#g" "$data" > "$out/sysconfig/${data##*/}"
  local dataname=${data##*/}; dataname=${dataname%.py}
  printf '#!/bin/sh\n_PYTHON_PROJECT_BASE=%s _PYTHON_SYSCONFIGDATA_NAME=%s PYTHONPATH=%s exec %s "$@"\n' \
    "$wasi" "$dataname" "$out/sysconfig:$venv_site" "$native/python" > "$out/python-wasi"
  chmod +x "$out/python-wasi"
  # The guest's python3 for pkg-config (why: cross-wasm32-wasi.ini).
  mkdir -p "$out/pkgconfig"
  printf 'Name: Python\nDescription: the guest CPython\nVersion: 3.13\nCflags: -I%s -I%s\nLibs:\n' \
    "$src/Include" "$wasi" > "$out/pkgconfig/python3.pc"
  sed "s#@LLVM@#$llvm#g; s#@PYTHON@#$out/python-wasi#g; s#@PKGCONFIG@#$out/pkgconfig#g" \
    "$here/cross-wasm32-wasi.ini" > "$out/cross.ini"
  # Each dependency's install with its headers is the cross property
  # <dep>_site (numpy_site for pandas); the symbols its modules define are
  # taken (collect.py --external).
  local cross=(--cross-file "$out/cross.ini") externals=() d
  if [ ${#depends[@]} -gt 0 ]; then
    echo "[properties]" > "$out/deps.ini"
    for d in "${depends[@]}"; do
      echo "${d//-/_}_site = '${out_of[$d]}/devel'" >> "$out/deps.ini"
      externals+=("--external=${out_of[$d]}/collected")
    done
    cross+=(--cross-file "$out/deps.ini")
  fi
  local meson_cmd=("$venv/bin/meson")
  if [ -n "$meson" ]; then meson_cmd=(python "$out/src/$meson"); fi

  local t0=$SECONDS
  (cd "$out/src" && PATH="$venv/bin:$PATH" "${meson_cmd[@]}" setup "$out/build" "${cross[@]}" \
      -Dbuildtype=release -Db_ndebug=if-release "${meson_options[@]}" > "$out/setup.log" 2>&1) ||
    { tail -30 "$out/setup.log" >&2; exit 1; }
  # Only what the guest links: meson's own links would make shared modules.
  local inputs
  inputs=$(cd "$out/build" && PATH="$venv/bin:$PATH" "${meson_cmd[@]}" introspect --targets . |
    python3 -c 'import json,sys; [print(f) for t in json.load(sys.stdin) if t["type"]=="shared module" for f in t["filename"]]' |
    while read -r so; do ninja -C "$out/build" -t commands -s "${so#$out/build/}" | tail -1 | tr ' ' '\n' | grep -E '\.(o|a)$'; done | sort -u)
  (cd "$out/build" && PATH="$venv/bin:$PATH" ninja -j"$jobs" $inputs > "$out/ninja.log" 2>&1) ||
    { grep -A20 FAILED "$out/ninja.log" | head -60 >&2; exit 1; }
  echo "build-packages: $name compiled in $((SECONDS - t0)) s" >&2
  PATH="$venv/bin:$PATH" python3 "$here/collect.py" --build "$out/build" --meson "${meson_cmd[*]}" \
    --nm "$llvm/llvm-nm" --ar "$llvm/llvm-ar" --skip "$skip_modules" --out "$out/collected" "${externals[@]}"
  # The pure-Python part (python-runtime: no extension modules, headers or
  # tests) for the image, and for dependents to compile against, that part
  # with the generated headers (devel).
  local tags dir
  for tags in python-runtime python-runtime,devel; do
    dir=site-packages; [ "$tags" = python-runtime ] || dir=devel
    (cd "$out/build" && PATH="$venv/bin:$PATH" "${meson_cmd[@]}" install --no-rebuild \
        --destdir "$out/dest" --tags "$tags" > "$out/install-$dir.log" 2>&1) ||
      { tail -30 "$out/install-$dir.log" >&2; exit 1; }
    mv "$(ls -d "$out"/dest/usr/local/lib/python3.*/site-packages)" "$out/$dir"
    rm -rf "$out/dest"
  done
  rm -rf "$out/build" "$out/src"
}

# Recipe variables (docs/packages.md); a recipe sets those of its kind.
build_one() { # name out
  local name=$1 out=$2 kind=meson version meson= meson_options=() skip_modules= depends=()
  local sdist_url sdist_sha256 wheel_url wheel_sha256
  source "$here/$name/recipe.sh"
  case $kind in
    meson) build_meson "$name" "$out" ;;
    wheel) build_wheel "$out" ;;
    *) echo "build-packages: $name: unknown kind $kind" >&2; exit 1 ;;
  esac
}

recipe_depends() { (depends=(); source "$here/$1/recipe.sh"; echo "${depends[@]}"); }
# Recipes in dependency order (each after what it depends on).
order=() visiting=" "
visit() { # name
  local n=$1 d
  [[ " ${order[*]} " == *" $n "* ]] && return
  [[ $visiting == *" $n "* ]] && { echo "build-packages: dependency cycle at $n" >&2; exit 1; }
  [ -f "$here/$n/recipe.sh" ] || { echo "build-packages: no recipe $n" >&2; exit 1; }
  visiting+="$n "
  for d in $(recipe_depends "$n"); do visit "$d"; done
  order+=("$n")
}
for name in $recipes; do visit "$name"; done

declare -A out_of
outs=()
for name in "${order[@]}"; do
  key=$( { echo "$toolchain_key $venv_key"; cat "$here/$name"/*;
           for d in $(recipe_depends "$name"); do echo "${out_of[$d]}"; done; } | hash)
  out="$PYCELL_CACHE/packages/$name-$key"
  if [ ! -f "$out/.done" ]; then
    echo "build-packages: building $name" >&2
    rm -rf "$out"
    build_one "$name" "$out"
    touch "$out/.done"
  fi
  out_of[$name]=$out
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

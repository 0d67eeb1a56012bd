#!/usr/bin/env bash
# Builds the test image of one guest package (PACKAGE/suite.json beside this script):
# its `tests` directories from the release sdist its guest recipe pins
# (guest/packages/PACKAGE/recipe.sh), and pytest with its dependencies from the wheels
# pinned in requirements.txt. Cached in $PYCELL_CACHE under a hash of those inputs.
# Usage: build_test_image.sh PACKAGE   Prints the image's path.
set -euo pipefail
package=$1
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
PYCELL_CACHE=${PYCELL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pycell}
export PYCELL_CACHE
hash() { sha256sum | cut -c1-16; }

# The guest's own sdist pin, not a second copy of it.
read -r sdist_url sdist_sha256 <<<"$(source "$repo/guest/packages/$package/recipe.sh" &&
                                     echo "$sdist_url $sdist_sha256")"
# The native build-python of the guest's CPython (cached by build-guest.sh): the
# image's .pyc files must carry the guest's magic number.
read -r _ native _ <<<"$(bash "$repo/guest/build-cpython.sh")"
# What the image takes from suite.json (not the test list, which it does not depend on).
mapfile -t spec < <(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))
print(s["config"]); print(" ".join(s.get("skip_dirs", [])))' \
  "$here/$package/suite.json")
config=${spec[0]} skip=${spec[1]:-}
key=$( { echo "$sdist_sha256 $config $skip"; cat "$here/requirements.txt" "$here/pack_tests.py" \
           "$repo/guest/pack_stdlib.py"; "$native/python" --version; } | hash)
out="$PYCELL_CACHE/compat-tests-$package-$key"
if [ ! -f "$out/.done" ]; then
  rm -rf "$out"; mkdir -p "$out/wheels" "$PYCELL_CACHE/downloads"
  sdist="$PYCELL_CACHE/downloads/${sdist_url##*/}"
  if [ ! -f "$sdist" ]; then curl -sSfL -o "$sdist.tmp" "$sdist_url" && mv "$sdist.tmp" "$sdist"; fi
  echo "$sdist_sha256  $sdist" | sha256sum -c --quiet - || { rm -f "$sdist"; exit 1; }
  # Wheels for the guest (pure Python, py3-none-any), whatever the host's Python is.
  python3 -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
    --python-version 3.13 --implementation py --require-hashes -r "$here/requirements.txt" \
    -d "$out/wheels" >&2
  # shellcheck disable=SC2086  # skip is a list of words
  "$native/python" "$here/pack_tests.py" --sdist "$sdist" --package "$package" --config "$config" \
    --skip $skip --wheels "$out"/wheels/*.whl --out "$out/tests.tar"
  rm -rf "$out/wheels"
  touch "$out/.done"
fi
echo "$out/tests.tar"

# Sourced helper: fetch pinned packages and sources from Debian trixie through a
# private apt configuration, so the machine's own sources (bookworm) stay untouched.
# Every file fetched is checked against the sha256 pinned below before use.

# name            version                          sha256 of the file we use
_pins=(
  "wasi-libc      0.0~git20241209.574b88d-2        b7716260051d289248b7667f81fa2792c125d888ff51da3fa09c6272cc0bd11d"
  "python3.13     3.13.5-2+deb13u5                 93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640"
  "zlib           1:1.3.dfsg+really1.3.1-1         60dd315c07f616887caa029408308a018ace66e3d142726a97db164b3b8f69fb"
  "bzip2          1.0.8-6                          ab5a03176ee106d3f0fa90e381da478ddae405918153cca248e682cd0c4a2269"
  "xz-utils       5.8.1-1+deb13u2                  0b54f79df85912504de0b14aec7971e3f964491af1812d83447005807513cd9e"
  "sqlite3        3.46.1-7+deb13u2                 d0cdd2ece271b29e7ce18095745d892517ee26d0f270065b3a25c2e9eb11639c"
)

PYCELL_CACHE=${PYCELL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pycell}
_apt_root="$PYCELL_CACHE/apt-trixie"

_pin_field() { # name field-number
  local line
  line=$(printf '%s\n' "${_pins[@]}" | awk -v n="$1" '$1 == n')
  [ -n "$line" ] || { echo "trixie-apt: no pin for $1" >&2; return 1; }
  echo "$line" | awk -v f="$2" '{print $f}'
}
pin_version() { _pin_field "$1" 2; }
pin_sha256()  { _pin_field "$1" 3; }

_apt_opts() {
  echo "-o Dir::Etc::sourcelist=$_apt_root/sources.list -o Dir::Etc::sourceparts=/dev/null" \
       "-o Dir::State::Lists=$_apt_root/lists -o Dir::Cache=$_apt_root/cache" \
       "-o APT::Sandbox::User=root"
}

_apt_prepare() {
  mkdir -p "$_apt_root/lists/partial" "$_apt_root/cache/archives/partial"
  # Reuse the mirror URI the machine already uses for bookworm.
  local uri
  uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$uri" ] || uri=$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$uri" ] || { echo "trixie-apt: cannot find the machine's Debian mirror" >&2; return 1; }
  local kr=/usr/share/keyrings/debian-archive-keyring.gpg
  printf 'deb [signed-by=%s] %s trixie main\ndeb-src [signed-by=%s] %s trixie main\n' \
    "$kr" "$uri" "$kr" "$uri" > "$_apt_root/sources.list"
  if [ -z "$(ls "$_apt_root/lists" 2>/dev/null | grep -v partial)" ] || [ -n "${PYCELL_APT_REFRESH:-}" ]; then
    apt-get $(_apt_opts) update -qq >&2
  fi
}

_verify() { # file name
  local want got; want=$(pin_sha256 "$2"); got=$(sha256sum "$1" | cut -d' ' -f1)
  if [ "$want" != "$got" ]; then
    echo "trixie-apt: sha256 mismatch for $1: got $got, pinned $want" >&2; rm -f "$1"; return 1
  fi
}

# trixie_download NAME VERSION -> prints the path of the verified .deb
trixie_download() {
  local dir="$PYCELL_CACHE/downloads" f
  mkdir -p "$dir"
  f=$(ls "$dir/$1_${2//:/%3a}_"*.deb 2>/dev/null | head -1 || true)
  if [ -z "$f" ]; then
    _apt_prepare
    (cd "$dir" && apt-get $(_apt_opts) download -qq "$1=$2" >&2)
    f=$(ls "$dir/$1_${2//:/%3a}_"*.deb | head -1)
  fi
  _verify "$f" "$1" && echo "$f"
}

# upstream_version VERSION -> the version without epoch and Debian revision
upstream_version() { local v=${1#*:}; echo "${v%-*}"; }

# trixie_orig_tarball SOURCE -> prints the path of the verified upstream tarball.
# Only that file is fetched (not the .dsc or the Debian tarball, which the
# mirror may no longer hold once a newer revision replaced it).
trixie_orig_tarball() {
  local dir="$PYCELL_CACHE/downloads" ver up f uri
  ver=$(pin_version "$1"); up=$(upstream_version "$ver"); mkdir -p "$dir"
  f=$(ls "$dir/$1_$up.orig.tar."* 2>/dev/null | grep -v '\.asc$' | head -1 || true)
  if [ -z "$f" ]; then
    _apt_prepare
    # --print-uris lines: 'URI' FILE SIZE SHA256:HASH; the one we want is FILE.orig.tar.*
    read -r uri f < <(apt-get $(_apt_opts) source --print-uris -qq "$1=$ver" |
                      awk -v p="$1_$up.orig.tar." 'index($2, p) == 1 && $2 !~ /\.asc$/ {gsub("\047", "", $1); print $1, $2; exit}')
    [ -n "$f" ] || { echo "trixie-apt: no orig tarball for $1=$ver" >&2; return 1; }
    /usr/lib/apt/apt-helper $(_apt_opts) download-file "$uri" "$dir/$f" "SHA256:$(pin_sha256 "$1")" >&2
    f="$dir/$f"
  fi
  _verify "$f" "$1" && echo "$f"
}

"""Packs CPython's pure-Python stdlib into the read-only image the host serves
(or, with --packages, the guest packages' pure-Python parts into the image of
site-packages that the host lays over it).

Run with the native build-python of the same source, so the .pyc files carry the
exact magic number of the guest. Bytecode is written as unchecked-hash pycs: the
image is immutable, so the guest never stats sources to validate them.
The output is a deterministic ustar archive (sorted, zero mtimes/owners): the host
maps it and serves files straight out of it.
"""
import argparse
import importlib.util
import io
import os
import sys
import tarfile
from importlib._bootstrap_external import _code_to_hash_pyc

GUEST_ROOT = "/usr/local/lib/python3.13"
# Not useful without a GUI, pip or a terminal, or too large for what they give.
EXCLUDE_TOP = {"test", "idlelib", "tkinter", "turtledemo", "ensurepip", "turtle.py",
               "site-packages", "__pycache__"}


def walk(root, rel_top=""):
    """Yields (archive_path, absolute_path) for every file below root, sorted."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        rel_dir = os.path.relpath(dirpath, root)
        for name in sorted(filenames):
            if name.endswith((".pyc", ".pyo")):
                continue
            rel = os.path.normpath(os.path.join(rel_top, rel_dir, name))
            yield rel, os.path.join(dirpath, name)


# Packages ship what runs: not type stubs, C headers, Cython declarations or
# build leftovers.
PACKAGE_SKIP_SUFFIXES = (".pyi", ".h", ".pxd", ".pyx", ".a", ".so", ".c", ".pc", ".ini")


def pyc_for(rel, data):
    try:
        code = compile(data, f"{GUEST_ROOT}/{rel}", "exec", dont_inherit=True, optimize=0)
    except (SyntaxError, ValueError):
        return None  # test data with deliberate syntax errors: ship the source only
    head, tail = os.path.split(rel)
    cfile = os.path.join(head, "__pycache__", tail[:-3] + f".{sys.implementation.cache_tag}.pyc")
    return cfile, bytes(_code_to_hash_pyc(code, importlib.util.source_hash(data), checked=False))


def add(tar, name, data, mtime):
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), mtime, 0o444
    tar.addfile(info, io.BytesIO(data))


def write_image(out, files):
    # Files keep their mtimes from the source tarball (deterministic, and after
    # 1980, which zipfile and friends require); a .pyc takes its source's.
    entries, mtimes = {}, {}
    for rel, path in files:
        with open(path, "rb") as f:
            data = f.read()
        entries[rel] = data
        mtimes[rel] = int(os.stat(path).st_mtime)
        if rel.endswith(".py"):
            pyc = pyc_for(rel, data)
            if pyc:
                entries[pyc[0]] = pyc[1]
                mtimes[pyc[0]] = mtimes[rel]
    newest = max(mtimes.values(), default=0)
    dirs = set()
    for rel in entries:
        d = os.path.dirname(rel)
        while d and d not in dirs:
            dirs.add(d)
            d = os.path.dirname(d)
    with tarfile.open(out, "w", format=tarfile.USTAR_FORMAT) as tar:
        for d in sorted(dirs):
            info = tarfile.TarInfo(d)
            info.type, info.mtime, info.mode = tarfile.DIRTYPE, newest, 0o555
            tar.addfile(info)
        for rel in sorted(entries):
            add(tar, rel, entries[rel], mtimes[rel])
    print(f"pack_stdlib: {out}: {len(entries)} files, {os.path.getsize(out) >> 20} MiB",
          file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lib", help="CPython's Lib/ directory")
    ap.add_argument("--build-lib", help="build/lib.* of the wasi build")
    ap.add_argument("--extra", help="directory of pycell's own guest modules")
    ap.add_argument("--packages", nargs="+", help="site-packages trees of guest packages")
    ap.add_argument("--out", required=True)
    ap.add_argument("--tests-out")
    a = ap.parse_args()

    if a.packages:
        files = [(os.path.join("site-packages", rel), p) for root in a.packages
                 for rel, p in walk(root) if not rel.endswith(PACKAGE_SKIP_SUFFIXES)]
        names = [rel for rel, _ in files]
        if len(set(names)) != len(names):
            sys.exit("pack_stdlib: two packages ship the same file")
        write_image(a.out, files)
        return
    if not (a.lib and a.build_lib and a.extra and a.tests_out):
        ap.error("--lib, --build-lib, --extra and --tests-out are required without --packages")
    stdlib = [(rel, p) for rel, p in walk(a.lib) if rel.split(os.sep)[0] not in EXCLUDE_TOP]
    stdlib += [(rel, p) for rel, p in walk(a.build_lib) if rel.endswith(".py")]
    stdlib += list(walk(a.extra))
    write_image(a.out, stdlib)
    write_image(a.tests_out, list(walk(os.path.join(a.lib, "test"), "test")))


if __name__ == "__main__":
    main()

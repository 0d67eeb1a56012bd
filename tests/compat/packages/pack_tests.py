"""Packs a guest package's own test suite, and pytest to run it, into a read-only
image the guest lays over site-packages (`pycell --image`).

The package's runtime image (pycell-packages.tar) holds what `meson install
--tags python-runtime` installs, which leaves the tests out; this image adds
its `tests` directories from the same release sdist, plus pytest and its
pure-Python dependencies unpacked from their pinned wheels (with dist-info, so
pytest finds the plugins they declare, e.g. hypothesis's). Run with the native
build-python of the guest's CPython: the .pyc files must carry its magic number.
"""
import argparse
import calendar
import os
import sys
import tarfile
import tempfile
import zipfile

# The stdlib image's writer: same deterministic ustar layout and unchecked-hash .pycs.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "guest"))
import pack_stdlib  # noqa: E402


def sdist_tests(sdist, package, skip, config, into):
    """Extracts every `tests` directory of `package`, and its pytest configuration file,
    from the sdist below `into`; returns the sdist's root there."""
    with tarfile.open(sdist) as tar:
        top = tar.getmembers()[0].name.split("/")[0]
        prefix = f"{top}/{package}/"
        wanted = [tar.getmember(f"{top}/{config}")]
        for m in tar.getmembers():
            if not m.name.startswith(prefix) or not m.isfile():
                continue
            rel = m.name[len(prefix):]
            if "tests" not in rel.split("/")[:-1] or any(rel.startswith(s + "/") for s in skip):
                continue
            wanted.append(m)
        tar.extractall(into, members=wanted, filter="data")
    return os.path.join(into, top)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sdist", required=True, help="the package's release sdist (.tar.gz)")
    ap.add_argument("--package", required=True, help="its import name, e.g. numpy")
    ap.add_argument("--skip", nargs="*", default=[],
                    help="subdirectories (relative to the package) whose tests are left out")
    ap.add_argument("--config", required=True,
                    help="the sdist's pytest configuration (pytest.ini, pyproject.toml), "
                         "packed as pycell-tests/PACKAGE/ for pytest's -c")
    ap.add_argument("--wheels", nargs="*", default=[], help="wheels to unpack into site-packages")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = sdist_tests(a.sdist, a.package, a.skip, a.config, os.path.join(tmp, "sdist"))
        files = [(os.path.join("site-packages", a.package, rel), p)
                 for rel, p in pack_stdlib.walk(os.path.join(root, a.package))]
        files.append((os.path.join("pycell-tests", a.package, os.path.basename(a.config)),
                      os.path.join(root, a.config)))
        for wheel in a.wheels:
            dest = os.path.join(tmp, "wheels", os.path.basename(wheel))
            with zipfile.ZipFile(wheel) as z:
                z.extractall(dest)
                # The wheel's own timestamps, not the extraction's: the image stays
                # the same bytes for the same inputs.
                for info in z.infolist():
                    stamp = calendar.timegm(info.date_time + (0, 0, 0))
                    os.utime(os.path.join(dest, info.filename), (stamp, stamp))
            files += [(os.path.join("site-packages", rel), p) for rel, p in pack_stdlib.walk(dest)]
        names = [rel for rel, _ in files]
        if len(set(names)) != len(names):
            sys.exit("pack_tests: two inputs ship the same file")
        pack_stdlib.write_image(a.out, files)


if __name__ == "__main__":
    main()

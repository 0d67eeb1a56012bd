#!/usr/bin/env python3
"""Compatibility target: run a guest package's own test suite (numpy, pandas) with
pytest inside the pycell sandbox, one test file per process."""
# Each test file runs in its own `pycell --image TESTS exec -` process, fed
# pytest_driver.py (behind a few lines that name the file, pytest's arguments and the
# package's plugin); the guest prints one JSON line of per-test outcomes. Failures are
# checked against the package's expected.json in both directions, as run_compat.py does
# for CPython's tests: an unlisted failure fails the run, and so does a listed one that
# now passes.

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import run_compat  # noqa: E402  (shared: result parsing, checking, report, docs region)

DRIVER = os.path.join(HERE, "pytest_driver.py")
TRAP_STATUS = 125  # pycell's exit status when the guest traps
GUEST_LIB = "/usr/local/lib/python3.13"
# What pytest needs to run in the cell. WASI has no dup(), which pytest's default fd
# capture and its faulthandler plugin call at start-up: capture at the sys level and
# leave faulthandler out. The test image is read-only, so no .pytest_cache. pytest's
# default temporary directory checks its owner with os.getuid(), which WASI lacks; a
# given --basetemp is used as it is. A test file that does not import is a result (an
# error under the file's id), not a reason to stop.
COMMON_ARGS = ["-p", "no:cacheprovider", "-p", "no:faulthandler", "--capture=sys",
               "--basetemp=/tmp/pytest", "--continue-on-collection-errors", "-q"]


def load_suite(package):
    with open(os.path.join(HERE, package, "suite.json"), encoding="utf-8") as f:
        return json.load(f)


def guest_source(opts, suite, test_path, deselect_traps=True):
    args = ["-c", "%s/pycell-tests/%s/%s" % (GUEST_LIB, opts.package, os.path.basename(suite["config"])),
            "--rootdir", GUEST_LIB + "/site-packages"] + COMMON_ARGS + suite.get("pytest_args", [])
    if deselect_traps:
        # A test that traps ends the whole process, so it would take the file's other
        # results with it: it runs on its own (check_trap) instead.
        for trap in suite.get("traps", {}):
            if trap.startswith(test_path + "::"):
                args += ["--deselect", trap]
    parts = ["TEST_PATH = %r\nPYTEST_ARGS = %r\nPACKAGE_PLUGINS = []\n" % (test_path, args)]
    plugin = os.path.join(HERE, opts.package, "plugin.py")
    if os.path.exists(plugin):  # defines PACKAGE_PLUGINS
        with open(plugin, encoding="utf-8") as f:
            parts.append(f.read())
    with open(DRIVER, encoding="utf-8") as f:
        parts.append(f.read())
    return "\n".join(parts)


def pycell_command(opts):
    cmd = [opts.pycell, "--image", opts.image, "--timeout-ms", str(int(opts.timeout * 1000)),
           "--output-bytes", "64M"]
    if opts.memory_mb:
        cmd += ["--memory-bytes", f"{opts.memory_mb}M"]
    return cmd + ["exec", "-"]


def run_module(opts, suite, test_path):
    """Runs one test file; returns the guest's JSON document, or a synthetic one with
    'fatal' set when the cell crashed, timed out or printed no result."""
    start = time.monotonic()
    try:
        proc = subprocess.run(pycell_command(opts),
                              input=guest_source(opts, suite, test_path).encode("utf-8"),
                              capture_output=True, timeout=opts.timeout)
    except subprocess.TimeoutExpired as e:
        err = (e.stderr or b"").decode("utf-8", "backslashreplace")
        return {"module": test_path, "fatal": "timeout after %ds" % opts.timeout,
                "stderr_tail": run_compat.tail(err), "seconds": time.monotonic() - start}
    return run_compat.parse_result(test_path, proc, time.monotonic() - start)


def check_trap(opts, suite, trap):
    """Runs one listed trap (a test id, or a test file that traps while it is
    collected) on its own; returns a mismatch message if it no longer traps."""
    path = trap.split("::")[0]
    source = guest_source(opts, suite, trap, deselect_traps=False)
    try:
        proc = subprocess.run(pycell_command(opts), input=source.encode("utf-8"),
                              capture_output=True, timeout=opts.timeout)
    except subprocess.TimeoutExpired:
        return "%s: listed trap timed out instead: %s" % (path, trap)
    if proc.returncode == TRAP_STATUS and b"guest trapped" in proc.stderr:
        return None
    return ("%s: listed in suite.json traps but no longer traps (exit status %d): %s "
            "(remove it from the list)" % (path, proc.returncode, trap))


def build_image(package):
    """The test image, from build_test_image.sh (cached by the hash of its inputs)."""
    out = subprocess.run(["bash", os.path.join(HERE, "build_test_image.sh"), package],
                         stdout=subprocess.PIPE, check=True)
    return out.stdout.decode().strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    run_compat.add_run_options(parser, "test file")
    parser.add_argument("--package", required=True, help="a directory beside this script: numpy, ...")
    parser.add_argument("--image", help="the test image (default: build or reuse it "
                                        "with build_test_image.sh)")
    parser.add_argument("--expected", help="known failures (default: PACKAGE/expected.json)")
    opts = parser.parse_args()
    opts.pycell = os.path.abspath(opts.pycell)
    suite = load_suite(opts.package)
    if not opts.image:
        opts.image = build_image(opts.package)
    for path in (opts.pycell, opts.image):
        if not os.path.exists(path):
            print("run_package_tests: %s does not exist" % path, file=sys.stderr)
            return 2
    opts.expected = opts.expected or os.path.join(HERE, opts.package, "expected.json")
    expected = run_compat.load_expected(opts.expected)
    traps = suite.get("traps", {})
    modules = [m for m in (opts.modules or suite["modules"]) if m not in traps]
    run_traps = [t for t in traps if t.split("::")[0] in (opts.modules or suite["modules"])]
    unknown = sorted(set(expected) - set(modules)) if not opts.modules else []

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(opts.jobs, 2))) as pool:
        trap_futures = [pool.submit(check_trap, opts, suite, t) for t in run_traps]
        futures = [pool.submit(run_module, opts, suite, m) for m in modules]
        docs = run_compat.gather(futures, modules)
    wall = time.monotonic() - started

    msgs = [m for m in (f.result() for f in trap_futures) if m]
    for d in docs:
        msgs.extend(run_compat.check(d, expected))
    for m in unknown:
        msgs.append("%s: listed in expected.json but not in the module list" % m)
    table = run_compat.report_table(docs)
    print()
    print(table)
    print("wall time: %.0f s with %d job(s)" % (wall, opts.jobs))
    title = "%s's own tests run inside the sandbox (tests/compat/packages)" % opts.package
    run_compat.write_outputs(opts, docs, table, expected, msgs, title,
                             region="%s-results" % opts.package)
    return run_compat.finish(docs, msgs)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Golden integration tests: run each cases/NAME.py through `pycell run` and compare output."""
# Modelled on wabt's run-tests.py: the expected stdout/stderr/status sit beside the input,
# and --rebase rewrites them from actual output so a reviewer reads a diff, not a log.
# A case with huge output keeps NAME.stdout-digest (line count, byte count, SHA-256 of the
# bytes as received by the host) instead of NAME.stdout, so the check stays exact.
# NAME.args holds extra program arguments and NAME.opts pycell's global options (before
# the subcommand), one per line.

import argparse
import concurrent.futures
import difflib
import hashlib
import os
import subprocess
import sys
import time

CASES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases")
# Generous: every case finishes in well under a second, but a loaded 2-core CI box may
# be compiling in the background. A hang is still reported, not waited out forever.
TIMEOUT_S = 120


def read_text(path, default=""):
    try:
        with open(path, encoding="utf-8", newline="") as f:
            return f.read()
    except FileNotFoundError:
        return default


def write_or_remove(path, text, empty_value):
    # A missing expectation file means "empty" (or status 0), so rebase deletes instead
    # of leaving noise files behind.
    if text == empty_value:
        if os.path.exists(path):
            os.remove(path)
        return
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)


def digest(data):
    return "lines=%d bytes=%d sha256=%s\n" % (
        data.count(b"\n"), len(data), hashlib.sha256(data).hexdigest())


def list_cases(name_filter):
    names = sorted(n[:-3] for n in os.listdir(CASES_DIR) if n.endswith(".py"))
    return [n for n in names if name_filter is None or name_filter in n]


def run_case(pycell, name):
    base = os.path.join(CASES_DIR, name)
    extra = [line for line in read_text(base + ".args").split("\n") if line != ""]
    opts = [line for line in read_text(base + ".opts").split("\n") if line != ""]
    cmd = [pycell] + opts + ["run", name + ".py"] + extra
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=CASES_DIR, stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=TIMEOUT_S)
        stdout = proc.stdout.decode("utf-8", errors="backslashreplace")
        stdout_digest = digest(proc.stdout)
        stderr = proc.stderr.decode("utf-8", errors="backslashreplace")
        status = str(proc.returncode)
    except subprocess.TimeoutExpired:
        stdout, stderr, status = "", "", "timeout after %ds" % TIMEOUT_S
        stdout_digest = digest(b"")
    expected = {
        "stderr": read_text(base + ".stderr"),
        "status": read_text(base + ".status", "0\n"),
    }
    actual = {"stderr": stderr, "status": status + "\n"}
    if os.path.exists(base + ".stdout-digest"):
        expected["stdout-digest"] = read_text(base + ".stdout-digest")
        actual["stdout-digest"] = stdout_digest
    else:
        expected["stdout"] = read_text(base + ".stdout")
        actual["stdout"] = stdout
    return {"name": name, "seconds": time.monotonic() - start,
            "actual": actual, "expected": expected}


def diff_lines(text):
    # A missing final newline must show up in the diff, not glue two lines together.
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n\\ No newline at end of file\n"
    return lines


def diff(name, kind, expected, actual):
    return "".join(difflib.unified_diff(
        diff_lines(expected), diff_lines(actual),
        fromfile="%s.%s (expected)" % (name, kind), tofile="%s.%s (actual)" % (name, kind)))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pycell", required=True, help="path to the pycell CLI")
    parser.add_argument("--rebase", action="store_true",
                        help="rewrite expectation files from actual output")
    parser.add_argument("--filter", help="only run cases whose name contains this")
    parser.add_argument("-j", "--jobs", type=int, default=2,
                        help="parallel workers (the build machine has 2 cores)")
    opts = parser.parse_args()

    pycell = os.path.abspath(opts.pycell)
    if not os.access(pycell, os.X_OK):
        print("run_golden: %s is not executable" % pycell, file=sys.stderr)
        return 2
    names = list_cases(opts.filter)
    if not names:
        print("run_golden: no cases matched", file=sys.stderr)
        return 2

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(opts.jobs, 2))) as pool:
        results = list(pool.map(lambda n: run_case(pycell, n), names))

    passed = failed = 0
    for r in results:
        name, actual, expected = r["name"], r["actual"], r["expected"]
        if opts.rebase:
            base = os.path.join(CASES_DIR, name)
            if "stdout" in actual:
                write_or_remove(base + ".stdout", actual["stdout"], "")
            else:
                write_or_remove(base + ".stdout-digest", actual["stdout-digest"], None)
            write_or_remove(base + ".stderr", actual["stderr"], "")
            write_or_remove(base + ".status", actual["status"], "0\n")
            print("REBASED %s (%.2fs)" % (name, r["seconds"]))
            passed += 1
            continue
        diffs = [diff(name, k, expected[k], actual[k])
                 for k in sorted(actual) if expected[k] != actual[k]]
        if diffs:
            failed += 1
            print("FAIL %s (%.2fs)" % (name, r["seconds"]))
            for d in diffs:
                sys.stdout.write(d)
        else:
            passed += 1
            print("PASS %s (%.2fs)" % (name, r["seconds"]))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

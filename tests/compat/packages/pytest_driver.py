# Guest side of run_package_tests.py: runs one test file of a guest package with pytest
# in the cell and prints one JSON line of per-test outcomes.
#
# run_package_tests.py sends this file on stdin to `pycell --image TESTS exec -`, after
# lines that define TEST_PATH (relative to site-packages, e.g.
# "numpy/fft/tests/test_helper.py"), PYTEST_ARGS, and PACKAGE_PLUGINS (objects from the
# package's plugin.py, if it has one). The result goes out as a single line behind
# MARKER, written straight to fd 1.
import json
import os
import sys
import time

import pytest

MARKER = "@@PYCELL-COMPAT-RESULT@@ "
REASON_CHARS = 300
SITE = "/usr/local/lib/python3.13/site-packages"
# As run_compat's guest_driver: the worst outcome of a test's phases wins.
RANK = {"passed": 0, "expected_failure": 1, "skipped": 2, "failed": 3, "error": 4}


def reason_of(report):
    """The line that identifies a failure or skip: pytest's crash message, or the
    skip's reason."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):  # a skip: (path, lineno, reason)
        text = str(longrepr[2])
    elif getattr(longrepr, "reprcrash", None) is not None:
        text = longrepr.reprcrash.message
    else:
        lines = [line for line in str(longrepr).splitlines() if line.strip()]
        text = lines[-1] if lines else ""
    return " ".join(text.split())[:REASON_CHARS]


class Recorder:
    """A pytest plugin keeping one outcome per node id. Collection errors (a test
    file or class that does not import) are recorded under the collector's id, so
    expected.json can list them like any failing test."""

    def __init__(self):
        self.outcomes = {}
        self.reasons = {}

    def _record(self, nodeid, outcome, reason=None):
        old = self.outcomes.get(nodeid)
        if old is None or RANK[outcome] > RANK[old]:
            self.outcomes[nodeid] = outcome
            if reason is not None:
                self.reasons[nodeid] = reason

    def pytest_collectreport(self, report):
        if report.failed:
            self._record(report.nodeid or TEST_PATH, "error", "collection: " + reason_of(report))  # noqa: F821

    def pytest_runtest_logstart(self, nodeid, location):
        sys.__stderr__.write("%s ... " % nodeid)
        sys.__stderr__.flush()

    def pytest_runtest_logfinish(self, nodeid, location):
        sys.__stderr__.write(self.outcomes.get(nodeid, "passed") + "\n")

    def pytest_runtest_logreport(self, report):
        xfail = hasattr(report, "wasxfail")
        if report.when == "call":
            if report.passed:
                self._record(report.nodeid, "passed")  # a non-strict xpass is no failure
            elif report.skipped:
                self._record(report.nodeid, "expected_failure" if xfail else "skipped",
                             None if xfail else reason_of(report))
            else:
                self._record(report.nodeid, "failed", reason_of(report))
        elif report.failed:  # setup or teardown
            self._record(report.nodeid, "error", "%s: %s" % (report.when, reason_of(report)))
        elif report.skipped:  # skipped in setup (skip marks, skipif, fixtures)
            self._record(report.nodeid, "expected_failure" if xfail else "skipped",
                         None if xfail else reason_of(report))
        elif report.when == "setup":
            self._record(report.nodeid, "passed")


def emit(doc):
    data = (MARKER + json.dumps(doc, sort_keys=True) + "\n").encode("utf-8")
    while data:
        data = data[os.write(1, data):]


def main():
    start = time.monotonic()
    recorder = Recorder()
    # Tests create files relative to the working directory, which must be writable.
    os.makedirs("/tmp/compat-work", exist_ok=True)
    os.chdir("/tmp/compat-work")
    args = PYTEST_ARGS + [os.path.join(SITE, TEST_PATH)]  # noqa: F821
    exit_code = pytest.main(args, plugins=[recorder] + PACKAGE_PLUGINS)  # noqa: F821
    counts = {k: 0 for k in RANK}
    for outcome in recorder.outcomes.values():
        counts[outcome] += 1
    doc = {
        "module": TEST_PATH,  # noqa: F821
        # pytest's exit codes: 0 all passed, 1 some failed, 5 none collected; the rest
        # (interrupted, internal error, usage error) mean the run itself broke.
        "fatal": None if int(exit_code) in (0, 1, 5) else "pytest exit status %d" % int(exit_code),
        "tests": len(recorder.outcomes),
        "passed": counts["passed"] + counts["expected_failure"],
        "failed": counts["failed"],
        "errors": counts["error"],
        "skipped": counts["skipped"],
        "problems": {t: {"outcome": o, "reason": recorder.reasons.get(t, "")}
                     for t, o in sorted(recorder.outcomes.items()) if o in ("failed", "error")},
        "skips": {t: recorder.reasons.get(t, "") for t, o in sorted(recorder.outcomes.items())
                  if o == "skipped"},
        "seconds": round(time.monotonic() - start, 3),
    }
    emit(doc)


main()

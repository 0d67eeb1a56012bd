# Guest side of run_compat.py: runs one CPython test module in the cell, prints one JSON line.
#
# run_compat.py sends this file on stdin to `pycell --image TESTS exec -` with one line
# prepended that defines TEST_MODULE (e.g. "test.test_json"). Tests print freely, so the
# result goes out as a single line behind MARKER, written straight to fd 1 in case a
# test left sys.stdout redirected.
import json
import os
import sys
import time
import traceback
import unittest

MARKER = "@@PYCELL-COMPAT-RESULT@@ "
REASON_CHARS = 300
REGRTEST_DEPTH = 15

# Outcome precedence when one test id reports several times (subtests, cleanups):
# the worst outcome wins.
RANK = {"passed": 0, "expected_failure": 1, "skipped": 2, "failed": 3, "error": 4}


def short_reason(err):
    """The final 'Type: message' line of a traceback, which is what identifies a failure."""
    exc_type, exc, _ = err
    lines = traceback.format_exception_only(exc_type, exc)
    text = " ".join(line.strip() for line in lines if line.strip())
    return text[:REASON_CHARS]


class RecordingResult(unittest.TestResult):
    """Keeps one outcome per test id; a progress line per test goes to stderr so a
    crash or timeout leaves the name of the test that was running in the host's tail."""

    def __init__(self):
        super().__init__()
        self.outcomes = {}   # test id -> outcome (a RANK key)
        self.reasons = {}    # test id -> short reason for failed/error/skipped

    def _record(self, test, outcome, reason=None):
        test_id = test.id()
        old = self.outcomes.get(test_id)
        if old is None or RANK[outcome] > RANK[old]:
            self.outcomes[test_id] = outcome
            if reason is not None:
                self.reasons[test_id] = reason

    def startTest(self, test):
        super().startTest(test)
        sys.__stderr__.write("%s ... " % test.id())
        sys.__stderr__.flush()

    def stopTest(self, test):
        super().stopTest(test)
        outcome = self.outcomes.setdefault(test.id(), "passed")
        sys.__stderr__.write(outcome + "\n")

    def addSuccess(self, test):
        super().addSuccess(test)
        self._record(test, "passed")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._record(test, "failed", short_reason(err))

    def addError(self, test, err):
        # Errors in setUpClass/setUpModule arrive as an _ErrorHolder whose id() names
        # the fixture; it never went through startTest, so count it here.
        super().addError(test, err)
        self._record(test, "error", short_reason(err))

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            failed = issubclass(err[0], test.failureException)
            # Keyed by the parent test: subtest descriptions can embed unstable values.
            self._record(test, "failed" if failed else "error",
                         "%s: %s" % (subtest._subDescription(), short_reason(err)))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._record(test, "skipped", str(reason)[:REASON_CHARS])

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._record(test, "expected_failure")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._record(test, "failed", "unexpected success")


def configure_like_regrtest():
    # What `python -m test` does before running a module (Lib/test/libregrtest/setup.py):
    # its process setup (hooks some tests rely on, e.g. a Python threading.excepthook
    # that test_inspect inspects), quiet tests, and only the resources regrtest enables
    # by default (none), so tests gated on 'network', 'cpu', 'largefile', ... skip.
    from test import support
    from test.libregrtest.setup import setup_process
    setup_process()
    support.verbose = 0
    support.failfast = False
    support.use_resources = []


def import_asyncio_package():
    """test.test_asyncio skips itself as a whole on WASI (it asks for working sockets);
    run_compat.py lists only its modules that need none, and a test in them that does
    need sockets, threads or processes still skips on its own checks."""
    from test import support
    requires = support.requires_working_socket
    support.requires_working_socket = lambda *, module=False: None if module else requires()
    try:
        import test.test_asyncio  # noqa: F401
    finally:
        support.requires_working_socket = requires


def run_below_frames(depth, fn):
    """Calls fn with `depth` extra frames on the stack. Under regrtest a test runs about
    15 frames deep, and some tests assume it (test_tracemalloc.test_snapshot wants a
    traceback of more than 10 frames); this driver alone is much shallower."""
    if depth <= 0:
        return fn()
    return run_below_frames(depth - 1, fn)


def emit(doc):
    data = (MARKER + json.dumps(doc, sort_keys=True) + "\n").encode("utf-8")
    while data:
        data = data[os.write(1, data):]


def main(module_name):
    # regrtest runs each module in a fresh scratch directory; tests create TESTFN there.
    from test.support import os_helper
    with os_helper.temp_cwd(os.path.join("/tmp", "compat-work")):
        run_module(module_name)


def run_module(module_name):
    start = time.monotonic()
    doc = {"module": module_name, "fatal": None}
    try:
        configure_like_regrtest()
        if module_name.startswith("test.test_asyncio."):
            import_asyncio_package()
        loader = unittest.TestLoader()
        suite = loader.loadTestsFromName(module_name)
    except unittest.SkipTest as e:
        # A module that skips itself at import (e.g. it needs _testcapi) runs nothing;
        # regrtest reports it as skipped, the host treats it as not runnable.
        doc["fatal"] = "whole module skipped: %s" % e
        emit(doc)
        return
    except BaseException:  # an import failure is a result, not a crash
        doc["fatal"] = "cannot load: " + short_reason(sys.exc_info())
        doc["traceback_tail"] = traceback.format_exc()[-2000:]
        emit(doc)
        return
    if loader.errors:
        # As regrtest does, a module whose tests do not all import is not run at all.
        doc["fatal"] = "cannot load: " + loader.errors[0].strip().splitlines()[-1]
        doc["traceback_tail"] = "\n".join(loader.errors)[-2000:]
        emit(doc)
        return
    result = RecordingResult()
    result.startTestRun()
    try:
        run_below_frames(REGRTEST_DEPTH, lambda: suite.run(result))
    except BaseException:
        doc["fatal"] = "suite aborted: " + short_reason(sys.exc_info())
        doc["traceback_tail"] = traceback.format_exc()[-2000:]
    finally:
        result.stopTestRun()

    counts = {k: 0 for k in RANK}
    for outcome in result.outcomes.values():
        counts[outcome] += 1
    doc.update({
        "run": result.testsRun,
        "tests": len(result.outcomes),
        "passed": counts["passed"] + counts["expected_failure"],
        "failed": counts["failed"],
        "errors": counts["error"],
        "skipped": counts["skipped"],
        "problems": {t: {"outcome": o, "reason": result.reasons.get(t, "")}
                     for t, o in sorted(result.outcomes.items())
                     if o in ("failed", "error")},
        "skips": {t: result.reasons.get(t, "") for t, o in sorted(result.outcomes.items())
                  if o == "skipped"},
        "seconds": round(time.monotonic() - start, 3),
    })
    emit(doc)


main(TEST_MODULE)  # noqa: F821 -- defined by the line run_compat.py prepends

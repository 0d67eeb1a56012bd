#!/usr/bin/env python3
"""Compatibility target: run CPython's own regression tests inside the pycell sandbox."""
# One `pycell --image TESTS exec -` process per module, fed guest_driver.py on stdin; the
# guest prints one JSON line of per-test outcomes. Failures are checked against
# expected.json in both directions: an unlisted failure fails the run, and so does a
# listed failure that now passes, so the list of known limitations stays honest.

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DRIVER = os.path.join(HERE, "guest_driver.py")
MARKER = "@@PYCELL-COMPAT-RESULT@@ "

# The target: cheap, mostly pure-computation modules every build must pass.
CORE_MODULES = [
    "test_json", "test_re", "test_datetime", "test_csv", "test_itertools",
    "test_collections", "test_string", "test_textwrap", "test_math", "test_statistics",
    "test_decimal", "test_fractions", "test_base64", "test_heapq", "test_bisect",
    "test_functools", "test_enum", "test_dataclasses",
]
# Modules that go through the host's WASI layer (files, directories, time, stdio): the
# ones most likely to catch a host bug, so they are worth their few seconds.
SYSTEM_MODULES = [
    "test_os", "test_posix", "test_posixpath", "test_genericpath", "test_pathlib",
    "test_tempfile", "test_shutil", "test_glob", "test_fileio", "test_file",
    "test_fileinput", "test_filecmp", "test_stat", "test_io", "test_time", "test_sys",
    "test_builtin", "test_linecache", "test_tarfile", "test_zipfile", "test_zipimport",
    "test_zipapp", "test_runpy", "test_importlib", "test_errno", "test_site",
    "test_platform", "test_signal", "test_py_compile", "test_tabnanny",
    "test_modulefinder", "test_logging", "test_tracemalloc", "test_shelve", "test_dbm",
    "test_locale", "test_gettext", "test_mimetypes", "test_pydoc", "test_zlib", "test_gzip",
    "test_sysconfig",
]
# More of the language and the pure-Python stdlib; each runs in about a second.
LANGUAGE_MODULES = [
    "test_str", "test_list", "test_dict", "test_set", "test_tuple", "test_int",
    "test_long", "test_float", "test_complex", "test_bool", "test_range", "test_slice",
    "test_iter", "test_enumerate", "test_operator", "test_hash", "test_super",
    "test_property", "test_userdict", "test_userlist", "test_userstring", "test_grammar",
    "test_syntax", "test_patma", "test_fstring", "test_format", "test_with", "test_raise",
    "test_scope", "test_generators", "test_coroutines", "test_descr", "test_exceptions",
    "test_exception_group", "test_except_star", "test_frame", "test_gc", "test_weakref",
    "test_inspect", "test_ast", "test_tokenize", "test_symtable", "test_peepholer",
    "test_source_encoding", "test_bigmem", "test_pickle", "test_pickletools", "test_copy",
    "test_copyreg", "test_typing", "test_abc", "test_contextlib", "test_difflib",
    "test_pprint", "test_reprlib", "test_shlex", "test_fnmatch", "test_calendar",
    "test_uuid", "test_hashlib", "test_hmac", "test_secrets", "test_binascii",
    "test_codecs", "test_codeccallbacks", "test_multibytecodec", "test_codecencodings_jp",
    "test_unicodedata", "test_array", "test_memoryview", "test_random", "test_struct",
    "test_sort", "test_ordered_dict", "test_deque", "test_defaultdict", "test_graphlib",
    "test_ipaddress", "test_htmlparser", "test_xml_etree", "test_minidom",
    "test_configparser", "test_tomllib", "test_plistlib", "test_cmath", "test_unittest",
    "test_doctest", "test_email", "test_urlparse", "test_http_cookies",
    "test_http_cookiejar", "test_warnings", "test_wave", "test_strftime", "test_strptime",
    "test_timeit", "test_cprofile", "test_pstats", "test_trace", "test_code_module",
]
# The modules built on C libraries, and the asyncio modules that need no sockets, threads
# or subprocesses (guest_driver.py lets their package import without socket support).
C_LIBRARY_MODULES = ["test_sqlite3", "test_bz2", "test_lzma"]
ASYNCIO_MODULES = ["test_asyncio." + m for m in (
    "test_futures", "test_futures2", "test_tasks", "test_locks", "test_queues",
    "test_timeouts", "test_taskgroups", "test_waitfor", "test_runners", "test_context",
    "test_eager_task_factory", "test_pep492", "test_protocols", "test_transports",
)]
DEFAULT_MODULES = CORE_MODULES + SYSTEM_MODULES + LANGUAGE_MODULES + C_LIBRARY_MODULES + ASYNCIO_MODULES


def tail(text, limit=3000):
    return text if len(text) <= limit else "..." + text[-limit:]


def run_module(opts, name):
    """Runs one test module; returns the guest's JSON document, or a synthetic one
    with 'fatal' set when the cell crashed, timed out or printed no result."""
    with open(DRIVER, encoding="utf-8") as f:
        driver = f.read()
    # Prepended as line 1 so the driver file itself stays a plain, readable script.
    source = "TEST_MODULE = %r\n" % ("test." + name) + driver
    # The module's time limit is this runner's (--timeout), not pycell's 30 s
    # default: the slowest modules take close to that on a loaded machine.
    # Tests print freely, and the result line comes last: the output cap (1 MiB by
    # default, streamed output included) must not cut it off.
    cmd = [opts.pycell, "--image", opts.tests_image, "--timeout-ms", str(int(opts.timeout * 1000)),
           "--output-bytes", "64M"]
    if opts.memory_mb:
        cmd += ["--memory-bytes", f"{opts.memory_mb}M"]
    cmd += ["exec", "-"]
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, input=source.encode("utf-8"), capture_output=True,
                              timeout=opts.timeout)
    except subprocess.TimeoutExpired as e:
        err = (e.stderr or b"").decode("utf-8", "backslashreplace")
        return {"module": name, "fatal": "timeout after %ds" % opts.timeout,
                "stderr_tail": tail(err), "seconds": time.monotonic() - start}
    return parse_result(name, proc, time.monotonic() - start)


def parse_result(name, proc, seconds):
    """The guest's JSON document from a finished pycell process (the last marker line
    on stdout wins; anything else there is the tests' own chatter), or a synthetic one
    with 'fatal' set."""
    stdout = proc.stdout.decode("utf-8", "backslashreplace")
    stderr = proc.stderr.decode("utf-8", "backslashreplace")
    doc = None
    for line in stdout.splitlines():
        if line.startswith(MARKER):
            try:
                doc = json.loads(line[len(MARKER):])
            except ValueError:
                doc = None
    if doc is None:
        return {"module": name, "seconds": seconds, "stderr_tail": tail(stderr),
                "fatal": "no result line (exit status %d)" % proc.returncode}
    doc["module"] = name
    doc["seconds"] = seconds   # wall time including interpreter start, as the host saw it
    if proc.returncode != 0 and not doc.get("fatal"):
        doc["fatal"] = "exit status %d after printing a result" % proc.returncode
    if doc.get("fatal"):
        doc["stderr_tail"] = tail(stderr)
    return doc


def check(doc, expected):
    """Compares one module's outcome with its expected.json entry; returns messages."""
    name = doc["module"]
    if doc.get("fatal"):
        return ["%s: module could not be run: %s" % (name, doc["fatal"])]
    known = expected.get(name, {})
    problems = doc.get("problems", {})
    msgs = []
    for test_id, info in sorted(problems.items()):
        if test_id not in known:
            msgs.append("%s: unexpected %s: %s -- %s"
                        % (name, info["outcome"], test_id, info["reason"]))
    for test_id in sorted(known):
        if test_id not in problems:
            outcome = "skipped" if test_id in doc.get("skips", {}) else "passed/absent"
            msgs.append("%s: listed in expected.json but now %s: %s "
                        "(remove it from the list)" % (name, outcome, test_id))
    return msgs


def report_table(docs):
    rows = ["| module | run | passed | failed | errors | skipped | seconds |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    totals = [0, 0, 0, 0, 0, 0.0]
    for d in docs:
        if d.get("fatal"):
            rows.append("| %s | crashed: %s | | | | | %.1f |"
                        % (d["module"], d["fatal"].replace("|", "/"), d["seconds"]))
            totals[5] += d["seconds"]
            continue
        vals = [d["tests"], d["passed"], d["failed"], d["errors"], d["skipped"], d["seconds"]]
        rows.append("| %s | %d | %d | %d | %d | %d | %.1f |" % tuple([d["module"]] + vals))
        totals = [a + b for a, b in zip(totals, vals)]
    rows.append("| **total** | %d | %d | %d | %d | %d | %.1f |" % tuple(totals))
    return "\n".join(rows) + "\n"




def known_failures_markdown(expected):
    lines = []
    for module in sorted(expected):
        for test_id, why in sorted(expected[module].items()):
            lines.append("- `%s` — %s" % (test_id, why))
    return "\n".join(lines or ["(none)"]) + "\n"


def update_docs(path, table, expected, region, expected_name):
    """Rewrites one generated region of the docs (between its begin and end markers)
    so table and failure list match this run and the expected file; the hand-written
    prose around it is left alone."""
    begin = "<!-- %s:begin (generated by --update-docs) -->" % region
    end = "<!-- %s:end -->" % region
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if begin not in text or end not in text:
        raise SystemExit("%s lacks the markers of the generated region %s" % (path, region))
    head, rest = text.split(begin, 1)
    _, tail_text = rest.split(end, 1)
    body = ("\n### Latest results\n\n" + table +
            "\n### Known failures (from %s)\n\n" % expected_name +
            known_failures_markdown(expected) + "\n")
    with open(path, "w", encoding="utf-8") as f:
        f.write(head + begin + "\n" + body + end + tail_text)


def load_expected(path):
    if not path:
        return {}
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    # {"module": {"test id": "why it is a genuine limitation"}}; keys starting with
    # "_" hold commentary.
    return {m: tests for m, tests in data.items() if not m.startswith("_")}


def gather(futures, modules):
    """The futures' result documents in `modules`' order, with a progress line as each ends."""
    by_name = {}
    for fut in concurrent.futures.as_completed(futures):
        doc = fut.result()
        by_name[doc["module"]] = doc
        state = "CRASH" if doc.get("fatal") else "done"
        print("%-5s %s (%.1fs)" % (state, doc["module"], doc["seconds"]), flush=True)
    return [by_name[m] for m in modules]


def add_run_options(parser, unit):
    """The options every compat runner shares; `unit` names what runs in one process."""
    parser.add_argument("--pycell", required=True, help="path to the pycell CLI")
    parser.add_argument("--report", help="write the markdown table here")
    parser.add_argument("--json", help="also write the full per-module results here")
    parser.add_argument("--modules", nargs="+", help=f"run only these {unit}s")
    parser.add_argument("--update-docs", metavar="MD",
                        help="rewrite the generated results section of this file "
                             "(docs/compat.md) from this run and the expected failures")
    parser.add_argument("--timeout", type=int, default=600, help=f"seconds per {unit}")
    parser.add_argument("--memory-mb", type=int, help="guest memory cap passed to pycell")
    parser.add_argument("-j", "--jobs", type=int, default=2,
                        help=f"{unit}s run in parallel (the build machine has 2 cores)")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    add_run_options(parser, "module")
    parser.add_argument("--tests-image", required=True,
                        help="image with Lib/test (build/pycell-stdlib-tests.tar)")
    parser.add_argument("--expected", help="expected.json of known failures")
    opts = parser.parse_args()
    opts.pycell = os.path.abspath(opts.pycell)

    for path in (opts.pycell, opts.tests_image):
        if not os.path.exists(path):
            print("run_compat: %s does not exist" % path, file=sys.stderr)
            return 2
    expected = load_expected(opts.expected)
    modules = opts.modules or DEFAULT_MODULES
    unknown = sorted(set(expected) - set(modules)) if not opts.modules else []

    # Progress lines come in completion order; the table below keeps the list's order.
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(opts.jobs, 2))) as pool:
        futures = {pool.submit(run_module, opts, m): m for m in modules}
        docs = gather(futures, modules)

    msgs = []
    for d in docs:
        msgs.extend(check(d, expected))
    for m in unknown:
        msgs.append("%s: listed in expected.json but not in the module list" % m)

    table = report_table(docs)
    print()
    print(table)
    write_outputs(opts, docs, table, expected, msgs,
                  "CPython regression-test modules run inside the sandbox "
                  "(tests/compat/run_compat.py)", region="compat-results")
    return finish(docs, msgs)


def write_outputs(opts, docs, table, expected, msgs, title, region):
    """The --report, --update-docs and --json outputs of a run."""
    expected_name = os.path.relpath(opts.expected, os.path.dirname(os.path.dirname(HERE))) \
        if opts.expected else "expected.json"
    if opts.report:
        with open(opts.report, "w", encoding="utf-8") as f:
            f.write("# pycell compatibility report\n\n%s.\n\n" % title)
            f.write(table)
            f.write("\n## Known failures (%s)\n\n" % expected_name)
            f.write(known_failures_markdown(expected))
            if msgs:
                f.write("\n## Mismatches against the expected failures\n\n")
                f.writelines("- %s\n" % m for m in msgs)
    if opts.update_docs:
        if opts.modules:
            raise SystemExit("--update-docs needs the full module list")
        update_docs(opts.update_docs, table, expected, region, expected_name)
    if opts.json:
        with open(opts.json, "w", encoding="utf-8") as f:
            json.dump(docs, f, indent=1, sort_keys=True)


def finish(docs, msgs):
    """Prints what went wrong, if anything; returns the exit status."""
    for d in docs:
        if d.get("fatal"):
            print("---- %s: %s" % (d["module"], d["fatal"]))
            print(d.get("traceback_tail") or d.get("stderr_tail", ""))
    if msgs:
        print("FAILED: %d mismatch(es) against the expected failures:" % len(msgs))
        for m in msgs:
            print("  " + m)
        return 1
    print("OK: every failure is a documented limitation (%d modules)" % len(docs))
    return 0

if __name__ == "__main__":
    sys.exit(main())

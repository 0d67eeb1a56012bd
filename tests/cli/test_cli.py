#!/usr/bin/env python3
"""Tests of the pycell command line: flags -> session config, --json, repl, exit codes, help, docs.

Usage: test_cli.py --pycell PATH [unittest options]
       test_cli.py --pycell PATH --update-docs   # rewrite the table in docs/cli.md
"""

import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCS = os.path.join(ROOT, "docs", "cli.md")
LIMITS_H = os.path.join(ROOT, "include", "pycell", "limits.h")
TABLE_BEGIN = "<!-- pycell limits --markdown: begin -->\n"
TABLE_END = "<!-- pycell limits --markdown: end -->\n"
# Generous: a loaded 2-core box may be compiling. A hang is still reported.
TIMEOUT_S = 120
PYCELL = None


def pycell(*args, stdin=None, env=None, check_status=None):
    """Runs pycell; returns (status, stdout, stderr) as text."""
    proc = subprocess.run([PYCELL, *args], input=stdin, capture_output=True, text=True,
                          env=env if env is not None else os.environ.copy(), timeout=TIMEOUT_S,
                          stdin=None if stdin is not None else subprocess.DEVNULL)
    if check_status is not None and proc.returncode != check_status:
        raise AssertionError("pycell %s: status %d, wanted %d\nstdout: %s\nstderr: %s" % (
            " ".join(args), proc.returncode, check_status, proc.stdout, proc.stderr))
    return proc.returncode, proc.stdout, proc.stderr


def config(*flags):
    status, out, err = pycell(*flags, "config", check_status=0)
    return json.loads(out)


def fields():
    status, out, err = pycell("limits", "--json", check_status=0)
    return json.loads(out)


def limits_fields_in_header():
    """Names of the fields of struct Limits, read from the public header."""
    with open(LIMITS_H, encoding="utf-8") as f:
        text = f.read()
    body = text[text.index("struct Limits {"):text.index("};", text.index("struct Limits {"))]
    return set(re.findall(r"^\s*(?:uint\d+_t|int\d+_t|bool|size_t|double)\s+(\w+)\s*=", body, re.M))


def docs_table():
    with open(DOCS, encoding="utf-8") as f:
        text = f.read()
    start = text.index(TABLE_BEGIN) + len(TABLE_BEGIN)
    return text, start, text.index(TABLE_END, start)


class Flags(unittest.TestCase):
    """Every knob of the schema reaches the session config through its flag."""

    def test_every_limits_field_has_a_flag_that_sets_it(self):
        in_header = limits_fields_in_header()
        self.assertGreaterEqual(len(in_header), 10)
        table = {f["key"][len("limits."):]: f for f in fields() if f["key"].startswith("limits.")}
        self.assertEqual(set(table), in_header, "limits.h and the schema disagree")
        defaults = config()["limits"]
        for name, f in sorted(table.items()):
            self.assertTrue(f["flag"].startswith("--"), name)
            value, expected = ("3M", 3 << 20) if f["value_name"] == "BYTES" else ("12345", 12345)
            self.assertNotEqual(defaults[name], expected, name)
            got = config(f["flag"], value)["limits"]
            self.assertEqual(got[name], expected, "%s %s" % (f["flag"], value))
            # ... and nothing else.
            self.assertEqual({k: v for k, v in got.items() if k != name},
                             {k: v for k, v in defaults.items() if k != name}, f["flag"])

    def test_every_json_field_but_host_functions_has_a_flag(self):
        json_only = {f["key"] for f in fields() if not f["flag"]}
        self.assertEqual(json_only, {"functions_as_globals", "protect_functions"})

    def test_defaults_grant_nothing(self):
        c = config()
        self.assertEqual(c["env"], {})
        self.assertEqual(c["mounts"], [])
        self.assertIsNone(c["http"])
        self.assertFalse(c["determinism"]["enabled"])

    def test_grants(self):
        env = dict(os.environ, PYCELL_TEST_TOKEN="Bearer t0k3n", PYCELL_TEST_PASS="passed")
        status, out, err = pycell(
            "--env", "A=1", "--env", "B=x=y", "--pass-env", "PYCELL_TEST_PASS",
            "--mount", "/srv/a:b:/data", "--mount", "/srv/rw:/rw:rw", "--mount", "/srv/p:/pkgs:pkg",
            "--allow-host", "api.example.com", "--allow-host", "*.example.org", "--allow-cidr", "10.0.0.0/8",
            "--secret-header", "api.example.com:Authorization:@PYCELL_TEST_TOKEN",
            "--http-timeout-ms", "500", "--deterministic", "--seed", "7", "config", env=env)
        self.assertEqual(status, 0, err)
        c = json.loads(out)
        # Values are redacted in every report of a config (issue 9): --env carries API keys.
        self.assertEqual(c["env"], {"A": "<redacted>", "B": "<redacted>", "PYCELL_TEST_PASS": "<redacted>"})
        self.assertNotIn("passed", out)
        self.assertEqual(c["mounts"], [
            {"host_path": "/srv/a:b", "guest_path": "/data", "access": "ro", "package_path": False},
            {"host_path": "/srv/rw", "guest_path": "/rw", "access": "rw", "package_path": False},
            {"host_path": "/srv/p", "guest_path": "/pkgs", "access": "ro", "package_path": True}])
        self.assertEqual(c["http"]["allow_hosts"], ["api.example.com", "*.example.org"])
        self.assertEqual(c["http"]["allow_cidrs"], ["10.0.0.0/8"])
        self.assertEqual(c["http"]["secret_headers"],
                         [{"host": "api.example.com", "name": "Authorization", "value": "<redacted>"}])
        self.assertNotIn("t0k3n", out)
        self.assertEqual(c["http"]["timeout_ms"], 500)
        self.assertEqual(c["determinism"]["enabled"], True)
        self.assertEqual(c["determinism"]["seed"], 7)

    def test_bad_values_are_usage_errors_naming_the_flag(self):
        cases = [
            (["--memory-bytes", "lots"], "--memory-bytes"),
            (["--tmp-depth", "4294967296"], "--tmp-depth"),
            (["--env", "NOEQUALS"], "--env"),
            (["--mount", "/only-host"], "--mount"),
            (["--secret-header", "host-only"], "--secret-header"),
            (["--secret-header", "h:X-Key:@PYCELL_TEST_UNSET_VAR"], "PYCELL_TEST_UNSET_VAR"),
            (["--pass-env", "PYCELL_TEST_UNSET_VAR"], "PYCELL_TEST_UNSET_VAR"),
            (["--seed", "3"], "--deterministic"),
        ]
        env = {k: v for k, v in os.environ.items() if k != "PYCELL_TEST_UNSET_VAR"}
        for args, needle in cases:
            status, out, err = pycell(*args, "exec", "-c", "print('ran')", env=env)
            self.assertEqual(status, 2, args)
            self.assertIn(needle, err, args)
            self.assertNotIn("ran", out, args)

    def test_unknown_flag_is_a_usage_error(self):
        status, out, err = pycell("--no-such-flag", "exec", "-c", "print(1)")
        self.assertEqual(status, 2)
        self.assertIn("--no-such-flag", err)
        status, out, err = pycell("exec", "--jsn", "-c", "print(1)")
        self.assertEqual(status, 2)
        self.assertIn("--jsn", err)

    def test_options_after_the_subcommand(self):
        status, out, err = pycell("exec", "--env", "A=after", "-c", "import os; print(os.environ['A'])")
        self.assertEqual((status, out), (0, "after\n"), err)


class HostEnvironment(unittest.TestCase):
    """Nothing of the host environment reaches the guest unless passed."""

    CODE = "import os; print(sorted(os.environ.items()))"

    def test_host_environment_is_not_passed(self):
        env = dict(os.environ, PYCELL_TEST_SECRET="hunter2")
        status, out, err = pycell("exec", "-c", self.CODE, env=env)
        self.assertEqual(status, 0, err)
        self.assertEqual(out, "[]\n")
        status, out, err = pycell("repl", stdin="import os\nos.environ.get('PYCELL_TEST_SECRET')\n"
                                                "sorted(os.environ)\n", env=env)
        self.assertEqual((status, out), (0, "[]\n"), err)

    def test_only_listed_variables_are_passed(self):
        env = dict(os.environ, PYCELL_TEST_SECRET="hunter2", PYCELL_TEST_PASS="yes")
        status, out, err = pycell("--env", "A=1", "--pass-env", "PYCELL_TEST_PASS", "exec", "-c", self.CODE,
                                  env=env)
        self.assertEqual(status, 0, err)
        self.assertEqual(out, "[('A', '1'), ('PYCELL_TEST_PASS', 'yes')]\n")


class GrantsReachTheGuest(unittest.TestCase):
    """The grant flags end to end: what the guest can do with and without them."""

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.root = self.dir.name
        with open(os.path.join(self.root, "a.txt"), "w") as f:
            f.write("hello")
        os.mkdir(os.path.join(self.root, "pk"))
        with open(os.path.join(self.root, "pk", "mymod.py"), "w") as f:
            f.write("X = 42\n")

    def tearDown(self):
        self.dir.cleanup()

    def test_no_mount_no_host_files(self):
        status, out, err = pycell("exec", "-c", "import os; print(os.listdir('/'))")
        self.assertEqual(status, 0, err)
        self.assertNotIn("data", out)

    def test_read_only_mount(self):
        status, out, err = pycell("--mount", self.root + ":/data", "exec", "-c",
                                  "print(open('/data/a.txt').read())\nopen('/data/b.txt', 'w')")
        self.assertEqual(status, 1)
        self.assertEqual(out, "hello\n")
        self.assertIn("Read-only file system", err)
        self.assertFalse(os.path.exists(os.path.join(self.root, "b.txt")))

    def test_read_write_mount(self):
        status, out, err = pycell("--mount", self.root + ":/data:rw", "exec", "-c",
                                  "open('/data/b.txt', 'w').write('from guest')")
        self.assertEqual(status, 0, err)
        with open(os.path.join(self.root, "b.txt")) as f:
            self.assertEqual(f.read(), "from guest")

    def test_package_mount(self):
        status, out, err = pycell("--mount", os.path.join(self.root, "pk") + ":/pk:pkg", "exec", "-c",
                                  "import mymod; print(mymod.X)")
        self.assertEqual((status, out), (0, "42\n"), err)
        status, out, err = pycell("--mount", os.path.join(self.root, "pk") + ":/pk", "exec", "-c", "import mymod")
        self.assertEqual(status, 1)
        self.assertIn("ModuleNotFoundError", err)

    def test_deterministic_runs_repeat(self):
        code = "import random, os, time; print(random.random(), os.urandom(8).hex(), time.time())"
        one = pycell("--deterministic", "--seed", "1", "exec", "-c", code, check_status=0)[1]
        self.assertEqual(pycell("--deterministic", "--seed", "1", "exec", "-c", code, check_status=0)[1], one)
        self.assertNotEqual(pycell("--deterministic", "--seed", "2", "exec", "-c", code, check_status=0)[1], one)
        self.assertNotEqual(pycell("exec", "-c", code, check_status=0)[1], one)


class Json(unittest.TestCase):
    KEYS = {"stdout", "stderr", "stdout_truncated", "stderr_truncated", "value_repr", "value_json", "error",
            "exit_reason", "exit_code", "trap", "wall_time_ms", "fuel_used", "rolled_back", "peak_memory"}

    def run_json(self, *args, stdin=None, status=0):
        code, out, err = pycell(*args, stdin=stdin)
        self.assertEqual(code, status, err)
        self.assertEqual(out.count("\n"), 1, "one line of JSON: %r" % out)
        result = json.loads(out)
        self.assertEqual(set(result), self.KEYS)
        return result

    def test_ok_with_value(self):
        r = self.run_json("exec", "--json", "-c", "print('hi')\n{'a': [1, 2]}")
        self.assertEqual(r["stdout"], "hi\n")
        self.assertEqual(r["stderr"], "")
        self.assertEqual(r["value_repr"], "{'a': [1, 2]}")
        self.assertEqual(r["value_json"], {"a": [1, 2]})
        self.assertIsNone(r["error"])
        self.assertEqual((r["exit_reason"], r["exit_code"], r["trap"]), ("ok", 0, "none"))
        self.assertFalse(r["rolled_back"])
        self.assertGreater(r["peak_memory"], 0)
        self.assertIsInstance(r["wall_time_ms"], float)

    def test_exception(self):
        r = self.run_json("exec", "--json", "-c", "def f():\n    raise ValueError('bad')\nf()", status=1)
        self.assertEqual((r["exit_reason"], r["exit_code"]), ("exception", 1))
        self.assertEqual(r["error"]["type"], "ValueError")
        self.assertEqual(r["error"]["message"], "bad")
        self.assertEqual(r["error"]["frames"][-1], {"file": "<string>", "line": 2, "function": "f",
                                                    "source": "raise ValueError('bad')"})
        self.assertIn("Traceback", r["stderr"])

    def test_exit_and_run(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "s.py")
            with open(path, "w") as f:
                f.write("import sys\nprint(sys.argv[1:])\nsys.exit(3)\n")
            r = self.run_json("run", "--json", path, "a", "--b", status=3)
        self.assertEqual(r["stdout"], "['a', '--b']\n")
        self.assertEqual((r["exit_reason"], r["exit_code"]), ("exit", 3))

    def test_limits(self):
        r = self.run_json("--timeout-ms", "300", "exec", "--json", "-c", "while True: pass", status=124)
        self.assertEqual(r["exit_reason"], "timeout")
        r = self.run_json("--fuel", "100000", "exec", "--json", "-c", "while True: pass", status=125)
        self.assertEqual(r["exit_reason"], "fuel")
        self.assertGreater(r["fuel_used"], 0)
        r = self.run_json("--output-bytes", "10", "exec", "--json", "-c", "print('x' * 100)")
        self.assertTrue(r["stdout_truncated"])
        r = self.run_json("--memory-bytes", "64M", "exec", "--json", "-c", "b = bytearray(100 << 20)", status=1)
        self.assertEqual(r["error"]["type"], "MemoryError")

    def test_stdin_code(self):
        r = self.run_json("exec", "--json", "-", stdin="print(6 * 7)\n")
        self.assertEqual(r["stdout"], "42\n")


class ExitStatus(unittest.TestCase):
    def test_statuses(self):
        cases = [
            (["exec", "-c", "print(1)"], 0),
            (["exec", "-c", "raise ValueError"], 1),
            (["exec", "-c", "import sys; sys.exit(7)"], 7),
            (["exec", "-c", "import sys; sys.exit('message')"], 1),
            (["exec"], 2),
            (["exec", "-c", "1", "-"], 2),
            (["run"], 2),
            ([], 2),
            (["--timeout-ms", "300", "exec", "-c", "while True: pass"], 124),
            (["--fuel", "100000", "exec", "-c", "while True: pass"], 125),
            (["run", "/nonexistent/script.py"], 125),
            # A C++ std::bad_alloc in numpy (pocketfft) past the memory cap.
            (["--memory-bytes", "128M", "exec", "-c", "import numpy as np; np.fft.fft(np.ones(2_500_000, complex))"],
             1),
        ]
        for args, want in cases:
            status, out, err = pycell(*args)
            self.assertEqual(status, want, "%s: %s" % (args, err))

    def test_exec_file_and_stdin(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "s.py")
            with open(path, "w") as f:
                f.write("import sys\nprint(sys.argv)\n")
            self.assertEqual(pycell("exec", path, check_status=0)[1], "[%r]\n" % path)
        self.assertEqual(pycell("exec", "-", stdin="print('in')", check_status=0)[1], "in\n")


def run_bounded(args, keep=1 << 21, give_up=1 << 28):
    """Runs pycell, reading both pipes as they fill; keeps the first `keep`
    bytes of each and their totals, and kills it past `give_up` bytes in all.
    Returns (status, {"stdout": (total, head), "stderr": (total, head)})."""
    proc = subprocess.Popen([PYCELL, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    seen = {proc.stdout.fileno(): [0, b"", "stdout"], proc.stderr.fileno(): [0, b"", "stderr"]}
    open_fds = set(seen)
    deadline = time.monotonic() + TIMEOUT_S
    while open_fds and time.monotonic() < deadline:
        ready, _, _ = select.select(list(open_fds), [], [], 1)
        for fd in ready:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                open_fds.discard(fd)
                continue
            entry = seen[fd]
            entry[0] += len(chunk)
            if len(entry[1]) < keep:
                entry[1] += chunk[:keep - len(entry[1])]
        if sum(e[0] for e in seen.values()) > give_up:
            break
    if open_fds:
        proc.kill()
    status = proc.wait(TIMEOUT_S)
    proc.stdout.close()
    proc.stderr.close()
    return status, {e[2]: (e[0], e[1]) for e in seen.values()}


class StreamedOutput(unittest.TestCase):
    """exec and run stream the guest's output: the output cap and the runaway
    stop hold there as they do for captured output."""

    CAP = 1000000
    MARKER = b"\n[pycell: output truncated at 1000000 bytes]\n"

    def test_a_flood_on_stdout_is_cut_at_the_cap_and_stopped(self):
        status, out = run_bounded(["exec", "--timeout-ms", "2000", "--output-bytes", str(self.CAP),
                                   "-c", "while 1: print('x'*10**6)"])
        total, head = out["stdout"]
        self.assertEqual(total, self.CAP + len(self.MARKER), "bytes written to stdout")
        self.assertEqual(head, b"x" * self.CAP + self.MARKER)
        # 125 and not 124: the runaway stop came before the 2 s time limit.
        self.assertEqual(status, 125, out["stderr"][1])
        self.assertEqual(out["stderr"][1], b"pycell: run stopped: output_limit\n")

    def test_a_flood_on_stderr_is_cut_at_the_cap_and_stopped(self):
        status, out = run_bounded(["--output-bytes", "1000", "exec", "-c",
                                   "import sys\nprint('before')\nwhile 1: sys.stderr.write('e' * 4096)"])
        self.assertEqual(out["stdout"], (7, b"before\n"))
        self.assertEqual(out["stderr"][1], b"e" * 1000 + b"\n[pycell: output truncated at 1000 bytes]\n"
                         b"pycell: run stopped: output_limit\n")
        self.assertEqual(status, 125)

    def test_output_under_the_cap_is_whole(self):
        status, out = run_bounded(["--output-bytes", "100", "exec", "-c", "print('y' * 99)"])
        self.assertEqual((status, out["stdout"], out["stderr"]), (0, (100, b"y" * 99 + b"\n"), (0, b"")))

    def test_a_burst_past_the_cap_is_truncated_and_the_program_finishes(self):
        status, out = run_bounded(["--output-bytes", "10", "exec", "-c",
                                   "print('z' * 1000)\nimport sys; sys.exit(3)"])
        self.assertEqual(out["stdout"][1], b"z" * 10 + b"\n[pycell: output truncated at 10 bytes]\n")
        self.assertEqual(status, 3)


class Help(unittest.TestCase):
    def test_every_subcommand_has_examples(self):
        for sub in ["exec", "run", "repl", "mcp", "serve", "limits", "config"]:
            status, out, err = pycell(sub, "--help")
            self.assertEqual(status, 0, sub)
            self.assertIn("Examples:", out, sub)
            self.assertIn("pycell ", out.split("Examples:")[1], sub)

    def test_top_level_help_documents_exit_statuses(self):
        status, out, err = pycell("--help")
        self.assertEqual(status, 0)
        for needle in ["Exit status", "124", "125", "Examples:", "--memory-bytes", "--mount", "--allow-host",
                       "--secret-header", "--pass-env", "--deterministic"]:
            self.assertIn(needle, out)

    def test_docs_table_is_up_to_date(self):
        text, start, end = docs_table()
        status, table, err = pycell("limits", "--markdown", check_status=0)
        self.assertEqual(text[start:end], table,
                         "docs/cli.md is stale: run tests/cli/test_cli.py --pycell PATH --update-docs")

    def test_limits_outputs(self):
        status, out, err = pycell("limits", check_status=0)
        self.assertIn("--memory-bytes BYTES", out)
        schema = json.loads(pycell("limits", "--json-schema", check_status=0)[1])
        self.assertIn("memory_bytes", schema["properties"]["limits"]["properties"])


class ReplPiped(unittest.TestCase):
    """repl with stdin not a terminal: no prompts, one session, values shown."""

    def repl(self, text, *flags, status=0):
        code, out, err = pycell(*flags, "repl", stdin=text)
        self.assertEqual(code, status, err)
        return out, err

    def test_session_persists_and_values_are_shown(self):
        out, err = self.repl("x = 6\nimport math\nmath.prod([x, 7])\nprint('p')\n'str'\nNone\n")
        self.assertEqual(out, "42\np\n'str'\n")
        self.assertEqual(err, "")

    def test_blocks(self):
        out, err = self.repl("def f(n):\n    return n * 2\n\nf(21)\n")
        self.assertEqual(out, "42\n")
        # No blank line: the next unindented statement ends the block.
        out, err = self.repl("def f(n):\n    return n * 2\nf(4)\nfor i in range(2):\n    print(i)\n")
        self.assertEqual(out, "8\n0\n1\n")
        # Blank lines inside a function do not end it; else continues an if.
        out, err = self.repl("def g():\n    a = 1\n\n    return a + 1\n\nif g() == 3:\n    print('no')\n"
                             "else:\n    print('yes')\n")
        self.assertEqual(out, "yes\n")
        # Decorators, brackets and triple-quoted strings spanning lines.
        out, err = self.repl("import functools\n@functools.cache\ndef h():\n    return [\n1,\n2]\nh()\n"
                             "s = '''a\nb'''\ns\n")
        self.assertEqual(out, "[1, 2]\n'a\\nb'\n")

    def test_errors_do_not_end_the_repl(self):
        out, err = self.repl("x = 1\n1/0\nprint('after', x)\n1 +* 2\nundefined_name\nx + 1\n")
        self.assertEqual(out, "after 1\n2\n")
        self.assertIn("ZeroDivisionError", err)
        self.assertIn("SyntaxError", err)
        self.assertIn("NameError", err)

    def test_input_without_final_newline(self):
        out, err = self.repl("for i in range(2):\n    print(i)")
        self.assertEqual(out, "0\n1\n")

    def test_sys_exit_ends_the_repl(self):
        out, err = self.repl("print('a')\nimport sys; sys.exit(5)\nprint('never')\n", status=5)
        self.assertEqual(out, "a\n")

    def test_limits_apply_per_input_and_state_survives_a_hard_stop(self):
        out, err = self.repl("x = 41\nwhile True: pass\nx + 1\n", "--fuel", "1000000")
        self.assertEqual(out, "42\n")
        self.assertIn("fuel", err)
        self.assertIn("rolled back", err)

    def test_runaway_output_stops_the_input_and_the_session_goes_on(self):
        out, err = self.repl("x = 41\nwhile True: print('x' * 4096)\nx + 1\n", "--output-bytes", "100")
        self.assertEqual(out, "x" * 100 + "\n[pycell: output truncated at 100 bytes]\n42\n")
        self.assertEqual(err, "pycell: run stopped: output_limit\n"
                              "pycell: the session was rolled back to its state before this input\n")

    def test_ctrl_c_ends_a_piped_repl(self):
        proc = subprocess.Popen([PYCELL, "repl"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            proc.stdin.write("print('ready', flush=True) or any(iter(int, 1))\nprint('never')\n")
            proc.stdin.flush()
            self.assertEqual(proc.stdout.readline(), "ready\n")
            proc.send_signal(signal.SIGINT)  # it is running: the input is cancelled and the repl ends
            self.assertEqual(proc.wait(timeout=TIMEOUT_S), 130)
            self.assertIn("KeyboardInterrupt", proc.stderr.read())
            self.assertEqual(proc.stdout.read(), "")
        finally:
            proc.kill()
            proc.communicate()

    def test_empty_input(self):
        self.assertEqual(self.repl(""), ("", ""))


class ReplTerminal(unittest.TestCase):
    """repl on a terminal (a pty): prompts, continuation, Ctrl-C, Ctrl-D, history."""

    def setUp(self):
        self.home = tempfile.TemporaryDirectory()
        env = dict(os.environ, HOME=self.home.name, TERM="dumb")
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve(PYCELL, [PYCELL, "repl"], env)
        self.seen = b""

    def tearDown(self):
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        os.close(self.fd)
        self.home.cleanup()

    def expect(self, needle):
        """Reads until `needle` (bytes) appears after what was consumed so far."""
        deadline = time.monotonic() + TIMEOUT_S
        while needle not in self.seen:
            left = deadline - time.monotonic()
            if left <= 0:
                self.fail("did not see %r in %r" % (needle, self.seen))
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:
                    chunk = b""
                if not chunk:
                    self.fail("repl ended before %r; output %r" % (needle, self.seen))
                self.seen += chunk
        before, self.seen = self.seen.split(needle, 1)
        return before

    def send(self, text):
        os.write(self.fd, text.encode())

    def test_interactive_session(self):
        self.expect(b"Ctrl-D exits")
        self.expect(b">>> ")
        self.send("x = 5\n")
        self.expect(b">>> ")
        self.send("x + 1\n")
        self.assertIn(b"6", self.expect(b">>> "))
        self.send("def f():\n")
        self.expect(b"... ")
        self.send("    return 3\n")
        self.expect(b"... ")
        self.send("\n")
        self.expect(b">>> ")
        self.send("f() * x\n")
        self.assertIn(b"15", self.expect(b">>> "))
        # Ctrl-C while code runs cancels it: the session returns to its state
        # after the previous input (x = 7 is undone, x = 5 kept).
        # It loops forever once it printed (the echo of the line has 'sp' + 'in', not spin).
        self.send("x = 7; print('sp' + 'in') or any(iter(int, 1))\n")
        self.expect(b"spin")
        self.send("\x03")
        self.assertIn(b"KeyboardInterrupt", self.expect(b">>> "))
        self.send("x\n")
        self.assertIn(b"5", self.expect(b">>> "))
        # Ctrl-C at a continuation prompt drops the incomplete statement.
        self.send("while True:\n")
        self.expect(b"... ")
        self.send("\x03")
        self.expect(b"KeyboardInterrupt")
        self.expect(b">>> ")
        # Ctrl-C at the prompt clears the line.
        self.send("y = 1")
        self.expect(b"y = 1")  # the echo: it was read
        self.send("\x03")
        self.expect(b"KeyboardInterrupt")
        self.expect(b">>> ")
        self.send("1 + 1\n")
        self.assertIn(b"2", self.expect(b">>> "))
        # Ctrl-D exits with 0 and writes the history.
        self.send("\x04")
        _, status = os.waitpid(self.pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0)
        with open(os.path.join(self.home.name, ".pycell_history"), encoding="utf-8", errors="replace") as f:
            history = f.read()
        self.assertIn("f()", history.replace("\\040", " "))
        self.assertEqual(os.stat(os.path.join(self.home.name, ".pycell_history")).st_mode & 0o077, 0)


    def test_guest_output_and_values_are_neutralised(self):
        self.expect(b">>> ")
        # A value's repr is the guest's own: it may hold anything.
        self.send("print('\\x1b]52;c;aGk=\\x07'); type('A', (), {'__repr__': lambda s: '\\x1b[2J!'})()\n")
        shown = self.expect(b">>> ")
        self.assertNotIn(b"\x1b]52", shown)
        self.assertNotIn(b"\x1b[2J", shown)
        self.assertIn(b"^[]52;c;aGk=^G", shown)
        self.assertIn(b"^[[2J!", shown)


def run_on_terminal(args):
    """Runs pycell with stdin, stdout and stderr on a pseudo-terminal; returns
    (status, everything it wrote, with the terminal's \\r\\n as \\n)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(PYCELL, [PYCELL, *args], dict(os.environ, TERM="xterm"))
    seen = b""
    deadline = time.monotonic() + TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 1)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.waitstatus_to_exitcode(status), seen.replace(b"\r\n", b"\n")


class TerminalOutput(unittest.TestCase):
    """On a terminal, control sequences in guest output are shown, not obeyed."""

    # OSC 52 (set the clipboard), a title change, a screen clear, a bell, a
    # carriage return that would overwrite the line, U+009B (CSI as a C1
    # control), a tab and newlines, which pass.
    CODE = ("import sys\n"
            "print('\\x1b]52;c;cm0gLXJmIH4=\\x07copied')\n"
            "print('\\x1b]0;owned\\x1b\\\\ \\x1b[2J\\x1b[H\\a')\n"
            "print('safe\\rEVIL\\tok \\x9b31m red é')\n"
            "sys.stderr.write('err \\x1b[31m\\n')")

    def test_control_sequences_are_neutralised(self):
        status, seen = run_on_terminal(["exec", "-c", self.CODE])
        self.assertEqual(status, 0, seen)
        self.assertNotIn(b"\x1b", seen)
        self.assertNotIn(b"\x07", seen)
        self.assertNotIn("\x9b".encode(), seen)
        self.assertIn(b"^[]52;c;cm0gLXJmIH4=^Gcopied\n", seen)
        self.assertIn(b"^[]0;owned^[\\ ^[[2J^[[H^G\n", seen)
        self.assertIn("safe^MEVIL\tok \\u009b31m red é\n".encode(), seen)
        self.assertIn(b"err ^[[31m\n", seen)

    def test_json_on_a_terminal_stays_valid_and_means_the_same(self):
        status, seen = run_on_terminal(["exec", "--json", "-c", "print('\\x1b[2J \\x9b \\r')"])
        self.assertEqual(status, 0, seen)
        self.assertNotIn(b"\x1b", seen)
        self.assertNotIn("\x9b".encode(), seen)
        self.assertEqual(json.loads(seen)["stdout"], "\x1b[2J \x9b \r\n")

    def test_raw_output_passes_them_through(self):
        status, seen = run_on_terminal(["exec", "--raw-output", "-c", self.CODE])
        self.assertEqual(status, 0, seen)
        self.assertIn(b"\x1b]52;c;cm0gLXJmIH4=\x07copied\n", seen)


class Mcp(unittest.TestCase):
    def test_mcp_answers_initialize(self):
        request = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                   "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                              "clientInfo": {"name": "test_cli", "version": "0"}}}
        status, out, err = pycell("mcp", stdin=json.dumps(request) + "\n")
        self.assertEqual(status, 0, err)
        response = json.loads(out.splitlines()[0])
        self.assertEqual(response["id"], 1)
        self.assertIn("result", response)


class McpClient:
    """`pycell [flags] mcp` driven one request at a time (a tool call may use an earlier result)."""

    def __init__(self, *flags):
        self.proc = subprocess.Popen([PYCELL, *flags, "mcp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.next_id = 0
        self.request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                    "clientInfo": {"name": "test_cli", "version": "0"}})
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def send(self, message):
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()

    def request(self, method, params):
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError("pycell mcp ended: " + self.proc.stderr.read())
            message = json.loads(line)
            if message.get("id") == self.next_id:
                return message["result"]

    def call(self, tool, **arguments):
        return self.request("tools/call", {"name": tool, "arguments": arguments})

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.stdin.close()
        self.proc.wait(timeout=TIMEOUT_S)
        self.proc.stdout.close()
        self.proc.stderr.close()


class Preload(unittest.TestCase):
    """--preload: modules imported into the engine's snapshot, so a fresh session has them."""

    PROBE = "import sys; print(sorted(m for m in ('numpy', 'wave') if m in sys.modules))"

    def test_preloaded_modules_are_imported_in_a_fresh_session(self):
        self.assertEqual(pycell("exec", "-c", self.PROBE, check_status=0)[1], "[]\n")
        for flags in (["--preload", "numpy,wave"], ["--preload", "numpy", "--preload", "wave"]):
            self.assertEqual(pycell(*flags, "exec", "-c", self.PROBE, check_status=0)[1],
                             "['numpy', 'wave']\n", flags)
        self.assertEqual(pycell("exec", "--preload", "numpy", "-c", self.PROBE, check_status=0)[1],
                         "['numpy']\n")
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "probe.py")
            with open(path, "w") as f:
                f.write(self.PROBE + "\n")
            self.assertEqual(pycell("--preload", "numpy", "run", path, check_status=0)[1], "['numpy']\n")
        self.assertEqual(pycell("--preload", "numpy", "repl", stdin=self.PROBE + "\n", check_status=0)[1],
                         "['numpy']\n")

    def test_mcp_sessions_start_with_the_preload(self):
        with McpClient("--preload", "numpy") as mcp:
            stateless = mcp.call("run_python", code=self.PROBE)
            self.assertFalse(stateless.get("isError"), stateless)
            self.assertEqual(stateless["structuredContent"]["stdout"], "['numpy']\n")
            session_id = mcp.call("create_session")["structuredContent"]["session_id"]
            in_session = mcp.call("run_python", code=self.PROBE, session_id=session_id)
            self.assertEqual(in_session["structuredContent"]["stdout"], "['numpy']\n")

    def test_a_module_that_cannot_be_imported_stops_start_up(self):
        want = "preload: cannot import 'no_such_module': ModuleNotFoundError: No module named 'no_such_module'"
        for args in (["exec", "-c", "print('ran')"], ["repl"], ["mcp"], ["serve", "--port", "0"]):
            status, out, err = pycell("--preload", "json,no_such_module", *args, stdin="print('ran')\n")
            self.assertNotEqual(status, 0, args)
            self.assertNotIn("ran", out, args)
            self.assertIn(want, err, args)

    def test_preloaded_random_generators_are_reseeded_per_session(self):
        # statistics imports random: from the snapshot, each session would replay one sequence.
        code = "import random, numpy as np; print(random.getrandbits(64), np.random.randint(1 << 30))"
        with McpClient("--preload", "statistics,numpy.random") as mcp:
            draws = [mcp.call("run_python", code=code)["structuredContent"]["stdout"] for _ in range(3)]
        self.assertEqual(len(set(draws)), 3, draws)

    def test_a_preload_that_is_not_a_module_name_is_refused(self):
        for bad in ("json')\nprint('injected", "a..b", "js on"):
            status, out, err = pycell("--preload", bad, "exec", "-c", "print('ran')")
            self.assertEqual((status, out), (125, ""), bad)
            self.assertIn("is not a module name", err, bad)


class StdlibModules(unittest.TestCase):
    """sqlite3, bz2, lzma, asyncio and top-level await through `pycell exec` (issue 10)."""

    def test_sqlite3_bz2_lzma(self):
        code = ("import sqlite3, bz2, lzma\n"
                "c = sqlite3.connect('/tmp/t.db')\n"
                "c.execute('create table t(x)')\n"
                "c.execute('insert into t values (42)')\n"
                "c.commit()\n"
                "print(c.execute('select x from t').fetchone()[0],\n"
                "      bz2.decompress(bz2.compress(b'bz')), lzma.decompress(lzma.compress(b'xz')))\n")
        self.assertEqual(pycell("exec", "-c", code, check_status=0)[1], "42 b'bz' b'xz'\n")

    def test_sqlite_on_read_write_then_read_only_mount(self):
        with tempfile.TemporaryDirectory() as d:
            write = ("import sqlite3, contextlib\n"
                     "with contextlib.closing(sqlite3.connect('/out/db.sqlite')) as c:\n"
                     "    c.execute('create table t(x)')\n"
                     "    c.execute(\"insert into t values ('from the guest')\")\n"
                     "    c.commit()\n")
            pycell("--mount", d + ":/out:rw", "exec", "-c", write, check_status=0)
            self.assertEqual(sorted(os.listdir(d)), ["db.sqlite"])
            read = ("import sqlite3\n"
                    "c = sqlite3.connect('file:/data/db.sqlite?mode=ro', uri=True)\n"
                    "print(c.execute('select x from t').fetchone()[0])\n"
                    "c.execute('delete from t')\n")
            status, out, err = pycell("--mount", d + ":/data", "exec", "-c", read)
            self.assertEqual((status, out), (1, "from the guest\n"), err)
            self.assertIn("sqlite3.OperationalError: attempt to write a readonly database", err)

    def test_asyncio_run(self):
        code = ("import asyncio\n"
                "async def main():\n"
                "    return await asyncio.gather(asyncio.sleep(0.01, 'a'), asyncio.sleep(0, 'b'))\n"
                "print(asyncio.run(main()))\n")
        self.assertEqual(pycell("exec", "-c", code, check_status=0)[1], "['a', 'b']\n")

    def test_top_level_await(self):
        status, out, err = pycell("exec", "--json", "-c",
                                  "import asyncio\nawait asyncio.sleep(0)\nawait asyncio.sleep(0, 6 * 7)")
        self.assertEqual(status, 0, err)
        self.assertEqual(json.loads(out)["value_repr"], "42")

    def test_repl_awaits_at_top_level(self):
        status, out, err = pycell("repl", stdin="import asyncio\nawait asyncio.sleep(0, 42)\n"
                                                "async def f():\n    return 7\n\nx = await f()\nx * 6\n")
        self.assertEqual((status, out), (0, "42\n42\n"), err)

    def test_mcp_run_python_awaits_at_top_level(self):
        lines = [{"jsonrpc": "2.0", "id": 1, "method": "initialize",
                  "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                             "clientInfo": {"name": "test_cli", "version": "0"}}},
                 {"jsonrpc": "2.0", "method": "notifications/initialized"},
                 {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                  "params": {"name": "run_python",
                             "arguments": {"code": "import asyncio\nawait asyncio.sleep(0, 6 * 7)"}}}]
        status, out, err = pycell("mcp", stdin="".join(json.dumps(m) + "\n" for m in lines))
        self.assertEqual(status, 0, err)
        response = [json.loads(line) for line in out.splitlines()][-1]
        self.assertEqual(response["id"], 2)
        result = response["result"]
        self.assertFalse(result.get("isError"), result)
        self.assertEqual(result["structuredContent"]["value_repr"], "42")

    def test_timeout_stops_an_await(self):
        status, out, err = pycell("--timeout-ms", "300", "exec", "-c",
                                  "import asyncio\nawait asyncio.sleep(10**6)")
        self.assertEqual(status, 124, err)
        self.assertIn("TimeoutError", err)


def update_docs():
    text, start, end = docs_table()
    status, table, err = pycell("limits", "--markdown", check_status=0)
    with open(DOCS, "w", encoding="utf-8") as f:
        f.write(text[:start] + table + text[end:])


def main():
    global PYCELL
    argv = sys.argv[1:]
    if "--pycell" not in argv:
        sys.exit("usage: test_cli.py --pycell PATH [--update-docs] [unittest args]")
    i = argv.index("--pycell")
    PYCELL = os.path.abspath(argv[i + 1])
    del argv[i:i + 2]
    if "--update-docs" in argv:
        update_docs()
        return
    unittest.main(argv=[sys.argv[0]] + argv, verbosity=2)


if __name__ == "__main__":
    main()

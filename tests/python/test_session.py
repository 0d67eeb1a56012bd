"""pycell.Sandbox / Session: exec results, limits, snapshots, data in and out."""
import os
import tempfile
import threading
import unittest

import pycell

sandbox = None


def json_nested(depth):
    value = {}
    for _ in range(depth - 1):
        value = {"k": value}
    return value


def setUpModule():
    global sandbox
    sandbox = pycell.Sandbox(timeout_ms=20_000)


def tearDownModule():
    sandbox.close()


class ExecTest(unittest.TestCase):
    def setUp(self):
        self.s = sandbox.session()

    def tearDown(self):
        self.s.close()

    def test_value_output_and_metrics(self):
        r = self.s.exec("x = 6 * 7\nprint('hi')\nx")
        self.assertIsInstance(r, pycell.ExecResult)
        self.assertEqual(r.stdout, "hi\n")
        self.assertEqual(r.stderr, "")
        self.assertEqual((r.value_repr, r.value_json, r.value), ("42", "42", 42))
        self.assertEqual((r.exit_reason, r.exit_code, r.trap, r.error), ("ok", 0, None, None))
        self.assertTrue(r.ok)
        self.assertIsInstance(r.wall_time, float)
        self.assertGreater(r.fuel_used, 0)
        self.assertGreater(r.peak_memory, 0)
        self.assertFalse(r.rolled_back or r.stdout_truncated or r.stderr_truncated)

    def test_top_level_await_and_sqlite3(self):
        r = self.s.exec("import asyncio\nawait asyncio.sleep(0, 42)")
        self.assertEqual((r.exit_reason, r.value), ("ok", 42))
        r = self.s.exec("import sqlite3\nc = sqlite3.connect(':memory:')\nc.execute('select 6 * 7').fetchone()[0]")
        self.assertEqual(r.value, 42)

    def test_state_persists_between_execs(self):
        self.s.exec("import json\nitems = [1, 2]")
        self.s.exec("items.append(3)")
        self.assertEqual(self.s.exec("json.dumps(items)").value, "[1, 2, 3]")

    def test_value_that_is_not_json_has_only_a_repr(self):
        r = self.s.exec("{1, 2}")
        self.assertEqual(r.value_repr, "{1, 2}")
        self.assertIsNone(r.value_json)
        self.assertIsNone(r.value)

    def test_exception_is_reported_not_raised(self):
        r = self.s.exec("def f():\n    return 1 / 0\nf()", filename="job.py")
        self.assertEqual((r.exit_reason, r.exit_code), ("exception", 1))
        self.assertEqual(r.error.type, "ZeroDivisionError")
        self.assertEqual(r.error.message, "division by zero")
        self.assertEqual([(f.file, f.line, f.function) for f in r.error.frames],
                         [("job.py", 3, "<module>"), ("job.py", 2, "f")])
        self.assertEqual(r.error.frames[-1].source, "return 1 / 0")
        self.assertIn("ZeroDivisionError: division by zero", r.stderr)
        self.assertTrue(r.error.format().endswith("ZeroDivisionError: division by zero"))

    def test_exit_code(self):
        r = self.s.exec("import sys\nsys.exit(3)")
        self.assertEqual((r.exit_reason, r.exit_code), ("exit", 3))

    def test_script_mode_has_no_value_and_sets_argv(self):
        r = self.s.exec("import sys\nprint(sys.argv)\n7", mode="script", argv=["prog", "-v"])
        self.assertEqual(r.stdout, "['prog', '-v']\n")
        self.assertIsNone(r.value_repr)
        with self.assertRaises(ValueError):
            self.s.exec("1", mode="notebook")

    def test_on_output_streams_text(self):
        chunks = []
        r = self.s.exec("import sys\nprint('a', flush=True)\nprint('é', file=sys.stderr)",
                        on_output=lambda stream, text: chunks.append((stream, text)))
        self.assertEqual("".join(t for s, t in chunks if s == "stdout"), "a\n")
        self.assertEqual("".join(t for s, t in chunks if s == "stderr"), "é\n")
        self.assertEqual(r.stdout, "a\n")

    def test_sandbox_run_is_one_shot(self):
        self.assertEqual(sandbox.run("y = 2\ny * 21").value, 42)
        self.assertEqual(sandbox.run("'y' in globals()").value, False)

    def test_guest_sees_no_host_files_or_environment(self):
        r = self.s.exec("import os\n(os.listdir('/'), dict(os.environ).get('HOME'), os.path.exists('/etc/passwd'))")
        self.assertNotIn("etc", r.value[0])
        self.assertIsNone(r.value[1])
        self.assertFalse(r.value[2])


class LimitsTest(unittest.TestCase):
    def test_timeout_is_a_soft_stop(self):
        with sandbox.session(timeout_ms=300) as s:
            r = s.exec("k = 5\nwhile True:\n    pass")
            self.assertEqual(r.exit_reason, "timeout")
            self.assertEqual(r.error.type, "TimeoutError")
            self.assertFalse(r.rolled_back)
            self.assertEqual(s.get_variable("k"), 5)

    def test_memory_cap(self):
        with sandbox.session(memory_mb=64) as s:
            r = s.exec("b = bytearray(200 << 20)")
            self.assertEqual(r.exit_reason, "memory")
            self.assertEqual(r.error.type, "MemoryError")
            self.assertLessEqual(r.peak_memory, 64 << 20)
            self.assertEqual(s.exec("1 + 1").value, 2)

    def test_fuel_exhaustion_rolls_back_to_the_committed_state(self):
        with sandbox.session(fuel=200_000) as s:
            s.exec("a = 1")
            s.snapshot()
            r = s.exec("a = 2\nwhile True:\n    pass")
            self.assertEqual(r.exit_reason, "fuel")
            self.assertTrue(r.rolled_back)
            self.assertEqual(s.get_variable("a"), 1)

    def test_output_cap_truncates(self):
        with sandbox.session(output_bytes=1000) as s:
            r = s.exec("print('x' * 5000)")
            self.assertTrue(r.stdout_truncated)
            self.assertLess(len(r.stdout), 2000)

    def test_cancel_from_another_thread(self):
        with sandbox.session(timeout_ms=60_000) as s:
            started = threading.Event()
            results = []
            worker = threading.Thread(target=lambda: results.append(s.exec(
                "print('go', flush=True)\nwhile True:\n    pass", on_output=lambda *_: started.set())))
            worker.start()
            self.assertTrue(started.wait(30))
            s.cancel()
            worker.join(30)
            self.assertEqual(results[0].exit_reason, "cancelled")

    def test_a_session_refuses_a_second_thread(self):
        with sandbox.session() as s:
            inside, release = threading.Event(), threading.Event()

            def on_output(stream, text):
                inside.set()
                release.wait(30)

            worker = threading.Thread(target=lambda: s.exec("print('x', flush=True)", on_output=on_output))
            worker.start()
            self.assertTrue(inside.wait(30))
            with self.assertRaises(pycell.UnavailableError):
                s.exec("1")
            release.set()
            worker.join(30)
            self.assertEqual(s.exec("1").value, 1)


    def test_on_output_cannot_reenter_its_session(self):
        with sandbox.session() as s:
            seen = []

            def on_output(stream, text):
                if not seen:
                    try:
                        s.exec("1")
                        seen.append("allowed")
                    except pycell.UnavailableError as e:
                        seen.append(str(e))

            self.assertEqual(s.exec("print('x')", on_output=on_output).stdout, "x\n")
            self.assertEqual(seen, ["the session is running code: its own host functions and on_output callback "
                                    "may only use put_file, get_file and cancel"])
            self.assertEqual(s.exec("1").value, 1)

class SettingsTest(unittest.TestCase):
    def test_unknown_keyword_is_a_type_error(self):
        with self.assertRaises(TypeError):
            pycell.Sandbox(timeout=5)
        with self.assertRaises(TypeError):
            sandbox.session(memory=5)

    def test_bad_value_is_a_value_error(self):
        with self.assertRaises(ValueError):
            sandbox.session(timeout_ms="soon")
        with self.assertRaises(ValueError):
            sandbox.session(mounts=[("/tmp", "/data", "rx")])

    def test_deeply_nested_settings_are_refused(self):
        # Issue 9: a settings document nested 100,000 deep crashed the process
        # (recursive copy and dump); it is refused at parse time instead.
        deep = "[" * 100_000 + "]" * 100_000
        with self.assertRaisesRegex(ValueError, "session settings: nested deeper than 256 levels"):
            pycell._pycell.check_config('{"env": ' + deep + "}")
        with self.assertRaisesRegex(ValueError, "session settings: nested deeper than 256 levels"):
            sandbox.session(env={"A": "1"}, determinism=json_nested(300))

    def test_keywords_follow_the_limits_fields(self):
        names = pycell.settings_keywords()
        for field in ("memory_bytes", "fuel", "timeout_ms", "grace_ms", "output_bytes", "tmp_bytes",
                      "memory_mb", "env", "mounts", "allow_hosts"):
            self.assertIn(field, names)

    def test_env(self):
        with sandbox.session(env={"GREETING": "hello"}) as s:
            self.assertEqual(s.exec("import os\nos.environ['GREETING']").value, "hello")

    def test_mounts_read_only_and_read_write(self):
        with tempfile.TemporaryDirectory() as ro, tempfile.TemporaryDirectory() as rw:
            with open(os.path.join(ro, "in.txt"), "w") as f:
                f.write("data")
            with sandbox.session(mounts=[(ro, "/data"), {"host_path": rw, "guest_path": "/out", "access": "rw"}]) as s:
                self.assertEqual(s.exec("open('/data/in.txt').read()").value, "data")
                r = s.exec("open('/data/new.txt', 'w')")
                self.assertEqual(r.exit_reason, "exception")
                self.assertTrue(issubclass(getattr(__import__("builtins"), r.error.type, Exception), OSError),
                                r.error.type)
                self.assertTrue(s.exec("open('/out/o.txt', 'w').write('ok')").ok)
            with open(os.path.join(rw, "o.txt")) as f:
                self.assertEqual(f.read(), "ok")
            self.assertFalse(os.path.exists(os.path.join(ro, "new.txt")))

    def test_determinism(self):
        code = "import random, os\n(random.random(), os.urandom(8).hex())"
        with sandbox.session(determinism={"enabled": True, "seed": 7}) as a, \
                sandbox.session(determinism={"enabled": True, "seed": 7}) as b:
            self.assertEqual(a.exec(code).value, b.exec(code).value)

    def test_hash_seed_fixes_string_set_order_across_engines(self):
        code = "list({'alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'})"
        orders = []
        for _ in range(2):
            with pycell.Sandbox(hash_seed=1234, determinism={"enabled": True}) as sb:
                orders.append(sb.run(code).value)
        self.assertEqual(orders[0], orders[1])

    def test_sessions_do_not_share_random_state(self):
        code = "import random\nrandom.random()"
        self.assertNotEqual(sandbox.run(code).value, sandbox.run(code).value)


class SnapshotTest(unittest.TestCase):
    def test_snapshot_restore(self):
        with sandbox.session() as s:
            s.exec("x = 1")
            snap = s.snapshot()
            s.exec("x = 2\ny = 3")
            s.restore(snap)
            self.assertEqual(s.get_variable("x"), 1)
            self.assertFalse(s.exec("'y' in globals()").value)

    def test_fork_is_independent(self):
        with sandbox.session() as s:
            s.exec("items = [1]")
            with s.fork() as f:
                f.exec("items.append(2)")
                s.exec("items.append(3)")
                self.assertEqual(f.get_variable("items"), [1, 2])
                self.assertEqual(s.get_variable("items"), [1, 3])

    def test_serialized_snapshot_starts_a_new_session(self):
        with sandbox.session() as s:
            s.exec("import json\nstate = {'n': 5}")
            data = s.snapshot().serialize()
        self.assertIsInstance(data, bytes)
        snap = sandbox.load_snapshot(data)
        self.assertGreater(snap.memory_bytes, 0)
        with sandbox.session(snapshot=snap) as t:
            self.assertEqual(t.exec("json.dumps(state)").value, '{"n": 5}')

    def test_corrupt_snapshot_is_refused(self):
        with sandbox.session() as s:
            data = bytearray(s.snapshot().serialize())
        data[len(data) // 2] ^= 0xFF
        with self.assertRaises(pycell.CorruptError):
            sandbox.load_snapshot(bytes(data))

    def test_snapshots_load_only_with_the_key_that_sealed_them(self):
        key = os.urandom(32)
        with pycell.Sandbox(preinit=False, snapshot_key=key) as a, \
                pycell.Sandbox(preinit=False, snapshot_key=key) as b, \
                pycell.Sandbox(preinit=False) as c:
            with a.session() as s:
                s.exec("x = 3")
                data = s.snapshot().serialize()
            with b.session() as t:
                t.restore(b.load_snapshot(data))
                self.assertEqual(t.exec("x").value, 3)
            with self.assertRaises(pycell.CorruptError):
                c.load_snapshot(data)
            with self.assertRaises(pycell.CorruptError):
                sandbox.load_snapshot(data)
        with self.assertRaises(pycell.InvalidArgumentError):
            pycell.Sandbox(preinit=False, snapshot_key=b"short")


class DataTest(unittest.TestCase):
    def setUp(self):
        self.s = sandbox.session()

    def tearDown(self):
        self.s.close()

    def test_variables_in_and_out(self):
        self.s.set_variables({"rows": [1, 2, {"k": None}], "name": "é"}, flag=True)
        self.assertEqual(self.s.exec("(rows[2], name, flag)").value, [{"k": None}, "é", True])
        self.s.exec("out = {'total': sum(rows[:2]), 'nested': [1.5, None]}")
        self.assertEqual(self.s.get_variable("out"), {"total": 3, "nested": [1.5, None]})

    def test_protected_variable_cannot_be_rebound(self):
        self.s.set_variables({"limit": 10}, protect=True)
        r = self.s.exec("limit = 11")
        self.assertEqual(r.exit_reason, "exception")
        self.assertEqual(self.s.get_variable("limit"), 10)

    def test_variable_errors(self):
        with self.assertRaises(pycell.NotFoundError):
            self.s.get_variable("missing")
        with self.assertRaises(LookupError):
            self.s.get_variable("missing")
        self.s.exec("s = {1, 2}")
        with self.assertRaises(ValueError):  # InvalidArgumentError: not JSON-serializable
            self.s.get_variable("s")
        with self.assertRaises(TypeError):
            self.s.set_variables({"v": {1, 2}})
        with self.assertRaises(pycell.InvalidArgumentError):
            self.s.set_variables({"not an identifier": 1})

    def test_files_in_and_out(self):
        self.s.put_file("in/data.bin", bytes(range(256)))
        self.s.put_file("/tmp/note.txt", "héllo")
        r = self.s.exec("d = open('/tmp/in/data.bin', 'rb').read()\n"
                        "open('/tmp/out.txt', 'w').write(open('/tmp/note.txt').read().upper())\n"
                        "len(d), d[255]")
        self.assertEqual(r.value, [256, 255])
        self.assertEqual(self.s.get_file("/tmp/out.txt"), "HÉLLO".encode())
        self.assertEqual(self.s.get_file("in/data.bin"), bytes(range(256)))

    def test_file_errors(self):
        with self.assertRaises(pycell.NotFoundError):
            self.s.get_file("/tmp/nothing")
        with self.assertRaises(pycell.InvalidArgumentError):
            self.s.put_file("/etc/passwd", b"x")
        with self.assertRaises(pycell.InvalidArgumentError):
            self.s.get_file("/tmp/../etc/passwd")
        self.s.put_file("data", b"x")
        self.s.put_file("dir/f", b"y")
        for call in (lambda: self.s.put_file("data/in.csv", b"z"), lambda: self.s.get_file("dir"),
                     lambda: self.s.put_file("dir", b"z")):
            with self.assertRaises(pycell.ConflictError):
                call()
        self.assertEqual((self.s.get_file("data"), self.s.get_file("dir/f")), (b"x", b"y"))

    def test_closed_session(self):
        self.s.close()
        self.assertTrue(self.s.closed)
        with self.assertRaises(pycell.UnavailableError):
            self.s.exec("1")


if __name__ == "__main__":
    unittest.main()

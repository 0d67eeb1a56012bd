"""pycell.Client against a real `pycell serve` (PYCELL_BINARY, set by ctest), and its stream
reader against a scripted hostile server."""
import http.server
import io
import json
import os
import random
import re
import secrets
import subprocess
import threading
import unittest

import pycell

server = None
base_url = None
TOKEN = secrets.token_hex(16)


def setUpModule():
    global server, base_url
    binary = os.environ["PYCELL_BINARY"]  # set by run_tests.sh
    # The token stays out of argv: --bearer-token @NAME reads the variable NAME.
    server = subprocess.Popen([binary, "serve", "--host", "127.0.0.1", "--port", "0", "--timeout-ms", "5000",
                               "--bearer-token", "@PYCELL_CLIENT_TEST_TOKEN"],
                              env={**os.environ, "PYCELL_CLIENT_TEST_TOKEN": TOKEN},
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    log = []
    for line in server.stderr:
        log.append(line)
        m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        if m:
            base_url = m.group(1)
            break
    else:
        raise RuntimeError("pycell serve did not start:\n" + "".join(log))
    # Keep reading its log so that the server never blocks on a full pipe.
    threading.Thread(target=server.stderr.read, daemon=True).start()


def tearDownModule():
    if server is not None:
        server.terminate()
        server.wait(30)


class ClientTest(unittest.TestCase):
    def setUp(self):
        self.client = pycell.Client(base_url, token=TOKEN)

    def test_stateless_exec(self):
        r = self.client.exec("import math\nprint('hi')\nmath.factorial(5)")
        self.assertIsInstance(r, pycell.ExecResult)
        self.assertEqual((r.exit_reason, r.stdout, r.value, r.value_repr), ("ok", "hi\n", 120, "120"))
        r = self.client.exec("1 / 0")
        self.assertEqual((r.exit_reason, r.error.type), ("exception", "ZeroDivisionError"))
        self.assertIn("ZeroDivisionError", r.error.format())

    def test_session_state_files_snapshot_fork(self):
        with self.client.session(config={"limits": {"timeout_ms": 3000}}) as s:
            self.assertTrue(s.id)
            self.assertIn(s.id, [entry["session_id"] for entry in self.client.sessions()])
            s.exec("x = 41")
            s.put_file("data/in.csv", b"a,b\n1,2\n")
            r = s.exec("import csv\nrows = list(csv.DictReader(open('data/in.csv')))\nopen('out.txt', 'w').write(str(x + 1))\nrows")
            self.assertEqual(r.value, [{"a": "1", "b": "2"}])
            self.assertEqual(s.get_file("out.txt"), b"42")
            self.assertEqual(s.get_file("/tmp/out.txt"), b"42")
            snap = s.snapshot()
            s.exec("x = 0")
            s.restore(snap)
            self.assertEqual(s.exec("x").value, 41)
            with s.fork() as f:
                f.exec("x = 7")
                self.assertEqual(f.exec("x").value, 7)
            self.assertEqual(s.exec("x").value, 41)
            self.assertEqual(s.exec("while True:\n    pass").exit_reason, "timeout")
            s.reset()
            self.assertEqual(s.exec("'x' in globals()").value, False)
            self.client.delete_snapshot(snap)

    def test_errors_are_the_package_exceptions(self):
        with self.assertRaises(pycell.PermissionDeniedError) as cm:
            pycell.Client(base_url, token="wrong").exec("1")
        self.assertEqual((cm.exception.status, cm.exception.server_code), (401, "unauthorized"))
        with self.assertRaises(pycell.NotFoundError) as cm:
            self.client.session().get_file("missing.txt")
        self.assertIsInstance(cm.exception, LookupError)
        with self.assertRaises(pycell.InvalidArgumentError):  # limits may only be lowered
            self.client.session(config={"limits": {"timeout_ms": 10 ** 9}})
        s = self.client.session()
        s.put_file("data", b"x")
        with self.assertRaises(pycell.ConflictError) as cm:  # a file where a directory is needed
            s.put_file("data/in.csv", b"y")
        self.assertEqual((cm.exception.status, cm.exception.server_code), (409, "conflict"))
        s.close()
        with self.assertRaises(pycell.NotFoundError):
            s.exec("1")
        for cls in (pycell.PermissionDeniedError, pycell.NotFoundError, pycell.InvalidArgumentError):
            self.assertTrue(issubclass(cls, pycell.Error))

    def test_stateless_exec_with_inline_files(self):
        r = self.client.exec("open('out.txt', 'w').write(open('in.txt').read().upper())\n"
                             "import shutil; shutil.copy('/tmp/sub/raw.bin', 'sub/copy.bin')",
                             files={"in.txt": "hello", "/tmp/sub/raw.bin": bytes(range(256))},
                             output_files=["out.txt", "/tmp/sub/copy.bin", "missing.txt", "/etc/passwd", "sub"])
        self.assertEqual(r.exit_reason, "ok")
        self.assertEqual(r.output_files, {"out.txt": b"HELLO", "/tmp/sub/copy.bin": bytes(range(256)),
                                          "missing.txt": None, "/etc/passwd": None, "sub": None})
        self.assertIsNone(self.client.exec("1").output_files)
        with self.assertRaises(pycell.ResourceExhaustedError) as cm:
            self.client.exec("1", files={"big.bin": b"x" * 4096}, config={"limits": {"tmp_bytes": 1024}})
        self.assertEqual((cm.exception.status, cm.exception.server_code), (413, "tmp_quota_exceeded"))
        with self.assertRaises(pycell.InvalidArgumentError) as cm:
            self.client.exec("1", files={"/etc/evil": b"1"})
        self.assertEqual(cm.exception.status, 400)

    def test_session_list_and_delete_files(self):
        with self.client.session() as s:
            s.put_file("a.txt", b"hi")
            s.put_file("d/b.txt", b"hello")
            s.exec("open('c.txt', 'w').write('abc')")
            self.assertEqual(s.list_files(), [
                {"path": "/tmp/a.txt", "directory": False, "bytes": 2},
                {"path": "/tmp/c.txt", "directory": False, "bytes": 3},
                {"path": "/tmp/d", "directory": True, "bytes": 0},
                {"path": "/tmp/d/b.txt", "directory": False, "bytes": 5}])
            s.delete_file("d")
            s.delete_file("/tmp/a.txt")
            self.assertEqual([f["path"] for f in s.list_files()], ["/tmp/c.txt"])
            self.assertEqual(s.exec("import os; sorted(os.listdir('/tmp'))").value, ["c.txt"])
            with self.assertRaises(pycell.NotFoundError):
                s.delete_file("a.txt")
        with self.assertRaises(pycell.NotFoundError):
            s.list_files()

    def test_exec_stream_yields_output_then_the_result(self):
        code = "import sys\nprint('out', flush=True)\nprint('err', file=sys.stderr)\nprint('more')\n6 * 7"
        with self.client.exec_stream(code) as stream:
            events = list(stream)
        self.assertEqual([e.type for e in events][-1], "result")
        self.assertEqual({e.type for e in events[:-1]}, {"stdout", "stderr"})
        self.assertEqual("".join(e.text for e in events if e.type == "stdout"), "out\nmore\n")
        self.assertEqual("".join(e.text for e in events if e.type == "stderr"), "err\n")
        self.assertTrue(all(e.stream == e.type for e in events[:-1]))
        result = events[-1].result
        self.assertIs(stream.result, result)
        self.assertEqual((result.exit_reason, result.value, result.stdout), ("ok", 42, "out\nmore\n"))
        self.assertEqual(list(stream), [])

        with self.client.exec_stream("print(open('in.txt').read())\nopen('out.txt', 'w').write('o')",
                                     files={"in.txt": b"inline"}, output_files=["out.txt"]) as stream:
            events = list(stream)
        self.assertEqual("".join(e.text for e in events if e.type == "stdout"), "inline\n")
        self.assertEqual(stream.result.output_files, {"out.txt": b"o"})

        with self.client.session() as s:
            s.exec("x = 5")
            with s.exec_stream("print(x)\nx += 1\nx") as stream:
                events = list(stream)
            self.assertEqual(("".join(e.text for e in events[:-1]), stream.result.value), ("5\n", 6))
            self.assertEqual(s.exec("x").value, 6)

    def test_exec_stream_errors_are_the_package_exceptions(self):
        with self.assertRaises(pycell.PermissionDeniedError):
            pycell.Client(base_url, token="wrong").exec_stream("1")
        with self.assertRaises(pycell.InvalidArgumentError):  # refused before the run: plain JSON 400
            self.client.exec_stream("1", config={"limits": {"timeout_ms": 10 ** 9}})
        s = self.client.session()
        s.close()
        with self.assertRaises(pycell.NotFoundError):
            s.exec_stream("1")

    def test_closing_a_stream_early_cancels_the_run(self):
        with self.client.session() as s:
            s.exec("x = 1")
            s.snapshot()  # the committed state a cancelled run rolls back to
            stream = s.exec_stream("x = 2\nprint('started', flush=True)\nwhile True:\n    pass")
            first = next(stream)
            self.assertEqual((first.type, first.text), ("stdout", "started"))
            stream.close()
            self.assertEqual(list(stream), [])
            # The session runs one call at a time, so this waits for the cancelled run to end. Had it
            # gone on to its timeout instead, TimeoutError would have kept x = 2.
            self.assertEqual(s.exec("x").value, 1)

        # Leaving a for loop over a `with` block closes the stream too.
        with self.client.session() as s:
            with s.exec_stream("y = 'kept?'\nprint('go', flush=True)\nwhile True:\n    pass") as stream:
                for event in stream:
                    break
            self.assertEqual(s.exec("'y' in globals()").value, False)

    def test_an_unreachable_server_is_unavailable(self):
        # The server's port, once it no longer listens, refuses: use a port nobody listens on.
        import socket
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        with self.assertRaises(pycell.UnavailableError):
            pycell.Client(f"http://127.0.0.1:{port}", timeout=5).health()


class _ScriptedServer(http.server.ThreadingHTTPServer):
    """Answers every POST with `reply`: the head of an NDJSON stream, then those bytes; then
    closes, or with `hold_open` waits for the client to close (`client_closed` is set then).
    A GET gets `reply` as a JSON body with `status`."""
    daemon_threads = True
    reply = b""
    hold_open = False
    status = 200  # of a GET's answer

    def __init__(self, *args):
        super().__init__(*args)
        self.client_closed = threading.Event()


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()
        try:
            self.wfile.write(self.server.reply)
            self.wfile.flush()
            if self.server.hold_open:
                self.rfile.read()  # returns when the client closes the connection
                self.server.client_closed.set()
        except OSError:  # the client hung up, as it should on a line too long
            self.server.client_closed.set()

    def do_GET(self):
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.server.reply)))
        self.end_headers()
        self.wfile.write(self.server.reply)

    def log_message(self, *args):
        pass


class HostileServerTest(unittest.TestCase):
    """What exec_stream does with streams a pycell server would never send."""

    def setUp(self):
        self.server = _ScriptedServer(("127.0.0.1", 0), _Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]

    def stream(self, reply, max_response_bytes=64 << 10, hold_open=False):
        self.server.reply, self.server.hold_open = reply, hold_open
        # The timeout ends a test whose client waits for bytes that never come.
        return pycell.Client(self.url, max_response_bytes=max_response_bytes, timeout=30).exec_stream("1")

    def test_a_line_over_the_cap_is_refused(self):
        # The line never ends: a client reading to its end would wait (and hold it all) until its timeout.
        stream = self.stream(b'{"type":"stdout","text":"ok"}\n{"type":"stdout","text":"' + b"x" * (4 << 20),
                             hold_open=True)
        self.assertEqual(next(stream).text, "ok")
        with self.assertRaises(pycell.ResourceExhaustedError) as cm:
            next(stream)
        self.assertIn("over max_response_bytes (65536)", str(cm.exception))
        self.assertTrue(self.server.client_closed.wait(20))
        self.assertEqual(list(stream), [])

    def test_close_closes_the_connection(self):
        stream = self.stream(b'{"type":"stdout","text":"a"}\n', hold_open=True)
        self.assertEqual(next(stream).text, "a")
        self.assertFalse(self.server.client_closed.is_set())
        stream.close()
        self.assertTrue(self.server.client_closed.wait(20))
        self.assertEqual(list(stream), [])

    def test_a_line_at_the_cap_is_read(self):
        line = json.dumps({"type": "stdout", "text": "y" * 100}).encode() + b"\n"
        result = b'{"type":"result","result":{"exit_reason":"ok"}}\n'
        events = list(self.stream(line + result, max_response_bytes=len(line)))
        self.assertEqual([e.type for e in events], ["stdout", "result"])

    def test_events_and_unknown_types(self):
        reply = b"".join(json.dumps(r).encode() + b"\n" for r in [
            {"type": "stdout", "text": "a"}, {"type": "dropped", "stream": "stdout", "bytes": 12345},
            {"type": "progress", "whatever": 1}, {"type": "stderr", "text": "b"},
            {"type": "result", "result": {"stdout": "a...", "exit_reason": "ok", "value_json": [1]}},
            {"type": "stdout", "text": "after the result"}])
        events = list(self.stream(b"\n" + reply))
        self.assertEqual([(e.type, e.text, e.stream, e.dropped) for e in events[:-1]],
                         [("stdout", "a", "stdout", 0), ("dropped", "", "stdout", 12345), ("stderr", "b", "stderr", 0)])
        self.assertEqual((events[-1].type, events[-1].result.value), ("result", [1]))

    def test_an_error_event_raises_its_exception(self):
        stream = self.stream(b'{"type":"stdout","text":"a"}\n'
                             b'{"type":"error","error":{"code":"output_too_large","message":"too big"}}\n')
        next(stream)
        with self.assertRaises(pycell.ResourceExhaustedError) as cm:
            next(stream)
        self.assertEqual(cm.exception.server_code, "output_too_large")
        self.assertIn("too big", str(cm.exception))

    def test_deeply_nested_json_is_a_package_error(self):
        self.server.reply = b"[" * 100000
        with self.assertRaises(pycell.Error) as cm:
            pycell.Client(self.url).health()
        self.assertIn("malformed JSON", str(cm.exception))
        self.server.reply, self.server.status = b'{"error":' * 100000, 404
        with self.assertRaises(pycell.NotFoundError):  # the status decides when the body says nothing
            pycell.Client(self.url).health()

    def test_a_stream_cut_short_or_malformed(self):
        with self.assertRaises(pycell.UnavailableError):
            list(self.stream(b'{"type":"stdout","text":"a"}\n'))
        with self.assertRaises(pycell.Error):
            list(self.stream(b'not json\n'))
        with self.assertRaises(pycell.Error):
            list(self.stream(b'{"type":"result"}\n'))


class StreamFuzzTest(unittest.TestCase):
    """ExecStream over mutated and random byte streams (seeded, so a failure repeats): whatever a
    server sends, the reader yields events or raises pycell.Error, never anything else."""

    VALID = (b'{"type":"stdout","text":"a\\u00e9"}\n{"type":"dropped","stream":"stderr","bytes":7}\n'
             b'{"type":"result","result":{"stdout":"a","exit_reason":"exception","wall_time_ms":3,'
             b'"error":{"type":"E","message":"m","frames":[{"file":"f","line":1,"function":"g"}]},'
             b'"value_json":{"k":[1,2]},"output_files":{"a":"aGk=","b":null}}}\n')
    TOKENS = [b"{", b"}", b"[", b"]", b'"', b":", b",", b"\n", b"null", b"1e999", b"-1", b'"type"', b'"result"',
              b'"error"', b'"dropped"', b'"stdout"', b'"output_files"', b'"frames"', b"\xff", b"\\u", b"true"]

    def drain(self, data, cap=4096):
        stream = pycell.ExecStream(io.BytesIO(data), cap, "fuzz")
        try:
            for _ in stream:
                pass
        except pycell.Error:
            pass

    def test_mutations_raise_only_package_errors(self):
        rng = random.Random(20261128)
        for _ in range(3000):
            data = bytearray(self.VALID)
            for _ in range(rng.randint(1, 6)):
                at = rng.randrange(len(data) + 1)
                choice = rng.random()
                if choice < 0.4:
                    data[at:at] = rng.choice(self.TOKENS)
                elif choice < 0.7:
                    del data[at:at + rng.randint(1, 8)]
                else:
                    data[at:at + 1] = bytes([rng.randrange(256)])
            with self.subTest(data=bytes(data)):
                self.drain(bytes(data))

    def test_edge_cases(self):
        for data in [b"", b"\n" * 100, b"[" * 100000 + b"\n", b'{"type":"result","result":' + b"[" * 100000 + b"\n",
                     b'{"type":"result","result":[]}\n', b'{"type":"dropped","bytes":"x"}\n',
                     b'{"type":"error","error":[1]}\n', b'{"type":"result","result":{"output_files":{"a":"!"}}}\n',
                     b'{"type":"result","result":{"error":{"frames":[5]}}}\n', b"x" * 10000]:
            with self.subTest(data=data[:60]):
                self.drain(data, cap=1 << 20)


if __name__ == "__main__":
    unittest.main()

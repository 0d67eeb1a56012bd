"""pycell.Client against a real `pycell serve` (PYCELL_BINARY, set by ctest)."""
import os
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
        s.close()
        with self.assertRaises(pycell.NotFoundError):
            s.exec("1")
        for cls in (pycell.PermissionDeniedError, pycell.NotFoundError, pycell.InvalidArgumentError):
            self.assertTrue(issubclass(cls, pycell.Error))

    def test_an_unreachable_server_is_unavailable(self):
        # The server's port, once it no longer listens, refuses: use a port nobody listens on.
        import socket
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        with self.assertRaises(pycell.UnavailableError):
            pycell.Client(f"http://127.0.0.1:{port}", timeout=5).health()


if __name__ == "__main__":
    unittest.main()

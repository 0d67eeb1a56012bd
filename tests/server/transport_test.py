#!/usr/bin/env python3
"""HTTP transport limits of `pycell serve` against hostile clients (issue 9, defect 8):
slowloris heads and bodies, header count and size, idle keep-alive connections, busy workers.

Usage: transport_test.py -- SERVER_COMMAND...   (e.g. `pycell serve`; the tests add --port 0
and their own limits). Every test sets a socket timeout so that a starved server fails it
instead of hanging it.
"""
import http.client
import json
import os
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server_proc import Server  # noqa: E402

SERVER_ARGV = []
SLOWLORIS = 24
# How long a request the server should answer at once may take on a loaded 2-core machine.
PROMPT_S = 5


def error_of(body):
    """The (code, message) of a REST error body, asserting its shape."""
    assert set(body) == {"error"}, body
    return body["error"]["code"], body["error"]["message"]


def read_response(sock):
    """(status, headers dict with lower-case names, body bytes) of one response, or None at EOF."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), headers, body


def closed_by_peer(sock, within_s):
    """True if the server closes `sock` (EOF or reset) within `within_s`; data read meanwhile is dropped."""
    sock.settimeout(0.2)
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            if sock.recv(65536) == b"":
                return True
        except socket.timeout:
            pass
        except (ConnectionResetError, BrokenPipeError):
            return True
    return False


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


class Transport(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(SERVER_ARGV, extra=["--head-timeout-ms", "3000", "--body-timeout-ms", "3000"])

    @classmethod
    def tearDownClass(cls):
        assert cls.srv.stop() == 0, "clean exit on SIGTERM"

    def connect(self):
        s = socket.create_connection((self.srv.host, self.srv.port), timeout=PROMPT_S)
        self.addCleanup(s.close)
        return s

    def health(self):
        c = http.client.HTTPConnection(self.srv.host, self.srv.port, timeout=PROMPT_S)
        try:
            c.request("GET", "/v1/health")
            r = c.getresponse()
            return r.status, json.loads(r.read())
        finally:
            c.close()

    def test_health_answers_while_slowloris_connections_trickle_headers(self):
        socks = [self.connect() for _ in range(SLOWLORIS)]
        stop = threading.Event()

        def trickle():  # one header byte per connection every 0.5 s, as slowloris does
            for s in socks:
                try:
                    s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
                except OSError:
                    pass
            while not stop.wait(0.5):
                for s in socks:
                    try:
                        s.sendall(b"a")
                    except OSError:
                        pass
        t = threading.Thread(target=trickle, daemon=True)
        t.start()
        self.addCleanup(t.join)
        self.addCleanup(stop.set)
        time.sleep(1)  # every slow connection has started its request
        status, body = self.health()
        self.assertEqual((status, body["status"]), (200, "ok"))

    def assert_trickle_is_closed(self, start, byte, what):
        """Sends `start`, then `byte` every 0.3 s; the server must close within 10 s."""
        s = self.connect()
        s.sendall(start)
        closed = False
        deadline = time.monotonic() + 10  # the head and body deadlines are 3 s here
        while not closed and time.monotonic() < deadline:
            try:
                s.sendall(byte)
            except OSError:
                closed = True
                break
            closed = closed_by_peer(s, 0.3)
        self.assertTrue(closed, f"{what} trickled for 10 s is still being received")

    def test_a_slow_head_is_closed_after_the_head_deadline(self):
        self.assert_trickle_is_closed(b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\n", b"X", "a head")

    def test_a_slow_body_is_closed_after_the_body_deadline(self):
        self.assert_trickle_is_closed(b"POST /v1/exec HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                                      b"Content-Length: 1000\r\n\r\n{\"code\": \"", b"1", "a body")

    def test_too_many_header_fields_is_431(self):
        s = self.connect()
        fields = "".join(f"X-Field-{i}: {i}\r\n" for i in range(200))  # 4 KB, far under the size cap
        s.sendall(f"GET /v1/health HTTP/1.1\r\nHost: localhost\r\n{fields}\r\n".encode())
        reply = read_response(s)
        self.assertIsNotNone(reply, "closed without an answer")
        status, headers, body = reply
        self.assertEqual(status, 431)
        self.assertEqual(headers.get("connection"), "close")
        code, message = error_of(json.loads(body))
        self.assertEqual(code, "header_fields_too_large")
        self.assertIn("more than 100 header fields", message)

    def test_an_oversize_header_line_is_431(self):
        s = self.connect()
        s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"b" * (100 << 10) + b"\r\n\r\n")
        reply = read_response(s)
        self.assertIsNotNone(reply, "closed without an answer")
        status, _, body = reply
        self.assertEqual(status, 431)
        code, message = error_of(json.loads(body))
        self.assertEqual(code, "header_fields_too_large")
        self.assertIn("65536 bytes", message)

    def test_sixty_thousand_headers_of_1kb_cost_no_memory(self):
        pid = self.srv.proc.pid
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM, the peak resident set, to the current one
        before = peak_rss_kib(pid)
        s = self.connect()
        s.settimeout(60)
        line = b"X-Pad: " + b"p" * 1017 + b"\r\n"  # 1 KiB each
        status = None
        try:
            s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\n")
            for _ in range(60):
                s.sendall(line * 1000)
            s.sendall(b"\r\n")
            reply = read_response(s)
            status = reply and reply[0]
        except (ConnectionResetError, BrokenPipeError):
            status = "reset"  # refused before it was all sent: also bounded
        grown_mib = (peak_rss_kib(pid) - before) / 1024
        self.assertLess(grown_mib, 16, f"peak RSS grew by {grown_mib:.1f} MiB")
        self.assertIn(status, (431, "reset"))
        self.assertEqual(self.health()[0], 200)


class Crowded(unittest.TestCase):
    """A server with 8 connections and 2 workers: idle keep-alive clients and busy workers."""

    @classmethod
    def setUpClass(cls):
        cls.srv = Server(SERVER_ARGV, extra=["--max-connections", "8", "--threads", "2", "--timeout-ms", "20000"])

    @classmethod
    def tearDownClass(cls):
        assert cls.srv.stop() == 0, "clean exit on SIGTERM"

    def conn(self):
        c = http.client.HTTPConnection(self.srv.host, self.srv.port, timeout=PROMPT_S)
        self.addCleanup(c.close)
        return c

    def get_health(self, c):
        c.request("GET", "/v1/health")
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        return json.loads(r.read())

    def test_idle_keep_alive_connections_beyond_the_cap_do_not_block_new_requests(self):
        idle = []
        for _ in range(16):  # twice the cap; each keeps its connection open after one request
            c = self.conn()
            self.get_health(c)
            idle.append(c)
        self.assertEqual(self.get_health(self.conn())["status"], "ok")
        # The oldest idle connections made room: the server closed them.
        closed = sum(closed_by_peer(c.sock, 0.5) for c in idle[:8])
        self.assertEqual(closed, 8)
        self.assertFalse(closed_by_peer(idle[-1].sock, 0.5))  # the newest one is still usable
        self.assertEqual(self.get_health(idle[-1])["status"], "ok")

    def test_busy_workers_answer_503_at_once_instead_of_queueing(self):
        sids = []
        for _ in range(6):
            c = http.client.HTTPConnection(self.srv.host, self.srv.port, timeout=PROMPT_S)
            c.request("POST", "/v1/sessions", body="{}", headers={"Content-Type": "application/json"})
            r = c.getresponse()
            self.assertEqual(r.status, 201)
            sids.append(json.loads(r.read())["session_id"])
            c.close()
        results = []

        def run(sid):
            c = http.client.HTTPConnection(self.srv.host, self.srv.port, timeout=60)
            try:
                c.request("POST", f"/v1/sessions/{sid}/exec", body=json.dumps({"code": "import time; time.sleep(6)"}),
                          headers={"Content-Type": "application/json"})
                r = c.getresponse()
                results.append((time.monotonic(), r.status, r.getheader("Retry-After"), json.loads(r.read())))
            finally:
                c.close()
        # Six at once: 2 run, 2 wait for a worker, 2 find every slot taken.
        runners = [threading.Thread(target=run, args=(sid,)) for sid in sids]
        for t in runners:
            t.start()
        for t in runners:
            t.join()
        ran = [t for t, status, _, body in results if status == 200 and body["exit_reason"] == "ok"]
        refused = [(t, status, retry, body) for t, status, retry, body in results if status != 200]
        self.assertEqual((len(ran), len(refused)), (4, 2), results)
        for t, status, retry, body in refused:
            code, message = error_of(body)
            self.assertEqual((status, code, retry), (503, "overloaded", "1"))
            self.assertIn("workers are busy", message)
            self.assertLess(t, min(ran), "refused only after a run ended: it was queued")

if __name__ == "__main__":
    if "--" not in sys.argv:
        sys.exit(__doc__)
    split = sys.argv.index("--")
    SERVER_ARGV = sys.argv[split + 1:]
    unittest.main(argv=[sys.argv[0], "-v"])

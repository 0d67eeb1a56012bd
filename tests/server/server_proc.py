"""Starts a pycell HTTP server for a test and stops it (shared by the REST tests)."""
import http.client
import json
import re
import signal
import subprocess
import threading
import time


class Server:
    """`argv` + ["--port", "0", *extra], parsed port from its "listening on" line."""

    def __init__(self, argv, extra=(), token=None):
        self.token = token
        args = list(argv) + ["--port", "0"] + list(extra)
        if token:
            args += ["--bearer-token", token]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.log = []
        deadline = time.monotonic() + 60
        while True:
            line = self.proc.stderr.readline()
            if not line:
                raise RuntimeError("server exited before listening:\n" + "".join(self.log))
            self.log.append(line)
            m = re.search(r"listening on http://([^:]+):(\d+)", line)
            if m:
                self.host, self.port = m.group(1), int(m.group(2))
                break
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
        self._drainer = threading.Thread(target=self._drain, daemon=True)
        self._drainer.start()

    def _drain(self):
        for line in self.proc.stderr:
            self.log.append(line)

    def conn(self):
        return http.client.HTTPConnection(self.host, self.port, timeout=60)

    def request(self, method, path, body=None, headers=None, token=True, raw=False):
        """Returns (status, headers, parsed JSON or raw bytes)."""
        h = dict(headers or {})
        if token and self.token:
            h.setdefault("Authorization", "Bearer " + self.token)
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        c = self.conn()
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            if raw:
                return r.status, r, data
            return r.status, r, json.loads(data) if data else None
        finally:
            c.close()

    def open_stream(self, path, body, accept, token=True):
        """POSTs `body` asking for `accept`; returns (connection, response) with the body unread."""
        h = {"Accept": accept, "Content-Type": "application/json"}
        if token and self.token:
            h["Authorization"] = "Bearer " + self.token
        c = self.conn()
        c.request("POST", path, body=json.dumps(body), headers=h)
        return c, c.getresponse()

    def stream(self, path, body, accept="text/event-stream"):
        """A whole streamed exec: (status, response, events) where events are (type, data) pairs
        parsed from SSE or NDJSON; a non-2xx answer's events are [("json", body)]."""
        c, r = self.open_stream(path, body, accept)
        try:
            if r.status != 200:
                return r.status, r, [("json", json.loads(r.read()))]
            return r.status, r, list(read_events(r, accept))
        finally:
            c.close()

    def stop(self):
        """SIGTERM, as an operator would; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        status = self.proc.wait(timeout=60)
        self._drainer.join(timeout=10)
        self.proc.stderr.close()
        return status


def read_events(r, accept):
    """Yields (type, data) from a streamed exec answer as it arrives: SSE events (data parsed
    as JSON) or NDJSON records (data is the record without "type")."""
    if accept == "application/x-ndjson":
        for line in r:
            rec = json.loads(line)
            yield rec.pop("type"), rec
        return
    event, data = None, []
    for raw in r:
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            event = line[len("event: "):]
        elif line.startswith("data: "):
            data.append(line[len("data: "):])
        elif line == "":
            yield event, json.loads("\n".join(data))
            event, data = None, []

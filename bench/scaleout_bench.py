#!/usr/bin/env python3
"""Scale-out figures (docs/deploy.md), on loopback: a private Redis, up to three
`pycell serve --store` workers and HAProxy with deploy/haproxy.cfg.

    python3 bench/scaleout_bench.py [--pycell build/pycell] [--duration 5]

Prints a markdown report: the stored size of an idle session that ran a few cells;
the Redis round trips (write, load) for an entry of that size; session exec latency (p50/p99) with and without the durable write, and when the
worker must first load the session from the store; requests/s and p99 through
HAProxy for stateless and session execs with 1, 2 and 3 workers (wrk). Timings are
reported, never asserted.
"""
import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "server"))
from scaleout_test import Redis, free_port, request, wait_for  # noqa: E402
from server_proc import Server  # noqa: E402

CELLS = [
    "import json, re, collections",
    "data = [{'id': i, 'name': f'item {i}', 'score': i * 0.5} for i in range(200)]",
    "def top(n):\n    return sorted(data, key=lambda d: -d['score'])[:n]\nbest = top(5)",
    "counts = collections.Counter(d['name'][:6] for d in data)",
    "open('/tmp/report.json', 'w').write(json.dumps(best))",
]


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


def ms(v):
    return f"{v * 1000:.2f} ms" if v < 0.01 else f"{v * 1000:.1f} ms"


def timed_exec(port, sid, code="x = x + 1 if 'x' in globals() else 0"):
    start = time.perf_counter()
    status, _, body = request(port, "POST", f"/v1/sessions/{sid}/exec", {"code": code})
    took = time.perf_counter() - start
    assert status == 200, body
    return took


def new_session(port):
    status, _, body = request(port, "POST", "/v1/sessions", {})
    assert status == 201, body
    return body["session_id"]


def wrk(url, script, duration, threads, connections, args=()):
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "-s",
                          str(REPO / "bench" / "wrk" / script), url, "--", *args],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p99, int(non2xx.group(1)) if non2xx else 0


class Resp:
    """A persistent Redis connection speaking RESP (for the raw round trips)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.file = self.sock.makefile("rb")

    def call(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)
        line = self.file.readline()
        if line.startswith(b"$"):
            n = int(line[1:])
            return None if n < 0 else self.file.read(n + 2)[:-2]
        return line.strip()


# The worker's compare-and-set script (src/frontends/server/redis_store.cc).
CAS = """
local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if v ~= tonumber(ARGV[1]) then return v end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'o', ARGV[3], 'e', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return -1"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pycell", default=str(REPO / "build" / "pycell"))
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--samples", type=int, default=200)
    a = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    redis = Redis(tmp.name)
    os.environ["PYCELL_CLUSTER_KEY"] = "bench-cluster-key-" + "0" * 32
    store = ["--store", f"redis://127.0.0.1:{redis.port}/0", "--cluster-key", "@PYCELL_CLUSTER_KEY"]
    workers = [Server([a.pycell, "serve"], extra=[*store, "--worker-tag", f"w{i + 1}"]) for i in range(3)]
    plain = Server([a.pycell, "serve"])
    haproxy = None
    lines = [f"# pycell scale-out figures ({os.cpu_count()} cores, {time.strftime('%Y-%m-%d')})", ""]
    try:
        w1, w2 = workers[0], workers[1]
        # 1. Stored size after a few cells, idle.
        sid = new_session(w1.port)
        for code in CELLS:
            status, _, body = request(w1.port, "POST", f"/v1/sessions/{sid}/exec", {"code": code})
            assert status == 200 and body["exit_reason"] == "ok", body
        size = int(redis.cli("HSTRLEN", f"pycell:session:{sid}", "e"))
        fresh = new_session(w1.port)
        fresh_size = int(redis.cli("HSTRLEN", f"pycell:session:{fresh}", "e"))
        lines += ["## Stored size", "",
                  f"- a new session: {fresh_size:,} bytes",
                  f"- an idle session after {len(CELLS)} cells (imports, 200 dicts, a function, a /tmp file): "
                  f"{size:,} bytes ({size / 1024:.1f} KiB)", ""]

        # 2. The store's own round trips for an entry of that size: the compare-and-set
        # write and the read a worker makes to load a session.
        entry = redis.raw("HGET", f"pycell:session:{sid}", "e")
        conn = Resp(redis.port)
        writes, reads = [], []
        for v in range(a.samples):
            start = time.perf_counter()
            assert conn.call("EVAL", CAS, "1", "bench:entry", v, v + 1, "rest", entry, 3600000) == b":-1"
            writes.append(time.perf_counter() - start)
            start = time.perf_counter()
            assert conn.call("HGET", "bench:entry", "e") == entry
            reads.append(time.perf_counter() - start)
        lines += [f"## Redis round trips for that entry ({len(entry):,} bytes, loopback, one connection)", "",
                  "| | p50 | p99 |", "|---|---|---|",
                  f"| write (compare-and-set script) | {ms(pct(writes, 50))} | {ms(pct(writes, 99))} |",
                  f"| load (HGET) | {ms(pct(reads, 50))} | {ms(pct(reads, 99))} |", ""]

        # 3. Latency of one session exec: without a store, with the durable write, and
        # when the worker first loads the session (another worker wrote it last).
        n = a.samples
        psid = new_session(plain.port)
        no_store = [timed_exec(plain.port, psid) for _ in range(n)]
        durable = [timed_exec(w1.port, sid) for _ in range(n)]
        reload, held = [], []
        for _ in range(n // 2):
            held.append(timed_exec(w1.port, sid))
            reload.append(timed_exec(w2.port, sid))  # w2's copy is one version behind: it loads
            timed_exec(w1.port, sid)
        lines += ["## Session exec latency (sequential, one client, loopback Redis)", "",
                  "| | p50 | p99 |", "|---|---|---|",
                  f"| no store | {ms(pct(no_store, 50))} | {ms(pct(no_store, 99))} |",
                  f"| --store: exec + durable write | {ms(pct(durable, 50))} | {ms(pct(durable, 99))} |",
                  f"| --store: load from the store + exec + write | {ms(pct(reload, 50))} | {ms(pct(reload, 99))} |",
                  "",
                  f"The durable write adds {ms(pct(durable, 50) - pct(no_store, 50))} at p50; loading a session "
                  f"another worker wrote adds {ms(pct(reload, 50) - pct(durable, 50))} more.", ""]

        # 4. Through HAProxy with 1, 2 and 3 workers.
        front = free_port()
        sock = os.path.join(tmp.name, "haproxy.sock")
        lines += [f"## Through HAProxy (wrk, {a.duration} s each)", "",
                  "| workers | stateless req/s | stateless p99 | session req/s | session p99 |", "|---|---|---|---|---|"]
        for count in (1, 2, 3):
            env = dict(os.environ, PYCELL_FRONTEND=f"127.0.0.1:{front}", PYCELL_HAPROXY_SOCKET=sock)
            for i in range(3):
                env[f"PYCELL_W{i + 1}"] = f"127.0.0.1:{workers[i].port}" if i < count else f"127.0.0.1:{free_port()}"
            log = open(os.path.join(tmp.name, f"haproxy-{count}.log"), "w")
            haproxy = subprocess.Popen(["haproxy", "-db", "-f", str(REPO / "deploy" / "haproxy.cfg")], env=env,
                                       stdout=log, stderr=log)
            time.sleep(1.5)  # health checks: the absent workers go down
            url = f"http://127.0.0.1:{front}"
            s_rps, s_p99, s_bad = wrk(url, "exec.lua", a.duration, 2, 8)
            paths = [f"/v1/sessions/{new_session(front)}/exec" for _ in range(4)]
            q_rps, q_p99, q_bad = wrk(url, "sessions_exec.lua", a.duration, 4, 4, paths)
            bad = f" ({s_bad + q_bad} non-2xx)" if s_bad + q_bad else ""
            lines.append(f"| {count} | {s_rps:,.0f} | {s_p99} | {q_rps:,.0f} | {q_p99}{bad} |")
            haproxy.send_signal(signal.SIGTERM)
            haproxy.wait()
            haproxy = None
            log.close()
        lines.append("")
    finally:
        if haproxy:
            haproxy.kill()
        for w in [*workers, plain]:
            w.stop()
        redis.stop()
        tmp.cleanup()
    print("\n".join(lines))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Hostile-client figures for bench/http_load.sh: health latency under slowloris, and peak
RSS growth of the server under one request with 60,000 header fields of 1 KiB.

Usage: http_attack.py URL SERVER_PID [SLOW_CONNECTIONS]
"""
import socket
import sys
import threading
import time
import urllib.parse


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))


def health_ms(host, port, timeout):
    """Latency of GET /v1/health in ms, or None if no answer within `timeout`."""
    t = time.monotonic()
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            if not s.recv(64).startswith(b"HTTP/1.1 200"):
                return None
    except OSError:
        return None
    return (time.monotonic() - t) * 1000


def slowloris(host, port, n):
    """n connections sending one header byte every 2 s; health latency meanwhile."""
    socks, stop = [], threading.Event()
    for _ in range(n):
        s = socket.create_connection((host, port), timeout=5)
        s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        socks.append(s)

    def trickle():
        while not stop.wait(2):
            for s in socks:
                try:
                    s.sendall(b"a")
                except OSError:
                    pass
    t = threading.Thread(target=trickle, daemon=True)
    t.start()
    time.sleep(1)
    samples = [health_ms(host, port, 20) for _ in range(5)]
    stop.set()
    t.join()
    for s in socks:
        s.close()
    if any(x is None for x in samples):
        return f"{n} slow connections: /v1/health did not answer within 20 s ({samples.count(None)}/5 timed out)"
    samples.sort()
    return f"{n} slow connections: /v1/health median {samples[2]:.1f} ms, max {samples[-1]:.1f} ms (5 requests)"


def header_flood(host, port, pid):
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")  # reset the peak RSS to the current RSS
    before = peak_rss_kib(pid)
    line = b"X-Pad: " + b"p" * 1017 + b"\r\n"
    status = "no answer"
    try:
        with socket.create_connection((host, port), timeout=60) as s:
            s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\n")
            for _ in range(60):
                s.sendall(line * 1000)
            s.sendall(b"\r\n")
            status = s.recv(64).split(b"\r\n")[0].decode()
    except OSError as e:
        status = f"connection {type(e).__name__}"
    grown = (peak_rss_kib(pid) - before) / 1024
    return f"60,000 header fields of 1 KiB: {status or 'closed'}; peak RSS +{grown:.1f} MiB"


def main():
    url = urllib.parse.urlsplit(sys.argv[1])
    pid = int(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    print("RESULT slowloris:", slowloris(url.hostname, url.port, n))
    print("RESULT headers:", header_flood(url.hostname, url.port, pid))


if __name__ == "__main__":
    main()

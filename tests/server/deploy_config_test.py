#!/usr/bin/env python3
"""deploy/ checked without running a deployment: HAProxy's own config check, Redis
started on its config, the compose file and Kubernetes manifests parsed, and every
`pycell serve` flag they use known to the pycell under test.

Usage: deploy_config_test.py DEPLOY_DIR PYCELL
"""
import glob
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import yaml

DEPLOY = ""
PYCELL = ""


def serve_flags_of(command):
    """The --flags of a `pycell serve` command line (a list, or one shell string)."""
    text = command if isinstance(command, str) else " ".join(command)
    return set(re.findall(r"(--[a-z][a-z-]*)", text))


class DeployConfig(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.help = subprocess.run([PYCELL, "serve", "--help"], capture_output=True, text=True, check=True).stdout

    def test_haproxy_accepts_its_config(self):
        env = dict(os.environ, PYCELL_FRONTEND="127.0.0.1:8765", PYCELL_W1="127.0.0.1:9001",
                   PYCELL_W2="127.0.0.1:9002", PYCELL_W3="127.0.0.1:9003",
                   PYCELL_HAPROXY_SOCKET=os.path.join(tempfile.gettempdir(), "pycell-haproxy-check.sock"))
        r = subprocess.run(["haproxy", "-c", "-f", os.path.join(DEPLOY, "haproxy.cfg")], env=env,
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("Configuration file is valid", r.stdout + r.stderr)

    def test_redis_starts_on_its_config(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with tempfile.TemporaryDirectory() as tmp:
            proc = subprocess.Popen(["redis-server", os.path.join(DEPLOY, "redis.conf"), "--port", str(port),
                                     "--bind", "127.0.0.1", "--dir", tmp], stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True)
            try:
                deadline = time.monotonic() + 10
                while True:
                    r = subprocess.run(["redis-cli", "-p", str(port), "CONFIG", "GET", "maxmemory-policy"],
                                       capture_output=True, text=True)
                    if "noeviction" in r.stdout:
                        break
                    self.assertIsNone(proc.poll(), "redis-server exited on deploy/redis.conf")
                    self.assertLess(time.monotonic(), deadline, "redis did not start")
                    time.sleep(0.05)
            finally:
                proc.kill()
                proc.wait()

    def test_compose_runs_three_tagged_workers_with_known_flags(self):
        with open(os.path.join(DEPLOY, "compose.yaml")) as f:
            compose = yaml.safe_load(f)
        services = compose["services"]
        tags = []
        for name, svc in services.items():
            cmd = svc.get("command", [])
            if "serve" not in cmd:
                continue
            for flag in serve_flags_of(cmd):
                self.assertIn(flag, self.help, f"{name}: pycell serve has no {flag}")
            tags.append(cmd[cmd.index("--worker-tag") + 1])
        self.assertEqual(sorted(tags), ["w1", "w2", "w3"])
        env = services["haproxy"]["environment"]
        self.assertEqual({env[f"PYCELL_W{i}"].split(":")[0] for i in (1, 2, 3)},
                         {"pycell-1", "pycell-2", "pycell-3"})

    def test_kubernetes_manifests_parse_and_name_what_exists(self):
        with open(os.path.join(DEPLOY, "kustomization.yaml")) as f:
            kustomization = yaml.safe_load(f)
        for generator in kustomization["configMapGenerator"]:
            for file in generator["files"]:
                self.assertTrue(os.path.exists(os.path.join(DEPLOY, file)), file)
        docs = []
        for path in kustomization["resources"]:
            with open(os.path.join(DEPLOY, path)) as f:
                docs += [d for d in yaml.safe_load_all(f) if d]
        self.assertEqual(sorted(glob.glob(os.path.join(DEPLOY, "kubernetes", "*.yaml"))),
                         sorted(os.path.join(DEPLOY, p) for p in kustomization["resources"]))
        kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
        self.assertIn(("StatefulSet", "pycell"), kinds)
        self.assertIn(("Service", "pycell-workers"), kinds)
        workers = next(d for d in docs if d["kind"] == "StatefulSet" and d["metadata"]["name"] == "pycell")
        container = workers["spec"]["template"]["spec"]["containers"][0]
        for flag in serve_flags_of(container["args"]):
            self.assertIn(flag, self.help, f"workers: pycell serve has no {flag}")
        # Tags w1..wN from the pod ordinals, one HAProxy server each.
        replicas = workers["spec"]["replicas"]
        haproxy = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "pycell-haproxy")
        env = {e["name"]: e.get("value") for e in haproxy["spec"]["template"]["spec"]["containers"][0]["env"]}
        self.assertEqual([env[f"PYCELL_W{i + 1}"] for i in range(replicas)],
                         [f"pycell-{i}.pycell-workers:8765" for i in range(replicas)])
        with open(os.path.join(DEPLOY, "haproxy.cfg")) as f:
            cfg = f.read()
        for i in range(replicas):
            self.assertIn(f"use-server w{i + 1} if", cfg)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    DEPLOY, PYCELL = sys.argv[1], sys.argv[2]
    unittest.main(argv=[sys.argv[0], "-v"])

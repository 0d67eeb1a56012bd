#!/usr/bin/env python3
"""REST API tests: every endpoint and every error status, asserting bodies.

Usage: rest_test.py --openapi docs/openapi.json -- SERVER_COMMAND...
where SERVER_COMMAND starts the HTTP server (e.g. `pycell serve`); the tests
add --port 0 and their own limits.
"""
import base64
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server_proc import Server  # noqa: E402

SERVER_ARGV = []
OPENAPI_PATH = ""
TOKEN = "s3cret-token-for-tests"
MAX_SESSIONS = 3
MAX_BODY = 65536
TIMEOUT_MS = 3000


def error_of(body):
    """The (code, message) of a REST error body, asserting its shape."""
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    return body["error"]["code"], body["error"]["message"]


class Rest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(SERVER_ARGV, extra=["--max-sessions", str(MAX_SESSIONS), "--max-body-bytes", str(MAX_BODY),
                                             "--timeout-ms", str(TIMEOUT_MS)], token=TOKEN)

    @classmethod
    def tearDownClass(cls):
        assert cls.srv.stop() == 0, "clean exit on SIGTERM"

    def req(self, *args, **kwargs):
        return self.srv.request(*args, **kwargs)

    def new_session(self, body=None):
        status, _, b = self.req("POST", "/v1/sessions", body if body is not None else {})
        self.assertEqual(status, 201, b)
        self.addCleanup(self.req, "DELETE", "/v1/sessions/" + b["session_id"])
        return b["session_id"]

    def exec_in(self, sid, code, **extra):
        status, _, b = self.req("POST", f"/v1/sessions/{sid}/exec", {"code": code, **extra})
        self.assertEqual(status, 200, b)
        return b

    # --- health, documents -------------------------------------------------
    def test_health_needs_no_token_but_then_says_only_its_status(self):
        status, r, b = self.req("GET", "/v1/health", token=False)
        self.assertEqual(status, 200)
        self.assertEqual(r.getheader("Content-Type"), "application/json")
        self.assertEqual(b, {"status": "ok"})
        status, _, b = self.req("GET", "/v1/health", token=False, headers={"Authorization": "Bearer wrong"})
        self.assertEqual((status, b), (200, {"status": "ok"}))
        status, _, b = self.req("GET", "/v1/health")  # with the token: the whole report
        self.assertEqual(status, 200)
        self.assertEqual(b["status"], "ok")
        self.assertTrue(b["python_version"].startswith("3.13"))
        self.assertEqual(b["max_sessions"], MAX_SESSIONS)
        self.assertEqual(b["config"]["limits"]["timeout_ms"], TIMEOUT_MS)
        self.assertIsNone(b["config"]["http"])  # no network granted

    def test_openapi_is_the_document_in_docs_with_this_servers_config_schema(self):
        status, r, data = self.req("GET", "/openapi.json", raw=True)
        self.assertEqual(status, 200)
        doc = json.loads(data)
        with open(OPENAPI_PATH, "rb") as f:
            static = json.loads(f.read())
        # SessionConfig is the live client config schema (this server's limits
        # as maxima); everything else is docs/openapi.json.
        served_config = doc["components"]["schemas"].pop("SessionConfig")
        static["components"]["schemas"].pop("SessionConfig")
        self.assertEqual(doc, static)
        status, _, schema = self.req("GET", "/v1/config-schema")
        self.assertEqual(status, 200)
        self.assertEqual(schema.pop("$schema"), "https://json-schema.org/draft/2020-12/schema")
        self.assertEqual(served_config, schema)
        self.assertTrue(doc["openapi"].startswith("3."))
        for path in ["/v1/health", "/v1/exec", "/v1/sessions", "/v1/sessions/{id}/exec", "/v1/sessions/{id}/snapshot",
                     "/v1/sessions/{id}/restore", "/v1/sessions/{id}/fork", "/v1/sessions/{id}/reset",
                     "/v1/sessions/{id}", "/v1/sessions/{id}/files/{path}", "/v1/snapshots/{id}", "/v1/config-schema",
                     "/openapi.json", "/mcp"]:
            self.assertIn(path, doc["paths"])

    def test_every_operation_has_a_unique_operation_id(self):
        with open(OPENAPI_PATH) as f:
            doc = json.load(f)
        ids = [op.get("operationId") for item in doc["paths"].values()
               for method, op in item.items() if method in ("get", "put", "post", "delete", "patch")]
        self.assertNotIn(None, ids)
        self.assertEqual(len(ids), len(set(ids)), ids)
        self.assertIn("listFiles", ids)
        self.assertIn("deleteFile", ids)

    def test_a_server_with_the_default_config_serves_docs_openapi_json_byte_for_byte(self):
        srv = Server(SERVER_ARGV)
        try:
            status, _, data = srv.request("GET", "/openapi.json", raw=True)
        finally:
            self.assertEqual(srv.stop(), 0)
        self.assertEqual(status, 200)
        with open(OPENAPI_PATH, "rb") as f:
            self.assertEqual(data.decode(), f.read().decode().rstrip("\n"))

    def test_config_schema_lists_limits_but_no_grants(self):
        status, _, b = self.req("GET", "/v1/config-schema")
        self.assertEqual(status, 200)
        self.assertIn("timeout_ms", b["properties"]["limits"]["properties"])
        self.assertNotIn("mounts", b["properties"])  # grants are the operator's
        self.assertEqual(b["properties"]["http"]["type"], "null")  # no HTTP granted: only null is accepted

    def test_config_schema_maxima_are_this_servers_limits(self):
        status, _, b = self.req("GET", "/v1/config-schema")
        self.assertEqual(status, 200)
        timeout = b["properties"]["limits"]["properties"]["timeout_ms"]
        self.assertEqual((timeout["minimum"], timeout["maximum"]), (1, TIMEOUT_MS))  # 0 would mean no timeout
        status, _, r = self.req("POST", "/v1/exec", {"code": "1", "config": {"limits": {"timeout_ms": TIMEOUT_MS}}})
        self.assertEqual(status, 200, r)
        status, _, r = self.req("POST", "/v1/exec", {"code": "1", "config": {"limits": {"timeout_ms": TIMEOUT_MS + 1}}})
        self.assertEqual(status, 400)
        self.assertEqual(error_of(r), ("bad_request", f"config: limits.timeout_ms: {TIMEOUT_MS + 1} is above the "
                                                      f"server's limit of {TIMEOUT_MS}"))
        self.assertEqual(b["properties"]["limits"]["properties"]["fuel"]["minimum"], 0)  # unlimited: no bound

    def test_config_limits_below_the_interpreters_start_up_memory_are_refused_as_the_schema_says(self):
        status, _, b = self.req("GET", "/v1/config-schema")
        floor = b["properties"]["limits"]["properties"]["memory_bytes"]["minimum"]
        self.assertGreater(floor, 0)
        sid = self.new_session({"config": {"limits": {"memory_bytes": floor}}})
        self.assertEqual(self.exec_in(sid, "6 * 7")["value_repr"], "42")
        status, _, r = self.req("POST", "/v1/sessions", {"config": {"limits": {"memory_bytes": floor - 1}}})
        self.assertEqual(status, 400)
        self.assertEqual(error_of(r), ("bad_request", f"memory limit {floor - 1} is below the snapshot's {floor} bytes"))

    def test_a_small_fuel_limit_is_for_the_clients_code_not_pycells_set_up(self):
        # Found by schemathesis: setting env runs pycell's own Python first;
        # under limits.fuel 62 that set-up ran out and the answer was a 500.
        config = {"env": {"A": "b"}, "limits": {"fuel": 62}}
        status, _, r = self.req("POST", "/v1/exec", {"code": "1", "config": config})
        self.assertEqual(status, 200, r)
        self.assertEqual((r["exit_reason"], r["fuel_used"]), ("fuel", 62))
        sid = self.new_session({"config": config})
        self.assertEqual(self.exec_in(sid, "1")["exit_reason"], "fuel")

    def test_config_numbers_may_be_written_with_a_zero_fraction(self):
        # JSON Schema's "integer" admits 1000.0; so does the server, exactly.
        status, _, r = self.req("POST", "/v1/exec", {"code": "1", "config": {"limits": {"timeout_ms": 1000.0}}})
        self.assertEqual(status, 200, r)
        for bad, text in [(1000.5, "1000.5"), (-1.0, "-1.0"), (2.0 ** 64, "1.8446744073709552e+19")]:
            status, _, r = self.req("POST", "/v1/exec", {"code": "1", "config": {"limits": {"timeout_ms": bad}}})
            self.assertEqual(status, 400)
            self.assertEqual(error_of(r), ("bad_request", "config: limits.timeout_ms: expected a non-negative "
                                                          "integer, got " + text))

    # --- stateless exec ----------------------------------------------------
    def test_exec_returns_every_result_field(self):
        status, _, b = self.req("POST", "/v1/exec", {"code": "print('hi')\n6 * 7"})
        self.assertEqual(status, 200, b)
        self.assertEqual(b["stdout"], "hi\n")
        self.assertEqual(b["value_repr"], "42")
        self.assertEqual(b["exit_reason"], "ok")
        self.assertEqual(b["exit_code"], 0)
        self.assertIsNone(b["error"])
        for key in ["stderr", "stdout_truncated", "stderr_truncated", "value_json", "trap", "wall_time_ms",
                    "fuel_used", "rolled_back", "peak_memory"]:
            self.assertIn(key, b)

    def test_exec_exception_is_a_result(self):
        status, _, b = self.req("POST", "/v1/exec", {"code": "import json\njson.loads('{')"})
        self.assertEqual(status, 200)
        self.assertEqual(b["exit_reason"], "exception")
        self.assertEqual(b["error"]["type"], "json.decoder.JSONDecodeError")
        self.assertIn("Traceback", b["stderr"])

    def test_exec_options(self):
        _, _, b = self.req("POST", "/v1/exec", {"code": "{'a': [1, 2]}", "want_json": True})
        self.assertEqual(b["value_json"], {"a": [1, 2]})
        _, _, b = self.req("POST", "/v1/exec", {"code": "1 + 1", "mode": "script"})
        self.assertIsNone(b["value_repr"])  # a script reports no value

    def test_top_level_await_in_stateless_and_session_cells(self):
        _, _, b = self.req("POST", "/v1/exec", {"code": "import asyncio\nawait asyncio.sleep(0, 42)"})
        self.assertEqual((b["exit_reason"], b["value_repr"]), ("ok", "42"), b)
        status, _, created = self.req("POST", "/v1/sessions", {})
        self.assertEqual(status, 201, created)
        sid = created["session_id"]
        try:
            _, _, b = self.req("POST", f"/v1/sessions/{sid}/exec",
                               {"code": "import asyncio\nt = asyncio.ensure_future(asyncio.sleep(0, 'later'))"})
            self.assertEqual(b["exit_reason"], "ok", b)
            _, _, b = self.req("POST", f"/v1/sessions/{sid}/exec", {"code": "await t"})
            self.assertEqual(b["value_repr"], "'later'", b)  # a task made in one cell, awaited in the next
        finally:
            self.req("DELETE", f"/v1/sessions/{sid}")

    def test_exec_is_stateless(self):
        self.req("POST", "/v1/exec", {"code": "leak = 1"})
        _, _, b = self.req("POST", "/v1/exec", {"code": "leak"})
        self.assertEqual(b["error"]["type"], "NameError")

    def test_exec_client_may_lower_limits(self):
        _, _, b = self.req("POST", "/v1/exec", {"code": "while True: pass", "config": {"limits": {"timeout_ms": 300}}})
        self.assertEqual(b["exit_reason"], "timeout")
        _, _, b = self.req("POST", "/v1/exec", {"code": "'x' * 5000", "config": {"limits": {"fuel": 1000}}})
        self.assertEqual(b["exit_reason"], "fuel")

    def test_exec_client_may_not_raise_limits_or_grant(self):
        status, _, b = self.req("POST", "/v1/exec", {"code": "1", "config": {"limits": {"timeout_ms": 10 ** 9}}})
        self.assertEqual(status, 400)
        code, msg = error_of(b)
        self.assertEqual(code, "bad_request")
        self.assertIn("timeout_ms", msg)
        status, _, b = self.req("POST", "/v1/exec", {"code": "1", "config": {"limits": {"timeout_ms": 0}}})
        self.assertEqual(status, 400)  # 0 would mean unlimited
        status, _, b = self.req("POST", "/v1/exec", {"code": "1", "config": {"mounts": [
            {"host_path": "/", "guest_path": "/host"}]}})
        self.assertEqual(status, 400)
        self.assertIn("operator", error_of(b)[1])

    # --- streamed exec (SSE, NDJSON) -------------------------------------
    def test_exec_streams_sse_events_in_order_then_the_same_result_as_json(self):
        code = "import sys\nprint('out1')\nprint('err1', file=sys.stderr)\nprint('out2')\n6*7"
        status, r, events = self.srv.stream("/v1/exec", {"code": code})
        self.assertEqual(status, 200)
        self.assertEqual(r.getheader("Content-Type"), "text/event-stream")
        self.assertEqual(r.getheader("Cache-Control"), "no-store")
        self.assertEqual(r.getheader("Transfer-Encoding"), "chunked")
        runs = []  # consecutive output of one stream, joined
        for kind, data in events[:-1]:
            self.assertIn(kind, ("stdout", "stderr"))
            self.assertEqual(set(data), {"text"})
            if runs and runs[-1][0] == kind:
                runs[-1][1] += data["text"]
            else:
                runs.append([kind, data["text"]])
        self.assertEqual(runs, [["stdout", "out1\n"], ["stderr", "err1\n"], ["stdout", "out2\n"]])
        kind, streamed = events[-1]
        self.assertEqual(kind, "result")
        _, _, plain = self.req("POST", "/v1/exec", {"code": code})
        for field in ("wall_time_ms", "fuel_used"):  # a warm pooled session or not
            del streamed[field], plain[field]
        self.assertEqual(streamed, plain)
        self.assertEqual(plain["value_repr"], "42")

    def test_session_exec_streams_ndjson_records_with_the_session_id(self):
        sid = self.new_session()
        status, r, events = self.srv.stream(f"/v1/sessions/{sid}/exec", {"code": "x = 5\nprint(x)"},
                                            accept="application/x-ndjson")
        self.assertEqual((status, r.getheader("Content-Type")), (200, "application/x-ndjson"))
        self.assertEqual(events[0], ("stdout", {"text": "5"}))
        self.assertEqual(events[-1][0], "result")
        self.assertEqual(events[-1][1]["result"]["session_id"], sid)
        status, _, events = self.srv.stream(f"/v1/sessions/{sid}/exec", {"code": "x * 2"},
                                            accept="application/x-ndjson")
        self.assertEqual(events, [("result", {"result": events[-1][1]["result"]})])
        self.assertEqual(events[-1][1]["result"]["value_repr"], "10")
        self.assertEqual(self.exec_in(sid, "x")["value_repr"], "5")

    def test_accept_picks_the_first_listed_format_and_defaults_to_json(self):
        for accept, expected in (("application/json, text/event-stream", "application/json"),
                                 ("text/plain", "application/json"),
                                 ("*/*;q=0.1, text/event-stream", "application/json"),
                                 ("application/x-ndjson;q=0.5, text/event-stream", "application/x-ndjson"),
                                 ("Text/Event-Stream; charset=utf-8", "text/event-stream")):
            c, r = self.srv.open_stream("/v1/exec", {"code": "1"}, accept)
            r.read()
            c.close()
            self.assertEqual((r.status, r.getheader("Content-Type")), (200, expected), accept)

    def test_a_streamed_exec_refused_before_it_runs_gets_a_plain_json_error(self):
        for path, body, status, code in (("/v1/sessions/ses_nope/exec", {"code": "1"}, 404, "not_found"),
                                         ("/v1/exec", {"code": 1}, 400, "bad_request"),
                                         ("/v1/exec", {"code": "1", "config": {"limits": {"timeout_ms": -1}}},
                                          400, "bad_request")):
            got, r, events = self.srv.stream(path, body)
            self.assertEqual((got, r.getheader("Content-Type")), (status, "application/json"), path)
            self.assertEqual(error_of(events[0][1])[0], code)

    def test_a_streamed_run_times_out_as_a_plain_one_does(self):
        status, _, events = self.srv.stream("/v1/exec", {"code": "print('go')\nwhile True: pass"})
        self.assertEqual(status, 200)
        self.assertEqual(events[0], ("stdout", {"text": "go"}))
        kind, result = events[-1]
        self.assertEqual((kind, result["exit_reason"]), ("result", "timeout"))
        _, _, plain = self.req("POST", "/v1/exec", {"code": "print('go')\nwhile True: pass"})
        self.assertEqual(plain["exit_reason"], "timeout")

    def test_streamed_output_stops_at_output_bytes_as_captured_output_does(self):
        status, _, events = self.srv.stream("/v1/exec", {"code": "print('x' * 5000)",
                                                         "config": {"limits": {"output_bytes": 1000}}})
        self.assertEqual(status, 200)
        text = "".join(d["text"] for k, d in events if k == "stdout")
        self.assertEqual(text, "x" * 1000)
        self.assertTrue(events[-1][1]["stdout_truncated"])

    def test_streamed_text_never_splits_a_character(self):
        text = "a" + "\u00e9" * 20000 + "\u20ac" * 7000 + "\n"
        code = "print('a' + '\\u00e9' * 20000 + '\\u20ac' * 7000)"
        status, _, events = self.srv.stream("/v1/exec", {"code": code},
                                            accept="application/x-ndjson")
        self.assertEqual(status, 200)
        pieces = [d["text"] for k, d in events if k == "stdout"]
        self.assertGreater(len(pieces), 2)  # cut into several events
        self.assertNotIn("\ufffd", "".join(pieces))
        self.assertEqual("".join(pieces), text)

    def test_400_bad_bodies(self):
        for body, needle in [("{not json", "not valid JSON"), ("[1]", "JSON object"), ({}, "'code' is required"),
                             ({"code": 1}, "'code' is required"), ({"code": "1", "mode": "repl"}, "'mode'"),
                             ({"code": "1", "want_json": "yes"}, "'want_json'"),
                             ({"code": "1", "config": {"limits": {"nope": 1}}}, "unknown key")]:
            status, _, b = self.req("POST", "/v1/exec", body, headers={"Content-Type": "application/json"})
            self.assertEqual(status, 400, body)
            code, msg = error_of(b)
            self.assertEqual(code, "bad_request")
            self.assertIn(needle, msg)

    # --- sessions ----------------------------------------------------------
    def test_session_lifecycle(self):
        status, _, b = self.req("POST", "/v1/sessions", {"config": {"limits": {"memory_bytes": 256 << 20}}})
        self.assertEqual(status, 201)
        sid = b["session_id"]
        self.assertRegex(sid, r"^ses_[0-9a-f]{32}$")
        self.assertEqual(b["config"]["limits"]["memory_bytes"], 256 << 20)
        self.assertEqual(self.exec_in(sid, "x = 41")["exit_reason"], "ok")
        b = self.exec_in(sid, "x + 1")
        self.assertEqual((b["value_repr"], b["session_id"]), ("42", sid))

        _, _, listed = self.req("GET", "/v1/sessions")
        mine = [s for s in listed["sessions"] if s["session_id"] == sid]
        self.assertEqual(mine[0]["execs"], 2)
        self.assertEqual(listed["max_sessions"], MAX_SESSIONS)

        status, _, b = self.req("POST", f"/v1/sessions/{sid}/reset")
        self.assertEqual((status, b), (200, {"session_id": sid}))
        self.assertEqual(self.exec_in(sid, "x")["error"]["type"], "NameError")

        status, _, b = self.req("DELETE", f"/v1/sessions/{sid}")
        self.assertEqual((status, b), (200, {"session_id": sid, "closed": True}))
        status, _, b = self.req("POST", f"/v1/sessions/{sid}/exec", {"code": "1"})
        self.assertEqual(status, 404)
        self.assertEqual(error_of(b)[0], "not_found")

    def test_post_without_any_body_headers(self):
        # curl -X POST sends neither Content-Length nor Transfer-Encoding.
        with socket.create_connection((self.srv.host, self.srv.port), timeout=30) as s:
            s.sendall(f"POST /v1/sessions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {TOKEN}\r\n"
                      "Connection: close\r\n\r\n".encode())
            reply = b"".join(iter(lambda: s.recv(65536), b""))
        self.assertTrue(reply.startswith(b"HTTP/1.1 201"), reply[:200])
        sid = json.loads(reply.split(b"\r\n\r\n", 1)[1])["session_id"]
        self.assertEqual(self.req("DELETE", "/v1/sessions/" + sid)[0], 200)

    def test_a_session_from_a_snapshot_may_raise_limits_up_to_the_servers(self):
        # schemathesis' stateful phase found this: a snapshot of a session that
        # lowered output_bytes to 489 refused a new session asking for 728, which
        # the served schema allows (its maxima are the server's limits).
        status, _, b = self.req("POST", "/v1/sessions", {"config": {"limits": {"output_bytes": 489}}})
        self.assertEqual(status, 201, b)
        sid = b["session_id"]
        self.addCleanup(self.req, "DELETE", "/v1/sessions/" + sid)
        status, _, snap = self.req("POST", f"/v1/sessions/{sid}/snapshot")
        self.assertEqual(status, 201, snap)
        self.addCleanup(self.req, "DELETE", "/v1/snapshots/" + snap["snapshot_id"])
        status, _, b = self.req("POST", "/v1/sessions",
                                {"snapshot_id": snap["snapshot_id"], "config": {"limits": {"output_bytes": 728}}})
        self.assertEqual(status, 201, b)
        self.addCleanup(self.req, "DELETE", "/v1/sessions/" + b["session_id"])
        self.assertEqual(b["config"]["limits"]["output_bytes"], 728)
        status, _, b = self.req("POST", "/v1/sessions",
                                {"snapshot_id": snap["snapshot_id"], "config": {"limits": {"output_bytes": 2 << 20}}})
        self.assertEqual(status, 400, b)  # above the server's 1 MiB
        self.assertIn("above the server's limit", b["error"]["message"])

    def test_a_snapshot_whose_tmp_does_not_fit_the_config_is_a_409(self):
        sid = self.new_session()
        self.exec_in(sid, "open('/tmp/big', 'wb').write(b'x' * 200_000)")
        status, _, snap = self.req("POST", f"/v1/sessions/{sid}/snapshot")
        self.assertEqual(status, 201, snap)
        self.addCleanup(self.req, "DELETE", "/v1/snapshots/" + snap["snapshot_id"])
        status, _, b = self.req("POST", "/v1/sessions",
                                {"snapshot_id": snap["snapshot_id"], "config": {"limits": {"tmp_bytes": 100_000}}})
        self.assertEqual((status, b["error"]["code"]), (409, "snapshot_conflict"), b)
        self.assertEqual(b["error"]["message"], "the snapshot's /tmp does not fit this session's /tmp limits")

    def test_a_config_at_odds_with_the_snapshots_config_is_a_409(self):
        # Found by schemathesis: {"determinism": {"enabled": false}} is valid on its own (400 was
        # wrong), but a snapshot of a seeded deterministic session keeps its seed, which then
        # needs determinism enabled.
        sid = self.new_session({"config": {"determinism": {"enabled": True, "seed": 7}}})
        status, _, snap = self.req("POST", f"/v1/sessions/{sid}/snapshot")
        self.assertEqual(status, 201, snap)
        self.addCleanup(self.req, "DELETE", "/v1/snapshots/" + snap["snapshot_id"])
        status, _, b = self.req("POST", "/v1/sessions",
                                {"snapshot_id": snap["snapshot_id"], "config": {"determinism": {"enabled": False}}})
        self.assertEqual(status, 409, b)
        code, message = error_of(b)
        self.assertEqual(code, "snapshot_conflict")
        self.assertIn("need determinism.enabled", message)

    def test_snapshot_restore_fork_and_new_session_from_snapshot(self):
        sid = self.new_session()
        self.exec_in(sid, "x = 1")
        status, _, snap = self.req("POST", f"/v1/sessions/{sid}/snapshot")
        self.assertEqual(status, 201, snap)
        snap_id = snap["snapshot_id"]
        self.assertRegex(snap_id, r"^snap_[0-9a-f]{32}$")
        self.assertGreater(snap["memory_bytes"], 0)
        self.exec_in(sid, "x = 2")

        status, _, b = self.req("POST", f"/v1/sessions/{sid}/fork")
        self.assertEqual(status, 201, b)
        child = b["session_id"]
        self.addCleanup(self.req, "DELETE", "/v1/sessions/" + child)
        self.assertEqual(b["forked_from"], sid)
        self.exec_in(child, "x = 3")
        self.assertEqual(self.exec_in(sid, "x")["value_repr"], "2")  # independent

        status, _, b = self.req("POST", f"/v1/sessions/{sid}/restore", {"snapshot_id": snap_id})
        self.assertEqual((status, b), (200, {"session_id": sid, "snapshot_id": snap_id}))
        self.assertEqual(self.exec_in(sid, "x")["value_repr"], "1")
        self.req("DELETE", f"/v1/sessions/{child}")

        status, _, b = self.req("POST", "/v1/sessions", {"snapshot_id": snap_id})
        self.assertEqual(status, 201, b)
        self.addCleanup(self.req, "DELETE", "/v1/sessions/" + b["session_id"])
        self.assertEqual(self.exec_in(b["session_id"], "x")["value_repr"], "1")
        self.req("DELETE", "/v1/sessions/" + b["session_id"])

        status, _, b = self.req("DELETE", f"/v1/snapshots/{snap_id}")
        self.assertEqual((status, b), (200, {"snapshot_id": snap_id, "deleted": True}))
        for method, path, body in [("DELETE", f"/v1/snapshots/{snap_id}", None),
                                   ("POST", f"/v1/sessions/{sid}/restore", {"snapshot_id": snap_id}),
                                   ("POST", "/v1/sessions", {"snapshot_id": snap_id})]:
            status, _, b = self.req(method, path, body)
            self.assertEqual(status, 404, path)
            self.assertIn(snap_id, error_of(b)[1])

    def test_files_in_and_out(self):
        sid = self.new_session()
        payload = bytes(range(256)) * 4
        status, _, b = self.req("PUT", f"/v1/sessions/{sid}/files/data/in.bin", body=payload,
                                headers={"Content-Type": "application/octet-stream"})
        self.assertEqual(status, 200, b)
        self.assertEqual(b["bytes"], len(payload))
        b = self.exec_in(sid, "d = open('/tmp/data/in.bin', 'rb').read()\n"
                              "open('/tmp/out.bin', 'wb').write(d[::-1])\nlen(d)")
        self.assertEqual(b["value_repr"], str(len(payload)))
        status, r, data = self.req("GET", f"/v1/sessions/{sid}/files/out.bin", raw=True)
        self.assertEqual(status, 200)
        self.assertEqual(r.getheader("Content-Type"), "application/octet-stream")
        self.assertEqual(data, payload[::-1])
        status, _, b = self.req("GET", f"/v1/sessions/{sid}/files/missing.txt")
        self.assertEqual(status, 404)
        self.assertEqual(error_of(b)[0], "not_found")

    def test_files_are_listed_and_deleted(self):
        sid = self.new_session()
        status, _, b = self.req("GET", f"/v1/sessions/{sid}/files")
        self.assertEqual((status, b), (200, {"session_id": sid, "files": []}))
        self.assertEqual(self.req("PUT", f"/v1/sessions/{sid}/files/d/a.txt", body=b"12345")[0], 200)
        self.exec_in(sid, "open('/tmp/top.bin', 'wb').write(b'x' * 7)")
        status, _, b = self.req("GET", f"/v1/sessions/{sid}/files")
        self.assertEqual(status, 200)
        self.assertEqual(b["files"], [{"path": "/tmp/d", "directory": True, "bytes": 0},
                                      {"path": "/tmp/d/a.txt", "directory": False, "bytes": 5},
                                      {"path": "/tmp/top.bin", "directory": False, "bytes": 7}])
        status, _, b = self.req("DELETE", f"/v1/sessions/{sid}/files/top.bin")
        self.assertEqual((status, b), (200, {"session_id": sid, "path": "top.bin", "deleted": True}))
        status, _, b = self.req("DELETE", f"/v1/sessions/{sid}/files//tmp/d")  # a directory, with its files
        self.assertEqual((status, b["deleted"]), (200, True))
        self.assertEqual(self.req("GET", f"/v1/sessions/{sid}/files")[2]["files"], [])
        self.assertEqual(self.exec_in(sid, "import os\nos.listdir('/tmp')")["value_repr"], "[]")
        status, _, b = self.req("DELETE", f"/v1/sessions/{sid}/files/top.bin")
        self.assertEqual((status, error_of(b)[0]), (404, "not_found"))
        for path in ["../etc/passwd", "/etc/passwd", "a/../../x"]:
            status, _, b = self.req("DELETE", f"/v1/sessions/{sid}/files/{path}")
            self.assertIn((status, error_of(b)[0]), ((400, "bad_request"), (404, "not_found")), path)

    def test_expect_version_is_any_json_integer(self):
        # Found by schemathesis: 366298998672.0 is an integer to JSON Schema (and to many JSON
        # writers), and was refused with 400.
        sid = self.new_session()
        version = self.exec_in(sid, "x = 1")["version"]
        b = self.exec_in(sid, "x += 1", expect_version=float(version))
        self.assertEqual(b["version"], version + 1)
        status, _, b = self.req("POST", f"/v1/sessions/{sid}/exec", {"code": "x", "expect_version": float(version)})
        self.assertEqual((status, error_of(b)[0]), (409, "version_conflict"), b)
        for bad in (1.5, -1, "1", 2.0 ** 64, 1205415319883152883712):  # the schema's maximum is 2^64 - 1
            status, _, b = self.req("POST", f"/v1/sessions/{sid}/exec", {"code": "x", "expect_version": bad})
            self.assertEqual(status, 400, (bad, b))
            self.assertEqual(error_of(b), ("bad_request", "'expect_version' must be a non-negative integer"))

    def test_a_file_where_a_directory_is_needed_is_409(self):
        # Found by schemathesis: PUT files/data, then PUT files/data/in.csv was a 400, as if the
        # request were malformed; it is valid and conflicts with what the session holds.
        sid = self.new_session()
        self.assertEqual(self.req("PUT", f"/v1/sessions/{sid}/files/data", body=b"x")[0], 200)
        self.assertEqual(self.req("PUT", f"/v1/sessions/{sid}/files/dir/f", body=b"y")[0], 200)
        for method, path in (("PUT", "data/in.csv"), ("GET", "data/in.csv"), ("PUT", "dir"), ("GET", "dir")):
            status, _, b = self.req(method, f"/v1/sessions/{sid}/files/{path}", body=b"z" if method == "PUT" else None)
            self.assertEqual((status, error_of(b)[0]), (409, "conflict"), (method, path, b))
        self.assertEqual(self.req("GET", f"/v1/sessions/{sid}/files/data", raw=True)[2], b"x")  # left as it was
        self.assertEqual(self.req("GET", f"/v1/sessions/{sid}/files/dir/f", raw=True)[2], b"y")

    def test_deleting_a_file_frees_its_tmp_quota(self):
        sid = self.new_session({"config": {"limits": {"tmp_bytes": 4096}}})
        self.assertEqual(self.req("PUT", f"/v1/sessions/{sid}/files/a", body=b"x" * 3000)[0], 200)
        self.assertEqual(self.req("PUT", f"/v1/sessions/{sid}/files/b", body=b"x" * 3000)[0], 413)
        self.assertEqual(self.req("DELETE", f"/v1/sessions/{sid}/files/a")[0], 200)
        self.assertEqual(self.req("PUT", f"/v1/sessions/{sid}/files/b", body=b"x" * 3000)[0], 200)

    def test_stateless_exec_with_inline_files_in_and_out(self):
        data = bytes(range(256))
        status, _, b = self.req("POST", "/v1/exec", {
            "code": "d = open('/tmp/in/data.bin', 'rb').read()\nopen('/tmp/out.bin', 'wb').write(d[::-1])\n"
                    "open('/tmp/empty', 'w').close()\nlen(d)",
            "files": {"/tmp/in/data.bin": base64.b64encode(data).decode(), "rel.txt": ""},
            "output_files": ["/tmp/out.bin", "empty", "/tmp/rel.txt", "/tmp/missing"]})
        self.assertEqual(status, 200, b)
        self.assertEqual(b["value_repr"], "256")
        self.assertEqual(b["output_files"], {"/tmp/out.bin": base64.b64encode(data[::-1]).decode(), "empty": "",
                                             "/tmp/rel.txt": "", "/tmp/missing": None})
        status, _, b = self.req("POST", "/v1/exec", {"code": "1"})
        self.assertNotIn("output_files", b)  # only when asked for
        status, _, b = self.req("POST", "/v1/exec", {"code": "import os\nos.listdir('/tmp')"})
        self.assertEqual(b["value_repr"], "[]")  # nothing is left for the next stateless run

    def test_streamed_stateless_exec_returns_output_files_in_its_result(self):
        status, _, events = self.srv.stream("/v1/exec", {
            "code": "print('hi')\nopen('/tmp/o', 'w').write('done')", "output_files": ["/tmp/o"]})
        self.assertEqual(status, 200)
        self.assertEqual(events[-1][0], "result")
        self.assertEqual(events[-1][1]["output_files"], {"/tmp/o": base64.b64encode(b"done").decode()})

    def test_inline_files_are_refused_with_clear_4xx(self):
        def post(body):
            status, _, b = self.req("POST", "/v1/exec", {"code": "1", **body})
            return status, error_of(b)
        for body in ({"files": []}, {"files": {"a": 1}}, {"files": {"a": "not base64!"}}, {"files": {"a": "YQ"}},
                     {"files": {"a": "Y==="}}, {"files": {"a": "YQ==YQ=="}}, {"output_files": "a"}, {"output_files": [1]},
                     {"output_files": ["a"] * 5000}):
            status, (code, message) = post(body)
            self.assertEqual((status, code), (400, "bad_request"), body)
        status, (code, message) = post({"files": {"/etc/passwd": "eA=="}})
        self.assertEqual((status, code), (400, "bad_request"))
        status, (code, message) = post({"files": {"big": base64.b64encode(b"x" * 5000).decode()},
                                        "config": {"limits": {"tmp_bytes": 4096}}})
        self.assertEqual((status, code), (413, "tmp_quota_exceeded"))
        # Past the body cap the request is refused before it is read.
        status, (code, message) = post({"files": {"big": base64.b64encode(b"x" * MAX_BODY).decode()}})
        self.assertEqual((status, code), (413, "payload_too_large"))
        status, _, b = self.req("POST", "/v1/exec", {"code": "import os\nos.mkdir('/tmp/d')",
                                                    "output_files": ["/etc/passwd", "../x", "/tmp/d", ""]})
        self.assertEqual(b["output_files"], {"/etc/passwd": None, "../x": None, "/tmp/d": None, "": None})

    def test_output_files_over_the_body_cap_are_413(self):
        status, _, b = self.req("POST", "/v1/exec", {
            "code": f"for n in 'ab': open('/tmp/' + n, 'w').write('x' * {MAX_BODY // 2 + 1})",
            "output_files": ["a", "b"]})
        self.assertEqual((status, error_of(b)[0]), (413, "output_too_large"))

    def test_files_cannot_escape_tmp(self):
        sid = self.new_session()
        for path in ["../etc/passwd", "/etc/passwd", "a/../../x"]:
            status, _, b = self.req("PUT", f"/v1/sessions/{sid}/files/{path}", body=b"x")
            self.assertIn(status, (400, 404), path)
            status, _, b = self.req("GET", f"/v1/sessions/{sid}/files/{path}")
            self.assertIn(status, (400, 404), path)
            self.assertIn(error_of(b)[0], ("bad_request", "not_found"))

    def test_file_over_tmp_quota_is_413(self):
        sid = self.new_session({"config": {"limits": {"tmp_bytes": 4096}}})
        status, _, b = self.req("PUT", f"/v1/sessions/{sid}/files/big.bin", body=b"x" * 8192)
        self.assertEqual(status, 413, b)
        self.assertEqual(error_of(b)[0], "tmp_quota_exceeded")

    def test_unknown_session_is_404_everywhere(self):
        sid = "ses_" + "0" * 32
        for method, path, body in [("POST", f"/v1/sessions/{sid}/exec", {"code": "1"}),
                                   ("POST", f"/v1/sessions/{sid}/snapshot", None),
                                   ("POST", f"/v1/sessions/{sid}/fork", None),
                                   ("POST", f"/v1/sessions/{sid}/reset", None),
                                   ("DELETE", f"/v1/sessions/{sid}", None),
                                   ("PUT", f"/v1/sessions/{sid}/files/a", b"x"),
                                   ("GET", f"/v1/sessions/{sid}/files/a", None),
                                   ("GET", f"/v1/sessions/{sid}/files", None),
                                   ("DELETE", f"/v1/sessions/{sid}/files/a", None)]:
            status, _, b = self.req(method, path, body)
            self.assertEqual(status, 404, path)
            code, msg = error_of(b)
            self.assertEqual(code, "not_found")
            self.assertIn(sid, msg)
        status, _, b = self.req("GET", "/v1/nowhere")
        self.assertEqual(status, 404)
        self.assertEqual(error_of(b)[0], "not_found")

    def test_429_at_the_session_cap_and_recovery(self):
        ids = [self.new_session() for _ in range(MAX_SESSIONS)]
        status, _, b = self.req("POST", "/v1/sessions", {})
        self.assertEqual(status, 429)
        code, msg = error_of(b)
        self.assertEqual(code, "too_many_sessions")
        self.assertIn(str(MAX_SESSIONS), msg)
        status, _, b = self.req("POST", f"/v1/sessions/{ids[0]}/fork")
        self.assertEqual(status, 429)  # a fork is a session too
        self.assertEqual(self.exec_in(ids[0], "1 + 1")["value_repr"], "2")  # existing ones still work
        self.req("DELETE", f"/v1/sessions/{ids[0]}")
        status, _, b = self.req("POST", "/v1/sessions", {})
        self.assertEqual(status, 201)
        self.req("DELETE", "/v1/sessions/" + b["session_id"])

    def test_one_session_used_by_two_requests_at_once(self):
        sid = self.new_session()
        self.exec_in(sid, "n = 0")
        results = []

        def bump():
            results.append(self.exec_in(sid, "import time\nm = n\ntime.sleep(0.05)\nn = m + 1")["exit_reason"])
        threads = [threading.Thread(target=bump) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(results, ["ok"] * 4)
        self.assertEqual(self.exec_in(sid, "n")["value_repr"], "4")  # serialized, no lost update

    # --- auth, origin, size --------------------------------------------------
    def test_401_without_or_with_a_wrong_token(self):
        for headers in [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer " + TOKEN + "x"},
                        {"Authorization": "Basic " + TOKEN}, {"Authorization": TOKEN}]:
            status, r, b = self.req("POST", "/v1/exec", {"code": "1"}, headers=headers, token=False)
            self.assertEqual(status, 401, headers)
            self.assertEqual(r.getheader("WWW-Authenticate"), "Bearer")
            self.assertEqual(error_of(b)[0], "unauthorized")
        status, _, _ = self.req("GET", "/openapi.json", token=False)
        self.assertEqual(status, 401)

    def test_403_foreign_origin_and_host(self):
        status, _, b = self.req("POST", "/v1/exec", {"code": "1"}, headers={"Origin": "http://evil.example"})
        self.assertEqual(status, 403)
        self.assertEqual(error_of(b)[0], "forbidden_origin")
        status, r, _ = self.req("POST", "/v1/exec", {"code": "1"}, headers={"Origin": "http://localhost:3000"})
        self.assertEqual(status, 200)
        self.assertEqual(r.getheader("Access-Control-Allow-Origin"), "http://localhost:3000")
        status, _, b = self.req("GET", "/v1/health", headers={"Host": "attacker.example:8765"})
        self.assertEqual(status, 403)
        self.assertEqual(error_of(b)[0], "forbidden_host")
        # DNS rebinding with a name that only looks like a loopback address.
        status, _, b = self.req("GET", "/v1/health", headers={"Host": "127.attacker.example:8765"})
        self.assertEqual(status, 403)
        self.assertEqual(error_of(b)[0], "forbidden_host")
        status, _, b = self.req("POST", "/v1/exec", {"code": "1"},
                                headers={"Origin": "http://127.0.0.1.attacker.example:8765"})
        self.assertEqual(status, 403)
        self.assertEqual(error_of(b)[0], "forbidden_origin")
        status, _, _ = self.req("GET", "/v1/health", headers={"Host": "127.0.0.2:8765"})
        self.assertEqual(status, 200)

    def test_413_from_content_length_without_reading_the_body(self):
        c = self.srv.conn()
        c.putrequest("POST", "/v1/exec")
        c.putheader("Authorization", "Bearer " + TOKEN)
        c.putheader("Content-Length", str(1 << 40))  # a terabyte that never comes
        c.endheaders()
        r = c.getresponse()
        self.assertEqual(r.status, 413)
        self.assertEqual(r.getheader("Connection"), "close")
        self.assertEqual(error_of(json.loads(r.read()))[0], "payload_too_large")
        c.close()

    def test_413_for_bodies_over_the_cap(self):
        big = json.dumps({"code": "#" + "x" * MAX_BODY})
        status, _, b = self.req("POST", "/v1/exec", big)
        self.assertEqual(status, 413)
        code, msg = error_of(b)
        self.assertEqual(code, "payload_too_large")
        self.assertIn(str(MAX_BODY), msg)
        # Chunked: no Content-Length to check, so the count is kept while reading.
        c = self.srv.conn()
        c.request("POST", "/v1/exec", body=iter([b"x" * 4096] * 64), encode_chunked=True,
                  headers={"Authorization": "Bearer " + TOKEN})
        r = c.getresponse()
        self.assertEqual(r.status, 413)
        self.assertEqual(error_of(json.loads(r.read()))[0], "payload_too_large")
        c.close()
        status, _, b = self.req("POST", "/v1/exec", {"code": "'fits'"})  # the server is fine
        self.assertEqual(b["value_repr"], "'fits'")


def nested(depth):
    return "[" * depth + "]" * depth


class Hardening(unittest.TestCase):
    """Hostile clients (issue 9): deep JSON, huge echoes, secrets in reports, huge tracebacks."""

    SECRET = "sk-test-secret-value"

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.srv = Server(SERVER_ARGV, extra=["--env", "PYCELL_API_KEY=" + cls.SECRET, "--mount", cls.tmp.name + ":/data",
                                             "--timeout-ms", "20000"], token=TOKEN)

    @classmethod
    def tearDownClass(cls):
        assert cls.srv.stop() == 0, "clean exit on SIGTERM"
        cls.tmp.cleanup()

    def req(self, *args, **kwargs):
        return self.srv.request(*args, **kwargs)

    def test_deeply_nested_json_is_refused_before_anything_copies_it(self):
        # The audit's repro: 60,000 levels (~120 KB) crashed the server while
        # the config was copied or quoted in an error.
        for path in ["/v1/exec", "/v1/sessions"]:
            for deep in [nested(60000), '{"a":' * 60000 + "1" + "}" * 60000]:
                status, _, b = self.req("POST", path, '{"code":"1","config":' + deep + "}",
                                        headers={"Content-Type": "application/json"})
                self.assertEqual(status, 400, path)
                self.assertEqual(error_of(b), ("bad_request", "request body is nested deeper than 256 levels"))
        status, _, b = self.req("POST", "/v1/exec", {"code": "1", "config": {"limits": {"timeout_ms": 1000}}})
        self.assertEqual((status, b["value_repr"]), (200, "1"))

    def test_errors_quote_client_input_bounded(self):
        huge = "x" * 100000
        status, _, b = self.req("POST", "/v1/exec", {"code": "1", "config": {"limits": {"timeout_ms": huge}}})
        self.assertEqual(status, 400)
        msg = error_of(b)[1]
        self.assertLess(len(msg), 400)
        self.assertIn("(99802 more bytes)", msg)  # the JSON string, quotes included
        status, _, b = self.req("POST", "/v1/exec", {"code": "1", "config": {huge: 1}})
        self.assertEqual(status, 400)
        self.assertLess(len(error_of(b)[1]), 600)
        long_id = "ses_" + "y" * 5000
        status, _, b = self.req("POST", f"/v1/sessions/{long_id}/exec", {"code": "1"})
        self.assertEqual(status, 404)
        self.assertLess(len(error_of(b)[1]), 400)
        status, _, b = self.req("POST", "/v1/sessions", {"snapshot_id": "snap_" + "z" * 5000})
        self.assertEqual(status, 404)
        self.assertLess(len(error_of(b)[1]), 400)
        status, _, b = self.req("GET", "/v1/health", headers={"Host": "h" * 5000 + ".example"})
        self.assertEqual(status, 403)
        code, msg = error_of(b)
        self.assertEqual(code, "forbidden_host")
        self.assertLess(len(msg), 400)
        status, _, b = self.req("POST", "/v1/exec", {"code": "1"}, headers={"Origin": "http://" + "o" * 5000})
        self.assertEqual(status, 403)
        self.assertLess(len(error_of(b)[1]), 400)

    def test_env_values_are_redacted_wherever_the_config_is_reported(self):
        status, _, data = self.req("GET", "/v1/health", token=False, raw=True)
        self.assertEqual((status, json.loads(data)), (200, {"status": "ok"}))
        self.assertNotIn(self.tmp.name.encode(), data)  # mount host paths only with the token
        status, _, data = self.req("GET", "/v1/health", raw=True)
        self.assertEqual(status, 200)
        self.assertNotIn(self.SECRET.encode(), data)
        b = json.loads(data)
        self.assertEqual(b["config"]["env"], {"PYCELL_API_KEY": "<redacted>"})
        self.assertEqual(b["config"]["mounts"][0]["host_path"], self.tmp.name)
        status, _, data = self.req("POST", "/v1/sessions", {}, raw=True)
        self.assertEqual(status, 201)
        self.assertNotIn(self.SECRET.encode(), data)
        sid = json.loads(data)["session_id"]
        self.assertEqual(json.loads(data)["config"]["env"], {"PYCELL_API_KEY": "<redacted>"})
        # The guest itself still gets the value.
        status, _, b = self.req("POST", f"/v1/sessions/{sid}/exec", {"code": "import os; os.environ['PYCELL_API_KEY']"})
        self.assertEqual(b["value_repr"], repr(self.SECRET))
        self.req("DELETE", "/v1/sessions/" + sid)

    def test_traceback_frames_are_capped_at_both_ends(self):
        # Deep recursion that raises: ~1,000 frames, reported as the first and
        # last 50 with one marker frame saying how many were left out.
        status, _, b = self.req("POST", "/v1/exec", {"code": "def f(n):\n    return f(n + 1)\nf(0)"})
        self.assertEqual(status, 200)
        self.assertEqual(b["error"]["type"], "RecursionError")
        frames = b["error"]["frames"]
        self.assertEqual(len(frames), 101)
        self.assertEqual(frames[0]["function"], "<module>")
        self.assertEqual(frames[-1]["function"], "f")
        self.assertEqual((frames[50]["file"], frames[50]["line"], frames[50]["function"]), ("", 0, ""))
        self.assertRegex(frames[50]["source"], r"^\[\d+ more frames omitted\]$")
        omitted = int(frames[50]["source"][1:].split()[0])
        self.assertGreater(omitted, 500)

    def test_snapshot_byte_cap_is_429(self):
        srv = Server(SERVER_ARGV, extra=["--max-snapshot-bytes", "1048576"])
        try:
            status, _, b = srv.request("POST", "/v1/sessions", {})
            sid = b["session_id"]
            status, _, b = srv.request("POST", f"/v1/sessions/{sid}/snapshot")
            self.assertEqual(status, 429)
            code, msg = error_of(b)
            self.assertEqual(code, "too_many_snapshots")
            self.assertIn("snapshot byte limit reached", msg)
            self.assertIn("of the 1048576 allowed", msg)
        finally:
            self.assertEqual(srv.stop(), 0)

    def test_sigterm_cancels_a_stateless_run_without_time_limit(self):
        srv = Server(SERVER_ARGV, extra=["--timeout-ms", "0"])
        results = {}
        t = threading.Thread(target=lambda: results.update(r=srv.request("POST", "/v1/exec", {"code": "while True: pass"})))
        t.start()
        deadline = time.monotonic() + 20
        while srv.request("GET", "/v1/health")[2]["stateless_running"] != 1:
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.02)
        time.sleep(0.2)  # well inside the run
        srv.proc.send_signal(signal.SIGTERM)
        self.assertEqual(srv.proc.wait(timeout=10), 0)  # before the fix: waits forever
        srv.stop()
        t.join()
        self.assertEqual(results["r"][0], 200)
        self.assertEqual(results["r"][2]["exit_reason"], "cancelled")


class Exposure(unittest.TestCase):
    """Binding beyond loopback: a token or an explicit opt-out; the Host and Origin policy."""

    def test_non_loopback_bind_without_token_is_refused(self):
        r = subprocess.run(SERVER_ARGV + ["--host", "0.0.0.0", "--port", "0"], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 1)
        self.assertIn("refusing to listen on 0.0.0.0 without a bearer token", r.stderr)
        self.assertIn("--insecure-no-token", r.stderr)

    def test_opt_out_warns_and_host_policy_accepts_ip_literals_and_listed_names(self):
        srv = Server(SERVER_ARGV, extra=["--host", "0.0.0.0", "--insecure-no-token", "--accept-host", "sandbox.internal"])
        try:
            self.assertIn("WARNING: --insecure-no-token", "".join(srv.log))
            port = srv.port
            for host, expected in [("127.0.0.1:%d" % port, 200), ("localhost:%d" % port, 200),
                                   ("[::1]:%d" % port, 200), ("10.1.2.3:%d" % port, 200), ("[fd00::5]", 200),
                                   ("sandbox.internal:%d" % port, 200), ("SANDBOX.internal", 200),
                                   ("evil.example:%d" % port, 403), ("127.0.0.1.evil.example", 403),
                                   ("sandbox.internal.evil.example", 403)]:
                status, _, b = srv.request("GET", "/v1/health", headers={"Host": host})
                self.assertEqual(status, expected, host)
                if expected == 403:
                    self.assertEqual(error_of(b)[0], "forbidden_host")
            # Origins: loopback and --allowed-origin ones only, whatever the bind.
            status, _, b = srv.request("POST", "/v1/exec", {"code": "1"}, headers={"Origin": "http://10.1.2.3:%d" % port})
            self.assertEqual(status, 403)
            self.assertEqual(error_of(b)[0], "forbidden_origin")
            status, _, _ = srv.request("POST", "/v1/exec", {"code": "1"}, headers={"Origin": "http://localhost:3000"})
            self.assertEqual(status, 200)
        finally:
            self.assertEqual(srv.stop(), 0)

    def test_loopback_bind_accepts_only_loopback_hosts_and_listed_names(self):
        srv = Server(SERVER_ARGV, extra=["--accept-host", "sandbox.internal:8765"])
        try:
            for host, expected in [("localhost", 200), ("sandbox.internal:8765", 200), ("sandbox.internal:9999", 403),
                                   ("10.1.2.3", 403)]:
                self.assertEqual(srv.request("GET", "/v1/health", headers={"Host": host})[0], expected, host)
        finally:
            self.assertEqual(srv.stop(), 0)


class Limits(unittest.TestCase):
    """A second server with one stateless slot and a short idle time: 503 and expiry."""

    @classmethod
    def setUpClass(cls):
        cls.srv = Server(SERVER_ARGV, extra=["--max-stateless-execs", "1", "--session-idle-ms", "500", "--timeout-ms", "20000",
                                             "--snapshot-idle-ms", "500"])

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def wait_for(self, predicate, what):
        deadline = time.monotonic() + 20
        while not predicate():
            self.assertLess(time.monotonic(), deadline, "timed out waiting for " + what)
            time.sleep(0.02)

    def test_503_when_every_stateless_slot_is_busy(self):
        results = {}

        def long_run():
            results["first"] = self.srv.request("POST", "/v1/exec", {"code": "while True: pass",
                                                                    "config": {"limits": {"timeout_ms": 3000}}})
        t = threading.Thread(target=long_run)
        t.start()
        self.wait_for(lambda: self.srv.request("GET", "/v1/health")[2]["stateless_running"] == 1, "the first run")
        status, _, b = self.srv.request("POST", "/v1/exec", {"code": "1"})
        self.assertEqual(status, 503)
        code, msg = error_of(b)
        self.assertEqual(code, "overloaded")
        self.assertIn("busy", msg)
        t.join()
        self.assertEqual(results["first"][2]["exit_reason"], "timeout")
        status, _, b = self.srv.request("POST", "/v1/exec", {"code": "1"})
        self.assertEqual(status, 200)

    def test_idle_sessions_expire(self):
        status, _, b = self.srv.request("POST", "/v1/sessions", {})
        self.assertEqual(status, 201)
        sid = b["session_id"]
        self.wait_for(lambda: all(s["session_id"] != sid for s in self.srv.request("GET", "/v1/sessions")[2]["sessions"]),
                      "idle expiry")
        status, _, b = self.srv.request("POST", f"/v1/sessions/{sid}/exec", {"code": "1"})
        self.assertEqual(status, 404)

    def test_idle_snapshots_expire(self):
        status, _, b = self.srv.request("POST", "/v1/sessions", {})
        sid = b["session_id"]
        status, _, b = self.srv.request("POST", f"/v1/sessions/{sid}/snapshot")
        self.assertEqual(status, 201)
        snap = b["snapshot_id"]
        self.wait_for(lambda: self.srv.request("GET", "/v1/health")[2]["snapshots"] == 0, "snapshot expiry")
        status, _, b = self.srv.request("POST", "/v1/sessions", {"snapshot_id": snap})
        self.assertEqual(status, 404)
        self.assertEqual(error_of(b)[0], "not_found")

    def test_a_second_server_cannot_take_the_same_port(self):
        second = subprocess.run(SERVER_ARGV + ["--port", str(self.srv.port)], stdin=subprocess.DEVNULL,
                                capture_output=True, text=True, timeout=120)
        self.assertEqual(second.returncode, 1)
        self.assertIn("cannot listen", second.stderr)
        self.assertEqual(self.srv.request("GET", "/v1/health")[0], 200)

    def test_sigterm_stops_a_running_exec_and_exits_cleanly(self):
        srv = Server(SERVER_ARGV, extra=["--timeout-ms", "60000"])
        status, _, b = srv.request("POST", "/v1/sessions", {})
        sid = b["session_id"]
        results = {}
        t = threading.Thread(target=lambda: results.update(
            r=srv.request("POST", f"/v1/sessions/{sid}/exec", {"code": "while True: pass"})))
        t.start()
        self.wait_for(lambda: any(s["busy"] for s in srv.request("GET", "/v1/sessions")[2]["sessions"]), "busy")
        self.assertEqual(srv.stop(), 0)
        t.join()
        self.assertEqual(results["r"][2]["exit_reason"], "cancelled")


if __name__ == "__main__":
    if "--" not in sys.argv:
        sys.exit(__doc__)
    split = sys.argv.index("--")
    SERVER_ARGV = sys.argv[split + 1:]
    own = sys.argv[1:split]
    OPENAPI_PATH = own[own.index("--openapi") + 1]
    unittest.main(argv=[sys.argv[0], "-v"])

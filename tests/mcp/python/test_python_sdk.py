"""pycell's MCP server driven by the official MCP Python SDK (PyPI `mcp`),
over stdio (`pycell mcp`) and streamable HTTP (`pycell serve`), in both eras:
mode="legacy" forces the initialize handshake (2025-11-25), mode="auto"
probes server/discover and must end up speaking the stateless 2026-07-28.

Run by run_tests.sh (which makes the venv) with PYCELL_SERVER set."""

import os
import re
import subprocess
import sys
import unittest

import anyio
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError

PYCELL = os.environ["PYCELL_SERVER"]
COMMON = ["--timeout-ms", "5000", "--max-sessions", "8"]
ERAS = {"legacy": "2025-11-25", "auto": "2026-07-28"}


def text(result):
    return "\n".join(c.text for c in result.content if c.type == "text")


class HttpServer:
    """`pycell serve` on a free loopback port."""

    def __enter__(self):
        self.proc = subprocess.Popen([PYCELL, "serve", *COMMON, "--port", "0"], stderr=subprocess.PIPE, text=True)
        for line in self.proc.stderr:
            sys.stderr.write(line)
            m = re.search(r"listening on (http://\S+)", line)
            if m:
                self.url = m.group(1) + "/mcp"
                return self
        raise RuntimeError("pycell serve did not start")

    def __exit__(self, *exc):
        self.proc.terminate()
        assert self.proc.wait(30) == 0


class Suite:
    """The checks, for one transport (connect) and one mode."""

    mode = "legacy"

    def connect(self):
        raise NotImplementedError

    async def test_negotiates_the_era(self):
        async with self.connect() as client:
            self.assertEqual(client.protocol_version, ERAS[self.mode])
            self.assertEqual(client.server_info.name, "pycell")
            self.assertIn("create_session", client.instructions)

    async def test_tools_and_annotations(self):
        async with self.connect() as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            self.assertEqual(
                sorted(tools),
                [
                    "close_session",
                    "create_session",
                    "delete_file",
                    "list_files",
                    "list_sessions",
                    "read_file",
                    "reset_session",
                    "run_python",
                    "write_file",
                ],
            )
            self.assertFalse(tools["run_python"].annotations.destructive_hint)
            self.assertTrue(tools["read_file"].annotations.read_only_hint)

    async def test_run_python_variables_and_value_json(self):
        async with self.connect() as client:
            r = await client.call_tool(
                "run_python", {"code": "print('hi')\n{'total': sum(xs)}", "variables": {"xs": [1, 2, 3]}, "session_id": None}
            )
            self.assertFalse(r.is_error, text(r))
            self.assertEqual(r.structured_content["value_json"], {"total": 6})
            self.assertEqual(r.structured_content["stdout"], "hi\n")

    async def test_invalid_arguments_are_tool_errors(self):
        async with self.connect() as client:
            r = await client.call_tool("run_python", {"code": 7})
            self.assertTrue(r.is_error)
            self.assertIn("'code' must be a string", text(r))
            with self.assertRaises(MCPError) as caught:
                await client.call_tool("no_such_tool", {})
            self.assertEqual(caught.exception.error.code, -32602)

    async def test_progress_carries_output(self):
        async with self.connect() as client:
            seen = []

            async def on_progress(progress, total, message):
                seen.append((progress, message))

            code = "import time\nfor i in range(3):\n    print('line', i, flush=True)\n    time.sleep(0.3)"
            r = await client.call_tool("run_python", {"code": code}, progress_callback=on_progress)
            self.assertFalse(r.is_error, text(r))
            self.assertIn("line 0\nline 1\nline 2\n", "".join(m for _, m in seen))
            self.assertEqual([p for p, _ in seen], sorted({p for p, _ in seen}))

    async def test_cancel_stops_the_run(self):
        async with self.connect() as client:
            sid = (await client.call_tool("create_session", {})).structured_content["session_id"]
            await client.call_tool("run_python", {"code": "x = 1", "session_id": sid})
            started = anyio.Event()

            async def on_progress(progress, total, message):
                started.set()

            async with anyio.create_task_group() as tg:

                async def spin():
                    await client.call_tool(
                        "run_python",
                        {"code": "print('go', flush=True)\nwhile True:\n    pass", "session_id": sid},
                        progress_callback=on_progress,
                    )

                tg.start_soon(spin)
                await started.wait()
                tg.cancel_scope.cancel()  # the SDK tells the server (notifications/cancelled, or closes the stream)
            # Stopped by the cancel, not by the 5 s limit: the session rolled
            # back to its committed state, from before x was bound.
            after = await client.call_tool("run_python", {"code": "'x' in globals()", "session_id": sid})
            self.assertIs(after.structured_content["value_json"], False, text(after))
            await client.call_tool("close_session", {"session_id": sid})

    async def test_files_in_and_out(self):
        async with self.connect() as client:
            sid = (await client.call_tool("create_session", {})).structured_content["session_id"]
            await client.call_tool("write_file", {"session_id": sid, "path": "in.txt", "content": "héllo"})
            r = await client.call_tool("run_python", {"session_id": sid, "code": "open('/tmp/in.txt').read().upper()"})
            self.assertEqual(r.structured_content["value_json"], "HÉLLO")
            back = await client.call_tool("read_file", {"session_id": sid, "path": "/tmp/in.txt"})
            self.assertEqual(back.structured_content["content"], "héllo")
            files = (await client.call_tool("list_files", {"session_id": sid})).structured_content["files"]
            self.assertEqual([(f["path"], f["bytes"]) for f in files], [("/tmp/in.txt", 6)])
            await client.call_tool("delete_file", {"session_id": sid, "path": "in.txt"})
            files = (await client.call_tool("list_files", {"session_id": sid})).structured_content["files"]
            self.assertEqual(files, [])
            closed = await client.call_tool("close_session", {"session_id": sid})
            self.assertFalse(closed.is_error)
            gone = await client.call_tool("read_file", {"session_id": sid, "path": "in.txt"})
            self.assertIn("was closed", text(gone))


    async def test_pandas_read_csv_groupby_describe_in_a_session(self):
        # The scientific-stack issue's "done when": an agent's data work over MCP.
        csv = "city,temp\nOslo,3\nOslo,5\nRome,18\nRome,20\nRome,22\n"
        async with self.connect() as client:
            sid = (await client.call_tool("create_session", {})).structured_content["session_id"]
            await client.call_tool("write_file", {"session_id": sid, "path": "temps.csv", "content": csv})
            r = await client.call_tool("run_python", {"session_id": sid, "code":
                                                      "import pandas as pd\ndf = pd.read_csv('/tmp/temps.csv')\nlen(df)"})
            self.assertEqual(r.structured_content["value_json"], 5, text(r))
            r = await client.call_tool("run_python", {"session_id": sid, "code":
                                                      "d = df.groupby('city')['temp'].describe()\n"
                                                      "d[['count', 'mean', 'max']].to_dict('index')"})
            self.assertFalse(r.is_error, text(r))
            self.assertEqual(r.structured_content["value_json"],
                             {"Oslo": {"count": 2.0, "mean": 4.0, "max": 5.0},
                              "Rome": {"count": 3.0, "mean": 20.0, "max": 22.0}})
            await client.call_tool("close_session", {"session_id": sid})


class StdioLegacy(Suite, unittest.IsolatedAsyncioTestCase):
    mode = "legacy"

    def connect(self):
        return Client(StdioServerParameters(command=PYCELL, args=["mcp", *COMMON]), mode=self.mode)


class StdioModern(StdioLegacy):
    mode = "auto"


class HttpLegacy(Suite, unittest.IsolatedAsyncioTestCase):
    mode = "legacy"

    @classmethod
    def setUpClass(cls):
        cls.server = HttpServer().__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)

    def connect(self):
        return Client(self.server.url, mode=self.mode)

    async def test_a_session_outlives_the_connection(self):
        # A client that connects per call (as the Inspector CLI and many
        # agent frameworks do) keeps its sandbox session.
        async with self.connect() as first:
            sid = (await first.call_tool("create_session", {})).structured_content["session_id"]
            await first.call_tool("run_python", {"code": "kept = 41", "session_id": sid})
        async with self.connect() as second:
            r = await second.call_tool("run_python", {"code": "kept + 1", "session_id": sid})
            self.assertEqual(r.structured_content["value_json"], 42, text(r))
            await second.call_tool("close_session", {"session_id": sid})


class HttpModern(HttpLegacy):
    mode = "auto"


del Suite

if __name__ == "__main__":
    unittest.main(verbosity=2)

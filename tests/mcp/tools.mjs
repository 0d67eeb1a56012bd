// The tool tests, written once and run over both transports (stdio and HTTP).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { McpError, ErrorCode, ListResourcesResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { TIMEOUT_MS, text } from './server.mjs';

/** Registers the shared tests; `connect` resolves to { client, close }. */
export function toolSuite(name, connect) {
  test(`${name}: initialize reports pycell and its tools capability`, async () => {
    const { client, close } = await connect();
    try {
      assert.equal(client.getServerVersion().name, 'pycell');
      assert.ok(client.getServerCapabilities().tools, 'tools capability');
      const instructions = client.getInstructions();
      assert.match(instructions, /standard library only/);
      assert.match(instructions, /create_session/);
    } finally {
      await close();
    }
  });

  test(`${name}: tools/list describes the sandbox and its limits`, async () => {
    const { client, close } = await connect();
    try {
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((t) => t.name).sort(),
        ['close_session', 'create_session', 'list_sessions', 'reset_session', 'run_python']);
      const run = tools.find((t) => t.name === 'run_python');
      assert.deepEqual(run.inputSchema.required, ['code']);
      assert.equal(run.outputSchema.type, 'object');
      assert.ok(run.outputSchema.properties.exit_reason);
      // What a model must know: no packages, no network, and the actual limits.
      assert.match(run.description, /no pip/);
      assert.match(run.description, /use the network/);
      assert.match(run.description, new RegExp(`${TIMEOUT_MS} ms wall clock`));
      assert.match(run.description, /512 MiB memory/);
      assert.match(run.description, /\/tmp/);
    } finally {
      await close();
    }
  });

  test(`${name}: run_python returns output, value and structured content`, async () => {
    const { client, close } = await connect();
    try {
      const r = await client.callTool({ name: 'run_python', arguments: { code: 'print("hello")\n6 * 7' } });
      assert.equal(r.isError, false);
      assert.match(text(r), /hello/);
      assert.match(text(r), /42/);
      assert.equal(r.structuredContent.stdout, 'hello\n');
      assert.equal(r.structuredContent.value_repr, '42');
      assert.equal(r.structuredContent.exit_reason, 'ok');
      assert.equal(r.structuredContent.exit_code, 0);
      assert.equal(typeof r.structuredContent.wall_time_ms, 'number');
      assert.equal(typeof r.structuredContent.fuel_used, 'number');
      // Without a session nothing is kept between calls.
      await client.callTool({ name: 'run_python', arguments: { code: 'kept = 1' } });
      const again = await client.callTool({ name: 'run_python', arguments: { code: 'kept' } });
      assert.equal(again.isError, true);
      assert.equal(again.structuredContent.error.type, 'NameError');
    } finally {
      await close();
    }
  });

  test(`${name}: a Python exception is an isError result with the traceback`, async () => {
    const { client, close } = await connect();
    try {
      const r = await client.callTool({
        name: 'run_python', arguments: { code: 'def f(x):\n    return 1 / x\nf(0)' },
      });
      assert.equal(r.isError, true);
      assert.match(text(r), /Traceback \(most recent call last\)/);
      assert.match(text(r), /ZeroDivisionError: division by zero/);
      assert.equal(r.structuredContent.exit_reason, 'exception');
      assert.equal(r.structuredContent.exit_code, 1);
      assert.equal(r.structuredContent.error.type, 'ZeroDivisionError');
      assert.equal(r.structuredContent.error.frames.at(-1).function, 'f');
    } finally {
      await close();
    }
  });

  test(`${name}: a session keeps state across calls until reset and close`, async () => {
    const { client, close } = await connect();
    try {
      const created = await client.callTool({ name: 'create_session', arguments: {} });
      assert.equal(created.isError, false);
      const id = created.structuredContent.session_id;
      assert.match(id, /^ses_[0-9a-f]{32}$/);
      const call = (code) => client.callTool({ name: 'run_python', arguments: { code, session_id: id } });
      assert.equal((await call('x = 41\nopen("/tmp/note", "w").write("kept")')).isError, false);
      const r = await call('x + 1, open("/tmp/note").read()');
      assert.equal(r.structuredContent.value_repr, "(42, 'kept')");
      assert.equal(r.structuredContent.session_id, id);

      const listed = await client.callTool({ name: 'list_sessions', arguments: {} });
      assert.deepEqual(listed.structuredContent.sessions.map((s) => s.session_id), [id]);
      assert.equal(listed.structuredContent.sessions[0].execs, 2);
      assert.equal(listed.structuredContent.max_sessions, 4);

      assert.equal((await client.callTool({ name: 'reset_session', arguments: { session_id: id } })).isError, false);
      const afterReset = await call('x');
      assert.equal(afterReset.isError, true);
      assert.equal(afterReset.structuredContent.error.type, 'NameError');

      assert.equal((await client.callTool({ name: 'close_session', arguments: { session_id: id } })).isError, false);
      const closed = await call('1');
      assert.equal(closed.isError, true);
      assert.match(text(closed), /No session/);
      const none = await client.callTool({ name: 'list_sessions', arguments: {} });
      assert.deepEqual(none.structuredContent.sessions, []);
    } finally {
      await close();
    }
  });

  test(`${name}: the session cap is reported to the model, not a crash`, async () => {
    const { client, close } = await connect();
    try {
      const ids = [];
      for (let i = 0; i < 4; i++) {
        const r = await client.callTool({ name: 'create_session', arguments: {} });
        assert.equal(r.isError, false);
        ids.push(r.structuredContent.session_id);
      }
      const over = await client.callTool({ name: 'create_session', arguments: {} });
      assert.equal(over.isError, true);
      assert.match(text(over), /session limit reached: 4/);
      for (const id of ids) await client.callTool({ name: 'close_session', arguments: { session_id: id } });
      const again = await client.callTool({ name: 'create_session', arguments: {} });
      assert.equal(again.isError, false);
    } finally {
      await close();
    }
  });

  test(`${name}: hitting the time limit reports exit_reason timeout`, async () => {
    const { client, close } = await connect();
    try {
      const r = await client.callTool({ name: 'run_python', arguments: { code: 'while True:\n    pass' } });
      assert.equal(r.isError, true);
      assert.equal(r.structuredContent.exit_reason, 'timeout');
      assert.match(text(r), new RegExp(`wall-clock limit of ${TIMEOUT_MS} ms`));
    } finally {
      await close();
    }
  });

  test(`${name}: hitting the memory limit reports MemoryError`, async () => {
    const { client, close } = await connect();
    try {
      const r = await client.callTool({ name: 'run_python', arguments: { code: 'b = bytearray(1 << 30)' } });
      assert.equal(r.isError, true);
      assert.equal(r.structuredContent.error.type, 'MemoryError');
      assert.equal(r.structuredContent.exit_reason, 'memory');
      assert.match(text(r), /memory limit of 512 MiB/);
    } finally {
      await close();
    }
  });

  test(`${name}: protocol errors carry the spec's codes`, async () => {
    const { client, close } = await connect();
    try {
      await assert.rejects(client.callTool({ name: 'no_such_tool', arguments: {} }),
        (e) => e instanceof McpError && e.code === ErrorCode.InvalidParams);
      await assert.rejects(client.callTool({ name: 'run_python', arguments: { code: 42 } }),
        (e) => e instanceof McpError && e.code === ErrorCode.InvalidParams);
      await assert.rejects(client.request({ method: 'resources/list', params: {} }, ListResourcesResultSchema),
        (e) => e instanceof McpError && e.code === ErrorCode.MethodNotFound);
    } finally {
      await close();
    }
  });
}

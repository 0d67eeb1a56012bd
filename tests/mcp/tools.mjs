// The tool tests, written once and run over both transports (stdio and HTTP)
// and both eras: the v1 SDK client speaks the legacy revision 2025-11-25, the
// v2 client the stateless 2026-07-28 (the same client API for these calls).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TIMEOUT_MS, text } from './server.mjs';

/**
 * Registers the shared tests; `connect` resolves to { client, close }.
 * `version` is the protocol revision the client must end up speaking.
 */
export function toolSuite(name, connect, version) {
  // v2's callTool takes (params, options), v1's (params, resultSchema, options).
  const callWith = (client, params, options) =>
    (version === '2026-07-28' ? client.callTool(params, options) : client.callTool(params, undefined, options));
  test(`${name}: the client speaks ${version}`, async () => {
    const { client, close } = await connect();
    try {
      const negotiated = client.getNegotiatedProtocolVersion?.() ?? client.transport?.protocolVersion;
      if (negotiated !== undefined) assert.equal(negotiated, version);
    } finally {
      await close();
    }
  });

  test(`${name}: initialize reports pycell and its tools capability`, async () => {
    const { client, close } = await connect();
    try {
      assert.equal(client.getServerVersion().name, 'pycell');
      assert.ok(client.getServerCapabilities().tools, 'tools capability');
      const instructions = client.getInstructions();
      assert.match(instructions, /the standard library, numpy and pandas/);
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
        ['close_session', 'create_session', 'delete_file', 'list_files', 'list_sessions', 'read_file', 'reset_session',
          'run_python', 'write_file']);
      const run = tools.find((t) => t.name === 'run_python');
      assert.deepEqual(run.inputSchema.required, ['code']);
      assert.equal(run.inputSchema.properties.variables.type, 'object');
      // No writable mount, no host function: nothing outside the sandbox changes.
      assert.equal(run.annotations.destructiveHint, false);
      assert.equal(tools.find((t) => t.name === 'list_sessions').annotations.readOnlyHint, true);
      assert.equal(tools.find((t) => t.name === 'close_session').annotations.destructiveHint, true);
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
      assert.equal(r.structuredContent.value_json, 42);
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
      assert.match(text(closed), /was closed \(close_session\)/);
      const never = await client.callTool({ name: 'run_python', arguments: { code: '1', session_id: 'ses_never' } });
      assert.match(text(never), /No session 'ses_never' exists/);
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
      // Sessions belong to the principal, not to this connection: close it.
      await client.callTool({ name: 'close_session', arguments: { session_id: again.structuredContent.session_id } });
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

  test(`${name}: run_python binds variables; value_json carries JSON values; session_id null is no session`, async () => {
    const { client, close } = await connect();
    try {
      const r = await client.callTool({ name: 'run_python', arguments: {
        code: '{"sum": sum(xs), "name": who.upper(), "nested": cfg["a"]}',
        variables: { xs: [1, 2, 3], who: 'ada', cfg: { a: [true, null] } }, session_id: null } });
      assert.equal(r.isError, false, text(r));
      assert.deepEqual(r.structuredContent.value_json, { sum: 6, name: 'ADA', nested: [true, null] });
      const set = await client.callTool({ name: 'run_python', arguments: { code: '{1, 2}' } });
      assert.equal(set.structuredContent.value_repr, '{1, 2}');
      assert.equal(set.structuredContent.value_json, null);  // not JSON-serializable
      const badName = await client.callTool({ name: 'run_python', arguments: { code: '1', variables: { 'not-a-name': 1 } } });
      assert.equal(badName.isError, true);
      assert.match(text(badName), /not a Python identifier/);
    } finally {
      await close();
    }
  });

  test(`${name}: files go into and out of a session`, async () => {
    const { client, close } = await connect();
    try {
      const sid = (await client.callTool({ name: 'create_session', arguments: {} })).structuredContent.session_id;
      const w = await client.callTool({ name: 'write_file', arguments: { session_id: sid, path: 'in/data.csv', content: 'a,b\n1,2\n' } });
      assert.equal(w.isError, false, text(w));
      assert.equal(w.structuredContent.bytes, 8);
      const run = await client.callTool({ name: 'run_python', arguments: { session_id: sid,
        code: 'import csv\nrows = list(csv.reader(open("/tmp/in/data.csv")))\nopen("/tmp/out.bin", "wb").write(bytes([0, 255, 1]))\nrows' } });
      assert.equal(run.structuredContent.value_repr, "[['a', 'b'], ['1', '2']]");
      const back = await client.callTool({ name: 'read_file', arguments: { session_id: sid, path: '/tmp/in/data.csv' } });
      assert.equal(back.structuredContent.encoding, 'utf-8');
      assert.equal(text(back), 'a,b\n1,2\n');
      const bin = await client.callTool({ name: 'read_file', arguments: { session_id: sid, path: 'out.bin' } });
      assert.equal(bin.structuredContent.encoding, 'base64');
      assert.equal(bin.structuredContent.content, 'AP8B');
      assert.equal(bin.content[0].resource.blob, 'AP8B');
      const b64 = await client.callTool({ name: 'write_file', arguments: { session_id: sid, path: 'x.bin', content: 'AP8B', encoding: 'base64' } });
      assert.equal(b64.structuredContent.bytes, 3);
      const missing = await client.callTool({ name: 'read_file', arguments: { session_id: sid, path: 'nope.txt' } });
      assert.equal(missing.isError, true);
      const listed = await client.callTool({ name: 'list_files', arguments: { session_id: sid } });
      assert.deepEqual(listed.structuredContent.files.map((f) => [f.path, f.directory, f.bytes]),
        [['/tmp/in', true, 0], ['/tmp/in/data.csv', false, 8], ['/tmp/out.bin', false, 3], ['/tmp/x.bin', false, 3]]);
      assert.equal((await client.callTool({ name: 'delete_file', arguments: { session_id: sid, path: 'in' } })).isError, false);
      const left = await client.callTool({ name: 'list_files', arguments: { session_id: sid } });
      assert.deepEqual(left.structuredContent.files.map((f) => f.path), ['/tmp/out.bin', '/tmp/x.bin']);
      await client.callTool({ name: 'close_session', arguments: { session_id: sid } });
    } finally {
      await close();
    }
  });

  test(`${name}: progress notifications carry output while the code runs`, async () => {
    const { client, close } = await connect();
    try {
      const seen = [];
      const r = await callWith(client,
        { name: 'run_python', arguments: { code: 'import time\nfor i in range(3):\n    print("step", i, flush=True)\n    time.sleep(0.3)' } },
        { onprogress: (p) => seen.push(p), resetTimeoutOnProgress: true });
      assert.equal(r.isError, false, text(r));
      assert.match(seen.map((p) => p.message).join(''), /step 0\nstep 1\nstep 2\n/);
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i].progress > seen[i - 1].progress);
    } finally {
      await close();
    }
  });

  test(`${name}: ping and other calls are answered during a run`, async () => {
    const { client, close } = await connect();
    try {
      let order = [];
      const run = client.callTool({ name: 'run_python', arguments: { code: 'import time\ntime.sleep(1.5)\n"slow"' } })
        .then(() => order.push('run'));
      if (version !== '2026-07-28') await client.ping().then(() => order.push('ping'));  // no ping in 2026-07-28
      await client.listTools().then(() => order.push('list'));
      await run;
      assert.deepEqual(order.slice(-1), ['run']);
    } finally {
      await close();
    }
  });

  test(`${name}: cancelling a call stops the run and no result is sent`, async () => {
    const { client, close } = await connect();
    try {
      const sid = (await client.callTool({ name: 'create_session', arguments: {} })).structuredContent.session_id;
      await client.callTool({ name: 'run_python', arguments: { session_id: sid, code: 'x = 1' } });
      const abort = new AbortController();
      let progressed;
      const started = new Promise((r) => { progressed = r; });
      const call = callWith(client,
        { name: 'run_python', arguments: { session_id: sid, code: 'print("started", flush=True)\nwhile True:\n    pass' } },
        { signal: abort.signal, onprogress: () => progressed() });
      await started;
      abort.abort('test');
      await assert.rejects(call);
      // The cancelled run was stopped (not timed out): the session rolled
      // back to its committed state, before x was bound.
      const after = await client.callTool({ name: 'run_python', arguments: { session_id: sid, code: '"x" in globals()' } });
      assert.equal(after.structuredContent.value_json, false, text(after));
      await client.callTool({ name: 'close_session', arguments: { session_id: sid } });
    } finally {
      await close();
    }
  });

  test(`${name}: invalid arguments are tool results the model can read; an unknown tool is a protocol error`, async () => {
    const { client, close } = await connect();
    try {
      await assert.rejects(client.callTool({ name: 'no_such_tool', arguments: {} }), (e) => e.code === -32602);
      const wrongType = await client.callTool({ name: 'run_python', arguments: { code: 42 } });
      assert.equal(wrongType.isError, true);
      assert.match(text(wrongType), /'code' must be a string/);
      const missing = await client.callTool({ name: 'close_session', arguments: {} });
      assert.equal(missing.isError, true);
      assert.match(text(missing), /'session_id' is required/);
    } finally {
      await close();
    }
  });
}

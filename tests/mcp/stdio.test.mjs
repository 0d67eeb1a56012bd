// MCP over stdio (`pycell mcp`) with the official SDK client, plus raw
// JSON-RPC lines the SDK would never send.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { checkProbe, probes } from './probes.mjs';
import { connectStdio, connectStdioModern, mcpArgs } from './server.mjs';
import { toolSuite } from './tools.mjs';

toolSuite('stdio 2025-11-25', () => connectStdio(), '2025-11-25');
toolSuite('stdio 2026-07-28', () => connectStdioModern(), '2026-07-28');

/** Sends raw lines to a fresh stdio server; resolves with the parsed replies. */
function rawExchange(lines, expected, extra = []) {
  const child = spawn(process.env.PYCELL_SERVER, [...mcpArgs, ...extra], { stdio: ['pipe', 'pipe', 'inherit'] });
  const replies = [];
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      replies.push(JSON.parse(line));  // every stdout line must be JSON-RPC
      if (replies.length === expected) child.stdin.end();
    });
    child.on('exit', (code) => (code === 0 ? resolve(replies) : reject(new Error(`exit ${code}`))));
    for (const l of lines) child.stdin.write(l + '\n');
  });
}

test('stdio: malformed messages get JSON-RPC errors and the server keeps serving', async () => {
  const replies = await rawExchange([
    '{not json',
    '[{"jsonrpc":"2.0","id":1,"method":"ping"}]',
    '{"jsonrpc":"2.0","id":2,"method":"tools/list"}',
    '{"jsonrpc":"2.0","id":3,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}',
    '{"jsonrpc":"2.0","method":"notifications/initialized"}',
    '{"jsonrpc":"2.0","id":4,"method":"no/such/method"}',
    '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"run_python"}}',
    '{"jsonrpc":"2.0","id":6,"method":"ping"}',
  ], 7);
  assert.equal(replies[0].error.code, -32700);
  assert.equal(replies[0].id, null);
  assert.equal(replies[1].error.code, -32600);  // batches were removed in 2025-06-18
  assert.equal(replies[2].error.code, -32600);  // before initialize
  assert.equal(replies[3].result.protocolVersion, '2025-06-18');
  assert.equal(replies[4].error.code, -32601);
  // tools/call (id 5) answers from its own thread: find it by id.
  const byId = (id) => replies.find((r) => r.id === id);
  assert.equal(byId(5).result.isError, true);  // arguments that miss 'code': a tool error (2025-11-25)
  assert.deepEqual(byId(6), { jsonrpc: '2.0', id: 6, result: {} });
});

test('stdio: an unknown protocol version is answered with the server\'s own', async () => {
  const [reply] = await rawExchange([
    '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"1999-01-01","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}',
  ], 1);
  assert.equal(reply.result.protocolVersion, '2025-11-25');
  assert.equal(reply.result.serverInfo.name, 'pycell');
});

const initLine = '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}';

test('stdio: malformed envelopes, type-confused params and deep nesting get exact errors; the server keeps serving', async () => {
  const replies = await rawExchange([initLine, ...probes.map((p) => p.line)], 1 + probes.length);
  assert.equal(replies[0].result.protocolVersion, '2025-06-18');
  // tools/call runs on a thread of its own, so replies with an id are
  // matched by id; the rest (id null) keep their order.
  const withId = new Map(replies.slice(1).filter((r) => r.id !== null).map((r) => [JSON.stringify(r.id), r]));
  const nullIds = replies.slice(1).filter((r) => r.id === null);
  for (const p of probes) checkProbe(assert, p, p.id === null ? nullIds.shift() : withId.get(JSON.stringify(p.id)));
});

test('stdio: SIGTERM cancels a run without a time limit and exits with status 0', async () => {
  const child = spawn(process.env.PYCELL_SERVER, [...mcpArgs, '--timeout-ms', '0'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const replies = [];
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  const started = new Promise((resolve) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      replies.push(JSON.parse(line));
      if (replies.length === 1) resolve();
    });
  });
  child.stdin.write(initLine + '\n');
  child.stdin.write('{"jsonrpc":"2.0","method":"notifications/initialized"}\n');
  child.stdin.write('{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"run_python","arguments":{"code":"while True: pass"}}}\n');
  await started;
  await new Promise((r) => setTimeout(r, 500));  // the run is under way
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  assert.equal(await exited, 0);  // before the fix: killed by the signal, or stuck
  clearTimeout(timer);
  assert.equal(replies.length, 2);
  assert.equal(replies[1].id, 2);
  assert.equal(replies[1].result.isError, true);
  assert.equal(replies[1].result.structuredContent.exit_reason, 'cancelled');
});

/** A raw JSON-RPC client of a fresh `pycell mcp`: request(obj) resolves with the reply to obj.id. */
function rawClient(extra = []) {
  const child = spawn(process.env.PYCELL_SERVER, [...mcpArgs, ...extra], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = new Map();
  createInterface({ input: child.stdout }).on('line', (line) => {
    const m = JSON.parse(line);
    if (m.id !== undefined && waiting.has(m.id)) waiting.get(m.id)(m);
  });
  let next = 1;
  return {
    request: (method, params) => new Promise((resolve) => {
      const id = next++;
      waiting.set(id, resolve);
      child.stdin.write(JSON.stringify({ jsonrpc: '2.0', id, method, params }) + '\n');
    }),
    tool: async function (name, args) {
      return (await this.request('tools/call', { name, arguments: args })).result;
    },
    notify: (method, params) => child.stdin.write(JSON.stringify({ jsonrpc: '2.0', method, params }) + '\n'),
    close: () => new Promise((resolve) => { child.on('exit', resolve); child.stdin.end(); }),
  };
}

test('stdio: a session idle past --session-idle-ms is reported as expired, not unknown', async () => {
  const c = rawClient(['--session-idle-ms', '200']);
  try {
    await c.request('initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '0' } });
    const sid = (await c.tool('create_session', {})).structuredContent.session_id;
    let text = '';
    for (let i = 0; i < 200 && !/expired/.test(text); i++) {
      await new Promise((r) => setTimeout(r, 50));
      text = (await c.tool('list_sessions', {})).content[0].text;  // each message lets the reaper run
      if (text === 'No open sessions.') text = (await c.tool('run_python', { code: '1', session_id: sid })).content[0].text;
    }
    assert.match(text, new RegExp(`Session '${sid}' expired: it was not used for 200 ms`));
  } finally {
    await c.close();
  }
});

test('stdio: one client may hold at most --max-sessions-per-client sessions', async () => {
  const c = rawClient(['--max-sessions', '8', '--max-sessions-per-client', '2']);
  try {
    await c.request('initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '0' } });
    assert.equal((await c.tool('create_session', {})).isError, false);
    assert.equal((await c.tool('create_session', {})).isError, false);
    const third = await c.tool('create_session', {});
    assert.equal(third.isError, true);
    assert.match(third.content[0].text, /you have 2 sessions open, the most one client may have/);
    assert.equal((await c.tool('list_sessions', {})).structuredContent.max_sessions, 2);
  } finally {
    await c.close();
  }
});

test('stdio: past --max-inflight a request is refused at once; ping and cancel are still answered', async () => {
  const c = rawClient(['--max-inflight', '1']);
  try {
    await c.request('initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '0' } });
    c.request('tools/call', { name: 'run_python', arguments: { code: 'while True:\n    pass' } });  // id 2, never answered
    const refused = await c.request('tools/call', { name: 'run_python', arguments: { code: '1' } });
    assert.equal(refused.error.code, -32603);
    assert.match(refused.error.message, /busy: 1 requests are in progress/);
    assert.deepEqual((await c.request('ping', {})).result, {});
    c.notify('notifications/cancelled', { requestId: 2 });
    // The slot is free again once the cancelled run has stopped.
    let r;
    for (let i = 0; i < 200; i++) {
      r = await c.request('tools/call', { name: 'run_python', arguments: { code: '6 * 7' } });
      if (!r.error) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(r.result.structuredContent.value_json, 42);
  } finally {
    await c.close();
  }
});

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

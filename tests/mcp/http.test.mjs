// MCP over streamable HTTP (`pycell serve`, /mcp) with the official SDK
// client, plus the transport's own rules checked with raw requests.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { checkProbe, probes } from './probes.mjs';
import { connectHttp, connectHttpModern, startHttp } from './server.mjs';
import { toolSuite } from './tools.mjs';

let server;
before(async () => { server = await startHttp(); });
after(async () => { assert.equal(await server.stop(), 0, 'clean exit on SIGTERM'); });

toolSuite('http 2025-11-25', async () => {
  const c = await connectHttp(server.url);
  return { client: c.client, close: async () => { await c.transport.terminateSession(); await c.close(); } };
}, '2025-11-25');
toolSuite('http 2026-07-28', () => connectHttpModern(server.url), '2026-07-28');

const initialize = {
  jsonrpc: '2.0', id: 1, method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
};

async function post(body, headers = {}) {
  const res = await fetch(new URL('/mcp', server.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  if (!(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : null };
  }
  // An SSE answer: its messages, the last of which is the response.
  const events = text.split('\n\n').filter((e) => e.includes('data:'))
    .map((e) => JSON.parse(e.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n')));
  return { status: res.status, headers: res.headers, json: events.at(-1), events };
}

async function session() {
  const r = await post(initialize);
  assert.equal(r.status, 200);
  const id = r.headers.get('mcp-session-id');
  assert.match(id, /^mcp-2025-06-18-[0-9a-f]{32}$/);
  return { 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' };
}

test('http: a foreign Origin is refused with 403 (DNS rebinding)', async () => {
  const r = await post(initialize, { origin: 'http://evil.example' });
  assert.equal(r.status, 403);
  assert.match(r.json.error.message, /Origin 'http:\/\/evil.example' is not allowed/);
  await assert.rejects(connectHttp(server.url, { headers: { origin: 'http://evil.example' } }), (e) => e.code === 403);
  const local = await post(initialize, { origin: 'http://localhost:5173' });
  assert.equal(local.status, 200);
});

test('http: a foreign Host is refused with 403', async () => {
  // fetch() will not forge Host, so speak HTTP/1.1 by hand.
  const net = await import('node:net');
  const { hostname, port } = new URL(server.url);
  const reply = await new Promise((resolve, reject) => {
    const sock = net.connect(Number(port), hostname, () => {
      sock.write('GET /v1/health HTTP/1.1\r\nHost: rebound.example:80\r\nConnection: close\r\n\r\n');
    });
    let data = '';
    sock.on('data', (d) => { data += d; });
    sock.on('end', () => resolve(data));
    sock.on('error', reject);
  });
  assert.match(reply, /^HTTP\/1\.1 403/);
  assert.match(reply, /forbidden_host/);
});

test('http: session ids, protocol version and methods follow the transport spec', async () => {
  const noSession = await post({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
  assert.equal(noSession.status, 400);
  const unknown = await post({ jsonrpc: '2.0', id: 2, method: 'tools/list' }, { 'mcp-session-id': 'mcp_nope' });
  assert.equal(unknown.status, 404);

  const h = await session();
  const notified = await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, h);
  assert.equal(notified.status, 202);
  assert.equal(notified.json, null);
  const list = await post({ jsonrpc: '2.0', id: 3, method: 'tools/list' }, h);
  assert.equal(list.status, 200);
  assert.equal(list.headers.get('content-type'), 'application/json');
  assert.equal(list.json.result.tools.length, 9);

  const badVersion = await post({ jsonrpc: '2.0', id: 4, method: 'ping' }, { ...h, 'mcp-protocol-version': '1900-01-01' });
  assert.equal(badVersion.status, 400);
  const parse = await post('{oops', h);
  assert.equal(parse.status, 400);
  assert.equal(parse.json.error.code, -32700);
  const batch = await post([{ jsonrpc: '2.0', id: 5, method: 'ping' }], h);
  assert.equal(batch.status, 400);
  assert.equal(batch.json.error.code, -32600);
  const missing = await post({ jsonrpc: '2.0', id: 6, method: 'no/such' }, h);
  assert.equal(missing.status, 200);
  assert.equal(missing.json.error.code, -32601);

  const get = await fetch(new URL('/mcp', server.url), { headers: { accept: 'text/event-stream', ...h } });
  assert.equal(get.status, 405);

  // The session id holds no state to end (the spec allows 405 for DELETE);
  // it keeps working, however long it idles.
  const del = await fetch(new URL('/mcp', server.url), { method: 'DELETE', headers: h });
  assert.equal(del.status, 405);
  const still = await post({ jsonrpc: '2.0', id: 7, method: 'ping' }, h);
  assert.equal(still.status, 200);
  const current = await post(initialize, { 'mcp-protocol-version': '2025-11-25' });
  assert.equal(current.status, 200);  // the header of the newest legacy revision, even on initialize
});

test('http: sandbox sessions belong to the token holder, not to the MCP session that made them', async () => {
  const h = await session();
  const call = async (headers, id, name, args) => (await post({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } }, headers)).json.result;
  const sid = (await call(h, 2, 'create_session', {})).structuredContent.session_id;
  assert.equal((await call(h, 3, 'run_python', { code: 'x = 41', session_id: sid })).isError, false);
  // A new MCP session (a client that connects per call), then the stateless era.
  const h2 = await session();
  const again = await call(h2, 3, 'run_python', { code: 'x + 1', session_id: sid });
  assert.equal(again.structuredContent.value_json, 42);
  const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} };
  const modern = await post({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { _meta: meta, name: 'close_session', arguments: { session_id: sid } } },
    { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'close_session' });
  assert.equal(modern.status, 200);
  assert.equal(modern.json.result.isError, false);
  const closed = await call(h, 5, 'run_python', { code: '1', session_id: sid });
  assert.match(closed.content[0].text, /was closed/);
});

test('http: the stateless revision checks its headers against the body (2026-07-28)', async () => {
  const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} };
  const headers = { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'run_python' };
  const body = (params, method = 'tools/call') => ({ jsonrpc: '2.0', id: 9, method, params: { _meta: meta, ...params } });
  const ok = await post(body({ name: 'run_python', arguments: { code: '1 + 1' } }), headers);
  assert.equal(ok.status, 200);
  assert.match(ok.headers.get('content-type'), /^text\/event-stream/);  // so that closing it can cancel
  assert.equal(ok.events.length, 1);
  assert.equal(ok.json.result.resultType, 'complete');
  assert.equal(ok.json.result._meta['io.modelcontextprotocol/serverInfo'].name, 'pycell');
  assert.equal(ok.headers.get('mcp-session-id'), null);
  // Mcp-Name as the base64 sentinel.
  const encoded = await post(body({ name: 'run_python', arguments: { code: '2' } }), { ...headers, 'mcp-name': '=?base64?cnVuX3B5dGhvbg==?=' });
  assert.equal(encoded.status, 200);
  for (const [why, h] of [
    ['no Mcp-Method', { ...headers, 'mcp-method': undefined }],
    ['another Mcp-Method', { ...headers, 'mcp-method': 'tools/list' }],
    ['no Mcp-Name', { ...headers, 'mcp-name': undefined }],
    ['another Mcp-Name', { ...headers, 'mcp-name': 'read_file' }],
    ['another version header', { ...headers, 'mcp-protocol-version': '2025-11-25' }],
  ]) {
    const clean = Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined));
    const r = await post(body({ name: 'run_python', arguments: { code: '1' } }), clean);
    assert.equal(r.status, 400, why);
    assert.equal(r.json.error.code, -32020, why);
  }
  const future = { 'io.modelcontextprotocol/protocolVersion': '2099-01-01', 'io.modelcontextprotocol/clientCapabilities': {} };
  const unsupported = await post({ jsonrpc: '2.0', id: 10, method: 'server/discover', params: { _meta: future } },
    { 'mcp-protocol-version': '2099-01-01', 'mcp-method': 'server/discover' });
  assert.equal(unsupported.status, 400);
  assert.equal(unsupported.json.error.code, -32022);
  assert.deepEqual(unsupported.json.error.data.supported, ['2026-07-28', '2025-11-25', '2025-06-18', '2024-11-05']);
  const noCaps = await post({ jsonrpc: '2.0', id: 11, method: 'tools/list', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' } } },
    { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/list' });
  assert.equal(noCaps.status, 400);
  assert.equal(noCaps.json.error.code, -32602);
  const response = await post({ jsonrpc: '2.0', id: 12, result: {} }, headers);
  assert.equal(response.status, 400);  // clients send no responses in 2026-07-28
  const ping = await post(body({}, 'ping'), { ...headers, 'mcp-method': 'ping' });
  assert.equal(ping.status, 404);  // removed in 2026-07-28
  assert.equal(ping.json.error.code, -32601);
  const discover = await post(body({}, 'server/discover'), { ...headers, 'mcp-method': 'server/discover' });
  assert.equal(discover.status, 200);
  assert.ok(discover.json.result.supportedVersions.includes('2026-07-28'));
  assert.equal(typeof discover.json.result.ttlMs, 'number');
  assert.equal(discover.json.result.cacheScope, 'private');
});

test('http: a body over the cap is refused with 413 before it is read', async () => {
  const h = await session();
  const r = await post({ jsonrpc: '2.0', id: 2, method: 'ping', params: { pad: 'x'.repeat(9 << 20) } }, h);
  assert.equal(r.status, 413);
});

test('http: malformed envelopes, type-confused params and deep nesting get exact errors; the server keeps serving', async () => {
  const h = await session();
  for (const p of probes) {
    const r = await post(p.line, h);
    assert.equal(r.status, p.malformed ? 400 : 200, p.line.slice(0, 120));
    checkProbe(assert, p, r.json);
  }
});

test('http: SIGTERM cancels a stateless run without a time limit and exits with status 0', async () => {
  const srv = await startHttp(['--timeout-ms', '0'], []);
  const url = (path) => new URL(path, srv.url);
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  const init = await fetch(url('/mcp'), { method: 'POST', headers, body: JSON.stringify(initialize) });
  const h = { ...headers, 'mcp-session-id': init.headers.get('mcp-session-id'), 'mcp-protocol-version': '2025-06-18' };
  const call = fetch(url('/mcp'), {
    method: 'POST', headers: h,
    body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'run_python', arguments: { code: 'while True: pass' } } }),
  }).then((r) => r.json());
  for (let i = 0; ; i++) {
    const health = await (await fetch(url('/v1/health'))).json();
    if (health.stateless_running === 1) break;
    assert.ok(i < 1000, 'the run never started');
    await new Promise((r) => setTimeout(r, 20));
  }
  const late = new Promise((r) => setTimeout(() => r('still running after 10 s'), 10_000).unref());
  assert.equal(await Promise.race([srv.stop(), late]), 0);  // before the fix: waits for the run, forever
  const reply = await call;
  assert.equal(reply.result.structuredContent.exit_reason, 'cancelled');
});

test('http: run_python accepts top-level await', async () => {
  const h = await session();
  const r = await post({ jsonrpc: '2.0', id: 2, method: 'tools/call',
    params: { name: 'run_python', arguments: { code: 'import asyncio\nawait asyncio.sleep(0, 42)' } } }, h);
  assert.equal(r.status, 200);
  assert.equal(r.json.result.isError, false, JSON.stringify(r.json));
  assert.equal(r.json.result.structuredContent.value_repr, '42');
});

test('http: a 2026-07-28 client that closes the response stream cancels the run', async () => {
  const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} };
  const call = (name, args, signal) => fetch(new URL('/mcp', server.url), {
    method: 'POST', signal,
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': name },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { _meta: meta, name, arguments: args } }),
  });
  const result = async (res) => JSON.parse((await res.text()).split('\n').find((l) => l.startsWith('data:')).slice(5)).result;
  const sid = (await result(await call('create_session', {}))).structuredContent.session_id;
  await result(await call('run_python', { session_id: sid, code: 'x = 1' }));
  const abort = new AbortController();
  const res = await call('run_python', { session_id: sid, code: 'while True:\n    pass' }, abort.signal);
  assert.equal(res.status, 200);  // the stream is open: the run is under way
  abort.abort();
  // Stopped by the disconnect (not by the 2 s limit): the session rolled back.
  const after = await result(await call('run_python', { session_id: sid, code: '"x" in globals()' }));
  assert.equal(after.structuredContent.value_json, false);
  await result(await call('close_session', { session_id: sid }));
});

// The MCP Inspector's CLI (npm @modelcontextprotocol/inspector, pinned in
// package-lock.json), run as a user runs it: one process per call, over
// stdio and streamable HTTP, in the legacy (initialize) and modern
// (2026-07-28) eras. A process per call is also what many agent frameworks
// do, so a sandbox session must outlive the connection that made it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { mcpArgs, startHttp } from './server.mjs';

const run = promisify(execFile);
const inspector = new URL('./node_modules/.bin/mcp-inspector', import.meta.url).pathname;
const bin = process.env.PYCELL_SERVER;

/** One Inspector CLI call; resolves with its JSON result. */
async function cli(target, era, method, extra = []) {
  const { stdout } = await run(inspector,
    ['--cli', '-q', '--format', 'json', '--protocol-era', era, ...target, '--method', method, ...extra],
    { timeout: 60_000, maxBuffer: 16 << 20 });
  return JSON.parse(stdout);
}

const callTool = (target, era, name, args) =>
  cli(target, era, 'tools/call', ['--tool-name', name, '--tool-args-json', JSON.stringify(args)]);

let server;
before(async () => { server = await startHttp(); });
after(async () => { assert.equal(await server.stop(), 0); });

for (const era of ['legacy', 'modern']) {
  const stdio = () => [bin, ...mcpArgs];
  const http = () => ['--transport', 'http', '--server-url', new URL('/mcp', server.url).href];
  for (const [name, target] of [['stdio', stdio], ['http', http]]) {
    test(`inspector ${name} ${era}: tools/list and run_python`, async () => {
      const listed = await cli(target(), era, 'tools/list');
      const tools = listed.result.tools;
      assert.ok(tools.some((t) => t.name === 'run_python'));
      const r = await callTool(target(), era, 'run_python', { code: 'print("hi")\nsorted(v)', variables: { v: [3, 1, 2] } });
      const { result } = r;
      assert.equal(result.isError, false, JSON.stringify(result));
      assert.deepEqual(result.structuredContent.value_json, [1, 2, 3]);
      assert.equal(result.structuredContent.stdout, 'hi\n');
      if (era === 'modern') assert.equal(result._meta['io.modelcontextprotocol/serverInfo'].name, 'pycell');
    });
  }

  test(`inspector http ${era}: a session made by one call is used by the next`, async () => {
    const created = await callTool(http(), era, 'create_session', {});
    const sid = created.result.structuredContent.session_id;
    await callTool(http(), era, 'write_file', { session_id: sid, path: 'n.txt', content: '41' });
    const r = await callTool(http(), era, 'run_python', { session_id: sid, code: 'int(open("/tmp/n.txt").read()) + 1' });
    assert.equal(r.result.structuredContent.value_json, 42, JSON.stringify(r));
    const closed = await callTool(http(), era, 'close_session', { session_id: sid });
    assert.equal(closed.result.isError, false);
  });
}

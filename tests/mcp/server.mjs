// Starts the pycell server under test and connects the official MCP SDK client.
// The server command comes from the environment, so switching from the dev
// driver to `pycell mcp` / `pycell serve` is one line in tests/server/CMakeLists.txt:
//   PYCELL_SERVER     the executable (required)
//   PYCELL_MCP_ARGS   arguments for the stdio server, space-separated (default "mcp")
//   PYCELL_SERVE_ARGS arguments for the HTTP server, space-separated (default "serve")
import { spawn } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
// SDK v2, the first to speak the stateless revision 2026-07-28 (and, by
// probing with server/discover, fall back to the legacy handshake).
import { Client as ClientV2, StreamableHTTPClientTransport as StreamableHTTPClientTransportV2 } from '@modelcontextprotocol/client';
import { StdioClientTransport as StdioClientTransportV2 } from '@modelcontextprotocol/client/stdio';

const bin = process.env.PYCELL_SERVER;
if (!bin) throw new Error('set PYCELL_SERVER to the pycell executable');
const words = (s) => s.split(/\s+/).filter(Boolean);
export const mcpArgs = words(process.env.PYCELL_MCP_ARGS ?? 'mcp');
const serveArgs = words(process.env.PYCELL_SERVE_ARGS ?? 'serve');

/** Options every test server gets: a short time limit so the limit test is quick. */
export const TIMEOUT_MS = 2000;
const common = ['--timeout-ms', String(TIMEOUT_MS), '--max-sessions', '4'];

/** A client connected to `pycell mcp` over stdio. */
export async function connectStdio(extra = []) {
  const transport = new StdioClientTransport({ command: bin, args: [...mcpArgs, ...common, ...extra], stderr: 'inherit' });
  const client = new Client({ name: 'pycell-tests', version: '1.0.0' });
  await client.connect(transport);
  return { client, close: () => client.close() };
}

/** A v2 SDK client over stdio; `mode` 'auto' probes and speaks 2026-07-28 with pycell. */
export async function connectStdioModern(extra = [], mode = 'auto') {
  const transport = new StdioClientTransportV2({ command: bin, args: [...mcpArgs, ...common, ...extra], stderr: 'inherit' });
  const client = new ClientV2({ name: 'pycell-tests-v2', version: '1.0.0' }, { versionNegotiation: { mode } });
  await client.connect(transport);
  return { client, close: () => client.close() };
}

/** A v2 SDK client connected to a running HTTP server's /mcp. */
export async function connectHttpModern(url, mode = 'auto', requestInit = {}) {
  const transport = new StreamableHTTPClientTransportV2(new URL('/mcp', url), { requestInit });
  const client = new ClientV2({ name: 'pycell-tests-v2', version: '1.0.0' }, { versionNegotiation: { mode } });
  await client.connect(transport);
  return { client, transport, close: () => client.close() };
}

/** Starts `pycell serve` on a free port; resolves with its base URL once it listens. */
export function startHttp(extra = [], base = common) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [...serveArgs, ...base, '--port', '0', ...extra], { stdio: ['ignore', 'inherit', 'pipe'] });
    let log = '';
    const timer = setTimeout(() => { child.kill(); reject(new Error(`server did not start:\n${log}`)); }, 60_000);
    child.stderr.on('data', (chunk) => {
      log += chunk;
      process.stderr.write(chunk);
      const m = /listening on (http:\/\/\S+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], stop: () => stop(child) });
      }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited with ${code}:\n${log}`)); });
  });
}

function stop(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.removeAllListeners('exit');
    child.on('exit', (code, signal) => resolve(code ?? signal));
    child.kill('SIGTERM');
  });
}

/** A client connected to a running HTTP server's /mcp. */
export async function connectHttp(url, requestInit = {}) {
  const transport = new StreamableHTTPClientTransport(new URL('/mcp', url), { requestInit });
  const client = new Client({ name: 'pycell-tests', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport, close: () => client.close() };
}

/** The text of a tool result's content. */
export function text(result) {
  return result.content.filter((c) => c.type === 'text').map((c) => c.text).join('\n');
}

// Hostile JSON-RPC messages and the exact answers MCP and JSON-RPC 2.0 ask
// for, shared by the stdio and HTTP tests (each sends them after initialize).
// Before issue 9 the first one aborted `pycell mcp` (an uncaught type_error).

const deep = (n) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);

/**
 * Each probe: the raw line, the expected reply (null: none), and whether it is
 * malformed as a message (HTTP answers those with 400, requests' own errors
 * with 200).
 */
export const probes = [
  { line: '{"jsonrpc":2,"id":5,"method":"ping"}', code: -32600, id: 5, malformed: true },
  { line: '{"jsonrpc":"2.0","id":6,"method":7}', code: -32600, id: 6, malformed: true },
  { line: '{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}', code: -32600, id: null, malformed: true },
  { line: '{"jsonrpc":"2.0","id":null,"method":"ping"}', code: -32600, id: null, malformed: true },
  { line: '{"jsonrpc":"2.0","id":[7],"method":"ping"}', code: -32600, id: null, malformed: true },
  { line: '{"jsonrpc":"1.0","id":"s","method":"ping"}', code: -32600, id: 's', malformed: true },
  { line: '{"id":8,"method":"ping"}', code: -32600, id: 8, malformed: true },
  { line: '{"jsonrpc":"2.0","id":9,"method":null}', code: -32600, id: 9, malformed: true },
  { line: '{"jsonrpc":"2.0","id":9.5,"method":"ping"}', result: {}, id: 9.5 },
  { line: '{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"name":5}}', code: -32602, id: 10 },
  { line: '{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"run_python","arguments":"x"}}', code: -32602, id: 11 },
    // Arguments that do not fit the tool's schema: a tool error (2025-11-25).
  { line: '{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":"run_python","arguments":{"code":"1","session_id":5}}}', isError: true, id: 12 },
  { line: '{"jsonrpc":"2.0","id":13,"method":"ping","params":[1]}', code: -32602, id: 13 },
  { line: '{"jsonrpc":"2.0","id":14,"method":"initialize","params":{"protocolVersion":5}}', code: -32602, id: 14 },
  { line: '{"jsonrpc":"2.0","id":15,"method":"tools/list","params":{"cursor":5,"_meta":7}}', tools: 9, id: 15 },
  // 150,000 levels: parsed iteratively, then copied recursively: a segfault.
  { line: `{"jsonrpc":"2.0","id":16,"method":"tools/call","params":{"name":"run_python","arguments":${deep(150000)}}}`,
    code: -32700, id: null, malformed: true, message: 'parse error: nested deeper than 256 levels' },
  { line: `{"jsonrpc":"2.0","id":17,"method":"${'m'.repeat(100000)}"}`, code: -32601, id: 17, shortMessage: true },
  { line: '{"jsonrpc":"2.0","method":5}', code: -32600, id: null, malformed: true },
  { line: '{"jsonrpc":"2.0","id":18,"method":"ping"}', result: {}, id: 18 },
];

/** Asserts that `reply` is what `probe` expects. */
export function checkProbe(assert, probe, reply) {
  const what = probe.line.slice(0, 120);
  assert.equal(reply.jsonrpc, '2.0', what);
  assert.deepEqual(reply.id, probe.id, what);
  if (probe.code !== undefined) {
    assert.equal(reply.error?.code, probe.code, what);
    if (probe.message) assert.equal(reply.error.message, probe.message, what);
    if (probe.shortMessage) assert.ok(reply.error.message.length < 400, what);
  } else if (probe.isError !== undefined) {
    assert.equal(reply.result.isError, probe.isError, what);
  } else if (probe.tools !== undefined) {
    assert.equal(reply.result.tools.length, probe.tools, what);
  } else {
    assert.deepEqual(reply.result, probe.result, what);
  }
}

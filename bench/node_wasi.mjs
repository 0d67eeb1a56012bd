// Runs a WASI preview1 command module (CPython's python.wasm) under Node's node:wasi, as the
// "node-wasi" baseline of bench/run.py.
//
// usage: node --no-warnings node_wasi.mjs MODULE.wasm [--dir PATH]... [--env K=V]... -- ARGV...
// Each --dir is preopened at the same absolute path in the guest, so host paths (script
// files, PYTHONPATH entries) need no translation. ARGV is the guest argv, argv[0] included:
// CPython derives its build-tree prefix from an absolute argv[0].
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';

const usage = 'usage: node_wasi.mjs MODULE.wasm [--dir PATH]... [--env K=V]... -- ARGV...';
const argv = process.argv.slice(2);
const modulePath = argv.shift();
if (!modulePath) {
  console.error(usage);
  process.exit(2);
}
const preopens = {};
const env = {};
let guestArgs = null;
while (argv.length) {
  const flag = argv.shift();
  if (flag === '--') {
    guestArgs = argv.splice(0);
  } else if (flag === '--dir' && argv.length) {
    const dir = argv.shift();
    preopens[dir] = dir;
  } else if (flag === '--env' && argv.length) {
    const kv = argv.shift();
    const eq = kv.indexOf('=');
    if (eq < 1) {
      console.error(`node_wasi.mjs: bad --env ${kv}`);
      process.exit(2);
    }
    env[kv.slice(0, eq)] = kv.slice(eq + 1);
  } else {
    console.error(`node_wasi.mjs: unexpected argument ${flag}\n${usage}`);
    process.exit(2);
  }
}
if (!guestArgs || guestArgs.length === 0) guestArgs = [modulePath];

// returnOnExit turns proc_exit into a return value instead of killing node mid-flush.
const wasi = new WASI({ version: 'preview1', args: guestArgs, env, preopens, returnOnExit: true });
const module = await WebAssembly.compile(await readFile(modulePath));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);

// Pyodide from npm, for bench/packages/run.py: times a fresh interpreter
// (loadPyodide, then 1+1) inside this process, and says for each package
// whether the npm package holds its wheel, i.e. whether it loads offline.
// Prints one JSON object.
//
//   node probe.mjs PACKAGE...
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import { loadPyodide } from "pyodide";

const dir = dirname(createRequire(import.meta.url).resolve("pyodide"));
const lock = JSON.parse(readFileSync(join(dir, "pyodide-lock.json"), "utf8"));
const t0 = performance.now();
const py = await loadPyodide();
const value = py.runPython("1+1");
const freshMs = performance.now() - t0;
const packages = {};
for (const name of process.argv.slice(2)) {
  const entry = lock.packages[name];
  packages[name] = entry
    ? { version: entry.version, wheel: entry.file_name, in_npm_package: existsSync(join(dir, entry.file_name)) }
    : { version: null, wheel: null, in_npm_package: false };
}
console.log(JSON.stringify({
  pyodide: JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version,
  python: lock.info.python,
  fresh_interpreter_ms: freshMs,
  value,
  packages,
}));

#!/usr/bin/env python3
"""Guest packages benchmark (issue 11): pycell against native CPython with the
same package versions from PyPI, side by side in one run, as one markdown table.

    python3 bench/packages/run.py --setup     # once: the native venv, Pyodide from npm
    python3 bench/packages/run.py [--reps N] [--pycell build/pycell] [--markdown-out FILE]

Rows: `import MODULE` in a fresh interpreter; a fresh session (pycell) or
process (native) with MODULE ready running a small kernel; the kernel set of
kernels.py. Repetitions are interleaved across runtimes; cells are medians.
Packages the guest lacks (pandas until it is built in) show as "n/a".
Timings are reported, never asserted: the exit status says whether every run
succeeded and every runtime computed the same values.
"""

import argparse
import datetime
import hashlib
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PYODIDE_DIR = HERE.parent / "pyodide"
KERNELS = HERE / "kernels.py"
REQUIREMENTS = HERE / "requirements.txt"

# Per package: a small kernel for the fresh-session row. pandas runs when the
# guest has it (and requirements.txt pins it for the native venv).
SMALL_KERNEL = {
    "numpy": "import numpy as np\nfloat((np.arange(1000.0) ** 2).sum())",
    "pandas": ("import numpy as np, pandas as pd\n"
               "df = pd.DataFrame({'k': np.arange(100_000) % 100, 'v': np.arange(100_000.0)})\n"
               "float(df.groupby('k')['v'].mean().sum())"),
}
PACKAGES = tuple(SMALL_KERNEL)


def cache_dir():
    return Path(os.environ.get("PYCELL_CACHE") or Path.home() / ".cache" / "pycell")


def native_python():
    """The native build-python of the guest's CPython source (guest/build-cpython.sh)."""
    out = subprocess.run(["bash", str(REPO / "guest" / "build-cpython.sh")], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("bench/packages: guest/build-cpython.sh failed (the native build-python is needed):\n" + out.stderr[-2000:])
    exe = Path(out.stdout.split()[1]) / "python"
    if not os.access(exe, os.X_OK):
        sys.exit(f"bench/packages: no native build-python at {exe}")
    return exe


def venv_dir(python):
    key = hashlib.sha256(REQUIREMENTS.read_bytes() + str(python).encode()).hexdigest()[:16]
    return cache_dir() / f"bench-packages-venv-{key}"


def setup():
    python = native_python()
    venv = venv_dir(python)
    if not (venv / "bin" / "python").exists():
        tmp = venv.with_name(venv.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.run([str(python), "-m", "venv", str(tmp)], check=True)
        subprocess.run([str(tmp / "bin" / "pip"), "install", "--disable-pip-version-check", "--require-hashes",
                        "--only-binary", ":all:", "-r", str(REQUIREMENTS)], check=True)
        tmp.rename(venv)
    print(f"native venv: {venv}")
    npm = shutil.which("npm")
    if npm:
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=PYODIDE_DIR, check=True)
        print(f"pyodide: {PYODIDE_DIR / 'node_modules' / 'pyodide'}")
    else:
        print("pyodide: skipped (no npm on PATH)")


def run(argv, env=None, timeout=600):
    """(seconds, stdout) of a process that must succeed."""
    t0 = time.perf_counter()
    p = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout, stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))[:200]}: status {p.returncode}\n{p.stderr[-2000:]}")
    return elapsed, p.stdout


class Native:
    """The native venv's python, as is (OpenBLAS one thread, since the guest has no
    threads) or without numpy's runtime SIMD dispatch (NPY_DISABLE_CPU_FEATURES: every
    dispatched target off, the build's baseline left), closer to the guest's build."""

    def __init__(self, python, no_dispatch):
        self.python = str(python)
        self.env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
        if no_dispatch:
            targets = run([self.python, "-c", "from numpy._core._multiarray_umath import __cpu_dispatch__ as d; "
                                              "print(' '.join(d))"], self.env)[1].strip()
            self.env["NPY_DISABLE_CPU_FEATURES"] = targets
            self.dispatch_off = targets

    def has(self, module):
        return subprocess.run([self.python, "-c", f"import {module}"], capture_output=True, env=self.env).returncode == 0

    def import_s(self, module):
        code = f"import time\nt = time.perf_counter()\nimport {module}\nprint(time.perf_counter() - t)"
        return float(run([self.python, "-c", code], self.env)[1])

    def fresh_kernel_s(self, module):
        return run([self.python, "-c", SMALL_KERNEL[module]], self.env)[0]

    def kernels(self, modules):
        return json.loads(run([self.python, str(KERNELS), *modules], self.env)[1])


class Pycell:
    def __init__(self, exe):
        self.exe = str(exe)
        self.fresh_bench = str(Path(exe).parent / "pycell_fresh_session_bench")

    def has(self, module):
        return subprocess.run([self.exe, "exec", "-c", f"import {module}"], capture_output=True).returncode == 0

    def fresh(self, code, preload=(), runs=10):
        argv = [self.fresh_bench, "--runs", str(runs), "--code", code]
        for m in preload:
            argv += ["--preload", m]
        return json.loads(run(argv)[1])

    def import_s(self, module):
        return self.fresh(f"import {module}")["exec_us"] / 1e6

    def fresh_kernel_s(self, module, preload):
        return self.fresh(SMALL_KERNEL[module], (module,) if preload else ())["total_us"] / 1e6

    def process_s(self, module):
        return run([self.exe, "--timeout-ms", "0", "exec", "-c", SMALL_KERNEL[module]])[0]

    def kernels(self, modules):
        return json.loads(run([self.exe, "--timeout-ms", "0", "run", str(KERNELS), *modules])[1])


def pyodide_probe(packages):
    node = shutil.which("node")
    probe = PYODIDE_DIR / "probe.mjs"
    if not node or not (PYODIDE_DIR / "node_modules" / "pyodide").is_dir():
        return None
    return json.loads(run([node, str(probe), *packages], timeout=300)[1])


def fmt_s(s):
    if s is None:
        return "n/a"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    return f"{s * 1e6:.0f} µs"


def ratio(a, b):
    if a is None or not b:
        return ""
    return f"{a / b:.2f}x" if a / b >= 0.1 else f"{a / b:.4f}x"


def same(a, b):
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def machine():
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{cpu}, {os.cpu_count()} cores, Linux {platform.release()}, load average {load}, "
            f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--setup", action="store_true", help="create the native venv and install Pyodide, then exit")
    ap.add_argument("--reps", type=int, default=5, help="interleaved repetitions (default 5)")
    ap.add_argument("--pycell", default=str(REPO / "build" / "pycell"))
    ap.add_argument("--markdown-out")
    args = ap.parse_args()
    if args.setup:
        setup()
        return 0

    python = venv_dir(native_python()) / "bin" / "python"
    if not python.exists():
        sys.exit(f"bench/packages: no native venv at {python.parent.parent}; run: python3 {sys.argv[0]} --setup")
    native, plain = Native(python, no_dispatch=False), Native(python, no_dispatch=True)
    pycell = Pycell(args.pycell)
    if not Path(pycell.fresh_bench).exists():
        sys.exit(f"bench/packages: {pycell.fresh_bench} is missing (ninja -C build pycell_fresh_session_bench)")

    active = [m for m in PACKAGES if pycell.has(m) and native.has(m)]
    skipped = {m: ("guest" if not pycell.has(m) else "native venv") for m in PACKAGES if m not in active}
    print(f"packages: {', '.join(active)}; not measured: "
          + (", ".join(f"{m} (not in the {where})" for m, where in skipped.items()) or "none"), file=sys.stderr)

    # Every measurement, run once per repetition and runtime, interleaved.
    measures = {}
    for m in active:
        measures[("import", m)] = {"pycell": lambda m=m: pycell.import_s(m), "native": lambda m=m: native.import_s(m)}
        measures[("fresh-preloaded", m)] = {"pycell": lambda m=m: pycell.fresh_kernel_s(m, True),
                                            "native": lambda m=m: native.fresh_kernel_s(m)}
        measures[("fresh-import", m)] = {"pycell": lambda m=m: pycell.fresh_kernel_s(m, False),
                                         "native": lambda m=m: native.fresh_kernel_s(m)}
        measures[("process", m)] = {"pycell": lambda m=m: pycell.process_s(m),
                                    "native": lambda m=m: native.fresh_kernel_s(m)}
    measures[("fresh", "1+1")] = {"pycell": lambda: pycell.fresh("1+1")["total_us"] / 1e6,
                                  "native": lambda: run([str(python), "-c", "1+1"])[0]}
    kernel_runs = {"pycell": [], "native": [], "native-nodispatch": []}
    samples = {key: {rt: [] for rt in fns} for key, fns in measures.items()}
    for rep in range(args.reps):
        for key, fns in measures.items():
            for rt, fn in fns.items():
                samples[key][rt].append(fn())
        for rt, r in (("pycell", pycell), ("native", native), ("native-nodispatch", plain)):
            kernel_runs[rt].append(r.kernels(active))
        print(f"repetition {rep + 1}/{args.reps} done", file=sys.stderr)
    med = {key: {rt: statistics.median(v) for rt, v in s.items()} for key, s in samples.items()}

    failures = []
    reference = kernel_runs["native"][0]
    for rt, runs in kernel_runs.items():
        for r in runs:
            for name, value in reference["check"].items():
                if not same(r["check"][name], value):
                    failures.append(f"{rt}: {name} computed {r['check'][name]!r}, native {value!r}")
            if r["versions"] != reference["versions"]:
                failures.append(f"{rt}: versions {r['versions']} differ from native's {reference['versions']}")

    probe = None
    try:
        probe = pyodide_probe(list(PACKAGES))
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        print(f"pyodide: probe failed: {e}", file=sys.stderr)

    guest_python = run([pycell.exe, "exec", "-c", "import sys; print(sys.version.split()[0])"])[1].strip()
    native_version = run([str(python), "-c", "import sys; print(sys.version.split()[0])"])[1].strip()
    versions = ", ".join(f"{m} {v}" for m, v in reference["versions"].items())
    out = [f"Machine: {machine()}. {args.reps} interleaved repetitions; medians.",
           f"pycell: {pycell.exe} (CPython {guest_python} in wasm2c, fuel on, {versions} built into the guest: "
           "no BLAS, no SIMD, no threads).",
           f"native: CPython {native_version} (the native build-python of the guest's source), {versions} "
           "wheels from PyPI (OpenBLAS, one thread); native-nodispatch: the same with NPY_DISABLE_CPU_FEATURES="
           f"\"{plain.dispatch_off}\" (numpy's baseline SIMD only).",
           ""]
    out += ["| start-up | pycell | native | pycell/native |", "|---|---:|---:|---:|"]
    rows = [(("fresh", "1+1"), "fresh session (pycell) / process (native) → `1+1`")]
    for m in active:
        rows += [(("import", m), f"`import {m}` in a fresh interpreter (in-interpreter time)"),
                 (("fresh-preloaded", m), f"fresh session with {m} preloaded → small kernel / native process "
                                          f"`import {m}` + kernel"),
                 (("fresh-import", m), f"fresh session, {m} not preloaded → `import {m}` + kernel / native process"),
                 (("process", m), f"`pycell exec -c` / `python -c`: `import {m}` + kernel, whole process")]
    for key, label in rows:
        p, n = med[key]["pycell"], med[key]["native"]
        out.append(f"| {label} | {fmt_s(p)} | {fmt_s(n)} | {ratio(p, n)} |")
    for m, where in skipped.items():
        out.append(f"| `import {m}`, fresh session with {m} preloaded | n/a | n/a | not in the {where} |")
    out += ["", "| kernel (per call) | pycell | native | native-nodispatch | pycell/native | pycell/native-nodispatch |",
            "|---|---:|---:|---:|---:|---:|"]
    names = list(reference["seconds"])
    kmed = {rt: {k: statistics.median(r["seconds"][k] for r in runs) for k in names} for rt, runs in kernel_runs.items()}
    for k in names:
        p, n, nd = kmed["pycell"][k], kmed["native"][k], kmed["native-nodispatch"][k]
        out.append(f"| {k} | {fmt_s(p)} | {fmt_s(n)} | {fmt_s(nd)} | {ratio(p, n)} | {ratio(p, nd)} |")
    geo = lambda rt: math.exp(statistics.fmean(math.log(kmed["pycell"][k] / kmed[rt][k]) for k in names))
    out.append(f"| geomean | | | | {geo('native'):.2f}x | {geo('native-nodispatch'):.2f}x |")
    if probe:
        offline = [m for m, p in probe["packages"].items() if p["in_npm_package"]]
        lacking = ", ".join(f"{m} {p['version']} ({p['wheel']})" for m, p in probe["packages"].items()
                            if not p["in_npm_package"])
        out += ["", f"Pyodide {probe['pyodide']} (npm, CPython {probe['python']}): a fresh interpreter "
                    f"(`loadPyodide()` → `1+1`, inside a running node) took {probe['fresh_interpreter_ms']:.0f} ms "
                    f"in this run. " + (f"Not in the npm package, so not loadable offline: {lacking}; no Pyodide "
                                        "column." if lacking else f"Loadable offline: {', '.join(offline)}.")]
    else:
        out += ["", "Pyodide: not installed (run --setup with npm on PATH)."]
    table = "\n".join(out) + "\n"
    print(table)
    if args.markdown_out:
        Path(args.markdown_out).write_text(table)
    for f in failures:
        print("MISMATCH " + f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

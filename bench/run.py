#!/usr/bin/env python3
"""One-command benchmark: pycell vs native CPython vs Node's WASI, as one markdown table.

    python3 bench/run.py [--reps N] [--only NAME,...] [--runtimes native,node-wasi,pycell]
                         [--pycell PATH] [--markdown-out FILE] [--scale F]

Timings are reported, never asserted: the exit status only says whether every run
succeeded and every runtime printed the same checksum.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
CPU_DIR = BENCH_DIR / "cpu"
ALL_RUNTIMES = ("native", "node-wasi", "pycell", "pycell-nofuel")
STARTUP = "startup"
STARTUP_MIN_REPS = 20


@dataclass
class Runtime:
    name: str
    # Why the runtime cannot run at all (binary not built yet, ...); None when usable.
    missing: str | None = None
    prefix: list[str] = field(default_factory=list)
    describe: str = ""
    # argv tails; the Python code/file goes last so every runtime sees the same program.
    code_args: list[str] = field(default_factory=list)
    file_args: list[str] = field(default_factory=list)

    def argv_code(self, code):
        return self.prefix + self.code_args + [code]

    def argv_file(self, path, args):
        return self.prefix + self.file_args + [str(path)] + args


@dataclass
class Result:
    times: list[float] = field(default_factory=list)
    stdout: str | None = None
    failure: str | None = None
    mismatch: bool = False


def cpython_builds():
    """(src, native build dir, wasi build dir) of the pinned CPython, from the
    project's own build script (instant when already built), or None."""
    script = BENCH_DIR.parent / "guest" / "build-cpython.sh"
    out = subprocess.run(["bash", str(script)], capture_output=True, text=True)
    if out.returncode != 0:
        return None
    return [Path(p) for p in out.stdout.split()]


def find_native(builds):
    exe = builds[1] / "python" if builds else None
    if not exe or not os.access(exe, os.X_OK):
        return Runtime("native", missing="native build-python not built (guest/build-cpython.sh)")
    # -I -S: no user site, env vars or site-packages, so only the interpreter is measured.
    return Runtime("native", prefix=[str(exe), "-I", "-S"], describe=str(exe),
                   code_args=["-c"])


def find_node_wasi(node, builds):
    wasm = builds[2] / "python.wasm" if builds else None
    if not wasm or not wasm.is_file():
        return Runtime("node-wasi", missing="python.wasm not built (guest/build-cpython.sh)")
    node_exe = shutil.which(node)
    if not node_exe:
        return Runtime("node-wasi", missing=f"no {node} on PATH")
    src, build = builds[0].resolve(), builds[2].resolve()
    # Source tree (Lib), build tree (_sysconfigdata, pybuilddir.txt) and bench files are all
    # preopened at their host paths. The absolute argv[0] lets CPython's getpath find the
    # build tree and, through its VPATH, the source Lib, exactly as native/python does.
    prefix = [node_exe, "--no-warnings", str(BENCH_DIR / "node_wasi.mjs"), str(wasm)]
    for d in sorted({src, build, BENCH_DIR}):
        prefix += ["--dir", str(d)]
    prefix += ["--", str(wasm), "-I", "-S"]
    version = subprocess.run([node_exe, "--version"], capture_output=True, text=True).stdout
    return Runtime("node-wasi", prefix=prefix, describe=f"node {version.strip()} + {wasm}",
                   code_args=["-c"])


def find_pycell(path, name="pycell"):
    exe = Path(path)
    if not os.access(exe, os.X_OK) or exe.is_dir():
        hint = " (bench/build-nofuel.sh builds it)" if name == "pycell-nofuel" else ""
        return Runtime(name, missing=f"no {exe}{hint}")
    # No wall-clock limit: the CPU set runs for seconds by design.
    return Runtime(name, prefix=[str(exe), "--timeout-ms", "0"], describe=str(exe),
                   code_args=["exec", "-c"], file_args=["run"])


def session_metrics(native, bench_exe, quick):
    """Issue 3's session figures from bench/session_bench.cc, beside native references."""
    if not bench_exe.is_file():
        return f"(sessions: {bench_exe} missing)\n"
    out = subprocess.run([str(bench_exe)] + (["--quick"] if quick else []), capture_output=True, text=True)
    if out.returncode != 0:
        return f"(sessions: session_bench failed: {out.stderr.strip()[-500:]})\n"
    m = json.loads(out.stdout)
    proc = []
    for _ in range(20):  # a native process computing 1+1, the reference
        t0 = time.perf_counter()
        subprocess.run(native.prefix + ["-c", "1+1"], check=True, capture_output=True)
        proc.append((time.perf_counter() - t0) * 1e6)
    native_proc = statistics.median(proc)
    exec_us = float(subprocess.run(native.prefix + ["-c", (
        "import timeit; print(min(timeit.repeat('exec(\"1+1\", g)', 'g = {}', number=20000, repeat=7))"
        " / 20000 * 1e6)")], check=True, capture_output=True, text=True).stdout)
    rows = [
        ("fresh session -> 1+1, p50 / p99", f"{m['fresh_1plus1_us']['p50']:.0f} / {m['fresh_1plus1_us']['p99']:.0f} µs",
         f"{native_proc:.0f} µs (process)", f"{m['fresh_1plus1_us']['p50'] / native_proc:.3f}x", "<= 0.02x"),
        ("  of which Session::create, p50", f"{m['create_only_us']['p50']:.0f} µs", "", "", ""),
        ("pooled session -> 1+1, p50 / p99", f"{m['pooled_1plus1_us']['p50']:.0f} / {m['pooled_1plus1_us']['p99']:.0f} µs",
         f"{native_proc:.0f} µs (process)", f"{m['pooled_1plus1_us']['p50'] / native_proc:.3f}x", ""),
        ("private pages of a fresh session after 1+1 (Anonymous)", f"{m['fresh_dirty_pages']:.0f}", "", "",
         "<= 100"),
        ("trivial exec in a live session, p50", f"{m['live_exec_us']['p50']:.1f} µs",
         f"{exec_us:.1f} µs (exec())", f"{m['live_exec_us']['p50'] / exec_us:.2f}x", "<= 1.5x"),
        ("private memory per idle session (Anonymous / Private_Dirty)",
         f"{m['idle_private_kib']:.0f} / {m['idle_private_dirty_kib']:.0f} KiB", "", "", "<= 512 KiB"),
        ("sessions per GiB", f"{m['sessions_per_gib']:.0f}", "", "", ">= 2000"),
        ("timeout overshoot p99 (1 s limit), Python loop",
         f"{m['timeout_overshoot_ms']['python_p99']:.1f} ms", "", "", "<= 10 ms"),
        ("timeout overshoot p99 (1 s limit), regex in C",
         f"{m['timeout_overshoot_ms']['regex_p99']:.1f} ms", "", "", "<= 10 ms"),
    ]
    lines = ["| session metric | pycell | native | ratio | target |", "|---|---:|---:|---:|---|"]
    lines += [f"| {a} | {b} | {c} | {d} | {e} |" for a, b, c, d, e in rows]
    return "\n".join(lines) + "\n"


def discover_workloads():
    return sorted(p.stem for p in CPU_DIR.glob("*.py"))


def tail(text, lines=8):
    return "\n".join(text.rstrip().splitlines()[-lines:])


def run_once(argv, timeout):
    start = time.perf_counter()
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, errors="replace", timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, None, f"timed out after {timeout}s"
    except OSError as e:
        return None, None, f"could not start: {e}"
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        return None, None, f"exit status {proc.returncode}; stderr tail:\n{tail(proc.stderr)}"
    return elapsed, proc.stdout, None


def progress(msg):
    # A terminal gets one self-overwriting line; a log file gets every line.
    end = "\r\033[K" if sys.stderr.isatty() else "\n"
    print(msg, end=end, file=sys.stderr, flush=True)


def run_benchmark(name, runtimes, reps, timeout, scale):
    """Round-robin the repetitions so machine noise lands on every runtime alike."""
    results = {rt.name: Result() for rt in runtimes}
    if name == STARTUP:
        argvs = {rt.name: rt.argv_code("pass") for rt in runtimes}
        # One untimed run each, so the first timed run does not pay for a cold page cache.
        for rt in runtimes:
            run_once(argvs[rt.name], timeout)
    else:
        args = [repr(scale)] if scale != 1.0 else []
        argvs = {rt.name: rt.argv_file(CPU_DIR / f"{name}.py", args) for rt in runtimes}
    for rep in range(reps):
        for rt in runtimes:
            res = results[rt.name]
            if res.failure:
                continue  # One failure already disqualifies this cell; don't waste time.
            elapsed, out, failure = run_once(argvs[rt.name], timeout)
            progress(f"{name} [{rep + 1}/{reps}] {rt.name}: "
                     + ("FAILED" if failure else f"{elapsed:.3f}s"))
            if failure:
                res.failure = failure
                continue
            if res.stdout is not None and out != res.stdout:
                res.failure = (f"output changed between repetitions:\n"
                               f"  before: {tail(res.stdout, 2)!r}\n  now: {tail(out, 2)!r}")
                continue
            res.stdout = out
            res.times.append(elapsed)
    check_outputs(name, results)
    return results


def check_outputs(name, results):
    # The reference is native when it ran, else the first runtime that did.
    ok = [(rt, r) for rt, r in results.items() if not r.failure]
    if len(ok) < 2:
        return
    ref_name, ref = ok[0]
    for rt, r in ok[1:]:
        if r.stdout != ref.stdout:
            r.mismatch = True
            r.failure = (f"output differs from {ref_name}:\n"
                         f"  {ref_name}: {tail(ref.stdout, 2)!r}\n  {rt}: {tail(r.stdout, 2)!r}")


def machine_line():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    now = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    return (f"Machine: {model}, {os.cpu_count()} cores, {platform.system()} "
            f"{platform.release()}; {now}")


def fmt_time(name, seconds):
    return f"{seconds * 1000:.1f} ms" if name == STARTUP else f"{seconds:.2f} s"


def render(benchmarks, all_results, runtimes, reps, startup_reps, scale):
    ratio_rts = [rt for rt in runtimes if rt.name != "native"]
    header = ["benchmark"] + [rt.name for rt in runtimes]
    if any(rt.name == "native" for rt in runtimes):
        header += [f"{rt.name}/native" for rt in ratio_rts]
    lines = [
        f"# pycell benchmark",
        "",
        machine_line(),
        "",
        f"Median wall time of {startup_reps} runs (startup) / {reps} run{'s' if reps > 1 else ''}"
        " (cpu)"
        + (f", workload scale {scale}" if scale != 1.0 else "")
        + "; ratio = runtime / native, lower is better.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|",
    ]
    geo = {rt.name: [] for rt in ratio_rts}
    for name in benchmarks:
        res = all_results[name]
        cells = [name]
        medians = {}
        for rt in runtimes:
            r = res[rt.name]
            if rt.missing:
                cells.append("missing")
            elif r.mismatch:
                cells.append("MISMATCH")
            elif r.failure:
                cells.append("FAILED")
            else:
                medians[rt.name] = statistics.median(r.times)
                cells.append(fmt_time(name, medians[rt.name]))
        if "native" in res:
            for rt in ratio_rts:
                if "native" in medians and rt.name in medians:
                    ratio = medians[rt.name] / medians["native"]
                    cells.append(f"{ratio:.2f}x")
                    if name != STARTUP:
                        geo[rt.name].append(ratio)
                else:
                    cells.append("-")
        lines.append("| " + " | ".join(cells) + " |")
    cpu_count = sum(1 for b in benchmarks if b != STARTUP)
    if "native" in [rt.name for rt in runtimes] and cpu_count > 1:
        cells = ["geomean (cpu)"] + [""] * len(runtimes)
        for rt in ratio_rts:
            g = geo[rt.name]
            # Only a complete set is comparable; a partial geomean would flatter a runtime.
            cells.append(f"{statistics.geometric_mean(g):.2f}x" if len(g) == cpu_count else "-")
        lines.append("| " + " | ".join(cells) + " |")
        fuel, nofuel = geo.get("pycell", []), geo.get("pycell-nofuel", [])
        if len(fuel) == cpu_count and len(nofuel) == cpu_count:
            lines.append("")
            lines.append("Fuel instrumentation overhead on the CPU set (geomean of pycell / pycell-nofuel): "
                         f"{statistics.geometric_mean([a / b for a, b in zip(fuel, nofuel)]):.3f}x")
    lines.append("")
    for rt in runtimes:
        lines.append(f"- {rt.name}: " + (f"missing ({rt.missing})" if rt.missing
                                          else rt.describe))
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=3, help="repetitions per CPU workload")
    ap.add_argument("--only", help="comma-separated benchmarks (startup and/or cpu/ names)")
    ap.add_argument("--runtimes", default=",".join(ALL_RUNTIMES))
    ap.add_argument("--pycell", default=str(REPO_DIR / "build" / "pycell"))
    ap.add_argument("--pycell-nofuel", default=str(REPO_DIR / "build-nofuel" / "pycell"),
                    help="pycell built without fuel checks (bench/build-nofuel.sh), for the fuel overhead")
    ap.add_argument("--no-sessions", action="store_true", help="skip the session metrics")
    ap.add_argument("--node", default="node")
    ap.add_argument("--markdown-out", help="also write the table to this file")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per single run")
    ap.add_argument("--scale", type=float, default=1.0,
                    help="multiply CPU workload sizes (for quick development runs)")
    args = ap.parse_args()
    if args.reps < 1:
        ap.error("--reps must be at least 1")

    available = [STARTUP] + discover_workloads()
    benchmarks = available
    if args.only:
        benchmarks = [b.strip() for b in args.only.split(",") if b.strip()]
        unknown = [b for b in benchmarks if b not in available]
        if unknown:
            ap.error(f"unknown benchmark(s) {unknown}; choose from {available}")
    names = [r.strip() for r in args.runtimes.split(",") if r.strip()]
    unknown = [r for r in names if r not in ALL_RUNTIMES]
    if unknown or not names:
        ap.error(f"unknown runtime(s) {unknown}; choose from {list(ALL_RUNTIMES)}")

    builds = cpython_builds()
    finders = {"native": lambda: find_native(builds), "node-wasi": lambda: find_node_wasi(args.node, builds),
               "pycell": lambda: find_pycell(args.pycell),
               "pycell-nofuel": lambda: find_pycell(args.pycell_nofuel, "pycell-nofuel")}
    runtimes = [finders[n]() for n in names]
    for rt in runtimes:
        if rt.missing:
            print(f"{rt.name}: missing ({rt.missing})", file=sys.stderr)
    usable = [rt for rt in runtimes if not rt.missing]

    startup_reps = max(STARTUP_MIN_REPS, args.reps)
    all_results = {}
    for name in benchmarks:
        reps = startup_reps if name == STARTUP else args.reps
        res = run_benchmark(name, usable, reps, args.timeout, args.scale) if usable else {}
        for rt in runtimes:
            res.setdefault(rt.name, Result())
        all_results[name] = res

    table = render(benchmarks, all_results, runtimes, args.reps, startup_reps, args.scale)
    native = next((rt for rt in usable if rt.name == "native"), None)
    if not args.no_sessions and native:
        table += "\n" + session_metrics(native, Path(args.pycell).parent / "pycell_session_bench",
                                        args.scale < 1)
    print(table)
    if args.markdown_out:
        Path(args.markdown_out).write_text(table)

    failures = [(name, rt, r.failure) for name, res in all_results.items()
                for rt, r in res.items() if r.failure]
    for name, rt, failure in failures:
        print(f"FAILED {name} on {rt}: {failure}", file=sys.stderr)
    if any(r.mismatch for res in all_results.values() for r in res.values()):
        print("ERROR: runtimes disagree on a checksum; see MISMATCH above", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

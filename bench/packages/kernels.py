"""The package kernel set, run unchanged by every runtime (pycell, native CPython).

    python kernels.py [MODULE...]     # default: numpy

Prints one JSON object: {"versions": {module: version}, "seconds": {kernel:
seconds per call}, "check": {kernel: a number the harness compares across
runtimes}}. Each kernel is calibrated to batches of >= 20 ms; the time is the
median per call of 5 batches. Inputs are seeded, so every runtime computes the
same values (up to summation order).
"""
import json
import sys
import time


def per_call(fn):
    fn()  # warm-up: lazy imports, caches
    number = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        if time.perf_counter() - t0 >= 0.02:
            break
        number *= 2
    batches = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        batches.append((time.perf_counter() - t0) / number)
    return sorted(batches)[2]


def numpy_kernels():
    import numpy as np

    rng = np.random.default_rng(0)
    a, b = rng.random(1_000_000), rng.random(1_000_000)
    m64, m256 = rng.random((64, 64)), rng.random((256, 256))
    return np.__version__, {
        "add 1e6 float64": (lambda: a + b, lambda r: float(r.sum())),
        "multiply 1e6 float64": (lambda: a * b, lambda r: float(r.sum())),
        "sum 1e6": (a.sum, float),
        "mean 1e6": (a.mean, float),
        "std 1e6": (a.std, float),
        "sort 1e6 float64": (lambda: np.sort(a), lambda r: float(r[::1000].sum())),
        "matmul 64x64": (lambda: m64 @ m64, lambda r: float(r.sum())),
        "matmul 256x256": (lambda: m256 @ m256, lambda r: float(r.sum())),
    }


def pandas_kernels():
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"key": rng.integers(0, 1000, 100_000), "value": rng.random(100_000)})
    return pd.__version__, {
        "groupby mean 100k rows": (lambda: df.groupby("key")["value"].mean(), lambda r: float(r.sum())),
        "groupby agg mean/std/count 100k rows": (lambda: df.groupby("key")["value"].agg(["mean", "std", "count"]),
                                                 lambda r: float(r["std"].sum())),
    }


KERNEL_SETS = {"numpy": numpy_kernels, "pandas": pandas_kernels}


def main(modules):
    out = {"versions": {}, "seconds": {}, "check": {}}
    for module in modules:
        version, kernels = KERNEL_SETS[module]()
        out["versions"][module] = version
        for name, (fn, check) in kernels.items():
            out["check"][name] = check(fn())
            out["seconds"][name] = per_call(fn)
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:] or ["numpy"])

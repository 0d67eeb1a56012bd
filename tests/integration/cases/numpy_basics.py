# numpy, compiled into the guest (guest/packages/numpy): one call into each of
# its extension modules, with results that do not depend on the platform.
import sys

import numpy as np

print(np.__version__, "numpy" in sys.modules)
# The extension modules are built-in modules under their dotted names.
print(np._core._multiarray_umath.__spec__.origin)

a = np.arange(10).reshape(2, 5)
print(a.sum(axis=0), a.T.shape, a.dtype.itemsize)
print(np.sort(np.array([3.5, -1.0, 2.25, 0.0])))           # C++ sort
print(np.argsort(np.array([5, 1, 4], dtype=np.int64)))
print(np.unique(np.array([3, 1, 3, 2, 1])))                 # C++ hash table
print(np.char.upper(np.array(["ab", "cd"])))                # C++ string ufuncs
print(np.linalg.solve(np.array([[2.0, 0.0], [0.0, 4.0]]), np.array([2.0, 8.0])))  # lapack-lite
print(np.round(np.abs(np.fft.fft(np.array([1.0, 0.0, -1.0, 0.0]))), 6))             # pocketfft (C++)
g = np.random.Generator(np.random.PCG64(12345))
print(g.integers(0, 100, size=5))
print(np.random.RandomState(1).randint(0, 100, size=3))    # legacy mtrand, own symbols
print(np.finfo(np.longdouble).bits, np.float128 is np.longdouble)
try:
    np.ones(3) + np.ones(4)
except ValueError as e:
    print("ValueError:", e)

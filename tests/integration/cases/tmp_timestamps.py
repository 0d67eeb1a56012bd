# Files in /tmp carry real timestamps: a fresh write has a current mtime, os.utime
# takes effect, and a module written at run time becomes importable (importlib's
# FileFinder notices the directory's changed mtime).
# The expectation files hold what CPython prints and were written by hand: do not
# --rebase this case from pycell's output until the sandbox matches.
import os, sys, time
start = time.time()
with open("/tmp/stamp.txt", "w") as f:
    f.write("x")
st = os.stat("/tmp/stamp.txt")
print("fresh mtime is current:", abs(st.st_mtime - start) < 60)
os.utime("/tmp/stamp.txt", ns=(1_500_000_000_123_456_789, 1_600_000_000_987_654_321))
st = os.stat("/tmp/stamp.txt")
print("utime:", st.st_atime_ns, st.st_mtime_ns)

sys.path.insert(0, "/tmp")
try:
    import generated_mod
except ImportError as e:
    print("before:", e)
with open("/tmp/generated_mod.py", "w") as f:
    f.write("VALUE = 42\n")
import generated_mod
print("after:", generated_mod.VALUE)

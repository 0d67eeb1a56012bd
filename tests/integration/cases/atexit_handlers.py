# atexit handlers run when the program ends, after buffered output, in LIFO order, for a
# normal end as well as sys.exit (CPython runs them in Py_FinalizeEx).
# The expectation files hold what CPython prints and were written by hand: do not
# --rebase this case from pycell's output until the sandbox matches.
import atexit, sys
atexit.register(print, "registered first, runs last")
atexit.register(lambda: print("registered second, runs first", file=sys.stderr))
print("main body done")
sys.exit(4)

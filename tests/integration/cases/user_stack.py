# User code is the bottom of the stack, as in `python FILE`: the sandbox's own runner
# frames must not be visible to inspect/sys._getframe.
# The expectation files hold what CPython prints and were written by hand: do not
# --rebase this case from pycell's output until the sandbox matches.
import inspect, sys
frames = inspect.stack()
print(len(frames), [f.function for f in frames])
print(sys._getframe().f_back)
print(__name__, __file__, sys.modules["__main__"].__file__)

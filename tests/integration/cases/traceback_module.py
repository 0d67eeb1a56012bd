# Exceptions formatted in-guest with the traceback module, plus warnings to stderr.
import traceback, warnings

def inner():
    raise KeyError("k")

try:
    inner()
except KeyError:
    print(traceback.format_exc())
warnings.warn("this is deprecated", DeprecationWarning)
warnings.warn("user visible warning")
print([f.name for f in traceback.extract_stack() if f.filename == __file__])

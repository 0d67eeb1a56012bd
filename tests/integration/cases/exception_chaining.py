# Explicit (raise ... from ...), implicit (during handling) and suppressed chaining, and
# an exception group, printed the way CPython formats them.
class ConfigError(Exception):
    pass

def read_config(text):
    try:
        return int(text)
    except ValueError as exc:
        raise ConfigError("bad port: %r" % text) from exc

try:
    read_config("eighty")
except ConfigError as e:
    print("caught:", e, "| cause:", repr(e.__cause__))

try:
    try:
        {}["missing"]
    except KeyError:
        raise RuntimeError("lookup failed") from None
except RuntimeError as e:
    print("suppressed:", e.__suppress_context__, repr(e.__context__))

try:
    raise ExceptionGroup("many", [ValueError(1), TypeError(2)])
except* ValueError as eg:
    print("except* got", eg.exceptions)
except* TypeError as eg:
    print("except* got", eg.exceptions)

def cleanup():
    try:
        1 / 0
    except ZeroDivisionError:
        undefined_name  # noqa: F821 -- implicit chaining

try:
    cleanup()
except NameError as e:
    print("implicit context:", type(e.__context__).__name__)

read_config("443x")

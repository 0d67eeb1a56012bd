"""Guest-side runner: prepares one request for the session's __main__ and reports its outcome.

The C shim calls prepare(), evaluates the code objects itself (so no runner frame
sits under user code), then calls finish() with the exception or value. A cell
may await at top level, as in IPython: the shim then hands its code objects to
run_async, which runs them inside the session's event loop.
Everything the host learns about a run comes back as the JSON document finish()
returns (stdout/stderr travel separately through WASI fd_write).
"""
import _socket
import ast
import atexit
import errno
import json
import linecache
import signal
import sys
import traceback

SCRIPT = 1       # run as a whole program (python FILE): no trailing-expression value
WANT_JSON = 2    # also encode the trailing value as JSON when it is serializable
RUN_ATEXIT = 4   # the program is over: run atexit handlers, as interpreter exit would

_main = sys.modules["__main__"]
_cell_counter = 0
# Names the host bound and protected: name -> the object it must stay.
_protected = {}


def _soft_stop(signum, frame):
    # The host trips SIGXCPU when the run's time is up (guest/shim/shim.c).
    raise TimeoutError("pycell: time limit reached")


signal.signal(signal.SIGXCPU, _soft_stop)


def _no_network(*args, **kwargs):
    raise OSError(errno.ENOTSUP, "no network in this sandbox (HTTP goes through pycell_http "
                                 "when the host grants it)")


# CPython's WASI _socket lacks name resolution, so socket.create_connection and
# urllib would fail with AttributeError; every network call fails with OSError.
for _name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr", "getnameinfo"):
    if not hasattr(_socket, _name):
        setattr(_socket, _name, _no_network)
# Code that has resolution also expects a host name (logging, uuid, smtplib):
# the sandbox's is "localhost", which resolves to nothing.
if not hasattr(_socket, "gethostname"):
    _socket.gethostname = lambda: "localhost"


class _AsyncioHook:
    """Makes the sandbox's event loop (_pycell_asyncio) asyncio's default
    whenever asyncio is imported; importing asyncio eagerly instead would slow
    every start, the CLI's cold start included."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name != "asyncio":
            return None
        import importlib.machinery
        spec = importlib.machinery.PathFinder.find_spec(name)
        if spec is not None:
            load = spec.loader.exec_module

            def exec_module(module):
                load(module)
                sys.modules.pop("_pycell_asyncio", None)  # bound to this asyncio, not an earlier one
                import _pycell_asyncio
                _pycell_asyncio.install()
            spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _AsyncioHook)


def run_async(body, expr, g):
    """Runs a cell with top-level await (the shim calls this); returns its trailing value."""
    import _pycell_asyncio
    return _pycell_asyncio.run_cell(body, expr, g)


_EMPTY = compile("", "<empty>", "exec", dont_inherit=True)
# Cells may use await, async for and async with at top level (the code is then
# flagged CO_COROUTINE: see run_async); code without them compiles as before.
_CELL_FLAGS = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT


def _compile_cell(source, filename):
    """Splits a trailing expression off like a notebook cell; returns (body, expr)."""
    tree = ast.parse(source, filename, "exec")
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
        # A cell that is one expression has nothing else to compile.
        body = compile(tree, filename, "exec", _CELL_FLAGS, dont_inherit=True) if tree.body else _EMPTY
        return body, compile(last, filename, "eval", _CELL_FLAGS, dont_inherit=True)
    return compile(tree, filename, "exec", _CELL_FLAGS, dont_inherit=True), None


def _remember_source(source, filename):
    # Tracebacks show source lines for code that never lived in a file.
    lines = source.splitlines(True)
    linecache.cache[filename] = (len(source), None, lines, filename)


def _frames(tb):
    frames = []
    for f in traceback.extract_tb(tb):
        frames.append({"file": f.filename, "line": f.lineno or 0,
                       "function": f.name, "source": f.line or ""})
    return frames


def _user_tb(exc):
    """The traceback as the user's code sees it: no runner frames at either end."""
    tb = exc.__traceback__
    # A SyntaxError raised while compiling carries the runner's frames (and
    # ast.parse's); an async cell's, those of the loop that ran it.
    aio = sys.modules.get("_pycell_asyncio")
    loop_code = aio.RUNNER_CODE if aio else ()
    while tb is not None and (tb.tb_frame.f_code.co_filename in (__file__, ast.__file__)
                              or tb.tb_frame.f_code in loop_code):
        tb = tb.tb_next
    # A soft stop is raised inside the runner's signal handler: cut it off.
    prev, t = None, tb
    while t is not None:
        if t.tb_frame.f_code is _soft_stop.__code__:
            if prev is None:
                return None
            prev.tb_next = None
            break
        prev, t = t, t.tb_next
    return tb


def _exit_code(exc):
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def prepare(code, meta, flags):
    """Compiles a request; returns (globals, body, trailing_expr_or_None)."""
    global _cell_counter
    info = json.loads(meta) if meta else {}
    try:
        source = code.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SyntaxError(f"source is not valid UTF-8: {e}") from None
    if "filename" in info:
        filename = info["filename"]
    else:
        _cell_counter += 1
        filename = f"<cell-{_cell_counter}>"
    if "argv" in info:
        sys.argv = list(info["argv"])
    g = _main.__dict__
    _remember_source(source, filename)
    if flags & SCRIPT and filename != "<string>":  # python -c sets no __file__
        g["__file__"] = filename
        body, expr = compile(source, filename, "exec", dont_inherit=True), None
    else:
        body, expr = _compile_cell(source, filename)
    if _protected:
        for code in (body, expr):
            name = code is not None and _rebinds(code, True)
            if name:
                raise NameError(f"'{name}' is protected by the host: it cannot be rebound or deleted")
    return g, body, expr


def _rebinds(code, top):
    """The first protected name `code` stores to or deletes at module level, if any.

    Catches every spelling in the source (assignment, def, import as, for, del,
    `global`); dynamic ones (globals()[...] = ...) are undone by _restore_protected.
    """
    names = _protected.keys() & set(code.co_names)
    if names:
        import dis
        ops = ("STORE_GLOBAL", "DELETE_GLOBAL") + (("STORE_NAME", "DELETE_NAME") if top else ())
        for ins in dis.get_instructions(code):
            if ins.opname in ops and ins.argval in names:
                return ins.argval
    for const in code.co_consts:
        if isinstance(const, type(code)):
            name = _rebinds(const, False)
            if name:
                return name
    return None


def _restore_protected():
    g = _main.__dict__
    for name, obj in _protected.items():
        if g.get(name, _restore_protected) is not obj:
            g[name] = obj
            print(f"pycell: '{name}' is protected by the host; its binding was restored", file=sys.stderr)


def finish(exc, value, flags):
    """Reports a run: `exc` is what it raised (or None), `value` its trailing value."""
    result = {"exit_reason": "ok", "exit_code": 0}
    if _protected:
        _restore_protected()
    if isinstance(exc, SystemExit):
        result.update(exit_reason="exit", exit_code=_exit_code(exc))
    elif exc is not None:
        tb = _user_tb(exc)
        traceback.print_exception(type(exc), exc, tb, file=sys.stderr)
        result.update(exit_reason="exception", exit_code=1, error={
            "type": type(exc).__qualname__ if type(exc).__module__ == "builtins"
                    else f"{type(exc).__module__}.{type(exc).__qualname__}",
            "message": _safe_str(exc), "frames": _frames(tb)})
        # numpy's allocation failures raise a MemoryError subclass: the host
        # names the exit reason `memory` for those too.
        if isinstance(exc, MemoryError):
            result["error"]["memory"] = True
    elif value is not None:
        _describe_value(value, flags, result)
    if flags & RUN_ATEXIT:
        atexit._run_exitfuncs()  # reports a failing handler itself, like exit does
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    return json.dumps(result).encode()


def configure(settings):
    """Applies a session's grants (JSON from the host, once, at creation):
    env: os.environ exactly ("NAME=value" pairs; a session started from a
         snapshot would otherwise inherit its maker's environment),
    sys_path: directories to import from (package mounts),
    globals / protect: bind the host functions in __main__, protected or not,
    http: route urllib.request through the host (pycell_http)."""
    settings = json.loads(settings)
    if "env" in settings:
        import os
        os.environ.clear()
        for pair in settings["env"]:
            name, _, value = pair.partition("=")
            os.environ[name] = value
    for path in reversed(settings.get("sys_path", [])):
        if path not in sys.path:
            sys.path.insert(0, path)
    if settings.get("globals"):
        import pycell_host
        for name, function in pycell_host._functions.items():
            _bind(name, function, settings.get("protect", False))
    if settings.get("http"):
        import pycell_http
        pycell_http.install_urllib()


def _bind(name, value, protect):
    _main.__dict__[name] = value
    if protect:
        _protected[name] = value
    else:
        _protected.pop(name, None)


def set_vars(data, protect):
    """Binds the names of a JSON object (bytes) in __main__."""
    values = json.loads(data)
    for name, value in values.items():
        _bind(name, value, protect)


def get_var(name):
    """The value of a variable of __main__ (the host asks for it as JSON)."""
    try:
        return _main.__dict__[name]
    except KeyError:
        raise NameError(f"name '{name}' is not defined") from None


def _safe_str(obj):
    try:
        return str(obj)
    except BaseException as e:  # a hostile __str__ must not break reporting
        return f"<str() failed: {type(e).__name__}>"


def _describe_value(value, flags, result):
    try:
        result["value_repr"] = repr(value)
    except BaseException as e:
        result["value_repr"] = f"<repr() failed: {type(e).__name__}>"
    if flags & WANT_JSON:
        try:
            result["value_json"] = json.dumps(value, allow_nan=False)
        except (TypeError, ValueError, RecursionError):
            pass

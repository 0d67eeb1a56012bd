"""Guest-side runner: executes one request in the session's __main__ and reports the outcome.

The host calls run() through the C shim; everything the host learns about a run
comes back as the JSON document this returns (stdout/stderr travel separately
through WASI fd_write).
"""
import ast
import json
import linecache
import sys
import traceback

SCRIPT = 1       # run as a whole program (python FILE): no trailing-expression value
WANT_JSON = 2    # also encode the trailing value as JSON when it is serializable

_main = sys.modules["__main__"]
_cell_counter = 0


def _compile_cell(source, filename):
    """Splits a trailing expression off like a notebook cell; returns (body, expr)."""
    tree = ast.parse(source, filename, "exec")
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
        return (compile(tree, filename, "exec"), compile(last, filename, "eval"))
    return compile(tree, filename, "exec"), None


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
    # Drop the runner's own frames so tracebacks start at the user's code.
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    return tb


def _exit_code(exc):
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def run(code, meta, flags):
    global _cell_counter
    result = {"exit_reason": "ok", "exit_code": 0}
    info = json.loads(meta) if meta else {}
    try:
        source = code.decode("utf-8")
    except UnicodeDecodeError as e:
        source = None
        result.update(exit_reason="exception", exit_code=1, error={
            "type": "SyntaxError", "message": f"source is not valid UTF-8: {e}", "frames": []})
        print(f"SyntaxError: source is not valid UTF-8: {e}", file=sys.stderr)
    if source is not None:
        if "filename" in info:
            filename = info["filename"]
        else:
            _cell_counter += 1
            filename = f"<cell-{_cell_counter}>"
        if "argv" in info:
            sys.argv = list(info["argv"])
        g = _main.__dict__
        try:
            _remember_source(source, filename)
            if flags & SCRIPT:
                g["__file__"] = filename
                exec(compile(source, filename, "exec"), g)
            else:
                body, expr = _compile_cell(source, filename)
                exec(body, g)
                if expr is not None:
                    value = eval(expr, g)
                    if value is not None:
                        _describe_value(value, flags, result)
        except SystemExit as e:
            result.update(exit_reason="exit", exit_code=_exit_code(e))
        except BaseException as e:
            tb = _user_tb(e)
            traceback.print_exception(type(e), e, tb, file=sys.stderr)
            result.update(exit_reason="exception", exit_code=1, error={
                "type": type(e).__qualname__ if type(e).__module__ == "builtins"
                        else f"{type(e).__module__}.{type(e).__qualname__}",
                "message": _safe_str(e), "frames": _frames(tb)})
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    return json.dumps(result).encode()


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

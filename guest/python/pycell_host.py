"""Functions the host granted this session ("tools"), as ordinary Python functions.

    import pycell_host
    help(pycell_host.search)          # signature and docstring from the host's schema
    pycell_host.search(query="wasm")  # arguments travel as JSON; so does the result

Each function's signature comes from its JSON Schema: required parameters
first, optional ones default to None (and are not sent when left None).
A failing host function raises HostError; calling a function the host did not
grant raises AttributeError (through this module) or PermissionError.
"""
import inspect
import json
import keyword

import _pycell_host

__all__ = ["HostError"]

# Statuses of _pycell_host.call (src/wasi/context.h, HostCallStatus).
(OK, ERROR, NOT_GRANTED, ARGS_TOO_LARGE, RESULT_TOO_LARGE, BAD_ARGUMENTS, DENIED, TIMEOUT, FAULT,
 INVALID) = range(10)


class HostError(RuntimeError):
    """A host function failed; the message is the host's (sanitized) explanation."""


_EXCEPTIONS = {
    ERROR: HostError, NOT_GRANTED: PermissionError, ARGS_TOO_LARGE: ValueError,
    RESULT_TOO_LARGE: HostError, BAD_ARGUMENTS: TypeError, DENIED: PermissionError,
    TIMEOUT: TimeoutError, INVALID: ValueError,
}


def call(name, args):
    """Calls host function `name` with a dict of arguments; returns its decoded result."""
    payload = json.dumps(args, allow_nan=False, separators=(",", ":")).encode()
    status, reply = _pycell_host.call(name, payload)
    value = json.loads(reply) if reply else None
    if status == OK:
        return value
    raise _EXCEPTIONS.get(status, HostError)(value if isinstance(value, str) else f"status {status}")


# JSON Schema type -> the Python type it arrives as (annotations, docs) and
# the Python values accepted for it.
_ANNOTATIONS = {"string": str, "integer": int, "number": float, "boolean": bool,
                "array": list, "object": dict, "null": type(None)}
_PY_TYPES = {t: "None" if kind is type(None) else kind.__name__ for t, kind in _ANNOTATIONS.items()}
_CHECKS = {"string": str, "integer": int, "number": (int, float), "boolean": bool,
           "array": (list, tuple), "object": dict, "null": type(None)}


def _types(schema):
    t = schema.get("type")
    return [] if t is None else t if isinstance(t, list) else [t]


def _annotation(schema):
    kinds = [_ANNOTATIONS[t] for t in _types(schema) if t in _ANNOTATIONS]
    if not kinds:
        return inspect.Parameter.empty
    union = kinds[0]
    for kind in kinds[1:]:
        union = union | kind
    return union


def _annotation_text(schema):
    names = [_PY_TYPES[t] for t in _types(schema) if t in _PY_TYPES]
    return " | ".join(names)


def _check(fname, pname, value, schema):
    """A clear TypeError before anything crosses to the host (which checks again)."""
    types = _types(schema)
    if not types:
        return
    for t in types:
        ok = isinstance(value, _CHECKS[t])
        if t in ("integer", "number") and isinstance(value, bool):
            ok = False
        if ok:
            return
    raise TypeError(f"{fname}() argument '{pname}' must be {' or '.join(_PY_TYPES[t] for t in types)}, "
                    f"not {type(value).__name__}")


def _doc(spec, params):
    lines = [spec.get("description") or f"Host function {spec['name']}."]
    props = spec["parameters"].get("properties", {})
    if props:
        lines += ["", "Args:"]
        for name in params:
            sub = props[name]
            kind = _annotation_text(sub)
            kind = f" ({kind})" if kind else ""
            desc = sub.get("description", "")
            if "enum" in sub:
                desc = (desc + " " if desc else "") + f"One of {sub['enum']!r}."
            lines.append(f"    {name}{kind}: {desc}".rstrip())
    return "\n".join(lines)


def make_function(spec):
    """Builds the Python function for one host function spec {name, description, parameters}."""
    name = spec["name"]
    schema = spec["parameters"]
    props = schema.get("properties", {})
    required = [p for p in schema.get("required", []) if p in props]
    optional = [p for p in props if p not in required]
    params = [inspect.Parameter(p, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=_annotation(props[p]))
              for p in required]
    params += [inspect.Parameter(p, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None,
                                 annotation=_annotation(props[p])) for p in optional]
    signature = inspect.Signature(params)

    def host_function(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        sent = {}
        for pname, value in bound.arguments.items():
            if value is None and pname in optional:
                continue
            _check(name, pname, value, props[pname])
            sent[pname] = value
        return call(name, sent)

    host_function.__name__ = host_function.__qualname__ = name
    host_function.__module__ = __name__
    host_function.__signature__ = signature
    host_function.__doc__ = _doc(spec, required + optional)
    return host_function


def _load():
    specs = call("__specs__", {})
    functions = {}
    for spec in specs:
        if spec["name"].isidentifier() and not keyword.iskeyword(spec["name"]):
            functions[spec["name"]] = make_function(spec)
    return functions


_functions = _load()
globals().update(_functions)
__all__ += sorted(_functions)


def __getattr__(name):
    granted = ", ".join(sorted(_functions)) or "none"
    raise AttributeError(f"the host did not grant a function named '{name}' (granted: {granted})")


def __dir__():
    return sorted(set(globals()) | set(_functions))

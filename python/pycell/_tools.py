"""Python callables as host functions: a JSON schema from the signature, and JSON in and out."""
from __future__ import annotations

import inspect
import json
import re
import sys
import types
import typing
from typing import Any, Callable, Dict, Iterable, List, Tuple, Union

# (name, description, parameters schema as JSON text, invoke(args_json) -> result_json):
# what the extension module turns into a pycell::HostFunction.
Spec = Tuple[str, str, str, Callable[[str], str]]

_SCALARS = {int: "integer", float: "number", str: "string", bool: "boolean", type(None): "null"}
_UNION_TYPES = (Union, types.UnionType) if sys.version_info >= (3, 10) else (Union,)

# smolagents-style Tool.inputs types -> JSON Schema types ("any", "image", ... stay untyped).
_TOOL_TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean",
               "array": "array", "object": "object", "null": "null"}


def _schema_for(annotation: Any) -> Dict[str, Any]:
    """JSON Schema for one annotation; {} (any JSON value) for what JSON cannot express."""
    if annotation is inspect.Parameter.empty or annotation is Any:
        return {}
    if annotation in _SCALARS:
        return {"type": _SCALARS[annotation]}
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in _UNION_TYPES:
        members = [_schema_for(a) for a in args]
        if all(set(t) == {"type"} for t in members):  # Optional[int], int | str: a list of types
            return {"type": [t["type"] for t in members]}
        return {}
    if origin is typing.Literal:
        return {"enum": list(args)}
    if annotation in (list, tuple) or origin in (list, tuple):
        schema = {"type": "array"}
        if origin is list and args:
            schema["items"] = _schema_for(args[0])
        return schema
    if annotation is dict or origin is dict:
        return {"type": "object"}
    return {}


_ARGS_SECTION = re.compile(r"^[ \t]*(Args|Arguments|Parameters):[ \t]*\n((?:[ \t]+\S.*\n?|[ \t]*\n)*)", re.M)


def docs(fn: Callable) -> Tuple[str, Dict[str, str]]:
    """The docstring without its Google-style "Args:" section, and the parameter
    descriptions found there (the guest rebuilds that section from the schema)."""
    doc = inspect.getdoc(fn) or ""
    params: Dict[str, str] = {}
    m = _ARGS_SECTION.search(doc)
    if not m:
        return doc, params
    for line in m.group(2).splitlines():
        p = re.match(r"^\s*(\w+)\s*(\([^)]*\))?\s*:\s*(.+)$", line)
        if p:
            params[p.group(1)] = p.group(3).strip()
    return (doc[:m.start()] + doc[m.end():]).strip(), params


def encode_result(name: str, value: Any) -> str:
    """A host function's result as JSON; TypeError naming the function if it is not JSON."""
    try:
        return json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise TypeError(f"{name}() returned a {type(value).__name__}, which is not JSON-serializable") from None


def _from_callable(name: str, fn: Callable) -> Spec:
    sig = inspect.signature(fn)
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # unresolvable string annotations: fall back to untyped parameters
        hints = {}
    description, param_docs = docs(fn)
    properties: Dict[str, Any] = {}
    required: List[str] = []
    positional_only: List[str] = []
    extra = False
    for p in sig.parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            raise TypeError(f"{name}: *{p.name} cannot be exposed to the guest (its arguments arrive by name)")
        if p.kind is p.VAR_KEYWORD:
            extra = True
            continue
        if p.kind is p.POSITIONAL_ONLY:
            positional_only.append(p.name)
        schema = _schema_for(hints.get(p.name, p.annotation))
        if p.name in param_docs:
            schema["description"] = param_docs[p.name]
        if p.default is p.empty:
            required.append(p.name)
        else:
            try:
                json.dumps(p.default, allow_nan=False)
                schema["default"] = p.default
            except (TypeError, ValueError):
                pass  # the guest sees None; the host fills in the real default
        properties[p.name] = schema
    parameters = {"type": "object", "properties": properties, "required": required,
                  "additionalProperties": extra}

    def invoke(args_json: str) -> str:
        kwargs = json.loads(args_json)
        args = [kwargs.pop(n) for n in positional_only if n in kwargs]
        return encode_result(name, fn(*args, **kwargs))

    return name, description, json.dumps(parameters), invoke


def _from_tool(name: str, tool: Any) -> Spec:
    """A smolagents-style Tool: .name, .description, .inputs {arg: {type, description, nullable}}."""
    properties: Dict[str, Any] = {}
    required: List[str] = []
    for arg, info in tool.inputs.items():
        schema: Dict[str, Any] = {}
        t = _TOOL_TYPES.get(info.get("type"))
        if t:
            schema["type"] = [t, "null"] if info.get("nullable") else t
        if info.get("description"):
            schema["description"] = info["description"]
        properties[arg] = schema
        if not info.get("nullable"):
            required.append(arg)
    parameters = {"type": "object", "properties": properties, "required": required,
                  "additionalProperties": False}

    def invoke(args_json: str) -> str:
        return encode_result(name, tool(**json.loads(args_json)))

    return name, str(getattr(tool, "description", "") or ""), json.dumps(parameters), invoke


def check_callable(what: str, name: Any, fn: Any) -> None:
    """Raises unless `name` can name a guest global (an identifier, not private) and `fn` is callable;
    `what` ("host function", "tool") names the kind in the message."""
    if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
        raise ValueError(f"{what} name {name!r} must be a Python identifier not starting with '_'")
    if not callable(fn):
        raise TypeError(f"{what} {name} is not callable")


def host_function(fn: Callable, name: str = None) -> Spec:
    """The host-function spec of a callable (a function, or a Tool-like object with `inputs`)."""
    name = name or getattr(fn, "name", None) or getattr(fn, "__name__", None)
    check_callable("host function", name, fn)
    if isinstance(getattr(fn, "inputs", None), dict):
        return _from_tool(name, fn)
    return _from_callable(name, fn)


def host_functions(functions: Union[None, Dict[str, Callable], Iterable[Callable]]) -> Dict[str, Spec]:
    """Specs by name from a dict name -> callable, or an iterable of callables named by __name__."""
    if functions is None:
        return {}
    items = functions.items() if isinstance(functions, dict) else ((None, f) for f in functions)
    specs = (host_function(f, n) for n, f in items)
    return {s[0]: s for s in specs}

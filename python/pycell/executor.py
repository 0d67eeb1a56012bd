"""A pycell session behind the code-executor interface agent frameworks use.

It follows smolagents' PythonExecutor and the constructor of its remote
executors, (additional_imports, logger, **kwargs), without depending on it:

    executor = PycellExecutor(timeout_ms=10_000, memory_mb=256)
    executor.send_tools({"search": search})        # callables the code may call
    executor.send_variables({"rows": [1, 2, 3]})   # values (JSON and then some)
    out = executor("total = sum(rows)\\nprint(total)\\ntotal")
    out.output, out.logs, out.is_final_answer      # 6, "6\\n", False
    out = executor("final_answer(total * 2)")
    out.output, out.is_final_answer                # 12, True
    executor.cleanup()

Values cross between host and guest (variables, tool arguments and results,
final answers) as tagged JSON in smolagents' SafeSerializer format (see
_safejson), so tuples, sets, bytes, dates and Decimals keep their type.
"""
from __future__ import annotations

import inspect
import json
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Mapping, Optional, Sequence

from . import _safejson, _tools
from ._result import ExecResult
from ._sandbox import Sandbox
from .errors import ExecutionError, NotFoundError

#: smolagents' cap on the printed output of one step (DEFAULT_MAX_LEN_OUTPUT).
DEFAULT_MAX_PRINT_OUTPUTS_LENGTH = 50_000


@dataclass
class CodeOutput:
    """What one call of the executor returns (the fields smolagents' CodeOutput has)."""

    output: Any  # the final answer, or the value of the code's last expression
    logs: str  # what the code printed (stdout, then stderr if any), capped
    is_final_answer: bool  # the code called final_answer()


# The one host function of an executor session. Tools are dispatched through
# it by name, so send_tools() can change them at any time without a new session.
_DISPATCH = "executor_call"

_SAFEJSON_SOURCE = Path(_safejson.__file__).read_text(encoding="utf-8")

_PRELUDE = f'''
import types as _pycell_types
import pycell_host as _pycell_host

# The tagged-JSON codec, the same source as the host's pycell._safejson.
_pycell_safejson = _pycell_types.ModuleType("_pycell_safejson")
exec(compile({_SAFEJSON_SOURCE!r}, "<pycell-safejson>", "exec"), _pycell_safejson.__dict__)


class FinalAnswerException(BaseException):
    """Raised by final_answer() to end the run; not an Exception, so `except Exception` lets it pass."""


def _pycell_call(name, args, kwargs):
    request = _pycell_safejson.to_json_safe({{"args": list(args), "kwargs": kwargs}})
    return _pycell_safejson.from_json_safe(_pycell_host.{_DISPATCH}(name=name, **request))


def _pycell_tool(name, doc):
    def tool(*args, **kwargs):
        return _pycell_call(name, args, kwargs)
    tool.__name__ = tool.__qualname__ = name
    tool.__doc__ = doc
    return tool


def _pycell_bind(tagged):
    globals().update(_pycell_safejson.from_json_safe(tagged))


def final_answer(answer):
    """Ends the run here and returns `answer` as the final answer (a value of a type the
    tagged JSON does not carry arrives as its repr())."""
    try:
        args = _pycell_safejson.to_json_safe([answer])
    except _pycell_safejson.SerializationError:
        args = [repr(answer)]
    _pycell_host.{_DISPATCH}(name="final_answer", args=args, kwargs={{}})
    raise FinalAnswerException()
'''

_NO_ANSWER = object()


def _describe(name: str, fn: Callable) -> str:
    """The docstring of a tool's guest stub: its host signature and description."""
    is_tool = isinstance(getattr(fn, "inputs", None), dict)  # a smolagents Tool, or a managed agent
    try:
        signature = str(inspect.signature(fn.forward if is_tool else fn))
    except (AttributeError, TypeError, ValueError):
        signature = "(...)"
    doc = getattr(fn, "description", "") if is_tool else (inspect.getdoc(fn) or "")
    return f"{name}{signature}\n\n{doc}".strip()


def _encode(what: str, value: Any) -> str:
    """value as tagged JSON text; TypeError naming `what` if its type cannot cross."""
    try:
        return json.dumps(_safejson.to_json_safe(value), allow_nan=False)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{what} cannot be sent to the sandbox: {e}") from None


def truncate_logs(text: str, limit: int) -> str:
    """smolagents' truncate_content: the first and last limit/2 characters around a note."""
    if len(text) <= limit:
        return text
    return (text[: limit // 2] + f"\n..._This content has been truncated to stay below {limit} characters_...\n"
            + text[-limit // 2:])


class PycellExecutor:
    """Runs agent-written code in one persistent pycell session.

    Contract (smolagents' PythonExecutor and its remote executors):
      * PycellExecutor(additional_imports, logger, **kwargs): the constructor
        smolagents' remote executors have. additional_imports are modules the
        code may import: each must be importable in the guest (the standard
        library, or a package mount), else NotFoundError; pycell installs
        nothing. "*" and "pkg.*" entries are accepted as smolagents writes them.
      * send_variables(dict): binds globals of the session. Values cross as
        tagged JSON (JSON types, tuple, set, frozenset, bytes, complex, dates
        and times, Decimal, Path, dicts with non-string keys); another type
        raises TypeError.
      * send_tools(dict[str, callable]): makes each callable (a function, a
        smolagents Tool, a managed agent) a global function of the guest; the
        callable runs on the host and its arguments and result cross as tagged
        JSON. A tool named "final_answer" post-processes the final answer
        (its return value becomes CodeOutput.output).
      * __call__(code) -> CodeOutput(output, logs, is_final_answer). State
        (variables, imports, functions, /tmp) persists between calls. logs is
        capped at max_print_outputs_length characters (50,000, as smolagents),
        keeping the start and the end.
      * final_answer(x) inside the code ends the run at once: is_final_answer
        is True and output is x with its type (tagged JSON), or its repr() for
        a type that cannot cross. Code that catches BaseException can stop it
        from ending the run, but the answer still counts.
      * output, when there is no final answer, is the value of the code's last
        expression when JSON carries it exactly, else its repr() string; None
        when there is none.
      * A guest exception raises pycell.ExecutionError on the host, whose
        message is the printed output followed by the guest traceback (the
        text a model needs to correct its code); so does a run stopped by a
        limit (timeout, fuel, memory, output) or by cancel(). The session
        survives: its state is what the code left behind, or, after a hard
        stop, the state after the last successful call (checkpoint=True
        commits the state after every call that ends normally).
      * cleanup() frees the session (and the sandbox, if the executor made it).

    `sandbox` defaults to a new Sandbox(); the other keyword arguments are
    session settings (timeout_ms, memory_mb, fuel, mounts, ...; see pycell.Sandbox).
    """

    def __init__(self, additional_imports: Optional[Sequence[str]] = None, logger: Any = None, *,
                 sandbox: Optional[Sandbox] = None, checkpoint: bool = True,
                 max_print_outputs_length: Optional[int] = None, **settings: Any):
        if isinstance(additional_imports, (str, Sandbox)) or not all(
                isinstance(name, str) for name in additional_imports or ()):
            raise TypeError("additional_imports must be a list of module names (a sandbox is passed as sandbox=)")
        self.additional_imports = list(additional_imports or ())
        #: smolagents' AgentLogger when smolagents builds the executor; kept for its interface.
        self.logger = logger
        self.max_print_outputs_length = max_print_outputs_length or DEFAULT_MAX_PRINT_OUTPUTS_LENGTH
        self._tools: Dict[str, Callable] = {}
        self._answer: Any = _NO_ANSWER
        self._checkpoint = checkpoint
        self._own_sandbox = sandbox is None
        self._sandbox = sandbox or Sandbox()
        # The session's callback holds the executor weakly: the C++ side hides
        # references from Python's cycle collector, so a strong one would keep
        # an executor that is never closed (and its session) alive forever.
        executor = weakref.ref(self)

        def dispatch(args_json: str) -> str:
            live = executor()
            if live is None:
                raise RuntimeError("the executor was garbage-collected")
            return live._dispatch(args_json)

        spec = (_DISPATCH, "Calls a tool of the agent on the host.",
                json.dumps({"type": "object", "required": ["name"], "additionalProperties": False,
                            "properties": {"name": {"type": "string"}, "args": {"type": "array"},
                                           "kwargs": {"type": "object"}}}),
                dispatch)
        #: The underlying pycell.Session (snapshot, fork, files, ...).
        self.session = self._sandbox._open({_DISPATCH: spec}, settings)
        try:
            self._run_setup(_PRELUDE)
            self._check_imports()
        except BaseException:
            self.cleanup()
            raise

    # --- the contract -------------------------------------------------------------------------

    def send_variables(self, variables: Mapping[str, Any]) -> None:
        """Binds each name to its value in the session (see the class docstring for the types)."""
        if not variables:
            return
        for name in variables:
            if not isinstance(name, str) or not name.isidentifier():
                raise ValueError(f"variable name {name!r} is not a Python identifier")
        tagged = json.loads(_encode("variables", dict(variables)))
        self.session.set_variables({"_pycell_vars": tagged})
        self._run_setup("_pycell_bind(_pycell_vars)\ndel _pycell_vars\n")

    def send_tools(self, tools: Mapping[str, Callable]) -> None:
        """Makes each callable a function of the session, called on the host."""
        for name, fn in tools.items():
            _tools.check_callable("tool", name, fn)
        self._tools.update(tools)
        stubs = "".join(f"{name} = _pycell_tool({name!r}, {_describe(name, fn)!r})\n"
                        for name, fn in tools.items() if name != "final_answer")
        if stubs:
            self._run_setup(stubs)

    def __call__(self, code_action: str) -> CodeOutput:
        """Runs the code; see the class docstring for what is returned and raised."""
        self._answer = _NO_ANSWER
        result = self.session.exec(code_action)
        final = self._answer is not _NO_ANSWER and (
            result.exit_reason == "ok" or
            (result.error is not None and result.error.type.endswith("FinalAnswerException")))
        if result.exit_reason != "ok" and not final:
            raise ExecutionError(truncate_logs(self._failure(result), self.max_print_outputs_length), result)
        self._commit()
        # The traceback of FinalAnswerException is not output of the code.
        logs = result.stdout + result.stderr if result.exit_reason == "ok" else result.stdout
        logs = truncate_logs(logs, self.max_print_outputs_length)
        if final:
            return CodeOutput(output=self._answer, logs=logs, is_final_answer=True)
        return CodeOutput(output=self._value(result), logs=logs, is_final_answer=False)

    def cleanup(self) -> None:
        """Frees the session, and the sandbox if this executor created it (smolagents calls
        this from CodeAgent.cleanup() and when a `with CodeAgent(...)` block ends)."""
        self.session.close()
        if self._own_sandbox:
            self._sandbox.close()

    # --- extras -------------------------------------------------------------------------------

    def cancel(self) -> None:
        """Stops a call running on another thread (it raises ExecutionError)."""
        self.session.cancel()

    close = cleanup

    def __enter__(self) -> "PycellExecutor":
        return self

    def __exit__(self, *exc) -> None:
        self.cleanup()

    # --- internals ------------------------------------------------------------------------------

    def _dispatch(self, args_json: str) -> str:
        call = json.loads(args_json)
        name = call["name"]
        args = _safejson.from_json_safe(call.get("args") or [])
        kwargs = _safejson.from_json_safe(call.get("kwargs") or {})
        if name == "final_answer":
            tool = self._tools.get("final_answer")
            self._answer = tool(*args, **kwargs) if tool else (args[0] if args else kwargs.get("answer"))
            return "null"
        if name not in self._tools:
            raise LookupError(f"no tool named {name!r}")
        return _encode(f"the result of {name}()", self._tools[name](*args, **kwargs))

    def _check_imports(self) -> None:
        modules = sorted({name[:-2] if name.endswith(".*") else name
                          for name in self.additional_imports if name != "*"})
        for module in modules:
            if not all(part.isidentifier() for part in module.split(".")):
                raise ValueError(f"additional import {module!r} is not a module name")
            result = self.session.exec(f"import {module}", mode="script", filename="<pycell-executor>")
            if result.exit_reason != "ok":
                raise NotFoundError(f"additional import {module!r} cannot be imported in the sandbox "
                                    f"(pycell installs no packages; mount them with mounts=[(dir, path, 'pkg')]): "
                                    f"{result.error.format() if result.error else result.exit_reason}")
        if modules:
            self._commit()

    @staticmethod
    def _value(result: ExecResult) -> Any:
        # JSON turns a tuple into a list and a date into nothing: the value is used
        # only when decoding it gives back what the guest had, as its repr shows.
        if result.value_json is not None:
            value = result.value
            if repr(value) == result.value_repr:
                return value
        return result.value_repr

    def _run_setup(self, code: str) -> None:
        result = self.session.exec(code, mode="script", filename="<pycell-executor>")
        if result.exit_reason != "ok":
            raise ExecutionError(self._failure(result), result)
        self._commit()

    def _commit(self) -> None:
        if self._checkpoint:
            self.session.snapshot()

    @staticmethod
    def _failure(result: ExecResult) -> str:
        # stderr holds the traceback as CPython printed it (with the failing
        # expression marked); the structured error stands in if it is missing.
        parts = [text.rstrip("\n") for text in (result.stdout, result.stderr) if text.strip()]
        if result.error is not None and result.error.type not in result.stderr:
            parts.append(result.error.format())
        if result.exit_reason not in ("exception", "ok"):
            what = f"trap ({result.trap})" if result.exit_reason == "trap" else result.exit_reason
            parts.append(f"Execution stopped: {what}" +
                         ("; the session was rolled back to its last committed state" if result.rolled_back else ""))
        return "\n".join(parts)

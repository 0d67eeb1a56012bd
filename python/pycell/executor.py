"""A pycell session behind the code-executor interface agent frameworks use.

It follows the shape of smolagents' PythonExecutor (without depending on it):

    executor = PycellExecutor(timeout_ms=10_000, memory_mb=256)
    executor.send_tools({"search": search})        # callables the code may call
    executor.send_variables({"rows": [1, 2, 3]})   # JSON-serializable values
    out = executor("total = sum(rows)\\nprint(total)\\ntotal")
    out.output, out.logs, out.is_final_answer      # 6, "6\\n", False
    out = executor("final_answer(total * 2)")
    out.output, out.is_final_answer                # 12, True
"""
from __future__ import annotations

import inspect
import json
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional

from . import _tools
from ._result import ExecResult
from ._sandbox import Sandbox
from .errors import ExecutionError


@dataclass
class CodeOutput:
    """What one call of the executor returns (the fields smolagents' CodeOutput has)."""

    output: Any  # the final answer, or the value of the code's last expression
    logs: str  # what the code printed (stdout, then stderr if any)
    is_final_answer: bool  # the code called final_answer()


# The one host function of an executor session. Tools are dispatched through
# it by name, so send_tools() can change them at any time without a new session.
_DISPATCH = "executor_call"

_PRELUDE = f'''
import json as _pycell_json
import pycell_host as _pycell_host


class FinalAnswerException(BaseException):
    """Raised by final_answer() to end the run; not an Exception, so `except Exception` lets it pass."""


def _pycell_tool(name, doc):
    def tool(*args, **kwargs):
        return _pycell_host.{_DISPATCH}(name=name, args=list(args), kwargs=kwargs)
    tool.__name__ = tool.__qualname__ = name
    tool.__doc__ = doc
    return tool


def final_answer(answer):
    """Ends the run here and returns `answer` (a JSON-serializable value, else its repr()) as the final answer."""
    try:
        _pycell_json.dumps(answer, allow_nan=False)
    except (TypeError, ValueError):
        answer = repr(answer)
    _pycell_host.{_DISPATCH}(name="final_answer", args=[answer], kwargs={{}})
    raise FinalAnswerException()
'''

_NO_ANSWER = object()


def _describe(name: str, fn: Callable) -> str:
    """The docstring of a tool's guest stub: its host signature and description."""
    is_tool = isinstance(getattr(fn, "inputs", None), dict)  # a smolagents-style Tool
    try:
        signature = str(inspect.signature(fn.forward if is_tool else fn))
    except (AttributeError, TypeError, ValueError):
        signature = "(...)"
    doc = getattr(fn, "description", "") if is_tool else (inspect.getdoc(fn) or "")
    return f"{name}{signature}\n\n{doc}".strip()


class PycellExecutor:
    """Runs agent-written code in one persistent pycell session.

    Contract (smolagents' PythonExecutor):
      * send_variables(dict): binds globals of the session; values must be
        JSON-serializable (TypeError otherwise).
      * send_tools(dict[str, callable]): makes each callable a global function
        of the guest; arguments and results cross as JSON, and the callable
        runs on the host. A tool named "final_answer" post-processes the
        final answer (its return value becomes CodeOutput.output).
      * __call__(code) -> CodeOutput(output, logs, is_final_answer). State
        (variables, imports, functions, /tmp) persists between calls.
      * final_answer(x) inside the code ends the run at once: is_final_answer
        is True and output is x (a JSON-serializable x arrives as a Python
        value, anything else as its repr()). Code that catches BaseException
        can stop it from ending the run, but the answer still counts.
      * output, when there is no final answer, is the value of the code's last
        expression: decoded from JSON when it is JSON-serializable, else its
        repr() string; None when there is none.
      * A guest exception raises pycell.ExecutionError on the host, whose
        message is the printed output followed by the guest traceback (the
        text a model needs to correct its code); so does a run stopped by a
        limit (timeout, fuel, memory, output) or by cancel(). The session
        survives: its state is what the code left behind, or, after a hard
        stop, the state after the last successful call (checkpoint=True
        commits the state after every call that ends normally).

    `sandbox` defaults to a new Sandbox(); the keyword arguments are session
    settings (timeout_ms, memory_mb, fuel, mounts, ...; see pycell.Sandbox).
    """

    def __init__(self, sandbox: Optional[Sandbox] = None, *, checkpoint: bool = True, **settings: Any):
        self._tools: Dict[str, Callable] = {}
        self._answer: Any = _NO_ANSWER
        self._checkpoint = checkpoint
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
        self._run_setup(_PRELUDE)

    # --- the contract -------------------------------------------------------------------------

    def send_variables(self, variables: Mapping[str, Any]) -> None:
        """Binds each name to its value in the session (JSON-serializable values only)."""
        if variables:
            self.session.set_variables(dict(variables))
            self._commit()

    def send_tools(self, tools: Mapping[str, Callable]) -> None:
        """Makes each callable a function of the session, called on the host with JSON arguments."""
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
            raise ExecutionError(self._failure(result), result)
        self._commit()
        # The traceback of FinalAnswerException is not output of the code.
        logs = result.stdout + result.stderr if result.exit_reason == "ok" else result.stdout
        if final:
            return CodeOutput(output=self._answer, logs=logs, is_final_answer=True)
        output = result.value if result.value_json is not None else result.value_repr
        return CodeOutput(output=output, logs=logs, is_final_answer=False)

    # --- extras -------------------------------------------------------------------------------

    def cancel(self) -> None:
        """Stops a call running on another thread (it raises ExecutionError)."""
        self.session.cancel()

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> "PycellExecutor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- internals ------------------------------------------------------------------------------

    def _dispatch(self, args_json: str) -> str:
        call = json.loads(args_json)
        name, args, kwargs = call["name"], call.get("args") or [], call.get("kwargs") or {}
        if name == "final_answer":
            tool = self._tools.get("final_answer")
            self._answer = tool(*args, **kwargs) if tool else (args[0] if args else kwargs.get("answer"))
            return "null"
        if name not in self._tools:
            raise LookupError(f"no tool named {name!r}")
        return _tools.encode_result(name, self._tools[name](*args, **kwargs))

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

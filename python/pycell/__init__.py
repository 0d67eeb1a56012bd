"""pycell: run untrusted Python (CPython 3.13 in a WebAssembly cell) from Python.

    import pycell
    with pycell.Sandbox(timeout_ms=2000, memory_mb=128) as sandbox:
        with sandbox.session() as s:
            s.exec("x = 6 * 7")
            print(s.exec("x").value)       # 42

The guest sees the standard library (read-only) and a private /tmp, and
nothing else unless granted: mounts, environment, host-mediated HTTP and host
functions are keyword arguments of Sandbox / Sandbox.session. See
docs/python.md. AsyncSandbox / AsyncSession are the same for asyncio,
pycell.Client talks to a remote `pycell serve`, and pycell.executor adapts a
session to agent frameworks (smolagents).
"""
from . import _pycell
from ._async import AsyncSandbox, AsyncSession
from ._result import ExecResult, GuestError, TracebackFrame
from ._sandbox import Sandbox, Session, Snapshot, settings_keywords
from .client import Client, ExecEvent, ExecStream, RemoteSession
from .errors import (ConflictError, CorruptError, Error, ExecutionError, HostOSError, InvalidArgumentError, NotFoundError,
                     PermissionDeniedError, ProtocolError, ResourceExhaustedError, UnavailableError)

__version__ = "0.1.0"
#: CPython version of the guest, e.g. "3.13.5".
guest_python_version = _pycell.python_version()

__all__ = ["Sandbox", "Session", "Snapshot", "AsyncSandbox", "AsyncSession", "Client", "RemoteSession",
           "ExecEvent", "ExecStream",
           "ExecResult", "GuestError", "TracebackFrame", "settings_keywords", "Error", "InvalidArgumentError",
           "NotFoundError", "HostOSError", "CorruptError", "ProtocolError", "ResourceExhaustedError",
           "UnavailableError", "ConflictError", "PermissionDeniedError", "ExecutionError", "guest_python_version"]

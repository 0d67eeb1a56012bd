"""AsyncSandbox and AsyncSession: the same API for asyncio programs.

Every call that may block (exec, snapshot, restore, fork, files) runs in the
event loop's default executor, so the loop keeps serving other tasks while
the guest runs (the extension releases the GIL). Cancelling the task that
awaits exec() cancels the run (Session.cancel): the run ends with
exit_reason "cancelled" and the session rolls back to its committed state,
and the CancelledError is raised only once the run has ended, so the session
is free again when the awaiting code sees it.
"""
from __future__ import annotations

import asyncio
import contextvars
import functools
from typing import Any, Callable, Mapping, Optional, Union

from ._result import ExecResult
from ._sandbox import Functions, Sandbox, Session, Snapshot


async def _off_loop(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    loop = asyncio.get_running_loop()
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    return await loop.run_in_executor(None, call)


class AsyncSession:
    """A Session (see pycell.Session) whose blocking calls are awaitables.

    Like a Session, it runs one call at a time: a second call while one is
    running raises UnavailableError. cancel() and `closed` are synchronous.
    """

    def __init__(self, session: Session):
        #: The underlying synchronous pycell.Session.
        self.session = session

    async def exec(self, code: str, **options: Any) -> ExecResult:
        """Runs code (the options of Session.exec; on_output is called on the worker thread).
        Cancelling the awaiting task cancels the run, then raises CancelledError."""
        loop = asyncio.get_running_loop()
        call = functools.partial(contextvars.copy_context().run, self.session.exec, code, **options)
        run = loop.run_in_executor(None, call)
        try:
            return await asyncio.shield(run)
        except asyncio.CancelledError:
            # A cancel that arrives before the guest starts applies to the run
            # when it starts (Session::cancel), so one call is enough; further
            # cancellations of this task while it waits change nothing.
            self.session.cancel()
            while not run.done():
                try:
                    await asyncio.shield(run)
                except asyncio.CancelledError:
                    pass
                except Exception:  # the run's own outcome does not matter: the task was cancelled
                    break
            raise

    async def snapshot(self) -> Snapshot:
        return await _off_loop(self.session.snapshot)

    async def restore(self, snapshot: Snapshot) -> None:
        await _off_loop(self.session.restore, snapshot)

    async def fork(self) -> "AsyncSession":
        return AsyncSession(await _off_loop(self.session.fork))

    async def set_variables(self, variables: Optional[Mapping[str, Any]] = None, /, *, protect: bool = False,
                            **kwargs: Any) -> None:
        await _off_loop(self.session.set_variables, variables, protect=protect, **kwargs)

    async def get_variable(self, name: str) -> Any:
        return await _off_loop(self.session.get_variable, name)

    async def put_file(self, path: str, data: Union[bytes, str]) -> None:
        await _off_loop(self.session.put_file, path, data)

    async def get_file(self, path: str) -> bytes:
        return await _off_loop(self.session.get_file, path)

    def cancel(self) -> None:
        """Stops the running exec (it ends with exit_reason "cancelled")."""
        self.session.cancel()

    async def close(self) -> None:
        await _off_loop(self.session.close)

    @property
    def closed(self) -> bool:
        return self.session.closed

    async def __aenter__(self) -> "AsyncSession":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()


class AsyncSandbox:
    """A Sandbox (see pycell.Sandbox) for asyncio programs.

        async with await pycell.AsyncSandbox.create(timeout_ms=2000) as sandbox:
            async with await sandbox.session() as s:
                print((await s.exec("6 * 7")).value)

    create() builds the engine off the event loop (it takes a while: the
    compiled guest and a pre-initialized interpreter); AsyncSandbox(sandbox)
    wraps an existing Sandbox.
    """

    def __init__(self, sandbox: Sandbox):
        #: The underlying synchronous pycell.Sandbox.
        self.sandbox = sandbox

    @classmethod
    async def create(cls, **kwargs: Any) -> "AsyncSandbox":
        """AsyncSandbox(Sandbox(**kwargs)), built on a worker thread."""
        return cls(await _off_loop(Sandbox, **kwargs))

    async def session(self, *, snapshot: Optional[Snapshot] = None, functions: Functions = None,
                      tools: Functions = None, **settings: Any) -> AsyncSession:
        """A new session (the arguments of Sandbox.session)."""
        return AsyncSession(await _off_loop(self.sandbox.session, snapshot=snapshot, functions=functions,
                                            tools=tools, **settings))

    async def run(self, code: str, **exec_options: Any) -> ExecResult:
        """Runs code in a fresh session that is discarded afterwards; cancellable like AsyncSession.exec."""
        async with await self.session() as s:
            return await s.exec(code, **exec_options)

    async def load_snapshot(self, data: bytes) -> Snapshot:
        return await _off_loop(self.sandbox.load_snapshot, data)

    def close(self) -> None:
        self.sandbox.close()

    async def __aenter__(self) -> "AsyncSandbox":
        return self

    async def __aexit__(self, *exc) -> None:
        self.close()

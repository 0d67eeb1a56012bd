"""asyncio inside the sandbox: an event loop with no self-pipe, and the loop cells' top-level await runs on.

asyncio's selector loop wakes itself through a socketpair (the "self-pipe"), for
call_soon_threadsafe and signal handlers; WASI has no socketpair, so
asyncio.run() failed with OSError ENOTSUP. The guest has one thread and no
signals a handler could receive, so nothing but the loop itself can schedule
work: the pipe would never be written. This loop has none, and when no fd is
registered it waits by sleeping (WASI poll_oneoff), which the host ends early
at the run's deadline or on cancel, so the soft stop reaches the loop as it
reaches any sleep. _pycell makes it asyncio's default when asyncio is imported.
A cell with top-level await runs on it, whole, with the loop's frames beneath
the cell's (the runner cuts them from tracebacks: RUNNER_CODE).
"""
import asyncio
import inspect
import selectors
import time
import warnings

# Longest single wait when nothing is scheduled: the loop then waits for the
# run's deadline, which ends the sleep early (a coroutine awaiting a future no
# one will complete can do nothing else in a single-threaded guest).
_IDLE_WAIT = 86400.0


class _Selector(selectors.DefaultSelector):
    """The default selector, except that waiting with no fd registered is a sleep."""

    def select(self, timeout=None):
        if self.get_map():
            return super().select(timeout)
        time.sleep(_IDLE_WAIT if timeout is None else max(timeout, 0))
        return []


class EventLoop(asyncio.SelectorEventLoop):
    """asyncio's selector event loop without the self-pipe."""

    def __init__(self, selector=None):
        super().__init__(selector if selector is not None else _Selector())

    def _make_self_pipe(self):
        self._ssock = self._csock = None

    def _close_self_pipe(self):
        pass

    def _write_to_self(self):
        # Called to wake a loop blocked in select() from another thread or a
        # signal handler; the guest has neither.
        pass

    def add_signal_handler(self, sig, callback, *args):
        raise NotImplementedError("pycell: the sandbox delivers no signals to asyncio")


class EventLoopPolicy(asyncio.DefaultEventLoopPolicy):
    _loop_factory = EventLoop


def install():
    """Makes EventLoop the loop asyncio.run, new_event_loop, SelectorEventLoop and
    EventLoop give. The default policy is replaced by name, so resetting the
    policy (set_event_loop_policy(None), as test suites do) keeps it."""
    for module in (asyncio, asyncio.unix_events):
        module.SelectorEventLoop = module.EventLoop = EventLoop
        module.DefaultEventLoopPolicy = EventLoopPolicy
    asyncio.set_event_loop_policy(None)


_cell_loop = None


async def _cell(body, expr, g):
    """A cell's statements, then its trailing expression (or None), awaiting
    the code objects that await at top level (they evaluate to coroutines)."""
    result = eval(body, g)
    if body.co_flags & inspect.CO_COROUTINE:
        await result
    if expr is None:
        return None
    value = eval(expr, g)
    if expr.co_flags & inspect.CO_COROUTINE:
        value = await value
    return value


def _session_loop():
    """The loop cells with top-level await run on, made asyncio's current loop,
    so that code in a cell without await (asyncio.ensure_future, get_event_loop)
    schedules on the loop a later cell awaits on. A loop such code made first is
    adopted; after asyncio.run() (which leaves no current loop) a new one is made."""
    global _cell_loop
    if _cell_loop is None or _cell_loop.is_closed():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                loop = asyncio.get_event_loop()
        except RuntimeError:  # asyncio.run() ended, leaving no current loop
            loop = None
        _cell_loop = loop if loop is not None and not loop.is_closed() else asyncio.new_event_loop()
    asyncio.set_event_loop(_cell_loop)
    return _cell_loop


def run_cell(body, expr, g):
    """Runs a cell with top-level await, whole, as one task and returns its trailing value.

    One loop serves all the session's cells, as in IPython, so a task started by
    one cell can be awaited by a later one. If the run ends early (an exception
    escaping the loop, the soft stop), the cell's task is cancelled and given
    the chance to clean up before the run reports.
    """
    loop = _session_loop()
    task = loop.create_task(_cell(body, expr, g))
    try:
        return loop.run_until_complete(task)
    finally:
        if not task.done():
            task.cancel()
            try:
                loop.run_until_complete(task)
            except BaseException:  # the run's own exception is the one to report
                pass


# Frames of the machinery that runs a cell's coroutine: tracebacks start below them.
RUNNER_CODE = (run_cell.__code__, _cell.__code__, asyncio.BaseEventLoop.run_until_complete.__code__)

"""Sandbox (holds the Engine) and Session (one interpreter): the C++ API in Python."""
from __future__ import annotations

import codecs
import json
import os
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Mapping, Optional, Sequence, Union

from . import _pycell, _tools
from ._result import ExecResult

Snapshot = _pycell.Snapshot

Functions = Union[None, Dict[str, Callable], Iterable[Callable]]

_STDLIB_IMAGE = str(Path(__file__).with_name("pycell-stdlib.tar"))


def _settings_json(settings: Mapping[str, Any]) -> str:
    def default(o):
        if isinstance(o, os.PathLike):
            return os.fspath(o)
        raise TypeError(f"{type(o).__name__} is not a valid setting value")

    return json.dumps(dict(settings), default=default)


def settings_keywords() -> Dict[str, str]:
    """Every session setting with a line of help, from the policy schema the CLI and servers share.
    A dotted name ("http.allow_hosts") is a key of that group's dict keyword (http={...})."""
    return dict(_pycell.config_keywords())


class Sandbox:
    """Holds a pycell Engine (the compiled guest and the stdlib image, shared and
    thread-safe) and the default settings of the sessions it creates.

    Settings are keyword arguments from the policy schema that the CLI and
    the servers share (settings_keywords() lists them with their help):
    every field of pycell::Limits by name (timeout_ms, fuel, memory_bytes,
    grace_ms, output_bytes, tmp_bytes, ...) plus memory_mb;
    env={"NAME": "value"}; mounts=[("/host/dir", "/data", "ro"|"rw"|"pkg")]
    (or dicts with host_path, guest_path, access, package_path);
    allow_hosts=["api.example.com"] or http={...} for host-mediated HTTP;
    determinism={"enabled": True, "seed": 7}; functions_as_globals,
    protect_functions. An unknown keyword raises TypeError, a bad value
    InvalidArgumentError (a ValueError).

    functions / tools: host functions the guest may call as
    pycell_host.<name>(...) (and as globals with functions_as_globals=True): a
    dict name -> callable, or a list of callables named by __name__. The
    schema comes from the signature and annotations, the description from the
    docstring; arguments and results cross as JSON.

    Engine keywords: stdlib_image (default: the image shipped in the package),
    extra_images, preinit (snapshot a started interpreter so sessions start
    in microseconds; default True), preload (modules imported into it),
    hash_seed (fixes the string-hash secret, as PYTHONHASHSEED does, so
    deterministic sessions iterate sets of strings alike in every process),
    snapshot_key (bytes, at least 32: the HMAC key that seals serialized
    snapshots; sandboxes with the same key load each other's, and without one
    a sandbox loads only its own).
    """

    def __init__(self, *, functions: Functions = None, tools: Functions = None, stdlib_image: Optional[str] = None,
                 extra_images: Sequence[str] = (), preinit: bool = True, preload: Optional[Sequence[str]] = None,
                 hash_seed: Optional[int] = None, snapshot_key: Optional[bytes] = None, **settings: Any):
        _pycell.check_config(_settings_json(settings))
        self._settings = dict(settings)
        self._functions = {**_tools.host_functions(functions), **_tools.host_functions(tools)}
        self._engine = _pycell.Engine(os.fspath(stdlib_image or _STDLIB_IMAGE), [os.fspath(i) for i in extra_images],
                                      preinit, None if preload is None else list(preload), hash_seed,
                                      None if snapshot_key is None else bytes(snapshot_key))

    def session(self, *, snapshot: Optional[Snapshot] = None, functions: Functions = None, tools: Functions = None,
                **settings: Any) -> "Session":
        """A new session: this sandbox's settings and functions, plus (overriding) the ones given here.
        From `snapshot` if given (its variables, imports and /tmp), else fresh."""
        specs = {**self._functions, **_tools.host_functions(functions), **_tools.host_functions(tools)}
        return self._open(specs, settings, snapshot)

    def _open(self, specs: Dict[str, _tools.Spec], settings: Mapping[str, Any],
              snapshot: Optional[Snapshot] = None) -> "Session":
        if self._engine is None:
            raise ValueError("the sandbox is closed")
        config = _settings_json({**self._settings, **settings})
        return Session(_pycell.create_session(self._engine, config, list(specs.values()), snapshot))

    def load_snapshot(self, data: bytes) -> Snapshot:
        """A snapshot from Snapshot.serialize() bytes made by this sandbox or one with the same
        snapshot_key. Raises CorruptError if they are altered or sealed with another key."""
        if self._engine is None:
            raise ValueError("the sandbox is closed")
        return _pycell.load_snapshot(self._engine, bytes(data))

    def run(self, code: str, **exec_options: Any) -> ExecResult:
        """Runs code in a fresh session that is discarded afterwards (see Session.exec for the options)."""
        with self.session() as s:
            return s.exec(code, **exec_options)

    def close(self) -> None:
        """Drops this sandbox's reference to the engine (live sessions keep it alive)."""
        self._engine = None

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Session:
    """One isolated interpreter; variables, imports and /tmp persist across exec().

    Create it with Sandbox.session(). Use it from one thread at a time (another
    thread calling in meanwhile gets UnavailableError); cancel() is the
    exception and may be called from any thread.

    Every session has a committed state: the one it started from, or its last
    snapshot(). A run that ends in an unknown state (a trap, or a hard stop:
    timeout past the grace period, fuel, cancel) rolls the session back to it
    and sets ExecResult.rolled_back.
    """

    def __init__(self, core: "_pycell.Session"):
        self._core = core

    def exec(self, code: str, *, mode: str = "cell", filename: str = "", argv: Optional[Sequence[str]] = None,
             want_json: bool = True, run_atexit: bool = False,
             on_output: Optional[Callable[[str, str], None]] = None) -> ExecResult:
        """Runs code. A guest exception, exit, timeout or trap is reported in the ExecResult, never raised.

        mode "cell" reports a trailing expression's value (value_repr, and
        value_json/.value when want_json and it is JSON-serializable);
        "script" runs the code as a program. filename names it in tracebacks;
        argv sets sys.argv; run_atexit calls atexit handlers afterwards.
        on_output(stream, text) receives output ("stdout" or "stderr") as the
        guest writes it, before the capture limits apply; it runs on this thread.
        """
        callback = None
        if on_output is not None:
            decoders = {s: codecs.getincrementaldecoder("utf-8")("replace") for s in ("stdout", "stderr")}

            def callback(stream: str, data: bytes) -> None:
                text = decoders[stream].decode(data)
                if text:
                    on_output(stream, text)

        result = self._core.exec(code, mode, filename, list(argv or ()), want_json, run_atexit, callback)
        return ExecResult._from_core(result)

    def snapshot(self) -> Snapshot:
        """Captures the current state and makes it the committed state."""
        return self._core.snapshot()

    def restore(self, snapshot: Snapshot) -> None:
        """Replaces the whole state with `snapshot`, which becomes the committed state."""
        self._core.restore(snapshot)

    def fork(self) -> "Session":
        """A new, independent session starting from this one's current state (same settings and functions)."""
        return Session(self._core.fork())

    def set_variables(self, variables: Optional[Mapping[str, Any]] = None, /, *, protect: bool = False,
                      **kwargs: Any) -> None:
        """Binds globals of the guest's __main__ to JSON-serializable values (dict, list, str,
        int, float, bool, None). protect=True makes guest code unable to rebind or delete them."""
        values = {**(variables or {}), **kwargs}
        for name, value in values.items():
            try:
                json.dumps(value, allow_nan=False)
            except (TypeError, ValueError) as e:
                raise TypeError(f"variable {name!r} is not JSON-serializable: {e}") from None
        self._core.set_variables(json.dumps(values), protect)

    def get_variable(self, name: str) -> Any:
        """A global of the guest's __main__, decoded from JSON. NotFoundError (a LookupError) if
        it does not exist, InvalidArgumentError (a ValueError) if it is not JSON-serializable."""
        return json.loads(self._core.get_variable(name))

    def put_file(self, path: str, data: Union[bytes, str]) -> None:
        """Writes a file into the session's /tmp (absolute under /tmp, or relative to it);
        parent directories are created. A str is written as UTF-8."""
        self._core.put_file(path, data.encode() if isinstance(data, str) else bytes(data))

    def get_file(self, path: str) -> bytes:
        """Reads a file from the session's /tmp."""
        return self._core.get_file(path)

    def cancel(self) -> None:
        """Stops the exec running on another thread; it ends with exit_reason "cancelled"."""
        self._core.cancel()

    def close(self) -> None:
        """Frees the interpreter now (otherwise it is freed with this object)."""
        if not self._core.closed:
            self._core.close()

    @property
    def closed(self) -> bool:
        return self._core.closed

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

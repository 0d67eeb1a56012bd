"""ExecResult and its parts: what one Session.exec reports (result.h in C++)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple


@dataclass(frozen=True)
class TracebackFrame:
    """One frame of a guest traceback, innermost last."""

    file: str
    line: int
    function: str
    source: str = ""  # the source line, stripped; empty if unknown


@dataclass(frozen=True)
class GuestError:
    """An uncaught Python exception in the guest."""

    type: str  # qualified name, e.g. "ValueError" or "json.decoder.JSONDecodeError"
    message: str  # str(exception)
    frames: Tuple[TracebackFrame, ...] = ()

    def format(self) -> str:
        """The traceback as CPython prints it."""
        lines = []
        if self.frames:
            lines.append("Traceback (most recent call last):")
            for f in self.frames:
                lines.append(f'  File "{f.file}", line {f.line}, in {f.function}')
                if f.source:
                    lines.append(f"    {f.source}")
        lines.append(f"{self.type}: {self.message}" if self.message else self.type)
        return "\n".join(lines)


@dataclass(frozen=True)
class ExecResult:
    """The outcome of Session.exec. A guest failure is reported here, not raised."""

    stdout: str = ""
    stderr: str = ""
    value_repr: Optional[str] = None  # repr() of a trailing expression (cell mode), if not None
    value_json: Optional[str] = None  # its JSON, if it was JSON-serializable
    error: Optional[GuestError] = None
    # ok | exception | exit | timeout | fuel | memory | output_limit | cancelled | trap
    exit_reason: str = "ok"
    exit_code: int = 0  # 0 ok, 1 uncaught exception, n for exit(n)
    trap: Optional[str] = None  # when exit_reason is "trap": out_of_bounds, stack_exhausted, ...
    wall_time: float = 0.0  # seconds
    fuel_used: int = 0
    rolled_back: bool = False  # the session went back to its last committed snapshot
    peak_memory: int = 0  # guest memory at the end of the run, in bytes
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    # pycell.Client.exec(output_files=[...]) only: each asked-for path's bytes, None if the run
    # left no such file; None when none were asked for. A dict, so left out of the hash.
    output_files: Optional[Dict[str, Optional[bytes]]] = field(default=None, hash=False)

    @property
    def ok(self) -> bool:
        return self.exit_reason == "ok"

    @property
    def value(self) -> Any:
        """The trailing expression's value decoded from JSON; None if there is none or it is not JSON."""
        return None if self.value_json is None else json.loads(self.value_json)

    @classmethod
    def _from_core(cls, d: dict) -> "ExecResult":
        e = d.get("error")
        if e is not None:
            d = dict(d, error=GuestError(e["type"], e["message"],
                                         tuple(TracebackFrame(**f) for f in e["frames"])))
        return cls(**d)

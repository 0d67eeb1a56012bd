"""pycell.Client: the REST API of a remote `pycell serve` (docs/server.md), standard library only.

    client = pycell.Client("http://127.0.0.1:8765", token="...")
    with client.session(config={"limits": {"timeout_ms": 2000}}) as s:
        s.put_file("data.csv", b"a,b\\n1,2\\n")
        r = s.exec("import csv; list(csv.DictReader(open('data.csv')))")
        print(r.value)                     # [{'a': '1', 'b': '2'}]
        with s.exec_stream("for i in range(3): print(i)") as events:
            for event in events:           # stdout/stderr text as the run writes it, then its result
                print(event.type, event.text or event.result)

Results are the same ExecResult a local Session returns (a guest failure is
reported there, not raised), and the server's errors are the same exception
classes: 400 InvalidArgumentError, 401/403 PermissionDeniedError, 404
NotFoundError, 409 ConflictError (a file in the way) or UnavailableError, 503 UnavailableError, 413/429/431 ResourceExhaustedError;
each also carries `status` (the HTTP status) and `server_code` (the code the
server named). A server that cannot be reached raises UnavailableError.

A response is trusted no more than a request: a body, or one line of a
streamed exec, over max_response_bytes raises ResourceExhaustedError before
more of it is read.
"""
from __future__ import annotations

import base64
import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Union

from ._result import ExecResult, GuestError, TracebackFrame
from .errors import (ConflictError, Error, InvalidArgumentError, NotFoundError, PermissionDeniedError, ResourceExhaustedError,
                     UnavailableError)

_BY_SERVER_CODE = {
    "bad_request": InvalidArgumentError, "snapshot_conflict": InvalidArgumentError,
    "unauthorized": PermissionDeniedError, "forbidden_origin": PermissionDeniedError,
    "forbidden_host": PermissionDeniedError,
    "not_found": NotFoundError,
    "conflict": ConflictError, "session_unavailable": UnavailableError, "overloaded": UnavailableError, "shutting_down": UnavailableError,
    "payload_too_large": ResourceExhaustedError, "tmp_quota_exceeded": ResourceExhaustedError,
    "too_many_sessions": ResourceExhaustedError, "too_many_snapshots": ResourceExhaustedError,
    "header_fields_too_large": ResourceExhaustedError, "output_too_large": ResourceExhaustedError,
}
_BY_STATUS = {400: InvalidArgumentError, 401: PermissionDeniedError, 403: PermissionDeniedError,
              404: NotFoundError, 409: UnavailableError, 503: UnavailableError, 413: ResourceExhaustedError,
              429: ResourceExhaustedError, 431: ResourceExhaustedError}


def _server_error(status: int, body: bytes) -> Error:
    code, message = None, body[:500].decode("utf-8", "replace") or f"HTTP {status}"
    try:
        error = json.loads(body)["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError, RecursionError):
        pass
    return _error(status, code, message)


def _error(status: int, code: Optional[str], message: str) -> Error:
    cls = _BY_SERVER_CODE.get(code) or _BY_STATUS.get(status, Error)
    exc = cls(f"{message} (HTTP {status}{', ' + code if code else ''})")
    exc.status, exc.server_code = status, code
    return exc


def _exec_result(d: Mapping[str, Any]) -> ExecResult:
    """An ExecResult from the server's JSON (value_json is a JSON value there, text here)."""
    error = d.get("error")
    if error is not None:
        frames = tuple(TracebackFrame(f.get("file", ""), f.get("line", 0), f.get("function", ""), f.get("source", ""))
                       for f in error.get("frames") or ())
        error = GuestError(error.get("type", ""), error.get("message", ""), frames)
    trap = d.get("trap")
    return ExecResult(
        stdout=d.get("stdout", ""), stderr=d.get("stderr", ""), value_repr=d.get("value_repr"),
        value_json=None if d.get("value_json") is None else json.dumps(d["value_json"]),
        error=error, exit_reason=d.get("exit_reason", "ok"), exit_code=d.get("exit_code", 0),
        trap=None if trap in (None, "none") else trap, wall_time=d.get("wall_time_ms", 0) / 1000,
        fuel_used=d.get("fuel_used", 0), rolled_back=d.get("rolled_back", False),
        peak_memory=d.get("peak_memory", 0), stdout_truncated=d.get("stdout_truncated", False),
        stderr_truncated=d.get("stderr_truncated", False),
        output_files=None if d.get("output_files") is None else {
            path: None if data is None else base64.b64decode(data, validate=True)
            for path, data in d["output_files"].items()})


@dataclass(frozen=True)
class ExecEvent:
    """One event of a streamed run (exec_stream): in the order the server sent them."""

    # "stdout" or "stderr": `text` was written (a character is never split between events);
    # "dropped": the server left out `dropped` bytes of `stream` because this client read too
    # slowly (the result still has the captured output whole);
    # "result": the run is over and `result` is its ExecResult; it is the last event.
    type: str
    text: str = ""
    stream: Optional[str] = None  # "stdout" or "stderr", for text and dropped events
    dropped: int = 0
    result: Optional[ExecResult] = None


class ExecStream:
    """The events of a run as it goes (NDJSON); iterate it, ideally in a `with` block.

    close(), leaving the `with` block, or a failure while reading closes the
    connection, and the server cancels a run whose client is gone (a session's
    run rolls back to its committed state). An `error` event from the server
    raises the package's exception for its code; a line over
    max_response_bytes raises ResourceExhaustedError; a stream that ends
    before its result raises UnavailableError. `result` is set once the result
    event has been read.
    """

    def __init__(self, response: http.client.HTTPResponse, max_line_bytes: int, origin: str):
        self._response: Optional[http.client.HTTPResponse] = response
        self._max_line_bytes = max_line_bytes
        self._origin = origin
        self.result: Optional[ExecResult] = None

    def __iter__(self) -> "ExecStream":
        return self

    def __next__(self) -> ExecEvent:
        while self._response is not None:
            record = self._next_record()
            if record is None:
                continue
            try:
                event = self._event(record)
            except Error:
                self.close()
                raise
            except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as e:
                self.close()
                message = f"the stream from {self._origin} sent a malformed {record.get('type')} event: {e!r}"
                raise Error(message[:300]) from e
            if event is not None:
                return event
        raise StopIteration

    def close(self) -> None:
        """Closes the connection (the run is cancelled unless it has ended)."""
        response, self._response = self._response, None
        if response is not None:
            response.close()

    def __enter__(self) -> "ExecStream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _next_record(self) -> Optional[Mapping[str, Any]]:
        """The next line's JSON object, None for a blank line; raises (and closes) on a bad line."""
        assert self._response is not None
        try:
            # Bounded: readline(n) never holds more than n bytes, however long the line is.
            line = self._response.readline(self._max_line_bytes + 1)
        except (OSError, http.client.HTTPException) as e:
            self.close()
            raise UnavailableError(f"the stream from {self._origin} broke off: {e}") from e
        if len(line) > self._max_line_bytes and not line.endswith(b"\n"):
            self.close()
            raise ResourceExhaustedError(f"a line of the stream from {self._origin} is over "
                                         f"max_response_bytes ({self._max_line_bytes}); stream closed")
        if not line:
            self.close()
            raise UnavailableError(f"the stream from {self._origin} ended before the run's result")
        if not line.strip():
            return None
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):  # RecursionError: nesting deeper than the interpreter's stack
            record = None
        if not isinstance(record, dict):
            self.close()
            raise Error(f"the stream from {self._origin} sent a line that is not a JSON object: {line[:200]!r}")
        return record

    def _event(self, record: Mapping[str, Any]) -> Optional[ExecEvent]:
        kind = record.get("type")
        if kind in ("stdout", "stderr"):
            return ExecEvent(kind, text=str(record.get("text", "")), stream=kind)
        if kind == "dropped":
            dropped = record.get("bytes")
            if type(dropped) is not int or dropped < 0:
                raise ValueError(f"bytes {dropped!r} is not a count")
            return ExecEvent(kind, stream=str(record.get("stream")), dropped=dropped)
        if kind == "result":
            self.result = _exec_result(record["result"])
            self.close()
            return ExecEvent(kind, result=self.result)
        if kind == "error":
            error = record.get("error") or {}
            # The head (200) was out before the run failed; the code says what the plain answer's status was.
            raise _error(200, str(error.get("code")), str(error.get("message", "the run failed on the server")))
        return None  # a kind this client does not know yet: skipped


class Client:
    """A remote `pycell serve` at base_url ("http://host:port").

    token: the server's --bearer-token. timeout: seconds to wait for each
    response (keep it above the runs' timeout_ms). max_response_bytes bounds
    what one response may make this process hold.
    """

    def __init__(self, base_url: str, *, token: Optional[str] = None, timeout: float = 120.0,
                 max_response_bytes: int = 64 << 20):
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._timeout = timeout
        self._max_response_bytes = max_response_bytes

    # --- the API ----------------------------------------------------------------------------------

    def health(self) -> Dict[str, Any]:
        """GET /v1/health: status, and with the token versions, session counts and configuration."""
        return self._json("GET", "/v1/health")

    def exec(self, code: str, *, mode: str = "cell", want_json: bool = True,
             config: Optional[Mapping[str, Any]] = None, files: Optional[Mapping[str, Union[bytes, str]]] = None,
             output_files: Optional[Iterable[str]] = None) -> ExecResult:
        """Runs code in a fresh interpreter that the server discards afterwards.

        files ({path: bytes or str}) are written into its /tmp before the run; the
        result's output_files holds the bytes of each path in output_files after it
        (None for a path that is not a file under /tmp).
        """
        return _exec_result(self._json("POST", "/v1/exec",
                                       _stateless_body(code, mode, want_json, config, files, output_files)))

    def exec_stream(self, code: str, *, mode: str = "cell", want_json: bool = True,
                    config: Optional[Mapping[str, Any]] = None,
                    files: Optional[Mapping[str, Union[bytes, str]]] = None,
                    output_files: Optional[Iterable[str]] = None) -> ExecStream:
        """exec(), streamed: the run's output as it is written, then its result (ExecStream)."""
        return self._stream("/v1/exec", _stateless_body(code, mode, want_json, config, files, output_files))

    def session(self, *, config: Optional[Mapping[str, Any]] = None,
                snapshot_id: Optional[str] = None) -> "RemoteSession":
        """A new persistent session; config may lower limits, e.g. {"limits": {"timeout_ms": 1000}}."""
        body: Dict[str, Any] = {}
        if config is not None:
            body["config"] = dict(config)
        if snapshot_id is not None:
            body["snapshot_id"] = snapshot_id
        created = self._json("POST", "/v1/sessions", body)
        return RemoteSession(self, created["session_id"], created.get("config"))

    def sessions(self) -> List[Dict[str, Any]]:
        """The server's REST sessions (GET /v1/sessions)."""
        listed = self._json("GET", "/v1/sessions")
        return listed["sessions"] if isinstance(listed, dict) else listed

    def delete_snapshot(self, snapshot_id: str) -> None:
        self._request("DELETE", f"/v1/snapshots/{_segment(snapshot_id)}")

    # --- transport --------------------------------------------------------------------------------

    def _json(self, method: str, path: str, body: Any = None) -> Any:
        # A POST without a body still says Content-Length: 0.
        data = (b"" if method == "POST" else None) if body is None else json.dumps(body).encode()
        answer = self._request(method, path, data, "application/json")
        try:
            return json.loads(answer)
        except (ValueError, RecursionError) as e:  # RecursionError: nesting deeper than the interpreter's stack
            raise Error(f"the server at {self.base_url} answered with malformed JSON: {e}") from None

    def _stream(self, path: str, body: Mapping[str, Any]) -> ExecStream:
        response = self._open("POST", path, json.dumps(body).encode(), "application/json",
                              accept="application/x-ndjson")
        content_type = response.headers.get_content_type()
        if content_type != "application/x-ndjson":
            response.close()
            raise Error(f"the server at {self.base_url} answered a streamed exec with {content_type}, "
                        "not application/x-ndjson")
        return ExecStream(response, self._max_response_bytes, self.base_url)

    def _request(self, method: str, path: str, data: Optional[bytes] = None,
                 content_type: str = "application/octet-stream") -> bytes:
        with self._open(method, path, data, content_type) as response:
            try:
                return self._read(response)
            except (OSError, http.client.HTTPException) as e:
                raise UnavailableError(f"the answer from {self.base_url} broke off: {e}") from e

    def _open(self, method: str, path: str, data: Optional[bytes] = None,
              content_type: str = "application/octet-stream",
              accept: str = "application/json, application/octet-stream") -> http.client.HTTPResponse:
        headers = {"Accept": accept}
        if data:
            headers["Content-Type"] = content_type
        if self._token is not None:
            headers["Authorization"] = f"Bearer {self._token}"
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        try:
            return urllib.request.urlopen(request, timeout=self._timeout)
        except urllib.error.HTTPError as e:
            with e:
                raise _server_error(e.code, self._read(e)) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
            raise UnavailableError(f"cannot reach the pycell server at {self.base_url}: {e}") from e

    def _read(self, response) -> bytes:
        body = response.read(self._max_response_bytes + 1)
        if len(body) > self._max_response_bytes:
            raise ResourceExhaustedError(f"the response is over max_response_bytes ({self._max_response_bytes})")
        return body


def _segment(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def _stateless_body(code: str, mode: str, want_json: bool, config: Optional[Mapping[str, Any]],
                    files: Optional[Mapping[str, Union[bytes, str]]],
                    output_files: Optional[Iterable[str]]) -> Dict[str, Any]:
    body: Dict[str, Any] = {"code": code, "mode": mode, "want_json": want_json}
    if config is not None:
        body["config"] = dict(config)
    if files is not None:
        body["files"] = {path: base64.b64encode(_bytes(data)).decode("ascii") for path, data in files.items()}
    if output_files is not None:
        body["output_files"] = list(output_files)
    return body


def _bytes(data: Union[bytes, str]) -> bytes:
    return data.encode() if isinstance(data, str) else bytes(data)


class RemoteSession:
    """A session of a remote server: variables, imports and /tmp persist across exec()."""

    def __init__(self, client: Client, session_id: str, config: Optional[Mapping[str, Any]] = None):
        self._client = client
        #: The server's id for it (ses_...).
        self.id = session_id
        #: The session's full configuration, as the server reported it on creation.
        self.config = config

    def exec(self, code: str, *, mode: str = "cell", want_json: bool = True) -> ExecResult:
        """Runs code; a guest failure is reported in the ExecResult, never raised."""
        return _exec_result(self._client._json("POST", f"{self._path}/exec",
                                               {"code": code, "mode": mode, "want_json": want_json}))

    def exec_stream(self, code: str, *, mode: str = "cell", want_json: bool = True) -> ExecStream:
        """exec(), streamed: the run's output as it is written, then its result (ExecStream).
        Closing the stream before the result cancels the run, and the session rolls back."""
        return self._client._stream(f"{self._path}/exec", {"code": code, "mode": mode, "want_json": want_json})

    def put_file(self, path: str, data: Union[bytes, str]) -> None:
        """Writes a file into the session's /tmp (relative to it, or absolute under it)."""
        self._client._request("PUT", self._file(path), _bytes(data))

    def get_file(self, path: str) -> bytes:
        return self._client._request("GET", self._file(path))

    def list_files(self) -> List[Dict[str, Any]]:
        """Everything under the session's /tmp, sorted: {"path", "directory", "bytes"} each."""
        return self._client._json("GET", f"{self._path}/files")["files"]

    def delete_file(self, path: str) -> None:
        """Removes a file, or a directory with everything in it, from the session's /tmp."""
        self._client._request("DELETE", self._file(path))

    def snapshot(self) -> str:
        """Stores a snapshot in the server; returns its id (for restore() or Client.session())."""
        return self._client._json("POST", f"{self._path}/snapshot")["snapshot_id"]

    def restore(self, snapshot_id: str) -> None:
        self._client._json("POST", f"{self._path}/restore", {"snapshot_id": snapshot_id})

    def fork(self) -> "RemoteSession":
        """An independent copy of this session's current state."""
        return RemoteSession(self._client, self._client._json("POST", f"{self._path}/fork")["session_id"])

    def reset(self) -> None:
        """A fresh interpreter under the same id and configuration."""
        self._client._json("POST", f"{self._path}/reset")

    def close(self) -> None:
        """Closes the session on the server (a run in progress is cancelled)."""
        self._client._request("DELETE", self._path)

    @property
    def _path(self) -> str:
        return f"/v1/sessions/{_segment(self.id)}"

    def _file(self, path: str) -> str:
        relative = path[len("/tmp/"):] if path.startswith("/tmp/") else path
        return f"{self._path}/files/{urllib.parse.quote(relative, safe='/')}"

    def __enter__(self) -> "RemoteSession":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

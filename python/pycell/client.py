"""pycell.Client: the REST API of a remote `pycell serve` (docs/server.md), standard library only.

    client = pycell.Client("http://127.0.0.1:8765", token="...")
    with client.session(config={"limits": {"timeout_ms": 2000}}) as s:
        s.put_file("data.csv", b"a,b\\n1,2\\n")
        r = s.exec("import csv; list(csv.DictReader(open('data.csv')))")
        print(r.value)                     # [{'a': '1', 'b': '2'}]

Results are the same ExecResult a local Session returns (a guest failure is
reported there, not raised), and the server's errors are the same exception
classes: 400 InvalidArgumentError, 401/403 PermissionDeniedError, 404
NotFoundError, 409/503 UnavailableError, 413/429/431 ResourceExhaustedError;
each also carries `status` (the HTTP status) and `server_code` (the code the
server named). A server that cannot be reached raises UnavailableError.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, List, Mapping, Optional, Union

from ._result import ExecResult, GuestError, TracebackFrame
from .errors import (Error, InvalidArgumentError, NotFoundError, PermissionDeniedError, ResourceExhaustedError,
                     UnavailableError)

_BY_SERVER_CODE = {
    "bad_request": InvalidArgumentError, "snapshot_conflict": InvalidArgumentError,
    "unauthorized": PermissionDeniedError, "forbidden_origin": PermissionDeniedError,
    "forbidden_host": PermissionDeniedError,
    "not_found": NotFoundError,
    "session_unavailable": UnavailableError, "overloaded": UnavailableError, "shutting_down": UnavailableError,
    "payload_too_large": ResourceExhaustedError, "tmp_quota_exceeded": ResourceExhaustedError,
    "too_many_sessions": ResourceExhaustedError, "too_many_snapshots": ResourceExhaustedError,
    "header_fields_too_large": ResourceExhaustedError,
}
_BY_STATUS = {400: InvalidArgumentError, 401: PermissionDeniedError, 403: PermissionDeniedError,
              404: NotFoundError, 409: UnavailableError, 503: UnavailableError, 413: ResourceExhaustedError,
              429: ResourceExhaustedError, 431: ResourceExhaustedError}


def _server_error(status: int, body: bytes) -> Error:
    code, message = None, body[:500].decode("utf-8", "replace") or f"HTTP {status}"
    try:
        error = json.loads(body)["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        pass
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
        stderr_truncated=d.get("stderr_truncated", False))


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
             config: Optional[Mapping[str, Any]] = None) -> ExecResult:
        """Runs code in a fresh interpreter that the server discards afterwards."""
        body: Dict[str, Any] = {"code": code, "mode": mode, "want_json": want_json}
        if config is not None:
            body["config"] = dict(config)
        return _exec_result(self._json("POST", "/v1/exec", body))

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
        return json.loads(self._request(method, path, data, "application/json"))

    def _request(self, method: str, path: str, data: Optional[bytes] = None,
                 content_type: str = "application/octet-stream") -> bytes:
        headers = {"Accept": "application/json, application/octet-stream"}
        if data:
            headers["Content-Type"] = content_type
        if self._token is not None:
            headers["Authorization"] = f"Bearer {self._token}"
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                return self._read(response)
        except urllib.error.HTTPError as e:
            with e:
                raise _server_error(e.code, self._read(e)) from None
        except (urllib.error.URLError, OSError) as e:
            raise UnavailableError(f"cannot reach the pycell server at {self.base_url}: {e}") from e

    def _read(self, response) -> bytes:
        body = response.read(self._max_response_bytes + 1)
        if len(body) > self._max_response_bytes:
            raise ResourceExhaustedError(f"the response is over max_response_bytes ({self._max_response_bytes})")
        return body


def _segment(text: str) -> str:
    return urllib.parse.quote(text, safe="")


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

    def put_file(self, path: str, data: Union[bytes, str]) -> None:
        """Writes a file into the session's /tmp (relative to it, or absolute under it)."""
        self._client._request("PUT", self._file(path), data.encode() if isinstance(data, str) else bytes(data))

    def get_file(self, path: str) -> bytes:
        return self._client._request("GET", self._file(path))

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

"""HTTP(S) through the host: the only network a pycell session can have.

The host makes each request itself, under its policy: an allowlist of hosts,
checked again after DNS resolution and on every redirect; private, loopback
and metadata addresses refused unless allowed; capped sizes and time; secret
headers (API keys) added by the host, never visible here.

    import pycell_http
    r = pycell_http.request("GET", "https://api.example.com/items")
    r.status, r.headers, r.json()

urllib.request.urlopen goes through it too once the host grants HTTP.
Refusals raise PermissionError, time limits TimeoutError, other failures
ConnectionError (urllib wraps them in URLError, as it does for sockets).
"""
import base64
import email.message
import io
import json

import pycell_host

__all__ = ["Response", "request", "install_urllib"]


class Response:
    """A complete HTTP response (the host reads the whole body, up to its cap)."""

    def __init__(self, status, url, headers, body, redirects):
        self.status = status
        self.url = url
        self.headers = headers  # list of (name, value), in order
        self.body = body
        self.redirects = redirects

    def header(self, name, default=None):
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return default

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<pycell_http.Response {self.status} {self.url} ({len(self.body)} bytes)>"


def request(method, url, headers=None, body=None, timeout=None):
    """Sends one request through the host and returns a Response.

    headers: dict or list of pairs; body: bytes or str (UTF-8); timeout: seconds.
    """
    if isinstance(body, str):
        body = body.encode()
    pairs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    args = {"method": method.upper(), "url": url, "headers": [[str(k), str(v)] for k, v in pairs]}
    if body:
        args["body_b64"] = base64.b64encode(bytes(body)).decode()
    if timeout is not None:
        args["timeout_ms"] = max(1, int(timeout * 1000))
    try:
        reply = pycell_host.call("__http__", args)
    except pycell_host.HostError as e:
        raise ConnectionError(str(e)) from None
    return Response(reply["status"], reply["url"], [tuple(h) for h in reply["headers"]],
                    base64.b64decode(reply["body_b64"]), reply.get("redirects", 0))


def install_urllib():
    """Routes urllib.request's http and https through request()."""
    import urllib.error
    import urllib.request
    import urllib.response

    class HostHandler(urllib.request.BaseHandler):
        handler_order = 100  # before the socket-based handlers

        def _open(self, req):
            try:
                timeout = req.timeout if isinstance(req.timeout, (int, float)) else None
                r = request(req.get_method(), req.full_url, dict(req.header_items()), req.data, timeout)
            except (ConnectionError, PermissionError, TimeoutError) as e:
                raise urllib.error.URLError(e) from None
            msg = email.message.Message()
            for key, value in r.headers:
                msg[key] = value
            resp = urllib.response.addinfourl(io.BytesIO(r.body), msg, r.url, r.status)
            resp.msg = ""
            return resp

        http_open = https_open = _open

    urllib.request.install_opener(urllib.request.build_opener(HostHandler))

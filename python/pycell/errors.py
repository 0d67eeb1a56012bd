"""Exceptions raised by pycell on the host side.

A failure of the *guest* code (a Python exception, a timeout, a trap) is not an
exception here: it is reported in the ExecResult. These exceptions mean the
host could not do what was asked; each matches a pycell::ErrorCode and also
derives from the built-in exception a Python caller would expect.
"""


class Error(Exception):
    """A host-side pycell error. `code` names the C++ ErrorCode."""

    code = "unknown"


class InvalidArgumentError(Error, ValueError):
    """The caller passed something malformed (e.g. a variable name that is not an identifier)."""

    code = "invalid_argument"


class NotFoundError(Error, LookupError):
    """A named file, image, variable or object does not exist."""

    code = "not_found"


class HostOSError(Error, OSError):
    """The host operating system refused an operation."""

    code = "io"


class CorruptError(Error):
    """An image or snapshot failed its integrity check."""

    code = "corrupt"


class ProtocolError(Error):
    """The guest broke the host/guest protocol."""

    code = "guest"


class ResourceExhaustedError(Error):
    """A host resource (memory map, thread, quota) ran out."""

    code = "resource_exhausted"


class UnavailableError(Error):
    """The session cannot run: it is closed, or in use by another thread."""

    code = "unavailable"


class ConflictError(Error):
    """The request is valid but at odds with what exists: e.g. put_file('data/in.csv') where
    /tmp/data is a file, or get_file on a directory."""

    code = "conflict"


class PermissionDeniedError(Error, PermissionError):
    """A pycell server refused the request: a missing or wrong bearer token, or an Origin or
    Host its policy does not accept (pycell.Client)."""

    code = "permission_denied"


class ExecutionError(Error):
    """Raised by pycell.executor when the guest code fails (see PycellExecutor).

    Session.exec never raises it: there a guest failure is reported in the
    ExecResult. str() is the printed output followed by the guest traceback;
    `result` is the full ExecResult.
    """

    code = "execution"

    def __init__(self, message, result):
        super().__init__(message)
        self.result = result


_BY_CODE = {cls.code: cls for cls in (InvalidArgumentError, NotFoundError, HostOSError, CorruptError,
                                      ProtocolError, ResourceExhaustedError, UnavailableError, ConflictError)}


def from_code(code, message):
    """The exception for a C++ ErrorCode name (used by the extension module)."""
    return _BY_CODE.get(code, Error)(message)

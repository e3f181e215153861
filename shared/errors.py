"""One small error hierarchy for every verinet service.

Each error carries a stable ``code`` (machine-readable, e.g. ``gtin.check_digit``) and a
biip-style message: what failed, the input's repr, expected vs got. A ``kind`` groups errors
for the boundary tables: ``verinet.rpc`` maps kinds to gRPC status codes (the code and details
travel in gRPC's rich error model) and the gateway maps gRPC status codes to HTTP.
Transport-free on purpose: domain code raises these.
"""

from __future__ import annotations

import enum
from typing import Any


class ErrorKind(enum.Enum):
    """How a failure is seen from outside; one boundary table maps each kind."""

    INVALID = "invalid"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    RATE_LIMITED = "rate_limited"
    REQUEST_TIMEOUT = "request_timeout"
    TOO_LARGE = "too_large"
    UNAVAILABLE = "unavailable"
    TIMEOUT = "timeout"
    BAD_UPSTREAM = "bad_upstream"
    INTERNAL = "internal"


#: Longest message (and field) an error keeps: an error that echoes input stays small, in
#: answers, logs and gRPC trailing metadata (whose hard limit is 16 KiB).
MAX_MESSAGE_CHARS = 1000
MAX_FIELD_CHARS = 200


#: The details whose values are whole numbers (a position in the input, a limit, seconds to
#: wait, a remote status); every other detail, and ``field``, is text. Between services an
#: error's details travel as text (google.rpc.ErrorInfo metadata): this says which to read
#: back as numbers, so a problem document shows the very values the service raised.
NUMBER_DETAILS = frozenset({"position", "limit", "line", "column", "retry_after", "remote_status"})


def bounded(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` cut in the middle to at most ``limit`` characters, with an ellipsis, keeping
    its start (what failed) and its end (what was expected); lone surrogates become escapes,
    so every message can be sent as UTF-8.

    >>> bounded("Failed to read 'abcdefghijklmnopqrstuvwxyz': expected 3 letters.", 40)
    "Failed to read 'abcdefghij…ed 3 letters."
    >>> bounded("a " + chr(0xDC00) + " b")
    'a \\\\udc00 b'
    """
    if len(text) > limit:
        tail = limit // 3
        text = text[: limit - tail - 1] + "…" + text[-tail:]
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError:
            text = text.encode("utf-8", "backslashreplace").decode()
    return text


def _present(members: dict[str, Any]) -> dict[str, Any]:
    """The members that have a value: a problem document leaves out the others."""
    return {name: value for name, value in members.items() if value is not None}


class VerinetError(Exception):
    """Base of every error verinet raises on purpose."""

    kind: ErrorKind = ErrorKind.INTERNAL
    default_code: str = "internal"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        **details: Any,
    ) -> None:
        message = bounded(message)
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.field = None if field is None else bounded(field, MAX_FIELD_CHARS)
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        """The error as the JSON members of a problem document."""
        members = {"field": self.field, **self.details}
        return {"code": self.code, "message": self.message, **_present(members)}


class InvalidInput(VerinetError):
    """The request is malformed or a value is out of range."""

    kind = ErrorKind.INVALID
    default_code = "invalid"


def unexpected(
    failed_to: str, value: object, expected: str, *, code: str | None = None, field: str | None = None
) -> InvalidInput:
    """The uniform message for a value that does not fit, as an InvalidInput to raise.

    >>> unexpected("read line", "a b", "letters and digits", code="line.invalid").message
    "Failed to read line 'a b': expected letters and digits."
    """
    return InvalidInput(f"Failed to {failed_to} {value!r}: expected {expected}.", code=code, field=field)


class IdentifierError(InvalidInput):
    """A GS1 identifier (GTIN, GLN, AI element string, Digital Link) failed to parse.

    ``ai`` is the Application Identifier at fault, ``position`` the 0-based character
    offset in the input, ``hint`` a suggestion when a known scanner fault fits.
    """

    default_code = "identifier.invalid"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        ai: str | None = None,
        position: int | None = None,
        hint: str | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message, code=code, field=field, **details)
        self.ai = ai
        self.position = position
        self.hint = hint

    def as_dict(self) -> dict[str, Any]:
        where = {"ai": self.ai, "position": self.position, "hint": self.hint}
        return {**super().as_dict(), **_present(where)}


class Unauthenticated(VerinetError):
    """No credentials, or credentials that are not (or no longer) valid."""

    kind = ErrorKind.UNAUTHENTICATED
    default_code = "auth.unauthenticated"


class Forbidden(VerinetError):
    """The caller is known but may not do this."""

    kind = ErrorKind.FORBIDDEN
    default_code = "auth.forbidden"


class NotFound(VerinetError):
    """The thing asked for does not exist."""

    kind = ErrorKind.NOT_FOUND
    default_code = "not_found"


class Conflict(VerinetError):
    """The request contradicts what is stored."""

    kind = ErrorKind.CONFLICT
    default_code = "conflict"


class RateLimited(VerinetError):
    """Too many requests; retry later."""

    kind = ErrorKind.RATE_LIMITED
    default_code = "rate_limited"


class TooLarge(VerinetError):
    """The request is larger than a limit allows (bytes, a line, values): 413."""

    kind = ErrorKind.TOO_LARGE
    default_code = "body.too_large"


class RequestTimeout(VerinetError):
    """The client did not send its request in time."""

    kind = ErrorKind.REQUEST_TIMEOUT
    default_code = "request.timeout"


class Unavailable(VerinetError):
    """A dependency (Redis, a service, a remote network) cannot be reached."""

    kind = ErrorKind.UNAVAILABLE
    default_code = "unavailable"


class UpstreamTimeout(VerinetError):
    """A dependency did not answer within its deadline."""

    kind = ErrorKind.TIMEOUT
    default_code = "upstream.timeout"


class BadUpstream(VerinetError):
    """A remote network answered with something unusable."""

    kind = ErrorKind.BAD_UPSTREAM
    default_code = "upstream.bad_response"


class ConfigError(VerinetError):
    """A setting is missing or malformed; the message names the variable and an example."""

    kind = ErrorKind.INTERNAL
    default_code = "config.invalid"

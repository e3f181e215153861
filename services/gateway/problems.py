"""HTTP error answers: the one table from error kinds to HTTP status, and RFC 9457 bodies."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import orjson
from aiohttp import web

from verinet.errors import ErrorKind, VerinetError

#: The one table from error kinds to HTTP status codes.
HTTP_STATUS_BY_KIND: dict[ErrorKind, int] = {
    ErrorKind.INVALID: 400,
    ErrorKind.UNAUTHENTICATED: 401,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.RATE_LIMITED: 429,
    ErrorKind.REQUEST_TIMEOUT: 408,
    ErrorKind.TOO_LARGE: 413,
    ErrorKind.BAD_UPSTREAM: 502,
    ErrorKind.UNAVAILABLE: 503,
    ErrorKind.TIMEOUT: 504,
    ErrorKind.INTERNAL: 500,
}

#: RFC 9110's names where Python before 3.13 still has the older ones; every other title is
#: ``http.HTTPStatus``'s phrase.
_RFC_9110_TITLES = {413: "Content Too Large", 414: "URI Too Long"}


def title(status: int) -> str:
    """The reason phrase of an HTTP status, as a problem document's title.

    >>> title(404), title(413), title(599)
    ('Not Found', 'Content Too Large', 'Error')
    """
    if status in _RFC_9110_TITLES:
        return _RFC_9110_TITLES[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def status_for(error: VerinetError) -> int:
    return HTTP_STATUS_BY_KIND[error.kind]


def _headers(status: int, retry_after: object) -> dict[str, str] | None:
    headers: dict[str, str] = {}
    if status == 503 and retry_after is None:
        # Unavailable is retryable, whichever part of the network found out (the gateway
        # itself, or a service behind it whose store is down): say when to come back.
        retry_after = 1
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="verinet"'
    if retry_after is None and status == 503:
        retry_after = 1  # every 503 says when to come back, whichever service raised it
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return headers or None


def problem(status: int, code: str, detail: str, **members: Any) -> web.Response:
    body: dict[str, Any] = {
        "type": f"https://verinet.dev/problems/{code}",
        "title": title(status),
        "status": status,
        "detail": detail,
        "code": code,
    }
    body.update({k: v for k, v in members.items() if v is not None})
    headers = _headers(status, members.get("retry_after"))
    return web.Response(
        status=status,
        body=orjson.dumps(body),
        content_type="application/problem+json",
        headers=headers,
    )


#: Names the other network when it, not this one, refused (``upstream.credential_refused``).
RESPONDER_NETWORK_HEADER = "Verinet-Responder-Network"


def _responder_network(error: VerinetError, response: web.Response) -> web.Response:
    network = error.details.get("responder_network")
    if isinstance(network, str) and network.isascii() and network.isprintable():
        response.headers[RESPONDER_NETWORK_HEADER] = network[:200]
    return response


def problem_from_error(error: VerinetError) -> web.Response:
    members = error.as_dict()
    members.pop("message", None)
    code = members.pop("code")
    return _responder_network(error, problem(status_for(error), code, error.message, **members))


def lms_error(error: VerinetError) -> web.Response:
    """LMS carries JSON only with 200: errors are plain text with the precise reason."""
    status = status_for(error)
    headers = _headers(status, error.details.get("retry_after"))
    return _responder_network(error, web.Response(status=status, text=error.message + "\n", headers=headers))

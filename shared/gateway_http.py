"""One JSON request to a verinet gateway with a bearer token, for the command line and the
local network runner.

Standard library only (``urllib``): the CLI starts fast and needs no event loop.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from typing import Any

__all__ = ["send_json"]


def send_json(
    url: str,
    token: str,
    method: str,
    body: Any = None,
    *,
    timeout: float,
    tls: ssl.SSLContext | None = None,
) -> tuple[int, Any]:
    """Sends ``body`` (when given) as JSON to ``url`` and answers ``(status, answer)``: the
    answer decoded from JSON, ``None`` when empty, or for an error status whose body is not
    JSON, its text. An ``OSError`` (refused, reset, timed out) means nothing answered."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=tls) as answer:
            raw = answer.read()
            return answer.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw)
        except ValueError:
            return error.code, raw.decode(errors="replace")

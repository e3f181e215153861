"""Structured JSON logs, configured once at each entry point."""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import orjson

from verinet.timestamps import utc_ms

# LogRecord attributes that are not user-supplied extras.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime"}
)


# Bearer tokens must never reach a log, even when a library logs part of a bad request.
_TOKEN = re.compile(r"vn_[A-Za-z0-9_\-]{8,}")


def redact(text: str) -> str:
    return _TOKEN.sub("vn_[redacted]", text)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, service, logger, message and any extras."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": utc_ms(record.created),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return orjson.dumps(entry, default=str).decode()


def configure(service: str, level: str = "INFO") -> None:
    """Sends every log record to stderr as JSON; call once from ``__main__``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # grpc and aiohttp access logs are noisy at INFO; our own metrics cover them.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
